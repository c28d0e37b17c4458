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

package pki

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// verifyIssued checks everything an issued certificate must satisfy.
func verifyIssued(t *testing.T, ca *CA, csrKey crypto.Signer, out *Issued) {
	t.Helper()
	leaf := out.Cert
	if err := leaf.CheckSignatureFrom(ca.Cert); err != nil {
		t.Errorf("CheckSignatureFrom(CA): %v", err)
	}
	if !leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(csrKey.Public()) {
		t.Errorf("the certificate does not certify the CSR's key")
	}
	spki, _ := x509.MarshalPKIXPublicKey(csrKey.Public())
	wantSKI, _ := subjectKeyID(spki)
	if !bytes.Equal(leaf.SubjectKeyId, wantSKI) {
		t.Errorf("SubjectKeyId = %x, want %x", leaf.SubjectKeyId, wantSKI)
	}
	if len(ca.Cert.SubjectKeyId) > 0 && !bytes.Equal(leaf.AuthorityKeyId, ca.Cert.SubjectKeyId) {
		t.Errorf("AuthorityKeyId = %x, want the CA's SKI %x", leaf.AuthorityKeyId, ca.Cert.SubjectKeyId)
	}
	if leaf.SerialNumber.Sign() <= 0 || leaf.SerialNumber.BitLen() < 64 || leaf.SerialNumber.BitLen() > 128 {
		t.Errorf("serial %x is not a positive 64 to 128-bit random number", leaf.SerialNumber)
	}
	if leaf.NotAfter.After(ca.Cert.NotAfter) || leaf.NotBefore.Before(ca.Cert.NotBefore) {
		t.Errorf("validity %s - %s outside the CA's", leaf.NotBefore, leaf.NotAfter)
	}

	// The chain: leaf first, then the CA chain; the root only in CAPEM.
	var chain []*x509.Certificate
	for rest := out.ChainPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 || !chain[0].Equal(leaf) {
		t.Fatalf("ChainPEM does not start with the leaf")
	}
	if !bytes.Equal(out.ChainPEM[len(out.ChainPEM)-len(ca.ChainPEM):], ca.ChainPEM) {
		t.Errorf("ChainPEM does not end with the CA chain")
	}
	if !bytes.Equal(out.CAPEM, ca.RootPEM) {
		t.Errorf("CAPEM is not the CA's root")
	}
	for _, c := range chain[1:] {
		if IsSelfSigned(c) {
			t.Errorf("ChainPEM holds the self-signed root %q", certName(c))
		}
	}
	roots := x509.NewCertPool()
	if b, _ := pem.Decode(out.CAPEM); b != nil {
		r, _ := x509.ParseCertificate(b.Bytes)
		roots.AddCert(r)
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: testNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("the chain does not verify against ca.crt: %v", err)
	}
}

// testCAs loads CAs of every shape and key type.
func testCAs(t *testing.T) map[string]*CA {
	t.Helper()
	rsaCAKey := testKey(t, "rsa2048-ca")
	edCAKey := testKey(t, "ed25519-ca")
	rsaRoot := makeCert(t, certSpec{cn: "RSA Root", key: rsaCAKey}, nil, nil)
	edRoot := makeCert(t, certSpec{cn: "Ed25519 Root", key: edCAKey}, nil, nil)
	load := func(cert, key, root []byte) *CA {
		ca, err := LoadCA(cert, key, root, testNow)
		if err != nil {
			t.Fatal(err)
		}
		return ca
	}
	p := newPKI(t)
	return map[string]*CA{
		"an ECDSA root":                            rootCA(t),
		"an ECDSA intermediate with ca.crt":        interCA(t),
		"an intermediate with its root in tls.crt": load(pemCerts(p.inter, p.root), pemPKCS8(t, p.interKey), nil),
		"an RSA root":                              load(pemCerts(rsaRoot), pemPKCS8(t, rsaCAKey), nil),
		"an Ed25519 root":                          load(pemCerts(edRoot), pemPKCS8(t, edCAKey), nil),
	}
}

