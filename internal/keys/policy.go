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

package keys

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/nstance-dev/nstance-issuer/internal/pki/keyuri"
)

// Scope is who asks for a key: a cluster issuer (Namespace "") or an
// NstanceIssuer of Namespace. Issuer names it in messages.
type Scope struct {
	Namespace string
	Issuer    string
}

// Pattern is a key URI pattern of the controller's policy: a key URI
// whose attribute values may hold '*' (any run of characters). A key URI
// matches when every attribute of the pattern is in it and matches, and
// it has no attribute saying where the key lives (an AWS region, a PKCS#11
// token, serial, slot or module) that the pattern does not name: only the
// attributes that select a key within that place (key-id; id, object) may
// be left out of a pattern, meaning any. A PKCS#11 module-path left out of
// either means the controller's default module.
type Pattern struct {
	uri URI
	raw string
}

// ParsePattern parses a key URI pattern.
func ParsePattern(s string) (Pattern, error) {
	u, err := keyuri.ParsePattern(s)
	if err != nil {
		return Pattern{}, &Error{Reason: ReasonInvalidURI, Msg: err.Error()}
	}
	return Pattern{uri: u, raw: s}, nil
}

func (p Pattern) String() string { return p.raw }

// matches reports whether u matches p, a missing module-path standing for
// defaultModule on either side.
func (p Pattern) matches(u URI, defaultModule string) bool {
	if p.uri.Backend() != u.Backend() {
		return false
	}
	get := func(x URI, name string) (string, bool) {
		v, ok := x.Lookup(name)
		if !ok && name == "module-path" && x.Backend() == BackendPKCS11 && defaultModule != "" {
			return defaultModule, true
		}
		return v, ok
	}
	keyAttrs := keyuri.KeyAttributes(u.Backend())
	for _, name := range keyuri.Attributes(u.Backend()) {
		pv, inPattern := get(p.uri, name)
		uv, inURI := get(u, name)
		switch {
		case inPattern && (!inURI || !glob(pv, uv)):
			return false
		case !inPattern && inURI && !slices.Contains(keyAttrs, name):
			return false
		}
	}
	return true
}

// glob matches s against pattern, where '*' matches any run of characters.
func glob(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// Policy is the operator's say on which issuer may use which key, set by
// the controller's flags.
type Policy struct {
	// PKCS11Modules are the PKCS#11 module paths a key URI may name
	// (module-path=); the first one is used when a URI names none. Empty:
	// no PKCS#11 key may be used. A module is a shared library loaded into
	// the controller: a URI can never load another.
	PKCS11Modules []string
	// PKCS11PINFile holds the PIN the controller logs in to PKCS#11 tokens
	// with for issuers without credentialsSecretRef (its own identity);
	// empty: none.
	PKCS11PINFile string
	// NamespaceKeys are, per namespace, the key URI patterns its
	// NstanceIssuers may use with the controller's own identity (AWS KMS)
	// or at all (PKCS#11, where one login per token serves the whole
	// process). Cluster issuers may use any key with either.
	NamespaceKeys map[string][]Pattern
	// AWSKMSEndpoint, when set, is the AWS KMS endpoint (a VPC or FIPS
	// endpoint, an emulator) instead of the region's.
	AWSKMSEndpoint string
}

// defaultModule is the module a PKCS#11 URI naming none uses.
func (p *Policy) defaultModule() string {
	if len(p.PKCS11Modules) == 0 {
		return ""
	}
	return p.PKCS11Modules[0]
}

// module is the module a PKCS#11 URI uses.
func (p *Policy) module(u URI) string {
	if m := u.Get("module-path"); m != "" {
		return m
	}
	return p.defaultModule()
}

// Authorize decides whether scope may use key (or make keys in) uri,
// with its own credentials (withCredentials: a Secret of its namespace)
// or else the controller's identity. The decision is the operator's: deny
// unless a rule allows it.
func (p *Policy) Authorize(scope Scope, uri URI, withCredentials bool) error {
	refuse := func(format string, args ...any) error {
		return &Error{Reason: ReasonNotAllowed, Backend: uri.Backend(), URI: uri.String(), Msg: fmt.Sprintf(format, args...)}
	}
	if uri.Backend() == BackendPKCS11 {
		if len(p.PKCS11Modules) == 0 {
			return refuse("the controller allows no PKCS#11 module: start it with --pkcs11-module=<path of the module> (the Helm value keys.pkcs11.modules), and use its -pkcs11 image")
		}
		if m := uri.Get("module-path"); m != "" && !slices.Contains(p.PKCS11Modules, m) {
			return refuse("module-path %s is not one of the PKCS#11 modules the controller allows (%s); a key URI can only name an allowed module", m, strings.Join(p.PKCS11Modules, ", "))
		}
	}
	if scope.Namespace == "" {
		return nil // cluster issuers: the cluster administrator's
	}
	for _, pat := range p.NamespaceKeys[scope.Namespace] {
		if pat.matches(uri, p.defaultModule()) {
			return nil
		}
	}
	switch {
	case uri.Backend() == BackendPKCS11:
		return refuse("%s may use a PKCS#11 token only when the operator allows it for namespace %s (--namespace-key-uri=%s=pkcs11:token=<label>, the Helm value keys.namespaceKeyURIs): "+
			"the controller logs in to each token once for the whole process, so a token must belong to one namespace", scope.Issuer, scope.Namespace, scope.Namespace)
	case !withCredentials:
		return refuse("%s has no spec.ca.key.credentialsSecretRef and may not use the controller's own identity for this key: set credentialsSecretRef to a Secret in namespace %s, "+
			"or the operator allows such keys for the namespace (--namespace-key-uri=%s=<key URI pattern>, the Helm value keys.namespaceKeyURIs)", scope.Issuer, scope.Namespace, scope.Namespace)
	}
	return nil
}

var namespaceName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// ParseNamespaceKey parses a --namespace-key-uri value,
// <namespace>=<key URI pattern>.
func ParseNamespaceKey(v string) (string, Pattern, error) {
	ns, raw, ok := strings.Cut(v, "=")
	if !ok || !namespaceName.MatchString(ns) {
		return "", Pattern{}, fmt.Errorf("%q is not <namespace>=<key URI pattern>, e.g. team-a=awskms:key-id=arn:aws:kms:eu-west-1:111122223333:key/*", shorten(v))
	}
	p, err := ParsePattern(raw)
	if err != nil {
		return "", Pattern{}, err
	}
	return ns, p, nil
}
