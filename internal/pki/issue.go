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

package pki

import (
	"crypto/x509"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// issuance is one certificate being built: the inputs, and the certificate
// template the steps fill in.
type issuance struct {
	ca     *CA
	policy Policy
	tmpl   *v1alpha1.CertificateTemplate // policy.Template
	req    Request
	csr    *x509.CertificateRequest
	// raw is what walkCSR read of the CSR's DER: its subject as encoded
	// and the requested extensions the issuer evaluates.
	raw rawRequest
	// subject is the CSR's subject, parsed and checked for structure.
	subject distinguishedName
	// issuedSubject is the certificate's subject (applySubject).
	issuedSubject distinguishedName
	data          RenderData
	now           time.Time
	// budget bounds what rendering may allocate for this request.
	budget *requestBudget
	// memo keeps the renderings of texts that use only the issuer's data
	// (memoRender); memoScope is this issuer's part of it, found through
	// memoHash once memoHashed.
	memo       *renderMemo
	memoScope  *memoScope
	memoHash   uint64
	memoHashed bool

	// keyAlg is the CSR key's algorithm, set by the key policy.
	keyAlg v1alpha1.KeyAlgorithm
	// allowed are the template's allow-lists rendered for this request.
	allowed allowLists
	// origins says where each value of cert came from.
	origins origins
	// cert is the certificate being built.
	cert x509.Certificate
	// out collects what Issue reports besides the certificate.
	out Issued
}

// step is one stage of issuance: a modifier that fills in is.cert, or a
// validator that rejects the request, or both.
type step func(is *issuance) error

// steps run in order after the CSR is parsed, its key and subject
// structure accepted, and its SANs counted. Modifiers record where each
// value comes from; enforcePolicy then checks, in one place, every value
// of the finished certificate that a requester could influence.
var steps = []step{
	checkPodCSR,              // a PodCertificateRequest's stub CSR asks for nothing
	checkRequestedExtensions, // the CSR's usages and CA flag agree with the request's
	checkRequester,           // the template's namespaces or Kubernetes CSR users
	renderAllowLists,         // the template's allow-lists for this request
	applySubject,             // the request's subject, template fields replacing
	checkSubjectNotCA,        // a leaf must not look self-issued
	applySANs,                // requested SANs plus the template's
	applyBasicConstraints,    // isCA policy and NameConstraints
	applyUsages,              // key usages and extended key usages
	applyValidity,            // NotBefore, NotAfter, clamped to the CA
	enforcePolicy,            // every requester-influenced value against the policy
	addWarnings,              // things a person should know
}

// Issue signs the CSR of req with ca under policy: a template that shapes
// and limits the certificate, or pass-through (as asked, like
// cert-manager's CA issuer) only when policy says so. data carries Vars
// and Issuer; Issue fills data.Request from req and the CSR. It always
// certifies the CSR's own public key, and encodes the subject and SANs
// from the values the policy checked: nothing of the CSR is copied raw.
// The subject keeps the requested RDNs' order, grouping and string types
// (applySubject); whatever part of the CSR the issuer does not evaluate is
// refused by name (walkCSR).
//
// Errors: *RequestError when the request can never succeed as it is,
// *CAError when the CA cannot sign (e.g. expired), *TemplateError when the
// template itself is broken, and a plain error when signing failed.
func Issue(ca *CA, policy Policy, req Request, data RenderData, now time.Time, rand io.Reader) (*Issued, error) {
	return issue(ca, policy, req, data, now, rand, renderMemos)
}

// issue is Issue with the render memo to use (nil: none).
func issue(ca *CA, policy Policy, req Request, data RenderData, now time.Time, rand io.Reader, memo *renderMemo) (*Issued, error) {
	if ca == nil || ca.Cert == nil || ca.Signer == nil {
		return nil, caErrorf(ReasonNotLoaded, "no CA is loaded")
	}
	if cerr := checkValidity(ca.Cert, "CA certificate", now); cerr != nil {
		cerr.Cert = ca.Cert
		return nil, cerr
	}
	if policy.Template == nil && !policy.PassThrough {
		return nil, requestErrorf(ReasonNoTemplate, "no template applies to this request and the issuer does not allow pass-through")
	}
	if terr := checkVars(data.Vars); terr != nil {
		return nil, terr
	}
	is, err := newIssuance(ca, policy, req, data, now)
	if err != nil {
		return nil, err
	}
	is.memo = memo
	for _, s := range steps {
		if err := s(is); err != nil {
			return nil, err
		}
	}
	return sign(is, rand)
}

// newIssuance parses the CSR and applies what needs no rendering: the key
// policy, the number of SANs, and the walk of the CSR's DER (walkCSR):
// the subject's structure and caps, the SAN types, the requested
// extensions and attributes. Nothing is rendered before these caps hold.
func newIssuance(ca *CA, policy Policy, req Request, data RenderData, now time.Time) (*issuance, error) {
	csr, err := ParseCSR(req.CSR)
	if err != nil {
		return nil, err
	}
	is := &issuance{ca: ca, policy: policy, tmpl: policy.Template, req: req, csr: csr, data: data, now: now, budget: newRequestBudget()}
	if is.tmpl != nil {
		is.out.Template = is.tmpl.Name
	}
	is.out.PassThrough = policy.PassThrough && is.tmpl == nil
	if is.keyAlg, err = checkKey(csr.PublicKey, is.tmpl); err != nil {
		return nil, podKeyError(req, err)
	}
	if requested := len(csr.DNSNames) + len(csr.IPAddresses) + len(csr.URIs) + len(csr.EmailAddresses); requested > MaxSANs {
		return nil, requestErrorf(ReasonTooManySANs, "the CSR asks for %d subject alternative names, more than the %d allowed; split it into several certificates", requested, MaxSANs)
	}
	if is.raw, err = walkCSR(csr.Raw, csr); err != nil {
		return nil, err
	}
	is.subject = is.raw.subject
	is.data.Request = requestData(req, csr)
	return is, nil
}

// requestData is what templates see of the request.
func requestData(req Request, csr *x509.CertificateRequest) RequestData {
	d := RequestData{
		Name:           req.Name,
		Namespace:      req.Namespace,
		CommonName:     csr.Subject.CommonName,
		DNSNames:       csr.DNSNames,
		EmailAddresses: csr.EmailAddresses,
		Duration:       req.Duration,
		Username:       req.Username,
		Groups:         req.Groups,
	}
	if p := req.Pod; p != nil {
		d.PodName, d.PodUID = p.PodName, p.PodUID
		d.ServiceAccountName, d.ServiceAccountUID = p.ServiceAccountName, p.ServiceAccountUID
		d.NodeName, d.NodeUID = p.NodeName, p.NodeUID
		d.Duration = p.MaxLifetime
	}
	for _, ip := range csr.IPAddresses {
		d.IPAddresses = append(d.IPAddresses, ip.String())
	}
	for _, u := range csr.URIs {
		d.URIs = append(d.URIs, u.String())
	}
	return d
}

// renderedValue is one rendered entry of a templated list field.
type renderedValue struct {
	field, text, value string
	// trusted is true when text renders only trusted data (fieldTrusted).
	trusted bool
}

// render renders one field of the template for this request. A failure
// depends on the request's data (the templates were validated on sample
// data), so it fails the request. A text that uses only the issuer's data
// is rendered once per issuer and namespace (memoRender), with the same
// result and errors.
func (is *issuance) render(field, text string) (string, error) {
	if v, ok, err := is.memoRender(field, text); ok {
		return v, err
	}
	return is.renderUncached(field, text)
}

// renderUncached is render without the memo.
func (is *issuance) renderUncached(field, text string) (string, error) {
	v, terr := renderField(is.tmpl.Name, field, text, is.data, is.budget)
	if terr != nil {
		return "", requestErrorf(ReasonTemplateRenderFailed, "%s (rendering for this request); fix the template or the request", terr.Error())
	}
	return v, nil
}

// renderList renders each entry of a list field, trimmed, dropping the
// entries that render empty.
func (is *issuance) renderList(field string, texts []string) ([]renderedValue, error) {
	var out []renderedValue
	for i, text := range texts {
		f := fmt.Sprintf("%s[%d]", field, i)
		v, err := is.render(f, text)
		if err != nil {
			return nil, err
		}
		if v = trimSpace(v); v != "" {
			out = append(out, renderedValue{field: f, text: text, value: v, trusted: fieldTrusted(text)})
		}
	}
	return out, nil
}

// badValue reports a template field that rendered an unusable value. A
// field without template actions is the issuer's mistake (TemplateError);
// a templated one went wrong with this request's data (RequestError), so
// that a request cannot take the issuer out of service.
func (is *issuance) badValue(field, text, what string) error {
	if !strings.Contains(text, "{{") {
		return templateErrorf(is.tmpl.Name, field, "%s; fix the template", what)
	}
	return requestErrorf(ReasonTemplateRenderFailed, "template %q field %s rendered %s for this request; fix the template or the request", is.tmpl.Name, field, what)
}

// addWarnings notes what a person should know about the certificate.
func addWarnings(is *issuance) error {
	if is.keyAlg == v1alpha1.Ed25519KeyAlgorithm {
		if slices.Contains(is.cert.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
			is.out.Warnings = append(is.out.Warnings, Warning{
				Reason:  v1alpha1.EventReasonEd25519ServerCertificate,
				Message: "Ed25519 server certificates are rejected by browsers; use ECDSA or RSA for web traffic",
			})
		}
	}
	return nil
}
