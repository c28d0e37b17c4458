/*
Copyright 2026 The nstance-issuer Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package carotation

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/rotation"
)

var (
	// caGenerationExpiry is the NotAfter of every live CA generation.
	caGenerationExpiry = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "nstance_issuer_ca_generation_expiration_timestamp_seconds",
		Help: "NotAfter of each live CA generation (role Issuing, Next or Retiring) of each issuer, as a Unix timestamp.",
	}, []string{"kind", "namespace", "name", "role", "fingerprint"})
	// caRotationPhase is 1 for the issuer's current phase, 0 for the others.
	caRotationPhase = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "nstance_issuer_ca_rotation_phase",
		Help: "CA lifecycle phase of each issuer: 1 for the current phase (Stable, RenewalDue, NextPublished, Retiring), 0 otherwise.",
	}, []string{"kind", "namespace", "name", "phase"})
	// caRotationProblem is 1 while the CARotation condition is False.
	caRotationProblem = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "nstance_issuer_ca_rotation_problem",
		Help: "1 while the CA lifecycle of an issuer cannot proceed (CARotation condition False: invalid next CA, renewal due without a next CA, a failed step, a bundle only the controller writes that cannot be written), else 0.",
	}, []string{"kind", "namespace", "name"})
	// caRotationNextStep is when the lifecycle next moves by itself.
	caRotationNextStep = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "nstance_issuer_ca_rotation_next_step_timestamp_seconds",
		Help: "When the CA lifecycle of an issuer next moves by itself (renewal, switch to the next CA, a retiring root dropped), as a Unix timestamp; absent when nothing is scheduled.",
	}, []string{"kind", "namespace", "name"})
	// reissueCertificates mirrors status.rotation.reissue: how many of the
	// Certificates signed by a CA that rotate-now replaced are in each
	// state, so that an alert can fire on the failed ones.
	reissueCertificates = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "nstance_issuer_reissue_certificates",
		Help: "Certificates signed by a CA that rotate-now replaced, by re-issue state (reissued, in_progress, failed, pending), as in status.rotation.reissue; kept after the re-issue ends, absent when there is none.",
	}, []string{"kind", "namespace", "name", "state"})
)

// The states of nstance_issuer_reissue_certificates.
const (
	ReissueStateReissued   = "reissued"
	ReissueStateInProgress = "in_progress"
	ReissueStateFailed     = "failed"
	ReissueStatePending    = "pending"
)

var allPhases = []v1alpha1.CARotationPhase{v1alpha1.CARotationStable, v1alpha1.CARotationRenewalDue, v1alpha1.CARotationNextPublished, v1alpha1.CARotationRetiring}

// Collectors are the metrics of the CA lifecycle, for the composition root
// to register.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{caGenerationExpiry, caRotationPhase, caRotationProblem, caRotationNextStep, reissueCertificates}
}

func setRotationMetrics(ref issuer.Ref, st v1alpha1.RotationStatus, d rotation.Decision, problem bool) {
	l := ref.MetricLabels()
	caGenerationExpiry.DeletePartialMatch(l)
	for _, g := range st.Generations {
		caGenerationExpiry.WithLabelValues(ref.Kind, ref.Namespace, ref.Name, string(g.Role), pki.ShortFingerprint(g.SHA256Fingerprint)).Set(float64(g.NotAfter.Unix()))
	}
	for _, p := range allPhases {
		v := 0.0
		if p == st.Phase {
			v = 1
		}
		caRotationPhase.WithLabelValues(ref.Kind, ref.Namespace, ref.Name, string(p)).Set(v)
	}
	if problem {
		caRotationProblem.With(l).Set(1)
	} else {
		caRotationProblem.With(l).Set(0)
	}
	if d.WakeAt.IsZero() {
		caRotationNextStep.Delete(l)
	} else {
		caRotationNextStep.With(l).Set(float64(d.WakeAt.Unix()))
	}
	if r := st.Reissue; r == nil {
		reissueCertificates.DeletePartialMatch(l)
	} else {
		for state, n := range map[string]int32{
			ReissueStateReissued: r.Reissued, ReissueStateInProgress: r.InProgress,
			ReissueStateFailed: r.Failed, ReissueStatePending: r.Pending,
		} {
			reissueCertificates.WithLabelValues(ref.Kind, ref.Namespace, ref.Name, state).Set(float64(n))
		}
	}
}

func forgetRotationMetrics(ref issuer.Ref) {
	l := ref.MetricLabels()
	for _, m := range []*prometheus.GaugeVec{caGenerationExpiry, caRotationPhase, caRotationProblem, caRotationNextStep, reissueCertificates} {
		m.DeletePartialMatch(l)
	}
}
