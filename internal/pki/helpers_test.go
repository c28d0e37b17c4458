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
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// testNow is the fixed "now" of every test.
var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

var (
	keyMu    sync.Mutex
	keyCache = map[string]crypto.Signer{}
)

// testKey returns a key of the named kind, generated once per test binary
// and per name suffix (e.g. "ecdsa256", "ecdsa256-b" for a second one).
func testKey(t testing.TB, name string) crypto.Signer {
	t.Helper()
	keyMu.Lock()
	defer keyMu.Unlock()
	if k, ok := keyCache[name]; ok {
		return k
	}
	kind, _, _ := strings.Cut(name, "-")
	var k crypto.Signer
	var err error
	switch kind {
	case "rsa1024":
		k, err = rsa.GenerateKey(rand.Reader, 1024)
	case "rsa2048":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case "rsa3072":
		k, err = rsa.GenerateKey(rand.Reader, 3072)
	case "ecdsa224":
		k, err = ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	case "ecdsa256":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ecdsa384":
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ecdsa521":
		k, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "ed25519":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("unknown key kind %q", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	keyCache[name] = k
	return k
}

var serialCounter int64 = 1000

// certSpec describes a test certificate.
type certSpec struct {
	cn        string
	key       crypto.Signer
	notBefore time.Time
	notAfter  time.Time
	notCA     bool
	noBC      bool
	keyUsage  x509.KeyUsage // 0: CertSign|CRLSign|DigitalSignature for a CA
	noSKI     bool
}

// makeCert creates a certificate from spec signed by parent (self-signed
// when parent is nil).
func makeCert(t testing.TB, spec certSpec, parent *x509.Certificate, parentKey crypto.Signer) *x509.Certificate {
	t.Helper()
	if spec.notBefore.IsZero() {
		spec.notBefore = testNow.Add(-24 * time.Hour)
	}
	if spec.notAfter.IsZero() {
		spec.notAfter = testNow.Add(365 * 24 * time.Hour)
	}
	ku := spec.keyUsage
	if ku == 0 && !spec.notCA {
		ku = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	}
	keyMu.Lock()
	serialCounter++
	serial := big.NewInt(serialCounter)
	keyMu.Unlock()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: spec.cn, Organization: []string{"Test"}},
		NotBefore:             spec.notBefore,
		NotAfter:              spec.notAfter,
		KeyUsage:              ku,
		BasicConstraintsValid: !spec.noBC,
		IsCA:                  !spec.notCA && !spec.noBC,
	}
	if !spec.noSKI {
		ski, err := subjectKeyIDOf(spec.key.Public())
		if err != nil {
			t.Fatal(err)
		}
		tmpl.SubjectKeyId = ski
	}
	if parent == nil {
		parent, parentKey = tmpl, spec.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, spec.key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pemCerts(certs ...*x509.Certificate) []byte {
	return EncodeCertificates(certs...)
}

func pemPKCS8(t testing.TB, k crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func pemPKCS1(k *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

func pemSEC1(t testing.TB, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

// testPKI is a root and an intermediate CA.
type testPKI struct {
	rootKey, interKey crypto.Signer
	root, inter       *x509.Certificate
}

var (
	pkiOnce sync.Once
	thePKI  testPKI
)

// newPKI returns a shared root ("Test Root", ECDSA P-256) and intermediate
// ("Test Intermediate", ECDSA P-256) valid around testNow.
func newPKI(t testing.TB) testPKI {
	t.Helper()
	pkiOnce.Do(func() {
		p := testPKI{rootKey: testKey(t, "ecdsa256-root"), interKey: testKey(t, "ecdsa256-inter")}
		p.root = makeCert(t, certSpec{cn: "Test Root", key: p.rootKey, notAfter: testNow.Add(10 * 365 * 24 * time.Hour)}, nil, nil)
		p.inter = makeCert(t, certSpec{cn: "Test Intermediate", key: p.interKey, notAfter: testNow.Add(5 * 365 * 24 * time.Hour)}, p.root, p.rootKey)
		thePKI = p
	})
	return thePKI
}

// rootCA loads the shared root as a CA.
func rootCA(t testing.TB) *CA {
	t.Helper()
	p := newPKI(t)
	ca, err := LoadCA(pemCerts(p.root), pemPKCS8(t, p.rootKey), nil, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// interCA loads the shared intermediate with the root in ca.crt.
func interCA(t testing.TB) *CA {
	t.Helper()
	p := newPKI(t)
	ca, err := LoadCA(pemCerts(p.inter), pemPKCS8(t, p.interKey), pemCerts(p.root), testNow)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// newCSR creates a PEM CSR for key with the given subject and SANs.
func newCSR(t testing.TB, key crypto.Signer, tmpl x509.CertificateRequest) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// csrFor is newCSR with a CN and DNS names and a P-256 key.
func csrFor(t testing.TB, cn string, dns ...string) []byte {
	t.Helper()
	return newCSR(t, testKey(t, "ecdsa256-leaf"), x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: dns})
}

// wantErr checks err's type (via errors.As) and that its message contains
// every substring of want. A nil want means no error.
func wantErr(t testing.TB, err error, kind string, want ...string) {
	t.Helper()
	if kind == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("expected a %s containing %q, got none", kind, want)
	}
	var re *RequestError
	var ce *CAError
	var te *TemplateError
	got := "plain error"
	switch {
	case errors.As(err, &re):
		got = "RequestError/" + re.Reason
	case errors.As(err, &ce):
		got = "CAError/" + ce.Reason
	case errors.As(err, &te):
		got = "TemplateError"
	}
	if got != kind {
		t.Fatalf("expected %s, got %s: %v", kind, got, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err.Error(), w)
		}
	}
}

// templ returns a template with the given name and modifications.
func templ(name string, mods ...func(*v1alpha1.CertificateTemplate)) *v1alpha1.CertificateTemplate {
	t := &v1alpha1.CertificateTemplate{Name: name}
	for _, m := range mods {
		m(t)
	}
	return t
}

// fixedReader is a deterministic random source for serial tests.
type fixedReader struct{ b byte }

func (r fixedReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.b
	}
	return len(p), nil
}

// prepare builds an issuance for a step test: the CSR is parsed and its key
// accepted, with the intermediate CA and testNow.
func prepare(t testing.TB, tmpl *v1alpha1.CertificateTemplate, req Request) *issuance {
	t.Helper()
	if req.Duration == 0 {
		req.Duration = 24 * time.Hour
	}
	if req.Name == "" {
		req.Name, req.Namespace = "web", "team-a"
	}
	data := RenderData{Vars: map[string]string{"Domain": "example.com"}, Issuer: IssuerData{Name: "ca", Namespace: "team-a", Kind: "NstanceIssuer"}}
	is, err := newIssuance(interCA(t), policyFor(tmpl), req, data, testNow)
	if err != nil {
		t.Fatalf("newIssuance: %v", err)
	}
	return is
}

// policyFor is the policy of tmpl, or pass-through when tmpl is nil.
func policyFor(tmpl *v1alpha1.CertificateTemplate) Policy {
	return Policy{Template: tmpl, PassThrough: tmpl == nil}
}

// runSteps runs the given steps in order and returns the first error.
func runSteps(is *issuance, ss ...step) error {
	for _, s := range ss {
		if err := s(is); err != nil {
			return err
		}
	}
	return nil
}
