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

// Package issuer is what the controllers share about one NstanceIssuer or
// NstanceClusterIssuer: its kinds, a reference to it, a view of either
// kind, and the names, labels and annotations more than one controller
// writes.
package issuer

import (
	"fmt"

	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// Kinds of issuer the controllers serve.
const (
	KindIssuer        = "NstanceIssuer"
	KindClusterIssuer = "NstanceClusterIssuer"
)

// NewObject returns an empty issuer object of kind, nil for any other kind.
func NewObject(kind string) client.Object {
	switch kind {
	case KindIssuer:
		return &v1alpha1.NstanceIssuer{}
	case KindClusterIssuer:
		return &v1alpha1.NstanceClusterIssuer{}
	}
	return nil
}

// Ref names one issuer object of one kind.
type Ref struct {
	Kind string // KindIssuer or KindClusterIssuer
	types.NamespacedName
}

// MetricLabels are the kind, namespace and name labels of the issuer's
// metric series.
func (r Ref) MetricLabels() map[string]string {
	return map[string]string{"kind": r.Kind, "namespace": r.Namespace, "name": r.Name}
}

// View is what the controllers need to know about one issuer object of
// either kind.
type View struct {
	// Obj is the issuer object itself.
	Obj client.Object
	// Spec and Status are its spec and status (both kinds share them).
	Spec   *v1alpha1.IssuerSpec
	Status *v1alpha1.IssuerStatus
	// Ref names it.
	Ref Ref
	// SecretKey is the Secret it reads its CA from (spec.ca.secretName in
	// the namespace NewView decides).
	SecretKey types.NamespacedName
	// Data is what templates see of it as .Issuer.
	Data pki.IssuerData
}

// NewView resolves where an issuer reads its CA from: an NstanceIssuer
// from its own namespace, an NstanceClusterIssuer from the cluster
// resource namespace. Nothing else decides which namespace a Secret is
// read from.
func NewView(obj issuerapi.Issuer, clusterResourceNamespace string) (View, error) {
	switch i := obj.(type) {
	case *v1alpha1.NstanceIssuer:
		return View{
			Obj: i, Spec: &i.Spec, Status: &i.Status,
			Ref:       Ref{Kind: KindIssuer, NamespacedName: types.NamespacedName{Namespace: i.Namespace, Name: i.Name}},
			SecretKey: types.NamespacedName{Namespace: i.Namespace, Name: i.Spec.CA.SecretName},
			Data:      pki.IssuerData{Name: i.Name, Namespace: i.Namespace, Kind: KindIssuer},
		}, nil
	case *v1alpha1.NstanceClusterIssuer:
		return View{
			Obj: i, Spec: &i.Spec, Status: &i.Status,
			Ref:       Ref{Kind: KindClusterIssuer, NamespacedName: types.NamespacedName{Name: i.Name}},
			SecretKey: types.NamespacedName{Namespace: clusterResourceNamespace, Name: i.Spec.CA.SecretName},
			Data:      pki.IssuerData{Name: i.Name, Kind: KindClusterIssuer},
		}, nil
	}
	return View{}, fmt.Errorf("unexpected issuer type %T", obj)
}

// String names the issuer the way kubectl would: "NstanceIssuer team-a/web".
func (v View) String() string {
	if v.Ref.Namespace == "" {
		return v.Ref.Kind + " " + v.Ref.Name
	}
	return v.Ref.Kind + " " + v.Ref.Namespace + "/" + v.Ref.Name
}

// OwnerRef makes what the issuer publishes or generates (bundles,
// generation Secrets) go with it. It proves nothing about who wrote the
// object: anyone may write an owner reference.
func (v View) OwnerRef() metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion: v1alpha1.GroupVersion.String(), Kind: v.Ref.Kind,
		Name: v.Obj.GetName(), UID: v.Obj.GetUID(),
	}
}
