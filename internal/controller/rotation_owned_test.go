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
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

func ownedTestView(t *testing.T) issuerView {
	t.Helper()
	iss := &v1alpha1.NstanceIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "web", UID: "uid-web"}}
	iss.Spec.CA.SecretName = "ca"
	v, err := viewIssuer(iss, "")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOwnedByIssuer(t *testing.T) {
	t.Parallel()
	v := ownedTestView(t)
	managed := map[string]string{managedByLabel: managedByValue}
	legacy := ownerRef(v) // written before the controller flag was set
	cases := []struct {
		name   string
		labels map[string]string
		owners []metav1.OwnerReference
		want   bool
	}{
		{"the controller reference and the managed-by label: owned", managed, []metav1.OwnerReference{controllerRef(v)}, true},
		{"an earlier version's reference without the controller flag: owned", managed, []metav1.OwnerReference{legacy}, true},
		{"no owner reference: not owned", managed, nil, false},
		{"no managed-by label: not owned", nil, []metav1.OwnerReference{controllerRef(v)}, false},
		{"another issuer's UID: not owned", managed, []metav1.OwnerReference{{APIVersion: legacy.APIVersion, Kind: legacy.Kind, Name: "web", UID: "uid-other"}}, false},
		{"the UID under another kind: not owned", managed, []metav1.OwnerReference{{APIVersion: legacy.APIVersion, Kind: KindClusterIssuer, Name: "web", UID: "uid-web"}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ca-retired-x", Namespace: "team-a", Labels: tc.labels, OwnerReferences: tc.owners}}
			if got := ownedByIssuer(s, v); got != tc.want {
				t.Errorf("owned %v, want %v", got, tc.want)
			}
		})
	}
	if r := controllerRef(v); r.Controller == nil || !*r.Controller || r.UID != "uid-web" {
		t.Errorf("controllerRef %+v", r)
	}
}

func TestGenerateRefused(t *testing.T) {
	t.Parallel()
	v := ownedTestView(t)
	mine := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "ca", Annotations: map[string]string{v1alpha1.GeneratedForAnnotation: v.String()}}}
	theirs := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "ca", Annotations: map[string]string{v1alpha1.GeneratedForAnnotation: "NstanceIssuer team-a/other"}}}
	plain := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "ca"}}
	if got := generateRefused(plain, v); got != "" {
		t.Errorf("without spec.ca.generate: %q", got)
	}
	v.spec.CA.Generate = &v1alpha1.CATemplate{}
	if got := generateRefused(mine, v); got != "" {
		t.Errorf("generated for the issuer: %q", got)
	}
	for _, s := range []*corev1.Secret{theirs, plain} {
		got := generateRefused(s, v)
		for _, want := range []string{"team-a/ca was not generated for NstanceIssuer team-a/web", "nextSecretName", "delete the Secret", v1alpha1.GeneratedForAnnotation} {
			if !strings.Contains(got, want) {
				t.Errorf("message %q lacks %q", got, want)
			}
		}
	}
}

// TestRetiredCandidates lists retired Secrets as metadata: only the
// issuer's own count, latest retiring first, at most
// maxRetiredGenerations, the rest counted.
func TestRetiredCandidates(t *testing.T) {
	t.Parallel()
	v := ownedTestView(t)
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	retired := func(name string, until time.Time, owners ...metav1.OwnerReference) client.Object {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "team-a", OwnerReferences: owners,
			Labels:      map[string]string{managedByLabel: managedByValue, labelRetiredFrom: "ca"},
			Annotations: map[string]string{annotationCASecret: "ca", annotationRetiringUntil: until.Format(time.RFC3339)},
		}}
	}
	var objs []client.Object
	for i := range maxRetiredGenerations + 3 {
		objs = append(objs, retired(fmt.Sprintf("ca-retired-%02d", i), base.Add(time.Duration(i)*time.Hour), controllerRef(v)))
	}
	objs = append(objs,
		retired("ca-retired-forged", base.Add(1000*time.Hour)), // no owner reference: never a candidate
		retired("ca-retired-elsewhere", base.Add(1000*time.Hour), metav1.OwnerReference{APIVersion: v1alpha1.GroupVersion.String(), Kind: KindIssuer, Name: "other", UID: "uid-other"}),
	)
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
	r := &RotationReconciler{Reader: c}
	keep, ignored, err := r.retiredCandidates(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	if len(keep) != maxRetiredGenerations || ignored != 3 {
		t.Fatalf("kept %d, ignored %d; want %d and 3", len(keep), ignored, maxRetiredGenerations)
	}
	if keep[0].Name != fmt.Sprintf("ca-retired-%02d", maxRetiredGenerations+2) || keep[len(keep)-1].Name != "ca-retired-03" {
		t.Errorf("kept %v, want the latest retiring first", keep)
	}
	for _, k := range keep {
		if k.Name == "ca-retired-forged" || k.Name == "ca-retired-elsewhere" {
			t.Errorf("kept %s, which is not the issuer's", k.Name)
		}
	}
}
