//go:build integration && pkcs11 && cgo

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

package keys_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/pkcs11"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/keys"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/test/keystest"
)

// softHSM holds the tokens of these tests: SoftHSM reads its
// configuration when the module is first loaded, so every token is made
// in TestMain before that.
var softHSM *keystest.SoftHSM

// Tokens and their PINs.
const (
	tokenCA     = "ca"
	tokenWrong  = "wrong-pin"
	tokenShared = "shared"
	tokenPIN    = "1234"
)

func setUpPKCS11(dir string) error {
	var err error
	if softHSM, err = keystest.NewSoftHSM(filepath.Join(dir, "softhsm")); err != nil {
		return err
	}
	for _, t := range []string{tokenCA, tokenWrong, tokenShared} {
		if err := softHSM.InitToken(t, tokenPIN); err != nil {
			return err
		}
	}
	return softHSM.Setenv()
}

func pinCreds(pin string) *keys.Credentials {
	return &keys.Credentials{Source: "Secret test/hsm", Data: map[string][]byte{keys.CredentialPIN: []byte(pin)}}
}

func pkcs11URI(t *testing.T, s string) keys.URI {
	t.Helper()
	u, err := keys.ParseURI(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func newPKCS11Keys(t *testing.T) *keys.Keys {
	t.Helper()
	return keys.New(keys.Policy{PKCS11Modules: []string{softHSM.Module}})
}

func TestSoftHSMMakesAndSignsWithKeysItNeverExports(t *testing.T) {
	ctx := context.Background()
	k := newPKCS11Keys(t)
	for _, spec := range []v1alpha1.PrivateKeySpec{{}, {Algorithm: "ECDSA", Size: 384}, {Algorithm: "RSA", Size: 2048}} {
		t.Run(specName(spec), func(t *testing.T) {
			s, err := k.Create(ctx, cluster, pkcs11URI(t, "pkcs11:token="+tokenCA), spec,
				keys.Label{Issuer: "NstanceClusterIssuer soft ca", Created: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}, pinCreds(tokenPIN))
			if err != nil {
				t.Fatal(err)
			}
			u := s.URI()
			if len(u.Get("id")) != 16 || u.Get("object") != "nstance-NstanceClusterIssuer-soft-ca-20260601T120000Z" || u.Get("token") != tokenCA {
				t.Fatalf("the new key is named %q", u)
			}
			cert := selfSign(t, s)
			switch pub := cert.PublicKey.(type) {
			case *ecdsa.PublicKey:
				if want := map[int32]int{0: 256, 384: 384}[spec.Size]; pub.Curve.Params().BitSize != want {
					t.Errorf("curve %s, want P-%d", pub.Curve.Params().Name, want)
				}
			case *rsa.PublicKey:
				if pub.N.BitLen() != 2048 {
					t.Errorf("RSA %d bits", pub.N.BitLen())
				}
			}
			again, err := k.Open(ctx, cluster, pkcs11URI(t, u.String()), pinCreds(tokenPIN))
			if err != nil {
				t.Fatal(err)
			}
			if pki.PublicKeyFingerprint(again.Public()) != pki.PublicKeyFingerprint(s.Public()) {
				t.Errorf("the key opened by URI is another key")
			}
			checkNeverExported(t, u, s.Public())
		})
	}
}

// checkNeverExported asks the token itself, through the PKCS#11 API, for
// the private key's value: it must be sensitive and not extractable.
func checkNeverExported(t *testing.T, u keys.URI, pub any) {
	t.Helper()
	p := pkcs11.New(softHSM.Module)
	if p == nil {
		t.Fatal("cannot load the SoftHSM module")
	}
	// The module is initialised already, by the keys under test: not
	// finalised here either.
	if err := p.Initialize(); err != nil && !errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
		t.Fatal(err)
	}
	slots, err := p.GetSlotList(true)
	if err != nil {
		t.Fatal(err)
	}
	var slot uint
	found := false
	for _, s := range slots {
		if ti, err := p.GetTokenInfo(s); err == nil && ti.Label == u.Get("token") {
			slot, found = s, true
		}
	}
	if !found {
		t.Fatalf("no token %s", u.Get("token"))
	}
	sh, err := p.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.CloseSession(sh) }()
	if err := p.Login(sh, pkcs11.CKU_USER, tokenPIN); err != nil && !errors.Is(err, pkcs11.Error(pkcs11.CKR_USER_ALREADY_LOGGED_IN)) {
		t.Fatal(err)
	}
	if err := p.FindObjectsInit(sh, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY), pkcs11.NewAttribute(pkcs11.CKA_ID, []byte(u.Get("id"))),
	}); err != nil {
		t.Fatal(err)
	}
	objs, _, err := p.FindObjects(sh, 2)
	_ = p.FindObjectsFinal(sh)
	if err != nil || len(objs) != 1 {
		t.Fatalf("found %d private keys with the id (%v), want 1", len(objs), err)
	}
	attrs, err := p.GetAttributeValue(sh, objs[0], []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, nil), pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(attrs) != 2 || attrs[0].Value[0] != 1 || attrs[1].Value[0] != 0 {
		t.Errorf("the private key is not sensitive and unextractable: %+v", attrs)
	}
	secret := uint(pkcs11.CKA_VALUE) // an EC private key's scalar
	if _, isRSA := pub.(*rsa.PublicKey); isRSA {
		secret = pkcs11.CKA_PRIVATE_EXPONENT
	}
	if _, err := p.GetAttributeValue(sh, objs[0], []*pkcs11.Attribute{pkcs11.NewAttribute(secret, nil)}); !errors.Is(err, pkcs11.Error(pkcs11.CKR_ATTRIBUTE_SENSITIVE)) {
		t.Errorf("reading the private key's secret gave %v, want CKR_ATTRIBUTE_SENSITIVE", err)
	}
}

