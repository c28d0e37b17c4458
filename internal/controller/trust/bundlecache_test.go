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
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
)

// A tenant may label any ConfigMap as a bundle: the cache keeps a bounded
// slice of it whatever it holds.
func TestSlimBundleKeepsABoundedSliceOfAnyConfigMap(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 1<<20)
	var owners []metav1.OwnerReference
	for range 50 {
		owners = append(owners, metav1.OwnerReference{Kind: issuer.KindClusterIssuer, Name: big[:200]})
	}
	owners = append(owners, metav1.OwnerReference{Kind: "Deployment", Name: "app"})
	in := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: "bundle", Namespace: "tenant", UID: "u1",
			Labels:          map[string]string{trustOfLabel: "h", "junk": big[:63]},
			Annotations:     map[string]string{trustIssuerAnnot: "x", "junk": big},
			OwnerReferences: owners,
		},
		Data:       map[string]string{issuer.SecretKeyCA: big, "other": big},
		BinaryData: map[string][]byte{"blob": []byte(big)},
	}
	out, err := SlimBundle()(in)
	if err != nil {
		t.Fatal(err)
	}
	cm := out.(*corev1.ConfigMap)
	if len(cm.OwnerReferences) != maxCachedOwners || cm.BinaryData != nil || len(cm.Data) != 1 || len(cm.Data[cachedDigestKey]) != 64 {
		t.Errorf("slimmed: %d owners, data keys %d, binary %d", len(cm.OwnerReferences), len(cm.Data), len(cm.BinaryData))
	}
	if len(cm.Labels) != 1 || len(cm.Annotations) != 1 || cm.UID != "u1" {
		t.Errorf("slimmed metadata: labels %v, annotations %d, uid %s", cm.Labels, len(cm.Annotations), cm.UID)
	}
}

func TestUpToDateComparesWhatTheIssuerWrites(t *testing.T) {
	t.Parallel()
	want := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Labels:          map[string]string{trustOfLabel: "h", issuer.ManagedByLabel: issuer.ManagedByValue},
			Annotations:     map[string]string{trustIssuerAnnot: "NstanceClusterIssuer ca"},
			OwnerReferences: []metav1.OwnerReference{{Kind: issuer.KindClusterIssuer, Name: "ca", UID: "i1"}},
		},
		Data: map[string]string{issuer.SecretKeyCA: "roots"},
	}
	slim := func(edit func(cm *corev1.ConfigMap)) *corev1.ConfigMap {
		cm := want.DeepCopy()
		if edit != nil {
			edit(cm)
		}
		out, err := SlimBundle()(cm)
		if err != nil {
			t.Fatal(err)
		}
		return out.(*corev1.ConfigMap)
	}
	cases := []struct {
		name string
		edit func(cm *corev1.ConfigMap)
		want bool
	}{
		{name: "the same bundle is up to date", want: true},
		{name: "labels and owners other managers added are not a difference", want: true, edit: func(cm *corev1.ConfigMap) {
			cm.Labels["team"] = "a"
			cm.OwnerReferences = append(cm.OwnerReferences, metav1.OwnerReference{Kind: issuer.KindIssuer, Name: "x"})
		}},
		{name: "other roots are a difference", edit: func(cm *corev1.ConfigMap) { cm.Data[issuer.SecretKeyCA] = "old roots" }},
		{name: "no ca.crt is a difference", edit: func(cm *corev1.ConfigMap) { cm.Data = nil }},
		{name: "a missing managed-by label is a difference", edit: func(cm *corev1.ConfigMap) { delete(cm.Labels, issuer.ManagedByLabel) }},
		{name: "another issuer annotation is a difference", edit: func(cm *corev1.ConfigMap) { cm.Annotations[trustIssuerAnnot] = "other" }},
		{name: "an owner reference of the issuer's previous UID is a difference", edit: func(cm *corev1.ConfigMap) { cm.OwnerReferences[0].UID = "i0" }},
		{name: "a bundle being deleted is a difference", edit: func(cm *corev1.ConfigMap) { now := metav1.Now(); cm.DeletionTimestamp = &now }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := upToDate(slim(tc.edit), want); got != tc.want {
				t.Errorf("upToDate = %v, want %v", got, tc.want)
			}
		})
	}
}
