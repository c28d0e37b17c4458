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
	"fmt"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	"github.com/cert-manager/issuer-lib/controllers/signer"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
)

// TestIssuanceMetricsCountEveryOutcome signs through the metrics wrapper
// with a Sign that fails in each way the real one can, and checks each
// lands in its own outcome and template label, requester-chosen template
// names never becoming label values.
func TestIssuanceMetricsCountEveryOutcome(t *testing.T) {
	iss := &v1alpha1.NstanceIssuer{
		ObjectMeta: metav1.ObjectMeta{Namespace: "metrics-ns", Name: "metrics-" + t.Name()},
		Spec: v1alpha1.IssuerSpec{
			DefaultTemplate: "web",
			Templates:       []v1alpha1.CertificateTemplate{{Name: "web"}, {Name: "db"}},
		},
	}
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	cases := []struct {
		err      error
		template map[string]string
		outcome  string
		label    string
	}{
		{nil, nil, OutcomeIssued, "web"},
		{signer.PermanentError{Err: &pki.RequestError{Reason: pki.ReasonPolicyViolation, Msg: "DNS name not allowed"}}, map[string]string{v1alpha1.TemplateAnnotation: "db"}, OutcomeRefused, "db"},
		{signer.PermanentError{Err: &pki.TemplateError{Template: "web", Msg: "bad"}}, nil, OutcomeTemplateError, "web"},
		{signer.IssuerError{Err: errors.New("CA Secret not found")}, nil, OutcomeCAUnavailable, "web"},
		{signer.IssuerError{Err: &pki.CAError{Msg: "expired"}}, nil, OutcomeCAUnavailable, "web"},
		{errors.New("connection refused"), nil, OutcomeError, "web"},
		{signer.PermanentError{Err: &pki.RequestError{Reason: pki.ReasonUnknownTemplate, Msg: "no such template"}}, map[string]string{v1alpha1.TemplateAnnotation: "attacker-chosen-123"}, OutcomeRefused, templateUnknown},
	}
	for i, tc := range cases {
		sign := WithIssuanceMetrics(func(context.Context, signer.CertificateRequestObject, issuerapi.Issuer) (signer.PEMBundle, error) {
			clk.Step(3 * time.Millisecond)
			return signer.PEMBundle{}, tc.err
		}, clk, "", nil)
		cr := signer.CertificateRequestObjectFromCertificateRequest(&cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint(i), Annotations: tc.template}})
		if _, err := sign(context.Background(), cr, iss); !errors.Is(err, tc.err) {
			t.Fatalf("case %d: the wrapper changed the error: %v", i, err)
		}
	}
	want := map[[2]string]float64{
		{"web", OutcomeIssued}: 1, {"db", OutcomeRefused}: 1, {"web", OutcomeTemplateError}: 1,
		{"web", OutcomeCAUnavailable}: 2, {"web", OutcomeError}: 1, {templateUnknown, OutcomeRefused}: 1,
	}
	for k, n := range want {
		got := testutil.ToFloat64(issuanceTotal.WithLabelValues(issuer.KindIssuer, iss.Namespace, iss.Name, k[0], k[1]))
		if got != n {
			t.Errorf("signing_requests_total{template=%q,outcome=%q} = %v, want %v", k[0], k[1], got, n)
		}
	}
	if got := testutil.CollectAndCount(issuanceTotal); got < len(want) {
		t.Errorf("%d series, want at least %d", got, len(want))
	}
	// Refusals by reason: the PKI core's reason, TemplateError for a
	// template that broke, nothing for what is retried or waits.
	for k, n := range map[[2]string]float64{
		{"db", pki.ReasonPolicyViolation}: 1, {"web", ReasonTemplateError}: 1, {templateUnknown, pki.ReasonUnknownTemplate}: 1,
	} {
		if got := testutil.ToFloat64(refusalsTotal.WithLabelValues(issuer.KindIssuer, iss.Namespace, iss.Name, k[0], k[1])); got != n {
			t.Errorf("signing_refusals_total{template=%q,reason=%q} = %v, want %v", k[0], k[1], got, n)
		}
	}
	if got := testutil.CollectAndCount(refusalsTotal); got != 3 {
		t.Errorf("%d refusal series, want 3 (no series for issued, waiting or retried requests)", got)
	}
	forgetIssuanceMetrics(issuer.Ref{Kind: issuer.KindIssuer, NamespacedName: issuerKey(iss)})
	if got := testutil.CollectAndCount(refusalsTotal); got != 0 {
		t.Errorf("after forgetting the issuer %d refusal series remain", got)
	}
	if got := testutil.ToFloat64(issuanceTotal.WithLabelValues(issuer.KindIssuer, iss.Namespace, iss.Name, "web", OutcomeIssued)); got != 0 {
		t.Errorf("after forgetting the issuer its counter is %v", got)
	}
}

func TestTemplateLabel(t *testing.T) {
	t.Parallel()
	spec := &v1alpha1.IssuerSpec{Templates: []v1alpha1.CertificateTemplate{{Name: "web"}}}
	for _, tc := range []struct {
		annotations map[string]string
		want        string
	}{
		{nil, templateNone},
		{map[string]string{v1alpha1.TemplateAnnotation: "web"}, "web"},
		{map[string]string{v1alpha1.TemplateAnnotation: ""}, templateNone},
		{map[string]string{v1alpha1.TemplateAnnotation: "other"}, templateUnknown},
	} {
		if got := templateLabel(spec, tc.annotations); got != tc.want {
			t.Errorf("templateLabel(%v) = %q, want %q", tc.annotations, got, tc.want)
		}
	}
}

func issuerKey(i *v1alpha1.NstanceIssuer) types.NamespacedName {
	return types.NamespacedName{Namespace: i.Namespace, Name: i.Name}
}
