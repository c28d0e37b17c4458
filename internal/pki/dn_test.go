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
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

var (
	oidOU     = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidC      = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidSerial = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidDC     = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
)

// typed is an attribute value of an explicit ASN.1 type, for crafting
// subjects Go would encode otherwise.
func typed(tag int, v string) asn1.RawValue {
	return asn1.RawValue{Tag: tag, Bytes: []byte(v)}
}

// atv is an attribute for rawSubject.
func atv(oid asn1.ObjectIdentifier, v any) pkix.AttributeTypeAndValue {
	return pkix.AttributeTypeAndValue{Type: oid, Value: v}
}

// rdnOf is an RDN for rawSubject.
func rdnOf(atvs ...pkix.AttributeTypeAndValue) pkix.RelativeDistinguishedNameSET { return atvs }

// unsortedRDN encodes a subject of one RDN whose attributes are written in
// the order given, not DER's: Go's encoder would sort them.
func unsortedRDN(t *testing.T, atvs ...pkix.AttributeTypeAndValue) []byte {
	t.Helper()
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
			for _, a := range atvs {
				der, err := asn1.Marshal(a)
				if err != nil {
					t.Fatal(err)
				}
				b.AddBytes(der)
			}
		})
	})
	return b.BytesOrPanic()
}

func TestParseDistinguishedName(t *testing.T) {
	t.Parallel()
	many := func(n int, oid asn1.ObjectIdentifier) []pkix.AttributeTypeAndValue {
		out := make([]pkix.AttributeTypeAndValue, n)
		for i := range out {
			out[i] = atv(oid, "unit "+strings.Repeat("x", i%50)+string(rune('a'+i%26)))
		}
		return out
	}
	cases := []struct {
		name    string
		raw     func(t *testing.T) []byte
		wantErr string
		wantMsg []string
		// want is the name as RFC 4514 text when it parses.
		want string
	}{
		{name: "cert-manager's subject with two organizational units in one RDN is accepted as sent",
			raw: func(t *testing.T) []byte {
				return rawSubject(t, pkix.Name{CommonName: "web", OrganizationalUnit: []string{"Platform", "Security"}}.ToRDNSequence()...)
			},
			want: "CN=web,OU=Platform+OU=Security"},
		{name: "openssl's subject with each attribute in its own RDN is accepted as sent",
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidC, "US")), rdnOf(atv(oidO, typed(asn1.TagUTF8String, "Acme"))), rdnOf(atv(oidOU, "a")), rdnOf(atv(oidOU, "b")), rdnOf(atv(oidCN, typed(asn1.TagUTF8String, "node-1"))))
			},
			want: "CN=node-1,OU=b,OU=a,O=Acme,C=US"},
		{name: "a literal subject keeps its order",
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidO, "Corp.")), rdnOf(atv(oidOU, "Dept.")), rdnOf(atv(oidOU, "Baz")), rdnOf(atv(oidOU, "Bar")), rdnOf(atv(oidOU, "FooLong")), rdnOf(atv(oidCN, "*.x.foo-long.bar.com")))
			},
			want: "CN=*.x.foo-long.bar.com,OU=FooLong,OU=Bar,OU=Baz,OU=Dept.,O=Corp."},
		{name: "an empty subject is accepted", raw: func(t *testing.T) []byte { return rawSubject(t) }},
		{name: "mixed attribute types in one RDN are accepted, each kept",
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidCN, "a.example.com"), atv(oidO, "Example")))
			},
			want: "O=Example+CN=a.example.com"}, // DER order: the shorter encoding first
		{name: "an IA5String value keeps its type",
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidCN, typed(asn1.TagIA5String, "a.example.com"))))
			},
			want: "CN=a.example.com"},
		{name: "hundreds of values in one RDN are refused as they are read",
			raw:     func(t *testing.T) []byte { return rawSubject(t, rdnOf(many(300, oidOU)...)) },
			wantErr: ReasonInvalidSubject, wantMsg: []string{"more than 16 attributes in RDN 1"}},
		{name: "more attributes than MaxSubjectAttributes across RDNs are refused",
			raw: func(t *testing.T) []byte {
				// 14 of each of five types: within each type's cap.
				var rdns []pkix.RelativeDistinguishedNameSET
				for _, oid := range []asn1.ObjectIdentifier{oidO, oidOU, {2, 5, 4, 7}, {2, 5, 4, 8}, {2, 5, 4, 9}} {
					rdns = append(rdns, rdnOf(many(14, oid)...))
				}
				return rawSubject(t, rdns...)
			},
			wantErr: ReasonInvalidSubject, wantMsg: []string{"more than 64 attributes"}},
		{name: "more values of one type than allowed are refused",
			raw: func(t *testing.T) []byte {
				var rdns []pkix.RelativeDistinguishedNameSET
				for _, a := range many(17, oidOU) {
					rdns = append(rdns, rdnOf(a))
				}
				return rawSubject(t, rdns...)
			},
			wantErr: ReasonInvalidSubject, wantMsg: []string{"17 organizationalUnit attributes; request at most 16"}},
		{name: "a second CN in another RDN is refused (Go keeps only the last)",
			raw:     func(t *testing.T) []byte { return rawSubject(t, rdnOf(atv(oidCN, "a")), rdnOf(atv(oidCN, "b"))) },
			wantErr: ReasonInvalidSubject, wantMsg: []string{"2 cn attributes; request at most 1"}},
		{name: "a second CN in the same RDN is refused",
			raw:     func(t *testing.T) []byte { return rawSubject(t, rdnOf(atv(oidCN, "a"), atv(oidCN, "b"))) },
			wantErr: ReasonInvalidSubject, wantMsg: []string{"2 cn attributes"}},
		{name: "a second serialNumber is refused",
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidSerial, "1")), rdnOf(atv(oidSerial, "2")))
			},
			wantErr: ReasonInvalidSubject, wantMsg: []string{"2 serialNumber attributes"}},
		{name: "an INTEGER value is refused naming its type",
			raw:     func(t *testing.T) []byte { return rawSubject(t, rdnOf(atv(oidO, 42))) },
			wantErr: ReasonInvalidSubject, wantMsg: []string{"organization is a INTEGER value"}},
		{name: "a BMPString value is refused naming its type",
			raw:     func(t *testing.T) []byte { return rawSubject(t, rdnOf(atv(oidO, typed(asn1.TagBMPString, "\x00A")))) },
			wantErr: ReasonInvalidSubject, wantMsg: []string{"BMPString", "PrintableString, UTF8String and IA5String"}},
		{name: "a nested SEQUENCE value is refused",
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidO, asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: []byte{0x13, 0x01, 'a'}})))
			},
			wantErr: ReasonInvalidSubject, wantMsg: []string{"SEQUENCE value"}},
		{name: "an unknown attribute is refused by OID",
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, "x")))
			},
			wantErr: ReasonInvalidSubject, wantMsg: []string{"attribute 1.3.6.1.4.1.99999.1, which this issuer does not sign"}},
		{name: "an attribute OID of thousands of arcs is named shortened",
			raw: func(t *testing.T) []byte {
				oid := make(asn1.ObjectIdentifier, 3000)
				oid[0], oid[1] = 1, 3
				return rawSubject(t, rdnOf(atv(oid, "x")))
			},
			wantErr: ReasonInvalidSubject, wantMsg: []string{"has attribute 1.3.0.0.0", "..., which this issuer does not sign"}},
		{name: "a domainComponent is refused by name",
			raw:     func(t *testing.T) []byte { return rawSubject(t, rdnOf(atv(oidDC, "example"))) },
			wantErr: ReasonInvalidSubject, wantMsg: []string{"0.9.2342.19200300.100.1.25 (domainComponent (DC))"}},
		{name: "an emailAddress attribute is refused with the email SAN to use instead",
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidEmail, typed(asn1.TagIA5String, "a@example.com"))))
			},
			wantErr: ReasonInvalidSubject, wantMsg: []string{"(emailAddress)", "request an email SAN instead"}},
		{name: "a PrintableString with a character outside its set is refused",
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidO, typed(asn1.TagPrintableString, "a@b"))))
			},
			wantErr: ReasonInvalidSubject, wantMsg: []string{`organization "a@b" is not a valid PrintableString: it has the character '@'`}},
		{name: "an IA5String with a non-ASCII byte is refused",
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidO, typed(asn1.TagIA5String, "caf\xc3\xa9"))))
			},
			wantErr: ReasonInvalidSubject, wantMsg: []string{"non-ASCII byte 0xc3"}},
		{name: "a UTF8String that is not UTF-8 is refused",
			raw:     func(t *testing.T) []byte { return rawSubject(t, rdnOf(atv(oidO, typed(asn1.TagUTF8String, "\xff")))) },
			wantErr: ReasonInvalidSubject, wantMsg: []string{"not valid UTF-8"}},
		{name: "an empty value is refused",
			raw:     func(t *testing.T) []byte { return rawSubject(t, rdnOf(atv(oidO, typed(asn1.TagUTF8String, "")))) },
			wantErr: ReasonInvalidSubject, wantMsg: []string{"organization is empty"}},
		{name: "a value with a control character is refused",
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidO, typed(asn1.TagUTF8String, "a\nCN=evil"))))
			},
			wantErr: ReasonInvalidSubject, wantMsg: []string{"has control characters"}},
		{name: "a value with a right-to-left override is refused naming the code point",
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidO, typed(asn1.TagUTF8String, "Acme \u202emoc.elgoog"))))
			},
			wantErr: ReasonInvalidSubject, wantMsg: []string{`organization "Acme \u202emoc.elgoog" has the invisible character U+202E (a bidirectional text control), which makes a name read differently than it compares; remove it`}},
		{name: "a CN with a first-strong isolate is refused",
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidCN, typed(asn1.TagUTF8String, "a\u2068b"))))
			},
			wantErr: ReasonInvalidSubject, wantMsg: []string{"U+2068 (a bidirectional text control)"}},
		{name: "a value with a left-to-right mark is refused",
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidOU, typed(asn1.TagUTF8String, "\u200eOps"))))
			},
			wantErr: ReasonInvalidSubject, wantMsg: []string{"U+200E (a bidirectional text control)"}},
		{name: "a value with a zero-width space is refused",
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidCN, typed(asn1.TagUTF8String, "pay\u200bpal.com"))))
			},
			wantErr: ReasonInvalidSubject, wantMsg: []string{"U+200B (a zero-width character)"}},
		{name: "a value with a zero-width joiner is refused",
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidO, typed(asn1.TagUTF8String, "a\u200db"))))
			},
			wantErr: ReasonInvalidSubject, wantMsg: []string{"U+200D (a zero-width character)"}},
		{name: "a value with a byte order mark is refused",
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidOU, typed(asn1.TagUTF8String, "\ufeffBerlin"))))
			},
			wantErr: ReasonInvalidSubject, wantMsg: []string{"U+FEFF (a zero-width character)"}},
		{name: "a value with a soft hyphen is refused as a format character",
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidO, typed(asn1.TagUTF8String, "Ac\u00adme"))))
			},
			wantErr: ReasonInvalidSubject, wantMsg: []string{"U+00AD (a Unicode format character)"}},
		{name: "a value with a line separator is refused",
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidO, typed(asn1.TagUTF8String, "a\u2028CN=evil"))))
			},
			wantErr: ReasonInvalidSubject, wantMsg: []string{"U+2028 (a line or paragraph separator)"}},
		{name: "a value in another script without format characters is kept",
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidO, typed(asn1.TagUTF8String, "شركة أكمي"))))
			},
			want: "O=شركة أكمي"},
		{name: "a value longer than its attribute's bound is refused",
			raw:     func(t *testing.T) []byte { return rawSubject(t, rdnOf(atv(oidC, "USA"))) },
			wantErr: ReasonInvalidSubject, wantMsg: []string{`country "USA" is longer than the 2 characters allowed`}},
		{name: "the attributes of a multi-valued RDN out of DER order are refused",
			raw:     func(t *testing.T) []byte { return unsortedRDN(t, atv(oidOU, "Security"), atv(oidOU, "Platform")) },
			wantErr: ReasonInvalidSubject, wantMsg: []string{"not in DER order"}},
		{name: "the same attribute twice in one RDN is refused",
			raw:     func(t *testing.T) []byte { return unsortedRDN(t, atv(oidOU, "a"), atv(oidOU, "a")) },
			wantErr: ReasonInvalidSubject, wantMsg: []string{"the same attribute twice in RDN 1"}},
		{name: "an empty RDN is refused",
			raw:     func(t *testing.T) []byte { return []byte{0x30, 0x02, 0x31, 0x00} },
			wantErr: ReasonInvalidSubject, wantMsg: []string{"empty RDN"}},
		{name: "a length that is not minimally encoded is refused",
			raw:     func(t *testing.T) []byte { return []byte{0x30, 0x81, 0x00} },
			wantErr: ReasonInvalidSubject, wantMsg: []string{"does not parse"}},
		{name: "bytes after the subject are refused",
			raw:     func(t *testing.T) []byte { return append(rawSubject(t, rdnOf(atv(oidCN, "a"))), 0) },
			wantErr: ReasonInvalidSubject, wantMsg: []string{"does not parse"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw := tc.raw(t)
			dn, err := parseDistinguishedName(raw)
			if tc.wantErr != "" {
				wantErr(t, err, "RequestError/"+tc.wantErr, tc.wantMsg...)
				return
			}
			wantErr(t, err, "")
			if got := dn.String(); got != tc.want {
				t.Errorf("name = %q, want %q", got, tc.want)
			}
			enc, err := dn.encode()
			if err != nil || !bytes.Equal(enc, raw) {
				t.Errorf("encode = % x (%v), want the input % x", enc, err, raw)
			}
		})
	}
}

