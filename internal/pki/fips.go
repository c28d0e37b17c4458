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
	"crypto/elliptic"
	"crypto/fips140"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
)

// FIPS 140-3 mode. In a process running in FIPS 140-3 mode (GODEBUG
// fips140=on or only, the default of a binary built with GOFIPS140, such
// as the -fips image), Go's cryptography comes from its FIPS 140-3 module,
// which carries out algorithms it does not approve all the same (only
// fips140=only makes them fail, and then obscurely). The issuer therefore
// refuses, by name and before using it, any key or signature the module
// would not approve, and computes key identifiers without SHA-1. Outside
// FIPS mode nothing changes.

// ReasonNotFIPSApproved: the process runs in FIPS 140-3 mode and the
// request's key or signature algorithm (a RequestError), or the CA's key
// (a CAError), is not approved by Go's FIPS 140-3 module.
const ReasonNotFIPSApproved = "NotFIPSApproved"

// fipsMode is fixed when the process starts: crypto/fips140.Enabled.
var fipsMode = fips140.Enabled()

// FIPSMode reports whether the process runs in FIPS 140-3 mode, in which
// the issuer refuses what Go's FIPS 140-3 module does not approve.
func FIPSMode() bool { return fipsMode }

// fipsApprovedKeys names the keys FIPS mode accepts, for messages.
const fipsApprovedKeys = "an RSA key of 2048, 3072 or 4096 bits with exponent 65537, an ECDSA key on P-256, P-384 or P-521, or an Ed25519 key"

// fipsKeyProblem says why Go's FIPS 140-3 module would not approve a
// signature by or for pub, or "" when it would. The rules are the
// module's own (crypto/internal/fips140/rsa checkPublicKey, FIPS 186-5):
// an RSA modulus of even length, 2048 bits or more, an exponent above
// 2^16; ECDSA on the NIST prime curves; pure Ed25519, which FIPS 186-5
// approves.
func fipsKeyProblem(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits < 2048 || bits%2 == 1 {
			return fmt.Sprintf("a %d-bit RSA key (FIPS 186-5 approves RSA moduli of an even length of 2048 bits or more)", bits)
		}
		if k.E <= 1<<16 {
			return fmt.Sprintf("an RSA key with public exponent %d (FIPS 186-5 approves exponents above 65536, such as 65537)", k.E)
		}
		return ""
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return ""
		}
		return fmt.Sprintf("an ECDSA key on curve %s (approved: P-256, P-384, P-521)", k.Params().Name)
	case ed25519.PublicKey:
		return ""
	}
	return fmt.Sprintf("a %T key", pub)
}

// fipsSignatureProblem says why Go's FIPS 140-3 module would not approve
// verifying a CSR signed with alg, or "" when it would: it approves RSA
// PKCS #1 v1.5 and PSS, and ECDSA, over SHA-2, and Ed25519; SHA-1 (and
// MD5, which Go refuses anyway) it does not.
func fipsSignatureProblem(alg x509.SignatureAlgorithm) string {
	switch alg {
	case x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA,
		x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS,
		x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512,
		x509.PureEd25519:
		return ""
	default:
		return fmt.Sprintf("signature algorithm %s (approved: SHA-256, SHA-384 or SHA-512 with RSA, RSA-PSS or ECDSA, and Ed25519)", alg)
	}
}

// checkFIPSCSR refuses, in FIPS mode, a CSR whose key or signature the
// module would not approve, before its signature is verified.
func checkFIPSCSR(csr *x509.CertificateRequest) *RequestError {
	if !fipsMode {
		return nil
	}
	if p := fipsSignatureProblem(csr.SignatureAlgorithm); p != "" {
		return requestErrorf(ReasonNotFIPSApproved, "the CSR is signed with %s, which this issuer refuses in FIPS 140-3 mode: sign the CSR with SHA-256 or stronger", p)
	}
	if p := fipsKeyProblem(csr.PublicKey); p != "" {
		return requestErrorf(ReasonNotFIPSApproved, "the CSR's public key is %s, which this issuer refuses in FIPS 140-3 mode: generate %s", p, fipsApprovedKeys)
	}
	return nil
}

// checkFIPSCAKey refuses, in FIPS mode, a CA key the module would not
// approve for signing; name names the key in messages.
func checkFIPSCAKey(pub crypto.PublicKey, name string) *CAError {
	if !fipsMode {
		return nil
	}
	if p := fipsKeyProblem(pub); p != "" {
		return caErrorf(ReasonNotFIPSApproved, "%s is %s, which this issuer refuses to sign with in FIPS 140-3 mode: replace the CA with one whose key FIPS mode approves: %s", name, p, fipsApprovedKeys)
	}
	return nil
}
