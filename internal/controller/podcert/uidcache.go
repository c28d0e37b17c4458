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

package podcert

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The pod identity check reads the Pod live on every request (its phase,
// node binding and UID change; caching every Pod would grow with the
// cluster), and the ServiceAccount and Node from the manager's
// metadata-only cache when it holds the UID the request names: a UID
// changes only when the object is deleted and created again under the
// same name. A cache that lacks the name, or holds another UID, is never
// trusted to refuse: the object is then read live, so a Node or
// ServiceAccount too new for the cache is found and a re-created one is
// refused by the live read.
//
// What a stale cache could let through: for as long as the watch takes to
// deliver a deletion (milliseconds to seconds), a request naming the UID
// the ServiceAccount or Node had before it was deleted and created again.
// The Pod is still read live, so such a request is for a pod that exists
// now, with the UID it names, bound to that node name and service account
// name (both immutable in a bound pod): the certificate could carry the
// previous incarnation's UID of a name the pod is bound to, never another
// pod's or a gone pod's identity. A Node or ServiceAccount being deleted
// sets deletionTimestamp first when it has finalizers; a cached entry with
// one is not trusted either.

// uidCacheTimeout bounds a cache read: a cache that cannot sync (the
// controller lacks list/watch) makes the check read live instead of wait.
const uidCacheTimeout = 2 * time.Second

// IdentityCache is the manager's cache option for ServiceAccounts and
// Nodes: read as metadata only, slimmed by SlimIdentity.
func IdentityCache() map[client.Object]cache.ByObject {
	return map[client.Object]cache.ByObject{
		&corev1.ServiceAccount{}: {Transform: SlimIdentity()},
		&corev1.Node{}:           {Transform: SlimIdentity()},
	}
}

// SlimIdentity keeps of a cached ServiceAccount or Node what the pod
// identity check compares: name, namespace, UID, resourceVersion and
// deletionTimestamp (a few hundred bytes an object, whatever its labels
// and annotations).
func SlimIdentity() toolscache.TransformFunc {
	return func(in any) (any, error) {
		slim := func(m metav1.ObjectMeta) metav1.ObjectMeta {
			return metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion, DeletionTimestamp: m.DeletionTimestamp}
		}
		switch o := in.(type) {
		case *metav1.PartialObjectMetadata:
			return &metav1.PartialObjectMetadata{TypeMeta: o.TypeMeta, ObjectMeta: slim(o.ObjectMeta)}, nil
		case *corev1.ServiceAccount:
			return &corev1.ServiceAccount{TypeMeta: o.TypeMeta, ObjectMeta: slim(o.ObjectMeta)}, nil
		case *corev1.Node:
			return &corev1.Node{TypeMeta: o.TypeMeta, ObjectMeta: slim(o.ObjectMeta)}, nil
		}
		return in, nil
	}
}

// cachedUIDIs tells whether the cache holds object key of kind (core/v1)
// with UID uid and no deletionTimestamp; false on any doubt (no cache, not
// cached, another UID, a read error).
func cachedUIDIs(ctx context.Context, c client.Reader, kind string, key types.NamespacedName, uid string) bool {
	if c == nil || uid == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, uidCacheTimeout)
	defer cancel()
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(kind))
	if err := c.Get(ctx, key, obj); err != nil {
		return false
	}
	return string(obj.UID) == uid && obj.DeletionTimestamp == nil
}
