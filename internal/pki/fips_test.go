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
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/fips140"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

func TestFIPSKeyProblem(t *testing.T) {
	t.Parallel()
	rsa2048 := testKey(t, "rsa2048").Public().(*rsa.PublicKey)
	withE := func(e int) *rsa.PublicKey { return &rsa.PublicKey{N: rsa2048.N, E: e} }
	odd := &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 2048), E: 65537} // 2049 bits
	cases := []struct {
		name string
		pub  crypto.PublicKey
		want string // "" approved
	}{
		{"an RSA 2048 key with exponent 65537 is approved", rsa2048, ""},
		{"an RSA 3072 key is approved", testKey(t, "rsa3072").Public(), ""},
		{"an RSA key with a large exponent is approved", withE(1<<16 + 1), ""},
		{"an RSA key with exponent 3 is not approved", withE(3), "public exponent 3 (FIPS 186-5 approves exponents above 65536"},
		{"an RSA key with exponent 65535 is not approved", withE(65535), "public exponent 65535"},
		{"an RSA key of an odd length is not approved", odd, "a 2049-bit RSA key"},
		{"an RSA 1024 key is not approved", testKey(t, "rsa1024").Public(), "a 1024-bit RSA key"},
		{"an ECDSA P-256 key is approved", testKey(t, "ecdsa256").Public(), ""},
		{"an ECDSA P-384 key is approved", testKey(t, "ecdsa384").Public(), ""},
		{"an ECDSA P-521 key is approved", testKey(t, "ecdsa521").Public(), ""},
		{"an ECDSA P-224 key is not approved", testKey(t, "ecdsa224").Public(), "curve P-224"},
		{"an Ed25519 key is approved (FIPS 186-5)", testKey(t, "ed25519").Public(), ""},
		{"an unknown key type is not approved", "a string", "a string key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := fipsKeyProblem(c.pub)
			if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
				t.Errorf("fipsKeyProblem = %q, want %q", got, c.want)
			}
		})
	}
}

func TestFIPSSignatureProblem(t *testing.T) {
	t.Parallel()
	for _, alg := range []x509.SignatureAlgorithm{x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA,
		x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS,
		x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512, x509.PureEd25519} {
		if p := fipsSignatureProblem(alg); p != "" {
			t.Errorf("%s: %q, want approved", alg, p)
		}
	}
	for _, alg := range []x509.SignatureAlgorithm{x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.MD5WithRSA, x509.DSAWithSHA256, x509.UnknownSignatureAlgorithm} {
		if p := fipsSignatureProblem(alg); !strings.Contains(p, "signature algorithm "+alg.String()) {
			t.Errorf("%s: %q, want refused by name", alg, p)
		}
	}
}

