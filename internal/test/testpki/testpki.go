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

// Package testpki makes the CAs, keys and CSRs that tests need, and checks
// issued chains. It is for tests only: keys are generated without any of
// the care a real CA needs.
package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// CA is a certificate authority made by a test.
type CA struct {
	Cert    *x509.Certificate
	Key     crypto.Signer
	CertPEM []byte
	KeyPEM  []byte
}

// NewRootCA returns a self-signed ECDSA P-256 root valid from notBefore to notAfter.
func NewRootCA(cn string, notBefore, notAfter time.Time) (*CA, error) {
	return newCA(cn, notBefore, notAfter, nil)
}

// NewValidRootCA returns a root valid from an hour ago for a year.
func NewValidRootCA(cn string) (*CA, error) {
	return NewRootCA(cn, time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour))
}

// NewValidRootCAs returns one valid root (NewValidRootCA) for each common
// name, in order: the several unrelated CAs a test compares.
func NewValidRootCAs(cns ...string) ([]*CA, error) {
	cas := make([]*CA, len(cns))
	for i, cn := range cns {
		ca, err := NewValidRootCA(cn)
		if err != nil {
			return nil, err
		}
		cas[i] = ca
	}
	return cas, nil
}

// NewIntermediateCA returns a CA signed by parent, with a SEC1 key as
// `openssl ecparam -genkey` writes it.
func NewIntermediateCA(parent *CA, cn string) (*CA, error) {
	return newCA(cn, time.Now().Add(-time.Hour), parent.Cert.NotAfter.Add(-time.Hour), parent)
}

func newCA(cn string, notBefore, notAfter time.Time, parent *CA) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"nstance-issuer tests"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          []byte(cn),
	}
	signerCert, signerKey := tmpl, crypto.Signer(key)
	if parent != nil {
		signerCert, signerKey = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, key.Public(), signerKey)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyBlock := &pem.Block{Type: "EC PRIVATE KEY"}
	if parent == nil {
		keyBlock.Type = "PRIVATE KEY"
		keyBlock.Bytes, err = x509.MarshalPKCS8PrivateKey(key)
	} else {
		keyBlock.Bytes, err = x509.MarshalECPrivateKey(key)
	}
	if err != nil {
		return nil, err
	}
	return &CA{
		Cert: cert, Key: key,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(keyBlock),
	}, nil
}

// SecretData is the CA as a CA Secret's data: tls.crt, tls.key and ca.crt.
func (ca *CA) SecretData() map[string][]byte {
	return map[string][]byte{"tls.crt": ca.CertPEM, "tls.key": ca.KeyPEM, "ca.crt": ca.CertPEM}
}

// CSR returns a PEM CSR for a fresh ECDSA P-256 key.
func CSR(cn string, dnsNames ...string) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cn}, DNSNames: dnsNames,
	}, key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// ParseChain decodes every certificate of a PEM bundle.
func ParseChain(chain []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, chain = pem.Decode(chain)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no certificate in the PEM data")
	}
	return certs, nil
}

// VerifyChain checks that the first certificate of chain chains to one of
// the roots in rootsPEM, with the rest of chain as intermediates, for usage,
// and returns it.
func VerifyChain(chain, rootsPEM []byte, usage x509.ExtKeyUsage) (*x509.Certificate, error) {
	certs, err := ParseChain(chain)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootsPEM) {
		return nil, errors.New("no root certificate in ca.crt")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		return nil, fmt.Errorf("certificate %q does not chain to ca.crt: %w", certs[0].Subject, err)
	}
	return certs[0], nil
}
