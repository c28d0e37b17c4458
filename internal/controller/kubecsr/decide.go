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

// Package kubecsr decides what a Kubernetes CertificateSigningRequest is
// signed as — template, lifetime, isCA — from what its approver saw: the
// signer names of cluster issuers and their templates, the admission
// policies that keep annotations as created and the guard that checks one
// was in force, and the refusal of our signer names that issuer-lib would
// leave waiting. It decides; internal/controller/signing signs.
package kubecsr

import (
	"context"
	"fmt"
	"slices"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	experimentalapi "github.com/cert-manager/cert-manager/pkg/apis/experimental/v1alpha1"
	"github.com/cert-manager/issuer-lib/controllers/signer"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
)

// What is signed is what was approved. A Kubernetes CSR's spec (request,
// signer name, usages, expirationSeconds) is immutable; its annotations are
// not, and nothing records what they were when the approver looked. So a
// CSR is signed from its spec alone wherever the spec says enough:
//
//   - the template: from the signer name
//     templates.nstanceclusterissuers.issuer.nstance.dev/<issuer>.<template>;
//     under nstanceclusterissuers.issuer.nstance.dev/<issuer> it comes from
//     the template annotation (or the issuer's defaultTemplate), which is
//     trusted only when the admission policy that keeps it as created was in
//     force before the CSR was approved (Guard);
//   - isCA: from spec.usages ("cert sign"); cert-manager's request-is-ca
//     annotation and a basicConstraints extension in the CSR must agree;
//   - the lifetime: at most spec.expirationSeconds (90 days when unset);
//     cert-manager's request-duration annotation can only shorten it.
//
// Anything that disagrees fails the CSR with a message naming both values.

// Decision is what a Kubernetes CSR is signed as.
type Decision struct {
	Policy   pki.Policy
	Duration time.Duration
	IsCA     bool
	// Unguarded says why the template annotation was not protected, when
	// the CSR is signed anyway (AllowMutableAnnotations).
	Unguarded string
}

// Decider decides what Kubernetes CSRs are signed as.
type Decider struct {
	// Reader reads a CSR back for its signer name (the manager's cached
	// client): issuer-lib's copy shows a templated signer name as its
	// issuer's plain one (PresentTemplatedSigner).
	Reader client.Reader
	// Guard tells whether the admission policy kept the annotations of a
	// CSR as they were approved; nil: no policy is configured.
	Guard *Guard
	// AllowMutableAnnotations signs a CSR that selects its template by
	// annotation even when Guard cannot vouch for the annotation; the
	// Decision's Unguarded then says why, for a warning Event.
	AllowMutableAnnotations bool
}

// Decide decides the template, lifetime and isCA of csr, issuer-lib's copy
// of a CSR of issuer v. A refusal of its own is a signer.PermanentError;
// an error of internal/pki (a template that does not exist or may not
// serve the requester, a CA the usages and the CSR disagree on) is
// returned as it is, for the signer to classify as it does every
// request's; anything else is to retry.
func (d Decider) Decide(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, v issuer.View) (Decision, error) {
	var dec Decision
	signerName, err := d.liveSignerName(ctx, csr)
	if err != nil {
		return dec, err
	}
	sig, ours, err := parseCSRSigner(signerName)
	switch {
	case err != nil:
		return dec, signer.PermanentError{Err: err}
	case !ours || sig.Issuer != v.Ref.Name:
		return dec, fmt.Errorf("CSR %s has signer %q, not one of %s", csr.Name, signerName, v)
	}
	if sig.Template != "" {
		if dec.Policy, err = templateFromSigner(v, csr, signerName, sig.Template); err != nil {
			return dec, err
		}
	} else {
		if dec.Unguarded, err = d.checkAnnotationGuard(ctx, csr, signerName, v); err != nil {
			return dec, err
		}
		if dec.Policy, err = pki.SelectPolicy(v.Spec, csr.Annotations, v.String()); err != nil {
			return dec, err
		}
	}
	if dec.IsCA, err = kubernetesCSRIsCA(csr); err != nil {
		return dec, err
	}
	if dec.Duration, err = kubernetesCSRDuration(csr); err != nil {
		return dec, signer.PermanentError{Err: err}
	}
	return dec, nil
}

