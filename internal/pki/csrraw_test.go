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
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// The regression tests of issue #21 finding 6 ("silently drop what was
// asked"): Go's CSR parser drops SAN types it does not know and leaves
// requested extensions and attributes to the caller, and each of these
// was signed without them before. Now each is refused by name.

// sanExtension encodes a subjectAltName extension of the given
// GeneralNames, as a hostile or unusual client would send them.
func sanExtension(t *testing.T, names ...asn1.RawValue) pkix.Extension {
	t.Helper()
	v, err := asn1.Marshal(names)
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: oidExtensionSubjectAltName, Value: v}
}

// generalName is a GeneralName with the context tag number tag and the
// given content.
func generalName(t *testing.T, tag int, compound bool, content any) asn1.RawValue {
	t.Helper()
	b, ok := content.([]byte)
	if !ok {
		var err error
		if b, err = asn1.Marshal(content); err != nil {
			t.Fatal(err)
		}
	}
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tag, IsCompound: compound, Bytes: b}
}

// otherName is an otherName GeneralName of type oid holding a UTF8String,
// as cert-manager's CSR builder encodes spec.otherNames.
func otherName(t *testing.T, oid asn1.ObjectIdentifier, value string) asn1.RawValue {
	t.Helper()
	typeID, err := asn1.Marshal(oid)
	if err != nil {
		t.Fatal(err)
	}
	v, err := asn1.MarshalWithParams(value, "utf8")
	if err != nil {
		t.Fatal(err)
	}
	explicit, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: v})
	if err != nil {
		t.Fatal(err)
	}
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: append(typeID, explicit...)}
}

// extension is an extension with a value marshalled by encoding/asn1.
func extension(t *testing.T, oid asn1.ObjectIdentifier, critical bool, value any) pkix.Extension {
	t.Helper()
	v, err := asn1.Marshal(value)
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: oid, Critical: critical, Value: v}
}

// certExtension is the extension oid of a throwaway certificate Go's own
// encoder makes from tmpl: the way to get Go's encoding of name
// constraints, which a CSR template cannot carry.
func certExtension(t *testing.T, tmpl x509.Certificate, oid asn1.ObjectIdentifier) pkix.Extension {
	t.Helper()
	key := testKey(t, "ecdsa256-throwaway")
	tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = big.NewInt(1), testNow, testNow.Add(time.Hour)
	tmpl.BasicConstraintsValid, tmpl.IsCA = true, true
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range c.Extensions {
		if e.Id.Equal(oid) {
			return e
		}
	}
	t.Fatalf("no extension %s", oid)
	return pkix.Extension{}
}

// anyNames allows every kind of SAN and every CN.
var anyNames = templ("any", func(t *v1alpha1.CertificateTemplate) {
	t.Kind = v1alpha1.PeerKind
	t.AllowedDNSNames = []string{"**"}
	t.AllowedIPRanges = []string{"0.0.0.0/0", "::/0"}
	t.AllowedURIs = []string{"spiffe://**/**", "https://**/**"}
	t.AllowedEmailAddresses = []string{"*@**"}
	t.AllowedCommonNames = []string{"*"}
})

