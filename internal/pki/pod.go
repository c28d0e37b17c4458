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
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// Reasons of pod certificate refusals. UnsupportedKeyType and
// InvalidUnverifiedUserAnnotations are the reasons the
// PodCertificateRequest API names for a Denied condition.
const (
	// ReasonUnsupportedKeyType: the pod's key type is not one the template
	// allows.
	ReasonUnsupportedKeyType = "UnsupportedKeyType"
	// ReasonInvalidUnverifiedUserAnnotations: the podCertificate volume's
	// userAnnotations hold a key nstance-issuer does not know, or select a
	// template that cannot be selected that way.
	ReasonInvalidUnverifiedUserAnnotations = "InvalidUnverifiedUserAnnotations"
	// ReasonPodCertificatesNotAllowed: the template has no podCertificates.
	ReasonPodCertificatesNotAllowed = "PodCertificatesNotAllowed"
	// ReasonLifetimeTooShort: the certificate would be valid for less than
	// the hour the API requires (the CA expires sooner).
	ReasonLifetimeTooShort = "LifetimeTooShort"
)

// MinPodCertificateLifetime is the shortest pod certificate the API server
// accepts.
const MinPodCertificateLifetime = time.Hour

// SelectPodPolicy picks the template a PodCertificateRequest is signed
// under from its spec.unverifiedUserAnnotations: the template named by
// issuer.nstance.dev/template, which must allow pod certificates and
// selection by annotation; without it, the issuer's defaultTemplate, which
// must allow pod certificates. Pod certificates are never pass-through.
// Any other key is refused: the API asks signers to deny keys they do not
// know. Errors are *RequestError (a *TemplateError for a defaultTemplate
// that names no template).
func SelectPodPolicy(spec *v1alpha1.IssuerSpec, annotations map[string]string, issuer string) (Policy, error) {
	p := Policy{LeafNotAfterBehavior: spec.LeafNotAfterBehavior}
	keys := make([]string, 0, len(annotations))
	for k := range annotations {
		if k != v1alpha1.PodCertificateTemplateAnnotation {
			keys = append(keys, k)
		}
	}
	if len(keys) > 0 {
		slices.Sort(keys)
		return p, requestErrorf(ReasonInvalidUnverifiedUserAnnotations, "userAnnotations %s are not recognized by %s; the only key it reads is %s (a template name): remove the others from the podCertificate volume", list(keys), issuer, v1alpha1.PodCertificateTemplateAnnotation)
	}
	name, annotated := annotations[v1alpha1.PodCertificateTemplateAnnotation]
	switch {
	case annotated && name == "":
		return p, requestErrorf(ReasonInvalidUnverifiedUserAnnotations, "userAnnotation %s is present but empty; name a template of %s that allows pod certificates (%s), or remove it to use the default", v1alpha1.PodCertificateTemplateAnnotation, issuer, podTemplateNames(spec))
	case annotated:
		t := findTemplate(spec, name)
		switch {
		case t == nil:
			return p, requestErrorf(ReasonInvalidUnverifiedUserAnnotations, "template %s named by userAnnotation %s does not exist in %s (templates that allow pod certificates: %s)", quote(name), v1alpha1.PodCertificateTemplateAnnotation, issuer, podTemplateNames(spec))
		case t.PodCertificates == nil:
			return p, requestErrorf(ReasonPodCertificatesNotAllowed, "template %q of %s does not allow pod certificates (templates that do: %s)", t.Name, issuer, podTemplateNames(spec))
		case !t.PodCertificates.AllowTemplateAnnotation:
			return p, requestErrorf(ReasonInvalidUnverifiedUserAnnotations, "template %q of %s may not be selected by userAnnotation %s (its podCertificates.allowTemplateAnnotation is unset); remove the annotation to use the default template", t.Name, issuer, v1alpha1.PodCertificateTemplateAnnotation)
		}
		p.Template = t
	case spec.DefaultTemplate != "":
		if p.Template = findTemplate(spec, spec.DefaultTemplate); p.Template == nil {
			return p, templateErrorf(spec.DefaultTemplate, "", "defaultTemplate names no template of %s (templates: %s); fix spec.defaultTemplate", issuer, templateNames(spec))
		}
		if p.Template.PodCertificates == nil {
			return p, requestErrorf(ReasonPodCertificatesNotAllowed, "the default template %q of %s does not allow pod certificates; set userAnnotation %s to a template that does (%s)", p.Template.Name, issuer, v1alpha1.PodCertificateTemplateAnnotation, podTemplateNames(spec))
		}
	default:
		return p, requestErrorf(ReasonPodCertificatesNotAllowed, "the request names no template and %s has no defaultTemplate; set userAnnotation %s to a template that allows pod certificates (%s)", issuer, v1alpha1.PodCertificateTemplateAnnotation, podTemplateNames(spec))
	}
	return p, nil
}