func TestIssueSignsVerifiableCertificates(t *testing.T) {
	t.Parallel()
	tmpl := templ("web", func(t *v1alpha1.CertificateTemplate) {
		t.AllowedDNSNames = []string{"*.{{ .Request.Namespace }}.example.com", "*.{{ .Request.Namespace }}.svc"}
		t.DNS = []string{"{{ .Request.Name }}.{{ .Request.Namespace }}.svc"}
	})
	for caName, ca := range testCAs(t) {
		for _, keyName := range []string{"ecdsa256", "ecdsa384", "rsa2048", "ed25519"} {
			t.Run(caName+" signs a CSR with a "+keyName+" key", func(t *testing.T) {
				t.Parallel()
				key := testKey(t, keyName)
				csr := newCSR(t, key, x509.CertificateRequest{Subject: pkix.Name{CommonName: "api.team-a.example.com"}, DNSNames: []string{"api.team-a.example.com"}})
				req := Request{CSR: csr, Duration: 24 * time.Hour, Name: "api", Namespace: "team-a", KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment}
				out, err := Issue(ca, Policy{Template: tmpl}, req, RenderData{}, testNow, rand.Reader)
				wantErr(t, err, "")
				verifyIssued(t, ca, key, out)
				if out.Template != "web" {
					t.Errorf("Template = %q", out.Template)
				}
				if want := []string{"api.team-a.example.com", "api.team-a.svc"}; !slices.Equal(out.Cert.DNSNames, want) {
					t.Errorf("DNSNames = %q, want %q", out.Cert.DNSNames, want)
				}
				if !out.Cert.NotAfter.Equal(testNow.Add(24*time.Hour)) || !out.Cert.NotBefore.Equal(testNow.Add(-30*time.Second)) {
					t.Errorf("validity %s - %s", out.Cert.NotBefore, out.Cert.NotAfter)
				}
			})
		}
	}
}

