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
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/rotation"
)

// kindIssuer is IssuerData.Kind of a namespaced NstanceIssuer.
const kindIssuer = "NstanceIssuer"

// Validation is what ValidateIssuer found in an issuer.
type Validation struct {
	// Errors make the issuer unusable: the controller keeps it not Ready
	// and the admission webhook refuses it. Each names its field path; its
	// detail is the message the controller writes.
	Errors field.ErrorList
	// Warnings are settings that are legal but likely wrong, each
	// "<field path>: <what and why>": the webhook returns them to kubectl,
	// explain prints them.
	Warnings []string
}

// maxIssuerErrors bounds the errors ValidateIssuer reports; a last one
// says how many more there are.
const maxIssuerErrors = 32

// ValidateIssuer is the one validation of an issuer's spec, shared by the
// controller (its Ready condition), the admission webhook and the explain
// command: vars, templates and the CA template (see templateProblems),
// defaultTemplate, the rotation and trust bundle settings, the CA key's
// URI and the key type made there (validateCAKey); and the
// warnings for what is legal but likely wrong. issuer names the issuer and
// its kind (Kind "NstanceIssuer" is namespaced).
func ValidateIssuer(spec *v1alpha1.IssuerSpec, issuer IssuerData) Validation {
	var v Validation
	specPath := field.NewPath("spec")
	for _, p := range templateProblems(spec.Templates, spec.CA.Generate, spec.Vars, issuer) {
		v.Errors = append(v.Errors, field.Invalid(templateErrorPath(specPath, p), field.OmitValueType{}, p.err.Error()))
	}
	if name := spec.DefaultTemplate; name != "" && findTemplate(spec, name) == nil {
		v.Errors = append(v.Errors, field.Invalid(specPath.Child("defaultTemplate"), name,
			fmt.Sprintf("defaultTemplate names no template of %s (templates: %s); name one of them or remove defaultTemplate", issuerName(issuer), templateNames(spec))))
	}
	v.Errors = append(v.Errors, validateRotation(&spec.CA, specPath.Child("ca"))...)
	v.Errors = append(v.Errors, validateTrustBundle(spec.CA.TrustBundle, specPath.Child("ca", "trustBundle"))...)
	v.Errors = append(v.Errors, validateCAKey(&spec.CA, specPath.Child("ca"))...)
	if n := len(v.Errors); n > maxIssuerErrors {
		v.Errors = append(v.Errors[:maxIssuerErrors:maxIssuerErrors], field.Invalid(specPath, field.OmitValueType{},
			fmt.Sprintf("%d more problems are not listed; fix the ones above first", n-maxIssuerErrors)))
	}
	v.Warnings = append(issuerWarnings(spec, issuer), caKeyWarnings(&spec.CA, issuer, specPath.Child("ca"))...)
	return v
}

// Err is nil when the issuer is valid, else an *InvalidIssuerError
// naming the issuer (as "NstanceIssuer team-a/web") and every error.
func (v Validation) Err(issuer string) error {
	if len(v.Errors) == 0 {
		return nil
	}
	return &InvalidIssuerError{Issuer: issuer, Errors: v.Errors}
}

// InvalidIssuerError is an issuer ValidateIssuer refuses: the issuer is
// misconfigured and is fixed by editing it.
type InvalidIssuerError struct {
	// Issuer names the issuer: "NstanceIssuer team-a/web".
	Issuer string
	// Errors are the problems, each with its field path.
	Errors field.ErrorList
}

// maxInvalidIssuerMessage bounds Error's length: it becomes the issuer's
// Ready condition message, which the API limits to 32768 bytes.
const maxInvalidIssuerMessage = 8 << 10

// Error lists every problem as "<path>: <message>", the way kubectl shows
// the webhook's refusal, shortened to maxInvalidIssuerMessage bytes.
func (e *InvalidIssuerError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s is invalid: ", e.Issuer)
	for i, fe := range e.Errors {
		entry := fe.Field + ": " + fe.Detail
		if i > 0 {
			entry = "; " + entry
		}
		if b.Len()+len(entry) > maxInvalidIssuerMessage {
			fmt.Fprintf(&b, "; and %d more (kubectl nstance explain lists them all)", len(e.Errors)-i)
			break
		}
		b.WriteString(entry)
	}
	return b.String()
}