func TestWhatTheIssuerDoesNotEvaluateIsRefusedByName(t *testing.T) {
	t.Parallel()
	upn := asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}
	dns := generalName(t, 2, false, []byte("a.example.com"))
	const ds, ke = x509.KeyUsageDigitalSignature, x509.KeyUsageKeyEncipherment
	cases := []struct {
		name string
		csr  x509.CertificateRequest
		// pem, when set, is the CSR instead of one made from csr.
		pem     func(t *testing.T) []byte
		req     func(*Request)
		wantErr string
		wantMsg []string
	}{
		{name: "an otherName SAN (a UPN) is refused naming its type",
			csr:     x509.CertificateRequest{ExtraExtensions: []pkix.Extension{sanExtension(t, dns, otherName(t, upn, "alice@example.com"))}},
			wantErr: ReasonUnsupportedSAN, wantMsg: []string{"otherName of type 1.3.6.1.4.1.311.20.2.3 (userPrincipalName)", "otherName SANs are not supported", "spec.otherNames"}},
		{name: "an otherName SAN of a private type is refused naming the type",
			csr:     x509.CertificateRequest{ExtraExtensions: []pkix.Extension{sanExtension(t, otherName(t, asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 7}, "x"))}},
			wantErr: ReasonUnsupportedSAN, wantMsg: []string{"otherName of type 1.3.6.1.4.1.99999.7"}},
		{name: "a directoryName SAN is refused",
			csr: x509.CertificateRequest{ExtraExtensions: []pkix.Extension{sanExtension(t, dns,
				generalName(t, 4, true, rawSubject(t, rdnOf(atv(oidCN, "admin")), rdnOf(atv(oidO, "system:masters")))))}},
			wantErr: ReasonUnsupportedSAN, wantMsg: []string{"a directoryName subject alternative name"}},
		{name: "a registeredID SAN is refused naming its OID",
			csr: x509.CertificateRequest{ExtraExtensions: []pkix.Extension{sanExtension(t, dns,
				generalName(t, 8, false, []byte{0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37}))}},
			wantErr: ReasonUnsupportedSAN, wantMsg: []string{"a registeredID (1.3.6.1.4.1.311)"}},
		{name: "an x400Address SAN is refused",
			csr:     x509.CertificateRequest{ExtraExtensions: []pkix.Extension{sanExtension(t, generalName(t, 3, true, []byte{0x30, 0x00}))}},
			wantErr: ReasonUnsupportedSAN, wantMsg: []string{"an x400Address"}},
		{name: "an ediPartyName SAN is refused",
			csr:     x509.CertificateRequest{ExtraExtensions: []pkix.Extension{sanExtension(t, generalName(t, 5, true, []byte{0xa1, 0x03, 0x0c, 0x01, 'x'}))}},
			wantErr: ReasonUnsupportedSAN, wantMsg: []string{"an ediPartyName"}},
		{name: "a subjectAltName extension without a name is refused",
			csr:     x509.CertificateRequest{Subject: pkix.Name{CommonName: "a.example.com"}, ExtraExtensions: []pkix.Extension{sanExtension(t)}},
			wantErr: ReasonInvalidSAN, wantMsg: []string{"holds no name"}},
		{name: "a requested subjectKeyIdentifier is refused naming it",
			csr:     x509.CertificateRequest{DNSNames: []string{"a.example.com"}, ExtraExtensions: []pkix.Extension{extension(t, asn1.ObjectIdentifier{2, 5, 29, 14}, false, []byte{1, 2, 3})}},
			wantErr: ReasonUnsupportedExtension, wantMsg: []string{"extension 2.5.29.14 (subjectKeyIdentifier", "does not evaluate"}},
		{name: "a requested OCSP must-staple is refused naming it",
			csr:     x509.CertificateRequest{DNSNames: []string{"a.example.com"}, ExtraExtensions: []pkix.Extension{extension(t, asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 24}, false, []int{5})}},
			wantErr: ReasonUnsupportedExtension, wantMsg: []string{"1.3.6.1.5.5.7.1.24 (TLS feature (OCSP must-staple))"}},
		{name: "a critical private extension is refused naming its OID",
			csr:     x509.CertificateRequest{DNSNames: []string{"a.example.com"}, ExtraExtensions: []pkix.Extension{extension(t, asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, true, "x")}},
			wantErr: ReasonUnsupportedExtension, wantMsg: []string{"1.3.6.1.4.1.99999.1"}},
		{name: "a non-critical private extension is refused too",
			csr:     x509.CertificateRequest{DNSNames: []string{"a.example.com"}, ExtraExtensions: []pkix.Extension{extension(t, asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 2}, false, "x")}},
			wantErr: ReasonUnsupportedExtension, wantMsg: []string{"1.3.6.1.4.1.99999.2"}},
		{name: "a challengePassword attribute (openssl's prompt) is refused naming it",
			pem: func(t *testing.T) []byte {
				return csrWithAttribute(t, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 7}, "s3cret")
			},
			wantErr: ReasonUnsupportedExtension, wantMsg: []string{"attribute 1.2.840.113549.1.9.7 (challengePassword)"}},
		{name: "an unstructuredName attribute is refused naming it",
			pem: func(t *testing.T) []byte {
				return csrWithAttribute(t, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 2}, "host")
			},
			wantErr: ReasonUnsupportedExtension, wantMsg: []string{"attribute 1.2.840.113549.1.9.2 (unstructuredName)"}},
		{name: "a keyUsage extension that differs from the request's usages is refused",
			csr:     x509.CertificateRequest{DNSNames: []string{"a.example.com"}, ExtraExtensions: []pkix.Extension{keyUsageExtension(t, ds|ke|x509.KeyUsageCertSign)}},
			req:     func(r *Request) { r.KeyUsage = ds | ke },
			wantErr: ReasonInvalidCSR, wantMsg: []string{"keyUsage extension asks for digital signature, key encipherment, cert sign but the request's usages are digital signature, key encipherment"}},
		{name: "an extKeyUsage extension that differs from the request's usages is refused",
			csr:     x509.CertificateRequest{DNSNames: []string{"a.example.com"}, ExtraExtensions: []pkix.Extension{extension(t, oidExtensionExtKeyUsage, false, []asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 1}, {1, 3, 6, 1, 5, 5, 7, 3, 3}})}},
			req:     func(r *Request) { r.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} },
			wantErr: ReasonInvalidCSR, wantMsg: []string{"extKeyUsage extension asks for server auth, code signing but the request's usages are server auth"}},
		{name: "an extKeyUsage no request usage names is refused by OID",
			csr:     x509.CertificateRequest{DNSNames: []string{"a.example.com"}, ExtraExtensions: []pkix.Extension{extension(t, oidExtensionExtKeyUsage, false, []asn1.ObjectIdentifier{{1, 3, 6, 1, 4, 1, 99999, 3}})}},
			wantErr: ReasonUnsupportedExtension, wantMsg: []string{"extended key usage 1.3.6.1.4.1.99999.3"}},
		{name: "a basicConstraints CA:TRUE on a request that is not for a CA is refused",
			csr:     x509.CertificateRequest{DNSNames: []string{"a.example.com"}, ExtraExtensions: []pkix.Extension{extension(t, oidExtensionBasicConstraints, true, struct{ IsCA bool }{true})}},
			wantErr: ReasonInvalidCSR, wantMsg: []string{"basicConstraints extension says CA:TRUE but the request's isCA is false"}},
		{name: "a pathLenConstraint on a certificate that is not a CA is refused",
			csr: x509.CertificateRequest{DNSNames: []string{"a.example.com"}, ExtraExtensions: []pkix.Extension{extension(t, oidExtensionBasicConstraints, true, struct {
				IsCA    bool `asn1:"optional"`
				PathLen int
			}{false, 2})}},
			wantErr: ReasonInvalidCSR, wantMsg: []string{"pathLenConstraint on a certificate that is not a CA"}},
		{name: "nameConstraints on a request that is not for a CA are refused",
			csr: x509.CertificateRequest{DNSNames: []string{"a.example.com"}, ExtraExtensions: []pkix.Extension{
				certExtension(t, x509.Certificate{PermittedDNSDomains: []string{"example.com"}}, oidExtensionNameConstraints)}},
			wantErr: ReasonInvalidCSR, wantMsg: []string{"name constraints, which only a CA certificate carries"}},
		{name: "the same extension twice is refused (by Go's parser, and again by the walk)",
			csr: x509.CertificateRequest{DNSNames: []string{"a.example.com"}, ExtraExtensions: []pkix.Extension{
				extension(t, oidExtensionExtKeyUsage, false, []asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 1}}),
				extension(t, oidExtensionExtKeyUsage, false, []asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 1}})}},
			req:     func(r *Request) { r.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} },
			wantErr: ReasonInvalidCSR, wantMsg: []string{"duplicate requested extensions"}},
		{name: "usages encoded in the CSR as cert-manager encodes them are signed",
			csr: x509.CertificateRequest{DNSNames: []string{"a.example.com"}, ExtraExtensions: []pkix.Extension{keyUsageExtension(t, ds|ke),
				extension(t, oidExtensionExtKeyUsage, false, []asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 2}, {1, 3, 6, 1, 5, 5, 7, 3, 1}})}},
			req: func(r *Request) {
				r.KeyUsage, r.ExtKeyUsage = ds|ke, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
			}},
		{name: "a basicConstraints CA:FALSE on a request that is not for a CA is signed",
			csr: x509.CertificateRequest{DNSNames: []string{"a.example.com"}, ExtraExtensions: []pkix.Extension{extension(t, oidExtensionBasicConstraints, true, struct {
				IsCA bool `asn1:"optional"`
			}{false})}}},
		{name: "every SAN type the issuer signs is signed",
			csr: x509.CertificateRequest{DNSNames: []string{"a.example.com"}, IPAddresses: []net.IP{net.ParseIP("10.0.0.1"), net.ParseIP("fd00::1")},
				URIs: []*url.URL{mustURL("spiffe://cluster.local/ns/a/sa/b")}, EmailAddresses: []string{"a@example.com"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mods := []func(*Request){}
			if tc.req != nil {
				mods = append(mods, tc.req)
			}
			if tc.pem != nil {
				mods = append(mods, func(r *Request) { r.CSR = tc.pem(t) })
			}
			out, err := issueFor(t, anyNames, tc.csr, mods...)
			if tc.wantErr == "" {
				wantErr(t, err, "")
				assertOnlySignedSANTypes(t, out.Cert)
				return
			}
			wantErr(t, err, "RequestError/"+tc.wantErr, tc.wantMsg...)
		})
	}
}

