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
	"crypto/x509/pkix"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// sampleData is the data templates are validated against.
func sampleData(vars map[string]string, issuer IssuerData) RenderData {
	ns := issuer.Namespace
	if ns == "" {
		ns = "default"
	}
	return RenderData{
		Vars:   vars,
		Issuer: issuer,
		Request: RequestData{
			Name:       "example",
			Namespace:  ns,
			CommonName: "example.com",
			DNSNames:   []string{"example.com"},
			Duration:   24 * time.Hour,
			// A pod's identity, for templates of pod certificates.
			PodName:            "example",
			PodUID:             "00000000-0000-0000-0000-000000000000",
			ServiceAccountName: "default",
			ServiceAccountUID:  "00000000-0000-0000-0000-000000000000",
			NodeName:           "node-1",
			NodeUID:            "00000000-0000-0000-0000-000000000000",
		},
	}
}

// ValidateTemplates checks an issuer's vars, certificate templates and CA
// template (the template part of ValidateIssuer) and returns the first
// problem as a *TemplateError naming the template and field, nil when
// there is none.
func ValidateTemplates(templates []v1alpha1.CertificateTemplate, caTemplate *v1alpha1.CATemplate, vars map[string]string, issuer IssuerData) error {
	if problems := templateProblems(templates, caTemplate, vars, issuer); len(problems) > 0 {
		return problems[0].err
	}
	return nil
}

// templateProblem is one problem of a template: the index of the template
// in spec.templates (-1 for vars and the CA template) and the error.
type templateProblem struct {
	index int
	err   *TemplateError
}

// templateProblems checks vars, templates and the CA template: vars are
// within their caps; names are set and unique; every templated field
// parses and renders on sample data (a request "example" in the issuer's
// namespace or "default", CN and DNS name "example.com", 24h); allow-lists
// use only trusted data and render to valid patterns; static ip entries
// are IP addresses, allowedIPRanges are CIDRs; a namespace selector
// parses; an allowCA template's allow-lists can be expressed as
// NameConstraints unless it is unconstrainedCA; the enumerations and sizes
// are known. Broken vars stop there: nothing renders without them.
func templateProblems(templates []v1alpha1.CertificateTemplate, caTemplate *v1alpha1.CATemplate, vars map[string]string, issuer IssuerData) []templateProblem {
	if terr := checkVars(vars); terr != nil {
		return []templateProblem{{index: -1, err: terr}}
	}
	var out []templateProblem
	data := sampleData(vars, issuer)
	seen := map[string]bool{}
	for i := range templates {
		t := &templates[i]
		switch {
		case t.Name == "":
			out = append(out, templateProblem{i, templateErrorf(fmt.Sprintf("templates[%d]", i), "name", "the template has no name; set one")})
		case seen[t.Name]:
			out = append(out, templateProblem{i, templateErrorf(t.Name, "name", "the name is used by two templates; make it unique")})
		}
		seen[t.Name] = true
		for _, terr := range validateTemplate(t, data) {
			out = append(out, templateProblem{i, terr})
		}
	}
	if caTemplate != nil {
		if _, terr := renderCASubject(caTemplate.Subject, data); terr != nil {
			out = append(out, templateProblem{-1, terr})
		}
		if caTemplate.TTL < 0 {
			out = append(out, templateProblem{-1, templateErrorf(CATemplateName, "ttl", "ttl %d is negative; set a lifetime in hours", caTemplate.TTL)})
		}
		if terr := checkKeySpec(caTemplate.PrivateKey); terr != nil {
			out = append(out, templateProblem{-1, terr})
		}
	}
	return out
}

// maxTemplateText bounds the bytes of all the texts of one template.
const maxTemplateText = 256 << 10

// maxTemplateProblems bounds the problems reported for one template: past
// a few, the rest are usually the same mistake again.
const maxTemplateProblems = 8

