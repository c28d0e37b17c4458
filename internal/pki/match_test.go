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
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// checkMatchProblem checks a *Problem function's answer: "" when want is "",
// else a reason containing want.
func checkMatchProblem(t *testing.T, fn, in, got, want string) {
	t.Helper()
	if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
		t.Errorf("%s(%q) = %q, want a reason containing %q", fn, in, got, want)
	}
}

// maxLenLabel is a DNS label of the maximum length.
var maxLenLabel = strings.Repeat("a", 63)

func TestDNSNameProblem(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, dns, want string }{
		{"a plain name is valid", "api.example.com", ""},
		{"a single label like localhost is valid", "localhost", ""},
		{"uppercase letters are valid", "API.Example.COM", ""},
		{"digits and inner hyphens are valid", "web-1.x9.example.com", ""},
		{"an xn-- name is valid", "xn--bcher-kva.example", ""},
		{"numeric labels other than the last are valid", "1.2.3.example", ""},
		{"a leftmost wildcard with two labels after it is valid", "*.example.com", ""},
		{"a name of exactly 253 characters is valid", maxLenLabel + "." + maxLenLabel + "." + maxLenLabel + "." + strings.Repeat("b", 61), ""},
		{"an empty name is refused", "", "empty"},
		{"a trailing dot is refused with a hint to drop it", "api.example.com.", "drop the trailing dot"},
		{"a lone dot is refused", ".", "drop the trailing dot"},
		{"a leading dot is refused", ".example.com", "empty label"},
		{"two dots in a row are refused", "a..example.com", "empty label"},
		{"a lone star is refused", "*", "at least two labels"},
		{"a star over a top-level domain is refused", "*.com", "at least two labels"},
		{"a star that is not leftmost is refused", "a.*.example.com", "whole leftmost label"},
		{"a star inside a label is refused", "web-*.example.com", "whole leftmost label"},
		{"a double star is refused", "**.example.com", "whole leftmost label"},
		{"an all-numeric last label is refused", "example.123", "all digits"},
		{"an IPv4 address is refused", "10.0.0.1", "all digits"},
		{"a single numeric label is refused", "42", "all digits"},
		{"a 254-character name is refused", maxLenLabel + "." + maxLenLabel + "." + maxLenLabel + "." + strings.Repeat("b", 62), "more than the 253"},
		{"a 300-character name is refused", strings.Repeat("abcdefghi.", 30) + "com", "more than the 253"},
		{"a 64-character label is refused", strings.Repeat("a", 64) + ".com", "more than the 63"},
		{"a leading hyphen is refused", "-a.example.com", "hyphen"},
		{"a trailing hyphen is refused", "a-.example.com", "hyphen"},
		{"an underscore is refused", "_srv.example.com", "letter, digit or hyphen"},
		{"a Cyrillic look-alike is refused with a hint to use xn--", "ex\u0430mple.com", "xn--"},
		{"a Kelvin sign, which lowercases to k, is refused", "\u212aube.example.com", "letter, digit or hyphen"},
		{"a space is refused", "a b.example.com", "letter, digit or hyphen"},
		{"a NUL byte is refused", "a\x00.example.com", "letter, digit or hyphen"},
		{"a port is refused", "example.com:443", "letter, digit or hyphen"},
		{"an at sign is refused", "user@example.com", "letter, digit or hyphen"},
		{"a slash is refused", "example.com/x", "letter, digit or hyphen"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkMatchProblem(t, "dnsNameProblem", tc.dns, dnsNameProblem(tc.dns), tc.want)
		})
	}
}

func TestDNSPatternProblem(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, pattern, want string }{
		{"a literal name is a pattern", "api.example.com", ""},
		{"a single literal label is a pattern", "localhost", ""},
		{"a star label is a pattern", "*.example.com", ""},
		{"a star in the middle is a pattern", "web.*.example.com", ""},
		{"several stars are a pattern", "*.*.example.com", ""},
		{"a leftmost double star is a pattern", "**.example.com", ""},
		{"a lone double star is a pattern", "**", ""},
		{"a lone star is a pattern of one label", "*", ""},
		{"a star over a top-level domain is a pattern", "*.com", ""},
		{"uppercase is a pattern", "*.Example.COM", ""},
		{"an empty pattern is refused", "", "empty"},
		{"a trailing dot is refused", "*.example.com.", "drop the trailing dot"},
		{"an empty label is refused", "*..example.com", "empty label"},
		{"a double star that is not leftmost is refused", "a.**.example.com", "leftmost"},
		{"a star inside a label is refused", "web-*.example.com", "whole label"},
		{"a triple star is refused", "***.example.com", "whole label"},
		{"a question mark is refused", "?.example.com", "letter, digit or hyphen"},
		{"an all-numeric last label is refused", "*.0.0.1", "all digits"},
		{"a 300-character pattern is refused", "*." + strings.Repeat("abcdefghi.", 30) + "com", "more than the 253"},
		{"a 64-character label is refused", "*." + strings.Repeat("a", 64) + ".com", "more than the 63"},
		{"a hyphen-edged label is refused", "*.-a.com", "hyphen"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkMatchProblem(t, "dnsPatternProblem", tc.pattern, dnsPatternProblem(tc.pattern), tc.want)
		})
	}
}

func TestMatchDNSPattern(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, dns, pattern string
		ok                 bool
	}{
		{"an exact name matches", "api.example.com", "api.example.com", true},
		{"case is ignored on both sides", "API.Example.com", "api.EXAMPLE.com", true},
		{"a star matches one label", "a.example.com", "*.example.com", true},
		{"a star does not match the apex", "example.com", "*.example.com", false},
		{"a star does not match two labels", "a.b.example.com", "*.example.com", false},
		{"a star in the middle matches one label", "web.team-a.example.com", "web.*.example.com", true},
		{"a partial star matches nothing", "web-1.example.com", "web-*.example.com", false},
		{"a double star matches one label", "a.example.com", "**.example.com", true},
		{"a double star matches several labels", "a.b.c.example.com", "**.example.com", true},
		{"a double star does not match the apex", "example.com", "**.example.com", false},
		{"a lone double star matches any name", "a.b.example.com", "**", true},
		{"a lone double star matches a single label", "localhost", "**", true},
		{"a lone star matches a single label", "localhost", "*", true},
		{"a lone star does not match two labels", "a.example.com", "*", false},
		{"a requested wildcard matches the same pattern", "*.a.example.com", "*.a.example.com", true},
		{"a requested wildcard matches a double star", "*.a.example.com", "**.example.com", true},
		{"a requested wildcard matches a lone double star", "*.a.example.com", "**", true},
		{"a requested wildcard matches stars in every position", "*.a.example.com", "*.*.example.com", true},
		{"a requested wildcard does not match a literal label", "*.example.com", "www.example.com", false},
		{"a requested wildcard does not match a star elsewhere", "*.a.example.com", "a.*.example.com", false},
		{"a requested wildcard does not match a shorter pattern", "*.a.example.com", "*.example.com", false},
		{"a different domain does not match", "api.other.example.com", "*.team-a.example.com", false},
		{"a suffix that is not a label boundary does not match", "evilexample.com", "**.example.com", false},
		{"a lookalike host does not match", "cluster.local.evil.com", "**.cluster.local", false},
		{"a name with a trailing dot does not match", "api.example.com.", "api.example.com", false},
		{"a pattern with a trailing dot matches nothing", "api.example.com", "api.example.com.", false},
		{"a star does not match an invalid label", "a_b.example.com", "*.example.com", false},
		{"a Kelvin sign does not fold into k", "\u212a.example.com", "k.example.com", false},
		{"an all-numeric name does not match a star pattern", "10.0.0.1", "*.*.*.*", false},
		{"a requested star over a top-level domain does not match", "*.com", "*.com", false},
		{"a requested lone star does not match a lone star", "*", "*", false},
		{"a 300-character name does not match a double star", strings.Repeat("abcdefghi.", 30) + "com", "**", false},
		{"an empty name matches nothing", "", "**", false},
		{"an empty pattern matches nothing", "a.example.com", "", false},
		{"an xn-- name matches only itself", "xn--80ak6aa92e.com", "xn--80ak6aa92e.com", true},
		{"an xn-- name does not match its ASCII lookalike", "xn--80ak6aa92e.com", "apple.com", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := matchDNSPattern(tc.dns, tc.pattern); got != tc.ok {
				t.Errorf("matchDNSPattern(%q, %q) = %v, want %v", tc.dns, tc.pattern, got, tc.ok)
			}
		})
	}
}

