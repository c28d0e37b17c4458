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

// Package keyuri parses the URIs that name CA keys held in a KMS or an
// HSM (spec.ca.key.uri, a CA Secret's key-uri, the operator's
// --namespace-key-uri patterns). It is plain Go, shared by the issuers'
// one validation (pki.ValidateIssuer: the controller, the admission
// webhook, explain) and by internal/keys, which opens the keys.
package keyuri

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Backends: the scheme of a key URI.
const (
	// BackendAWSKMS is AWS KMS: awskms:key-id=<key id, ARN or alias>;region=<region>.
	BackendAWSKMS = "awskms"
	// BackendPKCS11 is a PKCS#11 token (an HSM, SoftHSM), RFC 7512:
	// pkcs11:token=<label>;id=<%xx bytes>;object=<label>?module-path=<path>.
	BackendPKCS11 = "pkcs11"
)

// MaxURILength bounds a key URI, as the CRD does.
const MaxURILength = 1024

// maxValueLength bounds one attribute value.
const maxValueLength = 512

// rule is what a backend's URIs may say.
type rule struct {
	// path and query are the attributes allowed in the path and the
	// query, in the order String writes them.
	path, query []string
	// key are the attributes that select a key (the others say where it
	// lives).
	key []string
	// refused are attributes this issuer never takes from a URI, with why
	// and what to do instead.
	refused map[string]string
	// check validates the attributes of a URI (not of a pattern).
	check func(u URI) error
}

var rules = map[string]rule{
	BackendAWSKMS: {
		path: []string{"key-id", "region"},
		key:  []string{"key-id"},
		refused: map[string]string{
			"profile":          "the controller never reads AWS profiles named by a key URI: set credentialsSecretRef, or give the controller its own identity (IRSA, EKS Pod Identity)",
			"credentials-file": "the controller never reads files named by a key URI: set credentialsSecretRef to a Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
			"endpoint":         "the AWS KMS endpoint is the operator's choice (--aws-kms-endpoint), not a key URI's",
		},
		check: checkAWS,
	},
	BackendPKCS11: {
		path:  []string{"token", "serial", "slot-id", "id", "object"},
		query: []string{"module-path"},
		key:   []string{"id", "object"},
		refused: map[string]string{
			"pin-value":    "never put a PIN in a key URI (it would show in the issuer's spec and status): put it under key \"pin\" of the Secret credentialsSecretRef names",
			"pin-source":   "the controller never reads files named by a key URI: put the PIN under key \"pin\" of the Secret credentialsSecretRef names",
			"module-name":  "name the module by its path with module-path=, one of those the controller allows (--pkcs11-module)",
			"max-sessions": "the number of sessions is the controller's choice, not a key URI's",
		},
		check: checkPKCS11,
	},
}

// Error is a key URI this issuer does not take, and why.
type Error struct {
	// URI is the refused URI, shortened.
	URI string
	// Msg says what is wrong and what to write instead.
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("key URI %q: %s", e.URI, e.Msg) }

func uriErrorf(uri, format string, args ...any) *Error {
	return &Error{URI: Shorten(uri), Msg: fmt.Sprintf(format, args...)}
}

// URI is a parsed CA key URI in which every attribute is one this issuer
// knows and allows: ParseURI refuses anything else, so that a URI, which
// whoever writes the issuer controls, can name a key and where it lives
// and nothing more (no PIN, file or endpoint). Values are decoded.
type URI struct {
	backend string
	attrs   map[string]string
}

// Parse parses and checks a CA key URI; the error is an *Error.
func Parse(s string) (URI, error) {
	u, err := parse(s, false)
	if err != nil {
		return URI{}, err
	}
	if err := rules[u.backend].check(u); err != nil {
		return URI{}, uriErrorf(s, "%v", err)
	}
	return u, nil
}

// ParsePattern parses a key URI pattern (an operator's
// --namespace-key-uri): a URI whose values may hold '*'.
func ParsePattern(s string) (URI, error) {
	return parse(s, true)
}

var attrName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

