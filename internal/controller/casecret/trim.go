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

package casecret

import (
	"fmt"
	"maps"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/keys"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
)

// The Watcher keeps a CA Secret in memory for as long as an issuer
// names it, and a Secret is written by whoever may write Secrets in its
// namespace: up to about 1 MiB of data each, in any keys. Before a Secret
// enters an informer's store it is trimmed to what the signer reads —
// tls.crt, tls.key and ca.crt, within the sizes pki.LoadCA accepts, the
// key-uri of a CA whose key is in a KMS or an HSM, and the credentials
// such a key is used with (keys.CredentialLimits) — and
// its metadata to what identifies it (no labels, annotations or managed
// fields: the signer reads none of them). A value over its size limit is not
// kept: its size is, under a key no Secret can have (a Secret's data keys
// never contain "/"), and the signer reports it as pki.LoadCA would.
const tooLargePrefix = "too-large/"

// caSecretLimits are the data keys kept and the largest value of each.
var caSecretLimits = func() map[string]int {
	m := map[string]int{
		issuer.SecretKeyTLSCert: pki.MaxCertChainPEMSize,
		issuer.SecretKeyTLSKey:  pki.MaxPrivateKeyPEMSize,
		issuer.SecretKeyCA:      pki.MaxCertChainPEMSize,
		issuer.SecretKeyKeyURI:  keys.MaxURILength,
	}
	maps.Copy(m, keys.CredentialLimits)
	return m
}()

// trimCASecret is the Watcher's informer transform. Objects other
// than Secrets (a DeletedFinalStateUnknown tombstone) pass unchanged; a
// trimmed Secret trims to itself (client-go may transform an object twice).
func trimCASecret(obj any) (any, error) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return obj, nil
	}
	out := &corev1.Secret{
		TypeMeta: s.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: s.Name, Namespace: s.Namespace, UID: s.UID, ResourceVersion: s.ResourceVersion,
			Generation: s.Generation, CreationTimestamp: s.CreationTimestamp, DeletionTimestamp: s.DeletionTimestamp,
		},
		Type: s.Type,
	}
	data := map[string][]byte{}
	for k, limit := range caSecretLimits {
		// The informer may pass an object through again: a marker stays.
		if size, ok := s.Data[tooLargePrefix+k]; ok {
			data[tooLargePrefix+k] = size
			continue
		}
		val, ok := s.Data[k]
		if !ok {
			continue
		}
		if len(val) > limit {
			data[tooLargePrefix+k] = []byte(strconv.Itoa(len(val)))
			continue
		}
		data[k] = val
	}
	if len(data) > 0 {
		out.Data = data
	}
	return out, nil
}

// OversizedError is the error pki.LoadCA gives for a value trimCASecret
// dropped as too large, nil when none was.
func OversizedError(s *corev1.Secret) error {
	for _, k := range []string{issuer.SecretKeyTLSCert, issuer.SecretKeyTLSKey, issuer.SecretKeyCA, issuer.SecretKeyKeyURI} {
		size, ok := s.Data[tooLargePrefix+k]
		if !ok {
			continue
		}
		what := "keep only the CA certificate and its chain"
		switch k {
		case issuer.SecretKeyTLSKey:
			what = "keep only the CA private key"
		case issuer.SecretKeyCA:
			what = "keep only the root certificate"
		case issuer.SecretKeyKeyURI:
			what = "it must hold a key URI only"
		}
		return &pki.CAError{Reason: pki.ReasonTooLarge, Msg: fmt.Sprintf("%s is %s bytes, more than the %d allowed; %s", k, size, caSecretLimits[k], what)}
	}
	return nil
}
