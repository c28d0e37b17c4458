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
	"k8s.io/apimachinery/pkg/types"
)

// RotateNowAnnotation on an issuer asks for an immediate CA rotation, e.g.
// after a suspected compromise. Its value is a token of your choice (a
// date, a ticket number): each new value starts one rotation, the same
// value again does nothing, so re-applying a manifest never rotates twice.
// It needs spec.ca.generate (a user-brought CA rotates by nextSecretName).
const RotateNowAnnotation = "issuer.nstance.dev/rotate-now"

// CARotation says when and how the issuer replaces its CA. The CA in
// spec.ca.secretName always is the one that signs; rotation runs through
// these phases, each one recorded as an Event and in status.rotation:
//
//  1. Next: a next CA exists (generated into <secretName>-next-<random> when the
//     issuing CA is due for renewal, or brought by you in nextSecretName)
//     and is published as trusted next to the issuing one.
//  2. After propagationDelay, the next CA's certificate and key are written
//     into spec.ca.secretName and it signs; the previous CA's certificate,
//     without its key, is kept in <secretName>-retired-<fingerprint>-<random>.
//  3. The previous root stays published until every certificate it signed
//     has expired, then it is dropped.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.renewBefore) && has(self.renewBeforePercentage))",message="set renewBefore or renewBeforePercentage, not both"
type CARotation struct {
	// RenewBefore starts a rotation this long before the issuing CA's
	// NotAfter (e.g. 2160h). Mutually exclusive with renewBeforePercentage.
	// +optional
	RenewBefore *metav1.Duration `json:"renewBefore,omitempty"`

	// RenewBeforePercentage starts a rotation when this share of the
	// issuing CA's lifetime remains (1-99). Default 33 when neither this nor
	// renewBefore is set.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=99
	RenewBeforePercentage *int32 `json:"renewBeforePercentage,omitempty"`

	// PropagationDelay is how long the next CA is published as trusted
	// before it starts signing: long enough for every workload to reload
	// its trust bundle (kubelet refreshes projected volumes within about a
	// minute; applications may read trust only at start). Default 24h.
	// +optional
	PropagationDelay *metav1.Duration `json:"propagationDelay,omitempty"`

	// NextSecretName is a Secret you provide (same namespace as
	// spec.ca.secretName) holding the next CA in the same format. When it
	// exists and is valid it is published, and after propagationDelay it
	// replaces the CA in spec.ca.secretName. An invalid one is reported in
	// the CARotation condition while the current CA keeps signing.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	NextSecretName string `json:"nextSecretName,omitempty"`
}

// CACrtContent is what ca.crt of issued certificates carries.
// +kubebuilder:validation:Enum=IssuingRoot;AllLiveRoots
type CACrtContent string

const (
	// CACrtIssuingRoot: only the root of the CA that signed the certificate.
	CACrtIssuingRoot CACrtContent = "IssuingRoot"
	// CACrtAllLiveRoots: every root currently published (issuing, next and
	// retiring), like google-cas-issuer's pool mode, so that a workload
	// trusting ca.crt of its own Secret keeps trusting peers across a
	// rotation.
	CACrtAllLiveRoots CACrtContent = "AllLiveRoots"
)

// TrustBundle says where the issuer publishes its live roots (every CA
// generation that is issuing, next or retiring).
type TrustBundle struct {
	// CACrt is what ca.crt of issued certificates carries: IssuingRoot
	// (default) or AllLiveRoots.
	// +optional
	// +kubebuilder:default=IssuingRoot
	CACrt CACrtContent `json:"caCrt,omitempty"`

	// ClusterTrustBundle publishes one ClusterTrustBundle per live root,
	// with spec.signerName set to this issuer's signer name
	// (nstanceclusterissuers.issuer.nstance.dev/<name>), for pods to mount
	// with a clusterTrustBundle projected volume. NstanceClusterIssuers
	// only, and only where the API server serves ClusterTrustBundle.
	// +optional
	ClusterTrustBundle bool `json:"clusterTrustBundle,omitempty"`

	// ConfigMap publishes the live roots, PEM concatenated under key
	// ca.crt, in a ConfigMap.
	// +optional
	ConfigMap *ConfigMapBundle `json:"configMap,omitempty"`
}

