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
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

func TestGenerateCA(t *testing.T) {
	t.Parallel()
	data := RenderData{Vars: map[string]string{"ClusterSlug": "prod-eu1"}, Issuer: IssuerData{Name: "cluster-ca", Kind: "NstanceClusterIssuer"}}
	tests := []struct {
		name     string
		tmpl     v1alpha1.CATemplate
		wantCN   string
		wantAlg  string
		wantBits int
		wantTTL  time.Duration
	}{
		{name: "an empty template makes an ECDSA P-256 CA for ten years", wantCN: "nstance-issuer CA", wantAlg: "ECDSA", wantBits: 256, wantTTL: 87600 * time.Hour},
		{name: "the subject is rendered", tmpl: v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "Cluster CA - {{ .Vars.ClusterSlug }}", Organization: []string{"Example Infra"}, Country: []string{"US"}}, TTL: 24},
			wantCN: "Cluster CA - prod-eu1", wantAlg: "ECDSA", wantBits: 256, wantTTL: 24 * time.Hour},
		{name: "a CN that renders empty gets the default", tmpl: v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: `{{ index .Vars "Unset" }}`}}, wantCN: "nstance-issuer CA", wantAlg: "ECDSA", wantBits: 256, wantTTL: 87600 * time.Hour},
		{name: "ECDSA P-384 is generated", tmpl: v1alpha1.CATemplate{PrivateKey: v1alpha1.PrivateKeySpec{Algorithm: v1alpha1.ECDSAKeyAlgorithm, Size: 384}}, wantCN: "nstance-issuer CA", wantAlg: "ECDSA", wantBits: 384, wantTTL: 87600 * time.Hour},
		{name: "ECDSA P-521 is generated", tmpl: v1alpha1.CATemplate{PrivateKey: v1alpha1.PrivateKeySpec{Size: 521}}, wantCN: "nstance-issuer CA", wantAlg: "ECDSA", wantBits: 521, wantTTL: 87600 * time.Hour},
		{name: "RSA defaults to 2048 bits", tmpl: v1alpha1.CATemplate{PrivateKey: v1alpha1.PrivateKeySpec{Algorithm: v1alpha1.RSAKeyAlgorithm}}, wantCN: "nstance-issuer CA", wantAlg: "RSA", wantBits: 2048, wantTTL: 87600 * time.Hour},
		{name: "RSA 3072 is generated", tmpl: v1alpha1.CATemplate{PrivateKey: v1alpha1.PrivateKeySpec{Algorithm: v1alpha1.RSAKeyAlgorithm, Size: 3072}}, wantCN: "nstance-issuer CA", wantAlg: "RSA", wantBits: 3072, wantTTL: 87600 * time.Hour},
		{name: "Ed25519 is generated", tmpl: v1alpha1.CATemplate{PrivateKey: v1alpha1.PrivateKeySpec{Algorithm: v1alpha1.Ed25519KeyAlgorithm}}, wantCN: "nstance-issuer CA", wantAlg: "Ed25519", wantTTL: 87600 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			certPEM, keyPEM, err := GenerateCA(tc.tmpl, data, testNow, rand.Reader)
			wantErr(t, err, "")
			if b, _ := pem.Decode(keyPEM); b == nil || b.Type != "PRIVATE KEY" {
				t.Fatalf("key is not PKCS#8 PEM")
			}
			ca, err := LoadCA(certPEM, keyPEM, nil, testNow)
			wantErr(t, err, "")
			c := ca.Cert
			if c.Subject.CommonName != tc.wantCN {
				t.Errorf("CN = %q, want %q", c.Subject.CommonName, tc.wantCN)
			}
			if !c.IsCA || !c.BasicConstraintsValid || c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign|x509.KeyUsageDigitalSignature {
				t.Errorf("IsCA=%v BC=%v KeyUsage=%s", c.IsCA, c.BasicConstraintsValid, keyUsageNames(c.KeyUsage))
			}
			if !c.NotBefore.Equal(testNow.Add(-30*time.Second)) || !c.NotAfter.Equal(testNow.Add(tc.wantTTL)) {
				t.Errorf("validity %s - %s", c.NotBefore, c.NotAfter)
			}
			wantSKI, _ := subjectKeyIDOf(c.PublicKey)
			if !bytes.Equal(c.SubjectKeyId, wantSKI) {
				t.Errorf("SubjectKeyId = %x, want %x", c.SubjectKeyId, wantSKI)
			}
			if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() < 64 {
				t.Errorf("serial %x", c.SerialNumber)
			}
			switch k := c.PublicKey.(type) {
			case *ecdsa.PublicKey:
				if tc.wantAlg != "ECDSA" || k.Curve.Params().BitSize != tc.wantBits {
					t.Errorf("got ECDSA %d", k.Curve.Params().BitSize)
				}
			case *rsa.PublicKey:
				if tc.wantAlg != "RSA" || k.N.BitLen() != tc.wantBits {
					t.Errorf("got RSA %d", k.N.BitLen())
				}
			case ed25519.PublicKey:
				if tc.wantAlg != "Ed25519" {
					t.Errorf("got Ed25519")
				}
			}
			// The generated CA signs.
			leafKey := testKey(t, "ecdsa256-leaf")
			out, err := Issue(ca, Policy{PassThrough: true}, Request{CSR: csrFor(t, "x"), Duration: time.Hour}, RenderData{}, testNow, rand.Reader)
			wantErr(t, err, "")
			verifyIssued(t, ca, leafKey, out)
		})
	}
}

func TestGenerateCARejections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		tmpl v1alpha1.CATemplate
		msg  string
	}{
		{"a subject that does not render is a template error", v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "{{ .Vars.Missing }}"}}, `template "ca.generate" field cn: `},
		{"a list entry that does not render names its index", v1alpha1.CATemplate{Subject: v1alpha1.Subject{Organization: []string{"ok", "{{ range . }}{{ end }}"}}}, `template "ca.generate" field organization[1]: range is not allowed`},
		{"an RSA size that is not offered is rejected", v1alpha1.CATemplate{PrivateKey: v1alpha1.PrivateKeySpec{Algorithm: v1alpha1.RSAKeyAlgorithm, Size: 1024}}, "RSA size 1024 is not supported; use 2048, 3072 or 4096"},
		{"an ECDSA size that is not offered is rejected", v1alpha1.CATemplate{PrivateKey: v1alpha1.PrivateKeySpec{Size: 224}}, "ECDSA size 224 is not supported"},
		{"an Ed25519 size is rejected", v1alpha1.CATemplate{PrivateKey: v1alpha1.PrivateKeySpec{Algorithm: v1alpha1.Ed25519KeyAlgorithm, Size: 256}}, "Ed25519 keys have no size"},
		{"an unknown algorithm is rejected", v1alpha1.CATemplate{PrivateKey: v1alpha1.PrivateKeySpec{Algorithm: "DSA"}}, `algorithm "DSA" is not supported`},
		{"a negative ttl is rejected", v1alpha1.CATemplate{TTL: -1}, "ttl -1 is negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := GenerateCA(tc.tmpl, RenderData{}, testNow, rand.Reader)
			wantErr(t, err, "TemplateError", tc.msg)
		})
	}
}
