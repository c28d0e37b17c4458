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

package servingcert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"
)

// The decisions of the authority, as plain functions over certificates
// and time: which CAs to keep, whether a new one is due, which one signs
// the serving certificate and when that certificate is renewed.
//
// A CA is trusted (in the webhook configuration's caBundle) for its whole
// life. A new one is made when the newest has less than a third of its
// life left; it signs serving certificates only once it has been seen in
// the caBundle for PropagationDelay, so that every API server trusts it
// before any of them meets a certificate it signed.

// CA is one CA of the webhook: its certificate and key.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// fingerprint is the SHA-256 of the CA certificate, hex.
func (c CA) fingerprint() string {
	sum := sha256.Sum256(c.Cert.Raw)
	return hex.EncodeToString(sum[:])
}

// liveCAs are the CAs not yet expired at now, oldest first (by NotBefore).
func liveCAs(cas []CA, now time.Time) []CA {
	out := slices.DeleteFunc(slices.Clone(cas), func(c CA) bool { return !now.Before(c.Cert.NotAfter) })
	slices.SortStableFunc(out, func(a, b CA) int { return a.Cert.NotBefore.Compare(b.Cert.NotBefore) })
	return out
}

// dueForRenewal reports whether a certificate has less than a third of
// its life left at now; its life counts from when it was made (NotBefore
// is backdated).
func dueForRenewal(c *x509.Certificate, now time.Time) bool {
	life := c.NotAfter.Sub(c.NotBefore.Add(backdate))
	return !now.Before(c.NotAfter.Add(-life / 3))
}

// needNewCA reports whether a new CA is due: none is live, or the newest
// has less than a third of its life left.
func needNewCA(live []CA, now time.Time) bool {
	return len(live) == 0 || dueForRenewal(live[len(live)-1].Cert, now)
}

// signingCA picks the CA that signs the serving certificate: the newest
// live CA seen in the caBundle at least delay ago; failing that the
// oldest one seen at all (a fresh start: every API server trusts it);
// failing that the newest (nothing injected yet: the first install).
// seen maps a CA's fingerprint to when it was first seen in the caBundle.
func signingCA(live []CA, seen map[string]time.Time, delay time.Duration, now time.Time) (CA, bool) {
	if len(live) == 0 {
		return CA{}, false
	}
	for _, l := range slices.Backward(live) {
		if at, ok := seen[l.fingerprint()]; ok && !now.Before(at.Add(delay)) {
			return l, true
		}
	}
	for _, c := range live {
		if _, ok := seen[c.fingerprint()]; ok {
			return c, true
		}
	}
	return live[len(live)-1], true
}

// leafDue reports whether the serving certificate must be (re)issued: it
// is missing, signed by another CA, for other names, or has less than a
// third of its life left.
func leafDue(leaf *x509.Certificate, ca CA, dnsNames []string, now time.Time) bool {
	if leaf == nil || !slices.Equal(leaf.DNSNames, dnsNames) {
		return true
	}
	if leaf.CheckSignatureFrom(ca.Cert) != nil {
		return true
	}
	return dueForRenewal(leaf, now)
}

// backdate is how far NotBefore is set in the past, for clocks that
// disagree.
const backdate = time.Minute

// newCA makes a self-signed CA valid for validity from now.
func newCA(now time.Time, validity time.Duration) (CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return CA{}, err
	}
	serial, err := randomSerial()
	if err != nil {
		return CA{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "nstance-issuer webhook CA " + now.UTC().Format("2006-01-02T15:04:05Z")},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(validity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return CA{}, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return CA{}, err
	}
	return CA{Cert: cert, Key: key}, nil
}

// newLeaf makes a serving certificate for dnsNames signed by ca, valid for
// validity from now, never past the CA.
func newLeaf(ca CA, dnsNames []string, now time.Time, validity time.Duration) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	notAfter := now.Add(validity)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: dnsNames[0]},
		DNSNames:     dnsNames,
		NotBefore:    now.Add(-backdate),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func randomSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
}

// maxCAs bounds how many CAs the Secret may hold: at most two are ever
// live (the issuing one and the next); the rest is someone else's data.
const maxCAs = 4

// Secret keys of the CA Secret: every CA certificate and, in the same
// order, its key.
const (
	secretKeyCerts = "ca.crt"
	secretKeyKeys  = "ca.key"
)

// encodeCAs is the Secret data for cas.
func encodeCAs(cas []CA) (map[string][]byte, error) {
	var certs, keys []byte
	for _, c := range cas {
		der, err := x509.MarshalPKCS8PrivateKey(c.Key)
		if err != nil {
			return nil, err
		}
		certs = append(certs, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})...)
		keys = append(keys, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})...)
	}
	return map[string][]byte{secretKeyCerts: certs, secretKeyKeys: keys}, nil
}

// decodeCAs reads the CAs of the Secret data; anything it cannot read
// (another format, a key that does not match, more than maxCAs) is an
// error, and the caller starts over with a new CA.
func decodeCAs(data map[string][]byte) ([]CA, error) {
	certs, err := pemBlocks(data[secretKeyCerts], "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	keys, err := pemBlocks(data[secretKeyKeys], "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	if len(certs) != len(keys) {
		return nil, fmt.Errorf("%d certificates and %d keys", len(certs), len(keys))
	}
	out := make([]CA, 0, len(certs))
	for i := range certs {
		cert, err := x509.ParseCertificate(certs[i])
		if err != nil {
			return nil, err
		}
		k, err := x509.ParsePKCS8PrivateKey(keys[i])
		if err != nil {
			return nil, err
		}
		key, ok := k.(crypto.Signer)
		if !ok || !publicKeysEqual(key.Public(), cert.PublicKey) {
			return nil, fmt.Errorf("key %d does not match certificate %d", i, i)
		}
		if !cert.IsCA {
			return nil, fmt.Errorf("certificate %d is not a CA", i)
		}
		out = append(out, CA{Cert: cert, Key: key})
	}
	return out, nil
}

func pemBlocks(data []byte, typ string) ([][]byte, error) {
	var out [][]byte
	for len(data) > 0 {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != typ {
			return nil, fmt.Errorf("a PEM block of type %s where %s was expected", b.Type, typ)
		}
		if len(out) == maxCAs {
			return nil, errors.New("more than " + fmt.Sprint(maxCAs) + " CAs")
		}
		out = append(out, b.Bytes)
	}
	return out, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// bundle is the caBundle for cas: their certificates, PEM.
func bundle(cas []CA) []byte {
	var out []byte
	for _, c := range cas {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})...)
	}
	return out
}
