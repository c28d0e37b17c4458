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
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestLoadCAShapes(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	inter2Key := testKey(t, "ecdsa256-inter2")
	inter2 := makeCert(t, certSpec{cn: "Test Intermediate 2", key: inter2Key}, p.inter, p.interKey)
	rootKeyPEM := pemPKCS8(t, p.rootKey)
	interKeyPEM := pemPKCS8(t, p.interKey)

	tests := []struct {
		name      string
		tlsCrt    []byte
		tlsKey    []byte
		caCrt     []byte
		wantCert  *x509.Certificate
		wantInter []*x509.Certificate
		wantRoot  *x509.Certificate
		wantChain []*x509.Certificate
	}{
		{
			name:   "a self-signed root alone is its own root and sends no chain",
			tlsCrt: pemCerts(p.root), tlsKey: rootKeyPEM,
			wantCert: p.root, wantRoot: p.root,
		},
		{
			name:   "a self-signed root also in ca.crt is its own root",
			tlsCrt: pemCerts(p.root), tlsKey: rootKeyPEM, caCrt: pemCerts(p.root),
			wantCert: p.root, wantRoot: p.root,
		},
		{
			name:   "an intermediate followed by its root in tls.crt keeps the root out of the chain",
			tlsCrt: pemCerts(p.inter, p.root), tlsKey: interKeyPEM,
			wantCert: p.inter, wantRoot: p.root, wantChain: []*x509.Certificate{p.inter},
		},
		{
			name:   "an intermediate in tls.crt with the root in ca.crt",
			tlsCrt: pemCerts(p.inter), tlsKey: interKeyPEM, caCrt: pemCerts(p.root),
			wantCert: p.inter, wantRoot: p.root, wantChain: []*x509.Certificate{p.inter},
		},
		{
			name:   "the root in both tls.crt and ca.crt is sent only in ca.crt",
			tlsCrt: pemCerts(p.inter, p.root), tlsKey: interKeyPEM, caCrt: pemCerts(p.root),
			wantCert: p.inter, wantRoot: p.root, wantChain: []*x509.Certificate{p.inter},
		},
		{
			name:   "two intermediates and the root in tls.crt",
			tlsCrt: pemCerts(inter2, p.inter, p.root), tlsKey: pemPKCS8(t, inter2Key),
			wantCert: inter2, wantInter: []*x509.Certificate{p.inter}, wantRoot: p.root,
			wantChain: []*x509.Certificate{inter2, p.inter},
		},
		{
			name:   "two intermediates in tls.crt with the root in ca.crt",
			tlsCrt: pemCerts(inter2, p.inter), tlsKey: pemPKCS8(t, inter2Key), caCrt: pemCerts(p.root),
			wantCert: inter2, wantInter: []*x509.Certificate{p.inter}, wantRoot: p.root,
			wantChain: []*x509.Certificate{inter2, p.inter},
		},
		{
			name:   "an intermediate without any root has no root",
			tlsCrt: pemCerts(p.inter), tlsKey: interKeyPEM,
			wantCert: p.inter, wantChain: []*x509.Certificate{p.inter},
		},
		{
			name:   "text around the PEM blocks of tls.crt is ignored",
			tlsCrt: append(append([]byte("subject=CN=Test Intermediate\n"), pemCerts(p.inter)...), []byte("issuer=CN=Test Root\n")...), tlsKey: interKeyPEM, caCrt: pemCerts(p.root),
			wantCert: p.inter, wantRoot: p.root, wantChain: []*x509.Certificate{p.inter},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ca, err := LoadCA(tc.tlsCrt, tc.tlsKey, tc.caCrt, testNow)
			wantErr(t, err, "")
			if !ca.Cert.Equal(tc.wantCert) {
				t.Errorf("Cert = %q, want %q", certName(ca.Cert), certName(tc.wantCert))
			}
			if len(ca.Intermediates) != len(tc.wantInter) {
				t.Fatalf("%d intermediates, want %d", len(ca.Intermediates), len(tc.wantInter))
			}
			for i := range tc.wantInter {
				if !ca.Intermediates[i].Equal(tc.wantInter[i]) {
					t.Errorf("intermediate %d = %q", i, certName(ca.Intermediates[i]))
				}
			}
			if tc.wantRoot == nil {
				if ca.Root != nil || len(ca.RootPEM) != 0 {
					t.Errorf("Root = %v, want none", ca.Root)
				}
			} else {
				if ca.Root == nil || !ca.Root.Equal(tc.wantRoot) {
					t.Errorf("Root = %v, want %q", ca.Root, certName(tc.wantRoot))
				}
				if !bytes.Equal(ca.RootPEM, pemCerts(tc.wantRoot)) {
					t.Errorf("RootPEM is not the root")
				}
			}
			if !bytes.Equal(ca.ChainPEM, pemCerts(tc.wantChain...)) {
				t.Errorf("ChainPEM holds %d bytes, want the %d certificates %v", len(ca.ChainPEM), len(tc.wantChain), tc.wantChain)
			}
			if bytes.Contains(ca.ChainPEM, pemCerts(p.root)) {
				t.Errorf("ChainPEM contains the self-signed root")
			}
			if ca.Signer == nil {
				t.Errorf("no Signer")
			}
		})
	}
}

