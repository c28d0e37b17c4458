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
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/url"
	"regexp"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// fuzzTemplate is a template with every kind of policy.
var fuzzTemplate = &v1alpha1.CertificateTemplate{
	Name:                  "fuzz",
	Kind:                  v1alpha1.PeerKind,
	Subject:               v1alpha1.Subject{Organization: []string{"{{ .Request.Namespace }}"}},
	DNS:                   []string{"{{ .Request.Name }}.team-a.example.com", "{{ .Request.Namespace }}.internal"},
	AllowedDNSNames:       []string{"*.team-a.example.com", "team-a.example.com", "*.*.team-a.example.com"},
	AllowedIPRanges:       []string{"10.0.0.0/8", "fd00::/8"},
	AllowedURIs:           []string{"spiffe://cluster.local/ns/team-a/**"},
	AllowedEmailAddresses: []string{"*@team-a.example.com"},
	AllowedCommonNames:    []string{"svc-*"},
	TTL:                   720,
}

// fuzzConstraints are fuzzTemplate's allow-lists written out by hand as
// NameConstraints: a certificate the policy signed must verify under a CA
// that carries them (Go's verifier is the independent judge; the
// constraints are subtrees, coarser than the patterns).
var fuzzConstraints = x509.Certificate{
	PermittedDNSDomainsCritical: true,
	PermittedDNSDomains:         []string{"team-a.example.com", "team-a.internal"},
	PermittedIPRanges: []*net.IPNet{
		{IP: net.IP{10, 0, 0, 0}, Mask: net.CIDRMask(8, 32)},
		{IP: net.ParseIP("fd00::"), Mask: net.CIDRMask(8, 128)},
	},
	PermittedURIDomains:     []string{"cluster.local"},
	PermittedEmailAddresses: []string{"team-a.example.com"},
}

// constrainedCA is a root carrying fuzzConstraints, made once, with a pool
// holding it.
var constrainedCA = sync.OnceValues(func() (*x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := fuzzConstraints
	tmpl.SerialNumber = big.NewInt(1)
	tmpl.Subject = pkix.Name{CommonName: "Fuzz Constrained Root"}
	tmpl.NotBefore, tmpl.NotAfter = testNow.Add(-time.Hour), testNow.Add(24*365*time.Hour)
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	root, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	constrainedKey, constrainedRoots = key, x509.NewCertPool()
	constrainedRoots.AddCert(root)
	return root, nil
})

var (
	constrainedKey   *ecdsa.PrivateKey
	constrainedRoots *x509.CertPool
)

// checkWithinConstraints re-issues the names of an issued certificate under
// the constrained root and has Go's verifier check them.
func checkWithinConstraints(t *testing.T, leaf *x509.Certificate) {
	t.Helper()
	if len(leaf.DNSNames)+len(leaf.IPAddresses)+len(leaf.URIs)+len(leaf.EmailAddresses) == 0 {
		return // no name for the constraints to judge
	}
	root, err := constrainedCA()
	if err != nil {
		t.Fatal(err)
	}
	copyTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), NotBefore: testNow.Add(-time.Minute), NotAfter: testNow.Add(time.Hour),
		DNSNames: leaf.DNSNames, IPAddresses: leaf.IPAddresses, URIs: leaf.URIs, EmailAddresses: leaf.EmailAddresses}
	der, err := x509.CreateCertificate(rand.Reader, copyTmpl, root, leaf.PublicKey, constrainedKey)
	if err != nil {
		t.Fatalf("re-issuing the names: %v", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: constrainedRoots, CurrentTime: testNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("the policy signed names outside its allow-lists (DNS %q IP %v URI %v email %q): %v", leaf.DNSNames, leaf.IPAddresses, leaf.URIs, leaf.EmailAddresses, err)
	}
}

