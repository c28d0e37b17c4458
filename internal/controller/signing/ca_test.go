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
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

func TestParsedCAsAreForgotten(t *testing.T) {
	t.Parallel()
	ca, err := testpki.NewValidRootCA("Forget Root CA")
	if err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "ca", ResourceVersion: "1"}, Data: ca.SecretData()}
	s := &Signer{}
	v, err := issuer.NewView(&v1alpha1.NstanceIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "web"},
		Spec: v1alpha1.IssuerSpec{CA: v1alpha1.CASpec{SecretName: "ca"}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	ref := v.Ref
	ctx := context.Background()
	if _, err := s.parseCA(ctx, v, secret); err != nil {
		t.Fatal(err)
	}
	if n := s.cachedCAs(); n != 1 {
		t.Fatalf("cached CAs = %d, want 1", n)
	}
	broken := secret.DeepCopy()
	broken.ResourceVersion = "2"
	broken.Data["tls.key"] = []byte("garbage")
	if _, err := s.parseCA(ctx, v, broken); err == nil {
		t.Fatal("a broken Secret parsed")
	}
	if n := s.cachedCAs(); n != 0 {
		t.Errorf("cached CAs after the Secret broke = %d, want 0 (the old key must go)", n)
	}
	if _, err := s.parseCA(ctx, v, secret); err != nil {
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
		issuanceTotal.WithLabelValues(ref.Kind, ref.Namespace, ref.Name, "web", OutcomeIssued).Inc()
	}
	(&Signer{}).ForgetIssuer(gone)
	if caExpiry.DeleteLabelValues(gone.Kind, gone.Namespace, gone.Name) {
		t.Errorf("the deleted issuer's CA-expiry series is still exported")
	}
	if issuanceTotal.DeleteLabelValues(gone.Kind, gone.Namespace, gone.Name, "web", OutcomeIssued) {
		t.Errorf("the deleted issuer's signing counter is still exported")
	}
	if got := testutil.ToFloat64(caExpiry.WithLabelValues(kept.Kind, kept.Namespace, kept.Name)); got != 1 {
		t.Errorf("another issuer's series = %v, want 1", got)
	}
	if got := testutil.ToFloat64(issuanceTotal.WithLabelValues(kept.Kind, kept.Namespace, kept.Name, "web", OutcomeIssued)); got != 1 {
		t.Errorf("another issuer's signing counter = %v, want 1", got)
	}
	caExpiry.DeleteLabelValues(kept.Kind, kept.Namespace, kept.Name)
	issuanceTotal.DeletePartialMatch(kept.MetricLabels())
}