func TestLoadCAKeyFormats(t *testing.T) {
	t.Parallel()
	rsaKey := testKey(t, "rsa2048-ca").(*rsa.PrivateKey)
	ecKey := testKey(t, "ecdsa384-ca").(*ecdsa.PrivateKey)
	edKey := testKey(t, "ed25519-ca")
	rsaCert := makeCert(t, certSpec{cn: "RSA CA", key: rsaKey}, nil, nil)
	ecCert := makeCert(t, certSpec{cn: "EC CA", key: ecKey}, nil, nil)
	edCert := makeCert(t, certSpec{cn: "Ed25519 CA", key: edKey}, nil, nil)
	ecParams := []byte("-----BEGIN EC PARAMETERS-----\nBgUrgQQAIg==\n-----END EC PARAMETERS-----\n")

	tests := []struct {
		name string
		cert *x509.Certificate
		key  []byte
	}{
		{"an RSA key in PKCS#1 loads", rsaCert, pemPKCS1(rsaKey)},
		{"an RSA key in PKCS#8 loads", rsaCert, pemPKCS8(t, rsaKey)},
		{"an ECDSA key in SEC1 loads", ecCert, pemSEC1(t, ecKey)},
		{"an ECDSA key in SEC1 after an EC PARAMETERS block loads", ecCert, append(ecParams, pemSEC1(t, ecKey)...)},
		{"an ECDSA key in PKCS#8 loads", ecCert, pemPKCS8(t, ecKey)},
		{"an Ed25519 key in PKCS#8 loads", edCert, pemPKCS8(t, edKey)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ca, err := LoadCA(pemCerts(tc.cert), tc.key, nil, testNow)
			wantErr(t, err, "")
			if !ca.Cert.Equal(tc.cert) || !ca.Root.Equal(tc.cert) {
				t.Errorf("wrong Cert or Root")
			}
		})
	}
}

