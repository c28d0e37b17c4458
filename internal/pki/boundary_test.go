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
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// The regression tests of issue #9 ("the policy is a hard boundary"): each
// case is a way a requester or a tenant got a certificate outside its
// template's policy before, and must now be refused.

// issueFor signs a CSR built from csr with the intermediate CA under tmpl,
// for a request "web" in namespace team-a.
func issueFor(t *testing.T, tmpl *v1alpha1.CertificateTemplate, csr x509.CertificateRequest, mods ...func(*Request)) (*Issued, error) {
	t.Helper()
	req := Request{CSR: newCSR(t, testKey(t, "ecdsa256-leaf"), csr), Duration: time.Hour, Name: "web", Namespace: "team-a"}
	for _, m := range mods {
		m(&req)
	}
	data := RenderData{Vars: map[string]string{"Domain": "example.com"}, Issuer: IssuerData{Name: "ca", Namespace: "team-a", Kind: "NstanceIssuer"}}
	return Issue(interCA(t), policyFor(tmpl), req, data, testNow, rand.Reader)
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestTemplateSANsFromRequestDataPassThePolicy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		tmpl    *v1alpha1.CertificateTemplate
		csr     x509.CertificateRequest
		wantErr string
		wantMsg []string
	}{
		{name: "a DNS name rendered from the CN is checked like a requested one",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) {
				t.DNS = []string{"{{ .Request.CommonName }}"}
				t.AllowedDNSNames = []string{"*.example.com"}
			}),
			csr:     x509.CertificateRequest{Subject: pkix.Name{CommonName: "evil.example.org"}},
			wantErr: "RequestError/" + ReasonPolicyViolation, wantMsg: []string{`"evil.example.org"`, "field dns[0] from request data", "allowedDNSNames"}},
		{name: "an IP rendered from the CN is checked like a requested one",
			tmpl:    templ("web", func(t *v1alpha1.CertificateTemplate) { t.IP = []string{"{{ .Request.CommonName }}"} }),
			csr:     x509.CertificateRequest{Subject: pkix.Name{CommonName: "10.9.9.9"}},
			wantErr: "RequestError/" + ReasonPolicyViolation, wantMsg: []string{`"10.9.9.9"`, "allowedIPRanges is unset"}},
		{name: "a DNS name rendered from the request's name is checked",
			tmpl:    templ("web", func(t *v1alpha1.CertificateTemplate) { t.DNS = []string{"{{ .Request.Name }}.svc"} }),
			wantErr: "RequestError/" + ReasonPolicyViolation, wantMsg: []string{`"web.svc"`}},
		{name: "a DNS name rendered from the request's name passes when allowed",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) {
				t.DNS = []string{"{{ .Request.Name }}.{{ .Request.Namespace }}.svc"}
				t.AllowedDNSNames = []string{"*.{{ .Request.Namespace }}.svc"}
			})},
		{name: "a DNS name rendered from vars and the namespace is the template's own",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) { t.DNS = []string{"{{ .Request.Namespace }}.{{ .Vars.Domain }}"} })},
		{name: "a CN rendered from the request's CN is checked",
			tmpl:    templ("web", func(t *v1alpha1.CertificateTemplate) { t.CN = "{{ .Request.CommonName }}" }),
			csr:     x509.CertificateRequest{Subject: pkix.Name{CommonName: "admin"}},
			wantErr: "RequestError/" + ReasonPolicyViolation, wantMsg: []string{`common name rendered by template "web" field cn from request data "admin"`}},
		{name: "an organization rendered from request data is checked",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) {
				t.CN = "fixed"
				t.Organization = []string{"{{ .Request.CommonName }}"}
			}),
			csr:     x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:masters"}},
			wantErr: "RequestError/" + ReasonPolicyViolation, wantMsg: []string{`"system:masters"`, "allowedSubject.organization"}},
		{name: "a CN equal to a SAN rendered from request data needs that SAN allowed",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) {
				t.DNS = []string{"{{ .Request.CommonName }}"}
			}),
			csr:     x509.CertificateRequest{Subject: pkix.Name{CommonName: "anything.example.org"}},
			wantErr: "RequestError/" + ReasonPolicyViolation},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := issueFor(t, tc.tmpl, tc.csr)
			wantErr(t, err, tc.wantErr, tc.wantMsg...)
		})
	}
}

