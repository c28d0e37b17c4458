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
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // G505: RFC 5280's key identifier method 1, not a signature or a MAC
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// policyName names who sets the policy, for messages.
func policyName(tmpl *v1alpha1.CertificateTemplate) string {
	if tmpl == nil {
		return "this issuer (no template selected)"
	}
	return fmt.Sprintf("template %q", tmpl.Name)
}

// checkKey applies the key policy of tmpl (or the pass-through defaults
// when tmpl is nil) to a CSR's public key and returns its algorithm.
func checkKey(pub crypto.PublicKey, tmpl *v1alpha1.CertificateTemplate) (v1alpha1.KeyAlgorithm, error) {
	minRSA, minEC := DefaultMinRSAKeySize, DefaultMinECDSAKeySize
	var allowed []v1alpha1.KeyAlgorithm
	if tmpl != nil {
		if tmpl.MinRSAKeySize > 0 {
			minRSA = int(tmpl.MinRSAKeySize)
		}
		if tmpl.MinECDSAKeySize > 0 {
			minEC = int(tmpl.MinECDSAKeySize)
		}
		allowed = tmpl.AllowedKeyAlgorithms
	}
	who := policyName(tmpl)

	var alg v1alpha1.KeyAlgorithm
	switch k := pub.(type) {
	case *rsa.PublicKey:
		alg = v1alpha1.RSAKeyAlgorithm
	case *ecdsa.PublicKey:
		alg = v1alpha1.ECDSAKeyAlgorithm
	case ed25519.PublicKey:
		alg = v1alpha1.Ed25519KeyAlgorithm
	default:
		return "", requestErrorf(ReasonPolicyViolation, "the CSR's public key type %T is not supported; use an RSA, ECDSA or Ed25519 key", k)
	}
	if len(allowed) > 0 && !slices.Contains(allowed, alg) {
		names := make([]string, len(allowed))
		for i, a := range allowed {
			names[i] = string(a)
		}
		return "", requestErrorf(ReasonPolicyViolation, "key algorithm %s is not allowed by %s (allowed: %s); generate a key of an allowed algorithm", alg, who, strings.Join(names, ", "))
	}

	switch k := pub.(type) {
	case *rsa.PublicKey:
		bits := k.N.BitLen()
		if bits < minRSA {
			return "", requestErrorf(ReasonWeakKey, "the CSR's RSA key has %d bits; %s requires at least %d: generate a larger key", bits, who, minRSA)
		}
		if bits > MaxRSAKeySize {
			return "", requestErrorf(ReasonPolicyViolation, "the CSR's RSA key has %d bits, more than the %d supported; generate a smaller key", bits, MaxRSAKeySize)
		}
		if k.E < 3 || k.E%2 == 0 {
			return "", requestErrorf(ReasonWeakKey, "the CSR's RSA key has public exponent %d; generate a key with exponent 65537", k.E)
		}
	case *ecdsa.PublicKey:
		if k.Curve == nil {
			return "", requestErrorf(ReasonPolicyViolation, "the CSR's ECDSA key has no curve")
		}
		params := k.Params()
		if params.BitSize < 256 {
			return "", requestErrorf(ReasonWeakKey, "the CSR's ECDSA key uses curve %s, which is too weak; use P-256, P-384 or P-521", params.Name)
		}
		if params.BitSize < minEC {
			return "", requestErrorf(ReasonWeakKey, "the CSR's ECDSA key uses curve %s; %s requires at least %d bits: use a larger curve", params.Name, who, minEC)
		}
	}
	return alg, nil
}