func TestLoadCARejections(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	rootKeyPEM := pemPKCS8(t, p.rootKey)
	interKeyPEM := pemPKCS8(t, p.interKey)
	otherKey := testKey(t, "ecdsa256-other")
	otherRoot := makeCert(t, certSpec{cn: "Other Root", key: otherKey}, nil, nil)
	leafKey := testKey(t, "ecdsa256-leafcert")
	leaf := makeCert(t, certSpec{cn: "Not A CA", key: leafKey, notCA: true, keyUsage: x509.KeyUsageDigitalSignature}, p.root, p.rootKey)
	noBC := makeCert(t, certSpec{cn: "No Constraints", key: leafKey, noBC: true, keyUsage: x509.KeyUsageCertSign}, nil, nil)
	noCertSign := makeCert(t, certSpec{cn: "No CertSign", key: leafKey, keyUsage: x509.KeyUsageDigitalSignature}, nil, nil)
	expired := makeCert(t, certSpec{cn: "Old CA", key: leafKey, notBefore: testNow.Add(-48 * time.Hour), notAfter: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}, nil, nil)
	future := makeCert(t, certSpec{cn: "Future CA", key: leafKey, notBefore: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)}, nil, nil)
	expiredInter := makeCert(t, certSpec{cn: "Old Intermediate", key: leafKey, notBefore: testNow.Add(-48 * time.Hour), notAfter: testNow.Add(-time.Hour)}, p.root, p.rootKey)
	interUnderExpiredRoot := makeCert(t, certSpec{cn: "Orphan Intermediate", key: p.interKey}, expired, leafKey)
	weakRSA := testKey(t, "rsa1024-ca")
	weakCA := makeCert(t, certSpec{cn: "Weak CA", key: weakRSA}, nil, nil)
	garbageCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")})
	encrypted := []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")
	big := func(n int) []byte { return bytes.Repeat([]byte("A"), n) }

	tests := []struct {
		name                  string
		tlsCrt, tlsKey, caCrt []byte
		kind                  string
		want                  []string
	}{
		{"an oversized tls.crt is rejected before parsing", big(MaxCertChainPEMSize + 1), rootKeyPEM, nil, "CAError/TooLarge", []string{"tls.crt is 95001 bytes, more than the 95000 allowed"}},
		{"an oversized tls.key is rejected before parsing", pemCerts(p.root), big(MaxPrivateKeyPEMSize + 1), nil, "CAError/TooLarge", []string{"tls.key is 13001 bytes"}},
		{"an oversized ca.crt is rejected before parsing", pemCerts(p.root), rootKeyPEM, big(MaxCertChainPEMSize + 1), "CAError/TooLarge", []string{"ca.crt is 95001 bytes"}},
		{"an oversized certificate is rejected before it is parsed", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: make([]byte, MaxCACertificateDERSize+1)}), rootKeyPEM, nil, "CAError/TooLarge", []string{"certificate 1 in tls.crt is 4801 bytes, more than the 4800 allowed"}},
		{"more certificates than a chain needs are rejected", bytes.Repeat(pemCerts(p.root), MaxCACertificates+1), rootKeyPEM, nil, "CAError/TooLarge", []string{"tls.crt holds more than 10 certificates"}},
		{"an oversized certificate in ca.crt is rejected", pemCerts(p.inter), interKeyPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: make([]byte, MaxCACertificateDERSize+1)}), "CAError/TooLarge", []string{"in ca.crt is 4801 bytes"}},
		{"a missing tls.crt is reported", nil, rootKeyPEM, nil, "CAError/MissingKey", []string{"tls.crt is missing or empty"}},
		{"a missing tls.key is reported", pemCerts(p.root), []byte("\n"), nil, "CAError/MissingKey", []string{"tls.key is missing or empty"}},
		{"garbage in tls.crt is rejected", []byte("hello"), rootKeyPEM, nil, "CAError/InvalidCertificate", []string{"tls.crt holds no PEM CERTIFICATE block"}},
		{"a key in tls.crt is rejected", append(pemCerts(p.root), rootKeyPEM...), rootKeyPEM, nil, "CAError/InvalidCertificate", []string{`tls.crt holds a "PRIVATE KEY" PEM block (block 2); it must hold only CERTIFICATE blocks`}},
		{"a CERTIFICATE block that does not parse is rejected", garbageCert, rootKeyPEM, nil, "CAError/InvalidCertificate", []string{"certificate 1 in tls.crt does not parse"}},
		{"garbage in tls.key is rejected", pemCerts(p.root), []byte("hello"), nil, "CAError/InvalidKey", []string{"tls.key holds no PEM private key"}},
		{"a certificate in tls.key is rejected", pemCerts(p.root), pemCerts(p.root), nil, "CAError/InvalidKey", []string{`tls.key holds a "CERTIFICATE" PEM block`}},
		{"an encrypted tls.key is rejected", pemCerts(p.root), encrypted, nil, "CAError/InvalidKey", []string{"tls.key is encrypted"}},
		{"a key that does not parse is rejected", pemCerts(p.root), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2}}), nil, "CAError/InvalidKey", []string{"tls.key PRIVATE KEY does not parse"}},
		{"a 1024-bit RSA CA key is rejected", pemCerts(weakCA), pemPKCS8(t, weakRSA), nil, "CAError/InvalidKey", []string{"1024-bit RSA key"}},
		{"a key of another certificate is rejected", pemCerts(p.root), interKeyPEM, nil, "CAError/KeyMismatch", []string{"tls.key does not match the certificate in tls.crt", `"Test Root"`}},
		{"a leaf certificate is not a CA", pemCerts(leaf), pemPKCS8(t, leafKey), nil, "CAError/NotACA", []string{`certificate "Not A CA" in tls.crt is not a CA`}},
		{"a certificate without basic constraints is not a CA", pemCerts(noBC), pemPKCS8(t, leafKey), nil, "CAError/NotACA", []string{"is not a CA"}},
		{"a CA without keyCertSign cannot sign", pemCerts(noCertSign), pemPKCS8(t, leafKey), nil, "CAError/NotACA", []string{`CA certificate "No CertSign" lacks the keyCertSign key usage`}},
		{"an expired CA is reported with its expiry", pemCerts(expired), pemPKCS8(t, leafKey), nil, "CAError/Expired", []string{`CA certificate "Old CA" expired at 2026-05-01T00:00:00Z; rotate the CA Secret`}},
		{"a CA not yet valid is reported", pemCerts(future), pemPKCS8(t, leafKey), nil, "CAError/NotYetValid", []string{`CA certificate "Future CA" is not valid before 2026-07-01T00:00:00Z`}},
		{"an intermediate followed by an unrelated root is a broken chain", pemCerts(p.inter, otherRoot), interKeyPEM, nil, "CAError/InvalidCertificate", []string{`certificate 1 in tls.crt ("Test Intermediate") is not signed by certificate 2 ("Other Root")`}},
		{"a root followed by more certificates is rejected", pemCerts(p.root, p.inter), rootKeyPEM, nil, "CAError/InvalidCertificate", []string{`tls.crt holds 1 certificates after the self-signed CA certificate "Test Root"`}},
		{"an unrelated ca.crt is rejected", pemCerts(p.inter), interKeyPEM, pemCerts(otherRoot), "CAError/InvalidCertificate", []string{`CA certificate "Test Intermediate" does not verify up to ca.crt`}},
		{"a root in tls.crt that differs from ca.crt is rejected", pemCerts(p.inter, p.root), interKeyPEM, pemCerts(otherRoot), "CAError/InvalidCertificate", []string{"does not verify up to ca.crt"}},
		{"an intermediate in ca.crt is rejected", pemCerts(p.inter), interKeyPEM, pemCerts(p.inter), "CAError/InvalidCertificate", []string{`ca.crt holds "Test Intermediate", which is not a self-signed root`}},
		{"garbage in ca.crt is rejected", pemCerts(p.inter), interKeyPEM, []byte("junk"), "CAError/InvalidCertificate", []string{"ca.crt holds no PEM CERTIFICATE block"}},
		{"an expired intermediate in tls.crt is rejected", pemCerts(p.inter, expiredInter, p.root), interKeyPEM, nil, "CAError/InvalidCertificate", []string{`is not signed by certificate 2 ("Old Intermediate")`}},
		{"an expired root in ca.crt is reported", pemCerts(interUnderExpiredRoot), interKeyPEM, pemCerts(expired), "CAError/Expired", []string{`root certificate in ca.crt "Old CA" expired at`}},
		{"an expired root in tls.crt is reported", pemCerts(interUnderExpiredRoot, expired), interKeyPEM, nil, "CAError/Expired", []string{`root certificate "Old CA" expired at`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ca, err := LoadCA(tc.tlsCrt, tc.tlsKey, tc.caCrt, testNow)
			wantErr(t, err, tc.kind, tc.want...)
			if ca != nil {
				t.Errorf("a CA was returned with the error")
			}
		})
	}
}

