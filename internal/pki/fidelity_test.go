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
	"encoding/asn1"
	"fmt"
	"testing"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// The regression tests of issue #26 ("sign what cert-manager asks for,
// exactly"): subjects as clients encode them are signed as sent when
// every attribute is allowed, and refused by attribute and rule when one
// is not. Each accepted case was refused or rewritten before.

// permissiveSubject allows any subject attribute and DNS name.
var permissiveSubject = templ("any", func(t *v1alpha1.CertificateTemplate) {
	t.AllowedDNSNames = []string{"**"}
	t.AllowedCommonNames = []string{"*"}
	t.AllowedSubject = &v1alpha1.SubjectPatterns{
		Organization: []string{"*"}, OrganizationalUnit: []string{"*"}, Country: []string{"*"}, Province: []string{"*"},
		Locality: []string{"*"}, Street: []string{"*"}, PostalCode: []string{"*"}, SerialNumber: []string{"*"},
	}
})

func TestSubjectsAreSignedAsSent(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		tmpl    *v1alpha1.CertificateTemplate
		csr     x509.CertificateRequest
		wantErr string
		wantMsg []string
	}{
		{name: "a Certificate with two organizational units (one multi-valued RDN, as cert-manager encodes it) is signed byte for byte",
			tmpl: permissiveSubject,
			csr:  x509.CertificateRequest{Subject: pkix.Name{CommonName: "web.example.com", OrganizationalUnit: []string{"Platform", "Security"}}, DNSNames: []string{"web.example.com"}}},
		{name: "a Certificate with two organizations and every other subject field is signed byte for byte",
			tmpl: permissiveSubject,
			csr: x509.CertificateRequest{Subject: pkix.Name{
				CommonName: "web.example.com", Organization: []string{"Acme", "Acme Labs"}, OrganizationalUnit: []string{"Web"},
				Country: []string{"DE", "AT"}, Province: []string{"Berlin"}, Locality: []string{"Berlin", "Wien"},
				StreetAddress: []string{"Unter den Linden 1"}, PostalCode: []string{"10117"}, SerialNumber: "1234",
			}}},
		{name: "the literal subject of issue #26 is signed byte for byte, order and RDNs unchanged",
			tmpl: permissiveSubject,
			csr: x509.CertificateRequest{
				RawSubject: rawSubject(t, rdnOf(atv(oidO, "Corp.")), rdnOf(atv(oidOU, "Dept.")), rdnOf(atv(oidOU, "Baz")), rdnOf(atv(oidOU, "Bar")), rdnOf(atv(oidOU, "FooLong")), rdnOf(atv(oidCN, "*.x.foo-long.bar.com"))),
				DNSNames:   []string{"*.x.foo-long.bar.com"},
			}},
		{name: "openssl's subject with UTF8Strings in separate RDNs is signed byte for byte",
			tmpl: permissiveSubject,
			csr: x509.CertificateRequest{RawSubject: rawSubject(t, rdnOf(atv(oidC, typed(asn1.TagPrintableString, "US"))),
				rdnOf(atv(oidO, typed(asn1.TagUTF8String, "Acme"))), rdnOf(atv(oidOU, typed(asn1.TagUTF8String, "a"))), rdnOf(atv(oidOU, typed(asn1.TagUTF8String, "b"))),
				rdnOf(atv(oidCN, typed(asn1.TagUTF8String, "node-1"))))}},
		{name: "a literal subject with an attribute the template does not allow is refused naming the attribute and the rule",
			tmpl: templ("ou-only", func(t *v1alpha1.CertificateTemplate) {
				t.AllowedDNSNames = []string{"**"}
				t.AllowedSubject = &v1alpha1.SubjectPatterns{OrganizationalUnit: []string{"*"}}
			}),
			csr: x509.CertificateRequest{
				RawSubject: rawSubject(t, rdnOf(atv(oidO, "Corp.")), rdnOf(atv(oidOU, "Dept.")), rdnOf(atv(oidCN, "*.x.foo-long.bar.com"))),
				DNSNames:   []string{"*.x.foo-long.bar.com"},
			},
			wantErr: "RequestError/" + ReasonPolicyViolation, wantMsg: []string{`requested subject organization "Corp." is not allowed by template "ou-only"`, "allowedSubject.organization is unset"}},
		{name: "every value of a multi-valued RDN is checked, the last one too",
			tmpl: templ("ou", func(t *v1alpha1.CertificateTemplate) {
				t.AllowedSubject = &v1alpha1.SubjectPatterns{OrganizationalUnit: []string{"team-*"}}
			}),
			csr:     x509.CertificateRequest{Subject: pkix.Name{OrganizationalUnit: []string{"team-a", "team-b", "system:masters"}}},
			wantErr: "RequestError/" + ReasonPolicyViolation, wantMsg: []string{`requested subject organizationalUnit "system:masters"`, "allowedSubject.organizationalUnit: team-*"}},
		{name: "a CN inside a multi-valued RDN passes the common name policy like any CN",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) {
				t.AllowedDNSNames = []string{"*.example.com"}
				t.AllowedSubject = &v1alpha1.SubjectPatterns{Organization: []string{"*"}}
			}),
			csr:     x509.CertificateRequest{RawSubject: rawSubject(t, rdnOf(atv(oidCN, "evil.example.org"), atv(oidO, "Example")))},
			wantErr: "RequestError/" + ReasonPolicyViolation, wantMsg: []string{`requested common name "evil.example.org" is not allowed`}},
		{name: "a second CN hidden in a multi-valued RDN is refused",
			tmpl:    permissiveSubject,
			csr:     x509.CertificateRequest{RawSubject: rawSubject(t, rdnOf(atv(oidCN, "a.example.com")), rdnOf(atv(oidCN, "evil.example.org"), atv(oidO, "x")))},
			wantErr: "RequestError/" + ReasonInvalidSubject, wantMsg: []string{"2 cn attributes"}},
		{name: "hundreds of values in one RDN are refused by the cap, not checked one by one",
			tmpl: permissiveSubject,
			csr: x509.CertificateRequest{Subject: pkix.Name{OrganizationalUnit: func() []string {
				out := make([]string, 300)
				for i := range out {
					out[i] = fmt.Sprintf("unit-%03d", i)
				}
				return out
			}()}},
			wantErr: "RequestError/" + ReasonInvalidSubject, wantMsg: []string{"more than 16 attributes in RDN 1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := issueFor(t, tc.tmpl, tc.csr)
			wantErr(t, err, tc.wantErr, tc.wantMsg...)
			if err != nil {
				return
			}
			csr := parsedCSR(t, newCSR(t, testKey(t, "ecdsa256-leaf"), tc.csr))
			if !bytes.Equal(out.Cert.RawSubject, csr.RawSubject) {
				t.Errorf("subject %s (% x), want the requested %s (% x)", out.Cert.Subject, out.Cert.RawSubject, csr.Subject, csr.RawSubject)
			}
		})
	}
}
