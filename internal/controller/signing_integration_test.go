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
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

// webIssuer is an NstanceIssuer with a "web" server template that shows
// every template feature the tests check.
func webIssuer(ns, secretName string) *v1alpha1.NstanceIssuer {
	return &v1alpha1.NstanceIssuer{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: v1alpha1.IssuerSpec{
			CA:              v1alpha1.CASpec{SecretName: secretName},
			Vars:            map[string]string{"Cluster": "prod-eu1"},
			DefaultTemplate: "web",
			Templates: []v1alpha1.CertificateTemplate{{
				Name: "web",
				Kind: v1alpha1.ServerKind,
				Subject: v1alpha1.Subject{
					CN:           "{{ .Request.Name }}.{{ .Vars.Cluster }}",
					Organization: []string{"Example Infra"},
					Country:      []string{"US"},
				},
				DNS:             []string{"{{ .Request.Namespace }}.{{ .Vars.Cluster }}.internal"},
				TTL:             24,
				AllowedDNSNames: []string{"*.{{ .Request.Namespace }}.example.com"},
				// The CN is rendered from the request's name: the
				// requester's, so the policy must allow it.
				AllowedCommonNames: []string{"*.prod-eu1"},
			}},
		},
	}
}

// namespaceWithWebIssuer makes a namespace with a CA Secret "ca" (a new
// root named cn) and a Ready webIssuer "web" using it.
func namespaceWithWebIssuer(t *testing.T, cn string) string {
	t.Helper()
	ns, _, _ := readyWebIssuer(t, cn, nil)
	return ns
}

// readyWebIssuer makes a namespace with a CA Secret "ca" (a new root named
// cn) and a webIssuer "web" using it, changed by mutate (when not nil)
// before it is created, and waits until the issuer is Ready.
func readyWebIssuer(t *testing.T, cn string, mutate func(*v1alpha1.NstanceIssuer)) (string, *testpki.CA, *v1alpha1.NstanceIssuer) {
	t.Helper()
	ns := newNamespace(t)
	ca := validCA(t, cn)
	createSecret(t, ns, "ca", ca.SecretData())
	issuer := webIssuer(ns, "ca")
	if mutate != nil {
		mutate(issuer)
	}
	create(t, issuer)
	waitIssuer(t, issuer, metav1.ConditionTrue, "")
	return ns, ca, issuer
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8s.Create(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
}

func TestApprovedRequestIsSignedPerTemplate(t *testing.T) {
	ns := newNamespace(t)
	ca := validCA(t, "Web Root CA")
	createSecret(t, ns, "web-ca", ca.SecretData())
	issuer := webIssuer(ns, "web-ca")
	create(t, issuer)
	waitIssuer(t, issuer, metav1.ConditionTrue, "")

	// The operator's view of the CA: subject, NotAfter and fingerprint.
	eventually(t, "status.ca", func(ctx context.Context) error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(issuer), issuer); err != nil {
			return err
		}
		if issuer.Status.CA == nil {
			return errors.New("status.ca empty")
		}
		return nil
	})
	if got, want := issuer.Status.CA.SHA256Fingerprint, pki.Fingerprint(ca.Cert); got != want {
		t.Errorf("status.ca.sha256Fingerprint = %q, want %q", got, want)
	}
	if !strings.Contains(issuer.Status.CA.Subject, "CN=Web Root CA") {
		t.Errorf("status.ca.subject = %q, want the CA's subject", issuer.Status.CA.Subject)
	}
	if !issuer.Status.CA.NotAfter.Time.Equal(ca.Cert.NotAfter.Truncate(time.Second)) {
		t.Errorf("status.ca.notAfter = %s, want %s", issuer.Status.CA.NotAfter, ca.Cert.NotAfter)
	}

	requested := 48 * time.Hour
	cr := createCertificateRequest(t, ns, issuerRef("NstanceIssuer", "web"), csrPEM(t, "ignored-cn", "app."+ns+".example.com"),
		requested, map[string]string{v1alpha1.TemplateAnnotation: "web"})
	approve(t, cr)
	start := time.Now()
	cr = waitCRReady(t, cr)

	leaf := verifyChain(t, cr.Status.Certificate, ca.Cert, x509.ExtKeyUsageServerAuth)
	if want := cr.Name + ".prod-eu1"; leaf.Subject.CommonName != want {
		t.Errorf("CN = %q, want %q (template overrides the request)", leaf.Subject.CommonName, want)
	}
	if !slices.Equal(leaf.Subject.Organization, []string{"Example Infra"}) || !slices.Equal(leaf.Subject.Country, []string{"US"}) {
		t.Errorf("subject = %s, want O=Example Infra, C=US", leaf.Subject)
	}
	for _, dns := range []string{"app." + ns + ".example.com", ns + ".prod-eu1.internal"} {
		if !slices.Contains(leaf.DNSNames, dns) {
			t.Errorf("DNS SANs %v lack %q", leaf.DNSNames, dns)
		}
	}
	if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) || leaf.IsCA {
		t.Errorf("usages = %v isCA=%v, want serverAuth only, not a CA", leaf.ExtKeyUsage, leaf.IsCA)
	}
	// ttl 24h is shorter than the 48h asked for.
	if life := leaf.NotAfter.Sub(start); life > 24*time.Hour+time.Minute || life < 24*time.Hour-time.Minute {
		t.Errorf("lifetime %s, want the template ttl of 24h", life)
	}
	if skew := start.Sub(leaf.NotBefore); skew > 31*time.Second+5*time.Second {
		t.Errorf("NotBefore backdated by %s, want at most 30s", skew)
	}
	if !bytes.Equal(cr.Status.CA, ca.CertPEM) {
		t.Errorf("status.ca = %q, want the root CA", cr.Status.CA)
	}
	note := waitEvent(t, ns, cr.Name, "CertificateIssued")
	for _, want := range []string{fmt.Sprintf("%X", leaf.SerialNumber), "template web", leaf.NotAfter.UTC().Format(time.RFC3339), "NstanceIssuer " + ns + "/web"} {
		if !strings.Contains(note, want) {
			t.Errorf("issuance event %q lacks %q", note, want)
		}
	}
}

