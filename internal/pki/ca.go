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
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"time"
)

// LoadCA parses and validates a CA from its Secret data: certPEM is tls.crt
// (the CA certificate, optionally followed by its intermediates in order and
// possibly the root), keyPEM is tls.key (PKCS#1, PKCS#8 or SEC1) and rootPEM
// is ca.crt (the root, optional). Every failure is a *CAError naming the
// offending certificate and what to change. See CA for how Root and
// ChainPEM are chosen: a self-signed root is never part of ChainPEM.
//
// Checked, in order: sizes (before any parsing); tls.crt holds only
// CERTIFICATE blocks (text between blocks is ignored); tls.key parses and
// matches the CA certificate; the CA certificate is a CA with keyCertSign
// (when it has key usages) and valid at now; tls.crt is ordered, each
// certificate signed by the next, and nothing follows a self-signed CA
// certificate; every certificate of the chain is valid at now; the chain
// verifies (x509 Verify) up to ca.crt, which must be a self-signed root, or
// up to the root in tls.crt; no pathLenConstraint forbids the CA.
func LoadCA(certPEM, keyPEM, rootPEM []byte, now time.Time) (*CA, error) {
	if err := checkSizes(certPEM, keyPEM, rootPEM, true); err != nil {
		return nil, err
	}
	certs, cerr := parseCertsPEM("tls.crt", certPEM)
	if cerr != nil {
		return nil, cerr
	}
	cert := certs[0]
	signer, cerr := parsePrivateKey(keyPEM)
	if cerr != nil {
		cerr.Cert = cert
		return nil, cerr
	}
	if !samePublicKey(signer.Public(), cert.PublicKey) {
		return nil, &CAError{Cert: cert, Reason: ReasonKeyMismatch, Msg: fmt.Sprintf("tls.key does not match the certificate in tls.crt (%q, %s key); put the CA certificate's own private key in tls.key", certName(cert), algorithmOf(cert.PublicKey))}
	}
	return loadCA(certs, signer, rootPEM, now)
}

// LoadCAWithSigner parses and validates a CA whose private key is held
// elsewhere, in a KMS or an HSM, and signs through signer: certPEM and
// rootPEM are tls.crt and ca.crt as for LoadCA, keyName names the key in
// messages (its URI). The checks are LoadCA's, the key's on its public
// key: it must be the CA certificate's and an acceptable CA key. Callers
// check the key once per key version, when they obtain signer, and keep
// the CA: the public key is not read again per signature.
func LoadCAWithSigner(certPEM, rootPEM []byte, signer crypto.Signer, keyName string, now time.Time) (*CA, error) {
	if err := checkSizes(certPEM, nil, rootPEM, false); err != nil {
		return nil, err
	}
	certs, cerr := parseCertsPEM("tls.crt", certPEM)
	if cerr != nil {
		return nil, cerr
	}
	cert := certs[0]
	if signer == nil {
		return nil, &CAError{Cert: cert, Reason: ReasonMissingKey, Msg: fmt.Sprintf("no signer for the CA key %s", keyName)}
	}
	pub := signer.Public()
	if cerr := checkCAPublicKey(pub, "the CA key "+keyName); cerr != nil {
		cerr.Cert = cert
		return nil, cerr
	}
	if !samePublicKey(pub, cert.PublicKey) {
		return nil, &CAError{Cert: cert, Reason: ReasonKeyMismatch, Msg: fmt.Sprintf("the CA key %s (%s, public key SHA-256 %s) does not match the certificate in tls.crt (%q, %s key, public key SHA-256 %s); "+
			"point the key URI at the CA certificate's own key, or put the certificate of this key in tls.crt",
			keyName, algorithmOf(pub), PublicKeyFingerprint(pub), certName(cert), algorithmOf(cert.PublicKey), PublicKeyFingerprint(cert.PublicKey))}
	}
	return loadCA(certs, signer, rootPEM, now)
}

// LoadCACertificates validates a CA's certificates as LoadCA does, without
// its key, for a caller that never signs with it (the CA lifecycle reading
// the issuing CA whose key lives in a KMS: the signer checks that key).
// The CA's Signer is nil.
func LoadCACertificates(certPEM, rootPEM []byte, now time.Time) (*CA, error) {
	if err := checkSizes(certPEM, nil, rootPEM, false); err != nil {
		return nil, err
	}
	certs, cerr := parseCertsPEM("tls.crt", certPEM)
	if cerr != nil {
		return nil, cerr
	}
	return loadCA(certs, nil, rootPEM, now)
}

