package pki

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// checkSANPolicy checks the requested SANs (not the template's own, which
// are trusted) against the template's allowed patterns, and a requested CN
// against the allowed DNS names. Pass-through allows everything.
func checkSANPolicy(is *issuance) error {
	t := is.tmpl
	if t == nil {
		return nil
	}
	csr := is.csr
	var dnsPatterns []string
	if len(t.AllowedDNSNames) > 0 {
		var err error
		if dnsPatterns, err = is.renderValues("allowedDNSNames", t.AllowedDNSNames); err != nil {
			return err
		}
		for _, d := range csr.DNSNames {
			if !matchAnyDNS(d, dnsPatterns) {
				return requestErrorf(ReasonPolicyViolation, "requested DNS name %s is not allowed by template %q (allowed: %s)", quote(d), t.Name, list(dnsPatterns))
			}
		}
	}
	if len(t.AllowedIPRanges) > 0 {
		prefixes, terr := parseIPRanges(t.Name, t.AllowedIPRanges)
		if terr != nil {
			return terr
		}
		for _, ip := range csr.IPAddresses {
			if !ipInRanges(ip, prefixes) {
				return requestErrorf(ReasonPolicyViolation, "requested IP address %s is not allowed by template %q (allowed: %s)", ip, t.Name, list(t.AllowedIPRanges))
			}
		}
	}
	if len(t.AllowedURIs) > 0 {
		patterns, err := is.renderValues("allowedURIs", t.AllowedURIs)
		if err != nil {
			return err
		}
		for _, u := range csr.URIs {
			if !matchAnyGlob(u.String(), patterns, false) {
				return requestErrorf(ReasonPolicyViolation, "requested URI %s is not allowed by template %q (allowed: %s)", quote(u.String()), t.Name, list(patterns))
			}
		}
	}
	if len(t.AllowedEmailAddresses) > 0 {
		patterns, err := is.renderValues("allowedEmailAddresses", t.AllowedEmailAddresses)
		if err != nil {
			return err
		}
		for _, e := range csr.EmailAddresses {
			if !matchAnyGlob(e, patterns, true) {
				return requestErrorf(ReasonPolicyViolation, "requested email address %s is not allowed by template %q (allowed: %s)", quote(e), t.Name, list(patterns))
			}
		}
	}
	if len(t.AllowedDNSNames) > 0 && is.cnFromRequest {
		if cn := is.cert.Subject.CommonName; cn != "" && !is.cnAllowed(cn, dnsPatterns) {
			return requestErrorf(ReasonPolicyViolation, "requested common name %s is not allowed by template %q: it must be one of the certificate's SANs or match an allowed DNS name (allowed: %s)", quote(cn), t.Name, list(dnsPatterns))
		}
	}
	return nil
}

// cnAllowed reports whether a requested CN is one of the certificate's SANs
// (all of which passed the policy or come from the template) or matches an
// allowed DNS pattern.
func (is *issuance) cnAllowed(cn string, dnsPatterns []string) bool {
	for _, d := range is.cert.DNSNames {
		if dnsKey(d) == dnsKey(cn) {
			return true
		}
	}
	for _, ip := range is.cert.IPAddresses {
		if ip.String() == cn {
			return true
		}
	}
	for _, u := range is.cert.URIs {
		if u.String() == cn {
			return true
		}
	}
	for _, e := range is.cert.EmailAddresses {
		if strings.EqualFold(e, cn) {
			return true
		}
	}
	return matchAnyDNS(cn, dnsPatterns)
}

func matchAnyDNS(name string, patterns []string) bool {
	for _, p := range patterns {
		if matchDNS(name, p) {
			return true
		}
	}
	return false
}

// matchDNS matches a DNS name against a pattern, ignoring case and a
// trailing dot. A "*" label of the pattern matches exactly one non-empty
// label; any other label matches only itself, so a requested wildcard label
// "*" matches only a pattern's "*" in the same position.
func matchDNS(name, pattern string) bool {
	name, pattern = dnsKey(name), dnsKey(pattern)
	if name == "" || pattern == "" || strings.Count(name, ".") != strings.Count(pattern, ".") {
		return false
	}
	nl, pl := strings.Split(name, "."), strings.Split(pattern, ".")
	for i := range pl {
		if nl[i] == "" || (pl[i] != "*" && pl[i] != nl[i]) {
			return false
		}
	}
	return true
}

func matchAnyGlob(s string, patterns []string, foldCase bool) bool {
	for _, p := range patterns {
		if foldCase {
			if matchGlob(strings.ToLower(s), strings.ToLower(p)) {
				return true
			}
		} else if matchGlob(s, p) {
			return true
		}
	}
	return false
}

// matchGlob matches s against a pattern in which '*' matches any run of
// characters, '/' included; every other character matches itself. It runs
// in time linear in len(s) per literal segment: the leftmost match of each
// middle segment is always the right choice.
func matchGlob(s, pattern string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return s == pattern
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// parseIPRanges parses a template's allowedIPRanges.
func parseIPRanges(tmplName string, ranges []string) ([]netip.Prefix, *TemplateError) {
	out := make([]netip.Prefix, 0, len(ranges))
	for i, r := range ranges {
		p, err := netip.ParsePrefix(strings.TrimSpace(r))
		if err != nil {
			return nil, templateErrorf(tmplName, fmt.Sprintf("allowedIPRanges[%d]", i), "%s is not a CIDR range (e.g. 10.0.0.0/8 or fd00::/8)", quote(r))
		}
		out = append(out, p)
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
