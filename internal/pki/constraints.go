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
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// Requested name constraints: a CA request may carry a nameConstraints
// extension (cert-manager writes spec.nameConstraints there). The CA
// certificate gets those constraints, never wider than the template's own:
// every requested permitted subtree must lie inside one the template
// derives from its allow-lists, a type the request does not constrain
// keeps the template's, and excluded subtrees add up. A requested subtree
// outside the template's is refused by name, not narrowed in silence.

// dnsConstraintProblem checks a requested DNS domain constraint: empty
// (every name), or a DNS name without wildcard, optionally with a leading
// dot (only its subdomains, as Go reads it).
func dnsConstraintProblem(c string) string {
	if c == "" {
		return ""
	}
	return dnsNameShapeProblem(strings.TrimPrefix(c, "."), false)
}

// hostConstraintProblem checks a requested URI domain constraint: a host
// name, or a leading dot and a domain (its subdomains). An IP address
// cannot be a URI constraint (RFC 5280 §4.2.1.10).
func hostConstraintProblem(c string) string {
	if c == "" {
		return ""
	}
	return dnsNameShapeProblem(strings.TrimPrefix(c, "."), false)
}

// emailConstraintProblem checks a requested email constraint: a mailbox,
// a domain (every mailbox there) or a leading dot and a domain (every
// mailbox in its subdomains).
func emailConstraintProblem(c string) string {
	if strings.Contains(c, "@") {
		return emailProblem(c)
	}
	return hostConstraintProblem(c)
}

// ipConstraintOf reads an IP range constraint: an address and a mask of
// the same length (4 or 16 bytes), the mask contiguous and no bit of the
// address outside it.
func ipConstraintOf(b []byte) (*net.IPNet, string) {
	if len(b) != 2*net.IPv4len && len(b) != 2*net.IPv6len {
		return nil, fmt.Sprintf("it is %d bytes; an IP range is an address and a mask of 4 or 16 bytes each", len(b))
	}
	n := len(b) / 2
	ip, mask := net.IP(bytes.Clone(b[:n])), net.IPMask(bytes.Clone(b[n:]))
	ones, bits := mask.Size()
	if ones == 0 && bits == 0 {
		return nil, "its mask is not contiguous"
	}
	if !ip.Mask(mask).Equal(ip) {
		return nil, fmt.Sprintf("its address %s has bits outside its /%d mask", ip, ones)
	}
	return &net.IPNet{IP: ip, Mask: mask}, ""
}

// domainPart is the domain a URI or email constraint names, without a
// leading dot and lowercased, and whether it names only subdomains (a
// leading dot) or a single mailbox.
func domainPart(c string) (domain string, subdomains, mailbox bool) {
	if i := strings.LastIndexByte(c, '@'); i >= 0 {
		return strings.ToLower(c[i+1:]), false, true
	}
	if strings.HasPrefix(c, ".") {
		return strings.ToLower(c[1:]), true, false
	}
	return strings.ToLower(c), false, false
}

// strictSubdomain reports whether a is a subdomain of d, not d itself.
func strictSubdomain(a, d string) bool { return strings.HasSuffix(a, "."+d) }

// dnsConstraintWithin reports whether DNS constraint x permits only names
// that constraint c permits: "d" permits d and its subdomains, ".d" only
// d's subdomains, "" every name.
func dnsConstraintWithin(x, c string) bool {
	if c == "" {
		return true
	}
	if x == "" {
		return false
	}
	xd, xSub, _ := domainPart(x)
	cd, cSub, _ := domainPart(c)
	if cSub {
		return strictSubdomain(xd, cd) || xSub && xd == cd
	}
	return xd == cd || strictSubdomain(xd, cd)
}

// hostConstraintWithin reports whether URI or email constraint x permits
// only names that c permits, reading c as RFC 5280 does, the narrowest way
// a verifier reads it (Go reads "d" as d and its subdomains): "d" permits
// host d (or, for email, every mailbox at d), ".d" every subdomain of d,
// and a mailbox only itself. x is within c only when it is under every
// reading.
func hostConstraintWithin(x, c string) bool {
	if c == "" {
		return true
	}
	if x == "" {
		return false
	}
	xd, xSub, xBox := domainPart(x)
	cd, cSub, cBox := domainPart(c)
	switch {
	case cBox:
		return xBox && sameEmail(x, c)
	case cSub:
		return strictSubdomain(xd, cd) || xSub && xd == cd
	default:
		return !xSub && xd == cd
	}
}

