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
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"strings"
	"testing"
)

func TestParseCSR(t *testing.T) {
	t.Parallel()
	good := csrFor(t, "example.com", "example.com")
	block, _ := pem.Decode(good)
	tampered := bytes.Clone(block.Bytes)
	// Flip a byte of the CN inside the signed part: the signature breaks.
	i := bytes.Index(tampered, []byte("example.com"))
	tampered[i] = 'E'
	legacy := pem.EncodeToMemory(&pem.Block{Type: "NEW CERTIFICATE REQUEST", Bytes: block.Bytes})

	tests := []struct {
		name string
		in   []byte
		kind string
		want string
	}{
		{"a valid CSR parses", good, "", ""},
		{"surrounding whitespace is allowed", append(append([]byte("\n  "), good...), "\n\n"...), "", ""},
		{"the legacy NEW CERTIFICATE REQUEST type parses", legacy, "", ""},
		{"an oversized CSR is rejected", bytes.Repeat([]byte("A"), MaxCSRPEMSize+1), "RequestError/InvalidCSR", "the CSR is 36501 bytes, more than the 36500 allowed"},
		{"an empty CSR is rejected", []byte(" \n"), "RequestError/InvalidCSR", "the CSR is empty"},
		{"text before the PEM block is rejected", append([]byte("hello\n"), good...), "RequestError/InvalidCSR", "must start with -----BEGIN CERTIFICATE REQUEST-----"},
		{"a broken PEM is rejected", []byte("-----BEGIN CERTIFICATE REQUEST-----\n!!!\n"), "RequestError/InvalidCSR", "not valid PEM"},
		{"another PEM type is rejected", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes}), "RequestError/InvalidCSR", `of type "CERTIFICATE", expected "CERTIFICATE REQUEST"`},
		{"PEM headers are rejected", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: block.Bytes}), "RequestError/InvalidCSR", "has headers"},
		{"a second block is rejected", append(bytes.Clone(good), good...), "RequestError/InvalidCSR", "unexpected bytes after its PEM block"},
		{"trailing garbage is rejected", append(bytes.Clone(good), "junk"...), "RequestError/InvalidCSR", "4 unexpected bytes"},
		{"DER that does not parse is rejected", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{0x30, 0x03, 1, 2, 3}}), "RequestError/InvalidCSR", "the CSR does not parse"},
		{"a bad signature is rejected", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: tampered}), "RequestError/InvalidCSR", "signature does not verify"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			csr, err := ParseCSR(tc.in)
			wantErr(t, err, tc.kind, tc.want)
			if tc.kind == "" && csr.Subject.CommonName != "example.com" {
				t.Errorf("CN = %q", csr.Subject.CommonName)
			}
		})
	}
}

func TestParseCSRAllKeyTypes(t *testing.T) {
	t.Parallel()
	for _, k := range []string{"rsa2048", "ecdsa256", "ecdsa384", "ecdsa521", "ed25519"} {
		t.Run("a CSR with a "+k+" key parses", func(t *testing.T) {
			t.Parallel()
			in := newCSR(t, testKey(t, k), x509.CertificateRequest{Subject: pkix.Name{CommonName: k}})
			csr, err := ParseCSR(in)
			wantErr(t, err, "")
			if !strings.EqualFold(csr.Subject.CommonName, k) {
				t.Errorf("CN = %q", csr.Subject.CommonName)
			}
		})
	}
}
