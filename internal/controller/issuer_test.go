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

package controller

import (
	"errors"
	"strings"
	"testing"
	"time"

	experimentalapi "github.com/cert-manager/cert-manager/pkg/apis/experimental/v1alpha1"
	"github.com/cert-manager/issuer-lib/controllers/signer"
	"github.com/prometheus/client_golang/prometheus/testutil"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/testpki"
)

func TestClassifySignError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		err  error
		is   func(error) bool
	}{
		{"a policy violation fails the request permanently", &pki.RequestError{Reason: "PolicyViolation", Msg: "no"},
			func(e error) bool { return errors.As(e, &signer.PermanentError{}) }},
		{"a template render error fails the request permanently", &pki.TemplateError{Template: "web", Msg: "no"},
			func(e error) bool { return errors.As(e, &signer.PermanentError{}) }},
		{"a CA problem is the issuer's, and the request waits", &pki.CAError{Reason: "Expired", Msg: "no"},
			func(e error) bool { return errors.As(e, &signer.IssuerError{}) }},
		{"anything else is retried", errors.New("boom"),
			func(e error) bool {
				return !errors.As(e, &signer.PermanentError{}) && !errors.As(e, &signer.IssuerError{})
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := classifySignError(tc.err); !tc.is(got) {
				t.Errorf("classifySignError(%v) = %#v", tc.err, got)
			}
		})
	}
}

func TestKubernetesCSRDurationIsTheShortestAsked(t *testing.T) {
	t.Parallel()
	secs := func(s int32) *int32 { return &s }
	annotated := func(v string) map[string]string {
		return map[string]string{experimentalapi.CertificateSigningRequestDurationAnnotationKey: v}
	}
	cases := []struct {
		name        string
		expiration  *int32
		annotations map[string]string
		want        time.Duration
		wantErr     string
	}{
		{name: "neither set gives cert-manager's default", want: 90 * 24 * time.Hour},
		{name: "expirationSeconds alone applies", expiration: secs(3600), want: time.Hour},
		{name: "the annotation alone applies", annotations: annotated("2h"), want: 2 * time.Hour},
		{name: "a longer annotation cannot outlive what approvers saw", expiration: secs(3600), annotations: annotated("8760h"), want: time.Hour},
		{name: "a longer annotation alone cannot outlive the default approvers of no expirationSeconds saw", annotations: annotated("8760h"), want: 90 * 24 * time.Hour},
		{name: "a shorter annotation wins", expiration: secs(86400), annotations: annotated("1h"), want: time.Hour},
		{name: "a malformed annotation is refused", annotations: annotated("forever"), wantErr: "not a positive duration"},
		{name: "a negative annotation is refused", annotations: annotated("-1h"), wantErr: "not a positive duration"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			csr := &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Annotations: tc.annotations}}
			csr.Spec.ExpirationSeconds = tc.expiration
			got, err := kubernetesCSRDuration(csr)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("duration = %s, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestParsedCAsAreForgotten(t *testing.T) {
	t.Parallel()
	ca, err := testpki.NewValidRootCA("Forget Root CA")
	if err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "ca", ResourceVersion: "1"}, Data: ca.SecretData()}
	s := &Signer{}
	ref := issuer.Ref{Kind: issuer.KindIssuer, NamespacedName: types.NamespacedName{Namespace: "team-a", Name: "web"}}
	if _, err := s.parseCA(ref, secret); err != nil {
		t.Fatal(err)
	}
	if n := s.cachedCAs(); n != 1 {
		t.Fatalf("cached CAs = %d, want 1", n)
	}
	broken := secret.DeepCopy()
	broken.ResourceVersion = "2"
	broken.Data["tls.key"] = []byte("garbage")
	if _, err := s.parseCA(ref, broken); err == nil {
		t.Fatal("a broken Secret parsed")
	}
	if n := s.cachedCAs(); n != 0 {
		t.Errorf("cached CAs after the Secret broke = %d, want 0 (the old key must go)", n)
	}
	if _, err := s.parseCA(ref, secret); err != nil {
		t.Fatal(err)
	}
	s.ForgetCA(ref)
	if n := s.cachedCAs(); n != 0 {
		t.Errorf("cached CAs after the issuer went = %d, want 0", n)
	}
}

func TestForgetIssuerDropsItsMetricSeries(t *testing.T) {
	t.Parallel()
	gone := issuer.Ref{Kind: issuer.KindIssuer, NamespacedName: types.NamespacedName{Namespace: "metrics-test", Name: "gone"}}
	kept := issuer.Ref{Kind: issuer.KindIssuer, NamespacedName: types.NamespacedName{Namespace: "metrics-test", Name: "kept"}}
	for _, ref := range []issuer.Ref{gone, kept} {
		caExpiry.WithLabelValues(ref.Kind, ref.Namespace, ref.Name).Set(1)
	}
	(&Signer{}).ForgetIssuer(gone)
	if caExpiry.DeleteLabelValues(gone.Kind, gone.Namespace, gone.Name) {
		t.Errorf("the deleted issuer's CA-expiry series is still exported")
	}
	if got := testutil.ToFloat64(caExpiry.WithLabelValues(kept.Kind, kept.Namespace, kept.Name)); got != 1 {
		t.Errorf("another issuer's series = %v, want 1", got)
	}
	caExpiry.DeleteLabelValues(kept.Kind, kept.Namespace, kept.Name)
}
