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

// TemplateAnnotation selects a template of the issuer by name. Set it on a
// Certificate (cert-manager copies it to the CertificateRequest), on a
// CertificateRequest or on a Kubernetes CertificateSigningRequest.
const TemplateAnnotation = "issuer.nstance.dev/template"

// IssuerSpec is the spec shared by NstanceIssuer and NstanceClusterIssuer.
// +kubebuilder:validation:XValidation:rule="!has(self.defaultTemplate) || size(self.defaultTemplate) == 0 || (has(self.templates) && self.templates.exists(t, t.name == self.defaultTemplate))",message="defaultTemplate must name one of spec.templates"
type IssuerSpec struct {
	// CA is the certificate authority that signs every certificate of this issuer.
	CA CASpec `json:"ca"`

	// Vars are values the templates can use as {{ .Vars.Name }}: at most 64,
	// names of letters, digits and '_', values of at most 1024 bytes.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^[A-Za-z_][A-Za-z0-9_]{0,62}$'))",message="var names must be letters, digits and '_', at most 63 characters, not starting with a digit"
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(self[k]) <= 1024)",message="var values must be at most 1024 characters"
	Vars map[string]string `json:"vars,omitempty"`

	// Templates shape the certificates this issuer signs and limit what a
	// request may ask for. A request selects one with the
	// issuer.nstance.dev/template annotation; without the annotation the
	// defaultTemplate applies. An annotation with an empty value, or naming
	// no template of this issuer, fails the request. A request that selects
	// no template (no annotation, no defaultTemplate) fails unless
	// allowPassThrough is set.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	Templates []CertificateTemplate `json:"templates,omitempty"`

	// DefaultTemplate names the template used when a request names none.
	// Certificates made by cert-manager's ingress-shim carry no template
	// annotation, so Ingress traffic normally uses this template.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	DefaultTemplate string `json:"defaultTemplate,omitempty"`

	// AllowPassThrough signs a request that selects no template (no
	// template annotation and no defaultTemplate) as asked, like
	// cert-manager's CA issuer: any subject, SANs and usages, no CA
	// certificates, within the CA's lifetime. Default false: such a request
	// fails with reason NoTemplate. It never applies to a request whose
	// template annotation is present, even empty, nor to Kubernetes CSRs,
	// which need a template that allows them.
	// +optional
	AllowPassThrough bool `json:"allowPassThrough,omitempty"`

	// LeafNotAfterBehavior says what happens when a certificate would outlive
	// the CA: Truncate (default) ends it at the CA's NotAfter and records an
	// Event; Error fails the request.
	// +optional
	// +kubebuilder:default=Truncate
	LeafNotAfterBehavior LeafNotAfterBehavior `json:"leafNotAfterBehavior,omitempty"`
}

// LeafNotAfterBehavior is what to do with a certificate that would outlive its CA.
// +kubebuilder:validation:Enum=Truncate;Error
type LeafNotAfterBehavior string

const (
	// LeafNotAfterTruncate ends the certificate at the CA's NotAfter.
	LeafNotAfterTruncate LeafNotAfterBehavior = "Truncate"
	// LeafNotAfterError refuses to sign the certificate.
	LeafNotAfterError LeafNotAfterBehavior = "Error"
)