func TestURIProblem(t *testing.T) {
	t.Parallel()
	parse := func(s string) *url.URL {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("url.Parse(%q): %v", s, err)
		}
		return u
	}
	tests := []struct {
		name string
		uri  *url.URL
		want string
	}{
		{"a SPIFFE ID is valid", parse("spiffe://cluster.local/ns/team-a/sa/web"), ""},
		{"a URI without a path is valid", parse("spiffe://cluster.local"), ""},
		{"a port is valid", parse("https://api.example.com:8443/x"), ""},
		{"an uppercase scheme and host are valid", parse("SPIFFE://Cluster.Local/x"), ""},
		{"an IPv4 host is valid", parse("spiffe://10.0.0.1/x"), ""},
		{"an IPv6 host with a port is valid", parse("spiffe://[fd00::1]:8443/x"), ""},
		{"a percent-encoded segment is valid", parse("spiffe://h/a%20b"), ""},
		{"an opaque URN is valid", parse("urn:example:a"), ""},
		{"a nil URI is refused", nil, "empty"},
		{"an empty URI is refused", &url.URL{}, "empty"},
		{"a URI without a scheme is refused", parse("//cluster.local/x"), "no scheme"},
		{"a URI without a host is refused", parse("spiffe:/x"), "no host"},
		{"a file URI with an empty host is refused", parse("file:///etc/passwd"), "no host"},
		{"user information is refused", parse("spiffe://user@cluster.local/x"), "user information"},
		{"user information with a lookalike host is refused", parse("spiffe://cluster.local@evil.com/x"), "user information"},
		{"a query is refused", parse("spiffe://cluster.local/x?y=1"), "query"},
		{"an empty query is refused", parse("spiffe://cluster.local/x?"), "query"},
		{"a fragment is refused", parse("spiffe://evil.com#cluster.local"), "fragment"},
		{"a raw fragment alone is refused", &url.URL{Scheme: "a", Host: "h", RawFragment: "x"}, "fragment"},
		{"an opaque URI with a query is refused", parse("urn:x?y"), "query"},
		{"a trailing slash is refused", parse("spiffe://cluster.local/"), "empty segment"},
		{"a double slash is refused", parse("spiffe://cluster.local//x"), "empty segment"},
		{"a dot segment is refused", parse("spiffe://h/a/./b"), "dot-segment"},
		{"a dot-dot segment is refused", parse("spiffe://h/ns/a/sa/.."), "dot-segment"},
		{"a percent-encoded dot-dot is refused", parse("spiffe://h/ns/a/%2e%2e/b"), "dot-segment"},
		{"an uppercase percent-encoded dot is refused", parse("spiffe://h/%2E"), "dot-segment"},
		{"a half-encoded dot-dot is refused", parse("spiffe://h/.%2e"), "dot-segment"},
		{"an encoded slash is refused", parse("spiffe://h/ns/a%2Fb"), `encoded "/"`},
		{"an encoded backslash is refused", parse("spiffe://h/a%5Cb"), `encoded "/"`},
		{"an encoded control character is refused", parse("spiffe://h/a%00b"), "control character"},
		{"a raw space is refused as not canonical", parse("spiffe://h/a b"), "read back"},
		{"a non-ASCII byte in an opaque URI is refused", parse("urn:a\xfc"), "percent-encode"},
		{"a brace in an opaque URI is refused", parse("urn:a{b}"), "percent-encode"},
		{"a bad percent-encoding in an opaque URI is refused", parse("urn:a%zz"), "two hex digits"},
		{"a percent sign at the end of an opaque URI is refused", parse("urn:a%"), "two hex digits"},
		{"a hand-built path with dot segments is refused", &url.URL{Scheme: "spiffe", Host: "h", Path: "/a/../b"}, "dot-segment"},
		{"a hand-built relative path is refused", &url.URL{Scheme: "spiffe", Host: "h", Path: "x"}, "read back"},
		{"a wildcard host is refused", parse("spiffe://*.example.com/x"), "wildcard"},
		{"a host with a trailing dot is refused", parse("spiffe://cluster.local./x"), "trailing dot"},
		{"a host with an all-numeric last label is refused", parse("spiffe://example.123/x"), "all digits"},
		{"a host with an underscore is refused", parse("spiffe://exa_mple.com/x"), "letter, digit or hyphen"},
		{"an empty port is refused", parse("spiffe://h:/x"), "port is empty"},
		{"a zero port is refused", parse("spiffe://h:0/x"), "1 to 65535"},
		{"a port with a leading zero is refused", parse("spiffe://h:0080/x"), "leading zeros"},
		{"a port above 65535 is refused", parse("spiffe://h:65536/x"), "1 to 65535"},
		{"an IPv6 zone is refused", parse("spiffe://[fe80::1%25en0]/x"), "zone"},
		{"an IPv4 address in brackets is refused", &url.URL{Scheme: "spiffe", Host: "[10.0.0.1]", Path: "/x"}, "read back"},
		{"a 300-character host is refused", parse("spiffe://" + strings.Repeat("abcdefghi.", 30) + "com/x"), "more than the 253"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := "<nil>"
			if tc.uri != nil {
				in = tc.uri.String()
			}
			checkMatchProblem(t, "uriProblem", in, uriProblem(tc.uri), tc.want)
		})
	}
}