// rsaKeyWithExponent is a 2048-bit RSA key with public exponent e, which
// crypto/rsa never generates (it always uses 65537).
func rsaKeyWithExponent(t testing.TB, e int) *rsa.PrivateKey {
	t.Helper()
	E := big.NewInt(int64(e))
	one := big.NewInt(1)
	for {
		p, err := rand.Prime(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		q, err := rand.Prime(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		pm1, qm1 := new(big.Int).Sub(p, one), new(big.Int).Sub(q, one)
		phi := new(big.Int).Mul(pm1, qm1)
		n := new(big.Int).Mul(p, q)
		d := new(big.Int).ModInverse(E, phi)
		if p.Cmp(q) == 0 || n.BitLen() != 2048 || d == nil {
			continue
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: e}, D: d, Primes: []*big.Int{p, q}}
		k.Precompute()
		if err := k.Validate(); err != nil {
			t.Fatal(err)
		}
		return k
	}
}

// fipsFixtures are keys, CSRs and CAs that Go's FIPS 140-3 module does not
// approve, made once per test binary with enforcement off (under
// GODEBUG=fips140=only, making them would fail).
type fipsFixtures struct {
	e3Key       *rsa.PrivateKey
	e3CSR       []byte // an RSA 2048 key with exponent 3
	oddCSR      []byte // a 2049-bit RSA key
	rsa1024CSR  []byte
	sha1RSACSR  []byte // SHA1WithRSA
	sha1ECCSR   []byte // ECDSAWithSHA1
	e3CACert    []byte
	e3CAKeyPEM  []byte
	fixturesErr error
}

var (
	fipsOnce sync.Once
	theFIPS  fipsFixtures
)

func nonApproved(t *testing.T) fipsFixtures {
	t.Helper()
	fipsOnce.Do(func() {
		fips140.WithoutEnforcement(func() {
			f := &theFIPS
			subject := x509.CertificateRequest{Subject: pkix.Name{CommonName: "api.team-a.example.com"}, DNSNames: []string{"api.team-a.example.com"}}
			f.e3Key = rsaKeyWithExponent(t, 3)
			f.e3CSR = newCSR(t, f.e3Key, subject)
			odd, err := rsa.GenerateKey(rand.Reader, 2049)
			if err != nil {
				f.fixturesErr = err
				return
			}
			f.oddCSR = newCSR(t, odd, subject)
			f.rsa1024CSR = newCSR(t, testKey(t, "rsa1024"), subject)
			withAlg := subject
			withAlg.SignatureAlgorithm = x509.SHA1WithRSA
			f.sha1RSACSR = newCSR(t, testKey(t, "rsa2048"), withAlg)
			withAlg.SignatureAlgorithm = x509.ECDSAWithSHA1
			f.sha1ECCSR = newCSR(t, testKey(t, "ecdsa256"), withAlg)
			caKey := rsaKeyWithExponent(t, 3)
			f.e3CACert = pemCerts(makeCert(t, certSpec{cn: "Exponent 3 Root", key: caKey}, nil, nil))
			f.e3CAKeyPEM = pemPKCS1(caKey)
		})
	})
	if theFIPS.fixturesErr != nil {
		t.Fatal(theFIPS.fixturesErr)
	}
	return theFIPS
}

// fipsWebTemplate allows the names the FIPS tests ask for.
func fipsWebTemplate() *v1alpha1.CertificateTemplate {
	return templ("web", func(t *v1alpha1.CertificateTemplate) {
		t.AllowedDNSNames = []string{"*.{{ .Request.Namespace }}.example.com"}
	})
}

func fipsRequest(csr []byte) Request {
	return Request{CSR: csr, Duration: 24 * time.Hour, Name: "api", Namespace: "team-a", KeyUsage: x509.KeyUsageDigitalSignature}
}

// TestOutsideFIPSModeNothingChanges: the keys and signatures FIPS mode
// refuses are signed as before when the process is not in FIPS mode, and
// key identifiers stay RFC 5280's SHA-1.
func TestOutsideFIPSModeNothingChanges(t *testing.T) {
	t.Parallel()
	if fipsMode {
		t.Skip("the process runs in FIPS 140-3 mode")
	}
	f := nonApproved(t)
	for name, csr := range map[string][]byte{"exponent 3": f.e3CSR, "2049 bits": f.oddCSR, "SHA1-RSA": f.sha1RSACSR, "ECDSA-SHA1": f.sha1ECCSR} {
		out, err := Issue(interCA(t), Policy{Template: fipsWebTemplate()}, fipsRequest(csr), RenderData{}, testNow, rand.Reader)
		if err != nil {
			t.Errorf("a CSR with %s: %v, want it signed outside FIPS mode", name, err)
			continue
		}
		spki, _ := x509.MarshalPKIXPublicKey(out.Cert.PublicKey)
		ski, _ := subjectKeyID(spki)
		if sum := sha1.Sum(subjectPublicKeyBits(t, spki)); !bytes.Equal(ski, sum[:]) || !bytes.Equal(out.Cert.SubjectKeyId, ski) {
			t.Errorf("a CSR with %s: SubjectKeyId %x, want RFC 5280's SHA-1 %x", name, out.Cert.SubjectKeyId, sum)
		}
	}
	if _, err := LoadCA(f.e3CACert, f.e3CAKeyPEM, nil, testNow); err != nil {
		t.Errorf("a CA with exponent 3 outside FIPS mode: %v", err)
	}
}

// subjectPublicKeyBits is the subjectPublicKey BIT STRING's content.
func subjectPublicKeyBits(t *testing.T, spki []byte) []byte {
	t.Helper()
	pub, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		t.Fatal(err)
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		b, err := k.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return b
	case ed25519.PublicKey:
		return k
	case *rsa.PublicKey:
		return x509.MarshalPKCS1PublicKey(k)
	}
	t.Fatalf("key type %T", pub)
	return nil
}