// CASpec names the Secret that holds the CA, and where its key is held
// when not in that Secret.
// +kubebuilder:validation:XValidation:rule="!has(self.key) || !has(self.generate) || !has(self.generate.privateKey) || !has(self.generate.privateKey.algorithm) || self.generate.privateKey.algorithm != 'Ed25519'",message="a CA key in a KMS or an HSM (spec.ca.key) cannot be Ed25519: set spec.ca.generate.privateKey.algorithm to ECDSA or RSA"
type CASpec struct {
	// SecretName is the Secret holding the CA: tls.crt (the CA certificate,
	// optionally followed by intermediates up to the root), tls.key (its
	// private key, PKCS#1, PKCS#8 or SEC1 PEM) and optionally ca.crt (the root).
	// With spec.ca.key the Secret holds no tls.key: its key-uri may name the
	// key of the CA it holds (spec.ca.key.uri's key otherwise).
	// An NstanceIssuer reads it from its own namespace, an NstanceClusterIssuer
	// from the cluster resource namespace of the controller.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	SecretName string `json:"secretName"`

	// Key holds the CA's private key outside Kubernetes, in AWS KMS or a
	// PKCS#11 token (an HSM), named by URI: the key never enters the
	// cluster, and the CA Secret holds only certificates. With generate,
	// the key is made there and the self-signed CA signed there; a
	// rotation makes each next key in the same place. See docs/keys.md.
	// +optional
	Key *CAKey `json:"key,omitempty"`

	// Generate, when set and the Secret does not exist, creates a self-signed
	// root CA in that Secret once. An existing Secret is otherwise only ever
	// changed by a rotation (see rotation), never overwritten at start-up.
	// With rotation, it is also the template of every next CA.
	// +optional
	Generate *CATemplate `json:"generate,omitempty"`

	// Rotation replaces the CA before it expires, with an overlap during
	// which both roots are trusted. Unset: the CA is never rotated by the
	// issuer (a warning Event precedes its expiry), though the
	// issuer.nstance.dev/rotate-now annotation still rotates a generated CA.
	// +optional
	Rotation *CARotation `json:"rotation,omitempty"`

	// TrustBundle says where the live roots are published and what ca.crt
	// of issued certificates carries.
	// +optional
	TrustBundle *TrustBundle `json:"trustBundle,omitempty"`
}

// CAKey names where the CA's private key is held: a KMS or an HSM.
type CAKey struct {
	// URI names the key, or with generate and no key named, where keys
	// are made:
	//
	//   - AWS KMS: awskms:key-id=<key ARN, or key id or alias with
	//     ;region=<region>>; to make keys: awskms:region=<region>.
	//   - PKCS#11 (RFC 7512): pkcs11:token=<label>;id=<%xx bytes>;object=<label>
	//     (token, serial= or slot-id= names the token, id and/or object the
	//     key), optionally ?module-path=<one of the controller's
	//     --pkcs11-module>; to make keys: pkcs11:token=<label>.
	//
	// Never a PIN or a file: credentials come from credentialsSecretRef
	// or the controller's own identity. When the CA Secret's key-uri names
	// a key (a generated or rotated CA), that key signs; this URI's key
	// signs a CA Secret without one.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="self.startsWith('awskms:') || self.startsWith('pkcs11:')",message="uri must start with awskms: (AWS KMS, e.g. awskms:key-id=arn:aws:kms:eu-west-1:111122223333:key/<id>, or awskms:region=eu-west-1 to make keys there) or pkcs11: (a PKCS#11 token, RFC 7512, e.g. pkcs11:token=ca;object=root, or pkcs11:token=ca to make keys there)"
	// +kubebuilder:validation:XValidation:rule="!self.contains('pin-value') && !self.contains('pin-source')",message="never put a PIN in the key URI: put it under key pin of the Secret that credentialsSecretRef names"
	URI string `json:"uri"`

	// CredentialsSecretRef names a Secret of the issuer's own namespace
	// (for an NstanceClusterIssuer, the cluster resource namespace)
	// holding the credentials to use the key with: AWS_ACCESS_KEY_ID,
	// AWS_SECRET_ACCESS_KEY and optionally AWS_SESSION_TOKEN for AWS KMS;
	// pin (the token's user PIN) for PKCS#11. Unset: the controller's own
	// identity (its ServiceAccount's IRSA, EKS Pod Identity, its PIN
	// file), which an NstanceIssuer may use only for keys the operator
	// allows its namespace (--namespace-key-uri).
	// +optional
	CredentialsSecretRef *SecretReference `json:"credentialsSecretRef,omitempty"`
}

// SecretReference names a Secret of the issuer's namespace.
type SecretReference struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// Subject holds the subject fields a template sets. Each field supports Go
// templating over .Vars, .Request and .Issuer. A value rendered from
// request data (anything of .Request but Namespace, Username and Groups) is
// the requester's, not the template's: it must pass the template's policy
// (allowedCommonNames, allowedSubject) like a requested one.
type Subject struct {
	// CN is the common name.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	CN string `json:"cn,omitempty"`
	// Organization (O).
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=1024
	Organization []string `json:"organization,omitempty"`
	// OrganizationalUnit (OU).
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=1024
	OrganizationalUnit []string `json:"organizationalUnit,omitempty"`
	// Country (C).
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=1024
	Country []string `json:"country,omitempty"`
	// Province is the state or province (ST).
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=1024
	Province []string `json:"province,omitempty"`
	// Locality is the city (L).
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=1024
	Locality []string `json:"locality,omitempty"`
	// Street is the street address.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=1024
	Street []string `json:"street,omitempty"`
	// PostalCode is the postal code.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=1024
	PostalCode []string `json:"postalCode,omitempty"`
}