// ConfigMapBundle is a ConfigMap holding the live roots under key ca.crt.
type ConfigMapBundle struct {
	// Name of the ConfigMap.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// NamespaceSelector chooses the namespaces an NstanceClusterIssuer
	// publishes into ({} selects every namespace). Unset: only the cluster
	// resource namespace. An NstanceIssuer publishes into its own namespace
	// only and ignores this field.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
}

// CARotationPhase summarises where the issuer is in its CA lifecycle.
// +kubebuilder:validation:Enum=Stable;RenewalDue;NextPublished;Retiring
type CARotationPhase string

const (
	// CARotationStable: one CA generation, not yet due for renewal.
	CARotationStable CARotationPhase = "Stable"
	// CARotationRenewalDue: the issuing CA is due for renewal and no valid
	// next CA exists (bring one in nextSecretName).
	CARotationRenewalDue CARotationPhase = "RenewalDue"
	// CARotationNextPublished: a next CA is published and waits for
	// propagationDelay before it signs.
	CARotationNextPublished CARotationPhase = "NextPublished"
	// CARotationRetiring: a previous root stays published until the last
	// certificate it signed expires.
	CARotationRetiring CARotationPhase = "Retiring"
)

// CAGenerationRole is the role of one CA generation.
// +kubebuilder:validation:Enum=Issuing;Next;Retiring
type CAGenerationRole string

const (
	// CAGenerationIssuing signs new certificates.
	CAGenerationIssuing CAGenerationRole = "Issuing"
	// CAGenerationNext is published as trusted and will sign next.
	CAGenerationNext CAGenerationRole = "Next"
	// CAGenerationRetiring signs nothing any more and stays published until
	// retiringUntil.
	CAGenerationRetiring CAGenerationRole = "Retiring"
)

// CAGeneration is one CA generation of the issuer.
type CAGeneration struct {
	// Role is Issuing, Next or Retiring.
	Role CAGenerationRole `json:"role"`
	// Subject of the CA certificate.
	Subject string `json:"subject"`
	// NotAfter of the CA certificate.
	NotAfter metav1.Time `json:"notAfter"`
	// SHA256Fingerprint of the CA certificate's DER, hex with colons.
	SHA256Fingerprint string `json:"sha256Fingerprint"`
	// SecretName is the Secret that holds this generation (for a retiring
	// one: its certificate only, never its key).
	SecretName string `json:"secretName"`
	// PublishedAt is when a Next generation was first published as trusted;
	// propagationDelay counts from here.
	// +optional
	PublishedAt *metav1.Time `json:"publishedAt,omitempty"`
	// RetiringUntil is when a Retiring generation is dropped from the trust
	// bundles: the latest NotAfter any certificate it signed can have.
	// +optional
	RetiringUntil *metav1.Time `json:"retiringUntil,omitempty"`
	// LongestLeafLifetime, on the Issuing generation, is the longest
	// certificate lifetime the issuer's templates allowed at any time while
	// this generation signed, as the controller saw them (a high-water
	// mark; the CA's own lifetime while a template had no ttl). After the
	// switch its root stays published at least this long, so a ttl
	// lowered just before a rotation cannot drop it while certificates
	// signed under the longer ttl are still valid.
	// +optional
	LongestLeafLifetime *metav1.Duration `json:"longestLeafLifetime,omitempty"`
}