// templateErrorPath is where a template problem is: spec.vars[key],
// spec.ca.generate.<field> or spec.templates[i].<field>.
func templateErrorPath(spec *field.Path, p templateProblem) *field.Path {
	var base *field.Path
	switch {
	case p.err.Template == "vars":
		base = spec.Child("vars")
		if k := p.err.Field; k != "" {
			if u, err := strconv.Unquote(k); err == nil {
				k = u
			}
			base = base.Key(k)
		}
		return base
	case p.index < 0:
		base = spec.Child("ca", "generate")
	default:
		base = spec.Child("templates").Index(p.index)
	}
	if p.err.Field != "" {
		return base.Child(p.err.Field)
	}
	return base
}

// issuerName names an issuer in messages: "NstanceIssuer team-a/web".
func issuerName(i IssuerData) string {
	kind := i.Kind
	if kind == "" {
		kind = "the issuer"
	}
	if i.Namespace != "" {
		return kind + " " + i.Namespace + "/" + i.Name
	}
	return strings.TrimSpace(kind + " " + i.Name)
}

// validateRotation checks that spec.ca.rotation can work: one renewal
// point, positive durations, a next Secret that is not the CA Secret and,
// with ca.generate (whose lifetime is known), a renewal that comes after
// the CA is made and leaves the next CA its propagation delay before the
// issuing one expires.
func validateRotation(ca *v1alpha1.CASpec, path *field.Path) field.ErrorList {
	rot := ca.Rotation
	if rot == nil {
		return nil
	}
	var errs field.ErrorList
	p := path.Child("rotation")
	if rot.RenewBefore != nil && rot.RenewBeforePercentage != nil {
		errs = append(errs, field.Invalid(p, field.OmitValueType{}, "renewBefore and renewBeforePercentage are both set; keep one"))
	}
	if rot.RenewBefore != nil && rot.RenewBefore.Duration <= 0 {
		errs = append(errs, field.Invalid(p.Child("renewBefore"), rot.RenewBefore.Duration.String(),
			"renewBefore must be positive, e.g. 2160h; or use renewBeforePercentage"))
	}
	if pct := rot.RenewBeforePercentage; pct != nil && (*pct < 1 || *pct > 99) {
		errs = append(errs, field.Invalid(p.Child("renewBeforePercentage"), *pct, "renewBeforePercentage must be between 1 and 99"))
	}
	if rot.PropagationDelay != nil && rot.PropagationDelay.Duration < 0 {
		errs = append(errs, field.Invalid(p.Child("propagationDelay"), rot.PropagationDelay.Duration.String(),
			"propagationDelay must not be negative; 0s switches to the next CA as soon as it is published"))
	}
	if rot.NextSecretName != "" && rot.NextSecretName == ca.SecretName {
		errs = append(errs, field.Invalid(p.Child("nextSecretName"), rot.NextSecretName,
			"nextSecretName is the CA Secret itself (spec.ca.secretName); name another Secret that holds the next CA"))
	}
	if len(errs) > 0 || ca.Generate == nil {
		return errs
	}
	ttl := ca.Generate.TTL
	if ttl <= 0 {
		ttl = DefaultCATTLHours
	}
	lifetime := time.Duration(ttl) * time.Hour
	window := lifetime / 100 * rotation.DefaultRenewBeforePercentage // no overflow at 876000h
	what := fmt.Sprintf("renewBeforePercentage (default %d)", rotation.DefaultRenewBeforePercentage)
	switch {
	case rot.RenewBefore != nil:
		window, what = rot.RenewBefore.Duration, "renewBefore "+rot.RenewBefore.Duration.String()
		if window >= lifetime {
			errs = append(errs, field.Invalid(p.Child("renewBefore"), rot.RenewBefore.Duration.String(),
				fmt.Sprintf("renewBefore is not shorter than the generated CA's lifetime (ca.generate.ttl %dh): every CA would be due for renewal as soon as it is made; shorten renewBefore or lengthen ttl", ttl)))
			return errs
		}
	case rot.RenewBeforePercentage != nil:
		window = lifetime / 100 * time.Duration(*rot.RenewBeforePercentage)
		what = fmt.Sprintf("renewBeforePercentage %d", *rot.RenewBeforePercentage)
	}
	delay := rotation.DefaultPropagationDelay
	if rot.PropagationDelay != nil {
		delay = rot.PropagationDelay.Duration
	}
	if delay >= window {
		errs = append(errs, field.Invalid(p.Child("propagationDelay"), delay.String(),
			fmt.Sprintf("propagationDelay %s is not shorter than the renewal window (%s: %s before the CA expires): the issuing CA would expire before the next one may sign; shorten propagationDelay or renew earlier", delay, what, window)))
	}
	return errs
}