func TestSoftHSMErrorsSayWhatToDo(t *testing.T) {
	ctx := context.Background()
	k := newPKCS11Keys(t)
	s, err := k.Create(ctx, cluster, pkcs11URI(t, "pkcs11:token="+tokenCA), v1alpha1.PrivateKeySpec{}, keys.Label{Issuer: "t", Created: time.Now()}, pinCreds(tokenPIN))
	if err != nil {
		t.Fatal(err)
	}
	pinFile := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(pinFile, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		keys   *keys.Keys
		uri    string
		creds  *keys.Credentials
		reason string
		says   string
	}{
		{name: "a token that does not exist", uri: "pkcs11:token=nope;object=k", creds: pinCreds(tokenPIN), reason: keys.ReasonKeyNotFound, says: "has no token nope"},
		{name: "a key that does not exist", uri: "pkcs11:token=" + tokenCA + ";object=nope", creds: pinCreds(tokenPIN), reason: keys.ReasonKeyNotFound, says: "no key pair with this id and object"},
		{name: "a wrong PIN", uri: "pkcs11:token=" + tokenWrong + ";object=k", creds: pinCreds("0000"), reason: keys.ReasonCredentialsRefused, says: "refused the PIN"},
		{name: "the same wrong PIN is not tried again", uri: "pkcs11:token=" + tokenWrong + ";object=k", creds: pinCreds("0000"), reason: keys.ReasonCredentialsRefused, says: "not tried again until it changes"},
		{name: "a Secret without a PIN", uri: "pkcs11:token=" + tokenWrong + ";object=k", creds: &keys.Credentials{Source: "Secret test/empty"}, reason: keys.ReasonCredentialsMissing, says: `Secret test/empty has no key "pin"`},
		{name: "no Secret and no PIN file", uri: "pkcs11:token=" + tokenWrong + ";object=k", reason: keys.ReasonCredentialsMissing, says: "--pkcs11-pin-file"},
		{name: "an empty PIN file", keys: keys.New(keys.Policy{PKCS11Modules: []string{softHSM.Module}, PKCS11PINFile: pinFile}),
			uri: "pkcs11:token=" + tokenWrong + ";object=k", reason: keys.ReasonCredentialsMissing, says: "is empty"},
		{name: "a module the controller does not allow", uri: "pkcs11:token=" + tokenCA + ";object=k?module-path=/lib/x86_64-linux-gnu/libc.so.6", creds: pinCreds(tokenPIN),
			reason: keys.ReasonNotAllowed, says: "not one of the PKCS#11 modules the controller allows"},
		{name: "a tenant naming a token not allowed for its namespace", uri: s.URI().String(), creds: pinCreds(tokenPIN), reason: keys.ReasonNotAllowed, says: "namespace tenant"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kk := tc.keys
			if kk == nil {
				kk = k
			}
			scope := cluster
			if strings.HasPrefix(tc.name, "a tenant") {
				scope = keys.Scope{Namespace: "tenant", Issuer: "NstanceIssuer tenant/x"}
			}
			_, err := kk.Open(ctx, scope, pkcs11URI(t, tc.uri), tc.creds)
			var kerr *keys.Error
			if !errors.As(err, &kerr) || kerr.Reason != tc.reason || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want %s saying %q", err, tc.reason, tc.says)
			}
		})
	}
	t.Run("the right PIN still logs in after a wrong one", func(t *testing.T) {
		wrong, err := k.Create(ctx, cluster, pkcs11URI(t, "pkcs11:token="+tokenWrong), v1alpha1.PrivateKeySpec{}, keys.Label{Issuer: "t", Created: time.Now()}, pinCreds(tokenPIN))
		if err != nil {
			t.Fatal(err)
		}
		selfSign(t, wrong)
	})
	t.Run("Ed25519 keys are refused in a token, by name", func(t *testing.T) {
		_, err := k.Create(ctx, cluster, pkcs11URI(t, "pkcs11:token="+tokenCA), v1alpha1.PrivateKeySpec{Algorithm: "Ed25519"}, keys.Label{Issuer: "t", Created: time.Now()}, pinCreds(tokenPIN))
		var kerr *keys.Error
		if !errors.As(err, &kerr) || kerr.Reason != keys.ReasonWrongKeyType || !strings.Contains(err.Error(), "Ed25519") {
			t.Fatalf("got %v", err)
		}
	})
}

