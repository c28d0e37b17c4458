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
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// allowLists are a template's allow-lists rendered for one request.
// Allow-lists may use only trusted data (ValidateTemplates refuses others,
// and renderAllowLists again), so a requester never writes its own policy.
type allowLists struct {
	dns, uris, emails, commonNames []string
	ipRanges                       []netip.Prefix
	// subject holds the patterns per subject field name (subjectFields).
	subject map[string][]string
}

// origin says where a value of the certificate comes from. Its message
// (what) is built only when a message needs it.
type origin struct {
	// trusted is true for a value the template renders from trusted data
	// only: the template author's own, not checked against allow-lists.
	trusted bool
	// requested is true for a value the request asks for.
	requested bool
	// kind names the kind of value: "DNS name", "subject organization".
	kind string
	// tmpl and field name the template field that renders the value.
	tmpl, field string
	// fixed, when set, is the whole message (e.g. "SPIFFE ID").
	fixed string
}

// what names the source in messages: "requested DNS name", or
// "DNS name rendered by template "web" field dns[0] from request data".
func (o origin) what() string {
	switch {
	case o.fixed != "":
		return o.fixed
	case o.requested:
		return "requested " + o.kind
	case o.field == "":
		return ""
	case o.trusted:
		return fmt.Sprintf("%s set by template %q field %s", o.kind, o.tmpl, o.field)
	}
	return fmt.Sprintf("%s rendered by template %q field %s from request data", o.kind, o.tmpl, o.field)
}

// origins records the origin of each value of the certificate.
type origins struct {
	dns map[string]origin // by dnsKey
	ip  map[string]origin // by net.IP.String
	uri map[string]origin // by url.URL.String; absent: requested
	// subject is the origin of each subject field by name ("cn",
	// "organization", ...): a template field replaces all the request's
	// values of its attribute.
	subject map[string]origin
}

func requested(kind string) origin { return origin{requested: true, kind: kind} }

// templateOrigin is the origin of a value a template field renders.
func (is *issuance) templateOrigin(kind string, v renderedValue) origin {
	return origin{trusted: v.trusted, kind: kind, tmpl: is.tmpl.Name, field: v.field}
}

// allowList is one templated allow-list of a template, with the grammar
// of its patterns (nil: free-text globs).
type allowList struct {
	field   string
	texts   []string
	problem func(string) string
}

// allowListsOf lists a template's templated allow-lists; allowedIPRanges,
// which is not templated, is parsed on its own (parseIPRanges).
func allowListsOf(t *v1alpha1.CertificateTemplate) []allowList {
	lists := []allowList{
		{"allowedDNSNames", t.AllowedDNSNames, dnsPatternProblem},
		{"allowedURIs", t.AllowedURIs, uriPatternProblem},
		{"allowedEmailAddresses", t.AllowedEmailAddresses, emailPatternProblem},
		{"allowedCommonNames", t.AllowedCommonNames, nil},
	}
	if t.AllowedSubject != nil {
		for _, f := range subjectPatternFields(t.AllowedSubject) {
			lists = append(lists, allowList{"allowedSubject." + f.field, *f.list, nil})
		}
	}
	return lists
}

// renderAllowLists renders the template's allow-lists for this request.
func renderAllowLists(is *issuance) error {
	t := is.tmpl
	if t == nil {
		return nil
	}
	rendered := map[string][]string{}
	for _, l := range allowListsOf(t) {
		patterns, err := is.renderPatterns(l.field, l.texts)
		if err != nil {
			return err
		}
		if l.problem != nil {
			// A pattern that renders malformed for this request (e.g.
			// "*.{{ .Request.Namespace }}.svc" for a Kubernetes CSR,
			// which has no namespace) allows nothing.
			patterns = slices.DeleteFunc(patterns, func(p string) bool { return l.problem(p) != "" })
		}
		rendered[l.field] = patterns
	}
	a := &is.allowed
	a.dns, a.uris, a.emails, a.commonNames = rendered["allowedDNSNames"], rendered["allowedURIs"], rendered["allowedEmailAddresses"], rendered["allowedCommonNames"]
	if t.AllowedSubject != nil {
		a.subject = map[string][]string{}
		for _, f := range subjectPatternFields(t.AllowedSubject) {
			a.subject[f.field] = rendered["allowedSubject."+f.field]
		}
	}
	var terr *TemplateError
	if a.ipRanges, terr = parseIPRanges(t.Name, t.AllowedIPRanges); terr != nil {
		return terr
	}
	return nil
}

// renderPatterns renders an allow-list, refusing one that uses request
// data: the requester would write its own policy.
func (is *issuance) renderPatterns(field string, texts []string) ([]string, error) {
	vals, err := is.renderList(field, texts)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		if !allowListTrusted(v.text) {
			return nil, templateErrorf(is.tmpl.Name, v.field, "an allow-list may use only .Vars, .Issuer and .Request.Namespace; fix the template")
		}
		out[i] = v.value
	}
	return out, nil
}