// validateTrustBundle checks spec.ca.trustBundle: a known caCrt and a
// namespace selector that parses.
func validateTrustBundle(tb *v1alpha1.TrustBundle, path *field.Path) field.ErrorList {
	if tb == nil {
		return nil
	}
	var errs field.ErrorList
	switch tb.CACrt {
	case "", v1alpha1.CACrtIssuingRoot, v1alpha1.CACrtAllLiveRoots:
	default:
		errs = append(errs, field.NotSupported(path.Child("caCrt"), tb.CACrt, []v1alpha1.CACrtContent{v1alpha1.CACrtIssuingRoot, v1alpha1.CACrtAllLiveRoots}))
	}
	if cm := tb.ConfigMap; cm != nil && cm.NamespaceSelector != nil {
		if _, err := metav1.LabelSelectorAsSelector(cm.NamespaceSelector); err != nil {
			errs = append(errs, field.Invalid(path.Child("configMap", "namespaceSelector"), field.OmitValueType{}, fmt.Sprintf("%v; fix the selector", err)))
		}
	}
	return errs
}

// issuerWarnings lists what is legal but likely wrong. Each warning is
// short (the API server may cut a warning at 256 characters): the path,
// what is the matter and what to do.
func issuerWarnings(spec *v1alpha1.IssuerSpec, issuer IssuerData) []string {
	var out []string
	warn := func(path *field.Path, format string, args ...any) {
		out = append(out, path.String()+": "+fmt.Sprintf(format, args...))
	}
	specPath := field.NewPath("spec")
	namespaced := issuer.Kind == kindIssuer
	if spec.AllowPassThrough {
		switch {
		case spec.DefaultTemplate != "":
			warn(specPath.Child("allowPassThrough"), "has no effect: every request without a template annotation uses defaultTemplate %s", quote(spec.DefaultTemplate))
		case !namespaced:
			warn(specPath.Child("allowPassThrough"), "any namespace may have any name signed by this cluster issuer without a template; prefer a defaultTemplate with allow-lists")
		}
	}
	for i := range spec.Templates {
		t := &spec.Templates[i]
		out = append(out, templateWarnings(t, specPath.Child("templates").Index(i), spec, issuer)...)
	}
	ca := &spec.CA
	if rot := ca.Rotation; rot != nil && rot.NextSecretName == "" && ca.Generate == nil {
		warn(specPath.Child("ca", "rotation"), "without ca.generate or nextSecretName the issuer cannot make the next CA: it only reports RenewalDue; set nextSecretName or ca.generate")
	}
	if tb := ca.TrustBundle; tb != nil && namespaced {
		if tb.ClusterTrustBundle {
			warn(specPath.Child("ca", "trustBundle", "clusterTrustBundle"), "is ignored: only NstanceClusterIssuers publish ClusterTrustBundles")
		}
		if tb.ConfigMap != nil && tb.ConfigMap.NamespaceSelector != nil {
			warn(specPath.Child("ca", "trustBundle", "configMap", "namespaceSelector"), "is ignored: an NstanceIssuer publishes into its own namespace only")
		}
	}
	return out
}