// TestFIPSMode runs this package's FIPS tests again in a child process in
// FIPS 140-3 mode: with GODEBUG=fips140=on (what the -fips image runs
// with), and with fips140=only, where Go fails any algorithm its module
// does not approve: there the approved requests must still be signed,
// which shows the signing path uses approved algorithms only, and
// TestIssueSignsVerifiableCertificates runs too (every CA shape, ECDSA
// P-256/P-384, RSA 2048 and Ed25519 requests).
func TestFIPSMode(t *testing.T) {
	if fipsMode {
		t.Skip("already in FIPS mode: TestIssueInFIPSMode runs")
	}
	t.Parallel()
	for _, mode := range []string{"on", "only"} {
		t.Run("GODEBUG=fips140="+mode, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^(TestIssueInFIPSMode|TestIssueSignsVerifiableCertificates)$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), "GODEBUG=fips140="+mode)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("the tests in FIPS mode %s failed: %v\n%s", mode, err, out)
			}
			for _, want := range []string{"--- PASS: TestIssueInFIPSMode", "--- PASS: TestIssueSignsVerifiableCertificates", "FIPS 140-3 mode: enforced=" + map[string]string{"on": "false", "only": "true"}[mode]} {
				if !bytes.Contains(out, []byte(want)) {
					t.Errorf("the child's output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// TestIssueInFIPSMode runs only in FIPS 140-3 mode (TestFIPSMode starts it).
func TestIssueInFIPSMode(t *testing.T) {
	if !fipsMode {
		t.Skip("not in FIPS 140-3 mode: TestFIPSMode runs this test in a child process that is")
	}
	t.Logf("FIPS 140-3 mode: enforced=%t module %s", fips140.Enforced(), fips140.Version())
	f := nonApproved(t)

	approved := map[string]crypto.Signer{
		"ECDSA P-256": testKey(t, "ecdsa256"), "ECDSA P-384": testKey(t, "ecdsa384"), "ECDSA P-521": testKey(t, "ecdsa521"),
		"RSA 2048": testKey(t, "rsa2048"), "RSA 3072": testKey(t, "rsa3072"), "Ed25519": testKey(t, "ed25519"),
	}
	cas := map[string]crypto.Signer{"ECDSA P-384": testKey(t, "ecdsa384-ca"), "RSA 3072": testKey(t, "rsa3072-ca"), "Ed25519": testKey(t, "ed25519-ca")}
	for caName, caKey := range cas {
		root := makeCert(t, certSpec{cn: caName + " Root", key: caKey}, nil, nil)
		ca, err := LoadCA(pemCerts(root), pemPKCS8(t, caKey), nil, testNow)
		if err != nil {
			t.Fatalf("the %s CA: %v", caName, err)
		}
		for keyName, key := range approved {
			t.Run("an "+caName+" CA signs a CSR with an "+keyName+" key", func(t *testing.T) {
				csr := newCSR(t, key, x509.CertificateRequest{Subject: pkix.Name{CommonName: "api.team-a.example.com"}, DNSNames: []string{"api.team-a.example.com"}})
				out, err := Issue(ca, Policy{Template: fipsWebTemplate()}, fipsRequest(csr), RenderData{}, testNow, rand.Reader)
				wantErr(t, err, "")
				if err := out.Cert.CheckSignatureFrom(ca.Cert); err != nil {
					t.Errorf("the certificate does not verify: %v", err)
				}
				spki, _ := x509.MarshalPKIXPublicKey(key.Public())
				sum := sha256.Sum256(subjectPublicKeyBits(t, spki))
				if !bytes.Equal(out.Cert.SubjectKeyId, sum[:20]) {
					t.Errorf("SubjectKeyId %x, want RFC 7093's leftmost 160 bits of SHA-256 %x", out.Cert.SubjectKeyId, sum[:20])
				}
			})
		}
	}
	t.Run("an RSA-PSS signed CSR is signed", func(t *testing.T) {
		csr := newCSR(t, testKey(t, "rsa2048"), x509.CertificateRequest{Subject: pkix.Name{CommonName: "api.team-a.example.com"}, DNSNames: []string{"api.team-a.example.com"}, SignatureAlgorithm: x509.SHA384WithRSAPSS})
		_, err := Issue(rootCA(t), Policy{Template: fipsWebTemplate()}, fipsRequest(csr), RenderData{}, testNow, rand.Reader)
		wantErr(t, err, "")
	})

	refused := []struct {
		name string
		csr  []byte
		want []string
	}{
		{"a CSR whose RSA key has exponent 3 is refused", f.e3CSR, []string{"public exponent 3", "FIPS 140-3 mode", "generate an RSA key of 2048, 3072 or 4096 bits with exponent 65537"}},
		{"a CSR whose RSA key has 2049 bits is refused", f.oddCSR, []string{"a 2049-bit RSA key", "even length of 2048 bits or more"}},
		{"a CSR with an RSA 1024 key is refused", f.rsa1024CSR, []string{"a 1024-bit RSA key", "FIPS 140-3 mode"}},
		{"a CSR signed with SHA-1 and RSA is refused", f.sha1RSACSR, []string{"signed with signature algorithm SHA1-RSA", "FIPS 140-3 mode", "sign the CSR with SHA-256 or stronger"}},
		{"a CSR signed with SHA-1 and ECDSA is refused", f.sha1ECCSR, []string{"signature algorithm ECDSA-SHA1"}},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			_, err := Issue(rootCA(t), Policy{Template: fipsWebTemplate()}, fipsRequest(c.csr), RenderData{}, testNow, rand.Reader)
			wantErr(t, err, "RequestError/"+ReasonNotFIPSApproved, c.want...)
		})
	}
	t.Run("a CA whose RSA key has exponent 3 is refused", func(t *testing.T) {
		_, err := LoadCA(f.e3CACert, f.e3CAKeyPEM, nil, testNow)
		wantErr(t, err, "CAError/"+ReasonNotFIPSApproved, "tls.key is an RSA key with public exponent 3", "refuses to sign with in FIPS 140-3 mode")
	})
}
