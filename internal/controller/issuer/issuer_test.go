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
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

func TestViewIssuerReadsSecretsOnlyFromTheAllowedNamespace(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		obj  interface {
			GetName() string
		}
		want types.NamespacedName
	}{
		{
			name: "a namespaced issuer reads its own namespace",
			obj: &v1alpha1.NstanceIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "web"},
				Spec: v1alpha1.IssuerSpec{CA: v1alpha1.CASpec{SecretName: "ca"}}},
			want: types.NamespacedName{Namespace: "team-a", Name: "ca"},
		},
		{
			name: "a cluster issuer reads the cluster resource namespace",
			obj: &v1alpha1.NstanceClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "root"},
				Spec: v1alpha1.IssuerSpec{CA: v1alpha1.CASpec{SecretName: "root-ca"}}},
			want: types.NamespacedName{Namespace: "nstance-system", Name: "root-ca"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var v View
			var err error
			switch o := tc.obj.(type) {
			case *v1alpha1.NstanceIssuer:
				v, err = NewView(o, "nstance-system")
			case *v1alpha1.NstanceClusterIssuer:
				v, err = NewView(o, "nstance-system")
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.SecretKey != tc.want {
				t.Errorf("secret = %s, want %s", v.SecretKey, tc.want)
			}
		})
	}
}