func TestURIPatternProblem(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, pattern, want string }{
		{"a literal URI is a pattern", "spiffe://cluster.local/ns/a/sa/web", ""},
		{"a star segment is a pattern", "spiffe://cluster.local/ns/*/sa/web", ""},
		{"a last double star is a pattern", "spiffe://cluster.local/ns/a/**", ""},
		{"a host without a path is a pattern", "spiffe://cluster.local", ""},
		{"a wildcard host is a pattern", "spiffe://*.example.com/**", ""},
		{"a double star host is a pattern", "https://**:8443/**", ""},
		{"an IPv4 host is a pattern", "spiffe://10.0.0.1/x", ""},
		{"an IPv6 host with a port is a pattern", "spiffe://[fd00::1]:8443/x", ""},
		{"a percent-encoded literal star is a pattern", "spiffe://h/%2A", ""},
		{"an opaque URN is a pattern", "urn:example:a", ""},
		{"an uppercase scheme is a pattern", "SPIFFE://h/x", ""},
		{"an empty pattern is refused", "", "empty"},
		{"a pattern without a scheme is refused", "cluster.local/x", "no scheme"},
		{"a bad scheme is refused", "1spiffe://h/x", "scheme"},
		{"a query is refused", "spiffe://h/x?y", "query"},
		{"a fragment is refused", "spiffe://h/x#y", "fragment"},
		{"user information is refused", "spiffe://*@h/x", "user information"},
		{"an empty host is refused", "spiffe:///x", "no host"},
		{"a star inside a host label is refused", "spiffe://web-*.example.com/x", "whole label"},
		{"a host with a trailing dot is refused", "spiffe://h./x", "trailing dot"},
		{"a wildcard port is refused", "spiffe://h:*/x", "wildcard"},
		{"an empty port is refused", "spiffe://h:/x", "1 to 65535"},
		{"an IPv6 zone is refused", "spiffe://[fe80::1%25en0]/x", "zone"},
		{"an unclosed IPv6 bracket is refused", "spiffe://[fd00::1/x", "closing"},
		{"junk after an IPv6 host is refused", "spiffe://[fd00::1]x/y", "other than"},
		{"an IPv4 address in brackets is refused", "spiffe://[10.0.0.1]/x", "not an IPv6 address"},
		{"a trailing slash is refused", "spiffe://h/x/", "empty segment"},
		{"a double slash is refused", "spiffe://h//x", "empty segment"},
		{"a double star before the end is refused", "spiffe://h/**/x", "last path segment"},
		{"a star inside a segment is refused", "spiffe://h/sa/web-*", "whole segment"},
		{"a dot-dot segment is refused", "spiffe://h/a/../b", "dot-segment"},
		{"an encoded dot-dot segment is refused", "spiffe://h/a/%2e%2e", "dot-segment"},
		{"an encoded slash is refused", "spiffe://h/a%2Fb", `encoded "/"`},
		{"a bad percent-encoding is refused", "spiffe://h/%zz", "percent-encoding"},
		{"an unencoded space is refused with the encoded form", "spiffe://h/a b", "a%20b"},
		{"a wildcard in an opaque URI is refused", "urn:example:*", "list each URI"},
		{"a relative hierarchical URI without // is refused", "spiffe:/x", "no host"},
		{"a non-ASCII opaque URI is refused", "urn:\xfc", "percent-encode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkMatchProblem(t, "uriPatternProblem", tc.pattern, uriPatternProblem(tc.pattern), tc.want)
		})
	}
}

func TestMatchURIPattern(t *testing.T) {
	t.Parallel()
	const sa = "spiffe://cluster.local/ns/team-a/sa/*"
	const ns = "spiffe://cluster.local/ns/team-a/**"
	tests := []struct {
		name, uri, pattern string
		ok                 bool
	}{
		{"a star segment matches one segment", "spiffe://cluster.local/ns/team-a/sa/web", sa, true},
		{"a star segment does not match two segments", "spiffe://cluster.local/ns/team-a/sa/web/x", sa, false},
		{"a star segment does not match zero segments", "spiffe://cluster.local/ns/team-a/sa", sa, false},
		{"a star does not match a dot-dot segment", "spiffe://cluster.local/ns/team-a/sa/..", sa, false},
		{"a star does not match an encoded dot-dot segment", "spiffe://cluster.local/ns/team-a/sa/%2e%2e", sa, false},
		{"a star does not match an encoded slash", "spiffe://cluster.local/ns/team-a/sa/web%2Fx", sa, false},
		{"a star does not cross into a query", "spiffe://cluster.local/ns/team-a/sa/web?x", sa, false},
		{"a star does not cross into a fragment", "spiffe://cluster.local/ns/team-a/sa/web#x", sa, false},
		{"a star does not match a trailing slash", "spiffe://cluster.local/ns/team-a/sa/web/", sa, false},
		{"a host suffix does not match", "spiffe://cluster.local.evil.com/ns/team-a/sa/web", sa, false},
		{"user information before the host does not match", "spiffe://evil@cluster.local/ns/team-a/sa/web", sa, false},
		{"the host hidden in user information does not match", "spiffe://cluster.local@evil.com/ns/team-a/sa/web", sa, false},
		{"the host hidden in a fragment does not match", "spiffe://evil.com#cluster.local/ns/team-a/sa/web", sa, false},
		{"a port the pattern lacks does not match", "spiffe://cluster.local:443/ns/team-a/sa/web", sa, false},
		{"another scheme does not match", "https://cluster.local/ns/team-a/sa/web", sa, false},
		{"an uppercase scheme and host match", "SPIFFE://CLUSTER.local/ns/team-a/sa/web", sa, true},
		{"path segments are case-sensitive", "spiffe://cluster.local/NS/team-a/sa/web", sa, false},
		{"a double star matches the base itself", "spiffe://cluster.local/ns/team-a", ns, true},
		{"a double star matches one level below", "spiffe://cluster.local/ns/team-a/sa", ns, true},
		{"a double star matches any depth below", "spiffe://cluster.local/ns/team-a/sa/web/x/y", ns, true},
		{"a double star does not match a sibling prefix", "spiffe://cluster.local/ns/team-ab/sa/web", ns, false},
		{"a double star does not match a dot-dot escape", "spiffe://cluster.local/ns/team-a/../team-b", ns, false},
		{"a double star does not match an encoded dot-dot escape", "spiffe://cluster.local/ns/team-a/%2E%2E/team-b", ns, false},
		{"a double star host matches a subdomain", "spiffe://web.example.com/x", "spiffe://**.example.com/**", true},
		{"a wildcard host does not match the bare domain", "spiffe://example.com/x", "spiffe://*.example.com/**", false},
		{"a wildcard host does not match a lookalike domain", "spiffe://a.example.com.evil.com/x", "spiffe://*.example.com/**", false},
		{"a double star host does not match an IP host", "spiffe://10.0.0.1/x", "spiffe://**/**", false},
		{"a pattern without a path matches a URI without a path", "spiffe://cluster.local", "spiffe://cluster.local", true},
		{"a pattern without a path does not match a path", "spiffe://cluster.local/x", "spiffe://cluster.local", false},
		{"a port in the pattern matches the same port", "https://h.example.com:8443/x", "https://h.example.com:8443/*", true},
		{"a port in the pattern does not match another port", "https://h.example.com:8444/x", "https://h.example.com:8443/*", false},
		{"a port in the pattern does not match no port", "https://h.example.com/x", "https://h.example.com:8443/*", false},
		{"an IPv4 host matches the same address", "spiffe://10.0.0.1/x", "spiffe://10.0.0.1/*", true},
		{"an IPv4 host does not match another address", "spiffe://10.0.0.2/x", "spiffe://10.0.0.1/*", false},
		{"an IPv6 host matches the same address in another spelling", "spiffe://[fd00:0::1]:8443/x", "spiffe://[fd00::1]:8443/*", true},
		{"an IPv4-mapped IPv6 host does not match the IPv4 address", "spiffe://[::ffff:10.0.0.1]/x", "spiffe://10.0.0.1/*", false},
		{"literal segments compare in escaped form", "spiffe://h/a%20b", "spiffe://h/a%20b", true},
		{"a literal star segment must be escaped in the pattern", "spiffe://h/%2A", "spiffe://h/%2A", true},
		{"a star matches a literal star segment", "spiffe://h/*", "spiffe://h/*", true},
		{"an opaque pattern matches the identical URI", "urn:example:a", "urn:example:a", true},
		{"an opaque pattern matches ignoring the scheme's case", "URN:example:a", "urn:example:a", true},
		{"an opaque pattern does not match another case", "urn:example:A", "urn:example:a", false},
		{"an opaque pattern does not match a longer URI", "urn:example:ab", "urn:example:a", false},
		{"an opaque URI does not match a hierarchical pattern", "urn:example:a", "urn://example/**", false},
		{"a URI without a host does not match", "spiffe:/ns/team-a", ns, false},
		{"an invalid pattern matches nothing", "spiffe://h/x/", "spiffe://h/x/", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, err := url.Parse(tc.uri)
			if err != nil {
				t.Fatalf("url.Parse(%q): %v", tc.uri, err)
			}
			if got := matchURIPattern(u, tc.pattern); got != tc.ok {
				t.Errorf("matchURIPattern(%q, %q) = %v, want %v", tc.uri, tc.pattern, got, tc.ok)
			}
		})
	}
	t.Run("a nil URI matches nothing", func(t *testing.T) {
		t.Parallel()
		if matchURIPattern(nil, "spiffe://**/**") {
			t.Errorf("matched")
		}
	})
}

