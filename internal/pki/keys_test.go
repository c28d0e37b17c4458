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
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"math/big"
	"testing"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

type unknownKey struct{}

func TestCheckKey(t *testing.T) {
	t.Parallel()
	rsaPub := func(name string) crypto.PublicKey { return testKey(t, name).Public() }
	huge := &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 8200), E: 65537}
	evenE := &rsa.PublicKey{N: testKey(t, "rsa2048").Public().(*rsa.PublicKey).N, E: 65536}
	tests := []struct {
		name    string
		pub     crypto.PublicKey
		tmpl    *v1alpha1.CertificateTemplate
		wantAlg v1alpha1.KeyAlgorithm
		kind    string
		want    string
	}{
		{"pass-through accepts RSA 2048", rsaPub("rsa2048"), nil, v1alpha1.RSAKeyAlgorithm, "", ""},
		{"pass-through accepts ECDSA P-256", rsaPub("ecdsa256"), nil, v1alpha1.ECDSAKeyAlgorithm, "", ""},
		{"pass-through accepts Ed25519", rsaPub("ed25519"), nil, v1alpha1.Ed25519KeyAlgorithm, "", ""},
		{"pass-through rejects RSA 1024", rsaPub("rsa1024"), nil, "", "RequestError/WeakKey", "the CSR's RSA key has 1024 bits; this issuer (no template selected) requires at least 2048"},
		{"P-224 is always rejected", rsaPub("ecdsa224"), nil, "", "RequestError/WeakKey", "curve P-224, which is too weak"},
		{"an RSA key above 8192 bits is rejected", huge, nil, "", "RequestError/PolicyViolation", "8201 bits, more than the 8192 supported"},
		{"an even RSA exponent is rejected", evenE, nil, "", "RequestError/WeakKey", "public exponent 65536"},
		{"an unknown key type is rejected", unknownKey{}, nil, "", "RequestError/PolicyViolation", "public key type pki.unknownKey is not supported"},
		{"a template minimum RSA size applies", rsaPub("rsa2048"), templ("web", func(t *v1alpha1.CertificateTemplate) { t.MinRSAKeySize = 3072 }), "", "RequestError/WeakKey", `template "web" requires at least 3072`},
		{"a larger RSA key meets a template minimum", rsaPub("rsa3072"), templ("web", func(t *v1alpha1.CertificateTemplate) { t.MinRSAKeySize = 3072 }), v1alpha1.RSAKeyAlgorithm, "", ""},
		{"a template minimum ECDSA size applies", rsaPub("ecdsa256"), templ("web", func(t *v1alpha1.CertificateTemplate) { t.MinECDSAKeySize = 384 }), "", "RequestError/WeakKey", `curve P-256; template "web" requires at least 384 bits`},
		{"a larger curve meets a template minimum", rsaPub("ecdsa521"), templ("web", func(t *v1alpha1.CertificateTemplate) { t.MinECDSAKeySize = 384 }), v1alpha1.ECDSAKeyAlgorithm, "", ""},
		{"an algorithm outside the allowed list is rejected", rsaPub("ecdsa256"), templ("web", func(t *v1alpha1.CertificateTemplate) {
			t.AllowedKeyAlgorithms = []v1alpha1.KeyAlgorithm{v1alpha1.RSAKeyAlgorithm, v1alpha1.Ed25519KeyAlgorithm}
		}), "", "RequestError/PolicyViolation", `key algorithm ECDSA is not allowed by template "web" (allowed: RSA, Ed25519)`},
		{"an algorithm in the allowed list is accepted", rsaPub("ed25519"), templ("web", func(t *v1alpha1.CertificateTemplate) {
			t.AllowedKeyAlgorithms = []v1alpha1.KeyAlgorithm{v1alpha1.Ed25519KeyAlgorithm}
		}), v1alpha1.Ed25519KeyAlgorithm, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			alg, err := checkKey(tc.pub, tc.tmpl)
			wantErr(t, err, tc.kind, tc.want)
			if alg != tc.wantAlg {
				t.Errorf("algorithm = %q, want %q", alg, tc.wantAlg)
			}
		})
	}
}

func TestSubjectKeyIDIsSHA1OfTheBitString(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"rsa2048", "ecdsa256", "ed25519"} {
		t.Run("the SKI of a "+name+" key is RFC 5280 method 1", func(t *testing.T) {
			t.Parallel()
			pub := testKey(t, name).Public()
			der, err := x509.MarshalPKIXPublicKey(pub)
			if err != nil {
				t.Fatal(err)
			}
			var raw []byte
			switch k := pub.(type) {
			case *ecdsa.PublicKey:
				raw, _ = k.Bytes()
			case *rsa.PublicKey:
				raw = x509.MarshalPKCS1PublicKey(k)
			case ed25519.PublicKey:
				raw = k
			}
			want := sha1.Sum(raw)
			got, err := subjectKeyID(der)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want[:]) {
				t.Errorf("SKI = %x, want %x", got, want)
			}
		})
	}
	if _, err := subjectKeyID([]byte{1, 2, 3}); err == nil {
		t.Errorf("garbage SPKI did not fail")
	}
}