func TestIssuePassThrough(t *testing.T) {
	t.Parallel()
	ca := interCA(t)
	key := testKey(t, "ecdsa256")
	subject := pkix.Name{CommonName: "anything", Organization: []string{"Org"}}
	csr := newCSR(t, key, x509.CertificateRequest{Subject: subject, DNSNames: []string{"anything.example.org"}, IPAddresses: []net.IP{net.ParseIP("192.0.2.1")}})
	out, err := Issue(ca, Policy{PassThrough: true}, Request{CSR: csr, Duration: 90 * 24 * time.Hour, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, RenderData{}, testNow, rand.Reader)
	wantErr(t, err, "")
	verifyIssued(t, ca, key, out)
	if out.Template != "" || out.Cert.Subject.CommonName != "anything" || out.Cert.Subject.Organization[0] != "Org" {
		t.Errorf("template %q, subject %v", out.Template, out.Cert.Subject)
	}
	if out.Cert.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment {
		t.Errorf("KeyUsage = %s", keyUsageNames(out.Cert.KeyUsage))
	}
	if len(out.Cert.IPAddresses) != 1 || out.Cert.IPAddresses[0].String() != "192.0.2.1" {
		t.Errorf("IPs = %v", out.Cert.IPAddresses)
	}
}

func TestIssueFillsRequestDataForTemplates(t *testing.T) {
	t.Parallel()
	tmpl := templ("kubelet", func(t *v1alpha1.CertificateTemplate) {
		t.CN = "system:node:{{ .Request.Name }}"
		t.Organization = []string{"{{ .Vars.Group }}"}
		t.OrganizationalUnit = []string{"{{ .Issuer.Name }}/{{ .Request.Namespace }}/{{ .Request.Duration }}"}
		t.Locality = []string{"{{ first .Request.DNSNames }}|{{ first .Request.IPAddresses }}|{{ first .Request.URIs }}|{{ first .Request.EmailAddresses }}|{{ .Request.CommonName }}"}
		// Rendered from request data: each must be allowed like a requested value.
		t.AllowedCommonNames = []string{"system:node:*"}
		t.AllowedSubject = &v1alpha1.SubjectPatterns{OrganizationalUnit: []string{"cluster-ca/*"}, Locality: []string{"*"}}
		t.AllowedDNSNames = []string{"*.example.com"}
		t.AllowedIPRanges = []string{"10.0.0.0/8"}
		t.AllowedEmailAddresses = []string{"*@example.com"}
	})
	csr := newCSR(t, testKey(t, "ecdsa256"), x509.CertificateRequest{
		Subject:  pkix.Name{OrganizationalUnit: []string{"ignored"}},
		DNSNames: []string{"node-1.example.com"}, IPAddresses: []net.IP{net.ParseIP("10.0.0.5")}, EmailAddresses: []string{"ops@example.com"},
	})
	data := RenderData{Vars: map[string]string{"Group": "system:nodes"}, Issuer: IssuerData{Name: "cluster-ca", Kind: "NstanceClusterIssuer"}}
	out, err := Issue(interCA(t), Policy{Template: tmpl}, Request{CSR: csr, Duration: time.Hour, Name: "node-1", Namespace: "kube-system"}, data, testNow, rand.Reader)
	wantErr(t, err, "")
	s := out.Cert.Subject
	if s.CommonName != "system:node:node-1" || s.Organization[0] != "system:nodes" || s.OrganizationalUnit[0] != "cluster-ca/kube-system/1h0m0s" {
		t.Errorf("subject = %v", s)
	}
	if want := "node-1.example.com|10.0.0.5||ops@example.com|"; s.Locality[0] != want {
		t.Errorf("locality = %q, want %q", s.Locality[0], want)
	}
}

func TestIssueRejections(t *testing.T) {
	t.Parallel()
	ca := interCA(t)
	good := csrFor(t, "a.team-a.example.com", "a.team-a.example.com")
	web := templ("web", func(t *v1alpha1.CertificateTemplate) { t.AllowedDNSNames = []string{"*.team-a.example.com"} })
	tests := []struct {
		name      string
		ca        *CA
		tmpl      *v1alpha1.CertificateTemplate
		req       Request
		now       time.Time
		kind, msg string
	}{
		{name: "a nil CA cannot sign", ca: nil, tmpl: web, req: Request{CSR: good, Duration: time.Hour}, kind: "CAError/NotLoaded", msg: "no CA is loaded"},
		{name: "an expired CA never signs", ca: ca, tmpl: web, req: Request{CSR: good, Duration: time.Hour}, now: ca.Cert.NotAfter.Add(time.Second), kind: "CAError/Expired", msg: `CA certificate "Test Intermediate" expired at 2031-05-31T12:00:00Z; rotate the CA Secret`},
		{name: "a CA not yet valid never signs", ca: ca, tmpl: web, req: Request{CSR: good, Duration: time.Hour}, now: ca.Cert.NotBefore.Add(-time.Second), kind: "CAError/NotYetValid", msg: "is not valid before"},
		{name: "a malformed CSR fails the request", ca: ca, tmpl: web, req: Request{CSR: []byte("nope"), Duration: time.Hour}, kind: "RequestError/InvalidCSR", msg: "not PEM-encoded"},
		{name: "a weak key fails the request", ca: ca, tmpl: web, req: Request{CSR: newCSR(t, testKey(t, "rsa1024"), x509.CertificateRequest{}), Duration: time.Hour}, kind: "RequestError/WeakKey", msg: "1024 bits"},
		{name: "a SAN outside the template fails the request", ca: ca, tmpl: web, req: Request{CSR: csrFor(t, "", "api.other.example.com"), Duration: time.Hour}, kind: "RequestError/PolicyViolation", msg: `requested DNS name "api.other.example.com" is not allowed by template "web" (allowedDNSNames: *.team-a.example.com)`},
		{name: "a CA request without allowCA fails", ca: ca, tmpl: web, req: Request{CSR: good, Duration: time.Hour, IsCA: true}, kind: "RequestError/PolicyViolation", msg: "use a template with allowCA: true"},
		{name: "a forbidden usage fails the request", ca: ca, tmpl: web, req: Request{CSR: good, Duration: time.Hour, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, kind: "RequestError/PolicyViolation", msg: "requested usage client auth"},
		{name: "a zero duration fails the request", ca: ca, tmpl: web, req: Request{CSR: good}, kind: "RequestError/InvalidDuration", msg: "not positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			now := tc.now
			if now.IsZero() {
				now = testNow
			}
			out, err := Issue(tc.ca, Policy{Template: tc.tmpl}, tc.req, RenderData{}, now, rand.Reader)
			wantErr(t, err, tc.kind, tc.msg)
			if out != nil {
				t.Errorf("a certificate was returned with the error")
			}
		})
	}
}

func TestIssueTruncatesToTheCA(t *testing.T) {
	t.Parallel()
	ca := interCA(t)
	out, err := Issue(ca, Policy{PassThrough: true, LeafNotAfterBehavior: v1alpha1.LeafNotAfterTruncate}, Request{CSR: csrFor(t, "x"), Duration: 100 * 365 * 24 * time.Hour}, RenderData{}, testNow, rand.Reader)
	wantErr(t, err, "")
	if !out.Truncated || !out.Cert.NotAfter.Equal(ca.Cert.NotAfter) || !out.RequestedNotAfter.After(ca.Cert.NotAfter) {
		t.Errorf("Truncated=%v NotAfter=%s RequestedNotAfter=%s", out.Truncated, out.Cert.NotAfter, out.RequestedNotAfter)
	}
	_, err = Issue(ca, Policy{PassThrough: true, LeafNotAfterBehavior: v1alpha1.LeafNotAfterError}, Request{CSR: csrFor(t, "x"), Duration: 100 * 365 * 24 * time.Hour}, RenderData{}, testNow, rand.Reader)
	wantErr(t, err, "RequestError/NotAfterPastCA", "set leafNotAfterBehavior: Truncate")
}

func TestIssueWarnings(t *testing.T) {
	t.Parallel()
	edWarning := Warning{Reason: v1alpha1.EventReasonEd25519ServerCertificate, Message: "Ed25519 server certificates are rejected by browsers; use ECDSA or RSA for web traffic"}
	kind := func(k v1alpha1.TemplateKind) *v1alpha1.CertificateTemplate {
		return templ("t", func(t *v1alpha1.CertificateTemplate) { t.Kind = k; t.AllowedCommonNames = []string{"x"} })
	}
	tests := []struct {
		name string
		tmpl *v1alpha1.CertificateTemplate
		key  string
		eku  []x509.ExtKeyUsage
		want []Warning
	}{
		{name: "an Ed25519 server certificate warns", tmpl: kind(v1alpha1.ServerKind), key: "ed25519", want: []Warning{edWarning}},
		{name: "an Ed25519 peer certificate warns", tmpl: kind(v1alpha1.PeerKind), key: "ed25519", want: []Warning{edWarning}},
		{name: "an Ed25519 client certificate does not warn", tmpl: kind(v1alpha1.ClientKind), key: "ed25519"},
		{name: "an ECDSA server certificate does not warn", tmpl: kind(v1alpha1.ServerKind), key: "ecdsa256"},
		{name: "a pass-through Ed25519 certificate with server auth warns", key: "ed25519", eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, want: []Warning{edWarning}},
		{name: "a pass-through Ed25519 certificate without server auth does not warn", key: "ed25519", eku: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			csr := newCSR(t, testKey(t, tc.key), x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}})
			out, err := Issue(interCA(t), policyFor(tc.tmpl), Request{CSR: csr, Duration: time.Hour, ExtKeyUsage: tc.eku}, RenderData{}, testNow, rand.Reader)
			wantErr(t, err, "")
			if !slices.Equal(out.Warnings, tc.want) {
				t.Errorf("Warnings = %q, want %q", out.Warnings, tc.want)
			}
		})
	}
}