func TestEmailProblem(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, addr, want string }{
		{"a plain address is valid", "alice@example.com", ""},
		{"dots and plus signs are valid", "alice.b+tag@example.com", ""},
		{"every atext character is valid", "!#$%&'*+/=?^_`{|}~-@example.com", ""},
		{"an uppercase domain is valid", "alice@EXAMPLE.com", ""},
		{"a single-label domain is valid", "root@localhost", ""},
		{"an empty address is refused", "", "empty"},
		{"an address without @ is refused", "alice.example.com", `no "@"`},
		{"an address with two @ is refused", "alice@evil.com@example.com", `more than one "@"`},
		{"an empty local part is refused", "@example.com", "local part"},
		{"a 65-character local part is refused", strings.Repeat("a", 65) + "@example.com", "more than the 64"},
		{"a leading dot is refused", ".alice@example.com", "dot"},
		{"a trailing dot is refused", "alice.@example.com", "dot"},
		{"two dots in a row are refused", "a..b@example.com", "dot"},
		{"a quoted local part is refused", `"a b"@example.com`, "not allowed"},
		{"a space is refused", "a b@example.com", "not allowed"},
		{"a non-ASCII local part is refused", "j\u00f6rg@example.com", "not allowed"},
		{"an empty domain is refused", "alice@", "empty"},
		{"a domain with a trailing dot is refused", "alice@example.com.", "trailing dot"},
		{"a wildcard domain is refused", "alice@*.example.com", "wildcard"},
		{"an IP literal domain is refused", "alice@[10.0.0.1]", "letter, digit or hyphen"},
		{"an all-numeric top-level domain is refused", "alice@example.123", "all digits"},
		{"a 300-character domain is refused", "alice@" + strings.Repeat("abcdefghi.", 30) + "com", "more than the 253"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkMatchProblem(t, "emailProblem", tc.addr, emailProblem(tc.addr), tc.want)
		})
	}
}

func TestEmailPatternProblem(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, pattern, want string }{
		{"a literal address is a pattern", "alice@example.com", ""},
		{"a star local part is a pattern", "*@example.com", ""},
		{"a wildcard domain is a pattern", "*@*.example.com", ""},
		{"a double star domain is a pattern", "alice@**.example.com", ""},
		{"an empty pattern is refused", "", "empty"},
		{"a pattern without @ is refused", "example.com", `no "@"`},
		{"a pattern with two @ is refused", "*@*@example.com", `more than one "@"`},
		{"a star inside the local part is refused", "alice*@example.com", "whole local part"},
		{"an empty local part is refused", "@example.com", "local part"},
		{"a bad domain pattern is refused", "*@web-*.example.com", "domain pattern"},
		{"a trailing dot is refused", "*@example.com.", "trailing dot"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkMatchProblem(t, "emailPatternProblem", tc.pattern, emailPatternProblem(tc.pattern), tc.want)
		})
	}
}

func TestMatchEmailPattern(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, addr, pattern string
		ok                  bool
	}{
		{"a star local part matches any local part", "alice@team-a.example.com", "*@team-a.example.com", true},
		{"a star local part does not match another domain", "alice@team-b.example.com", "*@team-a.example.com", false},
		{"a star does not cross an @", "alice@evil.com@team-a.example.com", "*@team-a.example.com", false},
		{"a star does not match a subdomain", "alice@x.team-a.example.com", "*@team-a.example.com", false},
		{"a wildcard domain matches a subdomain", "alice@x.example.com", "*@*.example.com", true},
		{"a wildcard domain does not match the bare domain", "alice@example.com", "*@*.example.com", false},
		{"a double star domain matches any depth", "alice@x.y.example.com", "*@**.example.com", true},
		{"a literal local part matches itself", "alice@example.com", "alice@example.com", true},
		{"a literal local part is case-sensitive", "Alice@example.com", "alice@example.com", false},
		{"the domain is case-insensitive", "alice@EXAMPLE.com", "alice@example.com", true},
		{"a literal local part does not match another", "bob@example.com", "alice@example.com", false},
		{"a lookalike domain does not match", "alice@example.com.evil.com", "*@example.com", false},
		{"an invalid address matches nothing", "alice@example.com.", "*@**", false},
		{"an empty address matches nothing", "", "*@**", false},
		{"a requested star local part matches only a star pattern", "*@example.com", "*@example.com", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := matchEmailPattern(tc.addr, tc.pattern); got != tc.ok {
				t.Errorf("matchEmailPattern(%q, %q) = %v, want %v", tc.addr, tc.pattern, got, tc.ok)
			}
		})
	}
}

func TestMatchTextGlob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, s, pattern string
		ok               bool
	}{
		{"a literal matches itself", "team-a", "team-a", true},
		{"a literal does not match another string", "team-b", "team-a", false},
		{"matching is case-sensitive", "Team-A", "team-a", false},
		{"a star matches any run", "system:serviceaccount:ns:web", "system:serviceaccount:ns:*", true},
		{"a star matches across slashes, dots and at signs", "a/b.c@d", "a*d", true},
		{"a star matches an empty run", "ab", "a*b", true},
		{"stars in the middle match in order", "a-x-b-y-c", "a*b*c", true},
		{"middle parts must appear in order", "a-c-b", "a*b*c", false},
		{"a suffix must not overlap the prefix", "ab", "ab*b", false},
		{"the suffix must match", "x.txt", "*.json", false},
		{"a lone star matches anything", "anything at all", "*", true},
		{"a lone star matches the empty string", "", "*", true},
		{"an empty pattern matches only the empty string", "x", "", false},
		{"a question mark is literal", "a?c", "a?c", true},
		{"a question mark does not match a character", "abc", "a?c", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := matchTextGlob(tc.s, tc.pattern); got != tc.ok {
				t.Errorf("matchTextGlob(%q, %q) = %v, want %v", tc.s, tc.pattern, got, tc.ok)
			}
		})
	}
}

func TestMatchTextGlobIsFastOnHostileInput(t *testing.T) {
	t.Parallel()
	s := strings.Repeat("a", 36000)
	pattern := strings.Repeat("*a", 2000) + "b"
	start := time.Now()
	if matchTextGlob(s, pattern) {
		t.Errorf("matched")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
}

// ----- Name constraints -----

// ncIPNets parses CIDR ranges for expected constraints.
func ncIPNets(t *testing.T, cidrs ...string) []*net.IPNet {
	t.Helper()
	var out []*net.IPNet
	for _, c := range cidrs {
		p := netip.MustParsePrefix(c)
		out = append(out, &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())})
	}
	return out
}

