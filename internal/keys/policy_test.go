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
	"errors"
	"strings"
	"testing"
)

func mustPattern(t *testing.T, v string) (string, Pattern) {
	t.Helper()
	ns, p, err := ParseNamespaceKey(v)
	if err != nil {
		t.Fatal(err)
	}
	return ns, p
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	const softhsm = "/usr/lib/softhsm/libsofthsm2.so"
	policy := Policy{PKCS11Modules: []string{softhsm, "/opt/hsm/libvendor.so"}, NamespaceKeys: map[string][]Pattern{}}
	for _, v := range []string{
		"team-a=awskms:key-id=arn:aws:kms:eu-west-1:111122223333:key/*",
		"team-a=pkcs11:token=team-a",
		"team-b=awskms:region=eu-west-1",
		"team-c=pkcs11:token=shared;object=team-c-*?module-path=/opt/hsm/libvendor.so",
	} {
		ns, p := mustPattern(t, v)
		policy.NamespaceKeys[ns] = append(policy.NamespaceKeys[ns], p)
	}
	cluster := Scope{Issuer: "NstanceClusterIssuer ca"}
	teamA := Scope{Namespace: "team-a", Issuer: "NstanceIssuer team-a/web"}
	teamB := Scope{Namespace: "team-b", Issuer: "NstanceIssuer team-b/web"}
	teamC := Scope{Namespace: "team-c", Issuer: "NstanceIssuer team-c/web"}
	tenant := Scope{Namespace: "tenant", Issuer: "NstanceIssuer tenant/evil"}

	tests := []struct {
		name      string
		scope     Scope
		uri       string
		withCreds bool
		err       string
	}{
		{name: "a cluster issuer may use any AWS key with the controller's identity", scope: cluster, uri: "awskms:key-id=k;region=eu-west-1"},
		{name: "a cluster issuer may use a token of the default module", scope: cluster, uri: "pkcs11:token=any;object=k"},
		{name: "a cluster issuer may name an allowed module", scope: cluster, uri: "pkcs11:token=any;object=k?module-path=/opt/hsm/libvendor.so"},
		{name: "nobody may load a module the controller does not allow", scope: cluster, uri: "pkcs11:token=t;object=k?module-path=/tmp/evil.so",
			err: "module-path /tmp/evil.so is not one of the PKCS#11 modules the controller allows"},

		{name: "a tenant may use an AWS key with its own credentials", scope: tenant, uri: "awskms:key-id=k;region=eu-west-1", withCreds: true},
		{name: "a tenant may not use the controller's AWS identity", scope: tenant, uri: "awskms:key-id=arn:aws:kms:eu-west-1:111122223333:key/x",
			err: "has no spec.ca.key.credentialsSecretRef and may not use the controller's own identity"},
		{name: "a namespace's pattern lets it use the controller's identity for matching keys", scope: teamA, uri: "awskms:key-id=arn:aws:kms:eu-west-1:111122223333:key/abc"},
		{name: "a key of another account does not match the namespace's pattern", scope: teamA, uri: "awskms:key-id=arn:aws:kms:eu-west-1:999999999999:key/abc",
			err: "may not use the controller's own identity"},
		{name: "a bare key id does not match an ARN pattern", scope: teamA, uri: "awskms:key-id=abc;region=eu-west-1", err: "may not use the controller's own identity"},
		{name: "one namespace's pattern does not serve another", scope: teamB, uri: "awskms:key-id=arn:aws:kms:eu-west-1:111122223333:key/abc",
			err: "may not use the controller's own identity"},
		{name: "a region pattern lets a namespace make keys there with the controller's identity", scope: teamB, uri: "awskms:region=eu-west-1"},
		{name: "a region pattern lets a namespace use any key named in that region", scope: teamB, uri: "awskms:key-id=k;region=eu-west-1"},
		{name: "a region pattern does not cover another region", scope: teamB, uri: "awskms:key-id=k;region=us-east-1", err: "may not use the controller's own identity"},
		{name: "a region pattern does not cover a key whose region is unsaid", scope: teamB, uri: "awskms:key-id=k", err: "may not use the controller's own identity"},
		{name: "a key-id pattern does not let a namespace make keys", scope: teamA, uri: "awskms:region=eu-west-1", err: "may not use the controller's own identity"},

		{name: "a tenant may not name a PKCS#11 token even with its own PIN", scope: tenant, uri: "pkcs11:token=cluster;object=ca", withCreds: true,
			err: "may use a PKCS#11 token only when the operator allows it for namespace tenant"},
		{name: "a namespace may use its own token", scope: teamA, uri: "pkcs11:token=team-a;id=%01;object=ca", withCreds: true},
		{name: "a namespace may use its own token with the controller's PIN", scope: teamA, uri: "pkcs11:token=team-a;object=ca"},
		{name: "a namespace may make keys in its own token", scope: teamA, uri: "pkcs11:token=team-a"},
		{name: "a namespace may not name another token", scope: teamA, uri: "pkcs11:token=team-b;object=ca", withCreds: true, err: "only when the operator allows it"},
		{name: "a namespace's token pattern does not cover the same label in another module", scope: teamA, uri: "pkcs11:token=team-a;object=ca?module-path=/opt/hsm/libvendor.so",
			withCreds: true, err: "only when the operator allows it"},
		{name: "naming the default module explicitly matches a pattern that names none", scope: teamA, uri: "pkcs11:token=team-a;object=ca?module-path=" + softhsm, withCreds: true},
		{name: "a token pattern does not cover the token by serial", scope: teamA, uri: "pkcs11:serial=123;object=ca", withCreds: true, err: "only when the operator allows it"},
		{name: "an object glob covers matching labels", scope: teamC, uri: "pkcs11:token=shared;object=team-c-ca?module-path=/opt/hsm/libvendor.so", withCreds: true},
		{name: "an object glob does not cover other labels", scope: teamC, uri: "pkcs11:token=shared;object=team-a-ca?module-path=/opt/hsm/libvendor.so", withCreds: true,
			err: "only when the operator allows it"},
		{name: "an object glob does not cover a key named by id alone", scope: teamC, uri: "pkcs11:token=shared;id=%01?module-path=/opt/hsm/libvendor.so", withCreds: true,
			err: "only when the operator allows it"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, err := ParseURI(tc.uri)
			if err != nil {
				t.Fatal(err)
			}
			err = policy.Authorize(tc.scope, u, tc.withCreds)
			if tc.err == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var kerr *Error
			if !errors.As(err, &kerr) || kerr.Reason != ReasonNotAllowed || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %v, want a %s error containing %q", err, ReasonNotAllowed, tc.err)
			}
		})
	}
}