// loadCA checks the CA certificate certs[0] and its chain, once its key
// (signer, nil for LoadCACertificates) is known to match.
func loadCA(certs []*x509.Certificate, signer crypto.Signer, rootPEM []byte, now time.Time) (*CA, error) {
	cert := certs[0]
	withCert := func(e *CAError) *CAError { e.Cert = cert; return e }
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return nil, withCert(caErrorf(ReasonNotACA, "certificate %q in tls.crt is not a CA (its basicConstraints lack CA:TRUE); put a CA certificate first in tls.crt", certName(cert)))
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, withCert(caErrorf(ReasonNotACA, "CA certificate %q lacks the keyCertSign key usage; reissue it with keyCertSign", certName(cert)))
	}
	if cerr := checkValidity(cert, "CA certificate", now); cerr != nil {
		return nil, withCert(cerr)
	}

	ca, cerr := buildChain(certs, rootPEM, now)
	if cerr != nil {
		return nil, withCert(cerr)
	}
	ca.Signer = signer
	return ca, nil
}

// samePublicKey reports whether a and b are the same public key.
func samePublicKey(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// PublicKeyFingerprint is the SHA-256 of a public key's DER
// SubjectPublicKeyInfo, as upper-case hex bytes joined by ':' (what
// status shows of a CA key held in a KMS or an HSM); "" when the key
// cannot be encoded.
func PublicKeyFingerprint(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	return hexColons(sha256.Sum256(der))
}

// checkSizes checks the sizes of tls.crt, tls.key (when withKey) and
// ca.crt before anything is parsed, then that tls.crt (and tls.key) are
// not empty.
func checkSizes(certPEM, keyPEM, rootPEM []byte, withKey bool) *CAError {
	if len(certPEM) > MaxCertChainPEMSize {
		return caErrorf(ReasonTooLarge, "tls.crt is %d bytes, more than the %d allowed; keep only the CA certificate and its chain", len(certPEM), MaxCertChainPEMSize)
	}
	if len(keyPEM) > MaxPrivateKeyPEMSize {
		return caErrorf(ReasonTooLarge, "tls.key is %d bytes, more than the %d allowed; keep only the CA private key", len(keyPEM), MaxPrivateKeyPEMSize)
	}
	if len(rootPEM) > MaxCertChainPEMSize {
		return caErrorf(ReasonTooLarge, "ca.crt is %d bytes, more than the %d allowed; keep only the root certificate", len(rootPEM), MaxCertChainPEMSize)
	}
	if len(bytes.TrimSpace(certPEM)) == 0 {
		return caErrorf(ReasonMissingKey, "tls.crt is missing or empty in the CA Secret; add the CA certificate")
	}
	if withKey && len(bytes.TrimSpace(keyPEM)) == 0 {
		return caErrorf(ReasonMissingKey, "tls.key is missing or empty in the CA Secret; add the CA private key")
	}
	return nil
}

// buildChain checks the order and signatures of tls.crt, finds the root
// (ca.crt, else a self-signed last certificate of tls.crt, else the CA
// certificate itself when self-signed) and verifies the chain up to it.
func buildChain(certs []*x509.Certificate, rootPEM []byte, now time.Time) (*CA, *CAError) {
	cert := certs[0]
	selfSigned := IsSelfSigned(cert)
	var inter []*x509.Certificate
	var tlsRoot *x509.Certificate
	switch {
	case selfSigned && len(certs) > 1:
		return nil, caErrorf(ReasonInvalidCertificate, "tls.crt holds %d certificates after the self-signed CA certificate %q; a root CA needs no chain: remove them", len(certs)-1, certName(cert))
	case len(certs) > 1 && IsSelfSigned(certs[len(certs)-1]):
		tlsRoot = certs[len(certs)-1]
		inter = certs[1 : len(certs)-1]
	case len(certs) > 1:
		inter = certs[1:]
	}
	for i := 0; i+1 < len(certs); i++ {
		if err := certs[i].CheckSignatureFrom(certs[i+1]); err != nil {
			return nil, caErrorf(ReasonInvalidCertificate, "certificate %d in tls.crt (%q) is not signed by certificate %d (%q): %v; order tls.crt as the CA certificate, then its issuer, up to the root", i+1, certName(certs[i]), i+2, certName(certs[i+1]), err)
		}
	}
	for _, c := range inter {
		if cerr := checkValidity(c, "intermediate certificate", now); cerr != nil {
			return nil, cerr
		}
	}
	if tlsRoot != nil {
		if cerr := checkValidity(tlsRoot, "root certificate", now); cerr != nil {
			return nil, cerr
		}
	}

	ca := &CA{Cert: cert, Intermediates: inter, subjectOf: cert, subject: cert.Subject.String()}
	var anchors []*x509.Certificate
	pool := inter
	where := "its chain in tls.crt"
	switch {
	case len(bytes.TrimSpace(rootPEM)) > 0:
		roots, cerr := parseCertsPEM("ca.crt", rootPEM)
		if cerr != nil {
			return nil, cerr
		}
		if len(roots) == 1 {
			if cerr := checkValidity(roots[0], "root certificate in ca.crt", now); cerr != nil {
				return nil, cerr
			}
		}
		anchors, where = roots, "ca.crt"
	case tlsRoot != nil:
		anchors = []*x509.Certificate{tlsRoot}
	case selfSigned:
		anchors = []*x509.Certificate{cert}
	case len(inter) > 0:
		// No root: verify names, validity and constraints up to the
		// highest intermediate; Root stays nil.
		anchors, pool = inter[len(inter)-1:], inter[:len(inter)-1]
	}
	chain := certs
	if len(anchors) > 0 {
		var cerr *CAError
		if chain, cerr = verifyChain(cert, anchors, pool, where, now); cerr != nil {
			return nil, cerr
		}
		root := chain[len(chain)-1]
		if where == "ca.crt" && !IsSelfSigned(root) {
			return nil, caErrorf(ReasonInvalidCertificate, "ca.crt holds %q, which is not a self-signed root; put the root CA in ca.crt and the intermediates in tls.crt after the CA certificate", certName(root))
		}
		if where == "ca.crt" || tlsRoot != nil || selfSigned {
			ca.Root = root
			ca.RootPEM = EncodeCertificates(root)
		}
	}
	if cerr := checkPathLen(chain); cerr != nil {
		return nil, cerr
	}
	if !selfSigned {
		ca.ChainPEM = EncodeCertificates(append([]*x509.Certificate{cert}, inter...)...)
	}
	return ca, nil
}

// verifyChain verifies cert up to one of anchors through pool and returns
// the chain from cert to the anchor reached.
func verifyChain(cert *x509.Certificate, anchors, pool []*x509.Certificate, where string, now time.Time) ([]*x509.Certificate, *CAError) {
	roots := x509.NewCertPool()
	for _, c := range anchors {
		roots.AddCert(c)
	}
	intermediates := x509.NewCertPool()
	for _, c := range pool {
		intermediates.AddCert(c)
	}
	chains, err := cert.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: intermediates,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, caErrorf(ReasonInvalidCertificate, "CA certificate %q does not verify up to %s: %v; put the CA's issuers in tls.crt and its root in ca.crt", certName(cert), where, err)
	}
	return chains[0], nil
}

