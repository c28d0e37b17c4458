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

// Package cakey is the Kubernetes side of CA keys held in a KMS or an HSM
// (spec.ca.key): which key a CA Secret's CA signs with, the credentials
// Secret an issuer names (in its own namespace, never another), who the
// issuer is for the operator's key policy, and making a CA whose key is
// made there. internal/keys does the rest; signing opens keys through it,
// carotation makes the next ones.
package cakey

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/keys"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
)

// ReadSecret reads a Secret for an issuer: nil and no error when it does
// not exist. The signer reads through its narrow Secret watch, the CA
// lifecycle from the API server.
type ReadSecret func(ctx context.Context, key types.NamespacedName) (*corev1.Secret, error)

// Resolver opens and makes the CA keys of issuers.
type Resolver struct {
	Keys *keys.Keys
}

// Uses reports whether v's CA key is held in a KMS or an HSM.
func Uses(v issuer.View) bool { return v.Spec.CA.Key != nil }

// Scope is who v is, for the keys Policy: a namespaced issuer's namespace.
func Scope(v issuer.View) keys.Scope {
	if v.Ref.Kind == issuer.KindIssuer {
		return keys.Scope{Namespace: v.Ref.Namespace, Issuer: v.String()}
	}
	return keys.Scope{Issuer: v.String()}
}

// SpecURI parses spec.ca.key.uri.
func SpecURI(v issuer.View) (keys.URI, error) {
	if v.Spec.CA.Key == nil {
		return keys.URI{}, fmt.Errorf("%s has no spec.ca.key", v)
	}
	u, err := keys.ParseURI(v.Spec.CA.Key.URI)
	if err != nil {
		return keys.URI{}, fmt.Errorf("spec.ca.key.uri of %s: %w", v, err)
	}
	return u, nil
}

// KeyURI is the key the CA in secret signs with: the Secret's key-uri (a
// generated or rotated CA names its own key), else spec.ca.key.uri's key.
// It is in spec.ca.key's backend, whose credentials the issuer holds.
func KeyURI(v issuer.View, secret *corev1.Secret) (keys.URI, error) {
	spec, err := SpecURI(v)
	if err != nil {
		return keys.URI{}, err
	}
	where := fmt.Sprintf("Secret %s/%s", secret.Namespace, secret.Name)
	if raw, ok := secret.Data[issuer.SecretKeyKeyURI]; ok {
		u, err := keys.ParseURI(strings.TrimSpace(string(raw)))
		if err != nil {
			return keys.URI{}, fmt.Errorf("%s of %s: %w", issuer.SecretKeyKeyURI, where, err)
		}
		if u.Backend() != spec.Backend() {
			return keys.URI{}, &keys.Error{Reason: keys.ReasonInvalidURI, Backend: u.Backend(), URI: u.String(),
				Msg: fmt.Sprintf("%s of %s names a %s key but spec.ca.key.uri is %s: the issuer's credentials are for %s keys", issuer.SecretKeyKeyURI, where, u.Backend(), spec.Backend(), spec.Backend())}
		}
		return u, nil
	}
	if !spec.NamesKey() {
		return keys.URI{}, &keys.Error{Reason: keys.ReasonInvalidURI, Backend: spec.Backend(), URI: spec.String(),
			Msg: fmt.Sprintf("%s has no %s and spec.ca.key.uri names no key, only where keys are made: name the CA's key in spec.ca.key.uri or put its URI under %s of the Secret", where, issuer.SecretKeyKeyURI, issuer.SecretKeyKeyURI)}
	}
	return spec, nil
}

// CredentialsKey is the Secret holding v's credentials: in v's own
// namespace (an NstanceClusterIssuer's: the cluster resource namespace),
// never another; ok false when v names none.
func CredentialsKey(v issuer.View) (types.NamespacedName, bool) {
	if v.Spec.CA.Key == nil || v.Spec.CA.Key.CredentialsSecretRef == nil {
		return types.NamespacedName{}, false
	}
	return types.NamespacedName{Namespace: v.SecretKey.Namespace, Name: v.Spec.CA.Key.CredentialsSecretRef.Name}, true
}