// ipConstraintWithin reports whether range x lies inside range c, both
// of the same address length.
func ipConstraintWithin(x, c *net.IPNet) bool {
	xp, ok1 := prefixOf(x)
	cp, ok2 := prefixOf(c)
	return ok1 && ok2 && len(x.IP) == len(c.IP) && cp.Bits() <= xp.Bits() && cp.Contains(xp.Addr())
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	addr, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, bits := n.Mask.Size()
	if bits != addr.BitLen() {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(addr, ones), true
}

// constraintKind names a type of name constraint in messages, with the
// allow-list it derives from and the cert-manager field that requests it.
type constraintKind struct {
	name, allowList, field string
}

var (
	dnsConstraints   = constraintKind{"DNS domain", "allowedDNSNames", "dnsDomains"}
	ipConstraints    = constraintKind{"IP range", "allowedIPRanges", "ipRanges"}
	emailConstraints = constraintKind{"email address", "allowedEmailAddresses", "emailAddresses"}
	uriConstraints   = constraintKind{"URI domain", "allowedURIs", "uriDomains"}
)

// intersectNameConstraints is the NameConstraints of a CA certificate
// whose request asked for req, under the constraints tmpl derives from the
// template's allow-lists (nil for an unconstrainedCA template, which
// limits nothing). The result is always critical, as RFC 5280 asks of a
// CA: a verifier that does not know the extension must reject the
// certificate rather than ignore its limits.
func intersectNameConstraints(tmplName string, tmpl *nameConstraints, req nameConstraints) (nameConstraints, error) {
	out := nameConstraints{Critical: true}
	var base nameConstraints
	if tmpl != nil {
		base = *tmpl
	}
	var err error
	if out.PermittedDNSDomains, err = permittedWithin(tmplName, dnsConstraints, req.PermittedDNSDomains, base.PermittedDNSDomains, base.ExcludedDNSDomains, tmpl != nil, dnsConstraintWithin); err != nil {
		return out, err
	}
	if out.PermittedURIDomains, err = permittedWithin(tmplName, uriConstraints, req.PermittedURIDomains, base.PermittedURIDomains, base.ExcludedURIDomains, tmpl != nil, hostConstraintWithin); err != nil {
		return out, err
	}
	if out.PermittedEmailAddresses, err = permittedWithin(tmplName, emailConstraints, req.PermittedEmailAddresses, base.PermittedEmailAddresses, base.ExcludedEmailAddresses, tmpl != nil, hostConstraintWithin); err != nil {
		return out, err
	}
	out.PermittedIPRanges = base.PermittedIPRanges
	if len(req.PermittedIPRanges) > 0 {
		for _, x := range req.PermittedIPRanges {
			if tmpl != nil && !slices.ContainsFunc(base.PermittedIPRanges, func(c *net.IPNet) bool { return ipConstraintWithin(x, c) }) {
				return out, outsideTemplate(tmplName, ipConstraints, x.String(), ipStrings(base.PermittedIPRanges), len(base.ExcludedIPRanges) > 0 && len(base.PermittedIPRanges) == 0)
			}
		}
		out.PermittedIPRanges = req.PermittedIPRanges
	}
	out.ExcludedDNSDomains = unionStrings(base.ExcludedDNSDomains, req.ExcludedDNSDomains)
	out.ExcludedURIDomains = unionStrings(base.ExcludedURIDomains, req.ExcludedURIDomains)
	out.ExcludedEmailAddresses = unionStrings(base.ExcludedEmailAddresses, req.ExcludedEmailAddresses)
	out.ExcludedIPRanges = base.ExcludedIPRanges
	for _, x := range req.ExcludedIPRanges {
		if !slices.ContainsFunc(out.ExcludedIPRanges, func(c *net.IPNet) bool { return c.String() == x.String() }) {
			out.ExcludedIPRanges = append(slices.Clip(out.ExcludedIPRanges), x)
		}
	}
	return out, nil
}

// permittedWithin checks each requested permitted subtree of one type
// against the template's (when constrained) and returns the subtrees the
// CA gets: the requested ones, else the template's.
func permittedWithin(tmplName string, kind constraintKind, req, tmplPermitted, tmplExcluded []string, constrained bool, within func(x, c string) bool) ([]string, error) {
	if len(req) == 0 {
		return tmplPermitted, nil
	}
	if constrained {
		none := slices.Contains(tmplExcluded, "")
		for _, x := range req {
			if none || !slices.ContainsFunc(tmplPermitted, func(c string) bool { return within(x, c) }) {
				return nil, outsideTemplate(tmplName, kind, x, tmplPermitted, none)
			}
		}
	}
	return req, nil
}

// outsideTemplate is the error for a requested permitted subtree wider
// than the template allows.
func outsideTemplate(tmplName string, kind constraintKind, value string, tmplPermitted []string, none bool) error {
	if none {
		return requestErrorf(ReasonPolicyViolation, "requested name constraint permitted %s %s is not allowed by template %q: its %s is unset, so a CA it signs may permit no %s; drop spec.nameConstraints.permitted.%s or set %s", kind.name, quote(value), tmplName, kind.allowList, kind.name, kind.field, kind.allowList)
	}
	return requestErrorf(ReasonPolicyViolation, "requested name constraint permitted %s %s is not allowed by template %q: it is not inside the constraints its %s give (%s); narrow spec.nameConstraints.permitted.%s", kind.name, quote(value), tmplName, kind.allowList, list(tmplPermitted), kind.field)
}

// unionStrings is a followed by the entries of b it lacks.
func unionStrings(a, b []string) []string {
	out := slices.Clip(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func ipStrings(ns []*net.IPNet) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.String()
	}
	return out
}