// checkPathLen checks that no certificate's pathLenConstraint forbids the
// CA certificates below it: the CA certificate (chain[0]) will be an
// intermediate of every certificate it signs, so a certificate at index k
// has k intermediates below it (self-issued ones do not count).
func checkPathLen(chain []*x509.Certificate) *CAError {
	below := 0
	for k, c := range chain {
		if k > 0 && c.BasicConstraintsValid && c.MaxPathLen >= 0 && (c.MaxPathLen > 0 || c.MaxPathLenZero) && below > c.MaxPathLen {
			return caErrorf(ReasonInvalidCertificate, "certificate %q allows %d CA certificates below it (pathLenConstraint) but the chain has %d, so certificates signed by %q would not verify; use a CA that its issuer may create", certName(c), c.MaxPathLen, below, certName(chain[0]))
		}
		if !bytes.Equal(c.RawSubject, c.RawIssuer) {
			below++
		}
	}
	return nil
}

// ParseCACertificates parses a PEM bundle of CA certificates (tls.crt or
// ca.crt of a CA Secret) under the limits LoadCA applies: its size, the
// number of certificates and the size of each.
func ParseCACertificates(field string, data []byte) ([]*x509.Certificate, error) {
	if len(data) > MaxCertChainPEMSize {
		return nil, caErrorf(ReasonTooLarge, "%s is %d bytes, more than the %d allowed", field, len(data), MaxCertChainPEMSize)
	}
	certs, err := parseCertsPEM(field, data)
	if err != nil {
		return nil, err
	}
	return certs, nil
}

