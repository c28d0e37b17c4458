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

package carotation

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/cakey"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/keys"
)

// CA keys held in a KMS or an HSM (spec.ca.key): each next CA's key is
// made in the same place as the issuing one (cakey.Resolver.GenerateCA),
// its Secret names it by key-uri, and a promotion moves key-uri into
// spec.ca.secretName with the certificates. A previous CA's key is never
// deleted, disabled or scheduled for deletion by the issuer: that is the
// key administrator's call once its CA is retired (docs/keys.md).

// annotationRetiredKeyURI, on a retired CA's Secret, names the key that CA
// signed with, for the key administrator who disables it.
const annotationRetiredKeyURI = "issuer.nstance.dev/retired-key-uri"

// openedKey is the next CA's key of an issuer, as opened for the Secret
// version and credentials it was read with: opened once, not at every
// reconcile.
type openedKey struct {
	id     string
	signer *keys.Signer
}

// readSecret reads a Secret from the API server, for the credentials of
// a CA key.
func (r *Reconciler) readSecret(ctx context.Context, key types.NamespacedName) (*corev1.Secret, error) {
	return r.getSecret(ctx, key)
}

// openKey opens the key of the next CA Secret s of v, reusing the one
// opened for the same Secret version, key and credentials.
func (r *Reconciler) openKey(ctx context.Context, v issuer.View, s *corev1.Secret, uri keys.URI) (*keys.Signer, error) {
	creds, err := cakey.Credentials(ctx, v, r.readSecret)
	if err != nil {
		return nil, err
	}
	credsID := "ambient"
	if creds != nil {
		credsID = creds.Source
		if nn, ok := cakey.CredentialsKey(v); ok {
			if cs, err := r.getSecret(ctx, nn); err == nil && cs != nil {
				credsID += "@" + cs.ResourceVersion
			}
		}
	}
	id := fmt.Sprintf("%s|%s|%s|%s", s.UID, s.ResourceVersion, uri, credsID)
	r.keysMu.Lock()
	if k, ok := r.openedKeys[v.Ref]; ok && k.id == id {
		r.keysMu.Unlock()
		return k.signer, nil
	}
	r.keysMu.Unlock()
	signer, err := r.CAKeys.Keys.Open(ctx, cakey.Scope(v), uri, creds)
	if err != nil {
		return nil, err
	}
	r.keysMu.Lock()
	if r.openedKeys == nil {
		r.openedKeys = map[issuer.Ref]openedKey{}
	}
	r.openedKeys[v.Ref] = openedKey{id: id, signer: signer}
	r.keysMu.Unlock()
	return signer, nil
}

func (r *Reconciler) forgetOpenedKey(ref issuer.Ref) {
	r.keysMu.Lock()
	delete(r.openedKeys, ref)
	r.keysMu.Unlock()
}

// generateExternal makes the next CA of v with a new key in the KMS or
// HSM of spec.ca.key: its certificate and the key's URI.
func (r *Reconciler) generateExternal(v issuer.View, now time.Time) ([]byte, []byte, error) {
	if r.CAKeys == nil {
		return nil, nil, fmt.Errorf("cannot generate the next CA of %s: this controller was set up without CA keys in KMS or HSM", v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g, err := r.CAKeys.GenerateCA(ctx, v, r.readSecret, false, now, r.rand())
	if g.Created {
		r.Recorder.Eventf(v.Obj, nil, corev1.EventTypeNormal, v1alpha1.EventReasonCAKeyCreated, eventActionRotate,
			"Made the next CA key %s; nstance-issuer never deletes it", g.Key)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("cannot generate the next CA of %s: %w", v, err)
	}
	return g.CertPEM, []byte(g.Key.String()), nil
}
