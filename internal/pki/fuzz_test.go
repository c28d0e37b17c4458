package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// fuzzTemplate is a template with every kind of policy.
var fuzzTemplate = &v1alpha1.CertificateTemplate{
	Name:                  "fuzz",
	Kind:                  v1alpha1.PeerKind,
	Subject:               v1alpha1.Subject{Organization: []string{"{{ .Request.Namespace }}"}},
	DNS:                   []string{"{{ .Request.Name }}.{{ .Request.Namespace }}.svc"},
	AllowedDNSNames:       []string{"*.team-a.example.com", "team-a.example.com", "*.*.team-a.example.com"},
	AllowedIPRanges:       []string{"10.0.0.0/8", "fd00::/8"},
	AllowedURIs:           []string{"spiffe://cluster.local/ns/team-a/*"},
	AllowedEmailAddresses: []string{"*@team-a.example.com"},
	TTL:                   720,
}

// checkIssueResult asserts the invariants of any Issue outcome.
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
	csr, perr := ParseCSR(csrPEM)
	if perr != nil {
		t.Fatalf("Issue accepted a CSR that ParseCSR rejects: %v", perr)
	}
	if !out.Cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(csr.PublicKey) {
		t.Fatalf("certified key differs from the CSR's")
	}
	if err := out.Cert.CheckSignatureFrom(ca.Cert); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if out.Cert.NotAfter.After(ca.Cert.NotAfter) || !out.Cert.NotAfter.After(out.Cert.NotBefore) {
		t.Fatalf("validity %s - %s", out.Cert.NotBefore, out.Cert.NotAfter)
	}
	if out.Cert.IsCA {
		t.Fatalf("issued a CA")
	}
	for _, d := range csr.DNSNames {
		if !matchAnyDNS(d, fuzzTemplate.AllowedDNSNames) {
			t.Fatalf("requested DNS name %q outside the policy was signed", d)
		}
	}
	prefixes, _ := parseIPRanges("fuzz", fuzzTemplate.AllowedIPRanges)
	for _, ip := range csr.IPAddresses {
		if !ipInRanges(ip, prefixes) {
			t.Fatalf("requested IP %s outside the policy was signed", ip)
		}
	}
	for _, u := range csr.URIs {
		if !matchAnyGlob(u.String(), fuzzTemplate.AllowedURIs, false) {
			t.Fatalf("requested URI %q outside the policy was signed", u)
		}
	}
	for _, e := range csr.EmailAddresses {
		if !matchAnyGlob(e, fuzzTemplate.AllowedEmailAddresses, true) {
			t.Fatalf("requested email %q outside the policy was signed", e)
		}
	}
	if cn := out.Cert.Subject.CommonName; cn != "" && !matchAnyDNS(cn, fuzzTemplate.AllowedDNSNames) {
		ok := false
		for _, d := range out.Cert.DNSNames {
			ok = ok || dnsKey(d) == dnsKey(cn)
		}
		for _, ip := range out.Cert.IPAddresses {
			ok = ok || ip.String() == cn
		}
		for _, u := range out.Cert.URIs {
			ok = ok || u.String() == cn
		}
		for _, e := range out.Cert.EmailAddresses {
			ok = ok || strings.EqualFold(e, cn)
		}
		if !ok {
			t.Fatalf("CN %q outside the policy was signed", cn)
		}
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

func FuzzRender(f *testing.F) {
	seeds := []struct{ text, cn string }{
		{"plain", "x"},
		{"{{ .Request.CommonName }}", "{{ .Vars.Secret }}"},
		{"{{ .Vars.ClusterSlug | upper }}-{{ truncate 3 .Request.CommonName }}", "héllo wörld"},
		{`{{ replace "" .Request.CommonName .Request.CommonName }}`, strings.Repeat("ab", 100)},
		{`{{ $a := replace "" "xx" .Request.CommonName }}{{ $b := replace "" $a $a }}{{ len $b }}`, strings.Repeat("a", 300)},
		{`{{ printf "%4096s" .Request.CommonName }}x`, "y"},
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
	f.Fuzz(func(t *testing.T, text, cn string) {
		data := renderData()
		data.Request.CommonName = cn
		data.Request.DNSNames = []string{cn, cn}
		start := time.Now()
		out, err := Render("fuzz", text, data)
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Fatalf("Render took %s", elapsed)
		}
		if len(out) > MaxRenderedSize {
			t.Fatalf("output of %d bytes", len(out))
		}
		if err != nil {
			var te *TemplateError
			if !errors.As(err, &te) {
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
	for _, s := range seeds {
		p := newCSR(f, key, s)
		f.Add(p, true, int64(24))
		b, _ := pem.Decode(p)
		f.Add(b.Bytes, false, int64(100000))
	}
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
		out, err := Issue(ca, fuzzTemplate, "", req, RenderData{}, testNow, rand.Reader)
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
		out, err := Issue(ca, fuzzTemplate, "", req, RenderData{}, testNow, rand.Reader)
		checkIssueResult(t, ca, csrPEM, out, err)
	})
}
