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

// Package explain answers, without signing anything with the issuer's CA,
// what an issuer would do with a request: which template applies and why,
// the certificate it would sign, or the refusal with the message the
// controller would write. It runs the controller's own path: the issuer
// through pki.ValidateIssuer, the request as signing.NewRequest reads it,
// the template by pki.SelectPolicy, and pki.Issue, signing with a stand-in
// CA that has the real CA's subject and NotAfter (from the issuer's
// status.ca or its ca.generate template).
package explain

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sort"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	"github.com/cert-manager/issuer-lib/controllers/signer"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/controller/signing"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
)

// Decisions, and the exit codes of the command.
const (
	// Issued: the request would be signed (exit 0).
	Issued = "Issued"
	// Refused: the request would fail for good (exit 1).
	Refused = "Refused"
	// Waits: the request would wait, the issuer not Ready, e.g. its CA has
	// expired (exit 1).
	Waits = "Waits"
	// InvalidIssuer: the issuer itself is refused (exit 2).
	InvalidIssuer = "InvalidIssuer"
)

// Result is what explain found.
type Result struct {
	// Issuer names the issuer: "NstanceClusterIssuer first".
	Issuer string `json:"issuer"`
	// Request names the request: "Certificate default/hello".
	Request string `json:"request"`
	// Decision is Issued, Refused, Waits or InvalidIssuer.
	Decision string `json:"decision"`
	// Template is the template that applies, and TemplateReason why.
	Template       string `json:"template,omitempty"`
	TemplateReason string `json:"templateReason,omitempty"`
	// PassThrough: no template, signed as asked (allowPassThrough).
	PassThrough bool `json:"passThrough,omitempty"`
	// Certificate is what would be signed.
	Certificate *Certificate `json:"certificate,omitempty"`
	// Refusal is why it would not be.
	Refusal *Refusal `json:"refusal,omitempty"`
	// IssuerErrors are the issuer's problems (InvalidIssuer), each
	// "<field path>: <message>"; IssuerMessage is its Ready condition
	// message.
	IssuerErrors  []string `json:"issuerErrors,omitempty"`
	IssuerMessage string   `json:"issuerMessage,omitempty"`
	// Warnings are the issuer's legal-but-likely-wrong settings.
	Warnings []string `json:"warnings,omitempty"`
	// Events are the warning Events the controller would record on the
	// request (reason: message).
	Events []string `json:"events,omitempty"`
	// Notes say what explain could not know and assumed.
	Notes []string `json:"notes,omitempty"`
}

// ExitCode is the command's exit code for r: 0 would be issued, 1 would
// not (refused, or waiting for the issuer), 2 the issuer is invalid.
func (r Result) ExitCode() int {
	switch r.Decision {
	case Issued:
		return 0
	case InvalidIssuer:
		return 2
	}
	return 1
}

// Refusal is why a request would not be signed.
type Refusal struct {
	// Reason is the PKI core's reason (PolicyViolation, WeakKey, ...).
	Reason string `json:"reason"`
	// Message is the controller's message: the template, the rule, the
	// value and the fix.
	Message string `json:"message"`
	// Condition is the request's Ready condition as kubectl describe
	// would show it: "<reason>: <message>".
	Condition string `json:"condition"`
}

