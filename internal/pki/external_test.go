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
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// opaqueSigner is a key the way a KMS or an HSM hands it out: a public
// key and a Sign method, never the private key (no type assertion can
// reach it), counting its signatures.
type opaqueSigner struct {
	key   crypto.Signer
	signs atomic.Int64
	fail  error
}

func (s *opaqueSigner) Public() crypto.PublicKey { return s.key.Public() }

func (s *opaqueSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if s.fail != nil {
		return nil, s.fail
	}
	s.signs.Add(1)
	return s.key.Sign(rand, digest, opts)
}

func TestLoadCAWithSigner(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	tests := []struct {
		name    string
		tlsCrt  []byte
		caCrt   []byte
		key     crypto.Signer
		wantErr string
		want    []string
	}{
		{name: "a root whose key signs elsewhere loads with no tls.key", tlsCrt: pemCerts(p.root), key: p.rootKey},
		{name: "an intermediate with its root in ca.crt loads", tlsCrt: pemCerts(p.inter), caCrt: pemCerts(p.root), key: p.interKey},
		{
			name: "a key that is not the certificate's is refused, naming both public keys", tlsCrt: pemCerts(p.root), key: testKey(t, "ecdsa256-other"),
			wantErr: "CAError/" + ReasonKeyMismatch,
			want:    []string{"the CA key pkcs11:token=t;object=k", "does not match the certificate in tls.crt", `"Test Root"`, PublicKeyFingerprint(p.rootKey.Public())},
		},
		{
			name: "a 1024-bit RSA key is refused as a CA key before it is compared", tlsCrt: pemCerts(p.root), key: testKey(t, "rsa1024"),
			wantErr: "CAError/" + ReasonInvalidKey, want: []string{"the CA key pkcs11:token=t;object=k is a 1024-bit RSA key"},
		},
		{
			name: "a P-224 key is refused as a CA key", tlsCrt: pemCerts(p.root), key: testKey(t, "ecdsa224"),
			wantErr: "CAError/" + ReasonInvalidKey, want: []string{"curve P-224"},
		},
		{
			name: "no signer is refused, not dereferenced", tlsCrt: pemCerts(p.root),
			wantErr: "CAError/" + ReasonMissingKey, want: []string{"no signer for the CA key"},
		},
		{
			name: "an empty tls.crt is refused as with a Secret key", key: p.rootKey,
			wantErr: "CAError/" + ReasonMissingKey, want: []string{"tls.crt is missing or empty"},
		},
		{
			name: "an oversized tls.crt is refused before parsing", tlsCrt: make([]byte, MaxCertChainPEMSize+1), key: p.rootKey,
			wantErr: "CAError/" + ReasonTooLarge,
		},
		{
			name: "a leaf certificate is not a CA whatever signs for it", tlsCrt: pemCerts(makeCert(t, certSpec{cn: "leaf", key: testKey(t, "ecdsa256-leafca"), notCA: true}, p.root, p.rootKey)),
			caCrt: pemCerts(p.root), key: testKey(t, "ecdsa256-leafca"),
			wantErr: "CAError/" + ReasonNotACA,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var signer crypto.Signer
			if tc.key != nil {
				signer = &opaqueSigner{key: tc.key}
			}
			ca, err := LoadCAWithSigner(tc.tlsCrt, tc.caCrt, signer, "pkcs11:token=t;object=k", testNow)
			wantErr(t, err, tc.wantErr, tc.want...)
			if err != nil {
				var cerr *CAError
				if errors.As(err, &cerr) && len(tc.tlsCrt) > 0 && len(tc.tlsCrt) < MaxCertChainPEMSize && cerr.Cert == nil {
					t.Errorf("the CAError does not carry the CA certificate")
				}
				return
			}
			if ca.Signer != signer {
				t.Errorf("the CA signs with %T, want the given signer", ca.Signer)
			}
		})
	}
}