func TestIssueSerials(t *testing.T) {
	t.Parallel()
	ca := interCA(t)
	seen := map[string]bool{}
	for range 20 {
		out, err := Issue(ca, Policy{PassThrough: true}, Request{CSR: csrFor(t, "x"), Duration: time.Hour}, RenderData{}, testNow, rand.Reader)
		wantErr(t, err, "")
		s := out.Cert.SerialNumber.String()
		if seen[s] {
			t.Fatalf("serial %s issued twice", s)
		}
		seen[s] = true
		if out.Cert.SerialNumber.BitLen() <= 64 {
			t.Errorf("serial %x has only %d bits", out.Cert.SerialNumber, out.Cert.SerialNumber.BitLen())
		}
	}

	t.Run("the serial comes from the injected random source", func(t *testing.T) {
		t.Parallel()
		out, err := Issue(ca, Policy{PassThrough: true}, Request{CSR: csrFor(t, "x"), Duration: time.Hour}, RenderData{}, testNow, fixedReader{0xAB})
		wantErr(t, err, "")
		if got := out.Cert.SerialNumber.Text(16); got != strings.Repeat("ab", 16) {
			t.Errorf("serial = %s", got)
		}
	})
	t.Run("a random source of zeros is refused", func(t *testing.T) {
		t.Parallel()
		_, err := Issue(ca, Policy{PassThrough: true}, Request{CSR: csrFor(t, "x"), Duration: time.Hour}, RenderData{}, testNow, fixedReader{0})
		if err == nil || !strings.Contains(err.Error(), "only zeros") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("a failing random source is a plain error", func(t *testing.T) {
		t.Parallel()
		_, err := Issue(ca, Policy{PassThrough: true}, Request{CSR: csrFor(t, "x"), Duration: time.Hour}, RenderData{}, testNow, bytes.NewReader(nil))
		var re *RequestError
		if err == nil || errors.As(err, &re) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestIssuedCACanSign(t *testing.T) {
	t.Parallel()
	root := rootCA(t)
	subKey := testKey(t, "ecdsa256-subca")
	tmpl := templ("sub-ca", func(t *v1alpha1.CertificateTemplate) {
		t.AllowCA = true
		t.CN = "Sub CA"
		t.AllowedDNSNames = []string{"*.example.com"}
	})
	out, err := Issue(root, Policy{Template: tmpl}, Request{CSR: newCSR(t, subKey, x509.CertificateRequest{}), Duration: 24 * time.Hour, IsCA: true}, RenderData{}, testNow, rand.Reader)
	wantErr(t, err, "")
	c := out.Cert
	if !c.IsCA || !c.BasicConstraintsValid || c.MaxPathLen != 0 || !c.MaxPathLenZero || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Fatalf("not a path-length-zero CA: %+v", c)
	}
	sub, err := LoadCA(out.ChainPEM, pemPKCS8(t, subKey), out.CAPEM, testNow)
	wantErr(t, err, "")
	leafKey := testKey(t, "ecdsa256")
	leaf, err := Issue(sub, Policy{PassThrough: true}, Request{CSR: newCSR(t, leafKey, x509.CertificateRequest{DNSNames: []string{"x.example.com"}}), Duration: time.Hour}, RenderData{}, testNow, rand.Reader)
	wantErr(t, err, "")
	verifyIssued(t, sub, leafKey, leaf)

	t.Run("a CA issued below a path-length-zero CA is refused as a CA", func(t *testing.T) {
		t.Parallel()
		sub2Key := testKey(t, "ecdsa256-subca2")
		tmpl2 := templ("sub-ca", func(t *v1alpha1.CertificateTemplate) { t.AllowCA, t.UnconstrainedCA = true, true; t.CN = "Sub CA 2" })
		out2, err := Issue(sub, Policy{Template: tmpl2}, Request{CSR: newCSR(t, sub2Key, x509.CertificateRequest{}), Duration: time.Hour, IsCA: true}, RenderData{}, testNow, rand.Reader)
		wantErr(t, err, "")
		_, err = LoadCA(out2.ChainPEM, pemPKCS8(t, sub2Key), out2.CAPEM, testNow)
		wantErr(t, err, "CAError/InvalidCertificate", `certificate "Sub CA" allows 0 CA certificates below it (pathLenConstraint) but the chain has 1`)
	})
}
