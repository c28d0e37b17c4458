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

// This file holds the grammars of requested names and of the allow-list
// patterns a template matches them with, and the X.509 name constraints a
// CA issued from a template gets. Everything here is a pure function of
// strings and standard library types; callers word the messages around the
// short reasons these functions return.
//
// Requested names (each must be well-formed before it is matched):
//   - DNS name: dot-separated labels of letters, digits and hyphens (1-63
//     characters, no hyphen first or last), at most 253 characters, no
//     trailing dot, last label not all digits. The leftmost label may be "*"
//     when at least two labels follow it (*.example.com).
//   - URI: scheme://host[:port][/path] with a DNS host (no wildcard) or an IP
//     literal, no user@, no ?query, no #fragment, and path segments that are
//     neither empty nor dot-segments, even percent-encoded. An opaque URI
//     (scheme:rest without //, like urn:x) is well-formed too, but only an
//     identical allow-list entry matches it.
//   - Email: local@domain with a dot-atom local part of at most 64
//     characters and a DNS domain (no wildcard).
//
// Patterns:
//   - DNS: labels compared case-insensitively; "*" matches exactly one label;
//     a leftmost "**" matches one or more labels; "**" alone matches any name.
//   - URI: scheme://host[:port][/path]: the scheme must be equal; the host is
//     a DNS pattern or an exact IP literal; the port must be equal (none
//     means none); a path segment "*" matches exactly one segment and a last
//     segment "**" matches zero or more; other segments match exactly in
//     their percent-encoded form. A pattern without "//" (urn:x) matches only
//     the identical URI.
//   - Email: local@domain, local "*" (any local part) or a literal compared
//     case-sensitively, domain a DNS pattern.
//   - Text: "*" matches any run of characters; for subject attributes and
//     Kubernetes user names, never for SANs.

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

const (
	// maxDNSNameLen is the longest DNS name in text form (RFC 1035 §2.3.4,
	// less the trailing dot).
	maxDNSNameLen = 253
	// maxDNSLabelLen is the longest DNS label (RFC 1035 §2.3.4).
	maxDNSLabelLen = 63
	// maxEmailLocalLen is the longest local part of an email address
	// (RFC 5321 §4.5.3.1.1).
	maxEmailLocalLen = 64
	// maxReasonQuote bounds how much of a requested value a reason repeats.
	maxReasonQuote = 128
)

// ----- DNS names -----

// dnsNameProblem reports why name may not be requested as a DNS SAN, or ""
// if it may. A valid name is one or more dot-separated labels of letters,
// digits and hyphens (RFC 1123: 1 to 63 characters, no hyphen first or
// last), at most 253 characters in all, with no trailing dot, whose last
// label is not all digits (such a name reads as an IPv4 address). Single
// labels like "localhost" are valid. The leftmost label may be the wildcard
// "*" when at least two labels follow it: *.example.com is valid, "*" and
// *.com are not. Internationalized names must be in their xn-- form.
func dnsNameProblem(name string) string { return dnsNameShapeProblem(name, true) }

// dnsNameShapeProblem is dnsNameProblem, with the leftmost wildcard label
// allowed only when wildcardOK is true (it is not in URI hosts and email
// domains).
func dnsNameShapeProblem(name string, wildcardOK bool) string {
	if p := dnsTextProblem(name); p != "" {
		return p
	}
	labels := strings.Count(name, ".") + 1
	var last string
	for i, rest := 0, name; ; i++ {
		l, next, more := strings.Cut(rest, ".")
		switch {
		case l == "*" && i == 0 && wildcardOK:
			if labels < 3 {
				return "a wildcard needs at least two labels after it, as in *.example.com"
			}
		case strings.Contains(l, "*") && !wildcardOK:
			return `it has a wildcard "*", which is not allowed here`
		case strings.Contains(l, "*"):
			return `a wildcard "*" may only be the whole leftmost label, as in *.example.com`
		default:
			if p := dnsLabelProblem(l); p != "" {
				return p
			}
		}
		if !more {
			last = l
			break
		}
		rest = next
	}
	if allDigits(last) {
		return fmt.Sprintf("its last label %q is all digits, so it reads as an IP address; request IP addresses as IP SANs", last)
	}
	return ""
}

// dnsTextProblem checks what DNS names and DNS patterns share: not empty,
// no trailing dot, at most 253 characters, no empty label.
func dnsTextProblem(s string) string {
	switch {
	case s == "":
		return "it is empty"
	case strings.HasSuffix(s, "."):
		return "it ends with a dot; drop the trailing dot"
	case len(s) > maxDNSNameLen:
		return fmt.Sprintf("it is %d characters long, more than the %d a DNS name may have", len(s), maxDNSNameLen)
	case strings.HasPrefix(s, ".") || strings.Contains(s, ".."):
		return "it has an empty label (a leading dot or two dots in a row)"
	}
	return ""
}

// dnsLabelProblem checks one literal label: 1 to 63 letters, digits and
// hyphens, no hyphen first or last.
func dnsLabelProblem(l string) string {
	if len(l) > maxDNSLabelLen {
		return fmt.Sprintf("a label is %d characters long, more than the %d a DNS label may have", len(l), maxDNSLabelLen)
	}
	for i := range len(l) {
		if !isLDHByte(l[i]) {
			return fmt.Sprintf("label %q has a character other than a letter, digit or hyphen (write internationalized names in their xn-- form)", l)
		}
	}
	if l[0] == '-' || l[len(l)-1] == '-' {
		return fmt.Sprintf("label %q starts or ends with a hyphen", l)
	}
	return ""
}

