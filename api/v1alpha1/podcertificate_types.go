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

// PodCertificates lets Kubernetes PodCertificateRequests (a pod's projected
// podCertificate volume naming the signer
// nstanceclusterissuers.issuer.nstance.dev/<name>) use a template of an
// NstanceClusterIssuer. The certificate is built from the pod's identity as
// the API server recorded it on the request: namespace, pod, service account
// and node, names and UIDs (.Request.Namespace, .Request.PodName,
// .Request.PodUID, .Request.ServiceAccountName, .Request.ServiceAccountUID,
// .Request.NodeName, .Request.NodeUID), all trusted data in templates. The
// template's namespaces binding applies to the pod's namespace.
type PodCertificates struct {
	// TrustDomain, when set, gives every pod certificate the SPIFFE ID
	// spiffe://<trustDomain>/ns/<namespace>/sa/<service account> as a URI
	// SAN. It may use .Vars and .Issuer, e.g. '{{ .Vars.ClusterSlug }}.example.com',
	// and must render a trust domain: lowercase letters, digits, '.', '-'
	// and '_'.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	TrustDomain string `json:"trustDomain,omitempty"`

	// AllowTemplateAnnotation lets a pod select this template by naming it
	// in the issuer.nstance.dev/template entry of its podCertificate
	// volume's userAnnotations. Unset: the template serves only the pods
	// that name no template, when it is the issuer's defaultTemplate.
	// +optional
	AllowTemplateAnnotation bool `json:"allowTemplateAnnotation,omitempty"`
}

// PodCertificateTemplateAnnotation is the only key of a PodCertificateRequest's
// spec.unverifiedUserAnnotations (a podCertificate volume's userAnnotations)
// that nstance-issuer recognizes: it names the template, which must set
// podCertificates.allowTemplateAnnotation. A request with any other key is
// denied with reason InvalidUnverifiedUserAnnotations.
const PodCertificateTemplateAnnotation = TemplateAnnotation

// Event reasons of pod certificates, beyond EventReasonCertificateIssued.
const (
	// EventReasonPodCertificateDenied: a PodCertificateRequest was denied;
	// the message says why and what to change.
	EventReasonPodCertificateDenied = "PodCertificateDenied"
	// EventReasonPodCertificateFailed: a PodCertificateRequest can never be
	// issued as it stands (e.g. the CA expires within the hour the API
	// requires as the minimum lifetime).
	EventReasonPodCertificateFailed = "PodCertificateFailed"
	// EventReasonPodCertificatePending: a PodCertificateRequest waits for
	// its issuer (missing, not Ready, or its CA unusable); it is retried.
	EventReasonPodCertificatePending = "PodCertificatePending"
)