// validateTemplate checks one template on sample data and returns its
// problems, at most maxTemplateProblems of them.
func validateTemplate(t *v1alpha1.CertificateTemplate, data RenderData) []*TemplateError {
	name := t.Name
	var out []*TemplateError
	add := func(terr *TemplateError) bool {
		if terr == nil {
			return true
		}
		out = append(out, terr)
		return len(out) < maxTemplateProblems
	}
	if _, ok := kindUsages[kindOf(t)]; !ok {
		add(templateErrorf(name, "kind", "kind %s is not one of server, client or peer", quote(string(t.Kind))))
	}
	if n := templateTextSize(t); n > maxTemplateText {
		// Nothing of it is rendered: its size alone is the problem.
		add(templateErrorf(name, "", "the template's texts add up to %d bytes, more than the %d allowed; shorten it", n, maxTemplateText))
		return out
	}
	b := newRequestBudget()
	for _, f := range subjectFields(&t.Subject, &pkix.Name{}) {
		var terr *TemplateError
		if f.text != nil {
			_, terr = renderField(name, f.field, *f.text, data, b)
		} else {
			_, terr = renderList(name, f.field, *f.list, data, b)
		}
		if !add(terr) {
			return out
		}
	}
	for i, text := range t.DNS {
		field := fmt.Sprintf("dns[%d]", i)
		v, terr := renderField(name, field, text, data, b)
		if terr == nil {
			if v = trimSpace(v); v != "" {
				if p := dnsNameProblem(v); p != "" {
					terr = templateErrorf(name, field, "renders %s on sample data, which is not a valid DNS name: %s", quote(v), p)
				}
			}
		}
		if !add(terr) {
			return out
		}
	}
	for i, text := range t.IP {
		field := fmt.Sprintf("ip[%d]", i)
		v, terr := renderField(name, field, text, data, b)
		if terr == nil {
			if v = trimSpace(v); v != "" && net.ParseIP(v) == nil {
				if !strings.Contains(text, "{{") {
					terr = templateErrorf(name, field, "%s is not an IP address", quote(v))
				} else {
					terr = templateErrorf(name, field, "renders %s on sample data, which is not an IP address", quote(v))
				}
			}
		}
		if !add(terr) {
			return out
		}
	}
	patterns, terr := validateAllowLists(t, data, b)
	if !add(terr) {
		return out
	}
	ranges, rerr := parseIPRanges(name, t.AllowedIPRanges)
	if !add(rerr) {
		return out
	}
	if t.AllowCA && !t.UnconstrainedCA && terr == nil && rerr == nil {
		if _, problem := caNameConstraints(patterns["allowedDNSNames"], ranges, patterns["allowedURIs"], patterns["allowedEmailAddresses"]); problem != "" {
			if !add(templateErrorf(name, "allowCA", "cannot derive NameConstraints for CA certificates: %s; narrow the allow-lists or set unconstrainedCA: true", problem)) {
				return out
			}
		}
	}
	if t.UnconstrainedCA && !t.AllowCA {
		if !add(templateErrorf(name, "unconstrainedCA", "unconstrainedCA needs allowCA: true; set allowCA or remove unconstrainedCA")) {
			return out
		}
	}
	if ns := t.Namespaces; ns != nil {
		if ns.Names == nil && ns.Selector == nil {
			if !add(templateErrorf(name, "namespaces", "namespaces selects nothing; set names, selector or both (selector: {} selects every namespace), or remove namespaces")) {
				return out
			}
		}
		if ns.Selector != nil {
			if _, terr := namespaceSelector(t); !add(terr) {
				return out
			}
		}
	}
	if k := t.KubernetesCSRs; k != nil && len(k.Usernames) == 0 && len(k.Groups) == 0 {
		if !add(templateErrorf(name, "kubernetesCSRs", "kubernetesCSRs allows nobody; set usernames, groups or both (usernames: ['*'] allows every user)")) {
			return out
		}
	}
	for i, a := range t.AllowedKeyAlgorithms {
		switch a {
		case v1alpha1.RSAKeyAlgorithm, v1alpha1.ECDSAKeyAlgorithm, v1alpha1.Ed25519KeyAlgorithm:
		default:
			if !add(templateErrorf(name, fmt.Sprintf("allowedKeyAlgorithms[%d]", i), "%s is not RSA, ECDSA or Ed25519", quote(string(a)))) {
				return out
			}
		}
	}
	if s := t.MinRSAKeySize; s != 0 && (s < 2048 || s > MaxRSAKeySize) {
		if !add(templateErrorf(name, "minRSAKeySize", "%d is not between 2048 and %d", s, MaxRSAKeySize)) {
			return out
		}
	}
	switch t.MinECDSAKeySize {
	case 0, 256, 384, 521:
	default:
		if !add(templateErrorf(name, "minECDSAKeySize", "%d is not 256, 384 or 521", t.MinECDSAKeySize)) {
			return out
		}
	}
	if t.TTL < 0 {
		if !add(templateErrorf(name, "ttl", "ttl %d is negative; set a lifetime in hours", t.TTL)) {
			return out
		}
	}
	add(validatePodCertificates(t, data, b))
	return out
}

// validateAllowLists checks that every allow-list uses only trusted data
// and renders, on sample data, to patterns of its grammar. It returns the
// rendered patterns by field.
func validateAllowLists(t *v1alpha1.CertificateTemplate, data RenderData, b *requestBudget) (map[string][]string, *TemplateError) {
	out := map[string][]string{}
	for _, l := range allowListsOf(t) {
		for i, text := range l.texts {
			field := fmt.Sprintf("%s[%d]", l.field, i)
			if !allowListTrusted(text) {
				if _, err := patternTrusted(text); err != nil {
					return nil, templateErrorf(t.Name, field, "%v", err)
				}
				return nil, templateErrorf(t.Name, field, "an allow-list may use only .Vars, .Issuer and .Request.Namespace, never other request data; fix the template")
			}
			v, terr := renderField(t.Name, field, text, data, b)
			if terr != nil {
				return nil, terr
			}
			if v = trimSpace(v); v == "" {
				continue
			}
			if l.problem != nil {
				if p := l.problem(v); p != "" {
					return nil, templateErrorf(t.Name, field, "pattern %s is not valid: %s", quote(v), p)
				}
			}
			out[l.field] = append(out[l.field], v)
		}
	}
	return out, nil
}

// templateTextSize adds up the bytes of a template's texts.
func templateTextSize(t *v1alpha1.CertificateTemplate) int {
	n := len(t.CN)
	for _, l := range [][]string{t.Organization, t.OrganizationalUnit, t.Country, t.Province, t.Locality, t.Street, t.PostalCode,
		t.DNS, t.IP, t.AllowedDNSNames, t.AllowedIPRanges, t.AllowedURIs, t.AllowedEmailAddresses, t.AllowedCommonNames} {
		for _, s := range l {
			n += len(s)
		}
	}
	if p := t.AllowedSubject; p != nil {
		for _, f := range subjectPatternFields(p) {
			for _, s := range *f.list {
				n += len(s)
			}
		}
	}
	return n
}
