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
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
)

// ParseCSR decodes a PEM certificate request and verifies its
// self-signature. The PEM must be at most MaxCSRPEMSize bytes and hold
// exactly one "CERTIFICATE REQUEST" (or legacy "NEW CERTIFICATE REQUEST")
// block, with nothing but whitespace around it. Every failure is a
// *RequestError with reason InvalidCSR.
func ParseCSR(csrPEM []byte) (*x509.CertificateRequest, error) {
	if len(csrPEM) > MaxCSRPEMSize {
		return nil, requestErrorf(ReasonInvalidCSR, "the CSR is %d bytes, more than the %d allowed", len(csrPEM), MaxCSRPEMSize)
	}
	trimmed := bytes.TrimSpace(csrPEM)
	if len(trimmed) == 0 {
		return nil, requestErrorf(ReasonInvalidCSR, "the CSR is empty")
	}
	if !bytes.HasPrefix(trimmed, []byte("-----BEGIN ")) {
		return nil, requestErrorf(ReasonInvalidCSR, "the CSR is not PEM-encoded: it must start with -----BEGIN CERTIFICATE REQUEST-----")
	}
	block, rest := pem.Decode(trimmed)
	if block == nil {
		return nil, requestErrorf(ReasonInvalidCSR, "the CSR is not valid PEM: check its BEGIN and END lines and base64 body")
	}
	if block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" {
		return nil, requestErrorf(ReasonInvalidCSR, "the CSR PEM block is of type %s, expected \"CERTIFICATE REQUEST\"", quote(block.Type))
	}
	if len(block.Headers) > 0 {
		return nil, requestErrorf(ReasonInvalidCSR, "the CSR PEM block has headers; a CSR must not be encrypted or annotated")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, requestErrorf(ReasonInvalidCSR, "the CSR has %d unexpected bytes after its PEM block; send exactly one CERTIFICATE REQUEST block", len(bytes.TrimSpace(rest)))
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, requestErrorf(ReasonInvalidCSR, "the CSR does not parse: %v", err)
	}
	// Verifying a signature costs time that grows with the RSA modulus:
	// refuse an oversized key before verifying anything with it.
	if k, ok := csr.PublicKey.(*rsa.PublicKey); ok {
		if bits := k.N.BitLen(); bits > MaxRSAKeySize {
			return nil, requestErrorf(ReasonInvalidCSR, "the CSR's RSA key has %d bits, more than the %d supported; generate a smaller key", bits, MaxRSAKeySize)
		}
		if k.E < 3 || k.E%2 == 0 {
			return nil, requestErrorf(ReasonInvalidCSR, "the CSR's RSA key has public exponent %d; generate a key with exponent 65537", k.E)
		}
	}
	if rerr := checkFIPSCSR(csr); rerr != nil {
		return nil, rerr
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, requestErrorf(ReasonInvalidCSR, "the CSR's signature does not verify with its own public key: %v", err)
	}
	return csr, nil
}