func TestAuthorizeWithoutModulesRefusesPKCS11(t *testing.T) {
	t.Parallel()
	u, err := ParseURI("pkcs11:token=t;object=k")
	if err != nil {
		t.Fatal(err)
	}
	err = (&Policy{}).Authorize(Scope{}, u, true)
	if err == nil || !strings.Contains(err.Error(), "--pkcs11-module") {
		t.Fatalf("got %v, want a refusal naming --pkcs11-module", err)
	}
}

func TestParseNamespaceKey(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"awskms:key-id=k", "=awskms:key-id=k", "Team_A=awskms:key-id=k", "team-a=gcpkms:x", "team-a=pkcs11:token=t?pin-value=1"} {
		if _, _, err := ParseNamespaceKey(bad); err == nil {
			t.Errorf("ParseNamespaceKey(%q) accepted it", bad)
		}
	}
}

func TestGlob(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"a", "a", true}, {"a", "ab", false}, {"*", "", true}, {"a*", "abc", true}, {"*c", "abc", true},
		{"a*c", "abbc", true}, {"a*c", "abcd", false}, {"a*b*c", "axbxc", true}, {"a*b*c", "axc", false},
		{"key/*", "key/x/y", true}, {"ab*ba", "aba", false},
	} {
		if got := glob(tc.pattern, tc.s); got != tc.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}
