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
	"fmt"

	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
)

// The API types implement issuer-lib's Issuer interface; api/v1alpha1 does
// not import issuer-lib, so the check lives here.
var (
	_ issuerapi.Issuer = &v1alpha1.NstanceIssuer{}
	_ issuerapi.Issuer = &v1alpha1.NstanceClusterIssuer{}
)

// Kinds of issuer this controller serves.
const (
	KindIssuer        = "NstanceIssuer"
	KindClusterIssuer = "NstanceClusterIssuer"
)

func newIssuerObject(kind string) client.Object {
	switch kind {
	case KindIssuer:
		return &v1alpha1.NstanceIssuer{}
	case KindClusterIssuer:
		return &v1alpha1.NstanceClusterIssuer{}
	}
	return nil
}

// issuerView is what the signer needs to know about one issuer object of
// either kind.
type issuerView struct {
	obj       client.Object
	spec      *v1alpha1.IssuerSpec
	status    *v1alpha1.IssuerStatus
	ref       issuerRef
	secretKey types.NamespacedName
	data      pki.IssuerData
}

// viewIssuer resolves where an issuer reads its CA from: an NstanceIssuer from
// its own namespace, an NstanceClusterIssuer from the cluster resource
// namespace. Nothing else decides which namespace a Secret is read from.
func viewIssuer(obj issuerapi.Issuer, clusterResourceNamespace string) (issuerView, error) {
	switch i := obj.(type) {
	case *v1alpha1.NstanceIssuer:
		return issuerView{
			obj: i, spec: &i.Spec, status: &i.Status,
			ref:       issuerRef{Kind: KindIssuer, NamespacedName: types.NamespacedName{Namespace: i.Namespace, Name: i.Name}},
			secretKey: types.NamespacedName{Namespace: i.Namespace, Name: i.Spec.CA.SecretName},
			data:      pki.IssuerData{Name: i.Name, Namespace: i.Namespace, Kind: KindIssuer},
		}, nil
	case *v1alpha1.NstanceClusterIssuer:
		return issuerView{
			obj: i, spec: &i.Spec, status: &i.Status,
			ref:       issuerRef{Kind: KindClusterIssuer, NamespacedName: types.NamespacedName{Name: i.Name}},
			secretKey: types.NamespacedName{Namespace: clusterResourceNamespace, Name: i.Spec.CA.SecretName},
			data:      pki.IssuerData{Name: i.Name, Kind: KindClusterIssuer},
		}, nil
	}
	return issuerView{}, fmt.Errorf("unexpected issuer type %T", obj)
}

// String names the issuer the way kubectl would: "NstanceIssuer team-a/web".
func (v issuerView) String() string {
	if v.ref.Namespace == "" {
		return v.ref.Kind + " " + v.ref.Name
	}
	return v.ref.Kind + " " + v.ref.Namespace + "/" + v.ref.Name
}