// templateWarnings lists what is legal but likely wrong in one template.
func templateWarnings(t *v1alpha1.CertificateTemplate, path *field.Path, spec *v1alpha1.IssuerSpec, issuer IssuerData) []string {
	var out []string
	warn := func(p *field.Path, format string, args ...any) {
		out = append(out, p.String()+": "+fmt.Sprintf(format, args...))
	}
	namespaced := issuer.Kind == kindIssuer
	if namespaced {
		if t.KubernetesCSRs != nil {
			warn(path.Child("kubernetesCSRs"), "is ignored: Kubernetes CSRs are signed by NstanceClusterIssuers only")
		}
		if t.PodCertificates != nil {
			warn(path.Child("podCertificates"), "is ignored: pod certificates are signed by NstanceClusterIssuers only")
		}
		if ns := t.Namespaces; ns != nil && ns.Selector == nil && !slices.Contains(ns.Names, issuer.Namespace) {
			warn(path.Child("namespaces", "names"), "does not name %s, the only namespace an NstanceIssuer serves: no request can use this template", quote(issuer.Namespace))
		}
	}
	// Who may use it through CertificateRequests, from any namespace.
	servesEveryNamespace := !namespaced && (t.Namespaces == nil && t.KubernetesCSRs == nil && t.PodCertificates == nil ||
		t.Namespaces != nil && t.Namespaces.Selector != nil && len(t.Namespaces.Selector.MatchLabels) == 0 && len(t.Namespaces.Selector.MatchExpressions) == 0)
	if servesEveryNamespace {
		for i, p := range t.AllowedDNSNames {
			if strings.TrimSpace(p) == "**" {
				warn(path.Child("allowedDNSNames").Index(i), "\"**\" lets every namespace get any DNS name from this cluster issuer; bind the template with namespaces or narrow the pattern")
			}
		}
		for i, r := range t.AllowedIPRanges {
			if s := strings.TrimSpace(r); s == "0.0.0.0/0" || s == "::/0" {
				warn(path.Child("allowedIPRanges").Index(i), "%s lets every namespace get any IP address from this cluster issuer; bind the template with namespaces or narrow the range", s)
			}
		}
	}
	if ns := t.Namespaces; !namespaced && ns != nil && ns.Selector != nil {
		if keys := tenantLabelKeys(ns.Selector); len(keys) > 0 {
			warn(path.Child("namespaces", "selector"), "selects by label %s, which whoever may label a namespace can set; prefer names or kubernetes.io/metadata.name", list(keys))
		}
	}
	if k := t.KubernetesCSRs; k != nil && !namespaced {
		if slices.Contains(k.Usernames, "*") || slices.Contains(k.Groups, "*") || slices.Contains(k.Groups, "system:authenticated") {
			warn(path.Child("kubernetesCSRs"), "allows every authenticated user to use this template through a Kubernetes CSR; name the users or groups that need it")
		}
	}
	if t.UnconstrainedCA && t.AllowCA {
		warn(path.Child("unconstrainedCA"), "CA certificates of this template carry no NameConstraints: they can mint a certificate for any name that chains to this issuer's root")
	}
	if g := spec.CA.Generate; g != nil && t.TTL > 0 {
		caTTL := g.TTL
		if caTTL <= 0 {
			caTTL = DefaultCATTLHours
		}
		if t.TTL > caTTL {
			warn(path.Child("ttl"), "%dh is longer than the generated CA's lifetime (%dh): certificates end at the CA's NotAfter", t.TTL, caTTL)
		}
	}
	if spec.DefaultTemplate == t.Name && t.Namespaces == nil && (t.KubernetesCSRs != nil || t.PodCertificates != nil) {
		warn(field.NewPath("spec", "defaultTemplate"), "names template %s, which names no namespaces and so serves no CertificateRequest: every request without an annotation fails", quote(t.Name))
	}
	return out
}

// namespaceNameLabel is the label the API server sets on every namespace
// to its name; nobody can change it.
const namespaceNameLabel = "kubernetes.io/metadata.name"

// tenantLabelKeys are the label keys a selector matches on that someone
// who may label a namespace can set, sorted.
func tenantLabelKeys(sel *metav1.LabelSelector) []string {
	seen := map[string]bool{}
	for k := range sel.MatchLabels {
		seen[k] = true
	}
	for _, e := range sel.MatchExpressions {
		if e.Operator == metav1.LabelSelectorOpIn || e.Operator == metav1.LabelSelectorOpExists {
			seen[e.Key] = true
		}
	}
	delete(seen, namespaceNameLabel)
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
