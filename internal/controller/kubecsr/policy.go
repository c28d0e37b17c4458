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

package kubecsr

import (
	"fmt"
	"slices"
	"strings"
	"time"

	experimentalapi "github.com/cert-manager/cert-manager/pkg/apis/experimental/v1alpha1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
)

// A Kubernetes CSR's annotations are not part of what the API server keeps
// immutable, and nothing records what they were when the CSR was approved:
// anyone with update on the CSR could change the template annotation between
// the approver's look and the signature. The ValidatingAdmissionPolicy below
// closes that gap at the API server: it refuses any change, through the CSR
// or its status or approval subresources, to the annotations that decide
// what is signed, for the CSRs of our signers. The controller signs a CSR
// that selects its template by annotation only when this policy was in
// force before the CSR was approved (Guard).

// DefaultCSRAnnotationPolicy is the name of the ValidatingAdmissionPolicy
// and of its binding that the chart and config/ install.
const DefaultCSRAnnotationPolicy = "nstance-issuer-csr-annotations"

// CSRGuardedAnnotations are the annotations of a Kubernetes CSR that decide
// what is signed and that the policy keeps as they were at creation.
var CSRGuardedAnnotations = []string{
	v1alpha1.TemplateAnnotation,
	experimentalapi.CertificateSigningRequestDurationAnnotationKey,
	experimentalapi.CertificateSigningRequestIsCAAnnotationKey,
}

// The CEL of the policy. A CSR's spec, signer name included, is immutable,
// so matching on the new object's signer name is enough.
var (
	csrPolicyMatchSigner = fmt.Sprintf("object.spec.signerName.startsWith(%s) || object.spec.signerName.startsWith(%s)",
		celString(issuer.ClusterIssuerSignerPrefix), celString(TemplatedSignerPrefix))
	csrPolicyGuarded       = "[" + strings.Join(mapStrings(CSRGuardedAnnotations, celString), ", ") + "]"
	csrPolicyChanged       = "variables.guarded.filter(k, object.metadata.?annotations[?k] != oldObject.metadata.?annotations[?k])"
	csrPolicyValidation    = "size(variables.changed) == 0"
	csrPolicyMessage       = "'annotation ' + variables.changed.join(', ') + ' of CertificateSigningRequest ' + object.metadata.name + ' (signer ' + object.spec.signerName + ') cannot change after it is created: what is approved is what is signed. Create a new CertificateSigningRequest instead.'"
	csrPolicyResources     = []string{"certificatesigningrequests", "certificatesigningrequests/status", "certificatesigningrequests/approval"}
	csrPolicyFailurePolicy = admissionregistrationv1.Fail
)

// CSRAnnotationPolicy returns the ValidatingAdmissionPolicy and binding,
// both named name, that keep the annotations CSRGuardedAnnotations of the
// CSRs of our signers as they were created. Every field the API server
// would default is set, so that the objects read back equal these. The
// chart and config/csr-policy ship the same (a test compares them).
func CSRAnnotationPolicy(name string) (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
	return annotationPolicy(name, "certificates.k8s.io", csrPolicyResources,
		admissionregistrationv1.MatchCondition{Name: "nstance-issuer-signer", Expression: csrPolicyMatchSigner},
		csrPolicyGuarded, csrPolicyMessage)
}

// A cert-manager CertificateRequest is approved by cert-manager's approver
// (or approver-policy, or a person) and signed later; cert-manager's
// webhook keeps its spec and its cert-manager.io annotations as created,
// but not issuer.nstance.dev/template, which selects the template. The
// second policy keeps that annotation as created, for the requests of our
// issuers: adding, changing or removing it after creation is refused.
//
// It is advisory for the controller, which signs CertificateRequests
// whether or not it is installed: cert-manager's approver decides from
// RBAC on the issuer, not from the annotation, and every template's own
// rules (namespaces, allow-lists) are applied at signing to whatever
// template the request names then; a requester who changes the annotation
// gets no template they could not have named when they created the
// request. The policy matters to approvers that do read the annotation
// (an approver-policy or custom approver that approves by template).

// DefaultCertificateRequestAnnotationPolicy is the name of the
// ValidatingAdmissionPolicy and binding for CertificateRequests that the
// chart and config/ install.
const DefaultCertificateRequestAnnotationPolicy = "nstance-issuer-certificaterequest-annotations"

