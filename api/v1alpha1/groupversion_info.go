// Package v1alpha1 contains the API of nstance-issuer: the NstanceIssuer and
// NstanceClusterIssuer kinds in the issuer.nstance.dev group.
// +kubebuilder:object:generate=true
// +groupName=issuer.nstance.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "issuer.nstance.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this API with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the kinds of this API to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&NstanceIssuer{}, &NstanceIssuerList{},
		&NstanceClusterIssuer{}, &NstanceClusterIssuerList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