func TestUnsetAllowListsAllowNothing(t *testing.T) {
	t.Parallel()
	dnsOnly := templ("web", func(t *v1alpha1.CertificateTemplate) { t.AllowedDNSNames = []string{"*.example.com"} })
	cases := []struct {
		name    string
		tmpl    *v1alpha1.CertificateTemplate
		csr     x509.CertificateRequest
		wantErr string
		wantMsg []string
	}{
		{name: "a template that restricts DNS names refuses any IP", tmpl: dnsOnly,
			csr: x509.CertificateRequest{IPAddresses: []net.IP{net.ParseIP("192.0.2.1")}}, wantErr: "RequestError/" + ReasonPolicyViolation, wantMsg: []string{"allowedIPRanges is unset"}},
		{name: "it refuses any URI", tmpl: dnsOnly,
			csr: x509.CertificateRequest{URIs: []*url.URL{mustURL("spiffe://cluster.local/ns/x/sa/y")}}, wantErr: "RequestError/" + ReasonPolicyViolation, wantMsg: []string{"allowedURIs is unset"}},
		{name: "it refuses any email address", tmpl: dnsOnly,
			csr: x509.CertificateRequest{EmailAddresses: []string{"root@example.com"}}, wantErr: "RequestError/" + ReasonPolicyViolation, wantMsg: []string{"allowedEmailAddresses is unset"}},
		{name: "a template without allow-lists refuses any DNS name", tmpl: templ("bare"),
			csr: x509.CertificateRequest{DNSNames: []string{"a.example.com"}}, wantErr: "RequestError/" + ReasonPolicyViolation, wantMsg: []string{"allowedDNSNames is unset"}},
		{name: "a template without allow-lists refuses a CN that is no SAN", tmpl: templ("bare"),
			csr: x509.CertificateRequest{Subject: pkix.Name{CommonName: "kubernetes-admin"}}, wantErr: "RequestError/" + ReasonPolicyViolation, wantMsg: []string{"allowedCommonNames"}},
		{name: "a CN that is one of the allowed SANs passes", tmpl: dnsOnly,
			csr: x509.CertificateRequest{Subject: pkix.Name{CommonName: "a.example.com"}, DNSNames: []string{"a.example.com"}}},
		{name: "allowedCommonNames admits an identity CN", tmpl: templ("client", func(t *v1alpha1.CertificateTemplate) { t.AllowedCommonNames = []string{"system:node:*"} }),
			csr: x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:worker-1"}}},
		{name: "a CN with characters no name needs is refused", tmpl: templ("client", func(t *v1alpha1.CertificateTemplate) { t.AllowedCommonNames = []string{"*"} }),
			csr: x509.CertificateRequest{Subject: pkix.Name{CommonName: "a, O=system:masters"}}, wantErr: "RequestError/" + ReasonPolicyViolation, wantMsg: []string{"character"}},
		{name: "a bare wildcard DNS name is never valid", tmpl: templ("any", func(t *v1alpha1.CertificateTemplate) { t.AllowedDNSNames = []string{"**"} }),
			csr: x509.CertificateRequest{DNSNames: []string{"*"}}, wantErr: "RequestError/" + ReasonInvalidSAN},
		{name: "a wildcard over a top-level domain is never valid", tmpl: templ("any", func(t *v1alpha1.CertificateTemplate) { t.AllowedDNSNames = []string{"**"} }),
			csr: x509.CertificateRequest{DNSNames: []string{"*.com"}}, wantErr: "RequestError/" + ReasonInvalidSAN},
		{name: "a trailing dot is refused", tmpl: dnsOnly,
			csr: x509.CertificateRequest{DNSNames: []string{"a.example.com."}}, wantErr: "RequestError/" + ReasonInvalidSAN},
		{name: "an all-numeric name is refused as a DNS name", tmpl: templ("any", func(t *v1alpha1.CertificateTemplate) { t.AllowedDNSNames = []string{"**"} }),
			csr: x509.CertificateRequest{DNSNames: []string{"10.0.0.1"}}, wantErr: "RequestError/" + ReasonInvalidSAN},
		{name: "'**' explicitly allows any valid DNS name", tmpl: templ("any", func(t *v1alpha1.CertificateTemplate) { t.AllowedDNSNames = []string{"**"} }),
			csr: x509.CertificateRequest{DNSNames: []string{"a.b.example.org"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := issueFor(t, tc.tmpl, tc.csr)
			wantErr(t, err, tc.wantErr, tc.wantMsg...)
		})
	}
}

// rawSubject encodes an RDN sequence as a CSR's RawSubject.
func rawSubject(t *testing.T, rdns ...pkix.RelativeDistinguishedNameSET) []byte {
	t.Helper()
	b, err := asn1.Marshal(pkix.RDNSequence(rdns))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	oidCN    = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidO     = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidEmail = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
)

func TestSubjectsAreCheckedAndReencoded(t *testing.T) {
	t.Parallel()
	atv := func(oid asn1.ObjectIdentifier, v any) pkix.AttributeTypeAndValue {
		return pkix.AttributeTypeAndValue{Type: oid, Value: v}
	}
	rdn := func(atvs ...pkix.AttributeTypeAndValue) pkix.RelativeDistinguishedNameSET { return atvs }
	allowAll := templ("web", func(t *v1alpha1.CertificateTemplate) {
		t.AllowedDNSNames = []string{"*.example.com"}
		t.AllowedCommonNames = []string{"*"}
	})
	cases := []struct {
		name    string
		tmpl    *v1alpha1.CertificateTemplate
		raw     func(t *testing.T) []byte
		wantErr string
		wantMsg []string
		check   func(t *testing.T, c *x509.Certificate)
	}{
		{name: "several CNs are refused (Go keeps only the last)", tmpl: allowAll,
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdn(atv(oidCN, "a.example.com")), rdn(atv(oidCN, "evil.example.org")))
			},
			wantErr: "RequestError/" + ReasonInvalidSubject, wantMsg: []string{"2 cn attributes"}},
		{name: "a multi-valued RDN is checked value by value", tmpl: allowAll,
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdn(atv(oidCN, "a.example.com"), atv(oidO, "system:masters")))
			},
			wantErr: "RequestError/" + ReasonPolicyViolation, wantMsg: []string{`requested subject organization "system:masters"`, "allowedSubject.organization is unset"}},
		{name: "a multi-valued RDN whose every value is allowed is signed as sent",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) {
				t.AllowedCommonNames = []string{"*"}
				t.AllowedSubject = &v1alpha1.SubjectPatterns{Organization: []string{"Example *"}}
			}),
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdn(atv(oidCN, "a.example.com"), atv(oidO, "Example Shop")))
			},
			check: func(t *testing.T, c *x509.Certificate) {
				want := rawSubject(t, rdn(atv(oidCN, "a.example.com"), atv(oidO, "Example Shop")))
				if string(c.RawSubject) != string(want) {
					t.Errorf("subject % x, want % x", c.RawSubject, want)
				}
			}},
		{name: "an emailAddress attribute is refused", tmpl: allowAll,
			raw:     func(t *testing.T) []byte { return rawSubject(t, rdn(atv(oidEmail, "root@example.com"))) },
			wantErr: "RequestError/" + ReasonInvalidSubject, wantMsg: []string{"email SAN"}},
		{name: "an unknown attribute is refused", tmpl: allowAll,
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdn(atv(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, "x")))
			},
			wantErr: "RequestError/" + ReasonInvalidSubject, wantMsg: []string{"1.3.6.1.4.1.99999.1"}},
		{name: "a non-string value is refused", tmpl: allowAll,
			raw:     func(t *testing.T) []byte { return rawSubject(t, rdn(atv(oidO, 42))) },
			wantErr: "RequestError/" + ReasonInvalidSubject},
		{name: "a requested organization needs allowedSubject", tmpl: allowAll,
			raw:     func(t *testing.T) []byte { return rawSubject(t, rdn(atv(oidO, "system:masters"))) },
			wantErr: "RequestError/" + ReasonPolicyViolation, wantMsg: []string{`requested subject organization "system:masters"`, "allowedSubject.organization is unset"}},
		{name: "a requested organization outside allowedSubject is refused",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) {
				t.AllowedSubject = &v1alpha1.SubjectPatterns{Organization: []string{"Example *"}}
			}),
			raw:     func(t *testing.T) []byte { return rawSubject(t, rdn(atv(oidO, "system:masters"))) },
			wantErr: "RequestError/" + ReasonPolicyViolation, wantMsg: []string{"Example *"}},
		{name: "a requested organization inside allowedSubject is kept",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) {
				t.AllowedSubject = &v1alpha1.SubjectPatterns{Organization: []string{"Example *"}}
			}),
			raw: func(t *testing.T) []byte { return rawSubject(t, rdn(atv(oidO, "Example Shop"))) },
			check: func(t *testing.T, c *x509.Certificate) {
				if got := c.Subject.Organization; len(got) != 1 || got[0] != "Example Shop" {
					t.Errorf("O = %v", got)
				}
			}},
		{name: "a template organization replaces the request's without a check",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) { t.Organization = []string{"Example Infra"} }),
			raw:  func(t *testing.T) []byte { return rawSubject(t, rdn(atv(oidO, "system:masters"))) },
			check: func(t *testing.T, c *x509.Certificate) {
				if got := c.Subject.Organization; len(got) != 1 || got[0] != "Example Infra" {
					t.Errorf("O = %v", got)
				}
			}},
		{name: "pass-through refuses a T61String value rather than re-encode it as another string type", tmpl: nil,
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdn(pkix.AttributeTypeAndValue{Type: oidO, Value: asn1.RawValue{Tag: asn1.TagT61String, Bytes: []byte("Acme")}}))
			},
			wantErr: "RequestError/" + ReasonInvalidSubject, wantMsg: []string{"organization is a T61String value"}},
		{name: "pass-through signs the subject with the string types it was sent in", tmpl: nil,
			raw: func(t *testing.T) []byte {
				return rawSubject(t, rdn(pkix.AttributeTypeAndValue{Type: oidO, Value: asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte("Acme")}}),
					rdn(pkix.AttributeTypeAndValue{Type: oidCN, Value: asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte("acme")}}))
			},
			check: func(t *testing.T, c *x509.Certificate) {
				want := rawSubject(t, rdn(pkix.AttributeTypeAndValue{Type: oidO, Value: asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte("Acme")}}),
					rdn(pkix.AttributeTypeAndValue{Type: oidCN, Value: asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte("acme")}}))
				if string(c.RawSubject) != string(want) {
					t.Errorf("subject % x, want % x", c.RawSubject, want)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw := tc.raw(t)
			out, err := issueFor(t, tc.tmpl, x509.CertificateRequest{RawSubject: raw})
			wantErr(t, err, tc.wantErr, tc.wantMsg...)
			if err != nil {
				return
			}
			if tc.check != nil {
				tc.check(t, out.Cert)
			}
		})
	}
}