// liveSignerName is csr's signer name as the API server has it. issuer-lib
// sees a templated signer name as its issuer's plain one
// (PresentTemplatedSigner), so the CSR is read again from the cache: its
// signer name cannot change, and the UID proves it is the same CSR.
func (d Decider) liveSignerName(ctx context.Context, csr *certificatesv1.CertificateSigningRequest) (string, error) {
	var live certificatesv1.CertificateSigningRequest
	if err := d.Reader.Get(ctx, types.NamespacedName{Name: csr.Name}, &live); err != nil {
		return "", fmt.Errorf("cannot read CSR %s: %w", csr.Name, err)
	}
	if live.UID != csr.UID {
		return "", fmt.Errorf("CSR %s was replaced while it was being signed", csr.Name)
	}
	return live.Spec.SignerName, nil
}

// SignerTemplate names the template csr's signer name selects (ok false:
// none, or the signer name cannot be read), for the metrics' template
// label.
func (d Decider) SignerTemplate(ctx context.Context, csr *certificatesv1.CertificateSigningRequest) (string, bool) {
	name, err := d.liveSignerName(ctx, csr)
	if err != nil {
		return "", false
	}
	if sig, _, _ := parseCSRSigner(name); sig.Template != "" {
		return sig.Template, true
	}
	return "", false
}

// templateFromSigner selects the template a templated signer name names.
// The template annotation may repeat it, nothing else.
func templateFromSigner(v issuer.View, csr *certificatesv1.CertificateSigningRequest, signerName, template string) (pki.Policy, error) {
	if a, ok := csr.Annotations[v1alpha1.TemplateAnnotation]; ok && a != template {
		return pki.Policy{}, signer.PermanentError{Err: fmt.Errorf("annotation %s is %q but signer %s selects template %q; the signer name decides: "+
			"create the CSR again without the annotation, or with the signer name of the template you want", v1alpha1.TemplateAnnotation, a, signerName, template)}
	}
	return pki.SelectNamedTemplate(v.Spec, template, "signer "+signerName, v.String())
}

// checkAnnotationGuard lets a CSR that selects its template by annotation
// through only when the admission policy kept that annotation as it was
// approved. Without it, the CSR fails; with AllowMutableAnnotations it is
// signed and the returned reason is recorded in a warning Event.
func (d Decider) checkAnnotationGuard(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, signerName string, v issuer.View) (string, error) {
	problem := "no admission policy is configured (--csr-annotation-policy is empty)"
	if d.Guard != nil {
		var err error
		if problem, err = d.Guard.problem(ctx, approvedAt(csr)); err != nil {
			return "", err
		}
	}
	if problem == "" || d.AllowMutableAnnotations {
		return problem, nil
	}
	template := "<template>"
	if a := csr.Annotations[v1alpha1.TemplateAnnotation]; a != "" {
		template = a
	}
	policy := DefaultCSRAnnotationPolicy
	if d.Guard != nil && d.Guard.Name != "" {
		policy = d.Guard.Name
	}
	return "", signer.PermanentError{Err: fmt.Errorf("signer %s takes the template from annotation %s (or the issuer's defaultTemplate), "+
		"and the admission policy that keeps a CSR's annotations as they were approved was not in force: %s. "+
		"Anyone allowed to update the CSR could have changed them after approval, so it is not signed. "+
		"Create it again with signerName %s, which fixes the template; or have an administrator install the "+
		"ValidatingAdmissionPolicy and binding %s (Helm value csrAnnotationPolicy.enabled, kustomize config/default) and create it again",
		signerName, v1alpha1.TemplateAnnotation, problem, TemplatedSignerName(v.Ref.Name, template), policy)}
}