// ncPrefixes parses CIDR ranges for deriveNameConstraints.
func ncPrefixes(cidrs ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, c := range cidrs {
		out = append(out, netip.MustParsePrefix(c))
	}
	return out
}

func TestDeriveNameConstraints(t *testing.T) {
	t.Parallel()
	everyIP := ncIPNets(t, "0.0.0.0/0", "::/0")
	nothing, everyName := []string{"invalid"}, []string{""}
	tests := []struct {
		name         string
		dns          []string
		ips          []netip.Prefix
		uris, emails []string
		want         nameConstraints
	}{
		{
			name: "nothing allowed excludes every name of every type",
			want: nameConstraints{Critical: true, PermittedDNSDomains: nothing, ExcludedDNSDomains: everyName, ExcludedIPRanges: everyIP, PermittedURIDomains: nothing, ExcludedURIDomains: everyName, PermittedEmailAddresses: nothing, ExcludedEmailAddresses: everyName},
		},
		{
			name: "a wildcard DNS pattern permits the domain right of its wildcard",
			dns:  []string{"*.Team-A.example.com"},
			want: nameConstraints{Critical: true, PermittedDNSDomains: []string{"team-a.example.com"}, ExcludedIPRanges: everyIP, PermittedURIDomains: nothing, ExcludedURIDomains: everyName, PermittedEmailAddresses: nothing, ExcludedEmailAddresses: everyName},
		},
		{
			name: "the rightmost wildcard decides and literal names stay whole",
			dns:  []string{"web.*.example.com", "**.svc.cluster.local", "api.example.org"},
			want: nameConstraints{Critical: true, PermittedDNSDomains: []string{"example.com", "svc.cluster.local", "api.example.org"}, ExcludedIPRanges: everyIP, PermittedURIDomains: nothing, ExcludedURIDomains: everyName, PermittedEmailAddresses: nothing, ExcludedEmailAddresses: everyName},
		},
		{
			name: "duplicates and domains covered by a broader one are dropped",
			dns:  []string{"a.example.com", "*.example.com", "**.example.com", "b.a.example.com", "notexample.com"},
			want: nameConstraints{Critical: true, PermittedDNSDomains: []string{"example.com", "notexample.com"}, ExcludedIPRanges: everyIP, PermittedURIDomains: nothing, ExcludedURIDomains: everyName, PermittedEmailAddresses: nothing, ExcludedEmailAddresses: everyName},
		},
		{
			name: "IP ranges are masked and ranges inside others dropped",
			ips:  ncPrefixes("10.1.2.3/8", "10.2.0.0/16", "fd00::/8", "fd00:1::/32", "10.0.0.0/8", "192.168.1.0/24"),
			want: nameConstraints{Critical: true, PermittedDNSDomains: nothing, ExcludedDNSDomains: everyName, PermittedIPRanges: ncIPNets(t, "10.0.0.0/8", "fd00::/8", "192.168.1.0/24"), PermittedURIDomains: nothing, ExcludedURIDomains: everyName, PermittedEmailAddresses: nothing, ExcludedEmailAddresses: everyName},
		},
		{
			name: "URI patterns permit their literal host or any subdomain of a wildcard host",
			uris: []string{"spiffe://Cluster.Local/ns/a/**", "spiffe://*.mesh.example.com/**", "https://a.b.mesh.example.com:8443/x", "spiffe://mesh.example.com/x"},
			want: nameConstraints{Critical: true, PermittedDNSDomains: nothing, ExcludedDNSDomains: everyName, ExcludedIPRanges: everyIP, PermittedURIDomains: []string{"cluster.local", ".mesh.example.com", "mesh.example.com"}, PermittedEmailAddresses: nothing, ExcludedEmailAddresses: everyName},
		},
		{
			name:   "email patterns permit a domain, a subdomain tree or a full address",
			emails: []string{"*@Example.com", "*@*.corp.example.com", "alice@Example.com", "Bob@example.org", "bob@x.corp.example.com"},
			want:   nameConstraints{Critical: true, PermittedDNSDomains: nothing, ExcludedDNSDomains: everyName, ExcludedIPRanges: everyIP, PermittedURIDomains: nothing, ExcludedURIDomains: everyName, PermittedEmailAddresses: []string{"example.com", ".corp.example.com", "Bob@example.org"}},
		},
		{
			name:   "every type allowed excludes nothing",
			dns:    []string{"*.example.com"},
			ips:    ncPrefixes("10.0.0.0/8"),
			uris:   []string{"spiffe://example.com/**"},
			emails: []string{"*@example.com"},
			want:   nameConstraints{Critical: true, PermittedDNSDomains: []string{"example.com"}, PermittedIPRanges: ncIPNets(t, "10.0.0.0/8"), PermittedURIDomains: []string{"example.com"}, PermittedEmailAddresses: []string{"example.com"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, problem := deriveNameConstraints(tc.dns, tc.ips, tc.uris, tc.emails)
			if problem != "" {
				t.Fatalf("problem %q", problem)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestDeriveNameConstraintsProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		dns          []string
		ips          []netip.Prefix
		uris, emails []string
		want         string
	}{
		{name: "a lone double star DNS pattern cannot be constrained", dns: []string{"*.example.com", "**"}, want: `DNS pattern "**" has no fixed labels`},
		{name: "a lone star DNS pattern cannot be constrained", dns: []string{"*"}, want: `DNS pattern "*" has no fixed labels`},
		{name: "a DNS pattern of only stars cannot be constrained", dns: []string{"*.*"}, want: "no fixed labels"},
		{name: "an invalid DNS pattern is reported", dns: []string{"web-*.example.com"}, want: "is not valid"},
		{name: "an invalid IP range is reported", ips: []netip.Prefix{{}}, want: "IP range"},
		{name: "a URI pattern with an IP host cannot be constrained", uris: []string{"spiffe://10.0.0.1/**"}, want: "IP address host"},
		{name: "an opaque URI pattern cannot be constrained", uris: []string{"urn:example:a"}, want: "no host"},
		{name: "a URI pattern with a double star host cannot be constrained", uris: []string{"spiffe://**/**"}, want: "no fixed host labels"},
		{name: "an invalid URI pattern is reported", uris: []string{"spiffe://h/x?y"}, want: "is not valid"},
		{name: "an email pattern with a double star domain cannot be constrained", emails: []string{"*@**"}, want: "no fixed domain labels"},
		{name: "an invalid email pattern is reported", emails: []string{"a*@example.com"}, want: "is not valid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, problem := deriveNameConstraints(tc.dns, tc.ips, tc.uris, tc.emails)
			if !strings.Contains(problem, tc.want) {
				t.Errorf("problem = %q, want one containing %q", problem, tc.want)
			}
			if !reflect.DeepEqual(got, nameConstraints{}) {
				t.Errorf("constraints = %+v alongside a problem, want none", got)
			}
		})
	}
}

// ncNow is the fixed "now" of the name constraint chains.
var ncNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// ncKeys are the keys and root of the name constraint chains, made once
// per test binary so that each chain costs two signatures.
type ncKeys struct {
	root, sub, leaf ed25519.PrivateKey
	rootCert        *x509.Certificate
	roots           *x509.CertPool
}

var ncTestKeys = sync.OnceValues(func() (ncKeys, error) {
	var k ncKeys
	for _, p := range []*ed25519.PrivateKey{&k.root, &k.sub, &k.leaf} {
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return k, err
		}
		*p = key
	}
	tmpl := ncCATemplate(1, "match test root")
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.root.Public(), k.root)
	if err != nil {
		return k, err
	}
	if k.rootCert, err = x509.ParseCertificate(der); err != nil {
		return k, err
	}
	k.roots = x509.NewCertPool()
	k.roots.AddCert(k.rootCert)
	return k, nil
})

// ncCATemplate is a CA certificate template.
func ncCATemplate(serial int64, cn string) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             ncNow.Add(-time.Hour),
		NotAfter:              ncNow.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
}