// CATemplate describes a self-signed root CA to generate.
type CATemplate struct {
	Subject `json:",inline"`

	// TTL is the CA's lifetime in hours.
	// +optional
	// +kubebuilder:default=87600
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=876000
	TTL int32 `json:"ttl,omitempty"`

	// PrivateKey is the CA key to generate.
	// +optional
	PrivateKey PrivateKeySpec `json:"privateKey,omitempty"`
}

// KeyAlgorithm is a public key algorithm.
// +kubebuilder:validation:Enum=RSA;ECDSA;Ed25519
type KeyAlgorithm string

const (
	RSAKeyAlgorithm     KeyAlgorithm = "RSA"
	ECDSAKeyAlgorithm   KeyAlgorithm = "ECDSA"
	Ed25519KeyAlgorithm KeyAlgorithm = "Ed25519"
)

// PrivateKeySpec is the algorithm and size of a key to generate.
// +kubebuilder:validation:XValidation:rule="!has(self.size) || self.size == 0 || (self.algorithm == 'RSA' && self.size in [2048, 3072, 4096]) || (self.algorithm == 'ECDSA' && self.size in [256, 384, 521])",message="size must be 2048, 3072 or 4096 for RSA, 256, 384 or 521 for ECDSA, and unset for Ed25519"
type PrivateKeySpec struct {
	// Algorithm is RSA, ECDSA (default) or Ed25519.
	// +optional
	// +kubebuilder:default=ECDSA
	Algorithm KeyAlgorithm `json:"algorithm,omitempty"`
	// Size is the RSA modulus size (2048 default, 3072, 4096) or the ECDSA
	// curve size (256 default, 384, 521). Unset for Ed25519.
	// +optional
	Size int32 `json:"size,omitempty"`
}

// TemplateKind says what a certificate is for; it sets the extended key usages.
// +kubebuilder:validation:Enum=server;client;peer
type TemplateKind string

const (
	// ServerKind certificates authenticate servers (serverAuth).
	ServerKind TemplateKind = "server"
	// ClientKind certificates authenticate clients (clientAuth).
	ClientKind TemplateKind = "client"
	// PeerKind certificates do both (serverAuth and clientAuth).
	PeerKind TemplateKind = "peer"
)