func TestSubCAsCarryNameConstraints(t *testing.T) {
	t.Parallel()
	tmpl := templ("team-ca", func(t *v1alpha1.CertificateTemplate) {
		t.AllowCA = true
		t.AllowedDNSNames = []string{"*.team-a.example.com"}
	})
	subKey := testKey(t, "ecdsa256-sub")
	out, err := Issue(interCA(t), policyFor(tmpl), Request{CSR: newCSR(t, subKey, x509.CertificateRequest{Subject: pkix.Name{CommonName: "sub.team-a.example.com"}, DNSNames: []string{"sub.team-a.example.com"}}), Duration: 24 * time.Hour, IsCA: true}, RenderData{}, testNow, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sub := out.Cert
	if !sub.IsCA || sub.MaxPathLen != 0 || !sub.MaxPathLenZero {
		t.Fatalf("sub-CA IsCA=%v MaxPathLen=%d zero=%v", sub.IsCA, sub.MaxPathLen, sub.MaxPathLenZero)
	}
	if len(sub.PermittedDNSDomains) != 1 || sub.PermittedDNSDomains[0] != "team-a.example.com" || !sub.PermittedDNSDomainsCritical {
		t.Fatalf("PermittedDNSDomains = %v critical=%v", sub.PermittedDNSDomains, sub.PermittedDNSDomainsCritical)
	}
	p := newPKI(t)
	leafFor := func(name string) *x509.Certificate {
		leafKey := testKey(t, "ecdsa256-subleaf")
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
			NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, sub, leafKey.Public(), subKey)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	verify := func(c *x509.Certificate) error {
		roots, inters := x509.NewCertPool(), x509.NewCertPool()
		roots.AddCert(p.root)
		inters.AddCert(p.inter)
		inters.AddCert(sub)
		_, err := c.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, CurrentTime: testNow})
		return err
	}
	if err := verify(leafFor("web.team-a.example.com")); err != nil {
		t.Errorf("a leaf inside the constraints does not verify: %v", err)
	}
	if err := verify(leafFor("www.bank.example")); err == nil || !strings.Contains(err.Error(), "constraint") {
		t.Errorf("a leaf outside the constraints verified (err %v)", err)
	}

	_, err = Issue(interCA(t), policyFor(templ("any-ca", func(t *v1alpha1.CertificateTemplate) {
		t.AllowCA = true
		t.AllowedDNSNames = []string{"**"}
	})), Request{CSR: newCSR(t, subKey, x509.CertificateRequest{}), Duration: time.Hour, IsCA: true}, RenderData{}, testNow, rand.Reader)
	wantErr(t, err, "TemplateError", "NameConstraints", "unconstrainedCA")

	out, err = Issue(interCA(t), policyFor(templ("any-ca", func(t *v1alpha1.CertificateTemplate) {
		t.AllowCA, t.UnconstrainedCA = true, true
		t.AllowedDNSNames = []string{"**"}
		t.AllowedCommonNames = []string{"any-ca"}
	})), Request{CSR: newCSR(t, subKey, x509.CertificateRequest{Subject: pkix.Name{CommonName: "any-ca"}}), Duration: time.Hour, IsCA: true}, RenderData{}, testNow, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Cert.PermittedDNSDomains)+len(out.Cert.ExcludedDNSDomains) != 0 {
		t.Errorf("an unconstrainedCA template's CA has constraints")
	}
}

