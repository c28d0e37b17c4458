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
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// benchCAs are the CA key types compared; the leaf is always ECDSA P-256.
var benchCAs = []struct{ name, key string }{
	{"ECDSA-P256", "ecdsa256-benchca"},
	{"Ed25519", "ed25519-benchca"},
	{"RSA-2048", "rsa2048-benchca"},
}

func benchCA(b *testing.B, keyName string) (*CA, crypto.Signer) {
	b.Helper()
	key := testKey(b, keyName)
	root := makeCert(b, certSpec{cn: "Bench CA " + keyName, key: key}, nil, nil)
	ca, err := LoadCA(pemCerts(root), pemPKCS8(b, key), nil, testNow)
	if err != nil {
		b.Fatal(err)
	}
	return ca, key
}

// eachBenchCA runs op once per iteration as a sub-benchmark for each CA key
// type, so that every benchmark compares the same keys.
func eachBenchCA(b *testing.B, op func(b *testing.B, ca *CA, key crypto.Signer)) {
	for _, c := range benchCAs {
		b.Run(c.name, func(b *testing.B) {
			ca, key := benchCA(b, c.key)
			b.ReportAllocs()
			for b.Loop() {
				op(b, ca, key)
			}
		})
	}
}

// BenchmarkIssue measures the whole pipeline with a templated policy.
func BenchmarkIssue(b *testing.B) {
	tmpl := &v1alpha1.CertificateTemplate{
		Name:            "web",
		Subject:         v1alpha1.Subject{Organization: []string{"{{ .Vars.Org }}"}},
		DNS:             []string{"{{ .Request.Name }}.{{ .Request.Namespace }}.svc"},
		AllowedDNSNames: []string{"*.{{ .Request.Namespace }}.example.com", "*.{{ .Request.Namespace }}.svc"},
		TTL:             720,
	}
	leafKey := testKey(b, "ecdsa256-benchleaf")
	csr := newCSR(b, leafKey, x509.CertificateRequest{Subject: pkix.Name{CommonName: "api.team-a.example.com"}, DNSNames: []string{"api.team-a.example.com"}})
	data := RenderData{Vars: map[string]string{"Org": "Example"}, Issuer: IssuerData{Name: "ca", Namespace: "team-a"}}
	req := Request{CSR: csr, Duration: 90 * 24 * time.Hour, Name: "api", Namespace: "team-a"}
	eachBenchCA(b, func(b *testing.B, ca *CA, _ crypto.Signer) {
		if _, err := Issue(ca, Policy{Template: tmpl}, req, data, testNow, rand.Reader); err != nil {
			b.Fatal(err)
		}
	})
}

func rawLeafTemplate() *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "api.team-a.example.com"},
		DNSNames:     []string{"api.team-a.example.com"},
		NotBefore:    testNow,
		NotAfter:     testNow.Add(720 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
}

// BenchmarkRawCreateCertificate is the floor: x509.CreateCertificate alone
// with the same keys, for the ratio to BenchmarkIssue.
func BenchmarkRawCreateCertificate(b *testing.B) {
	leafKey := testKey(b, "ecdsa256-benchleaf")
	tmpl := rawLeafTemplate()
	eachBenchCA(b, func(b *testing.B, ca *CA, key crypto.Signer) {
		if _, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, leafKey.Public(), key); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkRawVerifiedCreateCertificate is the floor for any issuer that
// checks proof of possession, as cert-manager's CA issuer does: decode and
// parse the CSR, verify its signature, then x509.CreateCertificate.
func BenchmarkRawVerifiedCreateCertificate(b *testing.B) {
	leafKey := testKey(b, "ecdsa256-benchleaf")
	csrPEM := newCSR(b, leafKey, x509.CertificateRequest{Subject: pkix.Name{CommonName: "api.team-a.example.com"}, DNSNames: []string{"api.team-a.example.com"}})
	tmpl := rawLeafTemplate()
	eachBenchCA(b, func(b *testing.B, ca *CA, key crypto.Signer) {
		block, _ := pem.Decode(csrPEM)
		csr, err := x509.ParseCertificateRequest(block.Bytes)
		if err != nil {
			b.Fatal(err)
		}
		if err := csr.CheckSignature(); err != nil {
			b.Fatal(err)
		}
		if _, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, csr.PublicKey, key); err != nil {
			b.Fatal(err)
		}
	})
}
