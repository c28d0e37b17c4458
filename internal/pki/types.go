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

// Package pki is the pure certificate core of nstance-issuer: it loads and
// generates CAs, renders templates, applies a template's policy to a CSR and
// signs the result. It knows nothing of Kubernetes clients; every function
// takes the current time as an argument.
package pki

import (
	"crypto"
	"crypto/x509"
	"time"
)

// CA is a parsed, validated certificate authority ready to sign.
type CA struct {
	// Cert is the signing certificate (the first certificate of tls.crt).
	Cert *x509.Certificate
	// Signer is the private key matching Cert.
	Signer crypto.Signer
	// Intermediates are the certificates of tls.crt after Cert, up to but
	// excluding a self-signed root.
	Intermediates []*x509.Certificate
	// Root is the trust anchor: ca.crt when given (the certificate of ca.crt
	// that the chain verifies up to; it must be self-signed), else the
	// self-signed last certificate of tls.crt, else Cert when it is
	// self-signed. Nil when none of these is available (then RootPEM is
	// empty).
	Root *x509.Certificate
	// ChainPEM is Cert followed by Intermediates, PEM-encoded: what follows
	// the leaf in an issued chain. It is empty when Cert is itself a
	// self-signed root: a root never travels in a chain, only in ca.crt
	// (as with cert-manager's CA issuer).
	ChainPEM []byte
	// RootPEM is Root PEM-encoded: what goes in ca.crt.
	RootPEM []byte

	// subject is subjectOf.Subject.String(), which LoadCA computes once so
	// that the self-issued check (checkSubjectNotCA) does not for every
	// request; it counts only while subjectOf is still Cert.
	subjectOf *x509.Certificate
	subject   string
}

// subjectString is ca.Cert.Subject.String().
func (ca *CA) subjectString() string {
	if ca.subjectOf != nil && ca.subjectOf == ca.Cert {
		return ca.subject
	}
	return ca.Cert.Subject.String()
}

// RenderData is what templates can see.
type RenderData struct {
	Vars    map[string]string
	Request RequestData
	Issuer  IssuerData
}

// RequestData describes the request being signed. It is data, never
// rendered as a template.
type RequestData struct {
	// Name is the name of the cert-manager Certificate behind the request
	// when there is one, else of the request object itself.
	Name           string
	Namespace      string
	CommonName     string
	DNSNames       []string
	IPAddresses    []string
	URIs           []string
	EmailAddresses []string
	Duration       time.Duration
	// Username and Groups are who created a Kubernetes CSR, as the API
	// server recorded it (spec.username, spec.groups): vouched for, unlike
	// everything above but Namespace. Empty for CertificateRequests.
	Username string
	Groups   []string
	// PodName, PodUID, ServiceAccountName, ServiceAccountUID, NodeName and
	// NodeUID are the pod behind a Kubernetes PodCertificateRequest, as the
	// API server checked and recorded them (spec.podName, ...): vouched
	// for. Empty for every other request.
	PodName            string
	PodUID             string
	ServiceAccountName string
	ServiceAccountUID  string
	NodeName           string
	NodeUID            string
}

// IssuerData describes the issuer signing the request.
type IssuerData struct {
	Name      string
	Namespace string
	Kind      string
}

// Request is one certificate request to sign.
type Request struct {
	// CSR is the PEM-encoded PKCS#10 certificate request.
	CSR []byte
	// Duration is the requested lifetime (cert-manager defaults it to 90 days).
	Duration time.Duration
	// IsCA asks for a CA certificate.
	IsCA bool
	// KeyUsage and ExtKeyUsage are the usages the request asks for.
	KeyUsage    x509.KeyUsage
	ExtKeyUsage []x509.ExtKeyUsage
	// Name is the Certificate's name for a CertificateRequest that
	// cert-manager made for a Certificate, else the request object's name;
	// Namespace is the request's (empty for a Kubernetes CSR).
	Name      string
	Namespace string
	// NamespaceLabels are the labels of Namespace, needed only when the
	// template selects namespaces by label (Policy.NeedsNamespaceLabels).
	NamespaceLabels map[string]string
	// KubernetesCSR is true for a Kubernetes CertificateSigningRequest;
	// Username and Groups are its spec.username and spec.groups, which the
	// API server sets.
	KubernetesCSR bool
	Username      string
	Groups        []string
	// Pod is set for a Kubernetes PodCertificateRequest: the pod's identity
	// and the lifetime limit. Name and Namespace are the request's. CSR is
	// its stub PKCS#10 request (the kubelet's is empty: only its key
	// counts), and Duration is ignored.
	Pod *PodIdentity
}

// PodIdentity is the pod behind a PodCertificateRequest, as the API server
// checked and recorded it: the kubelet of the pod's node created the
// request, and the node, pod and service account exist with these UIDs.
type PodIdentity struct {
	PodName            string
	PodUID             string
	ServiceAccountName string
	ServiceAccountUID  string
	NodeName           string
	NodeUID            string
	// MaxLifetime is spec.maxExpirationSeconds: the certificate's whole
	// validity, NotBefore to NotAfter, must fit in it.
	MaxLifetime time.Duration
}

// Issued is a signed certificate with what the caller needs to deliver and
// report it.
type Issued struct {
	// Cert is the parsed leaf certificate.
	Cert *x509.Certificate
	// ChainPEM is the leaf followed by the CA's chain (CA.ChainPEM).
	ChainPEM []byte
	// CAPEM is the root for ca.crt (CA.RootPEM).
	CAPEM []byte
	// Template is the name of the template applied, empty for pass-through.
	Template string
	// PassThrough is true when the request was signed as asked, without a
	// template.
	PassThrough bool
	// Truncated is true when the lifetime was cut to the CA's NotAfter;
	// RequestedNotAfter is what it would have been.
	Truncated         bool
	RequestedNotAfter time.Time
	// Warnings are things a person should know, e.g. an Ed25519 key on a
	// server certificate, which browsers reject.
	Warnings []Warning
}

// Warning is something a person should know about an issued certificate:
// an Event reason (one of v1alpha1's EventReason constants) and a message.
type Warning struct {
	Reason  string
	Message string
}