// isLDHByte reports whether c is an ASCII letter, digit or hyphen.
func isLDHByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

// allDigits reports whether s is non-empty and all ASCII digits.
func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// ----- DNS patterns -----

// dnsPatternProblem reports why p is not a DNS pattern, or "" if it is
// one. A pattern is dot-separated labels, each a literal label (as in a
// DNS name), "*" or, as the leftmost label only, "**"; no trailing dot; at
// most 253 characters; a literal last label not all digits (no valid name
// would match it). "*" must be a whole label: web-*.example.com is not a
// pattern.
func dnsPatternProblem(p string) string {
	if q := dnsTextProblem(p); q != "" {
		return q
	}
	labels := strings.Split(p, ".")
	for i, l := range labels {
		switch {
		case l == "*", l == "**" && i == 0:
		case l == "**":
			return `"**" may only be the whole leftmost label, as in **.example.com`
		case strings.Contains(l, "*"):
			return fmt.Sprintf(`label %q mixes "*" with other characters; a wildcard must be a whole label, as in *.example.com`, l)
		default:
			if q := dnsLabelProblem(l); q != "" {
				return q
			}
		}
	}
	if last := labels[len(labels)-1]; allDigits(last) {
		return fmt.Sprintf("its last label %q is all digits, so no valid DNS name matches it; allow IP addresses by IP range", last)
	}
	return ""
}

// matchDNSPattern reports whether the DNS name matches the pattern. Both
// must be valid (dnsNameProblem, dnsPatternProblem); labels are compared
// case-insensitively. A pattern label "*" matches exactly one label; a
// leftmost "**" matches one or more labels, so **.example.com matches
// a.example.com and a.b.example.com but not example.com, and "**" alone
// matches every valid name.
//
// A requested wildcard name matches when every name it covers matches:
// its leftmost "*" is matched only by a pattern's "*" or "**" in that
// position, never by a literal label. So *.a.example.com matches
// *.a.example.com, *.*.example.com, **.example.com and "**", but not
// x.a.example.com, a.*.example.com or *.example.com.
func matchDNSPattern(name, pattern string) bool {
	if dnsNameProblem(name) != "" || dnsPatternProblem(pattern) != "" {
		return false
	}
	// Both are ASCII now, so folding case cannot turn a foreign character
	// (like the Kelvin sign) into a letter.
	return dnsLabelsMatch(name, pattern)
}

// dnsLabelsMatch matches the labels of name against those of pattern,
// ignoring ASCII case: "*" matches one label, and a leading "**" one or
// more. It splits nothing: the labels are read in place.
func dnsLabelsMatch(name, pattern string) bool {
	nameLabels, patternLabels := strings.Count(name, ".")+1, strings.Count(pattern, ".")+1
	if first, rest, _ := strings.Cut(pattern, "."); first == "**" {
		patternLabels--
		if nameLabels <= patternLabels {
			return false
		}
		if patternLabels == 0 {
			return true
		}
		// Skip the name's labels that "**" stands for.
		for range nameLabels - patternLabels {
			_, name, _ = strings.Cut(name, ".")
		}
		nameLabels, pattern = patternLabels, rest
	}
	if nameLabels != patternLabels {
		return false
	}
	for {
		n, nameRest, more := strings.Cut(name, ".")
		p, patternRest, _ := strings.Cut(pattern, ".")
		if p != "*" && !asciiEqualFold(p, n) {
			return false
		}
		if !more {
			return true
		}
		name, pattern = nameRest, patternRest
	}
}

// asciiEqualFold reports whether a and b are equal ignoring ASCII case,
// as strings.ToLower(a) == strings.ToLower(b) is for ASCII strings.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// ----- URIs -----

// uriProblem reports why u may not be requested as a URI SAN, or "" if it
// may. A valid URI is scheme://host[:port][/path]: the host a DNS name
// without wildcard (dnsNameProblem) or an IP literal (IPv6 in brackets, no
// zone), the port a number from 1 to 65535 without leading zeros, no user
// information, no query and no fragment, not even an empty "?", and path
// segments neither empty (no "//", no trailing "/") nor dot-segments, nor
// holding an encoded "/", a backslash or a control character. Segments are
// judged in their percent-decoded form, so %2e%2e is "..". Its text form,
// which is what a certificate holds, must use only the characters RFC 3986
// allows unencoded and must read back as the same URI.
//
// An opaque URI (scheme:rest, no "//", like urn:example:x) is valid when it
// has no query or fragment, but only an identical pattern matches it.
func uriProblem(u *url.URL) string {
	switch {
	case u == nil || *u == url.URL{}:
		return "it is empty"
	case u.Scheme == "":
		return "it has no scheme; write it as scheme://host/path"
	case u.User != nil:
		return "it has user information before the host (user@); remove it"
	case u.ForceQuery || u.RawQuery != "":
		return "it has a query (?...); remove it"
	case u.Fragment != "" || u.RawFragment != "":
		return "it has a fragment (#...); remove it"
	}
	if p := uriCharsProblem(u.String()); p != "" {
		return p
	}
	if p := uriRoundTripProblem(u); p != "" {
		return p
	}
	if u.Opaque != "" {
		return ""
	}
	if u.Host == "" {
		return "it has no host; write it as scheme://host/path"
	}
	if p := uriAuthorityProblem(u); p != "" {
		return p
	}
	return uriPathProblem(u.EscapedPath())
}

