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
	"slices"
	"testing"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

func TestApplyUsages(t *testing.T) {
	t.Parallel()
	kind := func(k v1alpha1.TemplateKind) *v1alpha1.CertificateTemplate {
		return templ("web", func(t *v1alpha1.CertificateTemplate) { t.Kind = k })
	}
	ca := templ("sub-ca", func(t *v1alpha1.CertificateTemplate) { t.AllowCA = true })
	const ds, ke = x509.KeyUsageDigitalSignature, x509.KeyUsageKeyEncipherment
	server, client := x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth
	tests := []struct {
		name      string
		tmpl      *v1alpha1.CertificateTemplate
		req       Request
		wantKU    x509.KeyUsage
		wantEKU   []x509.ExtKeyUsage
		wantCA    bool
		kind, msg string
	}{
		{name: "pass-through defaults to digital signature and key encipherment", wantKU: ds | ke},
		{name: "pass-through signs the requested usages", req: Request{KeyUsage: ds, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning, x509.ExtKeyUsageAny}}, wantKU: ds, wantEKU: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning, x509.ExtKeyUsageAny}},
		{name: "pass-through refuses cert sign on a non-CA", req: Request{KeyUsage: ds | x509.KeyUsageCertSign}, kind: "RequestError/PolicyViolation", msg: "requested usage cert sign is not allowed on a certificate that is not a CA"},
		{name: "a template without kind is a server", tmpl: templ("web"), wantKU: ds, wantEKU: []x509.ExtKeyUsage{server}},
		{name: "a server template sets server auth", tmpl: kind(v1alpha1.ServerKind), req: Request{ExtKeyUsage: []x509.ExtKeyUsage{server}}, wantKU: ds, wantEKU: []x509.ExtKeyUsage{server}},
		{name: "a client template sets client auth", tmpl: kind(v1alpha1.ClientKind), wantKU: ds, wantEKU: []x509.ExtKeyUsage{client}},
		{name: "a peer template sets server and client auth", tmpl: kind(v1alpha1.PeerKind), req: Request{ExtKeyUsage: []x509.ExtKeyUsage{client}}, wantKU: ds, wantEKU: []x509.ExtKeyUsage{server, client}},
		{name: "a server template refuses client auth", tmpl: kind(v1alpha1.ServerKind), req: Request{ExtKeyUsage: []x509.ExtKeyUsage{client}}, kind: "RequestError/PolicyViolation", msg: `requested usage client auth is not allowed by template "web" (kind server allows: server auth)`},
		{name: "a peer template refuses code signing", tmpl: kind(v1alpha1.PeerKind), req: Request{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}, kind: "RequestError/PolicyViolation", msg: `requested usage code signing is not allowed by template "web" (kind peer allows: server auth, client auth)`},
		{name: "a template refuses the any usage", tmpl: kind(v1alpha1.PeerKind), req: Request{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}, kind: "RequestError/PolicyViolation", msg: "requested usage any is not allowed"},
		{name: "a template keeps the requested optional key usages", tmpl: templ("web"), req: Request{KeyUsage: ds | ke | x509.KeyUsageKeyAgreement | x509.KeyUsageDataEncipherment | x509.KeyUsageContentCommitment}, wantKU: ds | ke | x509.KeyUsageKeyAgreement | x509.KeyUsageDataEncipherment | x509.KeyUsageContentCommitment, wantEKU: []x509.ExtKeyUsage{server}},
		{name: "a template refuses encipher only, naming it and the kind", tmpl: templ("web"), req: Request{KeyUsage: ke | x509.KeyUsageKeyAgreement | x509.KeyUsageEncipherOnly}, kind: "RequestError/PolicyViolation",
			msg: `requested usage encipher only is not allowed by template "web" (kind server allows the key usages: digital signature, content commitment, key encipherment, data encipherment, key agreement); remove it`},
		{name: "a client template refuses decipher only", tmpl: kind(v1alpha1.ClientKind), req: Request{KeyUsage: x509.KeyUsageKeyAgreement | x509.KeyUsageDecipherOnly}, kind: "RequestError/PolicyViolation",
			msg: `requested usage decipher only is not allowed by template "web" (kind client allows the key usages:`},
		{name: "a CA template refuses both encipher only and decipher only, naming both", tmpl: ca, req: Request{IsCA: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageEncipherOnly | x509.KeyUsageDecipherOnly}, kind: "RequestError/PolicyViolation",
			msg: `requested usages encipher only, decipher only are not allowed by template "sub-ca" (kind server allows the key usages: digital signature, content commitment, key encipherment, data encipherment, key agreement, cert sign, crl sign); remove them`},
		{name: "a template adds digital signature to what is requested", tmpl: templ("web"), req: Request{KeyUsage: ke}, wantKU: ds | ke, wantEKU: []x509.ExtKeyUsage{server}},
		{name: "pass-through signs encipher only as requested", req: Request{KeyUsage: x509.KeyUsageKeyAgreement | x509.KeyUsageEncipherOnly}, wantKU: x509.KeyUsageKeyAgreement | x509.KeyUsageEncipherOnly},
		{name: "a template refuses crl sign on a non-CA", tmpl: templ("web"), req: Request{KeyUsage: x509.KeyUsageCRLSign}, kind: "RequestError/PolicyViolation", msg: "requested usage crl sign is not allowed on a certificate that is not a CA"},
		{name: "a CA gets cert sign and crl sign", tmpl: ca, req: Request{IsCA: true}, wantKU: ds | x509.KeyUsageCertSign | x509.KeyUsageCRLSign, wantEKU: []x509.ExtKeyUsage{server}, wantCA: true},
		{name: "a CA may request cert sign", tmpl: ca, req: Request{IsCA: true, KeyUsage: x509.KeyUsageCertSign}, wantKU: ds | x509.KeyUsageCertSign | x509.KeyUsageCRLSign, wantEKU: []x509.ExtKeyUsage{server}, wantCA: true},
		{name: "an unknown kind is a template error", tmpl: kind("banana"), kind: "TemplateError", msg: `template "web" field kind: kind "banana" is not one of server, client or peer`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.req.CSR = newCSR(t, testKey(t, "ecdsa256"), x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}})
			is := prepare(t, tc.tmpl, tc.req)
			err := runSteps(is, applyBasicConstraints, applyUsages)
			wantErr(t, err, tc.kind, tc.msg)
			if err != nil {
				return
			}
			if is.cert.KeyUsage != tc.wantKU {
				t.Errorf("KeyUsage = %s, want %s", keyUsageNames(is.cert.KeyUsage), keyUsageNames(tc.wantKU))
			}
			if !slices.Equal(is.cert.ExtKeyUsage, tc.wantEKU) {
				t.Errorf("ExtKeyUsage = %s, want %s", extKeyUsageNames(is.cert.ExtKeyUsage), extKeyUsageNames(tc.wantEKU))
			}
			if is.cert.IsCA != tc.wantCA {
				t.Errorf("IsCA = %v", is.cert.IsCA)
			}
		})
	}
}

