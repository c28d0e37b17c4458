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
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
)

// TestIssuerReadinessFollowsTheCASecret walks one issuer through every CA
// problem and back, each noticed through the Secret watch without touching
// the issuer, and shows that a request made meanwhile waits, then is signed.
func TestIssuerReadinessFollowsTheCASecret(t *testing.T) {
	ns := newNamespace(t)
	issuer := webIssuer(ns, "ca")
	create(t, issuer)
	waitIssuer(t, issuer, metav1.ConditionFalse, `CA Secret `+ns+`/ca not found`)

	cr := createCertificateRequest(t, ns, issuerRef("NstanceIssuer", "web"), csrPEM(t, "w", "w."+ns+".example.com"), time.Hour, nil)
	approve(t, cr)

	good := validCA(t, "Readiness Root CA")
	other := validCA(t, "Other Root CA")
	expired := newTestCA(t, "Expired Root CA", time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour))

	createSecret(t, ns, "ca", map[string][]byte{"tls.crt": []byte("not a certificate"), "tls.key": good.KeyPEM})
	waitIssuer(t, issuer, metav1.ConditionFalse, "tls.crt")

	updateCASecret(t, ns, map[string][]byte{"tls.crt": good.CertPEM})
	waitIssuer(t, issuer, metav1.ConditionFalse, "tls.key is missing")

	updateCASecret(t, ns, map[string][]byte{"tls.crt": good.CertPEM, "tls.key": other.KeyPEM})
	waitIssuer(t, issuer, metav1.ConditionFalse, "does not match")

	updateCASecret(t, ns, expired.SecretData())
	waitIssuer(t, issuer, metav1.ConditionFalse, "expired")

	// Meanwhile the request waits: not Failed, not signed.
	cur := getCR(t, cr)
	if c := framework.RequestReady(cur); c == nil || c.Reason == "Failed" || len(cur.Status.Certificate) > 0 {
		t.Fatalf("request while the CA is broken: %+v, want pending", c)
	}

	updateCASecret(t, ns, good.SecretData())
	waitIssuer(t, issuer, metav1.ConditionTrue, "")
	verifyChain(t, waitCRReady(t, cr).Status.Certificate, good.Cert, x509.ExtKeyUsageServerAuth)

	// Deleting the Secret is noticed too.
	if err := k8s.Delete(context.Background(), getSecret(t, ns, "ca")); err != nil {
		t.Fatal(err)
	}
	waitIssuer(t, issuer, metav1.ConditionFalse, "not found")
}

func TestBrokenTemplateMakesIssuerFailUntilEdited(t *testing.T) {
	ns := newNamespace(t)
	ca := validCA(t, "Template Root CA")
	createSecret(t, ns, "ca", ca.SecretData())
	issuer := webIssuer(ns, "ca")
	issuer.Spec.Templates[0].DNS = []string{"{{ .Request.Name "}
	create(t, issuer)
	waitIssuer(t, issuer, metav1.ConditionFalse, `template "web"`)
	if c, _ := framework.IssuerCondition(issuer); c.Reason != "Failed" {
		t.Errorf("reason %q, want Failed (fixing it needs an edit of the issuer)", c.Reason)
	}

	issuer.Spec.Templates[0].DNS = []string{"{{ .Request.Name }}.svc"}
	if err := k8s.Update(context.Background(), issuer); err != nil {
		t.Fatal(err)
	}
	waitIssuer(t, issuer, metav1.ConditionTrue, "")
}