// TestSoftHSMLoginIsPerToken records why the policy, not the PIN, decides
// who may name a token: once the process is logged in to a token, a
// second login with any PIN is taken as logged in.
func TestSoftHSMLoginIsPerToken(t *testing.T) {
	ctx := context.Background()
	k := newPKCS11Keys(t)
	s, err := k.Create(ctx, cluster, pkcs11URI(t, "pkcs11:token="+tokenShared), v1alpha1.PrivateKeySpec{}, keys.Label{Issuer: "t", Created: time.Now()}, pinCreds(tokenPIN))
	if err != nil {
		t.Fatal(err)
	}
	other := newPKCS11Keys(t) // another context of the same process, same token
	if _, err := other.Open(ctx, cluster, s.URI(), pinCreds("not-the-pin")); err != nil {
		t.Fatalf("PKCS#11 login is no longer per token (%v): revisit the Policy's reasoning in docs/keys.md", err)
	}
	// Hence a tenant is refused before any PIN is tried.
	tenant := keys.Scope{Namespace: "tenant", Issuer: "NstanceIssuer tenant/x"}
	var kerr *keys.Error
	if _, err := k.Open(ctx, tenant, s.URI(), pinCreds("not-the-pin")); !errors.As(err, &kerr) || kerr.Reason != keys.ReasonNotAllowed {
		t.Fatalf("a tenant used a token another issuer logged in to: %v", err)
	}
}
