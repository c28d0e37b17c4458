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

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories={cert-manager,nstance}
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Reason",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].reason"
// +kubebuilder:printcolumn:name="Message",type="string",priority=1,JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:printcolumn:name="CA Subject",type="string",priority=1,JSONPath=".status.ca.subject"
// +kubebuilder:printcolumn:name="CA Expiry",type="string",JSONPath=".status.ca.notAfter"
// +kubebuilder:printcolumn:name="CA Key",type="string",priority=1,JSONPath=".status.ca.key.backend"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"

// NstanceIssuer signs cert-manager CertificateRequests with a CA,
// shaping each certificate by a named template. It serves requests in its own
// namespace and reads its CA Secret from that namespace only.
type NstanceIssuer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   IssuerSpec   `json:"spec,omitempty"`
	Status IssuerStatus `json:"status,omitempty"`
}

// GetConditions returns the issuer's status conditions (issuer-lib's interface).
func (i *NstanceIssuer) GetConditions() []metav1.Condition {
	return i.Status.Conditions
}

// GetIssuerTypeIdentifier returns "nstanceissuers.issuer.nstance.dev", the
// prefix of the Kubernetes CSR signer names this issuer type answers to.
func (i *NstanceIssuer) GetIssuerTypeIdentifier() string {
	return "nstanceissuers." + GroupVersion.Group
}

// +kubebuilder:object:root=true

// NstanceIssuerList is a list of NstanceIssuer.
type NstanceIssuerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []NstanceIssuer `json:"items"`
}