func parse(s string, pattern bool) (URI, error) {
	if len(s) > MaxURILength {
		return URI{}, uriErrorf(s, "it is %d bytes, more than the %d allowed", len(s), MaxURILength)
	}
	scheme, rest, ok := strings.Cut(s, ":")
	r, known := rules[scheme]
	if !ok || !known {
		return URI{}, uriErrorf(s, "it must start with %s: (AWS KMS) or %s: (a PKCS#11 token, RFC 7512)", BackendAWSKMS, BackendPKCS11)
	}
	u := URI{backend: scheme, attrs: map[string]string{}}
	path, query, hasQuery := strings.Cut(rest, "?")
	parts := func(raw, sep string, allowed []string, where string) error {
		if raw == "" {
			return nil
		}
		for a := range strings.SplitSeq(raw, sep) {
			name, rawValue, ok := strings.Cut(a, "=")
			if !ok || !attrName.MatchString(name) {
				return fmt.Errorf("%q is not an attribute name=value", Shorten(a))
			}
			if why, refused := r.refused[name]; refused {
				return fmt.Errorf("attribute %s is not allowed: %s", name, why)
			}
			if !slices.Contains(allowed, name) {
				return fmt.Errorf("attribute %s is not allowed in the %s of a %s key URI (allowed: %s)", name, where, scheme, strings.Join(allowed, ", "))
			}
			if _, dup := u.attrs[name]; dup {
				return fmt.Errorf("attribute %s is given twice", name)
			}
			value, err := url.PathUnescape(rawValue)
			if err != nil {
				return fmt.Errorf("attribute %s: %w", name, err)
			}
			if value == "" {
				return fmt.Errorf("attribute %s is empty", name)
			}
			if len(value) > maxValueLength {
				return fmt.Errorf("attribute %s is %d bytes, more than the %d allowed", name, len(value), maxValueLength)
			}
			if name != "id" && strings.IndexFunc(value, func(c rune) bool { return c < 0x20 || c == 0x7f }) >= 0 {
				return fmt.Errorf("attribute %s holds a control character", name)
			}
			if !pattern && name != "id" && strings.Contains(value, "*") {
				return fmt.Errorf("attribute %s holds '*', which only a pattern of --namespace-key-uri may", name)
			}
			u.attrs[name] = value
		}
		return nil
	}
	if err := parts(path, ";", r.path, "path"); err != nil {
		return URI{}, uriErrorf(s, "%v", err)
	}
	if hasQuery {
		if len(r.query) == 0 {
			return URI{}, uriErrorf(s, "a %s key URI has no query (nothing after '?')", scheme)
		}
		if err := parts(query, "&", r.query, "query"); err != nil {
			return URI{}, uriErrorf(s, "%v", err)
		}
	}
	return u, nil
}

var (
	awsRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	awsKeyID  = regexp.MustCompile(`^[A-Za-z0-9:/_.+=,@-]{1,512}$`)
	awsARN    = regexp.MustCompile(`^arn:aws[a-z-]*:kms:([a-z0-9-]+):[0-9]{12}:(key|alias)/.+$`)
)

func checkAWS(u URI) error {
	if id, ok := u.attrs["key-id"]; ok && !awsKeyID.MatchString(id) {
		return fmt.Errorf("key-id %q is not an AWS KMS key id, key ARN or alias", Shorten(id))
	}
	if r, ok := u.attrs["region"]; ok && !awsRegion.MatchString(r) {
		return fmt.Errorf("region %q is not an AWS region (e.g. eu-west-1)", Shorten(r))
	}
	if m := awsARN.FindStringSubmatch(u.attrs["key-id"]); m != nil {
		if r, ok := u.attrs["region"]; ok && r != m[1] {
			return fmt.Errorf("region %s differs from the region %s of the key ARN; drop region=", r, m[1])
		}
	}
	return nil
}

