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
	"fmt"
	"net"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

func TestApplySANs(t *testing.T) {
	t.Parallel()
	u1, _ := url.Parse("spiffe://cluster.local/ns/team-a/sa/web")
	many := make([]string, 0, MaxSANs)
	for i := range MaxSANs {
		many = append(many, fmt.Sprintf("h%d.example.com", i))
	}
	tests := []struct {
		name       string
		tmpl       *v1alpha1.CertificateTemplate
		csr        x509.CertificateRequest
		wantDNS    []string
		wantIPs    []string
		wantURIs   []string
		wantEmails []string
		kind, msg  string
	}{
		{
			name:    "pass-through signs the requested SANs",
			csr:     x509.CertificateRequest{DNSNames: []string{"a.example.com"}, IPAddresses: []net.IP{net.ParseIP("10.0.0.1")}, URIs: []*url.URL{u1}, EmailAddresses: []string{"a@example.com"}},
			wantDNS: []string{"a.example.com"}, wantIPs: []string{"10.0.0.1"}, wantURIs: []string{u1.String()}, wantEmails: []string{"a@example.com"},
		},
		{
			name: "template dns and ip entries are added after the requested ones",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) {
				t.DNS = []string{"{{ .Request.Name }}.{{ .Request.Namespace }}.svc", "static.example.com"}
				t.IP = []string{"10.9.9.9", "fd00::1"}
			}),
			csr:     x509.CertificateRequest{DNSNames: []string{"a.example.com"}, IPAddresses: []net.IP{net.ParseIP("10.0.0.1")}},
			wantDNS: []string{"a.example.com", "web.team-a.svc", "static.example.com"}, wantIPs: []string{"10.0.0.1", "10.9.9.9", "fd00::1"},
		},
		{
			name: "duplicates are dropped, ignoring case",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) {
				t.DNS = []string{"A.example.com", "b.example.com"}
				t.IP = []string{"10.0.0.1"}
			}),
			csr:     x509.CertificateRequest{DNSNames: []string{"a.example.com", "a.example.com"}, IPAddresses: []net.IP{net.ParseIP("10.0.0.1"), net.ParseIP("10.0.0.1").To4()}, EmailAddresses: []string{"x@example.com", "x@example.com"}},
			wantDNS: []string{"a.example.com", "b.example.com"}, wantIPs: []string{"10.0.0.1"}, wantEmails: []string{"x@example.com"},
		},
		{
			name: "template entries that render empty are skipped",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) {
				t.DNS = []string{`{{ index .Vars "Unset" }}`}
				t.IP = []string{" "}
			}),
			csr:     x509.CertificateRequest{DNSNames: []string{"a.example.com"}},
			wantDNS: []string{"a.example.com"},
		},
		{
			name: "an invalid requested DNS name is rejected",
			csr:  x509.CertificateRequest{DNSNames: []string{"bad_name.example.com"}},
			kind: "RequestError/InvalidSAN", msg: `requested DNS name "bad_name.example.com" is not a valid DNS name`,
		},
		{
			name: "an invalid requested email address is rejected",
			csr:  x509.CertificateRequest{EmailAddresses: []string{"nobody"}},
			kind: "RequestError/InvalidSAN", msg: `requested email address "nobody" is not valid`,
		},
		{
			name: "a static template ip that does not parse is a template error",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) { t.IP = []string{"10.0.0.300"} }),
			kind: "TemplateError", msg: `template "web" field ip[0]: "10.0.0.300", which is not an IP address; fix the template`,
		},
		{
			name: "a templated ip that renders a non-IP for this request fails the request",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) { t.IP = []string{"{{ .Request.Name }}"} }),
			kind: "RequestError/TemplateRenderFailed", msg: `template "web" field ip[0] rendered "web", which is not an IP address for this request`,
		},
		{
			name: "a static template dns entry that is not a DNS name is a template error",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) { t.DNS = []string{"not valid"} }),
			kind: "TemplateError", msg: `template "web" field dns[0]: "not valid", which is not a valid DNS name`,
		},
		{
			name: "a templated dns entry that renders an invalid name fails the request",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) { t.DNS = []string{"{{ .Request.Name }}_x.svc"} }),
			kind: "RequestError/TemplateRenderFailed", msg: `field dns[0] rendered "web_x.svc", which is not a valid DNS name`,
		},
		{
			name: "template SANs that push the total over the limit are rejected",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) { t.DNS = []string{"extra.example.com"} }),
			csr:  x509.CertificateRequest{DNSNames: many},
			kind: "RequestError/TooManySANs", msg: "would have 257 subject alternative names",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			is := prepare(t, tc.tmpl, Request{CSR: newCSR(t, testKey(t, "ecdsa256"), tc.csr)})
			err := applySANs(is)
			wantErr(t, err, tc.kind, tc.msg)
			if err != nil {
				return
			}
			if !slices.Equal(is.cert.DNSNames, tc.wantDNS) {
				t.Errorf("DNS = %q, want %q", is.cert.DNSNames, tc.wantDNS)
			}
			var ips, uris []string
			for _, ip := range is.cert.IPAddresses {
				ips = append(ips, ip.String())
			}
			for _, u := range is.cert.URIs {
				uris = append(uris, u.String())
			}
			if !slices.Equal(ips, tc.wantIPs) {
				t.Errorf("IPs = %q, want %q", ips, tc.wantIPs)
			}
			if !slices.Equal(uris, tc.wantURIs) {
				t.Errorf("URIs = %q, want %q", uris, tc.wantURIs)
			}
			if !slices.Equal(is.cert.EmailAddresses, tc.wantEmails) {
				t.Errorf("emails = %q, want %q", is.cert.EmailAddresses, tc.wantEmails)
			}
		})
	}
}

func TestTooManySANsAreRefusedBeforeAnythingIsRendered(t *testing.T) {
	t.Parallel()
	many := make([]string, 0, MaxSANs+1)
	for i := range MaxSANs + 1 {
		many = append(many, fmt.Sprintf("h%d.example.com", i))
	}
	// A template that would fail to render if it ran: the cap comes first.
	tmpl := templ("web", func(t *v1alpha1.CertificateTemplate) { t.CN = "{{ index .Request.DNSNames 100000 }}" })
	_, err := newIssuance(interCA(t), policyFor(tmpl), Request{CSR: newCSR(t, testKey(t, "ecdsa256"), x509.CertificateRequest{DNSNames: many}), Duration: time.Hour}, RenderData{}, testNow)
	wantErr(t, err, "RequestError/TooManySANs", "the CSR asks for 257 subject alternative names, more than the 256 allowed")
}