// podTemplateNames lists the templates that allow pod certificates.
func podTemplateNames(spec *v1alpha1.IssuerSpec) string {
	var names []string
	for _, t := range spec.Templates {
		if t.PodCertificates != nil {
			names = append(names, t.Name)
		}
	}
	return list(names)
}

// checkPodCSR refuses a PodCertificateRequest whose stub CSR asks for a
// subject, SANs or any extension: the kubelet's is empty, and a pod
// certificate is built from the pod's identity only.
func checkPodCSR(is *issuance) error {
	if is.req.Pod == nil {
		return nil
	}
	c := is.csr
	if len(c.Subject.Names) > 0 || len(c.DNSNames)+len(c.IPAddresses)+len(c.URIs)+len(c.EmailAddresses) > 0 || len(is.raw.extensions) > 0 {
		return requestErrorf(ReasonPolicyViolation, "the stub CSR of the PodCertificateRequest asks for a subject, SANs or extensions; a pod certificate is built from the pod's identity and the template only, and the kubelet sends an empty CSR")
	}
	return nil
}

// podKeyError turns a refused key of a PodCertificateRequest into the
// reason the API names, suggesting the key types the template allows.
func podKeyError(req Request, err error) error {
	var rerr *RequestError
	if req.Pod == nil || !errors.As(err, &rerr) {
		return err
	}
	return requestErrorf(ReasonUnsupportedKeyType, "%s; set keyType of the podCertificate volume to one of the types the API and the template allow (RSA3072, RSA4096, ECDSAP256, ECDSAP384, ECDSAP521, ED25519)", rerr.Msg)
}

// spiffeID is the pod's SPIFFE ID under the template's trust domain, nil
// when the request is not a pod's or the template sets no trust domain.
func (is *issuance) spiffeID() (*url.URL, error) {
	if is.req.Pod == nil || is.tmpl == nil || is.tmpl.PodCertificates == nil || is.tmpl.PodCertificates.TrustDomain == "" {
		return nil, nil
	}
	text := is.tmpl.PodCertificates.TrustDomain
	if !fieldTrusted(text) {
		return nil, templateErrorf(is.tmpl.Name, podTrustDomainField, "the trust domain may use only .Vars, .Issuer and the pod's identity; fix the template")
	}
	td, err := is.render(podTrustDomainField, text)
	if err != nil {
		return nil, err
	}
	td = trimSpace(td)
	if p := trustDomainProblem(td); p != "" {
		return nil, is.badValue(podTrustDomainField, text, quote(td)+", which is not a SPIFFE trust domain: "+p)
	}
	return spiffeURL(td, is.req.Namespace, is.req.Pod.ServiceAccountName), nil
}

const podTrustDomainField = "podCertificates.trustDomain"

// spiffeURL is spiffe://<trust domain>/ns/<namespace>/sa/<service account>.
// Namespace and service account names are DNS names: no escaping needed.
func spiffeURL(trustDomain, namespace, serviceAccount string) *url.URL {
	return &url.URL{Scheme: "spiffe", Host: trustDomain, Path: "/ns/" + namespace + "/sa/" + serviceAccount}
}

// trustDomainProblem says why td is not a SPIFFE trust domain name (the
// SPIFFE ID spec: lowercase letters, digits, '.', '-', '_'; at most 255
// bytes), or "".
func trustDomainProblem(td string) string {
	switch {
	case td == "":
		return "it is empty"
	case len(td) > 255:
		return "it is longer than 255 bytes"
	}
	for i := range len(td) {
		c := td[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && strings.IndexByte(".-_", c) < 0 {
			return fmt.Sprintf("it has the character %q; use lowercase letters, digits, '.', '-' and '_'", rune(c))
		}
	}
	return ""
}

// validatePodCertificates checks a template's podCertificates on sample
// data: the trust domain uses only trusted data and renders a trust domain.
func validatePodCertificates(t *v1alpha1.CertificateTemplate, data RenderData, b *requestBudget) *TemplateError {
	if t.PodCertificates == nil || t.PodCertificates.TrustDomain == "" {
		return nil
	}
	text := t.PodCertificates.TrustDomain
	if !fieldTrusted(text) {
		return templateErrorf(t.Name, podTrustDomainField, "the trust domain may use only .Vars, .Issuer and the pod's identity; fix the template")
	}
	td, terr := renderField(t.Name, podTrustDomainField, text, data, b)
	if terr != nil {
		return terr
	}
	if p := trustDomainProblem(strings.TrimSpace(td)); p != "" {
		return templateErrorf(t.Name, podTrustDomainField, "renders %s, which is not a SPIFFE trust domain: %s", quote(td), p)
	}
	return nil
}