// RotationStatus is the CA lifecycle of the issuer.
type RotationStatus struct {
	// Phase summarises the lifecycle: Stable, RenewalDue, NextPublished or
	// Retiring.
	// +optional
	Phase CARotationPhase `json:"phase,omitempty"`
	// Generations are every live CA generation.
	// +optional
	// +listType=atomic
	Generations []CAGeneration `json:"generations,omitempty"`
	// RenewAt is when the issuing CA becomes due for renewal.
	// +optional
	RenewAt *metav1.Time `json:"renewAt,omitempty"`
	// RotateNowToken is the last issuer.nstance.dev/rotate-now value acted
	// upon.
	// +optional
	RotateNowToken string `json:"rotateNowToken,omitempty"`
	// RotateNowFingerprint is the SHA-256 fingerprint of the CA that
	// RotateNowToken made next: when that CA takes over, the Certificates
	// the previous CA signed are re-issued (also for a next CA the user
	// brings, whose Secret the controller never writes).
	// +optional
	RotateNowFingerprint string `json:"rotateNowFingerprint,omitempty"`
	// Reissue is how far the re-issue of the Certificates signed by the
	// previous CA got, when the issuing CA took over because of a
	// rotate-now token. Absent after a scheduled rotation.
	// +optional
	Reissue *ReissueStatus `json:"reissue,omitempty"`
}

// ReissueStatus is the progress of re-issuing, after a rotate-now switch,
// every Certificate naming this issuer whose Secret still holds a
// certificate signed by a CA generation that no longer signs. Each one is
// asked to re-issue the way `cmctl renew` does (its Issuing condition set
// True with reason ManuallyTriggered), a batch at a time. The counts are
// recomputed from the Certificates and their Secrets on every pass, so a
// restart resumes where it stopped.
type ReissueStatus struct {
	// Token is the rotate-now token whose switch started this re-issue.
	Token string `json:"token"`
	// RotatedAt is when the new CA took over. Certificates created later
	// are not counted.
	RotatedAt metav1.Time `json:"rotatedAt"`
	// Total is the number of Certificates counted: signed by a previous CA
	// at the switch (reissued + inProgress + failed + pending).
	Total int32 `json:"total"`
	// Reissued is how many of them now hold a certificate of the issuing CA.
	Reissued int32 `json:"reissued"`
	// InProgress is how many are being issued (Issuing condition True).
	InProgress int32 `json:"inProgress"`
	// Failed is how many failed to issue since the switch; they are not
	// triggered again (cert-manager backs them off): fix the cause and run
	// `cmctl renew`.
	Failed int32 `json:"failed"`
	// Pending is how many wait for a batch.
	Pending int32 `json:"pending"`
	// Triggered is how many Certificates this issuer marked for re-issue.
	Triggered int32 `json:"triggered"`
	// FailedCertificates names (namespace/name) up to 20 failed ones.
	// +optional
	// +listType=atomic
	FailedCertificates []string `json:"failedCertificates,omitempty"`
	// InFlight is what this issuer asked to re-issue and cert-manager has
	// not finished: each batch is at most --reissue-batch-size minus
	// these, so never more than a batch of the Certificates the issuer
	// asked are issuing at once, however slowly cert-manager works. A
	// Certificate leaves the list when it holds a certificate of the
	// issuing CA, fails, stops issuing, is replaced (another UID) or gone,
	// or was asked --reissue-stalled-after ago (counted in Stalled). Only
	// the controller writes this record: a Certificate its owner keeps
	// issuing holds back the batches for no longer than that.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1000
	InFlight []ReissueAsked `json:"inFlight,omitempty"`
	// Stalled is how many Certificates this issuer asked were still issuing
	// --reissue-stalled-after later; they no longer hold back the batches.
	// +optional
	Stalled int32 `json:"stalled,omitempty"`
	// LastBatchAt is when the last batch was triggered; the next one
	// follows one interval (--reissue-interval) later.
	// +optional
	LastBatchAt *metav1.Time `json:"lastBatchAt,omitempty"`
	// CompletedAt is when nothing was left pending or in progress.
	// +optional
	CompletedAt *metav1.Time `json:"completedAt,omitempty"`
}