func TestPatternsMatchPerComponentAtIssuance(t *testing.T) {
	t.Parallel()
	tmpl := templ("mesh", func(t *v1alpha1.CertificateTemplate) {
		t.AllowedURIs = []string{"spiffe://cluster.local/ns/{{ .Request.Namespace }}/sa/*"}
		t.AllowedEmailAddresses = []string{"*@{{ .Request.Namespace }}.example.com"}
	})
	cases := []struct {
		name    string
		csr     x509.CertificateRequest
		wantErr string
	}{
		{name: "a URI in the namespace's path passes", csr: x509.CertificateRequest{URIs: []*url.URL{mustURL("spiffe://cluster.local/ns/team-a/sa/web")}}},
		{name: "'*' does not cross a '/'", csr: x509.CertificateRequest{URIs: []*url.URL{mustURL("spiffe://cluster.local/ns/team-a/sa/web/x")}}, wantErr: "RequestError/" + ReasonPolicyViolation},
		{name: "dot-segments are refused", csr: x509.CertificateRequest{URIs: []*url.URL{mustURL("spiffe://cluster.local/ns/team-a/sa/../../team-b/sa/web")}}, wantErr: "RequestError/" + ReasonInvalidSAN},
		{name: "a query is refused", csr: x509.CertificateRequest{URIs: []*url.URL{mustURL("spiffe://cluster.local/ns/team-a/sa/web?x=1")}}, wantErr: "RequestError/" + ReasonInvalidSAN},
		{name: "another host is refused", csr: x509.CertificateRequest{URIs: []*url.URL{mustURL("spiffe://cluster.local.evil.com/ns/team-a/sa/web")}}, wantErr: "RequestError/" + ReasonPolicyViolation},
		{name: "an email in the namespace's domain passes", csr: x509.CertificateRequest{EmailAddresses: []string{"ops@team-a.example.com"}}},
		{name: "an email with two '@' is refused", csr: x509.CertificateRequest{EmailAddresses: []string{"ops@evil.org@team-a.example.com"}}, wantErr: "RequestError/" + ReasonInvalidSAN},
		{name: "an email in a sub-domain does not match", csr: x509.CertificateRequest{EmailAddresses: []string{"ops@x.team-a.example.com"}}, wantErr: "RequestError/" + ReasonPolicyViolation},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := issueFor(t, tmpl, tc.csr)
			wantErr(t, err, tc.wantErr)
		})
	}
}