// CertificateRequestGuardedAnnotations are the annotations of a
// CertificateRequest for our issuers that the second policy keeps as they
// were created.
var CertificateRequestGuardedAnnotations = []string{v1alpha1.TemplateAnnotation}

// The CEL of the CertificateRequest policy. cert-manager's webhook keeps
// spec.issuerRef as created, but the policy does not rely on it: a request
// is matched when its old or its new issuerRef names our group, so that
// moving it to another issuer and back cannot carry a changed annotation.
var (
	crPolicyMatchIssuer = fmt.Sprintf("object.spec.?issuerRef.?group.orValue('') == %[1]s || oldObject.spec.?issuerRef.?group.orValue('') == %[1]s",
		celString(v1alpha1.GroupVersion.Group))
	crPolicyGuarded   = "[" + strings.Join(mapStrings(CertificateRequestGuardedAnnotations, celString), ", ") + "]"
	crPolicyMessage   = "'annotation ' + variables.changed.join(', ') + ' of CertificateRequest ' + object.metadata.namespace + '/' + object.metadata.name + ' cannot be added, changed or removed after it is created: it selects the template the request was approved with. Create a new CertificateRequest instead (for a Certificate: change the annotation on the Certificate and renew it).'"
	crPolicyResources = []string{"certificaterequests"}
	// crPolicyIssuerKept keeps spec.issuerRef of a matched request: without
	// cert-manager's webhook, a request could otherwise be moved to
	// another group, have its annotation changed there, and be moved back.
	crPolicyIssuerKept        = "object.spec.issuerRef == oldObject.spec.issuerRef"
	crPolicyIssuerKeptMessage = "'spec.issuerRef of CertificateRequest ' + object.metadata.namespace + '/' + object.metadata.name + ' cannot change after it is created. Create a new CertificateRequest instead.'"
)

// CertificateRequestAnnotationPolicy returns the ValidatingAdmissionPolicy
// and binding, both named name, that keep the annotations
// CertificateRequestGuardedAnnotations and spec.issuerRef of the
// CertificateRequests of our issuers as they were created. Only the main
// resource is matched: a custom resource's status subresource cannot
// change its metadata or spec.
func CertificateRequestAnnotationPolicy(name string) (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
	policy, binding := annotationPolicy(name, "cert-manager.io", crPolicyResources,
		admissionregistrationv1.MatchCondition{Name: "nstance-issuer-issuer", Expression: crPolicyMatchIssuer},
		crPolicyGuarded, crPolicyMessage)
	policy.Spec.Validations = append(policy.Spec.Validations, admissionregistrationv1.Validation{
		Expression:        crPolicyIssuerKept,
		MessageExpression: crPolicyIssuerKeptMessage,
		Reason:            new(metav1.StatusReasonForbidden),
	})
	return policy, binding
}

// annotationPolicy is a policy and binding named name that refuses, on
// update of resources of group, any change to the annotations listed by
// the CEL list guarded of the objects match selects.
func annotationPolicy(name, group string, resources []string, match admissionregistrationv1.MatchCondition, guarded, message string) (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
	equivalent := admissionregistrationv1.Equivalent
	allScopes := admissionregistrationv1.AllScopes
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionregistrationv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: new(csrPolicyFailurePolicy),
			MatchConstraints: &admissionregistrationv1.MatchResources{
				NamespaceSelector: &metav1.LabelSelector{},
				ObjectSelector:    &metav1.LabelSelector{},
				MatchPolicy:       &equivalent,
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Update},
						Rule: admissionregistrationv1.Rule{
							APIGroups:   []string{group},
							APIVersions: []string{"*"},
							Resources:   slices.Clone(resources),
							Scope:       &allScopes,
						},
					},
				}},
			},
			MatchConditions: []admissionregistrationv1.MatchCondition{match},
			Variables: []admissionregistrationv1.Variable{
				{Name: "guarded", Expression: guarded},
				{Name: "changed", Expression: csrPolicyChanged},
			},
			Validations: []admissionregistrationv1.Validation{{
				Expression:        csrPolicyValidation,
				MessageExpression: message,
				Reason:            new(metav1.StatusReasonForbidden),
			}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionregistrationv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicyBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
		},
	}
	return policy, binding
}