// CertificateTemplate shapes the certificates issued with it and limits what
// a request may ask for. Once a template applies, everything is refused that
// it does not allow: a kind of SAN whose allow-list is unset cannot be
// requested at all. Values the template sets itself are trusted only when
// they are rendered from .Vars, .Issuer and the vouched request fields
// (.Request.Namespace, .Request.Username, .Request.Groups); values rendered
// from other request data pass the same allow-lists as requested ones.
// +kubebuilder:validation:XValidation:rule="!has(self.unconstrainedCA) || !self.unconstrainedCA || (has(self.allowCA) && self.allowCA)",message="unconstrainedCA needs allowCA"
type CertificateTemplate struct {
	// Name identifies the template; requests select it with the
	// issuer.nstance.dev/template annotation.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// Kind sets the extended key usages: server (serverAuth), client
	// (clientAuth) or peer (both). Default server.
	// +optional
	// +kubebuilder:default=server
	Kind TemplateKind `json:"kind,omitempty"`

	// Subject fields set here replace the request's; unset ones keep the
	// request's values, which must then pass allowedCommonNames (CN) or
	// allowedSubject (the others).
	Subject `json:",inline"`

	// DNS names added to the requested ones. Templated; a name rendered
	// from request data must match allowedDNSNames.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=1024
	DNS []string `json:"dns,omitempty"`

	// IP addresses added to the requested ones. Templated; an address
	// rendered from request data must fall in allowedIPRanges.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=1024
	IP []string `json:"ip,omitempty"`

	// TTL caps the lifetime in hours: a certificate lives for the shorter of
	// the requested duration and this. Unset: the requested duration.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=876000
	TTL int32 `json:"ttl,omitempty"`

	// AllowedDNSNames are the patterns a requested DNS name must match.
	// Labels compare case-insensitively; '*' as a whole label matches
	// exactly one label, so '*.example.com' allows 'a.example.com' but
	// neither 'example.com' nor 'a.b.example.com'; '**' as the leftmost
	// label matches one or more labels ('**.example.com'); '**' alone
	// allows any DNS name. Templated from .Vars, .Issuer and
	// .Request.Namespace only. Unset: no DNS name may be requested.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=1024
	AllowedDNSNames []string `json:"allowedDNSNames,omitempty"`

	// AllowedIPRanges are CIDRs a requested IP address must fall in
	// ('0.0.0.0/0' and '::/0' allow any). Unset: no IP address may be
	// requested.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=64
	AllowedIPRanges []string `json:"allowedIPRanges,omitempty"`

	// AllowedURIs are the patterns a requested URI SAN must match, in the
	// form scheme://host[:port]/path: the scheme and port compare exactly,
	// the host is a DNS pattern as in allowedDNSNames, and each path
	// segment compares on its own, '*' matching exactly one segment and a
	// final '**' any number of them. A requested URI with userinfo, a
	// query, a fragment, or '.', '..' or empty path segments is refused.
	// A pattern without '//' (e.g. urn:...) allows only itself. Templated
	// like allowedDNSNames. Unset: no URI may be requested.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=1024
	AllowedURIs []string `json:"allowedURIs,omitempty"`

	// AllowedEmailAddresses are the patterns local@domain a requested email
	// SAN must match: the local part is a literal or '*' (any local part),
	// the domain a DNS pattern as in allowedDNSNames. An address must have
	// exactly one '@'. Templated like allowedDNSNames. Unset: no email
	// address may be requested.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=1024
	AllowedEmailAddresses []string `json:"allowedEmailAddresses,omitempty"`

	// AllowedCommonNames are glob patterns ('*' matches any run of
	// characters) a common name from the request must match when it is not
	// one of the certificate's SANs and matches no allowedDNSNames pattern.
	// A common name from the request must be a DNS name, an IP address, an
	// email address or an identifier of letters, digits and '-._:@', at most
	// 64 characters. Templated like allowedDNSNames.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=1024
	AllowedCommonNames []string `json:"allowedCommonNames,omitempty"`

	// AllowedSubject lists, per subject attribute, the glob patterns a value
	// from the request must match. An attribute the template sets itself is
	// replaced, not checked. Unset: the request may carry no subject
	// attribute but a common name.
	// +optional
	AllowedSubject *SubjectPatterns `json:"allowedSubject,omitempty"`

	// Namespaces limits which namespaces' CertificateRequests may use this
	// template: a namespace named in names or whose labels match selector
	// (an empty selector matches every namespace). Unset: every namespace
	// (for an NstanceIssuer, only its own namespace ever reaches it), except
	// in a template that sets kubernetesCSRs or podCertificates: no
	// CertificateRequest may use that one unless namespaces names where.
	// +optional
	Namespaces *NamespaceSelector `json:"namespaces,omitempty"`

	// KubernetesCSRs lets Kubernetes CertificateSigningRequests use this
	// template (NstanceClusterIssuers only): a CSR whose spec.username
	// matches a usernames pattern or one of whose spec.groups matches a
	// groups pattern. Unset: no Kubernetes CSR may use it.
	// +optional
	KubernetesCSRs *KubernetesCSRRequesters `json:"kubernetesCSRs,omitempty"`

	// PodCertificates lets Kubernetes PodCertificateRequests use this
	// template (NstanceClusterIssuers only). Unset: no pod may use it.
	// +optional
	PodCertificates *PodCertificates `json:"podCertificates,omitempty"`

	// AllowedKeyAlgorithms limits the requested public key algorithm.
	// Empty: RSA, ECDSA and Ed25519.
	// +optional
	// +listType=set
	AllowedKeyAlgorithms []KeyAlgorithm `json:"allowedKeyAlgorithms,omitempty"`

	// MinRSAKeySize is the smallest RSA modulus accepted. Default 2048.
	// +optional
	// +kubebuilder:validation:Minimum=2048
	// +kubebuilder:validation:Maximum=8192
	MinRSAKeySize int32 `json:"minRSAKeySize,omitempty"`

	// MinECDSAKeySize is the smallest ECDSA curve accepted (256, 384, 521).
	// Default 256.
	// +optional
	// +kubebuilder:validation:Enum=256;384;521
	MinECDSAKeySize int32 `json:"minECDSAKeySize,omitempty"`

	// AllowCA lets requests with isCA sign intermediate CA certificates with
	// pathLen 0 and NameConstraints derived from this template's
	// allow-lists (a name type with no allow-list is excluded entirely).
	// A template whose allow-lists cannot be expressed as NameConstraints
	// (e.g. '**'), or only more widely than the template allows (a fixed
	// label left of a wildcard, a URI pattern with a path, a mailbox in a
	// wildcard domain), is refused unless unconstrainedCA is set. URI
	// schemes and ports and the depth below a domain are not carried.
	// Default false: such requests fail.
	// +optional
	AllowCA bool `json:"allowCA,omitempty"`

	// UnconstrainedCA issues this template's CA certificates without
	// NameConstraints: they can mint certificates for any name that
	// verify against this issuer's root. Needs allowCA.
	// +optional
	UnconstrainedCA bool `json:"unconstrainedCA,omitempty"`
}