// enforcePolicy is the one place where the policy meets the finished
// certificate: every SAN, the common name and every subject attribute that
// a requester could influence — requested, or rendered by the template
// from request data — must be allowed by the template; a CA certificate
// needs allowCA and carries NameConstraints unless the template says
// unconstrainedCA. Only values the template renders from trusted data are
// its author's own. Pass-through (which the issuer must allow) checks only
// that the values are well formed, which the earlier steps did.
func enforcePolicy(is *issuance) error {
	t := is.tmpl
	if t == nil {
		if is.cert.IsCA {
			return requestErrorf(ReasonPolicyViolation, "pass-through never signs CA certificates; use a template with allowCA: true")
		}
		return nil
	}
	c, a := &is.cert, &is.allowed
	for _, d := range c.DNSNames {
		o := is.origins.dns[dnsKey(d)]
		if !o.trusted && !slices.ContainsFunc(a.dns, func(p string) bool { return matchDNSPattern(d, p) }) {
			return notAllowed(o, d, t.Name, "allowedDNSNames", a.dns)
		}
	}
	for _, ip := range c.IPAddresses {
		o := is.origins.ip[ip.String()]
		if !o.trusted && !ipInRanges(ip, a.ipRanges) {
			return notAllowed(o, ip.String(), t.Name, "allowedIPRanges", t.AllowedIPRanges)
		}
	}
	for _, u := range c.URIs {
		if o := is.origins.uri[u.String()]; o.trusted {
			continue
		}
		if !slices.ContainsFunc(a.uris, func(p string) bool { return matchURIPattern(u, p) }) {
			return notAllowed(requested("URI"), u.String(), t.Name, "allowedURIs", a.uris)
		}
	}
	for _, e := range c.EmailAddresses {
		if !slices.ContainsFunc(a.emails, func(p string) bool { return matchEmailPattern(e, p) }) {
			return notAllowed(requested("email address"), e, t.Name, "allowedEmailAddresses", a.emails)
		}
	}
	if err := is.enforceCommonName(); err != nil {
		return err
	}
	// Every attribute of the subject as it is encoded, one by one: a
	// multi-valued RDN's values are each checked like any other.
	for _, a := range is.issuedSubject.attributes() {
		field := a.typ.field
		o := is.origins.subject[field]
		if field == "cn" || o.trusted {
			continue // the CN was checked above
		}
		patterns := is.allowed.subject[field]
		if !slices.ContainsFunc(patterns, func(p string) bool { return matchTextGlob(a.value, p) }) {
			return notAllowed(o, a.value, t.Name, "allowedSubject."+field, patterns)
		}
	}
	if c.IsCA && !t.AllowCA {
		return requestErrorf(ReasonPolicyViolation, "the certificate would be a CA, which template %q does not allow", t.Name)
	}
	if c.IsCA && !t.UnconstrainedCA && !c.PermittedDNSDomainsCritical {
		return requestErrorf(ReasonPolicyViolation, "the CA certificate would carry no NameConstraints, which template %q requires", t.Name)
	}
	return nil
}

// enforceCommonName checks a common name the requester could influence:
// it must look like a name (DNS name, IP, email address or a plain
// identifier) and be one of the certificate's SANs (all of which passed
// the policy), or match allowedDNSNames or allowedCommonNames.
func (is *issuance) enforceCommonName() error {
	cn := is.cert.Subject.CommonName
	o := is.origins.subject["cn"]
	if cn == "" || o.trusted {
		return nil
	}
	if p := commonNameProblem(cn); p != "" {
		return requestErrorf(ReasonPolicyViolation, "%s %s %s; use a DNS name, an IP address or an identifier of letters, digits and '-._:@'", o.what(), quote(cn), p)
	}
	if is.cnIsSAN(cn) ||
		slices.ContainsFunc(is.allowed.dns, func(p string) bool { return matchDNSPattern(cn, p) }) ||
		slices.ContainsFunc(is.allowed.commonNames, func(p string) bool { return matchTextGlob(cn, p) }) {
		return nil
	}
	return requestErrorf(ReasonPolicyViolation, "%s %s is not allowed by template %q: it must be one of the certificate's SANs or match allowedDNSNames (%s) or allowedCommonNames (%s)", o.what(), quote(cn), is.tmpl.Name, list(is.allowed.dns), list(is.allowed.commonNames))
}

