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

package signing

import (
	"context"
	"errors"

	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	"github.com/cert-manager/issuer-lib/controllers/signer"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/clock"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/keys"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
)

// Outcomes of a signing attempt: a closed set, so that alerts and
// dashboards can name every one.
const (
	// OutcomeIssued: a certificate was signed.
	OutcomeIssued = "issued"
	// OutcomeRefused: the request can never be signed as it is (policy,
	// malformed CSR, weak key); it failed.
	OutcomeRefused = "refused"
	// OutcomeTemplateError: the issuer's template is broken.
	OutcomeTemplateError = "template_error"
	// OutcomeCAUnavailable: the CA is missing, invalid or expired, or its
	// key in a KMS or an HSM cannot be used now; the request waits.
	OutcomeCAUnavailable = "ca_unavailable"
	// OutcomeError: anything else (e.g. the API server); retried.
	OutcomeError = "error"

	templateNone    = "(none)"
	templateUnknown = "(unknown)"
)

// caExpiry exposes each issuer's CA NotAfter, so an alert can fire long
// before the CA, and with it every certificate it signed, expires.
var caExpiry = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "nstance_issuer_ca_expiration_timestamp_seconds",
	Help: "NotAfter of the CA certificate of each issuer, as a Unix timestamp.",
}, []string{"kind", "namespace", "name"})

var (
	issuanceTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nstance_issuer_signing_requests_total",
		Help: "Signing attempts per issuer and template, by outcome (issued, refused, template_error, ca_unavailable, error).",
	}, []string{"kind", "namespace", "name", "template", "outcome"})
	refusalsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nstance_issuer_signing_refusals_total",
		Help: "Requests refused for good per issuer and template, by reason: a reason of the PKI core (PolicyViolation, WeakKey, UnknownTemplate, ...), TemplateError (the issuer's template broke on this request) or InvalidRequest (issuer-lib could not read it).",
	}, []string{"kind", "namespace", "name", "template", "reason"})
	signingDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "nstance_issuer_signing_duration_seconds",
		Help:    "Time to handle one signing attempt (policy, rendering and signing; reading the CA from memory), by issuer kind and outcome.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14), // 0.5 ms to 4 s
	}, []string{"kind", "outcome"})
)

// Collectors are the metrics of signing, for the composition root to
// register.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{caExpiry, issuanceTotal, refusalsTotal, signingDuration}
}

// outcomeOf maps Sign's result onto the closed set of outcomes, by error
// type as issuer-lib does, never by message.
func outcomeOf(err error) string {
	var reqErr *pki.RequestError
	var tmplErr *pki.TemplateError
	var caErr *pki.CAError
	var keyErr *keys.Error
	var issuerErr signer.IssuerError
	switch {
	case err == nil:
		return OutcomeIssued
	case errors.As(err, &reqErr):
		return OutcomeRefused
	case errors.As(err, &tmplErr):
		return OutcomeTemplateError
	case errors.As(err, &caErr), errors.As(err, &keyErr), errors.As(err, &issuerErr):
		return OutcomeCAUnavailable
	}
	return OutcomeError
}

// Reasons of a refusal that the PKI core did not name.
const (
	// ReasonTemplateError: the issuer's template failed on this request.
	ReasonTemplateError = "TemplateError"
	// ReasonInvalidRequest: the request could not be read (issuer-lib's
	// details of it, e.g. unknown usages).
	ReasonInvalidRequest = "InvalidRequest"
)

// reasonOf is the reason label of a refusal: the PKI core's reason (a
// closed set of constants, never a requester's text).
func reasonOf(err error) string {
	var reqErr *pki.RequestError
	var tmplErr *pki.TemplateError
	switch {
	case errors.As(err, &reqErr):
		return reqErr.Reason
	case errors.As(err, &tmplErr):
		return ReasonTemplateError
	}
	return ReasonInvalidRequest
}

// templateLabel names the template a request selected, bounded by the
// issuer's own templates: a requester cannot add label values.
func templateLabel(spec *v1alpha1.IssuerSpec, annotations map[string]string) string {
	name, ok := annotations[v1alpha1.TemplateAnnotation]
	return templateLabelOf(spec, name, ok)
}

// templateLabelOf is templateLabel for a template selected by name (ok
// false: none, the issuer's default applies).
func templateLabelOf(spec *v1alpha1.IssuerSpec, name string, ok bool) string {
	if !ok {
		name = spec.DefaultTemplate
	}
	if name == "" {
		return templateNone
	}
	for _, t := range spec.Templates {
		if t.Name == name {
			return name
		}
	}
	return templateUnknown
}

// WithIssuanceMetrics counts each signing attempt and times it. templateOf
// names the template a request selects (nil: its template annotation).
func WithIssuanceMetrics(sign signer.Sign, clk clock.PassiveClock, clusterResourceNamespace string,
	templateOf func(context.Context, signer.CertificateRequestObject) (string, bool)) signer.Sign {
	if templateOf == nil {
		templateOf = annotatedTemplate
	}
	return func(ctx context.Context, cr signer.CertificateRequestObject, obj issuerapi.Issuer) (signer.PEMBundle, error) {
		start := clk.Now()
		bundle, err := sign(ctx, cr, obj)
		outcome := outcomeOf(err)
		if v, verr := issuer.NewView(obj, clusterResourceNamespace); verr == nil {
			name, ok := templateOf(ctx, cr)
			template := templateLabelOf(v.Spec, name, ok)
			issuanceTotal.WithLabelValues(v.Ref.Kind, v.Ref.Namespace, v.Ref.Name, template, outcome).Inc()
			if outcome == OutcomeRefused || outcome == OutcomeTemplateError || errors.As(err, &signer.PermanentError{}) {
				refusalsTotal.WithLabelValues(v.Ref.Kind, v.Ref.Namespace, v.Ref.Name, template, reasonOf(err)).Inc()
			}
			signingDuration.WithLabelValues(v.Ref.Kind, outcome).Observe(clk.Since(start).Seconds())
		}
		return bundle, err
	}
}

// forgetIssuanceMetrics drops a deleted issuer's counters.
func forgetIssuanceMetrics(ref issuer.Ref) {
	issuanceTotal.DeletePartialMatch(ref.MetricLabels())
	refusalsTotal.DeletePartialMatch(ref.MetricLabels())
}

// annotatedTemplate is the template a request's annotation names.
func annotatedTemplate(_ context.Context, cr signer.CertificateRequestObject) (string, bool) {
	name, ok := cr.GetAnnotations()[v1alpha1.TemplateAnnotation]
	return name, ok
}
