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
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

func TestValidateTemplates(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"ClusterSlug": "prod-eu1"}
	issuer := IssuerData{Name: "ca", Namespace: "team-a", Kind: "NstanceIssuer"}
	good := v1alpha1.CertificateTemplate{
		Name: "web", Kind: v1alpha1.ServerKind,
		Subject: v1alpha1.Subject{CN: "{{ .Request.Name }}", Organization: []string{"{{ .Vars.ClusterSlug }}"}},
		DNS:     []string{"{{ .Request.Name }}.{{ .Request.Namespace }}.svc"}, IP: []string{"10.0.0.1", "{{ first .Request.IPAddresses }}"},
		AllowedDNSNames: []string{"*.{{ .Request.Namespace }}.example.com"}, AllowedIPRanges: []string{"10.0.0.0/8"},
		AllowedURIs: []string{"spiffe://{{ .Vars.ClusterSlug }}/**"}, AllowedEmailAddresses: []string{"*@example.com"},
		AllowedKeyAlgorithms: []v1alpha1.KeyAlgorithm{v1alpha1.ECDSAKeyAlgorithm}, MinRSAKeySize: 3072, MinECDSAKeySize: 384, TTL: 720,
	}
	with := func(mod func(*v1alpha1.CertificateTemplate)) []v1alpha1.CertificateTemplate {
		t := good
		mod(&t)
		return []v1alpha1.CertificateTemplate{t}
	}
	tests := []struct {
		name      string
		templates []v1alpha1.CertificateTemplate
		ca        *v1alpha1.CATemplate
		vars      map[string]string
		msg       string
	}{
		{name: "valid templates and CA template pass", templates: []v1alpha1.CertificateTemplate{good, {Name: "plain"}}, ca: &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "CA {{ .Vars.ClusterSlug }}"}}},
		{name: "no templates pass", templates: nil},
		{name: "a template without a name is rejected", templates: []v1alpha1.CertificateTemplate{good, {}}, msg: `template "templates[1]" field name: the template has no name`},
		{name: "two templates with one name are rejected", templates: []v1alpha1.CertificateTemplate{good, good}, msg: `template "web" field name: the name is used by two templates`},
		{name: "an unknown kind is rejected", templates: with(func(t *v1alpha1.CertificateTemplate) { t.Kind = "both" }), msg: `template "web" field kind: kind "both" is not one of server, client or peer`},
		{name: "a CN that does not parse is rejected", templates: with(func(t *v1alpha1.CertificateTemplate) { t.CN = "{{ .Request.Name " }), msg: `template "web" field cn: `},
		{name: "a missing var is rejected", templates: with(func(t *v1alpha1.CertificateTemplate) { t.Locality = []string{"{{ .Vars.Region }}"} }), msg: `template "web" field locality[0]: `},
		{name: "a forbidden action is rejected", templates: with(func(t *v1alpha1.CertificateTemplate) {
			t.Street = []string{"{{ range .Request.DNSNames }}{{ . }}{{ end }}"}
		}), msg: `template "web" field street[0]: range is not allowed`},
		{name: "a dns entry that renders an invalid name on sample data is rejected", templates: with(func(t *v1alpha1.CertificateTemplate) { t.DNS = []string{"ok.example.com", "{{ .Request.Name }} svc"} }), msg: `template "web" field dns[1]: renders "example svc" on sample data, which is not a valid DNS name`},
		{name: "a static ip that is not an IP is rejected", templates: with(func(t *v1alpha1.CertificateTemplate) { t.IP = []string{"10.0.0.256"} }), msg: `template "web" field ip[0]: "10.0.0.256" is not an IP address`},
		{name: "a templated ip that renders a non-IP on sample data is rejected", templates: with(func(t *v1alpha1.CertificateTemplate) { t.IP = []string{"{{ .Request.Name }}"} }), msg: `template "web" field ip[0]: renders "example" on sample data, which is not an IP address`},
		{name: "a partial wildcard pattern is rejected", templates: with(func(t *v1alpha1.CertificateTemplate) { t.AllowedDNSNames = []string{"web-*.example.com"} }), msg: `template "web" field allowedDNSNames[0]: pattern "web-*.example.com" is not valid: label "web-*" mixes "*" with other characters`},
		{name: "an allow-list that uses request data is rejected", templates: with(func(t *v1alpha1.CertificateTemplate) { t.AllowedDNSNames = []string{"*.{{ .Request.CommonName }}"} }), msg: `template "web" field allowedDNSNames[0]: an allow-list may use only .Vars, .Issuer`},
		{name: "a URI pattern with a query is rejected", templates: with(func(t *v1alpha1.CertificateTemplate) { t.AllowedURIs = []string{"spiffe://x/*?a=b"} }), msg: `template "web" field allowedURIs[0]: pattern "spiffe://x/*?a=b" is not valid`},
		{name: "an email pattern with two '@' is rejected", templates: with(func(t *v1alpha1.CertificateTemplate) { t.AllowedEmailAddresses = []string{"*@a@example.com"} }), msg: `template "web" field allowedEmailAddresses[0]: pattern "*@a@example.com" is not valid`},
		{name: "an allowCA template whose allow-lists cannot be constraints is rejected", templates: with(func(t *v1alpha1.CertificateTemplate) { t.AllowCA = true; t.AllowedDNSNames = []string{"**"} }), msg: `template "web" field allowCA: cannot derive NameConstraints`},
		{name: "an unconstrainedCA template may allow any name", templates: with(func(t *v1alpha1.CertificateTemplate) {
			t.AllowCA, t.UnconstrainedCA = true, true
			t.AllowedDNSNames = []string{"**"}
		})},
		{name: "a bad namespace selector is rejected", templates: with(func(t *v1alpha1.CertificateTemplate) {
			t.Namespaces = &v1alpha1.NamespaceSelector{Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Near"}}}}
		}), msg: `template "web" field namespaces.selector: `},
		{name: "too many vars are rejected before anything renders", templates: []v1alpha1.CertificateTemplate{good}, vars: manyVars(65), msg: `template "vars"`},
		{name: "a var value over the cap is rejected", templates: []v1alpha1.CertificateTemplate{good}, vars: map[string]string{"ClusterSlug": strings.Repeat("x", 1025)}, msg: `template "vars" field ClusterSlug`},
		{name: "a bad CIDR is rejected", templates: with(func(t *v1alpha1.CertificateTemplate) { t.AllowedIPRanges = []string{"10.0.0.0/8", "10.0.0.1"} }), msg: `template "web" field allowedIPRanges[1]: "10.0.0.1" is not a CIDR range`},
		{name: "a URI pattern that does not render is rejected", templates: with(func(t *v1alpha1.CertificateTemplate) { t.AllowedURIs = []string{"{{ .Nope }}"} }), msg: `template "web" field allowedURIs[0]: `},
		{name: "an email pattern that does not render is rejected", templates: with(func(t *v1alpha1.CertificateTemplate) { t.AllowedEmailAddresses = []string{"{{ template \"x\" }}"} }), msg: `template "web" field allowedEmailAddresses[0]: `},
		{name: "an unknown key algorithm is rejected", templates: with(func(t *v1alpha1.CertificateTemplate) { t.AllowedKeyAlgorithms = []v1alpha1.KeyAlgorithm{"DSA"} }), msg: `template "web" field allowedKeyAlgorithms[0]: "DSA" is not RSA, ECDSA or Ed25519`},
		{name: "a small RSA minimum is rejected", templates: with(func(t *v1alpha1.CertificateTemplate) { t.MinRSAKeySize = 1024 }), msg: `template "web" field minRSAKeySize: 1024 is not between 2048 and 8192`},
		{name: "an unknown ECDSA minimum is rejected", templates: with(func(t *v1alpha1.CertificateTemplate) { t.MinECDSAKeySize = 224 }), msg: `template "web" field minECDSAKeySize: 224 is not 256, 384 or 521`},
		{name: "a negative ttl is rejected", templates: with(func(t *v1alpha1.CertificateTemplate) { t.TTL = -1 }), msg: `template "web" field ttl: ttl -1 is negative`},
		{name: "a CA template that does not render is rejected", ca: &v1alpha1.CATemplate{Subject: v1alpha1.Subject{Country: []string{"{{ .Vars.Country }}"}}}, msg: `template "ca.generate" field country[0]: `},
		{name: "a CA template with a bad key size is rejected", ca: &v1alpha1.CATemplate{PrivateKey: v1alpha1.PrivateKeySpec{Algorithm: v1alpha1.RSAKeyAlgorithm, Size: 1000}}, msg: `template "ca.generate" field privateKey.size: RSA size 1000 is not supported`},
		{name: "a CA template with a negative ttl is rejected", ca: &v1alpha1.CATemplate{TTL: -5}, msg: `template "ca.generate" field ttl: ttl -5 is negative`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := vars
			if tc.vars != nil {
				v = tc.vars
			}
			err := ValidateTemplates(tc.templates, tc.ca, v, issuer)
			if tc.msg == "" {
				wantErr(t, err, "")
				return
			}
			wantErr(t, err, "TemplateError", tc.msg)
		})
	}
}

