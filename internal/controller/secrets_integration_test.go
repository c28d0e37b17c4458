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

package controller_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/casecret"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
)

// TestLookAlikeRetiredSecretIsNotTrusted: a Secret labelled and annotated
// like a retired CA of the issuer's CA Secret, but made by someone else
// (no owner reference to the issuer), is neither read nor published.
func TestLookAlikeRetiredSecretIsNotTrusted(t *testing.T) {
	ns := newNamespace(t)
	cur := validCA(t, "Current Root CA")
	createSecret(t, ns, "ca", cur.SecretData())
	forged := validCA(t, "Forged Root CA")
	look := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: "ca-retired-0123456789abcdef",
			Labels: map[string]string{"app.kubernetes.io/managed-by": "nstance-issuer", "issuer.nstance.dev/retired-from": "ca"},
			Annotations: map[string]string{
				"issuer.nstance.dev/ca-secret":      "ca",
				"issuer.nstance.dev/retiring-until": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339),
			},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{"tls.crt": forged.CertPEM, "ca.crt": forged.CertPEM},
	}
	create(t, look)

	issuer := webIssuer(ns, "ca")
	issuer.Spec.CA.TrustBundle = &v1alpha1.TrustBundle{ConfigMap: &v1alpha1.ConfigMapBundle{Name: "ca-bundle"}}
	create(t, issuer)
	waitIssuer(t, issuer, metav1.ConditionTrue, "")
	// Written by the reconcile that read the look-alike: only the current root.
	waitBundle(t, ns, "ca-bundle", pki.Fingerprint(cur.Cert))
	gens := waitGenerations(t, issuer, v1alpha1.CARotationStable, v1alpha1.CAGenerationIssuing)
	if gens[0].SHA256Fingerprint != pki.Fingerprint(cur.Cert) {
		t.Fatalf("issuing %s", gens[0].Subject)
	}
	// The look-alike is left as it was: never extended, never deleted.
	s := getSecret(t, ns, look.Name)
	if s.Annotations["issuer.nstance.dev/retiring-until"] != look.Annotations["issuer.nstance.dev/retiring-until"] {
		t.Errorf("the look-alike Secret was written: %v", s.Annotations)
	}
}

// TestCASecretWatchKeepsOnlyTheCAKeys starts a casecret.Watcher against the
// API server and reads what its informer store holds: the CA keys, not
// the rest of the Secret; an oversized value only as its size.
func TestCASecretWatchKeepsOnlyTheCAKeys(t *testing.T) {
	ns := newNamespace(t)
	ca := validCA(t, "Watched Root CA")
	data := ca.SecretData()
	data["padding"] = bytes.Repeat([]byte("p"), 512<<10)
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ca", Labels: map[string]string{"team": "a"},
			Annotations: map[string]string{"note": strings.Repeat("n", 100<<10)}},
		Type: corev1.SecretTypeOpaque, Data: data,
	}
	create(t, s)

	w := casecret.NewWatcher(clientset)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	ref := issuer.Ref{Kind: issuer.KindIssuer, NamespacedName: types.NamespacedName{Namespace: ns, Name: "web"}}
	key := types.NamespacedName{Namespace: ns, Name: "ca"}
	eventually(t, "the watched Secret holds tls.crt, tls.key and ca.crt only", func(context.Context) error {
		got, err := w.Get(ctx, ref, key)
		if err != nil || got == nil {
			return fmt.Errorf("cached %v: %w", got, err)
		}
		if keys := slices.Sorted(maps.Keys(got.Data)); !slices.Equal(keys, []string{"ca.crt", "tls.crt", "tls.key"}) {
			return fmt.Errorf("cached keys %v", keys)
		}
		if !bytes.Equal(got.Data["tls.key"], data["tls.key"]) || !bytes.Equal(got.Data["tls.crt"], data["tls.crt"]) {
			return fmt.Errorf("cached CA differs from the Secret's")
		}
		if got.Labels != nil || got.Annotations != nil || got.ManagedFields != nil {
			return fmt.Errorf("cached metadata: labels %v, %d annotations, %d managed fields", got.Labels, len(got.Annotations), len(got.ManagedFields))
		}
		return nil
	})

	huge := append(bytes.Clone(ca.CertPEM), bytes.Repeat([]byte("x"), pki.MaxCertChainPEMSize)...)
	updateSecret(t, ns, "ca", map[string][]byte{"tls.crt": huge, "tls.key": data["tls.key"], "padding": data["padding"]})
	eventually(t, "the oversized tls.crt is held as its size only", func(context.Context) error {
		got, err := w.Get(ctx, ref, key)
		if err != nil || got == nil {
			return fmt.Errorf("cached %v: %w", got, err)
		}
		if keys := slices.Sorted(maps.Keys(got.Data)); !slices.Equal(keys, []string{"tls.key", "too-large/tls.crt"}) {
			return fmt.Errorf("cached keys %v", keys)
		}
		if string(got.Data["too-large/tls.crt"]) != fmt.Sprint(len(huge)) {
			return fmt.Errorf("size %q, want %d", got.Data["too-large/tls.crt"], len(huge))
		}
		return nil
	})
}