// csrWithAttribute is a CSR, signed by a P-256 key, with an empty subject
// and one attribute of type oid holding a UTF8String: what openssl writes
// for a challengePassword. Go's CSR encoder has no field for it any more.
func csrWithAttribute(t testing.TB, oid asn1.ObjectIdentifier, value string) []byte {
	t.Helper()
	key := testKey(t, "ecdsa256-attr")
	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	var info cryptobyte.Builder
	info.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(0)
		b.AddBytes([]byte{0x30, 0x00}) // an empty subject
		b.AddBytes(spki)
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oid)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(value)) })
				})
			})
		})
	})
	tbs := info.BytesOrPanic()
	digest := sha256.Sum256(tbs)
	sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	var csr cryptobyte.Builder
	csr.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}) // ecdsa-with-SHA256
		})
		b.AddASN1BitString(sig)
	})
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.BytesOrPanic()})
}

// keyUsageExtension is Go's encoding of a keyUsage extension, taken from
// a throwaway certificate.
func keyUsageExtension(t *testing.T, ku x509.KeyUsage) pkix.Extension {
	t.Helper()
	return certExtension(t, x509.Certificate{KeyUsage: ku}, oidExtensionKeyUsage)
}

// assertOnlySignedSANTypes asserts, with encoding/asn1 rather than the code under
// test, that a certificate's subjectAltName extension holds only DNS
// names, IP addresses, URIs and email addresses.
func assertOnlySignedSANTypes(t *testing.T, c *x509.Certificate) {
	t.Helper()
	for _, e := range c.Extensions {
		if !e.Id.Equal(oidExtensionSubjectAltName) {
			continue
		}
		var names []asn1.RawValue
		if rest, err := asn1.Unmarshal(e.Value, &names); err != nil || len(rest) > 0 {
			t.Fatalf("the SAN extension does not parse: %v", err)
		}
		for _, n := range names {
			if n.Class != asn1.ClassContextSpecific || !slices.Contains([]int{1, 2, 6, 7}, n.Tag) || n.IsCompound {
				t.Fatalf("the certificate has a SAN of class %d tag %d", n.Class, n.Tag)
			}
		}
	}
}

