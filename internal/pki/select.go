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
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// Policy is what a request is signed under: a template, or pass-through
// when the issuer allows it.
type Policy struct {
	// Template shapes and limits the certificate; nil only with PassThrough.
	Template *v1alpha1.CertificateTemplate
	// PassThrough signs the request as asked (subject, SANs, usages), like
	// cert-manager's CA issuer; set only by an issuer's allowPassThrough.
	PassThrough bool
	// LeafNotAfterBehavior is the issuer's choice for a certificate that
	// would outlive the CA.
	LeafNotAfterBehavior v1alpha1.LeafNotAfterBehavior
}

// SelectPolicy picks the policy a request is signed under from the
// request's annotations: the template the issuer.nstance.dev/template
// annotation names; without the annotation the issuer's defaultTemplate;
// without either, pass-through when the issuer sets allowPassThrough.
// Everything else is a *RequestError: an annotation that is present but
// empty, one that names no template of the issuer, and a request that
// selects nothing from an issuer that does not allow pass-through. issuer
// names the issuer in messages.
func SelectPolicy(spec *v1alpha1.IssuerSpec, annotations map[string]string, issuer string) (Policy, error) {
	p := Policy{LeafNotAfterBehavior: spec.LeafNotAfterBehavior}
	name, annotated := annotations[v1alpha1.TemplateAnnotation]
	switch {
	case annotated && name == "":
		return p, requestErrorf(ReasonInvalidTemplateAnnotation, "annotation %s is present but empty; name one of the templates of %s (%s) or remove the annotation to use its default", v1alpha1.TemplateAnnotation, issuer, templateNames(spec))
	case annotated:
		if p.Template = findTemplate(spec, name); p.Template == nil {
			return p, requestErrorf(ReasonUnknownTemplate, "template %s named by annotation %s does not exist in %s (templates: %s)", quote(name), v1alpha1.TemplateAnnotation, issuer, templateNames(spec))
		}
	case spec.DefaultTemplate != "":
		if p.Template = findTemplate(spec, spec.DefaultTemplate); p.Template == nil {
			return p, templateErrorf(spec.DefaultTemplate, "", "defaultTemplate names no template of %s (templates: %s); fix spec.defaultTemplate", issuer, templateNames(spec))
		}
	case spec.AllowPassThrough:
		p.PassThrough = true
	default:
		return p, requestErrorf(ReasonNoTemplate, "the request selects no template and %s has no defaultTemplate and does not allow pass-through; set annotation %s to one of its templates (%s), or have the issuer's owner set defaultTemplate or allowPassThrough", issuer, v1alpha1.TemplateAnnotation, templateNames(spec))
	}
	return p, nil
}

// SelectNamedTemplate picks the template a request names through
// something other than the template annotation, such as a Kubernetes CSR's
// signer name; by names that source in messages ("signer x/y"). A name
// that is no template of the issuer is a *RequestError (UnknownTemplate).
func SelectNamedTemplate(spec *v1alpha1.IssuerSpec, name, by, issuer string) (Policy, error) {
	p := Policy{LeafNotAfterBehavior: spec.LeafNotAfterBehavior}
	if p.Template = findTemplate(spec, name); p.Template == nil {
		return p, requestErrorf(ReasonUnknownTemplate, "template %s named by %s does not exist in %s (templates: %s)", quote(name), by, issuer, templateNames(spec))
	}
	return p, nil
}

func findTemplate(spec *v1alpha1.IssuerSpec, name string) *v1alpha1.CertificateTemplate {
	for i := range spec.Templates {
		if spec.Templates[i].Name == name {
			return &spec.Templates[i]
		}
	}
	return nil
}

func templateNames(spec *v1alpha1.IssuerSpec) string {
	names := make([]string, 0, len(spec.Templates))
	for _, t := range spec.Templates {
		names = append(names, t.Name)
	}
	return list(names)
}