// SubjectPatterns lists glob patterns ('*' matches any run of characters)
// per subject attribute.
type SubjectPatterns struct {
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=256
	Organization []string `json:"organization,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=256
	OrganizationalUnit []string `json:"organizationalUnit,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=256
	Country []string `json:"country,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=256
	Province []string `json:"province,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=256
	Locality []string `json:"locality,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=256
	Street []string `json:"street,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=256
	PostalCode []string `json:"postalCode,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=256
	SerialNumber []string `json:"serialNumber,omitempty"`
}

// NamespaceSelector selects namespaces by name or by labels.
// +kubebuilder:validation:XValidation:rule="has(self.names) || has(self.selector)",message="set names, selector or both"
type NamespaceSelector struct {
	// Names are namespaces selected by name.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=63
	Names []string `json:"names,omitempty"`
	// Selector selects namespaces by their labels; {} selects every one.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
}

// KubernetesCSRRequesters says who may use a template through Kubernetes
// CertificateSigningRequests, by the user the API server recorded on the CSR.
// +kubebuilder:validation:XValidation:rule="(has(self.usernames) && size(self.usernames) > 0) || (has(self.groups) && size(self.groups) > 0)",message="set usernames, groups or both; use usernames: ['*'] to allow every user"
type KubernetesCSRRequesters struct {
	// Usernames are glob patterns ('*' matches any run of characters) of
	// spec.username, e.g. 'system:node:*'.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=256
	Usernames []string `json:"usernames,omitempty"`
	// Groups are glob patterns of spec.groups, e.g. 'system:nodes'.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=256
	Groups []string `json:"groups,omitempty"`
}

// CAStatus is what an operator wants to know about the CA at a glance.
type CAStatus struct {
	// Subject of the CA certificate.
	// +optional
	Subject string `json:"subject,omitempty"`
	// NotAfter is when the CA certificate expires.
	// +optional
	NotAfter *metav1.Time `json:"notAfter,omitempty"`
	// SHA256Fingerprint of the CA certificate's DER, hex with colons.
	// +optional
	SHA256Fingerprint string `json:"sha256Fingerprint,omitempty"`
	// Key is the CA key held in a KMS or an HSM (spec.ca.key), as the
	// issuer last opened it.
	// +optional
	Key *CAKeyStatus `json:"key,omitempty"`
}

// CAKeyStatus describes the CA key held in a KMS or an HSM.
type CAKeyStatus struct {
	// URI names the key that signs (it never holds a credential).
	URI string `json:"uri"`
	// Backend is awskms or pkcs11.
	Backend string `json:"backend"`
	// PublicKeySHA256 is the SHA-256 of the key's public key
	// (SubjectPublicKeyInfo DER), hex with colons: what the KMS or HSM
	// shows of the key, checked against the CA certificate.
	PublicKeySHA256 string `json:"publicKeySHA256"`
}

// IssuerStatus is the status shared by NstanceIssuer and NstanceClusterIssuer.
type IssuerStatus struct {
	// The shape of issuer-lib's IssuerStatus, written out rather than
	// embedded: that package imports controller-runtime's client, and the
	// API types (and the PKI core, which reads them) stay free of it.

	// List of status conditions to indicate the status of an Issuer.
	// Known condition types are `Ready` and `CARotation`.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// CA describes the CA this issuer last loaded.
	// +optional
	CA *CAStatus `json:"ca,omitempty"`

	// Rotation is the CA lifecycle: every live CA generation and the phase.
	// +optional
	Rotation *RotationStatus `json:"rotation,omitempty"`
}
