package v1alpha1

import (
	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
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

	// Vars are values the templates can use as {{ .Vars.Name }}.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	Vars map[string]string `json:"vars,omitempty"`

	// Templates shape the certificates this issuer signs. A request selects one
	// with the issuer.nstance.dev/template annotation; without it the
	// defaultTemplate applies; with neither, the request is signed as asked,
	// like cert-manager's CA issuer, within the CA's lifetime.
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

// CASpec names the Secret that holds the CA.
type CASpec struct {
	// SecretName is the Secret holding the CA: tls.crt (the CA certificate,
	// optionally followed by intermediates up to the root), tls.key (its
	// private key, PKCS#1, PKCS#8 or SEC1 PEM) and optionally ca.crt (the root).
	// An NstanceIssuer reads it from its own namespace, an NstanceClusterIssuer
	// from the cluster resource namespace of the controller.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	SecretName string `json:"secretName"`

	// Generate, when set and the Secret does not exist, creates a self-signed
	// root CA in that Secret once. An existing Secret is never overwritten.
	// +optional
	Generate *CATemplate `json:"generate,omitempty"`
}

// Subject holds the subject fields a template sets. Each field supports Go
// templating over .Vars, .Request and .Issuer.
type Subject struct {
	// CN is the common name.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	CN string `json:"cn,omitempty"`
	// Organization (O).
	// +optional
	// +kubebuilder:validation:MaxItems=16
	Organization []string `json:"organization,omitempty"`
	// OrganizationalUnit (OU).
	// +optional
	// +kubebuilder:validation:MaxItems=16
	OrganizationalUnit []string `json:"organizationalUnit,omitempty"`
	// Country (C).
	// +optional
	// +kubebuilder:validation:MaxItems=16
	Country []string `json:"country,omitempty"`
	// Province is the state or province (ST).
	// +optional
	// +kubebuilder:validation:MaxItems=16
	Province []string `json:"province,omitempty"`
	// Locality is the city (L).
	// +optional
	// +kubebuilder:validation:MaxItems=16
	Locality []string `json:"locality,omitempty"`
	// Street is the street address.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	Street []string `json:"street,omitempty"`
	// PostalCode is the postal code.
	// +optional
	// +kubebuilder:validation:MaxItems=16
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
// a request may ask for.
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

	// Subject fields set here replace the request's; unset ones keep it.
	Subject `json:",inline"`

	// DNS names added to the requested ones. Templated.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	DNS []string `json:"dns,omitempty"`

	// IP addresses added to the requested ones. Templated.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	IP []string `json:"ip,omitempty"`

	// TTL caps the lifetime in hours: a certificate lives for the shorter of
	// the requested duration and this. Unset: the requested duration.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=876000
	TTL int32 `json:"ttl,omitempty"`

	// AllowedDNSNames are the patterns a requested DNS name (and a DNS-like
	// common name) must match. '*' as a whole label matches exactly one label,
	// so '*.example.com' allows 'a.example.com' but neither 'example.com' nor
	// 'a.b.example.com'. Templated. Empty: any DNS name.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	AllowedDNSNames []string `json:"allowedDNSNames,omitempty"`

	// AllowedIPRanges are CIDRs a requested IP address must fall in.
	// Empty: any IP address.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	AllowedIPRanges []string `json:"allowedIPRanges,omitempty"`

	// AllowedURIs are glob patterns ('*' matches any run of characters) a
	// requested URI SAN must match. Templated. Empty: any URI.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	AllowedURIs []string `json:"allowedURIs,omitempty"`

	// AllowedEmailAddresses are glob patterns a requested email SAN must
	// match. Templated. Empty: any email address.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	AllowedEmailAddresses []string `json:"allowedEmailAddresses,omitempty"`

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

	// AllowCA lets requests with isCA sign intermediate CA certificates.
	// Default false: such requests fail.
	// +optional
	AllowCA bool `json:"allowCA,omitempty"`
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
}

// IssuerStatus is the status shared by NstanceIssuer and NstanceClusterIssuer.
type IssuerStatus struct {
	issuerapi.IssuerStatus `json:",inline"`

	// CA describes the CA this issuer last loaded.
	// +optional
	CA *CAStatus `json:"ca,omitempty"`
}