// hugeRSACSR is a CSR whose RSA modulus is bits long and whose signature
// is garbage: verifying it would cost seconds; it must be refused first.
func hugeRSACSR(t *testing.T, bits int) []byte {
	t.Helper()
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	n.SetBit(n, 0, 1)
	pub, err := asn1.Marshal(struct{ N, E *big.Int }{n, big.NewInt(65537)})
	if err != nil {
		t.Fatal(err)
	}
	rsaAlg := pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}, Parameters: asn1.NullRawValue}
	spki, err := asn1.Marshal(struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}{rsaAlg, asn1.BitString{Bytes: pub, BitLength: 8 * len(pub)}})
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := asn1.Marshal(pkix.RDNSequence{})
	tbs, err := asn1.Marshal(struct {
		Version    int
		Subject    asn1.RawValue
		PublicKey  asn1.RawValue
		Attributes asn1.RawValue
	}{0, asn1.RawValue{FullBytes: subject}, asn1.RawValue{FullBytes: spki}, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true}})
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(struct {
		TBS       asn1.RawValue
		Algorithm pkix.AlgorithmIdentifier
		Signature asn1.BitString
	}{asn1.RawValue{FullBytes: tbs}, pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, Parameters: asn1.NullRawValue},
		asn1.BitString{Bytes: make([]byte, bits/8), BitLength: bits}})
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func TestOversizedRSAKeyIsRefusedBeforeItsSignatureIsVerified(t *testing.T) {
	t.Parallel()
	// 16384 bits fits the PEM size cap; a verification with it costs far
	// more than the size check.
	_, err := ParseCSR(hugeRSACSR(t, 16384))
	wantErr(t, err, "RequestError/"+ReasonInvalidCSR, "16384 bits", "more than the 8192 supported")
}