// Credentials reads v's credentials with read: nil for the controller's
// own identity when v names no Secret.
func Credentials(ctx context.Context, v issuer.View, read ReadSecret) (*keys.Credentials, error) {
	key, ok := CredentialsKey(v)
	if !ok {
		return nil, nil
	}
	s, err := read(ctx, key)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, &keys.Error{Reason: keys.ReasonCredentialsMissing, Backend: backendOf(v), URI: v.Spec.CA.Key.URI,
			Msg: fmt.Sprintf("credentials Secret %s not found (spec.ca.key.credentialsSecretRef): create it with %s and %s (AWS KMS) or %s (PKCS#11)",
				key, keys.CredentialAWSAccessKeyID, keys.CredentialAWSSecretAccessKey, keys.CredentialPIN)}
	}
	return &keys.Credentials{Source: "Secret " + key.String(), Data: s.Data}, nil
}

func backendOf(v issuer.View) string {
	scheme, _, _ := strings.Cut(v.Spec.CA.Key.URI, ":")
	return scheme
}

// Open opens the key uri names for v, with v's credentials.
func (r *Resolver) Open(ctx context.Context, v issuer.View, uri keys.URI, read ReadSecret) (*keys.Signer, error) {
	creds, err := Credentials(ctx, v, read)
	if err != nil {
		return nil, err
	}
	return r.Keys.Open(ctx, Scope(v), uri, creds)
}

// Create makes a new CA key for v where spec.ca.key.uri says keys live,
// per spec.ca.generate.privateKey.
func (r *Resolver) Create(ctx context.Context, v issuer.View, read ReadSecret, now time.Time) (*keys.Signer, error) {
	spec, err := SpecURI(v)
	if err != nil {
		return nil, err
	}
	creds, err := Credentials(ctx, v, read)
	if err != nil {
		return nil, err
	}
	var keySpec v1alpha1.PrivateKeySpec
	if v.Spec.CA.Generate != nil {
		keySpec = v.Spec.CA.Generate.PrivateKey
	}
	return r.Keys.Create(ctx, Scope(v), spec.Location(), keySpec, keys.Label{Issuer: v.String(), Created: now}, creds)
}

// Generated is a self-signed CA whose key is held in a KMS or an HSM.
type Generated struct {
	// CertPEM is the CA certificate.
	CertPEM []byte
	// Key names its key.
	Key keys.URI
	// Created is true when the key was made for it, false when it is the
	// key spec.ca.key.uri names.
	Created bool
}

// Data is what the CA Secret holds of it: the certificate as tls.crt and
// ca.crt, and key-uri.
func (g Generated) Data() map[string][]byte {
	return map[string][]byte{
		issuer.SecretKeyTLSCert: g.CertPEM, issuer.SecretKeyCA: g.CertPEM,
		issuer.SecretKeyKeyURI: []byte(g.Key.String()),
	}
}

// GenerateCA makes v's self-signed CA from spec.ca.generate with a key in
// the KMS or HSM: the key spec.ca.key.uri names when it names one and
// first is set (the issuer's first CA), else a new one.
func (r *Resolver) GenerateCA(ctx context.Context, v issuer.View, read ReadSecret, first bool, now time.Time, rand io.Reader) (Generated, error) {
	if v.Spec.CA.Generate == nil {
		return Generated{}, fmt.Errorf("%s has no spec.ca.generate", v)
	}
	spec, err := SpecURI(v)
	if err != nil {
		return Generated{}, err
	}
	var signer *keys.Signer
	created := false
	if first && spec.NamesKey() {
		signer, err = r.Open(ctx, v, spec, read)
	} else {
		signer, err = r.Create(ctx, v, read, now)
		created = err == nil
	}
	if err != nil {
		return Generated{}, err
	}
	certPEM, err := pki.GenerateCAWithSigner(*v.Spec.CA.Generate, pki.RenderData{Vars: v.Spec.Vars, Issuer: v.Data}, signer, now, rand)
	if err != nil {
		return Generated{Key: signer.URI(), Created: created}, err
	}
	return Generated{CertPEM: certPEM, Key: signer.URI(), Created: created}, nil
}

// Status is what status.ca.key shows of signer.
func Status(signer *keys.Signer) *v1alpha1.CAKeyStatus {
	return &v1alpha1.CAKeyStatus{URI: signer.URI().String(), Backend: signer.URI().Backend(), PublicKeySHA256: pki.PublicKeyFingerprint(signer.Public())}
}