// approvedAt is when csr was approved, as early as its Approved condition
// says: the earlier of its two times. The API server fills in a time the
// approver leaves out (kubectl sends only lastUpdateTime, from its own
// clock, so lastTransitionTime is the API server's); an approver's clock
// that is behind can only make a CSR look approved too early, and fail.
func approvedAt(csr *certificatesv1.CertificateSigningRequest) time.Time {
	for _, c := range csr.Status.Conditions {
		if c.Type != certificatesv1.CertificateApproved || c.Status != corev1.ConditionTrue {
			continue
		}
		at := c.LastTransitionTime.Time
		if u := c.LastUpdateTime.Time; !u.IsZero() && (at.IsZero() || u.Before(at)) {
			at = u
		}
		return at
	}
	return time.Time{}
}

// kubernetesCSRIsCA decides from spec.usages whether a Kubernetes CSR asks
// for a CA certificate: "cert sign" is what an approver sees, and only a CA
// may have it. cert-manager's request-is-ca annotation (which cmctl sets
// with "cert sign" in the usages) and a basicConstraints extension in the
// CSR itself must agree with it.
func kubernetesCSRIsCA(csr *certificatesv1.CertificateSigningRequest) (bool, error) {
	const key = experimentalapi.CertificateSigningRequestIsCAAnnotationKey
	isCA := slices.Contains(csr.Spec.Usages, certificatesv1.UsageCertSign)
	if a, ok := csr.Annotations[key]; ok {
		switch {
		case a != "true" && a != "false":
			return false, &pki.RequestError{Reason: pki.ReasonPolicyViolation, Msg: fmt.Sprintf("annotation %s is %q; write true or false", key, a)}
		case a == "true" && !isCA:
			return false, &pki.RequestError{Reason: pki.ReasonPolicyViolation, Msg: fmt.Sprintf("annotation %s is \"true\" but spec.usages does not list \"cert sign\": "+
				"a CA certificate is signed only when spec.usages, which the approver saw and which cannot change, asks for it; "+
				"create the CSR again with \"cert sign\" in spec.usages, or without the annotation", key)}
		case a == "false" && isCA:
			return false, &pki.RequestError{Reason: pki.ReasonPolicyViolation, Msg: fmt.Sprintf("spec.usages lists \"cert sign\", which asks for a CA certificate, "+
				"but annotation %s is \"false\"; create the CSR again without \"cert sign\" or with the annotation true", key)}
		}
	}
	present, requested, err := pki.RequestedBasicConstraints(csr.Spec.Request)
	if err != nil {
		return false, err
	}
	if present && requested != isCA {
		usages := "does not list"
		if isCA {
			usages = "lists"
		}
		return false, &pki.RequestError{Reason: pki.ReasonPolicyViolation, Msg: fmt.Sprintf("the CSR's basicConstraints extension asks for cA %t but spec.usages %s \"cert sign\"; "+
			"a Kubernetes CSR asks for a CA certificate with \"cert sign\" in spec.usages: make the two agree", requested, usages)}
	}
	return isCA, nil
}

// kubernetesCSRDuration is the lifetime a Kubernetes CSR asks for: at most
// spec.expirationSeconds, what approvers read (90 days, cert-manager's
// default, when unset). cert-manager's request-duration annotation may
// only shorten it: it is not immutable, so it cannot lengthen what was
// approved.
func kubernetesCSRDuration(csr *certificatesv1.CertificateSigningRequest) (time.Duration, error) {
	d := cmapi.DefaultCertificateDuration
	if s := csr.Spec.ExpirationSeconds; s != nil {
		d = time.Duration(*s) * time.Second
	}
	if a, ok := csr.Annotations[experimentalapi.CertificateSigningRequestDurationAnnotationKey]; ok {
		ad, err := time.ParseDuration(a)
		if err != nil || ad <= 0 {
			return 0, fmt.Errorf("annotation %s is %q, not a positive duration such as 720h", experimentalapi.CertificateSigningRequestDurationAnnotationKey, a)
		}
		d = min(d, ad)
	}
	return d, nil
}