func TestApplyBasicConstraints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		tmpl      *v1alpha1.CertificateTemplate
		isCA      bool
		kind, msg string
	}{
		{name: "a non-CA request gets CA:FALSE", tmpl: templ("web")},
		{name: "pass-through refuses a CA", isCA: true, kind: "RequestError/PolicyViolation", msg: "the request asks for a CA certificate (isCA), which this issuer (no template selected) does not allow; use a template with allowCA: true"},
		{name: "a template without allowCA refuses a CA", tmpl: templ("web"), isCA: true, kind: "RequestError/PolicyViolation", msg: `which template "web" does not allow; use a template with allowCA: true`},
		{name: "a template with allowCA signs a CA with path length zero", tmpl: templ("sub-ca", func(t *v1alpha1.CertificateTemplate) { t.AllowCA = true }), isCA: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			is := prepare(t, tc.tmpl, Request{CSR: csrFor(t, "x"), IsCA: tc.isCA})
			err := applyBasicConstraints(is)
			wantErr(t, err, tc.kind, tc.msg)
			if err != nil {
				return
			}
			c := is.cert
			if !c.BasicConstraintsValid || c.IsCA != tc.isCA {
				t.Errorf("BasicConstraintsValid=%v IsCA=%v", c.BasicConstraintsValid, c.IsCA)
			}
			if tc.isCA && (c.MaxPathLen != 0 || !c.MaxPathLenZero) {
				t.Errorf("MaxPathLen=%d MaxPathLenZero=%v", c.MaxPathLen, c.MaxPathLenZero)
			}
		})
	}
}