func TestLoadCAExpiredIntermediate(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	key := testKey(t, "ecdsa256-oldinter")
	old := makeCert(t, certSpec{cn: "Old Intermediate", key: key, notBefore: testNow.Add(-48 * time.Hour), notAfter: testNow.Add(-time.Hour)}, p.root, p.rootKey)
	sub := makeCert(t, certSpec{cn: "Sub CA", key: testKey(t, "ecdsa256-sub")}, old, key)
	_, err := LoadCA(pemCerts(sub, old, p.root), pemPKCS8(t, testKey(t, "ecdsa256-sub")), nil, testNow)
	wantErr(t, err, "CAError/Expired", `intermediate certificate "Old Intermediate" expired at`)
}

func TestCAErrorCarriesTheCertificate(t *testing.T) {
	t.Parallel()
	key := testKey(t, "ecdsa256-leafcert")
	expired := makeCert(t, certSpec{cn: "Old CA", key: key, notBefore: testNow.Add(-48 * time.Hour), notAfter: testNow.Add(-time.Hour)}, nil, nil)
	_, err := LoadCA(pemCerts(expired), pemPKCS8(t, key), nil, testNow)
	var ce *CAError
	if !errors.As(err, &ce) || ce.Cert == nil || !ce.Cert.Equal(expired) {
		t.Fatalf("CAError does not carry the expired certificate: %v", err)
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	c := &x509.Certificate{Raw: []byte("abc")}
	want := "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
	if got := Fingerprint(c); got != want {
		t.Errorf("Fingerprint = %s, want %s", got, want)
	}
	if strings.ToUpper(Fingerprint(c)) != Fingerprint(c) {
		t.Errorf("not upper case")
	}
}

func TestShortFingerprint(t *testing.T) {
	t.Parallel()
	fp := Fingerprint(&x509.Certificate{Raw: []byte("abc")})
	if got := ShortFingerprint(fp); got != "ba7816bf8f01cfea" {
		t.Errorf("ShortFingerprint(%s) = %s, want ba7816bf8f01cfea", fp, got)
	}
	if got := ShortFingerprint("AB:CD"); got != "abcd" {
		t.Errorf("ShortFingerprint of a short fingerprint = %s, want abcd", got)
	}
}

func TestFirstCertificate(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	chain := pemCerts(p.inter, p.root)
	keyFirst := append(pemPKCS8(t, p.interKey), chain...)
	cases := []struct {
		name string
		data []byte
		want *x509.Certificate
	}{
		{"the first certificate of a chain is read", chain, p.inter},
		{"blocks of other types before it are skipped", keyFirst, p.inter},
		{"no PEM is no certificate", []byte("not PEM"), nil},
		{"a certificate block that does not parse is no certificate", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), nil},
		{"a chain over the size limit is not read", append(bytes.Clone(chain), bytes.Repeat([]byte("\n"), MaxCertChainPEMSize)...), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := FirstCertificate(tc.data)
			if (got == nil) != (tc.want == nil) || (got != nil && !got.Equal(tc.want)) {
				t.Errorf("FirstCertificate = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFormatSerialIsOpensslsForm(t *testing.T) {
	t.Parallel()
	c := &x509.Certificate{SerialNumber: big.NewInt(0xabc123)}
	if got := FormatSerial(c); got != "ABC123" {
		t.Errorf("FormatSerial = %s, want ABC123", got)
	}
}