// subjectKeyID computes a SubjectKeyIdentifier by RFC 5280 method 1: the
// SHA-1 of the subjectPublicKey BIT STRING of a DER SubjectPublicKeyInfo.
// In FIPS 140-3 mode it uses RFC 7093 method 1 instead (the leftmost 160
// bits of its SHA-256, what Go itself does for CA certificates since Go
// 1.25): SHA-1 is outside Go's FIPS 140-3 module.
func subjectKeyID(spkiDER []byte) ([]byte, error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	rest, err := asn1.Unmarshal(spkiDER, &spki)
	if err != nil {
		return nil, fmt.Errorf("parsing public key: %w", err)
	}
	if len(rest) > 0 {
		return nil, errors.New("parsing public key: trailing data")
	}
	if fipsMode {
		sum := sha256.Sum256(spki.PublicKey.Bytes)
		return sum[:20], nil
	}
	sum := sha1.Sum(spki.PublicKey.Bytes) //nolint:gosec // G401: a key identifier (RFC 5280 4.2.1.2 method 1, as crypto/x509 computes it), which nothing verifies
	return sum[:], nil
}

// subjectKeyIDOf computes the SubjectKeyIdentifier of a public key.
func subjectKeyIDOf(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return subjectKeyID(der)
}

// parsePrivateKey parses tls.key: PKCS#1 "RSA PRIVATE KEY", PKCS#8
// "PRIVATE KEY" or SEC1 "EC PRIVATE KEY", skipping an "EC PARAMETERS" block
// as written by openssl ecparam -genkey.
func parsePrivateKey(keyPEM []byte) (crypto.Signer, *CAError) {
	rest := keyPEM
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, caErrorf(ReasonInvalidKey, "tls.key holds no PEM private key; it must hold an unencrypted PKCS#1, PKCS#8 or SEC1 PEM key")
		}
		if block.Type == "EC PARAMETERS" {
			continue
		}
		if _, encrypted := block.Headers["Proc-Type"]; encrypted || block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, caErrorf(ReasonInvalidKey, "tls.key is encrypted; store the key unencrypted in the Secret")
		}
		var key any
		var err error
		switch block.Type {
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			return nil, caErrorf(ReasonInvalidKey, "tls.key holds a %s PEM block; it must hold a private key (RSA PRIVATE KEY, PRIVATE KEY or EC PRIVATE KEY)", quote(block.Type))
		}
		if err != nil {
			return nil, caErrorf(ReasonInvalidKey, "tls.key %s does not parse: %v", block.Type, err)
		}
		return checkCAKey(key)
	}
}

// checkCAKey accepts RSA (2048 to 8192 bits), ECDSA (P-256, P-384, P-521)
// and Ed25519 CA keys; in FIPS mode, only those FIPS 186-5 approves.
func checkCAKey(key any) (crypto.Signer, *CAError) {
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, caErrorf(ReasonInvalidKey, "tls.key is a %T key; a CA key must be RSA, ECDSA or Ed25519", key)
	}
	if cerr := checkCAPublicKey(s.Public(), "tls.key"); cerr != nil {
		return nil, cerr
	}
	return s, nil
}

// checkCAPublicKey applies checkCAKey's rules to the public key of a CA
// key, wherever the key is held; name names the key in messages.
func checkCAPublicKey(pub crypto.PublicKey, name string) *CAError {
	if cerr := checkFIPSCAKey(pub, name); cerr != nil {
		return cerr
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits < 2048 || bits > MaxRSAKeySize {
			return caErrorf(ReasonInvalidKey, "%s is a %d-bit RSA key; a CA key must have 2048 to %d bits", name, bits, MaxRSAKeySize)
		}
		return nil
	case *ecdsa.PublicKey:
		if k.Curve == nil {
			return caErrorf(ReasonInvalidKey, "%s is an ECDSA key without a curve; a CA key must use P-256, P-384 or P-521", name)
		}
		if bits := k.Curve.Params().BitSize; bits < 256 {
			return caErrorf(ReasonInvalidKey, "%s is an ECDSA key on curve %s; a CA key must use P-256, P-384 or P-521", name, k.Curve.Params().Name)
		}
		return nil
	case ed25519.PublicKey:
		return nil
	}
	return caErrorf(ReasonInvalidKey, "%s is a %T key; a CA key must be RSA, ECDSA or Ed25519", name, pub)
}

// algorithmOf names the algorithm of a public key, for messages.
func algorithmOf(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", pub)
}