// csrPolicyProblem says why policy and binding (nil when absent) do not
// keep the guarded annotations of our signers' CSRs immutable, or "" when
// they do. Only what decides enforcement counts: messages and labels may
// differ.
func csrPolicyProblem(name string, policy *admissionregistrationv1.ValidatingAdmissionPolicy, binding *admissionregistrationv1.ValidatingAdmissionPolicyBinding) string {
	want, _ := CSRAnnotationPolicy(name)
	switch {
	case policy == nil:
		return fmt.Sprintf("ValidatingAdmissionPolicy %s does not exist", name)
	case binding == nil:
		return fmt.Sprintf("ValidatingAdmissionPolicyBinding %s does not exist", name)
	case binding.Spec.PolicyName != name:
		return fmt.Sprintf("ValidatingAdmissionPolicyBinding %s binds policy %q, not %s", name, binding.Spec.PolicyName, name)
	case !slices.Contains(binding.Spec.ValidationActions, admissionregistrationv1.Deny):
		return fmt.Sprintf("ValidatingAdmissionPolicyBinding %s does not Deny (validationActions %v)", name, binding.Spec.ValidationActions)
	case binding.Spec.ParamRef != nil:
		return fmt.Sprintf("ValidatingAdmissionPolicyBinding %s sets paramRef", name)
	case binding.Spec.MatchResources != nil && !equality.Semantic.DeepEqual(binding.Spec.MatchResources, wideMatch()):
		return fmt.Sprintf("ValidatingAdmissionPolicyBinding %s narrows matchResources", name)
	}
	got, w := &policy.Spec, &want.Spec
	switch {
	case got.FailurePolicy == nil || *got.FailurePolicy != *w.FailurePolicy:
		return fmt.Sprintf("ValidatingAdmissionPolicy %s does not have failurePolicy Fail", name)
	case got.ParamKind != nil:
		return fmt.Sprintf("ValidatingAdmissionPolicy %s sets paramKind", name)
	case !equality.Semantic.DeepEqual(got.MatchConstraints, w.MatchConstraints):
		return fmt.Sprintf("ValidatingAdmissionPolicy %s has other matchConstraints than nstance-issuer ships", name)
	case !equality.Semantic.DeepEqual(got.MatchConditions, w.MatchConditions):
		return fmt.Sprintf("ValidatingAdmissionPolicy %s has other matchConditions than nstance-issuer ships", name)
	case !equality.Semantic.DeepEqual(got.Variables, w.Variables):
		return fmt.Sprintf("ValidatingAdmissionPolicy %s has other variables than nstance-issuer ships", name)
	case !slices.Equal(validationExpressions(got.Validations), validationExpressions(w.Validations)):
		return fmt.Sprintf("ValidatingAdmissionPolicy %s has other validations than nstance-issuer ships", name)
	}
	return ""
}

// wideMatch is a binding's matchResources as the API server defaults an
// empty one: it narrows nothing.
func wideMatch() *admissionregistrationv1.MatchResources {
	equivalent := admissionregistrationv1.Equivalent
	return &admissionregistrationv1.MatchResources{
		NamespaceSelector: &metav1.LabelSelector{},
		ObjectSelector:    &metav1.LabelSelector{},
		MatchPolicy:       &equivalent,
	}
}

func validationExpressions(vs []admissionregistrationv1.Validation) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Expression
	}
	return out
}

// csrPolicySince is when the policy and binding last changed: the latest
// creation or spec change of either (managedFields record each manager's
// last change; the API server's own status writes do not count). The
// policy holds for updates from a little after that (the API servers load
// policies within about a second).
func csrPolicySince(objs ...metav1.Object) time.Time {
	var since time.Time
	for _, o := range objs {
		if t := o.GetCreationTimestamp().Time; t.After(since) {
			since = t
		}
		for _, f := range o.GetManagedFields() {
			if f.Subresource == "" && f.Time != nil && f.Time.After(since) {
				since = f.Time.Time
			}
		}
	}
	return since
}

func celString(s string) string { return "'" + strings.ReplaceAll(s, "'", "\\'") + "'" }

func mapStrings(in []string, f func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}