// parseCertsPEM parses a PEM bundle that must hold only certificates.
func parseCertsPEM(field string, data []byte) ([]*x509.Certificate, *CAError) {
	var certs []*x509.Certificate
	rest := data
	for n := 1; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, caErrorf(ReasonInvalidCertificate, "%s holds a %s PEM block (block %d); it must hold only CERTIFICATE blocks", field, quote(block.Type), n)
		}
		if n > MaxCACertificates {
			return nil, caErrorf(ReasonTooLarge, "%s holds more than %d certificates; keep only the CA certificate and its chain", field, MaxCACertificates)
		}
		if len(block.Bytes) > MaxCACertificateDERSize {
			return nil, caErrorf(ReasonTooLarge, "certificate %d in %s is %d bytes, more than the %d allowed for a CA certificate", n, field, len(block.Bytes), MaxCACertificateDERSize)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, caErrorf(ReasonInvalidCertificate, "certificate %d in %s does not parse: %v", n, field, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, caErrorf(ReasonInvalidCertificate, "%s holds no PEM CERTIFICATE block; it must hold PEM certificates", field)
	}
	return certs, nil
}

func checkValidity(c *x509.Certificate, what string, now time.Time) *CAError {
	if now.After(c.NotAfter) {
		return caErrorf(ReasonExpired, "%s %q expired at %s; rotate the CA Secret", what, certName(c), formatTime(c.NotAfter))
	}
	if now.Before(c.NotBefore) {
		return caErrorf(ReasonNotYetValid, "%s %q is not valid before %s; check the clocks or wait", what, certName(c), formatTime(c.NotBefore))
	}
	return nil
}

// IsSelfSigned reports whether c names itself as issuer and its signature
// verifies with its own key.
func IsSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// certName names a certificate in messages: its CN, else its subject, else
// its serial.
func certName(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return c.Subject.CommonName
	}
	if s := c.Subject.String(); s != "" {
		return s
	}
	return "serial " + c.SerialNumber.Text(16)
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// EncodeCertificates encodes certificates as one PEM bundle, in order.
func EncodeCertificates(certs ...*x509.Certificate) []byte {
	var buf bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return buf.Bytes()
}

// Fingerprint returns the SHA-256 of the certificate's DER as upper-case
// hex bytes joined by ':'.
func Fingerprint(cert *x509.Certificate) string {
	return hexColons(sha256.Sum256(cert.Raw))
}

// hexColons formats a SHA-256 sum as upper-case hex bytes joined by ':'.
func hexColons(sum [sha256.Size]byte) string {
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// ShortFingerprint is a short, name-safe form of a Fingerprint: its first
// 16 hex digits, lower case, without colons (for object names and metric
// labels).
func ShortFingerprint(fp string) string {
	s := strings.ToLower(strings.ReplaceAll(fp, ":", ""))
	if len(s) > 16 {
		s = s[:16]
	}
	return s
}

// FormatSerial prints a certificate's serial number the way
// openssl x509 -serial does.
func FormatSerial(cert *x509.Certificate) string { return fmt.Sprintf("%X", cert.SerialNumber) }

// FirstCertificate is the first certificate of a PEM chain someone else
// wrote (a Certificate's Secret), nil when there is none, it does not parse
// or the chain is over MaxCertChainPEMSize. Blocks of other types before it
// are skipped.
func FirstCertificate(data []byte) *x509.Certificate {
	if len(data) > MaxCertChainPEMSize {
		return nil
	}
	for {
		var block *pem.Block
		if block, data = pem.Decode(data); block == nil {
			return nil
		}
		if block.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil
			}
			return c
		}
	}
}

// CheckValid reports, as a *CAError carrying the certificate, whether the
// CA's certificate is valid at now. A parsed CA is reused until its Secret
// changes, so callers check this at every use rather than only at LoadCA.
func (ca *CA) CheckValid(now time.Time) error {
	if cerr := checkValidity(ca.Cert, "CA certificate", now); cerr != nil {
		cerr.Cert = ca.Cert
		return cerr
	}
	return nil
}