func TestApplySubjectEncodesTheCertificateSubject(t *testing.T) {
	t.Parallel()
	setO := func(t *v1alpha1.CertificateTemplate) { t.Organization = []string{"Example Infra"} }
	cases := []struct {
		name string
		tmpl *v1alpha1.CertificateTemplate
		raw  func(t *testing.T) []byte
		// want is the certificate's subject as encoded.
		want func(t *testing.T) []byte
	}{
		{name: "without template subject fields the requested subject is kept byte for byte",
			tmpl: templ("web"),
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidO, "Corp.")), rdnOf(atv(oidOU, typed(asn1.TagUTF8String, "Dept."))), rdnOf(atv(oidOU, "Baz"), atv(oidOU, "Bar")), rdnOf(atv(oidCN, typed(asn1.TagIA5String, "a"))))
			},
			want: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidO, "Corp.")), rdnOf(atv(oidOU, typed(asn1.TagUTF8String, "Dept."))), rdnOf(atv(oidOU, "Baz"), atv(oidOU, "Bar")), rdnOf(atv(oidCN, typed(asn1.TagIA5String, "a"))))
			}},
		{name: "pass-through keeps the requested subject byte for byte",
			raw:  func(t *testing.T) []byte { return rawSubject(t, rdnOf(atv(oidCN, "a")), rdnOf(atv(oidC, "DE"))) },
			want: func(t *testing.T) []byte { return rawSubject(t, rdnOf(atv(oidCN, "a")), rdnOf(atv(oidC, "DE"))) }},
		{name: "a template organization takes the requested organization's place and keeps the rest as sent",
			tmpl: templ("web", setO),
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidC, "DE")), rdnOf(atv(oidO, typed(asn1.TagUTF8String, "Req Org"))), rdnOf(atv(oidCN, typed(asn1.TagUTF8String, "a"))))
			},
			want: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidC, "DE")), rdnOf(atv(oidO, "Example Infra")), rdnOf(atv(oidCN, typed(asn1.TagUTF8String, "a"))))
			}},
		{name: "template attributes land where Go puts them in a subject in Go's order",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) {
				t.Organization, t.Country, t.Locality = []string{"Example Infra"}, []string{"US"}, []string{"Lisbon"}
			}),
			raw: func(t *testing.T) []byte {
				return rawSubject(t, pkix.Name{CommonName: "www.example.com", OrganizationalUnit: []string{"Web", "Ops"}, Province: []string{"CA"}}.ToRDNSequence()...)
			},
			want: func(t *testing.T) []byte {
				return rawSubject(t, pkix.Name{CommonName: "www.example.com", OrganizationalUnit: []string{"Web", "Ops"}, Province: []string{"CA"},
					Organization: []string{"Example Infra"}, Country: []string{"US"}, Locality: []string{"Lisbon"}}.ToRDNSequence()...)
			}},
		{name: "template attributes go before the first requested RDN that comes later in Go's order, in a literal subject's order",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) {
				t.Organization, t.Country = []string{"Example Infra"}, []string{"US"}
			}),
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidCN, "a")), rdnOf(atv(oidOU, "Dept.")), rdnOf(atv(oidO, "Corp.")))
			},
			want: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidC, "US")), rdnOf(atv(oidO, "Example Infra")), rdnOf(atv(oidCN, "a")), rdnOf(atv(oidOU, "Dept.")))
			}},
		{name: "the example of docs/what-gets-signed.md: a literal subject with the template's organization and country",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) {
				t.Organization, t.Country = []string{"Example Infra"}, []string{"US"}
			}),
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidO, "Corp.")), rdnOf(atv(oidOU, "Dept.")), rdnOf(atv(oidCN, "app")))
			},
			want: func(t *testing.T) []byte {
				want := rawSubject(t, rdnOf(atv(oidC, "US")), rdnOf(atv(oidO, "Example Infra")), rdnOf(atv(oidOU, "Dept.")), rdnOf(atv(oidCN, "app")))
				if dn, err := parseDistinguishedName(want); err != nil || dn.String() != "CN=app,OU=Dept.,O=Example Infra,C=US" {
					t.Fatalf("the page's example reads %s (%v)", dn, err)
				}
				return want
			}},
		{name: "a requested multi-valued RDN loses only the attribute the template sets",
			tmpl: templ("web", setO),
			raw:  func(t *testing.T) []byte { return rawSubject(t, rdnOf(atv(oidCN, "a"), atv(oidO, "Req Org"))) },
			want: func(t *testing.T) []byte {
				return rawSubject(t, rdnOf(atv(oidO, "Example Infra")), rdnOf(atv(oidCN, "a")))
			}},
		{name: "several template values make one multi-valued RDN, encoded as Go encodes them",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) {
				t.CN, t.OrganizationalUnit = "svc", []string{"Security", "Platform", "*.wild"}
			}),
			raw: func(t *testing.T) []byte { return rawSubject(t) },
			want: func(t *testing.T) []byte {
				return rawSubject(t, pkix.Name{CommonName: "svc", OrganizationalUnit: []string{"Security", "Platform", "*.wild"}}.ToRDNSequence()...)
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			is := prepare(t, tc.tmpl, Request{CSR: newCSR(t, testKey(t, "ecdsa256"), x509.CertificateRequest{RawSubject: tc.raw(t)})})
			if err := applySubject(is); err != nil {
				t.Fatal(err)
			}
			if want := tc.want(t); !bytes.Equal(is.cert.RawSubject, want) {
				got, _ := parseDistinguishedName(is.cert.RawSubject)
				wantDN, _ := parseDistinguishedName(want)
				t.Errorf("subject %s (% x), want %s (% x)", got, is.cert.RawSubject, wantDN, want)
			}
		})
	}
}