// TestOversizedCASecretMakesIssuerNotReady: a tls.crt above the limit
// is reported on Ready as the size error, not read.
func TestOversizedCASecretMakesIssuerNotReady(t *testing.T) {
	ns := newNamespace(t)
	ca := validCA(t, "Oversized Root CA")
	data := ca.SecretData()
	data["tls.crt"] = append(bytes.Clone(ca.CertPEM), bytes.Repeat([]byte("x"), pki.MaxCertChainPEMSize)...)
	createSecret(t, ns, "ca", data)
	issuer := webIssuer(ns, "ca")
	create(t, issuer)
	waitIssuer(t, issuer, metav1.ConditionFalse, fmt.Sprintf("tls.crt is %d bytes, more than the %d allowed", len(data["tls.crt"]), pki.MaxCertChainPEMSize))

	// Fixed, it signs.
	updateSecret(t, ns, "ca", ca.SecretData())
	waitIssuer(t, issuer, metav1.ConditionTrue, "")
}

// TestRotateNowNeverWritesIntoACASecretNotGeneratedForTheIssuer: an issuer
// with spec.ca.generate that names a CA Secret it did not generate gets a
// rotate-now: no next CA is made, the Secret's key stays, and CARotation
// says why and what to do.
func TestRotateNowNeverWritesIntoACASecretNotGeneratedForTheIssuer(t *testing.T) {
	ns := newNamespace(t)
	theirs := validCA(t, "Someone Else's Root CA")
	createSecret(t, ns, "ca", theirs.SecretData())
	issuer := rotatingIssuer(ns)
	create(t, issuer)
	waitIssuer(t, issuer, metav1.ConditionTrue, "")

	annotate(t, issuer, v1alpha1.RotateNowAnnotation, "takeover")
	eventually(t, "CARotation False CASecretNotGenerated", func(ctx context.Context) error {
		st, err := rotationStatus(ctx, issuer)
		if err != nil {
			return err
		}
		c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionTypeCARotation)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != "CASecretNotGenerated" ||
			!strings.Contains(c.Message, ns+"/ca was not generated for NstanceIssuer "+ns+"/web") || !strings.Contains(c.Message, "nextSecretName") {
			return fmt.Errorf("condition %+v", c)
		}
		return nil
	})
	t.Logf("Event: %s", waitEvent(t, ns, "web", v1alpha1.EventReasonCASecretNotGenerated))

	// The decision above was the one taken: nothing generated, nothing written.
	if names := generationSecrets(t, ns, "next-of"); len(names) != 0 {
		t.Fatalf("next CA Secrets exist: %v", names)
	}
	s := getSecret(t, ns, "ca")
	if !bytes.Equal(s.Data["tls.key"], theirs.KeyPEM) || !bytes.Equal(s.Data["tls.crt"], theirs.CertPEM) {
		t.Fatal("the CA Secret was changed")
	}
	verifyChain(t, signWeb(t, ns).Status.Certificate, theirs.Cert, x509.ExtKeyUsageServerAuth)
}
