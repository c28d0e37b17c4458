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

// Package keys opens and makes CA keys held outside Kubernetes, in AWS KMS
// or a PKCS#11 token (an HSM, SoftHSM), named by URI, and hands them to
// the PKI core as crypto.Signers. It knows nothing of Kubernetes: the
// controllers read the credentials Secret and say who asks (Scope); the
// operator's Policy decides whether they may.
//
// AWS KMS is always compiled in (pure Go, aws-sdk-go-v2). PKCS#11 needs
// cgo and the build tag pkcs11 (go.step.sm/crypto/kms/pkcs11 over
// github.com/ThalesGroup/crypto11): the default binary stays static, and
// a URI naming a PKCS#11 key reports ReasonNotCompiled there.
package keys

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
)

// The keys of a credentials Secret.
const (
	// CredentialAWSAccessKeyID, CredentialAWSSecretAccessKey and
	// CredentialAWSSessionToken (optional) are AWS credentials, named as
	// the AWS CLI's environment variables (and aws-privateca-issuer's
	// Secret).
	CredentialAWSAccessKeyID     = "AWS_ACCESS_KEY_ID"     //nolint:gosec // G101: the name of a Secret key, not a credential
	CredentialAWSSecretAccessKey = "AWS_SECRET_ACCESS_KEY" //nolint:gosec // G101: the name of a Secret key, not a credential
	CredentialAWSSessionToken    = "AWS_SESSION_TOKEN"     //nolint:gosec // G101: the name of a Secret key, not a credential
	// CredentialPIN is the user PIN of a PKCS#11 token.
	CredentialPIN = "pin"
)

// CredentialLimits are the keys of a credentials Secret and the largest
// value of each that is read (an AWS session token can be a few KiB).
var CredentialLimits = map[string]int{
	CredentialAWSAccessKeyID:     128,
	CredentialAWSSecretAccessKey: 128,
	CredentialAWSSessionToken:    8192,
	CredentialPIN:                256,
}

// DefaultTimeout bounds one call to a backend (the AWS SDK's retries
// included).
const DefaultTimeout = 10 * time.Second

// Credentials are what an issuer logs in to a backend with, from a Secret
// of its own namespace. A nil *Credentials means the controller's own
// identity (its ServiceAccount's cloud identity, the operator's PIN file).
type Credentials struct {
	// Source names the Secret in messages ("Secret team-a/kms").
	Source string
	// Data are the Secret's values (only CredentialLimits' keys are read).
	Data map[string][]byte
}

// fingerprint identifies the credentials' content in cache keys, without
// keeping the secret: "ambient" for the controller's own identity.
func (c *Credentials) fingerprint() string {
	if c == nil {
		return "ambient"
	}
	h := sha256.New()
	names := make([]string, 0, len(CredentialLimits))
	for k := range CredentialLimits {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		_, _ = fmt.Fprintf(h, "%s=%d:", k, len(c.Data[k]))
		_, _ = h.Write(c.Data[k])
	}
	return c.Source + "#" + hex.EncodeToString(h.Sum(nil))[:16]
}

// value returns one credential, bounded by CredentialLimits.
func (c *Credentials) value(name string) (string, error) {
	v := strings.TrimSpace(string(c.Data[name]))
	if limit := CredentialLimits[name]; len(v) > limit {
		return "", &Error{Reason: ReasonCredentialsRefused, Msg: fmt.Sprintf("%s of %s is %d bytes, more than the %d allowed", name, c.Source, len(v), limit)}
	}
	return v, nil
}

// Label describes a key this issuer makes, for whoever lists the keys of
// the KMS or the token: the issuer it is for and when it was made.
type Label struct {
	// Issuer is the issuer's kind and name: "NstanceClusterIssuer ca",
	// "NstanceIssuer team-a/web".
	Issuer string
	// Created is when the key was made.
	Created time.Time
}

// backend is one kind of key store.
type backend interface {
	// open returns the key uri names, its public key read once.
	open(ctx context.Context, uri URI, creds *Credentials) (crypto.Signer, error)
	// create makes a key per spec in location and returns its URI.
	create(ctx context.Context, location URI, spec v1alpha1.PrivateKeySpec, label Label, creds *Credentials) (URI, crypto.Signer, error)
	// classify turns a backend failure of op into an *Error.
	classify(op string, uri URI, err error) *Error
}

// newPKCS11Backend is set by the pkcs11 build (pkcs11.go); nil otherwise.
var newPKCS11Backend func(p *Policy) backend

// PKCS11Compiled reports whether this binary can use PKCS#11 keys.
func PKCS11Compiled() bool { return newPKCS11Backend != nil }

// Keys opens and makes CA keys in every backend compiled in, under the
// operator's Policy. It keeps what is costly to set up (AWS clients, one
// PKCS#11 login per token), never a key's public key beyond the Signer it
// returns: callers keep the Signer as long as the CA it signs for.
type Keys struct {
	Policy Policy
	// Timeout bounds one backend call (0: DefaultTimeout).
	Timeout time.Duration

	backends map[string]backend
}