func TestDefaultTemplateAndPassThrough(t *testing.T) {
	ns, ca, _ := readyWebIssuer(t, "Default Root CA", nil)
	passThrough := &v1alpha1.NstanceIssuer{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "plain"},
		Spec:       v1alpha1.IssuerSpec{CA: v1alpha1.CASpec{SecretName: "ca"}, AllowPassThrough: true},
	}
	create(t, passThrough)
	waitIssuer(t, passThrough, metav1.ConditionTrue, "")

	cr := createCertificateRequest(t, ns, issuerRef("NstanceIssuer", "web"), csrPEM(t, "x", "a."+ns+".example.com"), time.Hour, nil)
	approve(t, cr)
	leaf := verifyChain(t, waitCRReady(t, cr).Status.Certificate, ca.Cert, x509.ExtKeyUsageServerAuth)
	if want := cr.Name + ".prod-eu1"; leaf.Subject.CommonName != want {
		t.Errorf("default template not applied: CN = %q, want %q", leaf.Subject.CommonName, want)
	}

	cr = createCertificateRequest(t, ns, issuerRef("NstanceIssuer", "plain"), csrPEM(t, "as-asked", "anything.example.org"), time.Hour, nil)
	approve(t, cr)
	leaf = verifyChain(t, waitCRReady(t, cr).Status.Certificate, ca.Cert, x509.ExtKeyUsageAny)
	if leaf.Subject.CommonName != "as-asked" || !slices.Equal(leaf.DNSNames, []string{"anything.example.org"}) {
		t.Errorf("pass-through changed the request: CN=%q DNS=%v", leaf.Subject.CommonName, leaf.DNSNames)
	}
}

func TestUnapprovedAndDeniedRequestsAreNeverSigned(t *testing.T) {
	ns := namespaceWithWebIssuer(t, "Gate Root CA")

	ref := issuerRef("NstanceIssuer", "web")
	unapproved := createCertificateRequest(t, ns, ref, csrPEM(t, "u", "u."+ns+".example.com"), time.Hour, nil)
	denied := createCertificateRequest(t, ns, ref, csrPEM(t, "d", "d."+ns+".example.com"), time.Hour, nil)
	setCRCondition(t, denied, cmapi.CertificateRequestConditionDenied, "TestDenied")
	// A third, approved request, made after them, proves the controller
	// has been working meanwhile (the control object) ...
	control := createCertificateRequest(t, ns, ref, csrPEM(t, "c", "c."+ns+".example.com"), time.Hour, nil)
	approve(t, control)
	waitCRReady(t, control)
	// ... and the two stay untouched for a further window.
	consistently(t, "unapproved and denied requests left alone", func(ctx context.Context) error {
		for _, cr := range []*cmapi.CertificateRequest{unapproved, denied} {
			var cur cmapi.CertificateRequest
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(cr), &cur); err != nil {
				return err
			}
			if len(cur.Status.Certificate) > 0 {
				return fmt.Errorf("request %s was signed without approval", cr.Name)
			}
			if c := framework.RequestReady(&cur); c != nil && c.Status == cmmeta.ConditionTrue {
				return fmt.Errorf("request %s is Ready without approval", cr.Name)
			}
		}
		if evs := eventsFor(t, ns, unapproved.Name); len(evs) != 0 {
			return fmt.Errorf("unapproved request got events %v, want it left alone", evs)
		}
		return nil
	})
}

func TestPolicyViolationFailsWithTheOffendingValue(t *testing.T) {
	ns := namespaceWithWebIssuer(t, "Policy Root CA")

	bad := "api.other.example.com"
	cr := createCertificateRequest(t, ns, issuerRef("NstanceIssuer", "web"), csrPEM(t, "x", bad), time.Hour,
		map[string]string{v1alpha1.TemplateAnnotation: "web"})
	approve(t, cr)
	cond := waitCRFailed(t, cr)
	for _, want := range []string{bad, "*." + ns + ".example.com", `"web"`} {
		if !strings.Contains(cond.Message, want) {
			t.Errorf("failure message %q lacks %q", cond.Message, want)
		}
	}

	unknown := createCertificateRequest(t, ns, issuerRef("NstanceIssuer", "web"), csrPEM(t, "x", "a."+ns+".example.com"), time.Hour,
		map[string]string{v1alpha1.TemplateAnnotation: "nope"})
	approve(t, unknown)
	if cond := waitCRFailed(t, unknown); !strings.Contains(cond.Message, `template "nope"`) {
		t.Errorf("failure message %q does not name the unknown template", cond.Message)
	}

	garbage := createCertificateRequest(t, ns, issuerRef("NstanceIssuer", "web"), []byte("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"), time.Hour, nil)
	approve(t, garbage)
	if cond := waitCRFailed(t, garbage); !strings.Contains(cond.Message, "CSR") {
		t.Errorf("failure message %q does not blame the CSR", cond.Message)
	}
}