// parsedCSR parses a PEM CSR that ParseCSR accepted, without verifying
// its signature again.
func parsedCSR(t *testing.T, csrPEM []byte) *x509.CertificateRequest {
	t.Helper()
	b, _ := pem.Decode(bytes.TrimSpace(csrPEM))
	if b == nil {
		t.Fatalf("Issue accepted a CSR that is not PEM")
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		t.Fatalf("Issue accepted a CSR that does not parse: %v", err)
	}
	return csr
}

// fuzzDNSRefs are the reference matchers (refMatchDNS's expressions) of
// fuzzTemplate's DNS allow-list, compiled once rather than per name.
var fuzzDNSRefs = sync.OnceValue(func() []*regexp.Regexp {
	var res []*regexp.Regexp
	for _, p := range fuzzTemplate.AllowedDNSNames {
		res = append(res, regexp.MustCompile(`^`+refDNS(p)+`$`))
	}
	return res
})

// fuzzDNSAllowed is refMatchDNS of name against any of fuzzTemplate's DNS
// patterns.
func fuzzDNSAllowed(name string) bool {
	return slices.ContainsFunc(fuzzDNSRefs(), func(re *regexp.Regexp) bool { return re.MatchString(name) })
}

// checkIssueResult asserts the invariants of any Issue outcome under
// fuzzTemplate, judging the names with checks that do not reuse the
// matchers under test: Go's name-constraint verifier, and the reference
// matchers of match_test.go.
func checkIssueResult(t *testing.T, ca *CA, csrPEM []byte, out *Issued, err error) {
	t.Helper()
	if err != nil {
		var re *RequestError
		var te *TemplateError
		if !errors.As(err, &re) && !errors.As(err, &te) {
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
		if out != nil {
			t.Fatalf("result with error")
		}
		return
	}
	// Issue parsed and verified the CSR with ParseCSR, whose own fuzz
	// target checks it; here only the key is needed, so the CSR is parsed
	// without verifying its signature a second time.
	csr := parsedCSR(t, csrPEM)
	leaf := out.Cert
	if !leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(csr.PublicKey) {
		t.Fatalf("certified key differs from the CSR's")
	}
	if err := leaf.CheckSignatureFrom(ca.Cert); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if leaf.NotAfter.After(ca.Cert.NotAfter) || !leaf.NotAfter.After(leaf.NotBefore) {
		t.Fatalf("validity %s - %s", leaf.NotBefore, leaf.NotAfter)
	}
	if leaf.IsCA {
		t.Fatalf("issued a CA")
	}
	checkWithinConstraints(t, leaf)
	assertOnlySignedSANTypes(t, leaf)
	trustedDNS := map[string]bool{"team-a.internal": true}
	for _, d := range leaf.DNSNames {
		if !trustedDNS[strings.ToLower(d)] && !fuzzDNSAllowed(d) {
			t.Fatalf("DNS name %q outside the policy was signed", d)
		}
	}
	for _, u := range leaf.URIs {
		if !slices.ContainsFunc(fuzzTemplate.AllowedURIs, func(p string) bool { return refMatchURI(u, p) }) {
			t.Fatalf("URI %q outside the policy was signed", u)
		}
	}
	for _, e := range leaf.EmailAddresses {
		if !slices.ContainsFunc(fuzzTemplate.AllowedEmailAddresses, func(p string) bool { return refMatchEmail(e, p) }) {
			t.Fatalf("email %q outside the policy was signed", e)
		}
	}
	if cn := leaf.Subject.CommonName; cn != "" {
		ok := strings.HasPrefix(cn, "svc-") || fuzzDNSAllowed(cn)
		for _, d := range leaf.DNSNames {
			ok = ok || strings.EqualFold(d, cn)
		}
		for _, ip := range leaf.IPAddresses {
			ok = ok || ip.String() == cn
		}
		for _, u := range leaf.URIs {
			ok = ok || u.String() == cn
		}
		for _, e := range leaf.EmailAddresses {
			ok = ok || strings.EqualFold(e, cn)
		}
		if !ok {
			t.Fatalf("CN %q outside the policy was signed", cn)
		}
	}
	if got := leaf.Subject.Organization; len(got) != 1 || got[0] != "team-a" {
		t.Fatalf("organization %q is not the template's", got)
	}
	if len(leaf.Subject.OrganizationalUnit)+len(leaf.Subject.Country)+len(leaf.Subject.Province)+len(leaf.Subject.Locality)+
		len(leaf.Subject.StreetAddress)+len(leaf.Subject.PostalCode) > 0 || leaf.Subject.SerialNumber != "" {
		t.Fatalf("subject attributes the template does not allow were signed: %s", leaf.Subject)
	}
}

func FuzzParseCSR(f *testing.F) {
	for _, k := range []string{"ecdsa256", "rsa2048", "ed25519"} {
		good := newCSR(f, testKey(f, k), x509.CertificateRequest{Subject: pkix.Name{CommonName: "a.example.com"}, DNSNames: []string{"a.example.com"}})
		f.Add(good)
		b, _ := pem.Decode(good)
		f.Add(pem.EncodeToMemory(&pem.Block{Type: "NEW CERTIFICATE REQUEST", Bytes: b.Bytes}))
		f.Add(append(append([]byte{}, good...), good...))
	}
	f.Add([]byte(""))
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n"))
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		csr, err := ParseCSR(data)
		if (csr == nil) == (err == nil) {
			t.Fatalf("csr=%v err=%v", csr, err)
		}
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) || re.Reason != ReasonInvalidCSR {
				t.Fatalf("error is not an InvalidCSR RequestError: %T %v", err, err)
			}
			return
		}
		if err := csr.CheckSignature(); err != nil {
			t.Fatalf("accepted a CSR with a bad signature")
		}
	})
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func FuzzRender(f *testing.F) {
	// maxAlloc bounds what one Render may allocate, parsing included: a
	// few times the request budget.
	const maxAlloc = 8 << 20
	seeds := []struct{ text, cn string }{
		{"plain", "x"},
		{"{{ .Request.CommonName }}", "{{ .Vars.Secret }}"},
		{"{{ .Vars.ClusterSlug | upper }}-{{ truncate 3 .Request.CommonName }}", "héllo wörld"},
		{`{{ replace "" .Request.CommonName .Request.CommonName }}`, strings.Repeat("ab", 100)},
		{`{{ $a := replace "" "xx" .Request.CommonName }}{{ $b := replace "" $a $a }}{{ len $b }}`, strings.Repeat("a", 300)},
		{`{{ printf "%4096s" .Request.CommonName }}x`, "y"},
		{`{{ printf "%4096s" .Request.DNSNames }}`, "y"},
		{`{{ printf "%4096q" .Request.DNSNames }}`, "\x00\xff"},
		{`{{ printf "%4096[1]s%4096[1]s%4096[1]s" .Request.DNSNames }}`, "y"},
		{`{{ printf "%[x]*s" 1000000 .Request.DNSNames }}`, "y"},
		{`{{ printf "%4096s" (split "" (printf "%1000s" .Request.CommonName)) }}`, "y"},
		{`{{ $a := printf "%4000s" (split "" .Request.CommonName) }}{{ print $a $a $a $a $a $a $a $a }}`, "0123456789"},
		{`{{ println .Request.DNSNames .Request.DNSNames .Vars }}`, strings.Repeat("z", 1000)},
		{`{{ upper .Request.CommonName }}`, strings.Repeat("\xff", 1000)},
		{`{{ . }}{{ .Request }}`, ""},
		{strings.Repeat("{{ 1 }}", 2000), ""},
		{`{{ join "," (split "." .Request.CommonName) }}`, "a.b.c"},
		{`{{ if hasPrefix "a" .Request.CommonName }}{{ default "d" (index .Vars "X") }}{{ end }}`, "abc"},
		{`{{ range . }}{{ end }}`, ""},
		{`{{ define "x" }}{{ end }}`, ""},
		{`{{ slice .Request.CommonName 1 }}`, ""},
		{`{{ index .Request.DNSNames 10 }}`, ""},
		{`{{ .Request.Duration.Hours }}`, ""},
		{`{{ with $x := .Request.CommonName }}{{ $x }}{{ else }}none{{ end }}`, ""},
	}
	for _, s := range seeds {
		f.Add(s.text, s.cn)
	}
	// The data is built once; each execution only sets the fuzzed name.
	// The fuzz function runs one input at a time in a worker process (and
	// the seeds one after another under go test), so reusing it is safe.
	data := renderData()
	dns := make([]string, MaxSANs)
	data.Request.DNSNames = dns
	// The allocation counter is read through runtime/metrics: unlike
	// runtime.ReadMemStats it does not stop the world, twice per
	// execution.
	allocs := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	allocated := func() uint64 {
		metrics.Read(allocs)
		return allocs[0].Value.Uint64()
	}
	f.Fuzz(func(t *testing.T, text, cn string) {
		data.Request.CommonName = cn
		for i := range dns {
			dns[i] = cn
		}
		start := cpuTime(t)
		before := allocated()
		out, err := Render("fuzz", text, data)
		alloc := allocated() - before
		// CPU time, not wall time: on a loaded machine a worker waits
		// for a core, and waiting is not Render's cost.
		if used := cpuTime(t) - start; used > 2*time.Second {
			t.Fatalf("Render used %s of CPU", used)
		}
		// The fuzzer runs one input at a time per worker process, so the
		// process's allocations are Render's.
		if alloc > maxAlloc {
			t.Fatalf("Render allocated %d bytes, more than %d", alloc, maxAlloc)
		}
		if len(out) > MaxRenderedSize {
			t.Fatalf("output of %d bytes", len(out))
		}
		if err != nil {
			if _, ok := errors.AsType[*TemplateError](err); !ok {
				t.Fatalf("error is not a TemplateError: %T %v", err, err)
			}
			if out != "" {
				t.Fatalf("output with error")
			}
			return
		}
		if !strings.Contains(text, "{{") && out != text {
			t.Fatalf("plain text changed: %q -> %q", text, out)
		}
	})
}