func TestIssueSignsThroughAnOpaqueSigner(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	signer := &opaqueSigner{key: p.interKey}
	ca, err := LoadCAWithSigner(pemCerts(p.inter), pemCerts(p.root), signer, "awskms:key-id=k", testNow)
	if err != nil {
		t.Fatal(err)
	}
	issued, err := Issue(ca, policyFor(templ("web", func(tm *v1alpha1.CertificateTemplate) { tm.AllowedDNSNames = []string{"*.example.com"} })),
		Request{CSR: csrFor(t, "a.example.com", "a.example.com"), Duration: time.Hour}, RenderData{}, testNow, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := issued.Cert.CheckSignatureFrom(p.inter); err != nil {
		t.Errorf("the certificate does not verify against the CA: %v", err)
	}
	if got := signer.signs.Load(); got != 1 {
		t.Errorf("the signer signed %d times for one certificate, want 1", got)
	}
	if !strings.Contains(string(issued.CAPEM), "BEGIN CERTIFICATE") {
		t.Errorf("ca.crt is empty")
	}
}

func TestIssueReportsASignerFailureAsItCame(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	outage := errors.New("kms unreachable")
	signer := &opaqueSigner{key: p.rootKey}
	ca, err := LoadCAWithSigner(pemCerts(p.root), nil, signer, "awskms:key-id=k", testNow)
	if err != nil {
		t.Fatal(err)
	}
	signer.fail = outage
	_, err = Issue(ca, Policy{PassThrough: true}, Request{CSR: csrFor(t, "a.example.com", "a.example.com"), Duration: time.Hour}, RenderData{}, testNow, rand.Reader)
	if !errors.Is(err, outage) {
		t.Fatalf("Issue returned %v, want the signer's error wrapped (the controller classifies it)", err)
	}
	if _, ok := errors.AsType[*RequestError](err); ok {
		t.Fatalf("a signer failure must never read as a RequestError (it would fail the request for good): %v", err)
	}
}

func TestLoadCACertificatesNeedsNoKey(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	ca, err := LoadCACertificates(pemCerts(p.inter), pemCerts(p.root), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if ca.Signer != nil || !ca.Cert.Equal(p.inter) || !ca.Root.Equal(p.root) {
		t.Errorf("got signer %v, cert %q, root %v", ca.Signer, ca.Cert.Subject, ca.Root)
	}
	expired := makeCert(t, certSpec{cn: "Expired", key: testKey(t, "ecdsa256-exp"), notBefore: testNow.Add(-48 * time.Hour), notAfter: testNow.Add(-time.Hour)}, nil, nil)
	_, err = LoadCACertificates(pemCerts(expired), nil, testNow)
	wantErr(t, err, "CAError/"+ReasonExpired, `"Expired" expired`)
}

func TestGenerateCAWithSigner(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"ecdsa256", "ecdsa384", "rsa2048", "ed25519"} {
		t.Run("a self-signed root is made with a "+name+" key held elsewhere", func(t *testing.T) {
			t.Parallel()
			signer := &opaqueSigner{key: testKey(t, name)}
			certPEM, err := GenerateCAWithSigner(v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "{{ .Vars.Slug }} CA"}, TTL: 24},
				RenderData{Vars: map[string]string{"Slug": "kms"}}, signer, testNow, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			ca, err := LoadCAWithSigner(certPEM, nil, signer, "k", testNow)
			if err != nil {
				t.Fatalf("the generated CA does not load with its own key: %v", err)
			}
			if ca.Cert.Subject.CommonName != "kms CA" || !ca.Cert.NotAfter.Equal(testNow.Add(24*time.Hour)) || !IsSelfSigned(ca.Cert) {
				t.Errorf("got %q until %s (self-signed %v)", ca.Cert.Subject.CommonName, ca.Cert.NotAfter, IsSelfSigned(ca.Cert))
			}
			if len(ca.Cert.SubjectKeyId) == 0 {
				t.Errorf("the CA has no SubjectKeyId")
			}
		})
	}
	t.Run("a weak key held elsewhere is refused before it signs", func(t *testing.T) {
		t.Parallel()
		signer := &opaqueSigner{key: testKey(t, "rsa1024")}
		_, err := GenerateCAWithSigner(v1alpha1.CATemplate{}, RenderData{}, signer, testNow, rand.Reader)
		wantErr(t, err, "CAError/"+ReasonInvalidKey, "1024-bit RSA")
		if signer.signs.Load() != 0 {
			t.Errorf("the weak key signed")
		}
	})
	t.Run("a template that does not render is a TemplateError before the key signs", func(t *testing.T) {
		t.Parallel()
		signer := &opaqueSigner{key: testKey(t, "ecdsa256")}
		_, err := GenerateCAWithSigner(v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "{{ .Nope }}"}}, RenderData{}, signer, testNow, rand.Reader)
		wantErr(t, err, "TemplateError")
		if signer.signs.Load() != 0 {
			t.Errorf("the key signed for a broken template")
		}
	})
}

func TestPublicKeyFingerprint(t *testing.T) {
	t.Parallel()
	a, b := testKey(t, "ecdsa256-fpa"), testKey(t, "ecdsa256-fpb")
	fa := PublicKeyFingerprint(a.Public())
	if len(fa) != 32*3-1 || strings.ToUpper(fa) != fa {
		t.Errorf("fingerprint %q is not 32 upper-case hex bytes joined by ':'", fa)
	}
	if fa == PublicKeyFingerprint(b.Public()) {
		t.Errorf("two keys have the same fingerprint")
	}
	if fa != PublicKeyFingerprint(a.Public()) {
		t.Errorf("the fingerprint is not stable")
	}
	if got := PublicKeyFingerprint(struct{}{}); got != "" {
		t.Errorf("an unknown key has fingerprint %q, want none", got)
	}
}