func checkPKCS11(u URI) error {
	n := 0
	for _, a := range []string{"token", "serial", "slot-id"} {
		if _, ok := u.attrs[a]; ok {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("name the token with exactly one of token= (its label), serial= or slot-id=")
	}
	if v, ok := u.attrs["slot-id"]; ok {
		if _, err := strconv.ParseUint(v, 10, 32); err != nil {
			return fmt.Errorf("slot-id %q is not a slot number", Shorten(v))
		}
	}
	if p, ok := u.attrs["module-path"]; ok && !strings.HasPrefix(p, "/") {
		return fmt.Errorf("module-path %q is not an absolute path", Shorten(p))
	}
	return nil
}

// Backend is the URI's scheme: BackendAWSKMS or BackendPKCS11.
func (u URI) Backend() string { return u.backend }

// IsZero reports whether u was never parsed.
func (u URI) IsZero() bool { return u.backend == "" }

// Get returns the decoded value of an attribute, "" when absent.
func (u URI) Get(name string) string { return u.attrs[name] }

// Lookup returns the decoded value of an attribute and whether u has it.
func (u URI) Lookup(name string) (string, bool) {
	v, ok := u.attrs[name]
	return v, ok
}

// Attributes are the attributes a backend's URIs may hold, path then
// query, in canonical order.
func Attributes(backend string) []string {
	r := rules[backend]
	return append(slices.Clone(r.path), r.query...)
}

// KeyAttributes are the attributes of a backend's URIs that select a key
// (the others say where keys live).
func KeyAttributes(backend string) []string { return slices.Clone(rules[backend].key) }

// ARNRegion is the region of an AWS KMS key ARN, false for a key id or
// an alias without one.
func ARNRegion(keyID string) (string, bool) {
	if m := awsARN.FindStringSubmatch(keyID); m != nil {
		return m[1], true
	}
	return "", false
}

// NamesKey reports whether u names a key (an AWS key-id, a PKCS#11 id or
// object), not only where keys live.
func (u URI) NamesKey() bool {
	for _, a := range rules[u.backend].key {
		if _, ok := u.attrs[a]; ok {
			return true
		}
	}
	return false
}

// Location is u without the attributes that select a key: where keys
// live, what a new key is made in. An AWS key named by ARN lives in the
// ARN's region.
func (u URI) Location() URI {
	out := URI{backend: u.backend, attrs: map[string]string{}}
	for k, v := range u.attrs {
		if !slices.Contains(rules[u.backend].key, k) {
			out.attrs[k] = v
		}
	}
	if m := awsARN.FindStringSubmatch(u.attrs["key-id"]); u.backend == BackendAWSKMS && m != nil && out.attrs["region"] == "" {
		out.attrs["region"] = m[1]
	}
	return out
}

// With returns u with attribute name set to value.
func (u URI) With(name, value string) URI {
	out := URI{backend: u.backend, attrs: map[string]string{}}
	maps.Copy(out.attrs, u.attrs)
	out.attrs[name] = value
	return out
}

// String is the URI in canonical form: attributes in a fixed order,
// values percent-encoded where they must be. It never holds a secret.
func (u URI) String() string {
	if u.backend == "" {
		return ""
	}
	r := rules[u.backend]
	var b strings.Builder
	b.WriteString(u.backend)
	b.WriteByte(':')
	write := func(names []string, sep string) {
		first := true
		for _, n := range names {
			v, ok := u.attrs[n]
			if !ok {
				continue
			}
			if !first {
				b.WriteString(sep)
			}
			first = false
			b.WriteString(n)
			b.WriteByte('=')
			b.WriteString(escape(v))
		}
	}
	write(r.path, ";")
	if slices.ContainsFunc(r.query, func(n string) bool { _, ok := u.attrs[n]; return ok }) {
		b.WriteByte('?')
		write(r.query, "&")
	}
	return b.String()
}

// escape percent-encodes every byte of v but unreserved characters and
// those key ids, ARNs, labels and paths commonly hold.
func escape(v string) string {
	var b strings.Builder
	for i := range len(v) {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == ':', c == '/', c == '@', c == '*':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02x", c)
		}
	}
	return b.String()
}

// Shorten bounds an untrusted value quoted in a message.
func Shorten(s string) string {
	if len(s) > 128 {
		return s[:128] + "..."
	}
	return s
}