// checkRequester applies a template's binding to who may use it: the
// namespaces of CertificateRequests, the users of Kubernetes CSRs (which
// may use only a template that allows them). Pass-through binds nobody.
func checkRequester(is *issuance) error {
	t, req := is.tmpl, is.req
	if req.Pod != nil {
		if t == nil || t.PodCertificates == nil {
			return requestErrorf(ReasonPodCertificatesNotAllowed, "%s does not allow pod certificates; use a template with podCertificates", policyName(t))
		}
	} else if t == nil {
		if req.KubernetesCSR {
			return requestErrorf(ReasonRequesterNotAllowed, "Kubernetes CSRs are never signed without a template, even where the issuer allows pass-through; set annotation %s to a template whose kubernetesCSRs allows user %s", v1alpha1.TemplateAnnotation, quote(req.Username))
		}
		return nil
	}
	if req.KubernetesCSR {
		k := t.KubernetesCSRs
		if k == nil {
			return requestErrorf(ReasonRequesterNotAllowed, "template %q does not allow Kubernetes CertificateSigningRequests; use a template with kubernetesCSRs, or a cert-manager CertificateRequest", t.Name)
		}
		if slices.ContainsFunc(k.Usernames, func(p string) bool { return matchTextGlob(req.Username, p) }) {
			return nil
		}
		for _, g := range req.Groups {
			if slices.ContainsFunc(k.Groups, func(p string) bool { return matchTextGlob(g, p) }) {
				return nil
			}
		}
		return requestErrorf(ReasonRequesterNotAllowed, "user %s (groups: %s) may not use template %q through a Kubernetes CSR (allowed users: %s; groups: %s)", quote(req.Username), list(req.Groups), t.Name, list(k.Usernames), list(k.Groups))
	}
	ns := t.Namespaces
	if ns == nil && req.Pod == nil && (t.KubernetesCSRs != nil || t.PodCertificates != nil) {
		// A template written for Kubernetes CSRs or pods vouches for
		// fields (user, groups, pod identity) a CertificateRequest does
		// not carry, and often sets a subject such as O=system:nodes: it
		// serves cert-manager only where an administrator said so.
		return requestErrorf(ReasonRequesterNotAllowed, "template %q is for %s and names no namespaces, so no cert-manager CertificateRequest may use it; use another template, or list the namespaces that may in the template's namespaces", t.Name, csrOrPodUse(t))
	}
	if ns == nil || slices.Contains(ns.Names, req.Namespace) {
		return nil
	}
	if ns.Selector != nil {
		sel, err := namespaceSelector(t)
		if err != nil {
			return err
		}
		if sel.Matches(labels.Set(req.NamespaceLabels)) {
			return nil
		}
	}
	what := "names: " + list(ns.Names)
	if ns.Selector != nil {
		what += "; selector: " + metav1.FormatLabelSelector(ns.Selector)
	}
	return requestErrorf(ReasonRequesterNotAllowed, "namespace %s may not use template %q (%s); use a template bound to this namespace", quote(req.Namespace), t.Name, what)
}

// csrOrPodUse says which other kinds of request a template serves.
func csrOrPodUse(t *v1alpha1.CertificateTemplate) string {
	switch {
	case t.KubernetesCSRs != nil && t.PodCertificates != nil:
		return "Kubernetes CSRs and pod certificates"
	case t.KubernetesCSRs != nil:
		return "Kubernetes CSRs"
	default:
		return "pod certificates"
	}
}

// namespaceSelector parses a template's namespace label selector.
func namespaceSelector(t *v1alpha1.CertificateTemplate) (labels.Selector, *TemplateError) {
	sel, err := metav1.LabelSelectorAsSelector(t.Namespaces.Selector)
	if err != nil {
		return nil, templateErrorf(t.Name, "namespaces.selector", "%v; fix the selector", err)
	}
	return sel, nil
}

// NeedsNamespaceLabels reports whether signing a CertificateRequest under
// p needs the labels of the request's namespace (Request.NamespaceLabels).
func (p Policy) NeedsNamespaceLabels() bool {
	t := p.Template
	return t != nil && t.Namespaces != nil && t.Namespaces.Selector != nil
}
