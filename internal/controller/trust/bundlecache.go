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

package trust

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
)

// The manager caches the published ConfigMap bundles, and nothing else of
// ConfigMaps: the objects carrying the trust-of label (BundleCache), slimmed
// to what Publish compares (SlimBundle). With the cache, a reconcile
// writes only the bundles that differ from what it would write (none at
// steady state) and reads live only the names the cache lacks: a new
// namespace, or a ConfigMap of the bundle's name that the issuer did not
// publish.
//
// Anyone who can create a ConfigMap can set the label, so what the cache
// keeps per object is bounded whatever a tenant writes: name, namespace,
// UID, resourceVersion, the trust-of and managed-by labels, the issuer
// annotation, the owner references to issuers (at most maxCachedOwners),
// and the SHA-256 of ca.crt in place of the data. A write decided from
// the cache carries the cached UID as a precondition, so a stale entry
// (the bundle deleted and a tenant's ConfigMap created under its name)
// makes the API server refuse the write rather than overwrite the tenant's.

// cachedDigestKey holds, in a cached bundle's Data, the SHA-256 of its
// ca.crt; the cache keeps no other data.
const cachedDigestKey = "ca.crt.sha256"

// maxCachedOwners bounds the owner references kept of a cached bundle.
const maxCachedOwners = 4

// BundleCache is the manager's cache option for ConfigMaps: only the ones
// with the trust-of label, slimmed by SlimBundle.
func BundleCache() (cache.ByObject, error) {
	req, err := labels.NewRequirement(trustOfLabel, selection.Exists, nil)
	if err != nil {
		return cache.ByObject{}, fmt.Errorf("cannot select the trust bundle ConfigMaps: %w", err)
	}
	return cache.ByObject{Label: labels.NewSelector().Add(*req), Transform: SlimBundle()}, nil
}

// SlimBundle is the cache transform of ConfigMap bundles (see BundleCache).
func SlimBundle() toolscache.TransformFunc {
	return func(in any) (any, error) {
		cm, ok := in.(*corev1.ConfigMap)
		if !ok {
			return in, nil
		}
		slim := &corev1.ConfigMap{
			TypeMeta: cm.TypeMeta,
			ObjectMeta: metav1.ObjectMeta{
				Name: cm.Name, Namespace: cm.Namespace, UID: cm.UID, ResourceVersion: cm.ResourceVersion,
				DeletionTimestamp: cm.DeletionTimestamp,
				Labels:            keep(cm.Labels, trustOfLabel, issuer.ManagedByLabel),
				Annotations:       keep(cm.Annotations, trustIssuerAnnot),
			},
		}
		for _, o := range cm.OwnerReferences {
			if len(slim.OwnerReferences) == maxCachedOwners {
				break
			}
			if o.Kind == issuer.KindIssuer || o.Kind == issuer.KindClusterIssuer {
				slim.OwnerReferences = append(slim.OwnerReferences, o)
			}
		}
		if data, ok := cm.Data[issuer.SecretKeyCA]; ok {
			slim.Data = map[string]string{cachedDigestKey: digest(data)}
		}
		return slim, nil
	}
}

func keep(m map[string]string, keys ...string) map[string]string {
	var out map[string]string
	for _, k := range keys {
		if v, ok := m[k]; ok {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// upToDate tells whether cached, a slimmed bundle of the issuer, already
// holds what applying want (the bundle Publish would apply) would write:
// the same ca.crt, and its labels, annotation and owner reference among
// the cached ones (what other field managers add is theirs, not a
// difference).
func upToDate(cached, want *corev1.ConfigMap) bool {
	if cached.DeletionTimestamp != nil || cached.Data[cachedDigestKey] != digest(want.Data[issuer.SecretKeyCA]) {
		return false
	}
	return holds(cached.Labels, want.Labels) && holds(cached.Annotations, want.Annotations) &&
		holdsOwners(cached.OwnerReferences, want.OwnerReferences)
}

func holds(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func holdsOwners(have, want []metav1.OwnerReference) bool {
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h metav1.OwnerReference) bool { return reflect.DeepEqual(h, w) }) {
			return false
		}
	}
	return true
}
