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
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// TestIntermediateCAChainShape: with an intermediate in tls.crt and the root
// in ca.crt, the chain is leaf + intermediate and ca.crt is the root only.
func TestIntermediateCAChainShape(t *testing.T) {
	ns := newNamespace(t)
	root := validCA(t, "Chain Root CA")
	inter := newIntermediateCA(t, root, "Chain Intermediate CA")
	createSecret(t, ns, "ca", map[string][]byte{"tls.crt": inter.CertPEM, "tls.key": inter.KeyPEM, "ca.crt": root.CertPEM})
	issuer := webIssuer(ns, "ca")
	create(t, issuer)
	waitIssuer(t, issuer, metav1.ConditionTrue, "")

	cr := createCertificateRequest(t, ns, issuerRef("NstanceIssuer", "web"), csrPEM(t, "c", "c."+ns+".example.com"), time.Hour, nil)
	approve(t, cr)
	cr = waitCRReady(t, cr)
	chain := parseChain(t, cr.Status.Certificate)
	if len(chain) != 2 || !chain[1].Equal(inter.Cert) {
		t.Fatalf("chain has %d certificates, want leaf + intermediate", len(chain))
	}
	if !bytes.Equal(cr.Status.CA, root.CertPEM) {
		t.Errorf("status.ca is not the root:\n%s", cr.Status.CA)
	}
	verifyChain(t, cr.Status.Certificate, root.Cert, x509.ExtKeyUsageServerAuth)
}

// TestLifetimeIsCutAtTheCAsNotAfter: a CA that expires in 2 hours signs a
// 48-hour request until its own NotAfter and says so in an Event.
func TestLifetimeIsCutAtTheCAsNotAfter(t *testing.T) {
	ns := newNamespace(t)
	ca := newTestCA(t, "Short Root CA", time.Now().Add(-time.Hour), time.Now().Add(2*time.Hour))
	createSecret(t, ns, "ca", ca.SecretData())
	issuer := webIssuer(ns, "ca")
	issuer.Spec.Templates[0].TTL = 0
	create(t, issuer)
	waitIssuer(t, issuer, metav1.ConditionTrue, "")
	waitEvent(t, ns, issuer.Name, "CAExpiringSoon")

	cr := createCertificateRequest(t, ns, issuerRef("NstanceIssuer", "web"), csrPEM(t, "s", "s."+ns+".example.com"), 48*time.Hour, nil)
	approve(t, cr)
	leaf := verifyChain(t, waitCRReady(t, cr).Status.Certificate, ca.Cert, x509.ExtKeyUsageServerAuth)
	if !leaf.NotAfter.Equal(ca.Cert.NotAfter) {
		t.Errorf("NotAfter %s, want the CA's %s", leaf.NotAfter, ca.Cert.NotAfter)
	}
	if note := waitEvent(t, ns, cr.Name, "LifetimeTruncated"); !strings.Contains(note, ca.Cert.NotAfter.UTC().Format(time.RFC3339)) {
		t.Errorf("truncation event %q does not name the CA's NotAfter", note)
	}

	// With leafNotAfterBehavior: Error the same request is refused.
	strict := webIssuer(ns, "ca")
	strict.Name = "strict"
	strict.Spec.Templates[0].TTL = 0
	strict.Spec.LeafNotAfterBehavior = v1alpha1.LeafNotAfterError
	create(t, strict)
	waitIssuer(t, strict, metav1.ConditionTrue, "")
	cr = createCertificateRequest(t, ns, issuerRef("NstanceIssuer", "strict"), csrPEM(t, "s", "s."+ns+".example.com"), 48*time.Hour, nil)
	approve(t, cr)
	waitCRFailed(t, cr)
}

// TestEd25519ServerCertificateIsSignedWithAWarning: browsers reject Ed25519
// server certificates, so a server template signing one warns.
func TestEd25519ServerCertificateIsSignedWithAWarning(t *testing.T) {
	ns := namespaceWithWebIssuer(t, "Ed Root CA")

	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "ed"}, DNSNames: []string{"ed." + ns + ".example.com"},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	cr := createCertificateRequest(t, ns, issuerRef("NstanceIssuer", "web"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), time.Hour,
		map[string]string{v1alpha1.TemplateAnnotation: "web"})
	approve(t, cr)
	waitCRReady(t, cr)
	if note := waitEvent(t, ns, cr.Name, "Ed25519ServerCertificate"); !strings.Contains(note, "browsers") {
		t.Errorf("warning %q does not explain the browser problem", note)
	}
}
