//go:build pkcs11 && cgo

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
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/miekg/pkcs11"
	"go.step.sm/crypto/kms/apiv1"
	steppkcs11 "go.step.sm/crypto/kms/pkcs11"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// PKCS#11 keys go through go.step.sm/crypto/kms/pkcs11 over
// github.com/ThalesGroup/crypto11 (session pools, key pair lookup by id
// and label, key generation with CKA_SENSITIVE and not CKA_EXTRACTABLE).
//
// A process logs in to a token once: PKCS#11 keeps the login per token,
// shared by all of the process's sessions, and a second C_Login of the
// same token is answered CKR_USER_ALREADY_LOGGED_IN without checking its
// PIN (crypto11 takes that as success). The controller therefore keeps one
// context per token and logs in with the first PIN it is given; who may
// name a token at all is the Policy's decision, not the PIN's.

func init() {
	newPKCS11Backend = func(p *Policy) backend {
		return &pkcs11Backend{policy: p, tokens: map[string]*steppkcs11.PKCS11{}, refused: map[string]*Error{}}
	}
}

type pkcs11Backend struct {
	policy *Policy

	mu     sync.Mutex
	tokens map[string]*steppkcs11.PKCS11
	// refused are the PINs a token refused, by token and PIN hash: not
	// tried again until the PIN changes, so that a retried check cannot
	// lock the token.
	refused map[string]*Error
}

// tokenKey identifies uri's token: its module and label, serial or slot.
func (b *pkcs11Backend) tokenKey(uri URI) string {
	return b.policy.module(uri) + "|" + uri.Get("token") + "|" + uri.Get("serial") + "|" + uri.Get("slot-id")
}

// pin is the PIN to log in to uri's token with: from creds, else the
// controller's PIN file.
func (b *pkcs11Backend) pin(uri URI, creds *Credentials) (string, error) {
	missing := func(format string, args ...any) error {
		return backendError(ReasonCredentialsMissing, BackendPKCS11, OpPublicKey, uri, nil, format, args...)
	}
	if creds != nil {
		pin, err := creds.value(CredentialPIN)
		if err != nil {
			return "", err
		}
		if pin == "" {
			return "", missing("%s has no key %q: put the token's user PIN there", creds.Source, CredentialPIN)
		}
		return pin, nil
	}
	if b.policy.PKCS11PINFile == "" {
		return "", missing("no PIN for the token: set spec.ca.key.credentialsSecretRef to a Secret with key %q, or start the controller with --pkcs11-pin-file", CredentialPIN)
	}
	f, err := os.Open(b.policy.PKCS11PINFile)
	if err != nil {
		return "", missing("cannot read the controller's PIN file %s: %v", b.policy.PKCS11PINFile, err)
	}
	defer func() { _ = f.Close() }()
	buf := make([]byte, CredentialLimits[CredentialPIN]+1)
	n, _ := f.Read(buf)
	pin := strings.TrimSpace(string(buf[:n]))
	if n > CredentialLimits[CredentialPIN] || pin == "" {
		return "", missing("the controller's PIN file %s is empty or longer than %d bytes", b.policy.PKCS11PINFile, CredentialLimits[CredentialPIN])
	}
	return pin, nil
}

// token returns the logged-in context of uri's token.
func (b *pkcs11Backend) token(uri URI, creds *Credentials) (*steppkcs11.PKCS11, error) {
	key := b.tokenKey(uri)
	b.mu.Lock()
	defer b.mu.Unlock()
	if t, ok := b.tokens[key]; ok {
		return t, nil
	}
	pin, err := b.pin(uri, creds)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(pin))
	refusedKey := key + "|" + hex.EncodeToString(sum[:])
	if e, ok := b.refused[refusedKey]; ok {
		return nil, e
	}
	q := url.Values{}
	for _, a := range []string{"token", "serial", "slot-id"} {
		if v := uri.Get(a); v != "" {
			q.Set(a, v)
		}
	}
	stepURI := "pkcs11:" + strings.ReplaceAll(q.Encode(), "&", ";") + "?module-path=" + url.QueryEscape(b.policy.module(uri))
	t, err := steppkcs11.New(context.Background(), apiv1.Options{Type: apiv1.PKCS11, URI: stepURI, Pin: pin})
	if err != nil {
		kerr := b.classify(OpPublicKey, uri, err)
		if kerr.Reason == ReasonCredentialsRefused {
			kerr.Msg += "; the PIN is not tried again until it changes (a token locks after a few wrong PINs)"
			b.refused[refusedKey] = kerr
		}
		return nil, kerr
	}
	b.tokens[key] = t
	return t, nil
}

// forget drops uri's token context after its token failed, so that the
// next use logs in again.
func (b *pkcs11Backend) forget(uri URI) {
	key := b.tokenKey(uri)
	b.mu.Lock()
	t, ok := b.tokens[key]
	delete(b.tokens, key)
	b.mu.Unlock()
	if ok {
		_ = t.Close()
	}
}

// stepKeyName is how go.step.sm/crypto names uri's key: its id as 0x-hex
// (it reads a bare hex string as bytes, other ids as text), its label.
func stepKeyName(uri URI) string {
	q := url.Values{}
	if id := uri.Get("id"); id != "" {
		q.Set("id", "0x"+hex.EncodeToString([]byte(id)))
	}
	if o := uri.Get("object"); o != "" {
		q.Set("object", o)
	}
	return "pkcs11:" + strings.ReplaceAll(q.Encode(), "&", ";")
}

func (b *pkcs11Backend) open(_ context.Context, uri URI, creds *Credentials) (crypto.Signer, error) {
	t, err := b.token(uri, creds) //nolint:contextcheck // PKCS#11 calls take no context; the token is opened once and kept
	if err != nil {
		return nil, err
	}
	return t.CreateSigner(&apiv1.CreateSignerRequest{SigningKey: stepKeyName(uri)})
}

var labelUnsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func (b *pkcs11Backend) create(_ context.Context, location URI, spec v1alpha1.PrivateKeySpec, label Label, creds *Credentials) (URI, crypto.Signer, error) {
	req := &apiv1.CreateKeyRequest{}
	switch spec.Algorithm {
	case "", v1alpha1.ECDSAKeyAlgorithm:
		req.SignatureAlgorithm = map[int32]apiv1.SignatureAlgorithm{0: apiv1.ECDSAWithSHA256, 256: apiv1.ECDSAWithSHA256, 384: apiv1.ECDSAWithSHA384, 521: apiv1.ECDSAWithSHA512}[spec.Size]
	case v1alpha1.RSAKeyAlgorithm:
		req.SignatureAlgorithm, req.Bits = apiv1.SHA256WithRSA, int(spec.Size)
		if req.Bits == 0 {
			req.Bits = 2048
		}
	case v1alpha1.Ed25519KeyAlgorithm:
		return URI{}, nil, backendError(ReasonWrongKeyType, BackendPKCS11, OpCreateKey, location, nil,
			"nstance-issuer cannot make Ed25519 keys in a PKCS#11 token: set spec.ca.generate.privateKey to ECDSA or RSA")
	}
	t, err := b.token(location, creds) //nolint:contextcheck // PKCS#11 calls take no context; the token is opened once and kept
	if err != nil {
		return URI{}, nil, err
	}
	// A random CKA_ID names the key; its label says whose it is and when
	// it was made, for whoever lists the token.
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return URI{}, nil, err
	}
	object := "nstance-" + strings.Trim(labelUnsafe.ReplaceAllString(label.Issuer, "-"), "-") + "-" + label.Created.UTC().Format("20060102T150405Z")
	if len(object) > 64 {
		object = object[:64]
	}
	uri := location.With("id", string(id)).With("object", object)
	req.Name = stepKeyName(uri)
	if _, err := t.CreateKey(req); err != nil {
		return URI{}, nil, err
	}
	s, err := t.CreateSigner(&apiv1.CreateSignerRequest{SigningKey: req.Name})
	if err != nil {
		return URI{}, nil, err
	}
	return uri, s, nil
}

func (b *pkcs11Backend) classify(op string, uri URI, err error) *Error {
	token := uri.Get("token")
	switch {
	case token != "":
	case uri.Get("serial") != "":
		token = "of serial " + uri.Get("serial")
	default:
		token = "in slot " + uri.Get("slot-id")
	}
	detail := errorDetail(err)
	var code pkcs11.Error
	var notFound apiv1.NotFoundError
	switch {
	case errors.As(err, &code):
		switch code {
		case pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_INVALID, pkcs11.CKR_PIN_LEN_RANGE, pkcs11.CKR_PIN_EXPIRED, pkcs11.CKR_PIN_LOCKED:
			return backendError(ReasonCredentialsRefused, BackendPKCS11, op, uri, err,
				"token %s refused the PIN (%s): put the token's user PIN under key %q of the credentials Secret (or the controller's PIN file)", token, detail, CredentialPIN)
		case pkcs11.CKR_USER_NOT_LOGGED_IN, pkcs11.CKR_USER_PIN_NOT_INITIALIZED:
			return backendError(ReasonCredentialsMissing, BackendPKCS11, op, uri, err, "not logged in to token %s (%s): give its user PIN", token, detail)
		case pkcs11.CKR_KEY_FUNCTION_NOT_PERMITTED, pkcs11.CKR_KEY_TYPE_INCONSISTENT, pkcs11.CKR_MECHANISM_INVALID, pkcs11.CKR_MECHANISM_PARAM_INVALID:
			return backendError(ReasonWrongKeyType, BackendPKCS11, op, uri, err,
				"the key cannot sign certificates (%s): use an RSA or ECDSA private key with CKA_SIGN", detail)
		case pkcs11.CKR_TOKEN_NOT_PRESENT, pkcs11.CKR_DEVICE_REMOVED, pkcs11.CKR_TOKEN_NOT_RECOGNIZED, pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED, pkcs11.CKR_SESSION_HANDLE_INVALID, pkcs11.CKR_SESSION_CLOSED:
			// The token went away: log in again next time (not here,
			// where b.mu may be held).
			go b.forget(uri)
		}
		return backendError(ReasonUnavailable, BackendPKCS11, op, uri, err, "token %s failed (%s); requests wait and are retried", token, detail)
	case errors.As(err, &notFound), strings.Contains(detail, "was not found"), strings.Contains(detail, " not found"):
		// crypto11 and go.step.sm/crypto report a missing key pair in
		// words only.
		return backendError(ReasonKeyNotFound, BackendPKCS11, op, uri, err,
			"no key pair with this id and object in token %s: check the URI's id= and object= (p11tool --list-privkeys shows them)", token)
	case strings.Contains(detail, "could not find PKCS#11 token"):
		return backendError(ReasonKeyNotFound, BackendPKCS11, op, uri, err,
			"module %s has no token %s: initialise it (softhsm2-util --init-token, your HSM's tools) or fix token=, serial= or slot-id=", b.policy.module(uri), token)
	case strings.Contains(detail, "failed to open module"), strings.Contains(detail, "error initializing PKCS#11"):
		return backendError(ReasonUnavailable, BackendPKCS11, op, uri, err,
			"cannot load PKCS#11 module %s (%s): install it in the controller's image (docs/keys.md)", b.policy.module(uri), detail)
	}
	return backendError(ReasonUnavailable, BackendPKCS11, op, uri, err, "PKCS#11 %s failed on token %s (%s); retried", op, token, detail)
}