// ncLeaf is the SANs of a leaf certificate.
type ncLeaf struct {
	dns    []string
	ips    []string
	uris   []string
	emails []string
}

// ncCacheCap bounds the caches of ncVerify, which fuzzing would grow.
const ncCacheCap = 4096

// ncCache holds ncVerify's sub-CAs and results by the text of their
// inputs, so that the reference checks repeat no signature.
var ncCache = struct {
	sync.Mutex
	subs    map[string]*x509.Certificate
	results map[string]error
}{subs: map[string]*x509.Certificate{}, results: map[string]error{}}

// ncVerify issues a sub-CA carrying nc under the test root, a leaf with
// the given SANs under the sub-CA, and verifies the leaf with Go's
// verifier.
func ncVerify(t testing.TB, nc nameConstraints, leaf ncLeaf) error {
	t.Helper()
	k, err := ncTestKeys()
	if err != nil {
		t.Fatal(err)
	}
	ncKey, key := fmt.Sprintf("%+v", nc), fmt.Sprintf("%+v|%+v", nc, leaf)
	ncCache.Lock()
	sub := ncCache.subs[ncKey]
	cached, done := ncCache.results[key]
	ncCache.Unlock()
	if done {
		return cached
	}
	if sub == nil {
		sub = ncSubCA(t, k, nc)
	}
	err = ncVerifyLeaf(t, k, sub, leaf)
	ncCache.Lock()
	if len(ncCache.results) < ncCacheCap {
		ncCache.subs[ncKey], ncCache.results[key] = sub, err
	}
	ncCache.Unlock()
	return err
}

// ncSubCA issues a sub-CA carrying nc under the test root.
func ncSubCA(t testing.TB, k ncKeys, nc nameConstraints) *x509.Certificate {
	t.Helper()
	subTmpl := ncCATemplate(2, "match test sub-CA")
	nc.apply(subTmpl)
	subDER, err := x509.CreateCertificate(rand.Reader, subTmpl, k.rootCert, k.sub.Public(), k.root)
	if err != nil {
		t.Fatalf("creating the sub-CA with %+v: %v", nc, err)
	}
	sub, err := x509.ParseCertificate(subDER)
	if err != nil {
		t.Fatalf("parsing the sub-CA: %v", err)
	}
	return sub
}

