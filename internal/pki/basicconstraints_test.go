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
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

func TestRequestedBasicConstraints(t *testing.T) {
	t.Parallel()
	bc := func(t *testing.T, isCA bool) pkix.Extension {
		type basicConstraints struct {
			IsCA bool `asn1:"optional"`
		}
		v, err := asn1.Marshal(basicConstraints{IsCA: isCA})
		if err != nil {
			t.Fatal(err)
		}
		return pkix.Extension{Id: oidBasicConstraints, Critical: true, Value: v}
	}
	cases := []struct {
		name              string
		exts              func(t *testing.T) []pkix.Extension
		present, isCA     bool
		wantErr, wantText string
	}{
		{name: "a CSR without the extension asks for nothing", exts: func(*testing.T) []pkix.Extension { return nil }},
		{name: "a CSR with cA true asks for a CA", exts: func(t *testing.T) []pkix.Extension { return []pkix.Extension{bc(t, true)} },
			present: true, isCA: true},
		{name: "a CSR with cA false asks for a leaf", exts: func(t *testing.T) []pkix.Extension { return []pkix.Extension{bc(t, false)} },
			present: true},
		{name: "a CSR asking twice is refused, not read by its first or last", exts: func(t *testing.T) []pkix.Extension {
			return []pkix.Extension{bc(t, false), bc(t, true)}
		}, wantErr: "RequestError/" + ReasonInvalidCSR, wantText: "duplicate"},
		{name: "a malformed extension is refused", exts: func(*testing.T) []pkix.Extension {
			return []pkix.Extension{{Id: oidBasicConstraints, Value: []byte{0x30, 0x03, 0x01, 0x01}}}
		}, wantErr: "RequestError/" + ReasonInvalidCSR, wantText: "malformed"},
		{name: "trailing bytes after the extension are refused", exts: func(t *testing.T) []pkix.Extension {
			e := bc(t, true)
			e.Value = append(e.Value, 0x00)
			return []pkix.Extension{e}
		}, wantErr: "RequestError/" + ReasonInvalidCSR, wantText: "malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			csr := newCSR(t, testKey(t, "ecdsa256-leaf"), x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}, ExtraExtensions: tc.exts(t)})
			present, isCA, err := RequestedBasicConstraints(csr)
			if tc.wantErr != "" {
				wantErr(t, err, tc.wantErr, tc.wantText)
				return
			}
			wantErr(t, err, "")
			if present != tc.present || isCA != tc.isCA {
				t.Errorf("present=%v isCA=%v, want %v %v", present, isCA, tc.present, tc.isCA)
			}
		})
	}
}

func TestRequestedBasicConstraintsRefusesAnInvalidCSR(t *testing.T) {
	t.Parallel()
	_, _, err := RequestedBasicConstraints([]byte("not a CSR"))
	wantErr(t, err, "RequestError/"+ReasonInvalidCSR)
}