func FuzzIssue(f *testing.F) {
	key := testKey(f, "ecdsa256")
	u, _ := url.Parse("spiffe://cluster.local/ns/team-a/sa/web")
	seeds := []x509.CertificateRequest{
		{Subject: pkix.Name{CommonName: "a.team-a.example.com"}, DNSNames: []string{"a.team-a.example.com", "team-a.example.com"}},
		{Subject: pkix.Name{CommonName: "evil.example.org"}, DNSNames: []string{"a.team-a.example.com"}},
		{DNSNames: []string{"*.team-a.example.com", "x.y.team-a.example.com"}, IPAddresses: []net.IP{net.ParseIP("10.1.2.3"), net.ParseIP("fd00::1")}},
		{URIs: []*url.URL{u}, EmailAddresses: []string{"ops@team-a.example.com"}},
		{DNSNames: []string{"api.other.example.com"}},
		{IPAddresses: []net.IP{net.ParseIP("192.0.2.1")}},
	}
	// Issue #26 and issue #21 finding 6: subjects as clients encode them,
	// and what Go's parser drops or leaves to the caller (SAN types,
	// requested extensions, attributes).
	mustMarshal := func(v any) []byte {
		b, err := asn1.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	rdn := func(oid asn1.ObjectIdentifier, vals ...string) pkix.RelativeDistinguishedNameSET {
		var out pkix.RelativeDistinguishedNameSET
		for _, v := range vals {
			out = append(out, pkix.AttributeTypeAndValue{Type: oid, Value: v})
		}
		return out
	}
	san := func(names ...asn1.RawValue) pkix.Extension {
		return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: mustMarshal(names)}
	}
	dnsName := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte("a.team-a.example.com")}
	upn := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: append(mustMarshal(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}),
		mustMarshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: mustMarshal("a@team-a.example.com")})...)}
	seeds = append(seeds,
		x509.CertificateRequest{Subject: pkix.Name{CommonName: "a.team-a.example.com", OrganizationalUnit: []string{"Platform", "Security"}}, DNSNames: []string{"a.team-a.example.com"}},
		x509.CertificateRequest{RawSubject: mustMarshal(pkix.RDNSequence{rdn(oidO, "Corp."), rdn(oidOU, "Dept."), rdn(oidOU, "Baz"), rdn(oidCN, "svc-x")})},
		x509.CertificateRequest{RawSubject: mustMarshal(pkix.RDNSequence{{{Type: oidCN, Value: "svc-a"}, {Type: oidO, Value: "team-a"}}, rdn(oidCN, "svc-b")})},
		x509.CertificateRequest{ExtraExtensions: []pkix.Extension{san(dnsName, upn)}},
		x509.CertificateRequest{ExtraExtensions: []pkix.Extension{san(dnsName, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: mustMarshal(pkix.RDNSequence{rdn(oidO, "system:masters")})})}},
		x509.CertificateRequest{DNSNames: []string{"a.team-a.example.com"}, ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 14}, Value: mustMarshal([]byte{1})}}},
		x509.CertificateRequest{DNSNames: []string{"a.team-a.example.com"}, ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 30}, Critical: true,
			Value: mustMarshal(struct {
				Permitted []asn1.RawValue `asn1:"optional,tag:0"`
			}{[]asn1.RawValue{{Tag: asn1.TagSequence, IsCompound: true, Bytes: mustMarshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte("example.org")})}}})}}},
	)
	for _, s := range seeds {
		p := newCSR(f, key, s)
		f.Add(p, true, int64(24))
		b, _ := pem.Decode(p)
		f.Add(b.Bytes, false, int64(100000))
	}
	f.Add(csrWithAttribute(f, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 7}, "s3cret"), true, int64(24))
	for _, k := range []string{"rsa2048", "ed25519", "ecdsa384", "rsa1024", "ecdsa224"} {
		f.Add(newCSR(f, testKey(f, k), x509.CertificateRequest{DNSNames: []string{"k.team-a.example.com"}}), true, int64(1))
	}
	f.Add([]byte("junk"), true, int64(-1))
	ca := interCA(f)
	f.Fuzz(func(t *testing.T, data []byte, isPEM bool, hours int64) {
		csrPEM := data
		if !isPEM {
			csrPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: data})
		}
		req := Request{CSR: csrPEM, Duration: time.Duration(hours%1_000_000) * time.Hour, Name: "web", Namespace: "team-a"}
		out, err := Issue(ca, Policy{Template: fuzzTemplate}, req, RenderData{}, testNow, rand.Reader)
		checkIssueResult(t, ca, csrPEM, out, err)
	})
}