// cnIsSAN reports whether cn is one of the certificate's SANs.
func (is *issuance) cnIsSAN(cn string) bool {
	c := &is.cert
	return slices.ContainsFunc(c.DNSNames, func(d string) bool { return dnsKey(d) == dnsKey(cn) }) ||
		slices.ContainsFunc(c.IPAddresses, func(ip net.IP) bool { return ip.String() == cn }) ||
		slices.ContainsFunc(c.URIs, func(u *url.URL) bool { return u.String() == cn }) ||
		slices.ContainsFunc(c.EmailAddresses, func(e string) bool { return sameEmail(e, cn) })
}

// sameEmail compares email addresses as the policy and NameConstraints
// do: the local part exactly, the domain ignoring case.
func sameEmail(a, b string) bool {
	al, ad, aok := strings.Cut(a, "@")
	bl, bd, bok := strings.Cut(b, "@")
	return aok && bok && al == bl && strings.EqualFold(ad, bd)
}

// maxCommonNameLength is ub-common-name (RFC 5280, appendix A).
const maxCommonNameLength = 64

// commonNameProblem says why a requester's common name is not fit for a
// certificate, or "" when it is a DNS name, an IP address, an email
// address or an identifier of letters, digits and '-._:@' (e.g.
// system:node:worker-1), at most 64 characters.
func commonNameProblem(cn string) string {
	if len(cn) > maxCommonNameLength {
		return fmt.Sprintf("is longer than %d characters", maxCommonNameLength)
	}
	if dnsNameProblem(cn) == "" || net.ParseIP(cn) != nil || emailProblem(cn) == "" {
		return ""
	}
	for i := range len(cn) {
		if c := cn[i]; !isLDH(c) && !strings.ContainsRune("._:@", rune(c)) {
			return fmt.Sprintf("has the character %q", rune(c))
		}
	}
	return ""
}

// notAllowed is the error for a value the template does not allow.
func notAllowed(o origin, value, tmpl, field string, allowed []string) error {
	if len(allowed) == 0 {
		return requestErrorf(ReasonPolicyViolation, "%s %s is not allowed by template %q: its %s is unset, so it allows none", o.what(), quote(value), tmpl, field)
	}
	return requestErrorf(ReasonPolicyViolation, "%s %s is not allowed by template %q (%s: %s)", o.what(), quote(value), tmpl, field, list(allowed))
}

// fieldTrusted reports whether a template field's text renders only
// trusted data (templateTrusted), remembering the answer per text: the
// same few texts are asked about for every request. A text that does not
// parse is not trusted.
func fieldTrusted(text string) bool { return cachedTrust('f', text, templateTrusted) }

// allowListTrusted is fieldTrusted for the text of an allow-list entry
// (patternTrusted).
func allowListTrusted(text string) bool { return cachedTrust('p', text, patternTrusted) }

// issuerDataOnly reports whether a text references only .Vars and
// .Issuer: what it renders does not depend on the request at all.
func issuerDataOnly(text string) bool {
	return cachedTrust('i', text, func(text string) (bool, error) { return templateUsesOnly(text, nil) })
}

func cachedTrust(kind byte, text string, check func(string) (bool, error)) bool {
	if !strings.Contains(text, "{{") {
		return true
	}
	key := trustKey{kind, text}
	trustCache.mu.RLock()
	v, ok := trustCache.m[key]
	trustCache.mu.RUnlock()
	if ok {
		return v
	}
	trusted, err := check(text)
	trusted = trusted && err == nil
	trustCache.mu.Lock()
	defer trustCache.mu.Unlock()
	if trustCache.size += int64(len(text)) + 1; trustCache.size > trustCacheMax || trustCache.m == nil {
		trustCache.m = map[trustKey]bool{}
		trustCache.size = int64(len(text)) + 1
	}
	trustCache.m[key] = trusted
	return trusted
}

// trustCacheMax bounds the bytes of texts fieldTrusted remembers.
const trustCacheMax = 1 << 20

// trustKey is a text and the analysis asked of it: 'f' (fieldTrusted),
// 'p' (allowListTrusted) or 'i' (issuerDataOnly).
type trustKey struct {
	kind byte
	text string
}

var trustCache struct {
	mu   sync.RWMutex
	m    map[trustKey]bool
	size int64
}

// parseIPRanges parses a template's allowedIPRanges.
func parseIPRanges(tmplName string, ranges []string) ([]netip.Prefix, *TemplateError) {
	out := make([]netip.Prefix, 0, len(ranges))
	for i, r := range ranges {
		p, err := netip.ParsePrefix(strings.TrimSpace(r))
		if err != nil {
			return nil, templateErrorf(tmplName, fmt.Sprintf("allowedIPRanges[%d]", i), "%s is not a CIDR range (e.g. 10.0.0.0/8 or fd00::/8)", quote(r))
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func ipInRanges(ip net.IP, prefixes []netip.Prefix) bool {
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	addr = addr.Unmap()
	for _, p := range prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