// New returns Keys for policy.
func New(policy Policy) *Keys {
	k := &Keys{Policy: policy, backends: map[string]backend{}}
	k.backends[BackendAWSKMS] = newAWSBackend(&k.Policy, k.timeout)
	if newPKCS11Backend != nil {
		k.backends[BackendPKCS11] = newPKCS11Backend(&k.Policy)
	}
	return k
}

func (k *Keys) timeout() time.Duration {
	if k.Timeout <= 0 {
		return DefaultTimeout
	}
	return k.Timeout
}

func (k *Keys) backend(uri URI) (backend, error) {
	b, ok := k.backends[uri.Backend()]
	if !ok {
		return nil, &Error{Reason: ReasonNotCompiled, Backend: uri.Backend(), URI: uri.String(),
			Msg: "this nstance-issuer binary was built without PKCS#11 support: run the -pkcs11 image (built with the pkcs11 build tag and cgo), see docs/keys.md"}
	}
	return b, nil
}

// Open returns the signer of the key uri names, for scope, with creds
// (nil: the controller's identity). The key's public key is read here,
// once: the caller checks it against the CA certificate and keeps the
// Signer. Every error is an *Error.
func (k *Keys) Open(ctx context.Context, scope Scope, uri URI, creds *Credentials) (*Signer, error) {
	if !uri.NamesKey() {
		return nil, &Error{Reason: ReasonInvalidURI, Backend: uri.Backend(), URI: uri.String(),
			Msg: "the URI says where keys live but names no key: add key-id= (AWS KMS) or id=/object= (PKCS#11)"}
	}
	if err := k.Policy.Authorize(scope, uri, creds != nil); err != nil {
		return nil, err
	}
	b, err := k.backend(uri)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, k.timeout())
	defer cancel()
	start := time.Now()
	s, err := b.open(ctx, uri, creds)
	if err != nil {
		kerr := classified(b, OpPublicKey, uri, err)
		observe(uri.Backend(), OpPublicKey, start, kerr)
		return nil, kerr
	}
	observe(uri.Backend(), OpPublicKey, start, nil)
	return newSigner(b, uri, s), nil
}

// Create makes a new key per spec where location says (a URI naming no
// key), for scope, with creds, labelled with label, and returns its
// signer: Signer.URI names it. Nothing ever deletes it.
func (k *Keys) Create(ctx context.Context, scope Scope, location URI, spec v1alpha1.PrivateKeySpec, label Label, creds *Credentials) (*Signer, error) {
	if location.NamesKey() {
		return nil, &Error{Reason: ReasonInvalidURI, Backend: location.Backend(), URI: location.String(),
			Msg: "to make a new key the URI must say only where keys live: drop key-id= (AWS KMS) or id= and object= (PKCS#11)"}
	}
	if err := pki.CheckKeySpec(spec); err != nil {
		return nil, err
	}
	if err := k.Policy.Authorize(scope, location, creds != nil); err != nil {
		return nil, err
	}
	b, err := k.backend(location)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, k.timeout())
	defer cancel()
	start := time.Now()
	uri, s, err := b.create(ctx, location, spec, label, creds)
	if err != nil {
		kerr := classified(b, OpCreateKey, location, err)
		observe(location.Backend(), OpCreateKey, start, kerr)
		return nil, kerr
	}
	observe(location.Backend(), OpCreateKey, start, nil)
	return newSigner(b, uri, s), nil
}

// classified is err as an *Error: itself when it is one already, with
// the key and operation filled in.
func classified(b backend, op string, uri URI, err error) *Error {
	var kerr *Error
	if !errors.As(err, &kerr) {
		return b.classify(op, uri, err)
	}
	if kerr.URI == "" || kerr.Op == "" {
		e := *kerr
		if e.URI == "" {
			e.Backend, e.URI = uri.Backend(), uri.String()
		}
		if e.Op == "" {
			e.Op = op
		}
		return &e
	}
	return kerr
}

// Signer is a CA key held in a backend: a crypto.Signer whose signatures
// are timed and counted per backend and whose failures are *Errors.
type Signer struct {
	b     backend
	uri   URI
	inner crypto.Signer
	pub   crypto.PublicKey
}

func newSigner(b backend, uri URI, inner crypto.Signer) *Signer {
	return &Signer{b: b, uri: uri, inner: inner, pub: inner.Public()}
}

// URI names the key.
func (s *Signer) URI() URI { return s.uri }

// Public returns the key's public key, as read when it was opened.
func (s *Signer) Public() crypto.PublicKey { return s.pub }

// Sign signs digest with the key in its backend.
func (s *Signer) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	start := time.Now()
	sig, err := s.inner.Sign(rand, digest, opts)
	if err != nil {
		kerr := classified(s.b, OpSign, s.uri, err)
		observe(s.uri.Backend(), OpSign, start, kerr)
		return nil, kerr
	}
	observe(s.uri.Backend(), OpSign, start, nil)
	return sig, nil
}