func TestRotatedCAIsUsedForTheNextRequest(t *testing.T) {
	ns, oldCA, issuer := readyWebIssuer(t, "Old Root CA", nil)
	newCA := validCA(t, "New Root CA")

	cr := createCertificateRequest(t, ns, issuerRef("NstanceIssuer", "web"), csrPEM(t, "a", "a."+ns+".example.com"), time.Hour, nil)
	approve(t, cr)
	verifyChain(t, waitCRReady(t, cr).Status.Certificate, oldCA.Cert, x509.ExtKeyUsageServerAuth)

	updateCASecret(t, ns, newCA.SecretData())
	want := pki.Fingerprint(newCA.Cert)
	eventually(t, "status.ca to show the new CA", func(ctx context.Context) error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(issuer), issuer); err != nil {
			return err
		}
		if issuer.Status.CA == nil || issuer.Status.CA.SHA256Fingerprint != want {
			return fmt.Errorf("status.ca: %+v", issuer.Status.CA)
		}
		return nil
	})

	cr = createCertificateRequest(t, ns, issuerRef("NstanceIssuer", "web"), csrPEM(t, "b", "b."+ns+".example.com"), time.Hour, nil)
	approve(t, cr)
	verifyChain(t, waitCRReady(t, cr).Status.Certificate, newCA.Cert, x509.ExtKeyUsageServerAuth)
}

func TestCAIsGeneratedOnceAndNeverOverwritten(t *testing.T) {
	ns := newNamespace(t)
	gen := &v1alpha1.CATemplate{
		Subject:    v1alpha1.Subject{CN: "Generated CA - {{ .Vars.Cluster }}", Organization: []string{"Example Infra"}},
		TTL:        24 * 365,
		PrivateKey: v1alpha1.PrivateKeySpec{Algorithm: v1alpha1.ECDSAKeyAlgorithm, Size: 256},
	}
	first := webIssuer(ns, "generated-ca")
	first.Spec.CA.Generate = gen
	second := webIssuer(ns, "generated-ca")
	second.Name = "second"
	second.Spec.CA.Generate = gen
	create(t, first)
	create(t, second)
	waitIssuer(t, first, metav1.ConditionTrue, "")
	waitIssuer(t, second, metav1.ConditionTrue, "")

	var secret = getSecret(t, ns, "generated-ca")
	caCert := parseChain(t, secret.Data["tls.crt"])[0]
	if caCert.Subject.CommonName != "Generated CA - prod-eu1" || !caCert.IsCA {
		t.Errorf("generated CA %s isCA=%v, want CN from the template and a CA", caCert.Subject, caCert.IsCA)
	}
	rv := secret.ResourceVersion

	// Both issuers sign with the one generated CA.
	for _, name := range []string{"web", "second"} {
		cr := createCertificateRequest(t, ns, issuerRef("NstanceIssuer", name), csrPEM(t, "g", "g."+ns+".example.com"), time.Hour, nil)
		approve(t, cr)
		verifyChain(t, waitCRReady(t, cr).Status.Certificate, caCert, x509.ExtKeyUsageServerAuth)
	}
	// Exactly one of the two racing issuers generated the CA.
	eventually(t, "one CAGenerated event", func(context.Context) error {
		n := 0
		for _, name := range []string{first.Name, second.Name} {
			for _, e := range eventsFor(t, ns, name) {
				if e.Reason == "CAGenerated" {
					n++
				}
			}
		}
		switch {
		case n > 1:
			return framework.Stop(fmt.Errorf("%d CAGenerated events, want exactly one", n))
		case n == 0:
			return errors.New("none yet")
		}
		return nil
	})
	if s := getSecret(t, ns, "generated-ca"); s.ResourceVersion != rv {
		t.Errorf("generated CA Secret was rewritten (resourceVersion %s -> %s)", rv, s.ResourceVersion)
	}

	// An existing Secret is never replaced by generation.
	existing := validCA(t, "Existing Root CA")
	createSecret(t, ns, "existing", existing.SecretData())
	third := webIssuer(ns, "existing")
	third.Name = "third"
	third.Spec.CA.Generate = gen
	create(t, third)
	waitIssuer(t, third, metav1.ConditionTrue, "")
	if got := parseChain(t, getSecret(t, ns, "existing").Data["tls.crt"])[0]; !got.Equal(existing.Cert) {
		t.Errorf("existing CA Secret was overwritten with %s", got.Subject)
	}
}