func TestKubernetesCSRsNeedATemplateThatAllowsThem(t *testing.T) {
	t.Parallel()
	tmpl := templ("node", func(t *v1alpha1.CertificateTemplate) {
		t.CN = "{{ .Request.Username }}"
		t.Organization = []string{"{{ first .Request.Groups }}"}
		t.KubernetesCSRs = &v1alpha1.KubernetesCSRRequesters{Usernames: []string{"system:node:*"}}
	})
	csr := x509.CertificateRequest{Subject: pkix.Name{CommonName: "ignored"}}
	out, err := issueFor(t, tmpl, csr, func(r *Request) {
		r.KubernetesCSR, r.Namespace, r.Username, r.Groups = true, "", "system:node:worker-1", []string{"system:nodes"}
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Cert.Subject.CommonName != "system:node:worker-1" || out.Cert.Subject.Organization[0] != "system:nodes" {
		t.Errorf("subject = %s, want the vouched user and group", out.Cert.Subject)
	}
	_, err = issueFor(t, tmpl, csr, func(r *Request) { r.KubernetesCSR, r.Namespace, r.Username = true, "", "mallory" })
	wantErr(t, err, "RequestError/"+ReasonRequesterNotAllowed, `"mallory"`)
	_, err = issueFor(t, templ("web"), csr, func(r *Request) { r.KubernetesCSR, r.Namespace, r.Username = true, "", "system:node:worker-1" })
	wantErr(t, err, "RequestError/"+ReasonRequesterNotAllowed, "kubernetesCSRs")
	_, err = issueFor(t, tmpl, csr, func(r *Request) {
		r.KubernetesCSR, r.Namespace, r.Username, r.IsCA = true, "", "system:node:worker-1", true
	})
	wantErr(t, err, "RequestError/"+ReasonPolicyViolation, "allowCA")
}

// Found in review: each was signed before.
func TestReviewFindingsAreRefused(t *testing.T) {
	t.Parallel()
	t.Run("a CN equal to an email SAN but for the local part's case is not that SAN", func(t *testing.T) {
		t.Parallel()
		tmpl := templ("client", func(t *v1alpha1.CertificateTemplate) {
			t.Kind = v1alpha1.ClientKind
			t.AllowedEmailAddresses = []string{"alice@example.com"}
		})
		_, err := issueFor(t, tmpl, x509.CertificateRequest{Subject: pkix.Name{CommonName: "ALICE@example.com"}, EmailAddresses: []string{"alice@example.com"}})
		wantErr(t, err, "RequestError/"+ReasonPolicyViolation, `"ALICE@example.com"`)
		_, err = issueFor(t, tmpl, x509.CertificateRequest{Subject: pkix.Name{CommonName: "alice@EXAMPLE.com"}, EmailAddresses: []string{"alice@example.com"}})
		wantErr(t, err, "")
	})
	t.Run("an allow-list may not use a user name, which may hold '*'", func(t *testing.T) {
		t.Parallel()
		tmpl := templ("self", func(t *v1alpha1.CertificateTemplate) {
			t.AllowedCommonNames = []string{"{{ .Request.Username }}"}
			t.KubernetesCSRs = &v1alpha1.KubernetesCSRRequesters{Usernames: []string{"oidc:*"}}
		})
		_, err := issueFor(t, tmpl, x509.CertificateRequest{Subject: pkix.Name{CommonName: "oidc:alice"}}, func(r *Request) {
			r.KubernetesCSR, r.Namespace, r.Username = true, "", "oidc:*"
		})
		wantErr(t, err, "TemplateError", "allowedCommonNames[0]", "only .Vars, .Issuer and .Request.Namespace")
		wantErr(t, ValidateTemplates([]v1alpha1.CertificateTemplate{*tmpl}, nil, nil, IssuerData{Name: "ca", Kind: "NstanceClusterIssuer"}),
			"TemplateError", "allowedCommonNames[0]")
	})
	t.Run("a Kubernetes CSR is never signed as asked, even where pass-through is allowed", func(t *testing.T) {
		t.Parallel()
		_, err := issueFor(t, nil, x509.CertificateRequest{Subject: pkix.Name{CommonName: "kube-admin", Organization: []string{"system:masters"}}}, func(r *Request) {
			r.KubernetesCSR, r.Namespace, r.Username = true, "", "mallory"
		})
		wantErr(t, err, "RequestError/"+ReasonRequesterNotAllowed, "never signed without a template")
	})
	t.Run("a subject equal to the CA's but for case is the CA's", func(t *testing.T) {
		t.Parallel()
		tmpl := templ("any", func(t *v1alpha1.CertificateTemplate) {
			t.AllowedCommonNames = []string{"*"}
			t.AllowedSubject = &v1alpha1.SubjectPatterns{Organization: []string{"*"}}
		})
		_, err := issueFor(t, tmpl, x509.CertificateRequest{Subject: pkix.Name{CommonName: "TEST INTERMEDIATE", Organization: []string{"test"}}})
		wantErr(t, err, "RequestError/"+ReasonPolicyViolation, "the CA's own subject")
	})
}
