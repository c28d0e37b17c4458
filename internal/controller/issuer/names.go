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

package issuer

import (
	"crypto/sha256"
	"encoding/hex"

	corev1 "k8s.io/api/core/v1"
)

// FieldOwner is the server-side-apply field manager of issuer-lib's status
// patches and the name Events are reported by.
const FieldOwner = "nstance-issuer"

// ManagedByLabel, with ManagedByValue, marks what the controllers create:
// generated CA Secrets, generation Secrets and trust bundles. Like any
// label it proves nothing about who wrote an object.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "nstance-issuer"
)

// The keys of a CA Secret: the CA certificate and its chain, its private
// key, and the root; for a CA whose key is held in a KMS or an HSM
// (spec.ca.key), no private key but the URI of that key.
const (
	SecretKeyTLSCert = corev1.TLSCertKey
	SecretKeyTLSKey  = corev1.TLSPrivateKeyKey
	SecretKeyCA      = "ca.crt"
	SecretKeyKeyURI  = "key-uri"
)

// AnnotationGenerations, on spec.ca.secretName, is the CA lifecycle's
// generation record (rotation.Record as JSON; internal/controller/carotation).
// A CA Secret that spec.ca.generate creates starts with an empty one.
const AnnotationGenerations = "issuer.nstance.dev/generations"

// Signer names of Kubernetes CSRs, PodCertificateRequests and
// ClusterTrustBundles: ClusterIssuerSignerPrefix<name> for an
// NstanceClusterIssuer. NamespacedSignerPrefix<namespace>.<name> would be an
// NstanceIssuer's, which no cluster-scoped request can use: requests that
// name one are refused with ReasonNamespacedIssuerNotSupported.
const (
	ClusterIssuerSignerPrefix = "nstanceclusterissuers.issuer.nstance.dev/"
	NamespacedSignerPrefix    = "nstanceissuers.issuer.nstance.dev/"
)

// ReasonNamespacedIssuerNotSupported is the reason of the Event on a request
// (a Kubernetes CSR or a PodCertificateRequest) whose signer names an
// NstanceIssuer.
const ReasonNamespacedIssuerNotSupported = "NamespacedIssuerNotSupported"

// EventActionSign is the action of the Events about signing a request.
const EventActionSign = "Sign"

// SecretWriteScopeHint says how an operator grants the manager Secret
// writes in a namespace when the chart scopes them.
const SecretWriteScopeHint = "the manager may not write Secrets there: when its Secret writes are scoped, add the namespace to the Helm value rbac.secretWriteNamespaces " +
	"(with kustomize's config/scoped, bind the secret-writer ClusterRole to the manager's ServiceAccount in that namespace)"

// ShortHash is 16 hex digits of the SHA-256 of s, for label values and
// names derived from longer strings.
func ShortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:16]
}