func TestValidateTemplatesSampleData(t *testing.T) {
	t.Parallel()
	tmpl := []v1alpha1.CertificateTemplate{{Name: "t", DNS: []string{"{{ .Request.Name }}.{{ .Request.Namespace }}.{{ .Issuer.Name }}"}}}
	tests := []struct {
		name   string
		issuer IssuerData
		want   string
	}{
		{"a namespaced issuer's namespace is the sample namespace", IssuerData{Name: "ca", Namespace: "team-a"}, "example.team-a.ca"},
		{"a cluster issuer samples the default namespace", IssuerData{Name: "ca"}, "example.default.ca"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := sampleData(nil, tc.issuer)
			got, err := Render("t", tmpl[0].DNS[0], d)
			wantErr(t, err, "")
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if d.Request.CommonName != "example.com" || len(d.Request.DNSNames) != 1 || d.Request.Duration.Hours() != 24 {
				t.Errorf("sample request = %+v", d.Request)
			}
			wantErr(t, ValidateTemplates(tmpl, nil, nil, tc.issuer), "")
		})
	}
}

// manyVars is n vars with valid names and values.
func manyVars(n int) map[string]string {
	m := map[string]string{"ClusterSlug": "prod-eu1"}
	for i := range n {
		m[fmt.Sprintf("V%d", i)] = "x"
	}
	return m
}