// ncExtension encodes name constraints by hand, for subtrees Go would not
// write.
func ncExtension(t *testing.T, permitted func(b *cryptobyte.Builder)) pkix.Extension {
	t.Helper()
	return ncFields(t, permitted, nil)
}

// ncFields encodes name constraints by hand with the permittedSubtrees
// and excludedSubtrees fields given (nil: the field is left out).
func ncFields(t *testing.T, permitted, excluded func(b *cryptobyte.Builder)) pkix.Extension {
	t.Helper()
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if permitted != nil {
			b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), permitted)
		}
		if excluded != nil {
			b.AddASN1(cbasn1.Tag(1).ContextSpecific().Constructed(), excluded)
		}
	})
	return pkix.Extension{Id: oidExtensionNameConstraints, Critical: true, Value: b.BytesOrPanic()}
}

// dnsSubtree adds a GeneralSubtree of a DNS domain.
func dnsSubtree(domain string) func(b *cryptobyte.Builder) {
	return func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(domain)) })
		})
	}
}

func TestRequestedNameConstraints(t *testing.T) {
	t.Parallel()
	constrained := templ("team-ca", func(t *v1alpha1.CertificateTemplate) {
		t.AllowCA = true
		t.AllowedDNSNames = []string{"*.team-a.example.com"}
		t.AllowedIPRanges = []string{"10.0.0.0/8"}
		t.AllowedCommonNames = []string{"*"}
	})
	unconstrained := templ("any-ca", func(t *v1alpha1.CertificateTemplate) {
		t.AllowCA, t.UnconstrainedCA = true, true
		t.AllowedCommonNames = []string{"*"}
	})
	cidr := func(s string) *net.IPNet {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		if ip4 := n.IP.To4(); ip4 != nil {
			n.IP = ip4
		}
		return n
	}
	nc := func(c x509.Certificate) pkix.Extension { return certExtension(t, c, oidExtensionNameConstraints) }
	cases := []struct {
		name    string
		tmpl    *v1alpha1.CertificateTemplate
		ext     pkix.Extension
		wantErr string
		wantMsg []string
		// want are the CA certificate's constraints.
		want x509.Certificate
	}{
		{name: "a permitted DNS domain inside the template's is issued as requested, the other types kept from the template",
			tmpl: constrained, ext: nc(x509.Certificate{PermittedDNSDomains: []string{"api.team-a.example.com"}}),
			want: x509.Certificate{PermittedDNSDomains: []string{"api.team-a.example.com"}, PermittedIPRanges: []*net.IPNet{cidr("10.0.0.0/8")},
				PermittedURIDomains: []string{"invalid"}, ExcludedURIDomains: []string{""}, PermittedEmailAddresses: []string{"invalid"}, ExcludedEmailAddresses: []string{""}}},
		{name: "the template's domain itself may be requested",
			tmpl: constrained, ext: nc(x509.Certificate{PermittedDNSDomains: []string{"team-a.example.com"}}),
			want: x509.Certificate{PermittedDNSDomains: []string{"team-a.example.com"}, PermittedIPRanges: []*net.IPNet{cidr("10.0.0.0/8")},
				PermittedURIDomains: []string{"invalid"}, ExcludedURIDomains: []string{""}, PermittedEmailAddresses: []string{"invalid"}, ExcludedEmailAddresses: []string{""}}},
		{name: "a permitted IP range inside the template's and excluded subtrees are issued as requested",
			tmpl: constrained, ext: nc(x509.Certificate{PermittedIPRanges: []*net.IPNet{cidr("10.1.0.0/16")}, ExcludedDNSDomains: []string{"db.team-a.example.com"}, ExcludedIPRanges: []*net.IPNet{cidr("10.1.2.0/24")}}),
			want: x509.Certificate{PermittedDNSDomains: []string{"team-a.example.com"}, PermittedIPRanges: []*net.IPNet{cidr("10.1.0.0/16")},
				ExcludedDNSDomains: []string{"db.team-a.example.com"}, ExcludedIPRanges: []*net.IPNet{cidr("10.1.2.0/24")},
				PermittedURIDomains: []string{"invalid"}, ExcludedURIDomains: []string{""}, PermittedEmailAddresses: []string{"invalid"}, ExcludedEmailAddresses: []string{""}}},
		{name: "a permitted DNS domain outside the template's is refused naming it and the rule",
			tmpl: constrained, ext: nc(x509.Certificate{PermittedDNSDomains: []string{"bank.example.org"}}),
			wantErr: "RequestError/" + ReasonPolicyViolation, wantMsg: []string{`requested name constraint permitted DNS domain "bank.example.org" is not allowed by template "team-ca"`, "allowedDNSNames give (team-a.example.com)", "spec.nameConstraints.permitted.dnsDomains"}},
		{name: "a permitted DNS domain wider than the template's is refused",
			tmpl: constrained, ext: nc(x509.Certificate{PermittedDNSDomains: []string{"example.com"}}),
			wantErr: "RequestError/" + ReasonPolicyViolation, wantMsg: []string{`permitted DNS domain "example.com"`}},
		{name: "a permitted IP range wider than the template's is refused",
			tmpl: constrained, ext: nc(x509.Certificate{PermittedIPRanges: []*net.IPNet{cidr("0.0.0.0/0")}}),
			wantErr: "RequestError/" + ReasonPolicyViolation, wantMsg: []string{`permitted IP range "0.0.0.0/0"`, "allowedIPRanges give (10.0.0.0/8)"}},
		{name: "a permitted URI domain is refused when the template allows no URI",
			tmpl: constrained, ext: nc(x509.Certificate{PermittedURIDomains: []string{"cluster.local"}}),
			wantErr: "RequestError/" + ReasonPolicyViolation, wantMsg: []string{`permitted URI domain "cluster.local"`, "its allowedURIs is unset, so a CA it signs may permit no URI domain"}},
		{name: "an unconstrainedCA template issues the requested constraints as asked",
			tmpl: unconstrained, ext: nc(x509.Certificate{PermittedDNSDomains: []string{"example.org"}, PermittedEmailAddresses: []string{"example.org"}, ExcludedURIDomains: []string{".evil.example.org"}}),
			want: x509.Certificate{PermittedDNSDomains: []string{"example.org"}, PermittedEmailAddresses: []string{"example.org"}, ExcludedURIDomains: []string{".evil.example.org"}}},
		{name: "a request that marks its constraints non-critical gets them critical",
			tmpl: unconstrained, ext: func() pkix.Extension {
				e := nc(x509.Certificate{PermittedDNSDomains: []string{"example.org"}})
				e.Critical = false
				return e
			}(),
			want: x509.Certificate{PermittedDNSDomains: []string{"example.org"}}},
		{name: "a subtree with a minimum is refused",
			tmpl: unconstrained, ext: ncExtension(t, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte("example.org")) })
					b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte{1}) })
				})
			}),
			wantErr: "RequestError/" + ReasonInvalidCSR, wantMsg: []string{"minimum or maximum"}},
		{name: "a directoryName subtree is refused",
			tmpl: unconstrained, ext: ncExtension(t, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.Tag(4).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { b.AddBytes(rawSubject(t, rdnOf(atv(oidO, "x")))) })
				})
			}),
			wantErr: "RequestError/" + ReasonUnsupportedExtension, wantMsg: []string{"name type [4]"}},
		{name: "an IP range with bits outside its mask is refused",
			tmpl: unconstrained, ext: ncExtension(t, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.Tag(7).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte{10, 1, 2, 3, 255, 0, 0, 0}) })
				})
			}),
			wantErr: "RequestError/" + ReasonInvalidCSR, wantMsg: []string{"bits outside its /8 mask"}},
		{name: "an empty permittedSubtrees next to excluded subtrees is refused, not read as absent",
			tmpl: constrained, ext: ncFields(t, func(*cryptobyte.Builder) {}, dnsSubtree("db.team-a.example.com")),
			wantErr: "RequestError/" + ReasonInvalidCSR, wantMsg: []string{"has an empty permittedSubtrees field, which RFC 5280 forbids", "leave the field out or list at least one subtree"}},
		{name: "an empty permittedSubtrees alone is refused as empty",
			tmpl: unconstrained, ext: ncFields(t, func(*cryptobyte.Builder) {}, nil),
			wantErr: "RequestError/" + ReasonInvalidCSR, wantMsg: []string{"has an empty permittedSubtrees field"}},
		{name: "an empty excludedSubtrees next to permitted subtrees is refused",
			tmpl: unconstrained, ext: ncFields(t, dnsSubtree("example.org"), func(*cryptobyte.Builder) {}),
			wantErr: "RequestError/" + ReasonInvalidCSR, wantMsg: []string{"has an empty excludedSubtrees field"}},
		{name: "excluded subtrees alone keep the template's permitted ones",
			tmpl: constrained, ext: ncFields(t, nil, dnsSubtree("db.team-a.example.com")),
			want: x509.Certificate{PermittedDNSDomains: []string{"team-a.example.com"}, PermittedIPRanges: []*net.IPNet{cidr("10.0.0.0/8")},
				ExcludedDNSDomains:  []string{"db.team-a.example.com"},
				PermittedURIDomains: []string{"invalid"}, ExcludedURIDomains: []string{""}, PermittedEmailAddresses: []string{"invalid"}, ExcludedEmailAddresses: []string{""}}},
		{name: "a wildcard DNS domain is refused",
			tmpl: unconstrained, ext: nc(x509.Certificate{PermittedDNSDomains: []string{"*.example.org"}}),
			wantErr: "RequestError/" + ReasonInvalidCSR, wantMsg: []string{`permitted DNS domain "*.example.org", which is not valid`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := issueFor(t, tc.tmpl, x509.CertificateRequest{Subject: pkix.Name{CommonName: "team-ca"}, ExtraExtensions: []pkix.Extension{tc.ext}},
				func(r *Request) { r.IsCA, r.KeyUsage = true, x509.KeyUsageDigitalSignature|x509.KeyUsageCertSign })
			wantErr(t, err, tc.wantErr, tc.wantMsg...)
			if err != nil {
				return
			}
			want := tc.want
			want.PermittedDNSDomainsCritical = true
			if !sameNameConstraints(out.Cert, &want) {
				t.Errorf("constraints (critical %v):\n permitted DNS %q IP %v email %q URI %q\n excluded DNS %q IP %v email %q URI %q\nwant:\n permitted DNS %q IP %v email %q URI %q\n excluded DNS %q IP %v email %q URI %q",
					out.Cert.PermittedDNSDomainsCritical,
					out.Cert.PermittedDNSDomains, out.Cert.PermittedIPRanges, out.Cert.PermittedEmailAddresses, out.Cert.PermittedURIDomains,
					out.Cert.ExcludedDNSDomains, out.Cert.ExcludedIPRanges, out.Cert.ExcludedEmailAddresses, out.Cert.ExcludedURIDomains,
					want.PermittedDNSDomains, want.PermittedIPRanges, want.PermittedEmailAddresses, want.PermittedURIDomains,
					want.ExcludedDNSDomains, want.ExcludedIPRanges, want.ExcludedEmailAddresses, want.ExcludedURIDomains)
			}
		})
	}
}
