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

package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// Which Secrets the rotation trusts and writes. Secrets in the issuer's
// namespace may be made by anyone allowed to create Secrets there, and a
// spec may be written by anyone allowed to edit issuers, so:
//
//   - a generation Secret (<secretName>-next, <secretName>-retired-*) counts
//     only when it carries the managed-by label and an owner reference to
//     this issuer's UID (the controller sets it as the controlling owner);
//     a look-alike Secret someone else made is ignored: its root is never
//     published as trusted, its content never read;
//   - the retired Secrets are listed as metadata only, in pages, and at most
//     maxRetiredGenerations of them are read; the rest are reported;
//   - a new CA is generated (rotate-now, scheduled renewal) only into a CA
//     Secret that spec.ca.generate created for this issuer (its
//     generated-for annotation names it); any other CA Secret is used
//     read-only.
const (
	// maxRetiredGenerations bounds the retired CA Secrets read per
	// reconcile. Each rotation makes one and it goes when the last
	// certificate its CA signed expires, so more means rotations faster
	// than leaf lifetimes, or Secrets made by someone else.
	maxRetiredGenerations = 16
	// retiredListPage is the page size of the metadata list.
	// Metadata alone may carry 256 KiB of annotations per Secret, so a
	// page is kept small.
	retiredListPage = 25
)

// controllerRef makes generation Secrets go with the issuer, and marks
// them as the controller's own.
func controllerRef(v issuerView) metav1.OwnerReference {
	ref := ownerRef(v)
	ref.Controller = new(true)
	return ref
}

// ownedByIssuer reports whether obj is a generation Secret of v's: the
// managed-by label and an owner reference to v's UID. Secrets written
// before the controller flag was set carry the same reference without it
// and are accepted too: the UID is what ties them to this issuer.
func ownedByIssuer(obj metav1.Object, v issuerView) bool {
	if obj.GetLabels()[managedByLabel] != managedByValue || v.obj.GetUID() == "" {
		return false
	}
	return slices.ContainsFunc(obj.GetOwnerReferences(), func(o metav1.OwnerReference) bool {
		return o.UID == v.obj.GetUID() && o.Kind == v.ref.Kind && o.APIVersion == v1alpha1.GroupVersion.String()
	})
}

// generatedFor reports whether spec.ca.generate created s for v.
func generatedFor(s *corev1.Secret, v issuerView) bool {
	return s != nil && s.Annotations[v1alpha1.GeneratedForAnnotation] == v.String()
}

// generateRefused says why v may not generate into its CA Secret s, ""
// when it may (or does not ask to).
func generateRefused(s *corev1.Secret, v issuerView) string {
	if v.spec.CA.Generate == nil || generatedFor(s, v) {
		return ""
	}
	return fmt.Sprintf("the CA Secret %s/%s was not generated for %s (its annotation %s does not name it), so the issuer does not write a new CA into it; "+
		"bring the next CA in the Secret named by spec.ca.rotation.nextSecretName, or delete the Secret (spec.ca.generate then creates a new one), "+
		"or, if it is meant for this issuer, annotate it %s=%q",
		s.Namespace, s.Name, v, v1alpha1.GeneratedForAnnotation, v1alpha1.GeneratedForAnnotation, v.String())
}

// retiredCandidates lists, as metadata only, the retired CA Secrets of v's
// CA Secret that this issuer owns, latest retiring first, at most
// maxRetiredGenerations; ignored is how many more it owns.
func (r *RotationReconciler) retiredCandidates(ctx context.Context, v issuerView) (keep []types.NamespacedName, ignored int, err error) {
	type candidate struct {
		key   types.NamespacedName
		until time.Time
	}
	var found []candidate
	opts := []client.ListOption{
		client.InNamespace(v.secretKey.Namespace),
		client.MatchingLabels{labelRetiredFrom: secretLabelValue(v.spec.CA.SecretName)},
		client.Limit(retiredListPage),
	}
	for cont := ""; ; {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
		if err := r.Reader.List(ctx, list, append(opts, client.Continue(cont))...); err != nil {
			return nil, 0, fmt.Errorf("cannot list the retired CA Secrets in %s: %w", v.secretKey.Namespace, err)
		}
		for i := range list.Items {
			m := &list.Items[i]
			if m.Annotations[annotationCASecret] != v.spec.CA.SecretName || !ownedByIssuer(m, v) {
				continue
			}
			until, err := time.Parse(time.RFC3339, m.Annotations[annotationRetiringUntil])
			if err != nil {
				until = time.Unix(1<<40, 0) // unknown: kept first, read, and bounded by its CA's NotAfter
			}
			found = append(found, candidate{key: types.NamespacedName{Namespace: m.Namespace, Name: m.Name}, until: until})
		}
		if cont = list.Continue; cont == "" {
			break
		}
	}
	slices.SortFunc(found, func(a, b candidate) int {
		if c := b.until.Compare(a.until); c != 0 {
			return c
		}
		return strings.Compare(a.key.Name, b.key.Name)
	})
	if len(found) > maxRetiredGenerations {
		ignored = len(found) - maxRetiredGenerations
		found = found[:maxRetiredGenerations]
	}
	for _, c := range found {
		keep = append(keep, c.key)
	}
	return keep, ignored, nil
}
