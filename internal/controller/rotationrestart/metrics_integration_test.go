//go:build integration

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

package rotationrestart_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

// series gathers the registry the manager serves on /metrics and returns
// the samples of family name whose labels include match, keyed by their
// other labels ("k=v,k=v", sorted).
func series(t *testing.T, name string, match map[string]string) map[string]float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range match {
				if labels[k] != v {
					continue next
				}
				delete(labels, k)
			}
			var key []string
			for _, k := range slices.Sorted(maps.Keys(labels)) {
				key = append(key, k+"="+labels[k])
			}
			out[strings.Join(key, ",")] = value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetHistogram() != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return 0
}

// gaugeValue is the one sample of name matching labels; the test fails
// when there is not exactly one.
func gaugeValue(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	s := series(t, name, labels)
	if len(s) != 1 {
		t.Fatalf("%s%v: %d samples %v, want 1", name, labels, len(s), s)
	}
	for _, v := range s {
		return v
	}
	return 0
}

// wantSeries fails unless the samples of name matching labels are exactly want.
func wantSeries(t *testing.T, name string, labels map[string]string, want map[string]float64) {
	t.Helper()
	if err := sameSeries(t, name, labels, want); err != nil {
		t.Error(err)
	}
}

// sameSeries says how the samples of name matching labels differ from want.
func sameSeries(t *testing.T, name string, labels map[string]string, want map[string]float64) error {
	t.Helper()
	if have := series(t, name, labels); !maps.Equal(have, want) {
		return fmt.Errorf("%s%v = %v, want %v", name, labels, have, want)
	}
	return nil
}

// TestIssuanceCountersByOutcome signs two requests and has one refused by
// the template's policy: the counters of the issuer say exactly that, by
// template and outcome, and nothing else.
func TestIssuanceCountersByOutcome(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	ca, err := testpki.NewRootCA("Counting Root CA", time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "ca"}, Data: ca.SecretData()})
	issuer := webIssuer(h.ns)
	mustCreate(t, issuer)

	var crs []*cmapi.CertificateRequest
	for _, dns := range []string{"a." + h.ns + ".example.com", "b." + h.ns + ".example.com", "c.elsewhere.example.org"} {
		crs = append(crs, createRequest(t, h.ns, dns))
	}
	for _, cr := range crs {
		eventually(t, "request "+cr.Name+" finished", func(ctx context.Context) error {
			var cur cmapi.CertificateRequest
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(cr), &cur); err != nil {
				return err
			}
			for _, c := range cur.Status.Conditions {
				if c.Type == cmapi.CertificateRequestConditionReady && (c.Reason == cmapi.CertificateRequestReasonIssued || c.Reason == cmapi.CertificateRequestReasonFailed) {
					return nil
				}
			}
			return errors.New("not finished")
		})
	}
	wantSeries(t, "nstance_issuer_signing_requests_total", map[string]string{"namespace": h.ns, "name": "web"}, map[string]float64{
		"kind=NstanceIssuer,outcome=issued,template=web":  2,
		"kind=NstanceIssuer,outcome=refused,template=web": 1,
	})
	if n := series(t, "nstance_issuer_signing_duration_seconds", map[string]string{"kind": "NstanceIssuer", "outcome": "refused"}); n[""] < 1 {
		t.Errorf("nstance_issuer_signing_duration_seconds{kind=NstanceIssuer,outcome=refused} has %v observations, want at least 1", n[""])
	}
	// The CA's NotAfter, as the alert on expiry reads it.
	if v := gaugeValue(t, "nstance_issuer_ca_expiration_timestamp_seconds", map[string]string{"kind": "NstanceIssuer", "namespace": h.ns, "name": "web"}); v != float64(ca.Cert.NotAfter.Unix()) {
		t.Errorf("nstance_issuer_ca_expiration_timestamp_seconds = %v, want %d", v, ca.Cert.NotAfter.Unix())
	}
}