// ncVerifyLeaf issues a leaf with the given SANs under sub and verifies it.
func ncVerifyLeaf(t testing.TB, k ncKeys, sub *x509.Certificate, leaf ncLeaf) error {
	t.Helper()
	leafTmpl := &x509.Certificate{
		SerialNumber:   big.NewInt(3),
		NotBefore:      ncNow.Add(-time.Hour),
		NotAfter:       ncNow.Add(time.Hour),
		KeyUsage:       x509.KeyUsageDigitalSignature,
		DNSNames:       leaf.dns,
		EmailAddresses: leaf.emails,
	}
	for _, ip := range leaf.ips {
		leafTmpl.IPAddresses = append(leafTmpl.IPAddresses, net.ParseIP(ip))
	}
	for _, s := range leaf.uris {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("url.Parse(%q): %v", s, err)
		}
		leafTmpl.URIs = append(leafTmpl.URIs, u)
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, sub, k.leaf.Public(), k.sub)
	if err != nil {
		t.Fatalf("creating the leaf %+v: %v", leaf, err)
	}
	leafCert, err := x509.ParseCertificate(leafDER)
	if err != nil {
		t.Fatalf("parsing the leaf %+v: %v", leaf, err)
	}
	inter := x509.NewCertPool()
	inter.AddCert(sub)
	_, err = leafCert.Verify(x509.VerifyOptions{
		Roots:         k.roots,
		Intermediates: inter,
		CurrentTime:   ncNow,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	return err
}

// isNameConstraintError reports whether err is Go's name constraint
// violation.
func isNameConstraintError(err error) bool {
	var cie x509.CertificateInvalidError
	return errors.As(err, &cie) && cie.Reason == x509.CANotAuthorizedForThisName
}

func TestNameConstraintsHoldInGoVerifier(t *testing.T) {
	t.Parallel()
	type allow struct {
		dns          []string
		ips          []netip.Prefix
		uris, emails []string
	}
	team := allow{
		dns:    []string{"*.team-a.example.com", "api.example.com"},
		ips:    ncPrefixes("10.0.0.0/8"),
		uris:   []string{"spiffe://cluster.local/ns/team-a/**", "spiffe://*.mesh.example.com/**"},
		emails: []string{"*@team-a.example.com", "alice@example.com"},
	}
	ipsOnly := allow{ips: ncPrefixes("10.0.0.0/8", "fd00::/8")}
	dnsOnly := allow{dns: []string{"*.example.com"}}
	tests := []struct {
		name  string
		allow allow
		leaf  ncLeaf
		ok    bool
	}{
		{"a DNS name under an allowed wildcard verifies", team, ncLeaf{dns: []string{"web.team-a.example.com"}}, true},
		{"an allowed literal DNS name verifies", team, ncLeaf{dns: []string{"api.example.com"}}, true},
		{"a requested wildcard DNS name under the domain verifies", team, ncLeaf{dns: []string{"*.team-a.example.com"}}, true},
		{"a DNS name in another domain fails", team, ncLeaf{dns: []string{"api.other.example.com"}}, false},
		{"a DNS name that only ends like the domain fails", team, ncLeaf{dns: []string{"evilteam-a.example.com"}}, false},
		{"an IP address inside the range verifies", team, ncLeaf{ips: []string{"10.1.2.3"}}, true},
		{"an IP address outside the range fails", team, ncLeaf{ips: []string{"192.168.0.1"}}, false},
		{"an IPv6 address fails when only IPv4 is allowed", team, ncLeaf{ips: []string{"fd00::1"}}, false},
		{"a URI on the allowed host verifies", team, ncLeaf{uris: []string{"spiffe://cluster.local/ns/team-a/sa/web"}}, true},
		{"a URI on a subdomain of a wildcard host verifies", team, ncLeaf{uris: []string{"spiffe://a.mesh.example.com/x"}}, true},
		{"a URI on the bare domain of a wildcard host fails", team, ncLeaf{uris: []string{"spiffe://mesh.example.com/x"}}, false},
		{"a URI on another host fails", team, ncLeaf{uris: []string{"spiffe://evil.com/ns/team-a/sa/web"}}, false},
		{"a URI on a lookalike host fails", team, ncLeaf{uris: []string{"spiffe://cluster.local.evil.com/ns/team-a"}}, false},
		{"a URI with an IP host fails", team, ncLeaf{uris: []string{"spiffe://10.0.0.1/x"}}, false},
		{"an email address on the allowed domain verifies", team, ncLeaf{emails: []string{"bob@team-a.example.com"}}, true},
		{"an allowed full email address verifies", team, ncLeaf{emails: []string{"alice@EXAMPLE.com"}}, true},
		{"a full email address in another case fails", team, ncLeaf{emails: []string{"Alice@example.com"}}, false},
		{"an email address on another domain fails", team, ncLeaf{emails: []string{"bob@evil.com"}}, false},
		{"a DNS name fails when only IPs are allowed", ipsOnly, ncLeaf{dns: []string{"web.example.com"}}, false},
		{"a single-label DNS name fails when only IPs are allowed", ipsOnly, ncLeaf{dns: []string{"localhost"}}, false},
		{"an IPv6 address verifies when allowed", ipsOnly, ncLeaf{ips: []string{"fd00::1"}}, true},
		{"a URI fails when only IPs are allowed", ipsOnly, ncLeaf{uris: []string{"spiffe://cluster.local/x"}}, false},
		{"an email address fails when only IPs are allowed", ipsOnly, ncLeaf{emails: []string{"a@example.com"}}, false},
		{"a DNS name in the reserved invalid domain fails when only IPs are allowed", ipsOnly, ncLeaf{dns: []string{"x.invalid"}}, false},
		{"a URI in the reserved invalid domain fails when only IPs are allowed", ipsOnly, ncLeaf{uris: []string{"spiffe://invalid/x"}}, false},
		{"an email address in the reserved invalid domain fails when only IPs are allowed", ipsOnly, ncLeaf{emails: []string{"a@invalid"}}, false},
		{"an IPv4 address fails when only DNS names are allowed", dnsOnly, ncLeaf{ips: []string{"10.0.0.1"}}, false},
		{"an IPv6 address fails when only DNS names are allowed", dnsOnly, ncLeaf{ips: []string{"::1"}}, false},
		{"a DNS name verifies when only DNS names are allowed", dnsOnly, ncLeaf{dns: []string{"a.example.com"}}, true},
		{"one name outside the constraints fails the whole leaf", dnsOnly, ncLeaf{dns: []string{"a.example.com", "a.example.org"}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			nc, problem := deriveNameConstraints(tc.allow.dns, tc.allow.ips, tc.allow.uris, tc.allow.emails)
			if problem != "" {
				t.Fatalf("problem %q", problem)
			}
			err := ncVerify(t, nc, tc.leaf)
			if tc.ok && err != nil {
				t.Errorf("verify: %v", err)
			}
			if !tc.ok && !isNameConstraintError(err) {
				t.Errorf("verify: %v, want a name constraint error", err)
			}
		})
	}
}

// ----- Reference matchers -----
//
// These translate each pattern into a regular expression written from the
// grammars alone, without calling the matchers, and apply it to the text
// of a valid name.

// refLabel is one DNS label of a valid name: letters, digits and hyphens,
// or a requested wildcard "*".
const refLabel = `(?:[A-Za-z0-9-]+|\*)`

// refDNS is the regexp of a DNS pattern: "*" is one label, a leftmost
// "**" one or more, other labels match themselves ignoring case.
func refDNS(pattern string) string {
	labels := strings.Split(pattern, ".")
	for i, l := range labels {
		switch l {
		case "**":
			labels[i] = refLabel + `(?:\.` + refLabel + `)*`
		case "*":
			labels[i] = refLabel
		default:
			labels[i] = `(?i:` + regexp.QuoteMeta(l) + `)`
		}
	}
	return strings.Join(labels, `\.`)
}

func refMatchDNS(name, pattern string) bool {
	return regexp.MustCompile(`^` + refDNS(pattern) + `$`).MatchString(name)
}

// refURIPattern splits a hierarchical URI pattern: scheme, host, port,
// path.
var refURIPattern = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://(\[[^\]]*\]|[^/:]*)(?::([0-9]+))?(/.*)?$`)

// refMatchURI matches the text of a valid URI against a pattern.
func refMatchURI(u *url.URL, pattern string) bool {
	s := u.String()
	m := refURIPattern.FindStringSubmatch(pattern)
	if m == nil { // scheme:opaque, only itself
		scheme, rest, _ := strings.Cut(pattern, ":")
		return regexp.MustCompile(`^(?i:` + regexp.QuoteMeta(scheme) + `):` + regexp.QuoteMeta(rest) + `$`).MatchString(s)
	}
	scheme, host, port, path := m[1], m[2], m[3], m[4]
	ip, ipErr := netip.ParseAddr(strings.Trim(host, "[]"))
	hostRE := `(\[[^\]]*\]|[^/:]*)`
	if ipErr != nil {
		hostRE = `(` + refDNS(host) + `)`
	}
	if port != "" {
		port = ":" + port
	}
	var pathRE strings.Builder
	if path != "" {
		for seg := range strings.SplitSeq(path[1:], "/") {
			switch seg {
			case "**":
				pathRE.WriteString(`(?:/[^/]+)*`)
			case "*":
				pathRE.WriteString(`/[^/]+`)
			default:
				pathRE.WriteString("/" + regexp.QuoteMeta(seg))
			}
		}
	}
	re := regexp.MustCompile(`^(?i:` + regexp.QuoteMeta(scheme) + `)://` + hostRE + regexp.QuoteMeta(port) + pathRE.String() + `$`)
	sm := re.FindStringSubmatch(s)
	if sm == nil {
		return false
	}
	// A DNS pattern matches DNS hosts only; an IP pattern the same address.
	got, err := netip.ParseAddr(strings.Trim(sm[1], "[]"))
	if ipErr != nil {
		return err != nil
	}
	return err == nil && got == ip
}

// refMatchEmail matches a valid address against a pattern: a local part
// "*" is any run without "@", else itself.
func refMatchEmail(addr, pattern string) bool {
	local, domain, _ := strings.Cut(pattern, "@")
	localRE := regexp.QuoteMeta(local)
	if local == "*" {
		localRE = `[^@]+`
	}
	return regexp.MustCompile(`^` + localRE + `@` + refDNS(domain) + `$`).MatchString(addr)
}

// refMatchText matches free text: "*" is any run.
func refMatchText(s, pattern string) bool {
	parts := strings.Split(pattern, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(`(?s)^` + strings.Join(parts, `.*`) + `$`).MatchString(s)
}

// refDNSPatternFrom turns a name into a pattern by the bits of mask:
// bits 0-7 make labels "*", bit 15 folds the leftmost 1-4 labels (bits
// 12-13) into "**", bit 11 uppercases and bit 10 changes the last label.
func refDNSPatternFrom(name string, mask uint16) string {
	labels := strings.Split(name, ".")
	for i := range labels {
		if i < 8 && mask>>i&1 == 1 {
			labels[i] = "*"
		}
	}
	if k := 1 + int(mask>>12&3); mask&0x8000 != 0 && k <= len(labels) {
		labels = append([]string{"**"}, labels[k:]...)
	}
	if last := len(labels) - 1; mask&0x0400 != 0 && labels[last] != "*" && labels[last] != "**" {
		labels[last] = "x" + labels[last]
	}
	p := strings.Join(labels, ".")
	if mask&0x0800 != 0 {
		p = strings.ToUpper(p)
	}
	return p
}

// refURIPatternFrom turns a URI into a pattern: its host by
// refDNSPatternFrom, path segments 0-3 into "*" by bits 8-11, and a tail
// into "**" by bit 14.
func refURIPatternFrom(u *url.URL, mask uint16) string {
	if u.Opaque != "" {
		return u.Scheme + ":" + u.Opaque
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err != nil {
		host = refDNSPatternFrom(host, mask)
	} else if a.Is6() {
		host = "[" + host + "]"
	}
	if p := u.Port(); p != "" {
		host += ":" + p
	}
	var segs []string
	if ep := u.EscapedPath(); ep != "" {
		segs = strings.Split(ep[1:], "/")
	}
	for i := range segs {
		if i < 4 && mask>>(8+i)&1 == 1 {
			segs[i] = "*"
		}
	}
	if k := int(mask >> 12 & 3); mask&0x4000 != 0 && k <= len(segs) {
		segs = append(segs[:k], "**")
	}
	p := u.Scheme + "://" + host
	for _, s := range segs {
		p += "/" + s
	}
	return p
}

// refEmailPatternFrom turns an address into a pattern: the local part
// "*" by bit 13, the domain by refDNSPatternFrom.
func refEmailPatternFrom(addr string, mask uint16) string {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok {
		return addr
	}
	if mask&0x2000 != 0 {
		local = "*"
	}
	return local + "@" + refDNSPatternFrom(domain, mask)
}

// checkAgainstReference checks every matcher against its reference on
// name and pattern read as DNS names, URIs, email addresses and text;
// that nothing invalid matches; and that a match of a wildcard-free name
// lies inside the pattern's derived name constraints.
func checkAgainstReference(t *testing.T, name, pattern string) {
	t.Helper()
	checkDNSAgainstReference(t, name, pattern)
	if u, err := url.Parse(name); err == nil {
		checkURIAgainstReference(t, u, pattern)
	}
	checkEmailAgainstReference(t, name, pattern)
	if utf8.ValidString(name) && utf8.ValidString(pattern) && len(pattern) < 1000 {
		if got, want := matchTextGlob(name, pattern), refMatchText(name, pattern); got != want {
			t.Errorf("matchTextGlob(%q, %q) = %v, reference %v", name, pattern, got, want)
		}
	}
}

// checkDerivedAgainstReference is checkAgainstReference with patterns
// made from name by the bits of mask, which match it far more often than
// unrelated patterns do.
func checkDerivedAgainstReference(t *testing.T, name string, mask uint16) {
	t.Helper()
	checkDNSAgainstReference(t, name, refDNSPatternFrom(name, mask))
	if u, err := url.Parse(name); err == nil {
		checkURIAgainstReference(t, u, refURIPatternFrom(u, mask))
	}
	checkEmailAgainstReference(t, name, refEmailPatternFrom(name, mask))
}

func checkDNSAgainstReference(t *testing.T, name, p string) {
	t.Helper()
	got := matchDNSPattern(name, p)
	if dnsNameProblem(name) != "" || dnsPatternProblem(p) != "" {
		if got {
			t.Errorf("matchDNSPattern(%q, %q) matched an invalid name or pattern", name, p)
		}
		return
	}
	if want := refMatchDNS(name, p); got != want {
		t.Errorf("matchDNSPattern(%q, %q) = %v, reference %v", name, p, got, want)
	}
	if got && !strings.HasPrefix(name, "*") {
		checkInsideConstraints(t, []string{p}, nil, nil, ncLeaf{dns: []string{name}})
	}
}

func checkURIAgainstReference(t *testing.T, u *url.URL, p string) {
	t.Helper()
	got := matchURIPattern(u, p)
	if uriProblem(u) != "" || uriPatternProblem(p) != "" {
		if got {
			t.Errorf("matchURIPattern(%q, %q) matched an invalid URI or pattern", u, p)
		}
		return
	}
	if want := refMatchURI(u, p); got != want {
		t.Errorf("matchURIPattern(%q, %q) = %v, reference %v", u, p, got, want)
	}
	if got {
		checkInsideConstraints(t, nil, []string{p}, nil, ncLeaf{uris: []string{u.String()}})
	}
}

func checkEmailAgainstReference(t *testing.T, addr, p string) {
	t.Helper()
	got := matchEmailPattern(addr, p)
	if emailProblem(addr) != "" || emailPatternProblem(p) != "" {
		if got {
			t.Errorf("matchEmailPattern(%q, %q) matched an invalid address or pattern", addr, p)
		}
		return
	}
	if want := refMatchEmail(addr, p); got != want {
		t.Errorf("matchEmailPattern(%q, %q) = %v, reference %v", addr, p, got, want)
	}
	if got {
		checkInsideConstraints(t, nil, nil, []string{p}, ncLeaf{emails: []string{addr}})
	}
}

// checkInsideConstraints checks that a leaf whose names match the
// patterns verifies under a sub-CA with the derived constraints, when
// they can be derived.
func checkInsideConstraints(t *testing.T, dns, uris, emails []string, leaf ncLeaf) {
	t.Helper()
	nc, problem := deriveNameConstraints(dns, nil, uris, emails)
	if problem != "" {
		return
	}
	if err := ncVerify(t, nc, leaf); err != nil {
		t.Errorf("a leaf with %+v matches %q %q %q but fails under their constraints: %v", leaf, dns, uris, emails, err)
	}
}

// refCorpus are names and patterns of every kind, for
// TestMatchersAgreeWithReference and as fuzz seeds.
var refCorpus = []string{
	"", "*", "**", "localhost", "example.com", "a.example.com", "A.Example.COM", "*.example.com", "*.a.example.com",
	"**.example.com", "a.*.example.com", "*.*.example.com", "web-1.team-a.example.com", "*.com", "example.com.",
	"10.0.0.1", "example.123", "xn--80ak6aa92e.com", "ex\u0430mple.com", "cluster.local.evil.com",
	"spiffe://cluster.local/ns/team-a/sa/web", "spiffe://cluster.local/ns/team-a/sa/*", "spiffe://cluster.local/ns/team-a/**",
	"spiffe://cluster.local/ns/team-a/sa/..", "spiffe://cluster.local/ns/team-a/sa/%2e%2e", "spiffe://cluster.local/ns/team-a/sa/web?x",
	"spiffe://cluster.local/ns/team-a/sa/web#x", "spiffe://evil@cluster.local/ns/team-a", "spiffe://evil.com#cluster.local",
	"spiffe://cluster.local.evil.com/ns/team-a/sa/web", "spiffe://*.cluster.local/**", "spiffe://**/**",
	"https://api.example.com:8443/a/b", "https://*.example.com:8443/*/b", "spiffe://10.0.0.1/x", "spiffe://[fd00::1]:8443/a",
	"urn:example:a", "URN:example:a", "spiffe://h/a%20b", "spiffe://h/%2A", "spiffe://h", "spiffe://h/",
	"alice@example.com", "Alice@example.com", "*@example.com", "*@*.example.com", "alice@**.example.com",
	"alice@evil.com@example.com", "bob@x.team-a.example.com", "*@team-a.example.com", "a*b", "system:serviceaccount:*",
}

func TestMatchersAgreeWithReference(t *testing.T) {
	t.Parallel()
	masks := []uint16{0, 1, 2, 3, 0x0400, 0x0800, 0x8000, 0x9001, 0xa000, 0x4100, 0x5300, 0x2001, 0x2800}
	for _, name := range refCorpus {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, pattern := range refCorpus {
				checkAgainstReference(t, name, pattern)
			}
			for _, mask := range masks {
				checkDerivedAgainstReference(t, name, mask)
			}
		})
	}
}