// uriCharsProblem checks that a URI's text holds only the characters RFC
// 3986 allows unencoded (letters, digits, -._~ :/?#[]@ !$&'()*+,;=) and
// "%" followed by two hex digits.
func uriCharsProblem(s string) string {
	for i := range len(s) {
		c := s[i]
		if c == '%' && (i+2 >= len(s) || !isHexByte(s[i+1]) || !isHexByte(s[i+2])) {
			return `it has a "%" not followed by two hex digits; write a literal "%" as %25`
		}
		if !isLDHByte(c) && !strings.ContainsRune("._~:/?#[]@!$&'()*+,;=%", rune(c)) {
			return fmt.Sprintf("it has %q, which a URI may not hold unencoded; percent-encode it", s[i:i+1])
		}
	}
	return ""
}

// isHexByte reports whether c is a hex digit.
func isHexByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// uriRoundTripProblem checks that u parses back to itself from its text
// form: a certificate holds u.String(), and the parts matched must be the
// parts a verifier reads.
func uriRoundTripProblem(u *url.URL) string {
	s := u.String()
	v, err := url.Parse(s)
	if err != nil || *v != *u {
		return fmt.Sprintf("it does not read back the same from its text form %s; request it in that form, percent-encoding what must be", clipQuote(s))
	}
	return ""
}