// FuzzIssueFields fuzzes the content of well-signed CSRs, so that the
// policy code, not the signature check, sees the mutations.
func FuzzIssueFields(f *testing.F) {
	f.Add("a.team-a.example.com", "a.team-a.example.com", "10.1.2.3", "spiffe://cluster.local/ns/team-a/x", "a@team-a.example.com", false)
	f.Add("evil", "A.TEAM-A.example.com.", "::ffff:10.0.0.1", "spiffe://cluster.local/ns/team-b/x", "a@TEAM-A.example.com", false)
	f.Add("", "*.team-a.example.com", "", "", "", true)
	f.Add("10.0.0.1", "x.y.team-a.example.com", "10.0.0.1", "", "", false)
	f.Add("team-a.example.com", "a..team-a.example.com", "fe80::1", "spiffe://cluster.local/ns/team-a/*", "@team-a.example.com", false)
	key := testKey(f, "ecdsa256")
	ca := interCA(f)
	f.Fuzz(func(t *testing.T, cn, dns, ip, uri, email string, isCA bool) {
		tmpl := x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}
		if dns != "" {
			tmpl.DNSNames = strings.Split(dns, ",")
		}
		if ip != "" {
			if parsed := net.ParseIP(ip); parsed != nil {
				tmpl.IPAddresses = []net.IP{parsed}
			}
		}
		if uri != "" {
			if u, err := url.Parse(uri); err == nil {
				tmpl.URIs = []*url.URL{u}
			}
		}
		if email != "" {
			tmpl.EmailAddresses = []string{email}
		}
		der, err := x509.CreateCertificateRequest(rand.Reader, &tmpl, key)
		if err != nil {
			t.Skip()
		}
		csrPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
		req := Request{CSR: csrPEM, Duration: time.Hour, IsCA: isCA, Name: "web", Namespace: "team-a"}
		out, err := Issue(ca, Policy{Template: fuzzTemplate}, req, RenderData{}, testNow, rand.Reader)
		checkIssueResult(t, ca, csrPEM, out, err)
	})
}

