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

// Event reasons nstance-issuer records, beyond issuer-lib's own. Users and
// alerts match on them, so they are part of the API.
const (
	// EventReasonCertificateIssued is recorded on a request for every
	// certificate signed: serial, template, NotAfter and issuer.
	EventReasonCertificateIssued = "CertificateIssued"
	// EventReasonLifetimeTruncated: the lifetime was cut at the CA's NotAfter.
	EventReasonLifetimeTruncated = "LifetimeTruncated"
	// EventReasonEd25519ServerCertificate: an Ed25519 key was certified for
	// server auth, which browsers reject.
	EventReasonEd25519ServerCertificate = "Ed25519ServerCertificate"
	// EventReasonCAGenerated: spec.ca.generate created the CA Secret.
	EventReasonCAGenerated = "CAGenerated"
	// EventReasonCAExpiringSoon: the CA expires within the warning window.
	EventReasonCAExpiringSoon = "CAExpiringSoon"
	// EventReasonCAKeyUnavailable: the CA key held in a KMS or an HSM
	// cannot be used (denied, missing, disabled, wrong type, does not
	// match the certificate, unreachable); the message says why and what
	// to do. Requests wait.
	EventReasonCAKeyUnavailable = "CAKeyUnavailable"
	// EventReasonCAKeyCreated: a CA key was made in a KMS or an HSM (for
	// spec.ca.generate or a rotation). nstance-issuer never deletes one.
	EventReasonCAKeyCreated = "CAKeyCreated"
	// EventReasonUnguardedCSRAnnotations: a Kubernetes CSR was signed with
	// the template from its annotation although no admission policy kept
	// that annotation as it was approved (--insecure-allow-mutable-csr-annotations).
	EventReasonUnguardedCSRAnnotations = "UnguardedCSRAnnotations"
)

// GeneratedForAnnotation is set on a CA Secret that spec.ca.generate
// created; it names the issuer it was generated for.
const GeneratedForAnnotation = "issuer.nstance.dev/generated-for"