// uriAuthorityProblem checks the host and port of a hierarchical URI.
func uriAuthorityProblem(u *url.URL) string {
	host, port := u.Hostname(), u.Port()
	if strings.HasSuffix(u.Host, ":") {
		return `its port is empty; remove the ":" after the host or add a port`
	}
	if port != "" {
		if p := portProblem(port); p != "" {
			return p
		}
	}
	if strings.HasPrefix(u.Host, "[") {
		return ipv6HostProblem(host)
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Is4() {
		return ""
	}
	if p := dnsNameShapeProblem(host, false); p != "" {
		return fmt.Sprintf("its host %s is not a valid DNS name or IP address: %s", clipQuote(host), p)
	}
	return ""
}

// ipv6HostProblem checks the text between a URI host's brackets.
func ipv6HostProblem(host string) string {
	a, err := netip.ParseAddr(host)
	switch {
	case err != nil || !a.Is6():
		return fmt.Sprintf("its host %s is not an IPv6 address", clipQuote("["+host+"]"))
	case a.Zone() != "":
		return "its host is an IPv6 address with a zone (%25...); remove the zone"
	}
	return ""
}

// portProblem checks a port: a number from 1 to 65535, no leading zero.
func portProblem(port string) string {
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || port[0] == '0' || !allDigits(port) {
		return fmt.Sprintf("its port %s is not a number from 1 to 65535 without leading zeros", clipQuote(port))
	}
	return ""
}

// uriPathProblem checks an escaped path ("" or "/seg/seg...") segment by
// segment.
func uriPathProblem(escaped string) string {
	if escaped == "" {
		return ""
	}
	if !strings.HasPrefix(escaped, "/") {
		return `its path does not start with "/"`
	}
	for seg := range strings.SplitSeq(escaped[1:], "/") {
		if p := pathSegmentProblem(seg); p != "" {
			return p
		}
	}
	return ""
}

// pathSegmentProblem checks one escaped path segment: not empty, and once
// percent-decoded not "." or "..", no "/" or "\", no control character.
func pathSegmentProblem(seg string) string {
	if seg == "" {
		return `its path has an empty segment ("//" or a trailing "/"); remove it`
	}
	dec, err := url.PathUnescape(seg)
	switch {
	case err != nil:
		return fmt.Sprintf("its path segment %s has a bad percent-encoding", clipQuote(seg))
	case dec == "." || dec == "..":
		return fmt.Sprintf(`its path has a dot-segment %s ("." or "..", perhaps percent-encoded); write the path without it`, clipQuote(seg))
	case strings.ContainsAny(dec, `/\`):
		return fmt.Sprintf(`its path segment %s holds an encoded "/" or a "\"; remove it`, clipQuote(seg))
	case strings.ContainsFunc(dec, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Sprintf("its path segment %s holds an encoded control character; remove it", clipQuote(seg))
	}
	return ""
}

// uriPathSegments splits a valid escaped path into its segments; "" has
// none.
func uriPathSegments(escaped string) []string {
	if escaped == "" {
		return nil
	}
	return strings.Split(strings.TrimPrefix(escaped, "/"), "/")
}

// clipQuote quotes s for a reason, shortened to maxReasonQuote bytes.
func clipQuote(s string) string {
	if len(s) > maxReasonQuote {
		return fmt.Sprintf("%q...", s[:maxReasonQuote])
	}
	return fmt.Sprintf("%q", s)
}

// ----- URI patterns -----

// uriPatternParts is a parsed URI pattern.
type uriPatternParts struct {
	scheme string // lowercased
	// opaque is the rest of a pattern without "//" (urn:x → "x"); such a
	// pattern matches only the identical URI.
	opaque string
	host   string     // a DNS pattern; "" when ip is set
	ip     netip.Addr // an exact IP host
	port   string     // "" for none
	path   []string   // escaped segments, "*" or a last "**"; nil for none
}

// uriPatternProblem reports why p is not a URI pattern, or "" if it is
// one. A pattern is scheme://host[:port][/path]: the host a DNS pattern
// (dnsPatternProblem) or an IP literal (IPv6 in brackets), the port a
// number, each path segment "*", a last "**", or a literal segment in
// percent-encoded form that a valid URI may hold (write a literal "*" as
// %2A). No user@, "?" or "#". A pattern scheme:rest without "//" (like
// urn:example:x) must be a valid URI without wildcards.
func uriPatternProblem(p string) string {
	_, problem := parseURIPattern(p)
	return problem
}

// parseURIPattern parses a URI pattern by hand (url.Parse does not know
// wildcards), returning its parts or a problem.
func parseURIPattern(p string) (uriPatternParts, string) {
	if p == "" {
		return uriPatternParts{}, "it is empty"
	}
	if strings.ContainsAny(p, "?#") {
		return uriPatternParts{}, `it has a query or fragment ("?" or "#"), which requested URIs may not have; remove it`
	}
	scheme, rest, ok := strings.Cut(p, ":")
	if !ok {
		return uriPatternParts{}, "it has no scheme; write it as scheme://host/path"
	}
	if q := schemeProblem(scheme); q != "" {
		return uriPatternParts{}, q
	}
	if !strings.HasPrefix(rest, "//") {
		return parseOpaqueURIPattern(p, scheme, rest)
	}
	authority, path, _ := strings.Cut(rest[2:], "/")
	parts, q := parseURIPatternAuthority(authority)
	if q != "" {
		return uriPatternParts{}, q
	}
	parts.scheme = strings.ToLower(scheme)
	if parts.path, q = parseURIPatternPath(path, strings.Contains(rest[2:], "/")); q != "" {
		return uriPatternParts{}, q
	}
	return parts, ""
}

// schemeProblem checks a URI scheme: a letter, then letters, digits, "+",
// "-" or "." (RFC 3986 §3.1).
func schemeProblem(s string) string {
	ok := s != "" && (s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z')
	for i := 0; ok && i < len(s); i++ {
		ok = isLDHByte(s[i]) || s[i] == '+' || s[i] == '.'
	}
	if !ok {
		return fmt.Sprintf(`its scheme %s is not valid; a scheme is a letter followed by letters, digits, "+", "-" or "."`, clipQuote(s))
	}
	return ""
}

// parseOpaqueURIPattern parses a pattern without "//", which is a literal
// opaque URI.
func parseOpaqueURIPattern(p, scheme, rest string) (uriPatternParts, string) {
	if strings.Contains(rest, "*") {
		return uriPatternParts{}, `wildcards are not supported in URIs without "//" (like urn:...); list each URI in full`
	}
	u, err := url.Parse(p)
	if err != nil {
		return uriPatternParts{}, fmt.Sprintf("it is not a valid URI: %v", err)
	}
	if q := uriProblem(u); q != "" {
		return uriPatternParts{}, q
	}
	if u.Opaque != rest {
		return uriPatternParts{}, fmt.Sprintf("it does not read back the same; write it as %s", clipQuote(u.String()))
	}
	return uriPatternParts{scheme: strings.ToLower(scheme), opaque: rest}, ""
}

// parseURIPatternAuthority parses host[:port] of a URI pattern.
func parseURIPatternAuthority(authority string) (uriPatternParts, string) {
	if strings.Contains(authority, "@") {
		return uriPatternParts{}, "it has user information before the host (user@), which requested URIs may not have; remove it"
	}
	var parts uriPatternParts
	var port, q string
	var hasPort bool
	if strings.HasPrefix(authority, "[") {
		if parts.ip, port, hasPort, q = parseIPv6PatternHost(authority); q != "" {
			return uriPatternParts{}, q
		}
	} else {
		var host string
		host, port, hasPort = strings.Cut(authority, ":")
		if q := uriPatternHostProblem(host); q != "" {
			return uriPatternParts{}, q
		}
		if a, err := netip.ParseAddr(host); err == nil && a.Is4() {
			parts.ip = a
		} else {
			parts.host = host
		}
	}
	switch {
	case hasPort && strings.Contains(port, "*"):
		return uriPatternParts{}, "its port is a wildcard; a pattern's port must be a number, or absent to allow no port"
	case hasPort:
		if q := portProblem(port); q != "" {
			return uriPatternParts{}, q
		}
	}
	parts.port = port
	return parts, ""
}

// parseIPv6PatternHost parses "[address]" and an optional ":port".
func parseIPv6PatternHost(authority string) (ip netip.Addr, port string, hasPort bool, problem string) {
	end := strings.IndexByte(authority, ']')
	if end < 0 {
		return netip.Addr{}, "", false, `its IPv6 host has no closing "]"`
	}
	host, after := authority[1:end], authority[end+1:]
	if q := ipv6HostProblem(host); q != "" {
		return netip.Addr{}, "", false, q
	}
	if after != "" && !strings.HasPrefix(after, ":") {
		return netip.Addr{}, "", false, `its IPv6 host is followed by something other than ":port"`
	}
	port, hasPort = strings.CutPrefix(after, ":")
	return netip.MustParseAddr(host), port, hasPort, ""
}

// uriPatternHostProblem checks a URI pattern's host outside brackets: an
// IPv4 address or a DNS pattern.
func uriPatternHostProblem(host string) string {
	if host == "" {
		return "it has no host; write it as scheme://host/path"
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Is4() {
		return ""
	}
	if q := dnsPatternProblem(host); q != "" {
		return fmt.Sprintf("its host pattern %s is not valid: %s", clipQuote(host), q)
	}
	return ""
}

// parseURIPatternPath parses the path of a URI pattern (after the "/"
// ending the authority; hasPath tells whether there was one).
func parseURIPatternPath(path string, hasPath bool) ([]string, string) {
	if !hasPath {
		return nil, ""
	}
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		switch {
		case seg == "*", seg == "**" && i == len(segs)-1:
		case seg == "**":
			return nil, `"**" may only be the last path segment`
		case strings.Contains(seg, "*"):
			return nil, fmt.Sprintf(`path segment %s mixes "*" with other characters; a wildcard must be a whole segment (write a literal "*" as %%2A)`, clipQuote(seg))
		default:
			if q := pathSegmentProblem(seg); q != "" {
				return nil, q
			}
			if q := escapedFormProblem(seg); q != "" {
				return nil, q
			}
		}
	}
	return segs, ""
}

// escapedFormProblem checks that a literal path segment is written in a
// percent-encoded form a requested URI can keep, since segments are
// compared in that form.
func escapedFormProblem(seg string) string {
	dec, _ := url.PathUnescape(seg) // pathSegmentProblem checked it
	u := url.URL{Path: "/" + dec, RawPath: "/" + seg}
	if esc := u.EscapedPath(); esc != "/"+seg {
		return fmt.Sprintf("path segment %s is not in percent-encoded form; write it as %s", clipQuote(seg), clipQuote(strings.TrimPrefix(esc, "/")))
	}
	return ""
}

// matchURIPattern reports whether the URI matches the pattern. Both must
// be valid (uriProblem, uriPatternProblem). The schemes must be equal
// (ignoring case); the host must match the pattern's DNS pattern, or equal
// its IP (an IP host never matches a DNS pattern, not even "**"); the
// ports must be equal, no port matching only no port; and the path must
// match segment by segment, "*" matching exactly one segment and a last
// "**" zero or more, literal segments compared exactly in escaped form.
// So spiffe://cluster.local/ns/a/** matches spiffe://cluster.local/ns/a
// and anything below it. A pattern without "//" matches only the identical
// opaque URI.
func matchURIPattern(u *url.URL, pattern string) bool {
	if uriProblem(u) != "" {
		return false
	}
	pat, problem := parseURIPattern(pattern)
	if problem != "" || u.Scheme != pat.scheme {
		return false
	}
	if pat.opaque != "" || u.Opaque != "" {
		return u.Opaque == pat.opaque
	}
	return u.Port() == pat.port && uriHostMatches(u.Hostname(), pat) &&
		pathSegmentsMatch(uriPathSegments(u.EscapedPath()), pat.path)
}

// uriHostMatches matches a valid URI's host (without brackets) against a
// pattern's host.
func uriHostMatches(host string, pat uriPatternParts) bool {
	a, err := netip.ParseAddr(host)
	if pat.ip.IsValid() {
		return err == nil && a == pat.ip
	}
	return err != nil && matchDNSPattern(host, pat.host)
}

// pathSegmentsMatch matches escaped path segments against pattern
// segments.
func pathSegmentsMatch(segs, pattern []string) bool {
	for i, p := range pattern {
		if p == "**" {
			return true
		}
		if i >= len(segs) || p != "*" && p != segs[i] {
			return false
		}
	}
	return len(segs) == len(pattern)
}

// ----- Email addresses -----

// emailProblem reports why addr may not be requested as an email SAN, or
// "" if it may. A valid address is local@domain with exactly one "@"; the
// local part a dot-atom (RFC 5322 §3.2.3: letters, digits and
// !#$%&'*+/=?^_`{|}~- in dot-separated runs) of at most 64 characters; the
// domain a DNS name without wildcard (dnsNameProblem). Quoted local parts,
// IP domains and non-ASCII addresses are not valid.
func emailProblem(addr string) string {
	local, domain, problem := splitEmail(addr)
	if problem != "" {
		return problem
	}
	if p := dotAtomProblem(local); p != "" {
		return p
	}
	if p := dnsNameShapeProblem(domain, false); p != "" {
		return fmt.Sprintf("its domain %s is not valid: %s", clipQuote(domain), p)
	}
	return ""
}

// splitEmail splits an address or pattern at its only "@".
func splitEmail(s string) (local, domain, problem string) {
	switch n := strings.Count(s, "@"); {
	case s == "":
		return "", "", "it is empty"
	case n == 0:
		return "", "", `it has no "@"; write it as name@domain`
	case n > 1:
		return "", "", `it has more than one "@"`
	}
	local, domain, _ = strings.Cut(s, "@")
	return local, domain, ""
}

// dotAtomProblem checks an email local part.
func dotAtomProblem(local string) string {
	switch {
	case local == "":
		return `its local part (before the "@") is empty`
	case len(local) > maxEmailLocalLen:
		return fmt.Sprintf("its local part is %d characters long, more than the %d allowed", len(local), maxEmailLocalLen)
	case strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, ".."):
		return "its local part starts or ends with a dot, or has two dots in a row"
	}
	for i := range len(local) {
		if c := local[i]; !isLDHByte(c) && c != '.' && !strings.ContainsRune("!#$%&'*+/=?^_`{|}~", rune(c)) {
			return fmt.Sprintf("its local part has %q, which is not allowed; use letters, digits, dots and !#$%%&'*+/=?^_`{|}~-", local[i:i+1])
		}
	}
	return ""
}

// emailPatternProblem reports why p is not an email pattern, or "" if it
// is one. A pattern is local@domain: local "*" or a literal local part
// without "*" (as in emailProblem), domain a DNS pattern
// (dnsPatternProblem).
func emailPatternProblem(p string) string {
	local, domain, problem := splitEmail(p)
	if problem != "" {
		return problem
	}
	if local != "*" {
		if strings.Contains(local, "*") {
			return `a "*" in the local part must be the whole local part, as in *@example.com`
		}
		if q := dotAtomProblem(local); q != "" {
			return q
		}
	}
	if q := dnsPatternProblem(domain); q != "" {
		return fmt.Sprintf("its domain pattern %s is not valid: %s", clipQuote(domain), q)
	}
	return ""
}

// matchEmailPattern reports whether the address matches the pattern. Both
// must be valid (emailProblem, emailPatternProblem). A local part "*"
// matches any local part, a literal one only itself, case-sensitively (as
// RFC 5321 says and as verifiers compare email name constraints); the
// domain matches the DNS pattern, ignoring case. A "*" never matches "@".
func matchEmailPattern(addr, pattern string) bool {
	if emailProblem(addr) != "" || emailPatternProblem(pattern) != "" {
		return false
	}
	local, domain, _ := strings.Cut(addr, "@")
	pLocal, pDomain, _ := strings.Cut(pattern, "@")
	return (pLocal == "*" || pLocal == local) && matchDNSPattern(domain, pDomain)
}

// ----- Free text -----

// matchTextGlob matches s against a pattern in which "*" matches any run
// of characters (none included, "/", "@" and "." too) and every other
// byte matches itself, case-sensitively. It is for free-text values such
// as subject attributes and Kubernetes user and group names, never for
// SANs. There is no backtracking: the leftmost match of each middle part
// is always a right choice, so the time is linear in len(s) per part.
func matchTextGlob(s, pattern string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return s == pattern
	}
	first, last := parts[0], parts[len(parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return true
}

// ----- Name constraints -----

// nameConstraints are the X.509 name constraints (RFC 5280 §4.2.1.10) of
// a CA certificate issued from a template, field for field as set on an
// x509.Certificate (Critical is PermittedDNSDomainsCritical); apply sets
// them.
type nameConstraints struct {
	Critical                                        bool
	PermittedDNSDomains, ExcludedDNSDomains         []string
	PermittedIPRanges, ExcludedIPRanges             []*net.IPNet
	PermittedURIDomains, ExcludedURIDomains         []string
	PermittedEmailAddresses, ExcludedEmailAddresses []string
}

// apply sets the constraints on a certificate template.
func (nc nameConstraints) apply(c *x509.Certificate) {
	c.PermittedDNSDomainsCritical = nc.Critical
	c.PermittedDNSDomains, c.ExcludedDNSDomains = nc.PermittedDNSDomains, nc.ExcludedDNSDomains
	c.PermittedIPRanges, c.ExcludedIPRanges = nc.PermittedIPRanges, nc.ExcludedIPRanges
	c.PermittedURIDomains, c.ExcludedURIDomains = nc.PermittedURIDomains, nc.ExcludedURIDomains
	c.PermittedEmailAddresses, c.ExcludedEmailAddresses = nc.PermittedEmailAddresses, nc.ExcludedEmailAddresses
}

// deriveNameConstraints turns a template's allow-lists into the critical
// name constraints of a CA issued from it, or returns a problem when a
// pattern cannot be expressed as one. A constraint names a subtree, so it
// is a superset of its pattern: what the CA may issue is at least, and
// usually more than, what the pattern allows.
//
//   - DNS pattern: the labels right of its rightmost wildcard, or the whole
//     name: *.team-a.example.com and a.example.com give team-a.example.com
//     and a.example.com (each with all its subdomains). "**", "*" and
//     other patterns with nothing right of a wildcard are a problem.
//   - IP range: itself.
//   - URI pattern: its host: a literal host as is (that host only), a
//     wildcard host as "." and the labels right of its rightmost wildcard
//     (any subdomain): spiffe://*.example.com/** gives .example.com. Port
//     and path cannot be constrained. IP hosts and opaque URIs are a
//     problem: verifiers reject such URIs under URI constraints.
//   - Email pattern: *@example.com gives example.com (any mailbox there),
//     a@example.com itself, a wildcard domain "." and the labels right of
//     its rightmost wildcard.
//
// A name type whose allow-list is empty allows no name of that type, but
// RFC 5280 leaves a type with no permitted subtree unconstrained, so it is
// excluded entirely instead: IP ranges 0.0.0.0/0 and ::/0; for DNS, URI
// and email the zero-length constraint, which Go's verifier (and NSS) read
// as every name, as does OpenSSL for DNS names but not for URIs and email
// addresses; so those three types also permit only the reserved domain
// "invalid" (RFC 6761), and to OpenSSL names under it are all that is left.
// Duplicates and entries covered by a broader one are dropped; order is
// otherwise kept.
func deriveNameConstraints(dnsPatterns []string, ipRanges []netip.Prefix, uriPatterns, emailPatterns []string) (nameConstraints, string) {
	nc := nameConstraints{Critical: true}
	var problem string
	if nc.PermittedDNSDomains, problem = constraintList(dnsPatterns, dnsConstraintFor, dnsSubtreeCovers); problem != "" {
		return nameConstraints{}, problem
	}
	if nc.PermittedIPRanges, problem = ipConstraintRanges(ipRanges); problem != "" {
		return nameConstraints{}, problem
	}
	if nc.PermittedURIDomains, problem = constraintList(uriPatterns, uriConstraintFor, hostConstraintCovers); problem != "" {
		return nameConstraints{}, problem
	}
	if nc.PermittedEmailAddresses, problem = constraintList(emailPatterns, emailConstraintFor, hostConstraintCovers); problem != "" {
		return nameConstraints{}, problem
	}
	if len(dnsPatterns) == 0 {
		nc.PermittedDNSDomains, nc.ExcludedDNSDomains = []string{nothingDomain}, []string{""}
	}
	if len(ipRanges) == 0 {
		nc.ExcludedIPRanges = []*net.IPNet{ipNetOf(netip.PrefixFrom(netip.IPv4Unspecified(), 0)), ipNetOf(netip.PrefixFrom(netip.IPv6Unspecified(), 0))}
	}
	if len(uriPatterns) == 0 {
		nc.PermittedURIDomains, nc.ExcludedURIDomains = []string{nothingDomain}, []string{""}
	}
	if len(emailPatterns) == 0 {
		nc.PermittedEmailAddresses, nc.ExcludedEmailAddresses = []string{nothingDomain}, []string{""}
	}
	return nc, ""
}

// caNameConstraints derives the NameConstraints of a CA certificate a
// template signs, refusing allow-lists the constraints would widen beyond
// what a leaf of the same template may carry. X.509 constraints keep only
// a DNS domain (and all of its subdomains), a URI host and an email
// domain or mailbox: a pattern with a fixed label left of a wildcard
// (web.*.example.com permits all of example.com), a URI pattern with a
// path (spiffe://cluster.local/ns/team-a/** permits every path on
// cluster.local, so another namespace's SPIFFE IDs) or a fixed mailbox in
// a wildcard domain would let the CA's holder sign names the template
// refuses. The scheme and port of a URI and the depth below a domain are
// not carried either; that much widening is what the constraints can do.
func caNameConstraints(dnsPatterns []string, ipRanges []netip.Prefix, uriPatterns, emailPatterns []string) (nameConstraints, string) {
	for _, p := range dnsPatterns {
		if fixedLeftOfWildcard(p) {
			return nameConstraints{}, fmt.Sprintf("DNS pattern %s has a fixed label left of a wildcard, and a name constraint can only permit a whole domain (%s), wider than the pattern; write it as *.<domain> or **.<domain>, or list the names", clipQuote(p), dnsConstraintOrEmpty(p))
		}
	}
	for _, p := range uriPatterns {
		parts, q := parseURIPattern(p)
		if q != "" || parts.opaque != "" || parts.ip.IsValid() {
			continue // deriveNameConstraints says why
		}
		if fixedLeftOfWildcard(parts.host) {
			return nameConstraints{}, fmt.Sprintf("URI pattern %s has a fixed host label left of a wildcard, and a name constraint can only permit a whole domain, wider than the pattern; write the host as *.<domain>, or list the hosts", clipQuote(p))
		}
		if pathFree := len(parts.path) == 0 || len(parts.path) == 1 && parts.path[0] == "**"; !pathFree {
			return nameConstraints{}, fmt.Sprintf("URI pattern %s limits the path, and a name constraint can only permit a host: a CA certificate could sign any path on %s (another namespace's SPIFFE ID, say); drop the path (%s://%s/**) for a template that signs CAs", clipQuote(p), parts.host, parts.scheme, parts.host)
		}
	}
	for _, p := range emailPatterns {
		local, domain, _ := strings.Cut(p, "@")
		if fixedLeftOfWildcard(domain) {
			return nameConstraints{}, fmt.Sprintf("email pattern %s has a fixed domain label left of a wildcard, and a name constraint can only permit a whole domain, wider than the pattern; write the domain as *.<domain>, or list the domains", clipQuote(p))
		}
		if _, wild := fixedDNSSuffix(domain); wild && local != "*" {
			return nameConstraints{}, fmt.Sprintf("email pattern %s names a mailbox in a wildcard domain, and a name constraint can only permit every mailbox of those domains; use *@ or list each address", clipQuote(p))
		}
	}
	return deriveNameConstraints(dnsPatterns, ipRanges, uriPatterns, emailPatterns)
}

// fixedLeftOfWildcard reports whether a DNS pattern has a label that is
// not a wildcard left of its rightmost wildcard label.
func fixedLeftOfWildcard(p string) bool {
	labels := strings.Split(p, ".")
	last := -1
	for i, l := range labels {
		if l == "*" || l == "**" {
			last = i
		}
	}
	for _, l := range labels[:max(last, 0)] {
		if l != "*" && l != "**" {
			return true
		}
	}
	return false
}

// dnsConstraintOrEmpty is the constraint a DNS pattern derives, for
// messages.
func dnsConstraintOrEmpty(p string) string {
	c, _ := fixedDNSSuffix(p)
	return c
}

// nothingDomain is the top-level domain RFC 6761 §6.4 reserves to name
// nothing. Permitting only it is how a CA allows no name of a type to
// verifiers that do not read a zero-length exclusion as every name
// (OpenSSL 3.0 does not, for URIs and email addresses).
const nothingDomain = "invalid"

// constraintList derives one constraint per pattern, then drops
// duplicates and constraints another one covers.
func constraintList(patterns []string, derive func(string) (string, string), covers func(c, x string) bool) ([]string, string) {
	if len(patterns) == 0 {
		return nil, ""
	}
	all := make([]string, 0, len(patterns))
	for _, p := range patterns {
		c, problem := derive(p)
		if problem != "" {
			return nil, problem
		}
		all = append(all, c)
	}
	var out []string
	for i, x := range all {
		covered := false
		for j, c := range all {
			if c == x && j < i || c != x && covers(c, x) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, x)
		}
	}
	return out, ""
}

// dnsConstraintFor derives the DNS constraint of a DNS pattern.
func dnsConstraintFor(p string) (string, string) {
	if q := dnsPatternProblem(p); q != "" {
		return "", fmt.Sprintf("DNS pattern %s is not valid: %s", clipQuote(p), q)
	}
	suffix, _ := fixedDNSSuffix(p)
	if suffix == "" {
		return "", fmt.Sprintf("DNS pattern %s has no fixed labels right of its rightmost wildcard, so no name constraint can limit it; name a domain, as in *.example.com", clipQuote(p))
	}
	return suffix, ""
}

// uriConstraintFor derives the URI constraint of a URI pattern.
func uriConstraintFor(p string) (string, string) {
	parts, q := parseURIPattern(p)
	switch {
	case q != "":
		return "", fmt.Sprintf("URI pattern %s is not valid: %s", clipQuote(p), q)
	case parts.opaque != "":
		return "", fmt.Sprintf("URI pattern %s has no host (it has no \"//\"); verifiers reject URIs without a host under a CA with URI name constraints", clipQuote(p))
	case parts.ip.IsValid():
		return "", fmt.Sprintf("URI pattern %s has an IP address host; URI name constraints can only name DNS hosts, and verifiers reject URIs with IP hosts under them", clipQuote(p))
	}
	suffix, wild := fixedDNSSuffix(parts.host)
	switch {
	case suffix == "":
		return "", fmt.Sprintf("URI pattern %s has no fixed host labels right of its rightmost wildcard, so no name constraint can limit it; name a domain, as in spiffe://*.example.com/**", clipQuote(p))
	case wild:
		return "." + suffix, ""
	}
	return suffix, ""
}

// emailConstraintFor derives the email constraint of an email pattern.
func emailConstraintFor(p string) (string, string) {
	if q := emailPatternProblem(p); q != "" {
		return "", fmt.Sprintf("email pattern %s is not valid: %s", clipQuote(p), q)
	}
	local, domain, _ := strings.Cut(p, "@")
	suffix, wild := fixedDNSSuffix(domain)
	switch {
	case suffix == "":
		return "", fmt.Sprintf("email pattern %s has no fixed domain labels right of its rightmost wildcard, so no name constraint can limit it; name a domain, as in *@example.com", clipQuote(p))
	case wild:
		return "." + suffix, ""
	case local == "*":
		return suffix, ""
	}
	return local + "@" + suffix, ""
}

// fixedDNSSuffix returns the lowercased labels of a valid DNS pattern
// right of its rightmost wildcard label (all of them when it has none),
// and whether it has a wildcard.
func fixedDNSSuffix(p string) (string, bool) {
	labels := strings.Split(strings.ToLower(p), ".")
	for i, label := range slices.Backward(labels) {
		if label == "*" || label == "**" {
			return strings.Join(labels[i+1:], "."), true
		}
	}
	return strings.Join(labels, "."), false
}

// dnsSubtreeCovers reports whether DNS constraint c covers constraint x:
// a DNS constraint covers its domain and every subdomain.
func dnsSubtreeCovers(c, x string) bool {
	return x == c || strings.HasSuffix(x, "."+c)
}

// hostConstraintCovers reports whether URI or email constraint c covers
// constraint x, read as RFC 5280 reads them (verifiers read some more
// broadly, never more narrowly): ".example.com" covers every subdomain of
// example.com, "example.com" only that host (or, for email, any mailbox
// there), and a full address only itself.
func hostConstraintCovers(c, x string) bool {
	domain := x[strings.LastIndexByte(x, '@')+1:]
	switch {
	case strings.Contains(c, "@"):
		return c == x
	case strings.HasPrefix(c, "."):
		return strings.HasSuffix(domain, c)
	}
	return strings.Contains(x, "@") && domain == c
}

// ipConstraintRanges turns IP ranges into IP constraints, masked, without
// duplicates and ranges inside another.
func ipConstraintRanges(prefixes []netip.Prefix) ([]*net.IPNet, string) {
	masked := make([]netip.Prefix, 0, len(prefixes))
	for _, p := range prefixes {
		if !p.IsValid() {
			return nil, fmt.Sprintf("IP range %s is not valid", p)
		}
		masked = append(masked, p.Masked())
	}
	var out []*net.IPNet
	for i, p := range masked {
		if !prefixCovered(i, masked) {
			out = append(out, ipNetOf(p))
		}
	}
	return out, ""
}

// prefixCovered reports whether prefixes[i] repeats an earlier prefix or
// lies inside a broader one.
func prefixCovered(i int, prefixes []netip.Prefix) bool {
	p := prefixes[i]
	for j, q := range prefixes {
		if q == p && j < i || q != p && q.Bits() <= p.Bits() && q.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// ipNetOf converts a masked prefix, 4 bytes for IPv4 and 16 for IPv6 (an
// IPv4-mapped IPv6 prefix stays 16 bytes and so matches no IPv4 address).
func ipNetOf(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