// FuzzParseSubject fuzzes the parser of requested subjects (issue #26):
// any bytes give a subject or an InvalidSubject error, never a panic; an
// accepted subject encodes back to the same bytes, Go's own parser reads
// it with as many attributes, each of a type the issuer signs, and at
// most one CN.
func FuzzParseSubject(f *testing.F) {
	add := func(rdns ...pkix.RelativeDistinguishedNameSET) {
		b, err := asn1.Marshal(pkix.RDNSequence(rdns))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	one := func(oid asn1.ObjectIdentifier, v any) pkix.RelativeDistinguishedNameSET {
		return pkix.RelativeDistinguishedNameSET{{Type: oid, Value: v}}
	}
	add()
	add(pkix.Name{CommonName: "web", OrganizationalUnit: []string{"Platform", "Security"}, Country: []string{"DE"}}.ToRDNSequence()...)
	add(one(oidO, "Corp."), one(oidOU, "Dept."), one(oidCN, "*.x.example.com"))
	add(pkix.RelativeDistinguishedNameSET{{Type: oidCN, Value: "a"}, {Type: oidO, Value: "b"}})
	add(one(oidCN, "a"), one(oidCN, "b"))
	add(one(oidO, 42))
	add(one(oidO, asn1.RawValue{Tag: asn1.TagT61String, Bytes: []byte("x")}))
	add(one(oidO, asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte("x")}))
	add(one(oidEmail, "a@example.com"))
	add(one(asn1.ObjectIdentifier{1, 2, 3}, "x"))
	f.Add([]byte{0x30, 0x02, 0x31, 0x00})
	f.Add([]byte{0x30, 0x81, 0x00})
	f.Fuzz(func(t *testing.T, raw []byte) {
		dn, err := parseDistinguishedName(raw)
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) || re.Reason != ReasonInvalidSubject {
				t.Fatalf("error is not an InvalidSubject RequestError: %T %v", err, err)
			}
			return
		}
		enc, err := dn.encode()
		if err != nil || !bytes.Equal(enc, raw) {
			t.Fatalf("accepted subject % x encodes to % x (%v)", raw, enc, err)
		}
		var seq pkix.RDNSequence
		if rest, err := asn1.Unmarshal(raw, &seq); err != nil || len(rest) > 0 {
			t.Fatalf("accepted a subject encoding/asn1 does not parse: %v", err)
		}
		n, cns := 0, 0
		for _, rdn := range seq {
			for _, a := range rdn {
				n++
				if _, ok := findSubjectAttribute(a.Type); !ok {
					t.Fatalf("accepted attribute %s", a.Type)
				}
				if _, ok := a.Value.(string); !ok {
					t.Fatalf("accepted a %T value", a.Value)
				}
				if a.Type.Equal(oidCN) {
					cns++
				}
			}
		}
		if n != len(dn.attributes()) || n > MaxSubjectAttributes || cns > 1 {
			t.Fatalf("accepted %d attributes (%d read by the parser), %d CNs", n, len(dn.attributes()), cns)
		}
	})
}
