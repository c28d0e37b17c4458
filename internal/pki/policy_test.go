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
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

func TestEnforcePolicy(t *testing.T) {
	t.Parallel()
	spiffe, _ := url.Parse("spiffe://cluster.local/ns/team-a/sa/web")
	other, _ := url.Parse("spiffe://cluster.local/ns/team-b/sa/web")
	web := func(mods ...func(*v1alpha1.CertificateTemplate)) *v1alpha1.CertificateTemplate {
		return templ("web", mods...)
	}
	allowDNS := func(p ...string) func(*v1alpha1.CertificateTemplate) {
		return func(t *v1alpha1.CertificateTemplate) { t.AllowedDNSNames = p }
	}
	tests := []struct {
		name      string
		tmpl      *v1alpha1.CertificateTemplate
		csr       x509.CertificateRequest
		kind, msg string
	}{
		{
			name: "pass-through allows any SAN",
			csr:  x509.CertificateRequest{DNSNames: []string{"anything.example.org"}, Subject: pkix.Name{CommonName: "whatever"}},
		},
		{
			name: "a template without patterns allows no SAN",
			tmpl: web(),
			csr:  x509.CertificateRequest{DNSNames: []string{"anything.example.org"}},
			kind: "RequestError/PolicyViolation", msg: `requested DNS name "anything.example.org" is not allowed by template "web": its allowedDNSNames is unset, so it allows none`,
		},
		{
			name: "a DNS name matching a rendered pattern is allowed",
			tmpl: web(allowDNS("*.{{ .Request.Namespace }}.example.com")),
			csr:  x509.CertificateRequest{DNSNames: []string{"api.team-a.example.com"}},
		},
		{
			name: "a DNS name outside the patterns is rejected with the SAN, template and patterns",
			tmpl: web(allowDNS("*.{{ .Request.Namespace }}.example.com")),
			csr:  x509.CertificateRequest{DNSNames: []string{"api.team-a.example.com", "api.other.example.com"}},
			kind: "RequestError/PolicyViolation", msg: `requested DNS name "api.other.example.com" is not allowed by template "web" (allowedDNSNames: *.team-a.example.com)`,
		},
		{
			name: "patterns that all render empty allow nothing",
			tmpl: web(allowDNS(`{{ index .Vars "Unset" }}`)),
			csr:  x509.CertificateRequest{DNSNames: []string{"a.example.com"}},
			kind: "RequestError/PolicyViolation", msg: "allows none",
		},
		{
			name: "a requested wildcard needs a star pattern in the same place",
			tmpl: web(allowDNS("www.example.com")),
			csr:  x509.CertificateRequest{DNSNames: []string{"*.example.com"}},
			kind: "RequestError/PolicyViolation", msg: `requested DNS name "*.example.com" is not allowed`,
		},
		{
			name: "DNS names the template sets from trusted data are not checked",
			tmpl: web(allowDNS("*.team-a.example.com"), func(t *v1alpha1.CertificateTemplate) { t.DNS = []string{"web.{{ .Request.Namespace }}.svc"} }),
			csr:  x509.CertificateRequest{DNSNames: []string{"a.team-a.example.com"}},
		},
		{
			name: "a name both requested and set by the template from trusted data is the template's",
			tmpl: web(func(t *v1alpha1.CertificateTemplate) { t.DNS = []string{"web.team-a.svc"} }),
			csr:  x509.CertificateRequest{DNSNames: []string{"WEB.team-a.svc"}},
		},
		{
			name: "an IP address in an allowed range is allowed",
			tmpl: web(func(t *v1alpha1.CertificateTemplate) { t.AllowedIPRanges = []string{"10.0.0.0/24", "fd00::/8"} }),
			csr:  x509.CertificateRequest{IPAddresses: []net.IP{net.ParseIP("10.0.0.7"), net.ParseIP("fd00::7")}},
		},
		{
			name: "an IPv4-mapped IPv6 address is checked as IPv4",
			tmpl: web(func(t *v1alpha1.CertificateTemplate) { t.AllowedIPRanges = []string{"10.0.0.0/24"} }),
			csr:  x509.CertificateRequest{IPAddresses: []net.IP{net.ParseIP("::ffff:10.0.0.7")}},
		},
		{
			name: "an IP address outside the ranges is rejected",
			tmpl: web(func(t *v1alpha1.CertificateTemplate) { t.AllowedIPRanges = []string{"10.0.0.0/24"} }),
			csr:  x509.CertificateRequest{IPAddresses: []net.IP{net.ParseIP("10.0.1.7")}},
			kind: "RequestError/PolicyViolation", msg: `requested IP address "10.0.1.7" is not allowed by template "web" (allowedIPRanges: 10.0.0.0/24)`,
		},
		{
			name: "a bad CIDR is a template error",
			tmpl: web(func(t *v1alpha1.CertificateTemplate) { t.AllowedIPRanges = []string{"10.0.0.0/33"} }),
			csr:  x509.CertificateRequest{IPAddresses: []net.IP{net.ParseIP("10.0.0.1")}},
			kind: "TemplateError", msg: `template "web" field allowedIPRanges[0]: "10.0.0.0/33" is not a CIDR range`,
		},
		{
			name: "a URI matching a glob is allowed",
			tmpl: web(func(t *v1alpha1.CertificateTemplate) {
				t.AllowedURIs = []string{"spiffe://cluster.local/ns/{{ .Request.Namespace }}/**"}
			}),
			csr: x509.CertificateRequest{URIs: []*url.URL{spiffe}},
		},
		{
			name: "a URI outside the globs is rejected",
			tmpl: web(func(t *v1alpha1.CertificateTemplate) {
				t.AllowedURIs = []string{"spiffe://cluster.local/ns/{{ .Request.Namespace }}/**"}
			}),
			csr:  x509.CertificateRequest{URIs: []*url.URL{other}},
			kind: "RequestError/PolicyViolation", msg: `requested URI "spiffe://cluster.local/ns/team-b/sa/web" is not allowed by template "web" (allowedURIs: spiffe://cluster.local/ns/team-a/**)`,
		},
		{
			name: "an email matching a glob is allowed, ignoring case",
			tmpl: web(func(t *v1alpha1.CertificateTemplate) { t.AllowedEmailAddresses = []string{"*@example.com"} }),
			csr:  x509.CertificateRequest{EmailAddresses: []string{"Alice@Example.com"}},
		},
		{
			name: "an email outside the globs is rejected",
			tmpl: web(func(t *v1alpha1.CertificateTemplate) { t.AllowedEmailAddresses = []string{"*@example.com"} }),
			csr:  x509.CertificateRequest{EmailAddresses: []string{"mallory@evil.example"}},
			kind: "RequestError/PolicyViolation", msg: `requested email address "mallory@evil.example" is not allowed by template "web" (allowedEmailAddresses: *@example.com)`,
		},
		{
			name: "a requested CN equal to a requested SAN is allowed",
			tmpl: web(allowDNS("*.example.com")),
			csr:  x509.CertificateRequest{Subject: pkix.Name{CommonName: "API.example.com"}, DNSNames: []string{"api.example.com"}},
		},
		{
			name: "a requested CN matching an allowed pattern is allowed",
			tmpl: web(allowDNS("*.example.com")),
			csr:  x509.CertificateRequest{Subject: pkix.Name{CommonName: "cn.example.com"}},
		},
		{
			name: "a requested CN equal to an allowed IP SAN is allowed",
			tmpl: web(allowDNS("*.example.com"), func(t *v1alpha1.CertificateTemplate) { t.AllowedIPRanges = []string{"10.0.0.0/8"} }),
			csr:  x509.CertificateRequest{Subject: pkix.Name{CommonName: "10.0.0.1"}, IPAddresses: []net.IP{net.ParseIP("10.0.0.1")}},
		},
		{
			name: "a requested CN outside the allowed names is rejected",
			tmpl: web(allowDNS("*.example.com")),
			csr:  x509.CertificateRequest{Subject: pkix.Name{CommonName: "evil.example.org"}, DNSNames: []string{"a.example.com"}},
			kind: "RequestError/PolicyViolation", msg: `requested common name "evil.example.org" is not allowed by template "web": it must be one of the certificate's SANs or match allowedDNSNames (*.example.com) or allowedCommonNames (none)`,
		},
		{
			name: "a CN the template sets from trusted data is not checked",
			tmpl: web(allowDNS("*.example.com"), func(t *v1alpha1.CertificateTemplate) { t.CN = "kubelet" }),
			csr:  x509.CertificateRequest{Subject: pkix.Name{CommonName: "evil.example.org"}},
		},
		{
			name: "a template CN that renders empty leaves the request's CN checked",
			tmpl: web(allowDNS("*.example.com"), func(t *v1alpha1.CertificateTemplate) { t.CN = `{{ index .Vars "Unset" }}` }),
			csr:  x509.CertificateRequest{Subject: pkix.Name{CommonName: "evil.example.org"}},
			kind: "RequestError/PolicyViolation", msg: `requested common name "evil.example.org"`,
		},
		{
			name: "the CN is checked when no DNS patterns are set",
			tmpl: web(func(t *v1alpha1.CertificateTemplate) { t.AllowedIPRanges = []string{"10.0.0.0/8"} }),
			csr:  x509.CertificateRequest{Subject: pkix.Name{CommonName: "anything"}},
			kind: "RequestError/PolicyViolation", msg: `requested common name "anything"`,
		},
		{
			name: "an allow-list rendered from request data is the template's error",
			tmpl: web(allowDNS("*.{{ .Request.CommonName }}")),
			csr:  x509.CertificateRequest{Subject: pkix.Name{CommonName: "evil.org"}, DNSNames: []string{"a.evil.org"}},
			kind: "TemplateError", msg: `field allowedDNSNames[0]: an allow-list may use only`,
		},
		{
			name: "a pattern that fails to render fails the request",
			tmpl: web(allowDNS("{{ index .Request.URIs 5 }}")),
			csr:  x509.CertificateRequest{DNSNames: []string{"a.example.com"}},
			kind: "RequestError/TemplateRenderFailed", msg: `template "web" field allowedDNSNames[0]`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			is := prepare(t, tc.tmpl, Request{CSR: newCSR(t, testKey(t, "ecdsa256"), tc.csr)})
			err := runSteps(is, renderAllowLists, applySubject, applySANs, applyBasicConstraints, applyUsages, enforcePolicy)
			wantErr(t, err, tc.kind, tc.msg)
		})
	}
}

func TestPolicyMessagesBoundUntrustedText(t *testing.T) {
	t.Parallel()
	long, _ := url.Parse("spiffe://x.example/" + strings.Repeat("a", 1000))
	patterns := make([]string, 20)
	for i := range patterns {
		patterns[i] = "spiffe://cluster.local/*"
	}
	is := prepare(t, templ("web", func(t *v1alpha1.CertificateTemplate) { t.AllowedURIs = patterns }), Request{CSR: newCSR(t, testKey(t, "ecdsa256"), x509.CertificateRequest{URIs: []*url.URL{long}})})
	err := runSteps(is, renderAllowLists, applySubject, applySANs, enforcePolicy)
	wantErr(t, err, "RequestError/PolicyViolation", "...(1019 bytes)", "and 10 more")
	if len(err.Error()) > 1000 {
		t.Errorf("message of %d bytes", len(err.Error()))
	}
}