// Certificate is what would be signed.
type Certificate struct {
	Subject        string   `json:"subject"`
	DNSNames       []string `json:"dnsNames,omitempty"`
	IPAddresses    []string `json:"ipAddresses,omitempty"`
	URIs           []string `json:"uris,omitempty"`
	EmailAddresses []string `json:"emailAddresses,omitempty"`
	KeyUsages      []string `json:"keyUsages,omitempty"`
	ExtKeyUsages   []string `json:"extKeyUsages,omitempty"`
	// Lifetime is NotAfter - NotBefore (NotBefore is backdated 30 s).
	Lifetime  string    `json:"lifetime"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
	// Truncated: the lifetime was cut to the CA's NotAfter.
	Truncated bool `json:"truncated,omitempty"`
	IsCA      bool `json:"isCA"`
	// MaxPathLen is set for a CA certificate.
	MaxPathLen      *int             `json:"maxPathLen,omitempty"`
	NameConstraints *NameConstraints `json:"nameConstraints,omitempty"`
}

// NameConstraints of a CA certificate.
type NameConstraints struct {
	Critical                bool     `json:"critical"`
	PermittedDNSDomains     []string `json:"permittedDNSDomains,omitempty"`
	ExcludedDNSDomains      []string `json:"excludedDNSDomains,omitempty"`
	PermittedIPRanges       []string `json:"permittedIPRanges,omitempty"`
	ExcludedIPRanges        []string `json:"excludedIPRanges,omitempty"`
	PermittedEmailAddresses []string `json:"permittedEmailAddresses,omitempty"`
	ExcludedEmailAddresses  []string `json:"excludedEmailAddresses,omitempty"`
	PermittedURIDomains     []string `json:"permittedURIDomains,omitempty"`
	ExcludedURIDomains      []string `json:"excludedURIDomains,omitempty"`
}

// Input is an issuer and a request.
type Input struct {
	// Issuer is an *v1alpha1.NstanceIssuer or *v1alpha1.NstanceClusterIssuer.
	Issuer issuerapi.Issuer
	// Request is the CertificateRequest as the controller would see it
	// (cert-manager's own, or one built from a Certificate: BuildRequest).
	Request *cmapi.CertificateRequest
	// RequestName names it in the output: "Certificate default/hello".
	RequestName string
	// NamespaceLabels returns the labels of a namespace, for templates
	// that select namespaces by label; nil when they are not known.
	NamespaceLabels func(ctx context.Context, namespace string) (map[string]string, error)
	// Now is the time to decide at.
	Now time.Time
}

// ErrNamespaceLabels: the template selects namespaces by label and the
// labels of the request's namespace are not known.
var ErrNamespaceLabels = errors.New("the template selects namespaces by label: give the namespace's labels (--namespace-labels) or read them from the cluster (--from-cluster)")

// Explain decides what the issuer would do with the request. An error is
// a problem of the input (not a decision): a malformed request, unknown
// namespace labels.
func Explain(ctx context.Context, in Input) (Result, error) {
	v, err := issuer.NewView(in.Issuer, "")
	if err != nil {
		return Result{}, err
	}
	r := Result{Issuer: v.String(), Request: in.RequestName}
	validation := pki.ValidateIssuer(v.Spec, v.Data)
	r.Warnings = validation.Warnings
	if err := validation.Err(v.String()); err != nil {
		r.Decision, r.IssuerMessage = InvalidIssuer, err.Error()
		for _, e := range validation.Errors {
			r.IssuerErrors = append(r.IssuerErrors, e.Field+": "+e.Detail)
		}
		return r, nil
	}
	cr := signer.CertificateRequestObjectFromCertificateRequest(in.Request)
	policy, err := pki.SelectPolicy(v.Spec, in.Request.Annotations, v.String())
	if err != nil {
		return r.refused(err), nil
	}
	r.Template, r.TemplateReason, r.PassThrough = templateReason(in.Request.Annotations, policy)
	req, err := signing.NewRequest(cr)
	if err != nil {
		return r.refused(err), nil
	}
	if policy.NeedsNamespaceLabels() {
		if in.NamespaceLabels == nil {
			return Result{}, ErrNamespaceLabels
		}
		if req.NamespaceLabels, err = in.NamespaceLabels(ctx, req.Namespace); err != nil {
			return Result{}, err
		}
	}
	ca, notes, err := standInCA(v, in.Now)
	if err != nil {
		return Result{}, err
	}
	r.Notes = notes
	issued, err := pki.Issue(ca, policy, req, pki.RenderData{Vars: v.Spec.Vars, Issuer: v.Data}, in.Now, rand.Reader)
	if err != nil {
		return r.refused(err), nil
	}
	r.Decision = Issued
	r.Certificate = describe(issued)
	if issued.Truncated {
		r.Events = append(r.Events, fmt.Sprintf("%s: Lifetime cut to the CA's NotAfter %s (requested until %s); rotate the CA of %s", v1alpha1.EventReasonLifetimeTruncated,
			issued.Cert.NotAfter.UTC().Format(time.RFC3339), issued.RequestedNotAfter.UTC().Format(time.RFC3339), v))
	}
	for _, w := range issued.Warnings {
		r.Events = append(r.Events, w.Reason+": "+w.Message)
	}
	return r, nil
}

// conditionPrefix is how issuer-lib words the Ready condition of a
// CertificateRequest that failed for good (a test compares it with the
// real thing).
const conditionPrefix = "Failed permanently to sign CertificateRequest: "

// refused records why the request would not be signed: a request that
// can never succeed fails (Refused), a CA problem makes it wait (Waits).
func (r Result) refused(err error) Result {
	var reqErr *pki.RequestError
	var tmplErr *pki.TemplateError
	var caErr *pki.CAError
	switch {
	case errors.As(err, &reqErr):
		r.Decision, r.Refusal = Refused, &Refusal{Reason: reqErr.Reason, Message: err.Error()}
	case errors.As(err, &tmplErr):
		r.Decision, r.Refusal = Refused, &Refusal{Reason: "TemplateError", Message: err.Error()}
	case errors.As(err, &caErr):
		r.Decision = Waits
		r.Refusal = &Refusal{Reason: caErr.Reason, Message: err.Error(),
			Condition: "Pending: the issuer is not Ready (" + caErr.Msg + "); the request waits until the CA is fixed"}
		return r
	default:
		r.Decision, r.Refusal = Refused, &Refusal{Reason: "InvalidRequest", Message: err.Error()}
	}
	r.Refusal.Condition = cmapi.CertificateRequestReasonFailed + ": " + conditionPrefix + err.Error()
	return r
}

// templateReason says which template applies and why.
func templateReason(annotations map[string]string, p pki.Policy) (name, why string, passThrough bool) {
	if p.PassThrough {
		return "", "no template annotation and no defaultTemplate: signed as asked, because the issuer sets allowPassThrough", true
	}
	if _, ok := annotations[v1alpha1.TemplateAnnotation]; ok {
		return p.Template.Name, "the request's annotation " + v1alpha1.TemplateAnnotation + " names it", false
	}
	return p.Template.Name, fmt.Sprintf("the issuer's defaultTemplate (the request has no %s annotation)", v1alpha1.TemplateAnnotation), false
}

// describe is the certificate a person reads.
func describe(issued *pki.Issued) *Certificate {
	c := issued.Cert
	out := &Certificate{
		Subject: c.Subject.String(), DNSNames: c.DNSNames, EmailAddresses: c.EmailAddresses,
		KeyUsages: KeyUsages(c.KeyUsage), ExtKeyUsages: ExtKeyUsages(c.ExtKeyUsage),
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), Lifetime: c.NotAfter.Sub(c.NotBefore).String(),
		Truncated: issued.Truncated, IsCA: c.IsCA,
	}
	for _, ip := range c.IPAddresses {
		out.IPAddresses = append(out.IPAddresses, ip.String())
	}
	for _, u := range c.URIs {
		out.URIs = append(out.URIs, u.String())
	}
	if c.IsCA {
		n := c.MaxPathLen
		if c.MaxPathLenZero {
			n = 0
		}
		if n >= 0 {
			out.MaxPathLen = &n
		}
		out.NameConstraints = nameConstraints(c)
	}
	return out
}

func nameConstraints(c *x509.Certificate) *NameConstraints {
	nc := &NameConstraints{
		Critical:            c.PermittedDNSDomainsCritical,
		PermittedDNSDomains: c.PermittedDNSDomains, ExcludedDNSDomains: c.ExcludedDNSDomains,
		PermittedEmailAddresses: c.PermittedEmailAddresses, ExcludedEmailAddresses: c.ExcludedEmailAddresses,
		PermittedURIDomains: c.PermittedURIDomains, ExcludedURIDomains: c.ExcludedURIDomains,
		PermittedIPRanges: ipNets(c.PermittedIPRanges), ExcludedIPRanges: ipNets(c.ExcludedIPRanges),
	}
	if !nc.Critical && len(nc.PermittedDNSDomains)+len(nc.ExcludedDNSDomains)+len(nc.PermittedEmailAddresses)+len(nc.ExcludedEmailAddresses)+
		len(nc.PermittedURIDomains)+len(nc.ExcludedURIDomains)+len(nc.PermittedIPRanges)+len(nc.ExcludedIPRanges) == 0 {
		return nil
	}
	return nc
}

func ipNets(nets []*net.IPNet) []string {
	var out []string
	for _, n := range nets {
		out = append(out, n.String())
	}
	return out
}

var keyUsageNames = []struct {
	u    x509.KeyUsage
	name string
}{
	{x509.KeyUsageDigitalSignature, "digital signature"}, {x509.KeyUsageContentCommitment, "content commitment"},
	{x509.KeyUsageKeyEncipherment, "key encipherment"}, {x509.KeyUsageDataEncipherment, "data encipherment"},
	{x509.KeyUsageKeyAgreement, "key agreement"}, {x509.KeyUsageCertSign, "cert sign"}, {x509.KeyUsageCRLSign, "crl sign"},
	{x509.KeyUsageEncipherOnly, "encipher only"}, {x509.KeyUsageDecipherOnly, "decipher only"},
}

// KeyUsages names key usages as cert-manager's spec.usages do.
func KeyUsages(u x509.KeyUsage) []string {
	var out []string
	for _, k := range keyUsageNames {
		if u&k.u != 0 {
			out = append(out, k.name)
		}
	}
	return out
}

var extKeyUsageNames = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageAny: "any", x509.ExtKeyUsageServerAuth: "server auth", x509.ExtKeyUsageClientAuth: "client auth",
	x509.ExtKeyUsageCodeSigning: "code signing", x509.ExtKeyUsageEmailProtection: "email protection",
	x509.ExtKeyUsageIPSECEndSystem: "ipsec end system", x509.ExtKeyUsageIPSECTunnel: "ipsec tunnel", x509.ExtKeyUsageIPSECUser: "ipsec user",
	x509.ExtKeyUsageTimeStamping: "timestamping", x509.ExtKeyUsageOCSPSigning: "ocsp signing",
	x509.ExtKeyUsageMicrosoftServerGatedCrypto: "microsoft sgc", x509.ExtKeyUsageNetscapeServerGatedCrypto: "netscape sgc",
}

// ExtKeyUsages names extended key usages as cert-manager's spec.usages
// do, sorted.
func ExtKeyUsages(us []x509.ExtKeyUsage) []string {
	var out []string
	for _, u := range us {
		name, ok := extKeyUsageNames[u]
		if !ok {
			name = fmt.Sprintf("unknown (%d)", u)
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// String names a Result for logs.
func (r Result) String() string { return r.Decision + " " + r.Request }