// ReissueAsked is a Certificate an issuer asked to re-issue.
type ReissueAsked struct {
	// Namespace of the Certificate.
	Namespace string `json:"namespace"`
	// Name of the Certificate.
	Name string `json:"name"`
	// UID of the Certificate asked: one of the same name made later is
	// another Certificate.
	UID types.UID `json:"uid"`
	// AskedAt is when the batch that asked it started.
	AskedAt metav1.Time `json:"askedAt"`
}

// Event reasons of the CA lifecycle.
const (
	// EventReasonNextCAPublished: a next CA is published as trusted.
	EventReasonNextCAPublished = "NextCAPublished"
	// EventReasonCARotated: the next CA signs; the previous one is retiring.
	EventReasonCARotated = "CARotated"
	// EventReasonRetiredCADropped: a retiring root left the trust bundles.
	EventReasonRetiredCADropped = "RetiredCADropped"
	// EventReasonNextCAInvalid: the next CA cannot be used; the current CA
	// keeps signing.
	EventReasonNextCAInvalid = "NextCAInvalid"
	// EventReasonCARenewalDue: the CA is due for renewal and no next CA
	// can be made.
	EventReasonCARenewalDue = "CARenewalDue"
	// EventReasonCASecretNotGenerated: spec.ca.generate is set but the CA
	// Secret was not generated for this issuer, so the issuer does not
	// write a new CA into it.
	EventReasonCASecretNotGenerated = "CASecretNotGenerated"
	// EventReasonRetiredCAIgnored: the Secret of a retired CA in the
	// issuer's generation record is missing or no longer holds the
	// recorded certificates; its root is not published.
	EventReasonRetiredCAIgnored = "RetiredCAIgnored"
	// EventReasonGenerationSecretIgnored: a Secret is named or labelled as
	// a CA generation of the issuer but is not in its generation record
	// (someone else made it); it is ignored, never trusted, published,
	// promoted or deleted.
	EventReasonGenerationSecretIgnored = "GenerationSecretIgnored"
	// EventReasonRotationStepFailed: a lifecycle step failed (a write was
	// refused, a Secret is in the way); it is retried.
	EventReasonRotationStepFailed = "RotationStepFailed"
	// EventReasonTrustPublishFailed: a trust bundle could not be written
	// (in some namespaces: the others are written).
	EventReasonTrustPublishFailed = "TrustPublishFailed"
	// EventReasonReissueTriggered: after a rotate-now switch, Certificates
	// signed by the previous CA were asked to re-issue (on the issuer, per
	// batch, and on each Certificate).
	EventReasonReissueTriggered = "ReissueTriggered"
	// EventReasonReissueCompleted: every Certificate signed by the previous
	// CA was re-issued by the new one.
	EventReasonReissueCompleted = "ReissueCompleted"
	// EventReasonReissueIncomplete: the re-issue ended with Certificates
	// whose issuance failed; they need a person.
	EventReasonReissueIncomplete = "ReissueIncomplete"
	// EventReasonReissueStalled: Certificates asked to re-issue were still
	// issuing --reissue-stalled-after later; they no longer hold back the
	// batches.
	EventReasonReissueStalled = "ReissueStalled"
	// EventReasonReissueTriggerFailed: a Certificate could not be asked to
	// re-issue; it is tried again with the next batch.
	EventReasonReissueTriggerFailed = "ReissueTriggerFailed"
)

// ConditionTypeCARotation is the issuer condition reporting the CA
// lifecycle: True when it proceeds, False with a reason a person can act on
// (an invalid next CA, a renewal due without a next CA, a CA Secret not
// generated for the issuer that the rotation would have to write into, a
// Secret in the way of a generation, a step the manager may not take, a
// bundle only the controller writes that cannot be written). Bundles that
// could not be published in some namespaces, and Secrets that look like
// the issuer's generations but are not, are named in its message. It never
// affects Ready: the issuing CA keeps signing.
const ConditionTypeCARotation = "CARotation"
