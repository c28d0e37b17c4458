//go:build integration

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

package controller_test

// What is signed is what was approved (issue #21): a Kubernetes CSR's
// template, lifetime and isCA cannot be changed between its approval and
// its signature. These tests run against a real API server (its
// CertificateApproval admission, RBAC and ValidatingAdmissionPolicy
// plugins) with CSRs built as cmctl builds them, with cert-manager's CSR
// helpers, and created with client-go.

import (
	"context"
	"crypto/x509"
	"maps"
	"strconv"
	"strings"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	experimentalapi "github.com/cert-manager/cert-manager/pkg/apis/experimental/v1alpha1"
	cmpki "github.com/cert-manager/cert-manager/pkg/util/pki"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/controller/kubecsr"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

const (
	templateKey = v1alpha1.TemplateAnnotation
	isCAKey     = experimentalapi.CertificateSigningRequestIsCAAnnotationKey
)

// fidelityIssuer is an NstanceClusterIssuer with three templates that
// differ in what they allow: narrow (*.narrow.internal), wide (any DNS
// name, its defaultTemplate) and subca (CA certificates for *.ca.internal).
// Its CA Secret is created by ready, so that CSRs can be approved while it
// is not Ready and changed before it signs anything.
type fidelityIssuer struct {
	name string
	ca   *testpki.CA
}

func newFidelityIssuer(t *testing.T, name string) *fidelityIssuer {
	t.Helper()
	csrUsers := &v1alpha1.KubernetesCSRRequesters{Groups: []string{"system:masters"}} // the test's client
	iss := &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.IssuerSpec{
			CA:              v1alpha1.CASpec{SecretName: name},
			DefaultTemplate: "wide",
			Templates: []v1alpha1.CertificateTemplate{
				{Name: "narrow", Kind: v1alpha1.ServerKind, TTL: 24, AllowedDNSNames: []string{"*.narrow.internal"}, KubernetesCSRs: csrUsers},
				{Name: "wide", Kind: v1alpha1.ServerKind, TTL: 24, AllowedDNSNames: []string{"**"}, KubernetesCSRs: csrUsers},
				{Name: "subca", Kind: v1alpha1.ServerKind, TTL: 24, AllowedDNSNames: []string{"*.ca.internal"}, AllowCA: true, KubernetesCSRs: csrUsers},
			},
		},
	}
	create(t, iss)
	return &fidelityIssuer{name: name, ca: validCA(t, name+" Root CA")}
}

// ready gives the issuer its CA and waits until it is Ready.
func (f *fidelityIssuer) ready(t *testing.T) {
	t.Helper()
	createSecret(t, clusterResourceNamespace, f.name, f.ca.SecretData())
	iss := &v1alpha1.NstanceClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: f.name}}
	waitIssuer(t, iss, metav1.ConditionTrue, "")
}

func (f *fidelityIssuer) signer() string { return issuer.ClusterIssuerSignerPrefix + f.name }

func (f *fidelityIssuer) templated(template string) string {
	return kubecsr.TemplatedSignerName(f.name, template)
}

// cmctlCSR builds the CSR `cmctl create certificatesigningrequest` makes
// from a Certificate with this spec (framework.CmctlCSR) for signerName,
// with annotations (the Certificate's) added.
func cmctlCSR(t *testing.T, signerName string, spec cmapi.CertificateSpec, annotations map[string]string, opts ...cmpki.GenerateCSROption) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	csr, err := framework.CmctlCSR(spec, opts...)
	if err != nil {
		t.Fatal(err)
	}
	csr.GenerateName = "fidelity-"
	csr.Spec.SignerName = signerName
	maps.Copy(csr.Annotations, annotations)
	return csr
}

// serverCSR is cmctlCSR for a server certificate for dnsName.
func serverCSR(t *testing.T, signerName, dnsName string, annotations map[string]string) *certificatesv1.CertificateSigningRequest {
	return cmctlCSR(t, signerName, cmapi.CertificateSpec{DNSNames: []string{dnsName}, Usages: []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageServerAuth}}, annotations)
}

// createWithClientGo creates csr with client-go, as a user's tool would.
func createWithClientGo(t *testing.T, csr *certificatesv1.CertificateSigningRequest) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	created, err := clientset.CertificatesV1().CertificateSigningRequests().Create(t.Context(), csr, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = clientset.CertificatesV1().CertificateSigningRequests().Delete(context.Background(), created.Name, metav1.DeleteOptions{})
	})
	return created
}

// setAnnotation changes (value non-nil) or removes an annotation of the
// CSR through the object itself, as `kubectl annotate` does (the
// controller's status writes may race with it: retried on conflict).
func setAnnotation(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, key string, value *string) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := clientset.CertificatesV1().CertificateSigningRequests().Get(ctx, csr.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if value == nil {
			delete(cur.Annotations, key)
		} else {
			if cur.Annotations == nil {
				cur.Annotations = map[string]string{}
			}
			cur.Annotations[key] = *value
		}
		_, err = clientset.CertificatesV1().CertificateSigningRequests().Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
}

func mustSetAnnotation(t *testing.T, csr *certificatesv1.CertificateSigningRequest, key string, value *string) {
	t.Helper()
	if err := setAnnotation(t.Context(), csr, key, value); err != nil {
		t.Fatalf("changing annotation %s of CSR %s: %v", key, csr.Name, err)
	}
}

// withoutCSRAnnotationPolicy removes the suite's policy binding, so that
// nothing keeps CSR annotations as created (a cluster without the chart's
// policy), until the returned function (also run at cleanup) puts it back
// and waits until it is enforced and settled, for the tests that follow.
func withoutCSRAnnotationPolicy(t *testing.T) (restore func()) {
	t.Helper()
	name := kubecsr.DefaultCSRAnnotationPolicy
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := k8s.Delete(t.Context(), binding); err != nil {
		t.Fatal(err)
	}
	restored := false
	restore = func() {
		if restored {
			return
		}
		restored = true
		policy, binding := kubecsr.CSRAnnotationPolicy(name)
		if err := k8s.Delete(context.Background(), policy); err != nil {
			t.Error(err)
		}
		if err := framework.InstallCSRAnnotationPolicy(context.Background(), k8s, policy, binding, issuer.ClusterIssuerSignerPrefix+"probe", kubecsr.DefaultCSRPolicySettle); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(restore)
	// The API servers drop the policy within a second: wait until an
	// annotation change goes through.
	probe := createWithClientGo(t, serverCSR(t, issuer.ClusterIssuerSignerPrefix+"probe", "probe.example.com", map[string]string{templateKey: "a"}))
	attempt := 0
	eventually(t, "annotation changes let through without the policy", func(ctx context.Context) error {
		attempt++
		v := strconv.Itoa(attempt)
		return setAnnotation(ctx, probe, templateKey, &v)
	})
	return restore
}

// waitFailedWithEvent waits until the CSR is Failed and issuer-lib has
// recorded the PermanentError Event about it, and returns the condition's
// message.
func waitFailedWithEvent(t *testing.T, csr *certificatesv1.CertificateSigningRequest) string {
	t.Helper()
	msg := waitCSRFailed(t, csr)
	if note := waitEvent(t, "", csr.Name, "PermanentError"); note != msg {
		t.Errorf("the Event %q does not carry the failure %q", note, msg)
	}
	return msg
}

func wantContains(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s %q lacks %q", what, got, w)
		}
	}
}

// TestKubernetesCSRTemplateChangedAfterApprovalIsNotSigned is issue #21's
// finding: the approver saw template narrow, which does not allow
// evil.example.com; before the signature, someone with update on the CSR
// switched it to wide (or removed it, leaving the default wide). Without
// the admission policy the controller cannot know what the approver saw,
// so it signs nothing, says why and how to fix it. (Before the fix the CSR
// was signed for evil.example.com under wide.)
func TestKubernetesCSRTemplateChangedAfterApprovalIsNotSigned(t *testing.T) {
	withoutCSRAnnotationPolicy(t)
	iss := newFidelityIssuer(t, "fidelity-changed")
	wide := "wide"
	changes := map[string]*string{"switched to wide": &wide, "removed": nil}
	csrs := map[string]*certificatesv1.CertificateSigningRequest{}
	for what, value := range changes {
		csr := createWithClientGo(t, serverCSR(t, iss.signer(), "evil.example.com", map[string]string{templateKey: "narrow"}))
		approveCSR(t, csr)
		mustSetAnnotation(t, csr, templateKey, value)
		csrs[what] = csr
	}
	iss.ready(t)
	for what, csr := range csrs {
		msg := waitFailedWithEvent(t, csr)
		wantContains(t, "template "+what+" after approval: failure message", msg, "not in force",
			"ValidatingAdmissionPolicyBinding "+kubecsr.DefaultCSRAnnotationPolicy+" does not exist",
			kubecsr.TemplatedSignerPrefix+iss.name+".", "csrAnnotationPolicy.enabled")
	}
}

// TestKubernetesCSRApprovedBeforeThePolicyWasInForceIsNotSigned: a policy
// installed after the approval proves nothing about the annotations
// between the approval and its installation (an upgrade that adds the
// policy while CSRs wait for their issuer).
func TestKubernetesCSRApprovedBeforeThePolicyWasInForceIsNotSigned(t *testing.T) {
	restore := withoutCSRAnnotationPolicy(t)
	iss := newFidelityIssuer(t, "fidelity-before")
	csr := createWithClientGo(t, serverCSR(t, iss.signer(), "a.narrow.internal", map[string]string{templateKey: "narrow"}))
	approveCSR(t, csr)
	restore()
	iss.ready(t)
	msg := waitFailedWithEvent(t, csr)
	wantContains(t, "failure message", msg, "was approved at", "created or last changed at", iss.templated("narrow"))

	// A CSR approved under the policy is signed.
	after := createWithClientGo(t, serverCSR(t, iss.signer(), "b.narrow.internal", map[string]string{templateKey: "narrow"}))
	approveCSR(t, after)
	verifyChain(t, waitCSRSigned(t, after), iss.ca.Cert, x509.ExtKeyUsageServerAuth)
}

// TestCSRAnnotationPolicyKeepsAnnotationsAsCreated: with the policy the
// chart ships, the API server refuses every change to the guarded
// annotations of our signers' CSRs, through the object and through its
// status and approval subresources (none of which resets metadata), and
// the CSR is signed as approved.
func TestCSRAnnotationPolicyKeepsAnnotationsAsCreated(t *testing.T) {
	ctx := t.Context()
	iss := newFidelityIssuer(t, "fidelity-policy")
	csr := createWithClientGo(t, serverCSR(t, iss.signer(), "a.narrow.internal", map[string]string{templateKey: "narrow", "team": "a"}))
	wide, yes := "wide", "true"
	type write func(ctx context.Context, c *certificatesv1.CertificateSigningRequest) error
	csrs := clientset.CertificatesV1().CertificateSigningRequests()
	writes := map[string]write{
		"the object": func(ctx context.Context, c *certificatesv1.CertificateSigningRequest) error {
			_, err := csrs.Update(ctx, c, metav1.UpdateOptions{})
			return err
		},
		"the status subresource": func(ctx context.Context, c *certificatesv1.CertificateSigningRequest) error {
			_, err := csrs.UpdateStatus(ctx, c, metav1.UpdateOptions{})
			return err
		},
		"the approval subresource": func(ctx context.Context, c *certificatesv1.CertificateSigningRequest) error {
			_, err := csrs.UpdateApproval(ctx, c.Name, c, metav1.UpdateOptions{})
			return err
		},
	}
	changes := []struct {
		what, key string
		value     *string
	}{
		{"change the template", templateKey, &wide},
		{"remove the template", templateKey, nil},
		{"add request-is-ca", isCAKey, &yes},
		{"add request-duration", experimentalapi.CertificateSigningRequestDurationAnnotationKey, &wide},
	}
	for via, w := range writes {
		for _, c := range changes {
			cur, err := csrs.Get(ctx, csr.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if c.value == nil {
				delete(cur.Annotations, c.key)
			} else {
				cur.Annotations[c.key] = *c.value
			}
			err = w(ctx, cur)
			if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), c.key) || !strings.Contains(err.Error(), "Create a new CertificateSigningRequest") {
				t.Errorf("%s through %s: %v, want it refused naming %s", c.what, via, err, c.key)
			}
		}
	}
	// Other metadata stays writable, and other signers' CSRs are not ours.
	team := "b"
	if err := setAnnotation(ctx, csr, "team", &team); err != nil {
		t.Errorf("changing an annotation the policy does not guard: %v", err)
	}
	other := createWithClientGo(t, serverCSR(t, "example.com/other", "x.example.com", map[string]string{templateKey: "narrow"}))
	if err := setAnnotation(ctx, other, templateKey, &wide); err != nil {
		t.Errorf("changing the template annotation of another signer's CSR: %v", err)
	}

	approveCSR(t, csr)
	iss.ready(t)
	leaf := verifyChain(t, waitCSRSigned(t, csr), iss.ca.Cert, x509.ExtKeyUsageServerAuth)
	if !containsAll(leaf.DNSNames, "a.narrow.internal") {
		t.Errorf("DNS names %v", leaf.DNSNames)
	}
	if e := waitEvent(t, "", csr.Name, v1alpha1.EventReasonCertificateIssued); !strings.Contains(e, "from template narrow") {
		t.Errorf("issued Event %q does not name template narrow", e)
	}
}

// TestKubernetesCSRSelectsItsTemplateBySignerName: the signer name
// templates.nstanceclusterissuers.issuer.nstance.dev/<issuer>.<template> is
// immutable, so it needs no policy; the issuer's name may hold dots.
func TestKubernetesCSRSelectsItsTemplateBySignerName(t *testing.T) {
	iss := newFidelityIssuer(t, "fidelity.by.signer")
	iss.ready(t)

	for _, annotations := range []map[string]string{nil, {templateKey: "narrow"}} {
		csr := createWithClientGo(t, serverCSR(t, iss.templated("narrow"), "a.narrow.internal", annotations))
		approveCSR(t, csr)
		leaf := verifyChain(t, waitCSRSigned(t, csr), iss.ca.Cert, x509.ExtKeyUsageServerAuth)
		if !containsAll(leaf.DNSNames, "a.narrow.internal") {
			t.Errorf("DNS names %v", leaf.DNSNames)
		}
		if e := waitEvent(t, "", csr.Name, v1alpha1.EventReasonCertificateIssued); !strings.Contains(e, "from template narrow") {
			t.Errorf("issued Event %q does not name template narrow", e)
		}
	}

	for _, tc := range []struct {
		name, signer, dns string
		annotations       map[string]string
		want              []string
	}{
		{"the signer's template is the policy, not the issuer's default", iss.templated("narrow"), "evil.example.com", nil,
			[]string{"evil.example.com", "narrow"}},
		{"an annotation naming another template is refused", iss.templated("narrow"), "a.narrow.internal", map[string]string{templateKey: "wide"},
			[]string{`annotation issuer.nstance.dev/template is "wide" but signer ` + iss.templated("narrow") + ` selects template "narrow"`}},
		{"an unknown template is refused", iss.templated("admin"), "a.narrow.internal", nil,
			[]string{`template "admin" named by signer ` + iss.templated("admin") + " does not exist", "narrow, wide, subca"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			csr := createWithClientGo(t, serverCSR(t, tc.signer, tc.dns, tc.annotations))
			approveCSR(t, csr)
			wantContains(t, "failure message", waitFailedWithEvent(t, csr), tc.want...)
		})
	}

	t.Run("a templated signer name without a template is refused", func(t *testing.T) {
		csr := createWithClientGo(t, serverCSR(t, kubecsr.TemplatedSignerPrefix+"nodot", "a.narrow.internal", nil))
		approveCSR(t, csr)
		wantContains(t, "failure message", waitCSRFailed(t, csr), "names no template", kubecsr.TemplatedSignerPrefix+"<issuer>.<template>")
		if c := csrCondition(csr, certificatesv1.CertificateFailed); c == nil || c.Reason != kubecsr.ReasonInvalidSignerName {
			t.Errorf("Failed condition %+v, want reason %s", c, kubecsr.ReasonInvalidSignerName)
		}
	})

	// The API server itself refuses a signer name with an empty part
	// (each dot-separated label of its path must be a DNS subdomain); a
	// part that the API server lets through but no issuer can be named
	// (names are at most 253 characters) fails instead of waiting forever
	// for an issuer that cannot exist.
	t.Run("a templated signer name with an empty part is refused by the API server", func(t *testing.T) {
		for _, path := range []string{".narrow", "fidelity.by.signer.", "."} {
			csr := serverCSR(t, kubecsr.TemplatedSignerPrefix+path, "a.narrow.internal", nil)
			if _, err := clientset.CertificatesV1().CertificateSigningRequests().Create(t.Context(), csr, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
				t.Errorf("creating a CSR of signer %s: %v; want it refused as invalid", csr.Spec.SignerName, err)
			}
		}
	})
	long := strings.Repeat("a", 200) + "." + strings.Repeat("b", 60)
	for what, signerName := range map[string]string{"templated": kubecsr.TemplatedSignerPrefix + long + ".narrow", "plain": issuer.ClusterIssuerSignerPrefix + long} {
		t.Run("a "+what+" signer name whose issuer part no issuer can have fails", func(t *testing.T) {
			csr := createWithClientGo(t, serverCSR(t, signerName, "a.narrow.internal", nil))
			approveCSR(t, csr)
			wantContains(t, "failure message", waitCSRFailed(t, csr), "is not a valid NstanceClusterIssuer name", "must be no more than 253 characters")
			if c := csrCondition(csr, certificatesv1.CertificateFailed); c == nil || c.Reason != kubecsr.ReasonInvalidSignerName {
				t.Errorf("Failed condition %+v, want reason %s", c, kubecsr.ReasonInvalidSignerName)
			}
		})
	}
}

// TestKubernetesCSRWithATemplatedSignerChangedAfterApproval: without the
// policy, annotations of a CSR whose template comes from its signer name
// can still change after approval; none of those changes gets more than
// was approved. The CSRs wait for their issuer to turn Ready (issuer-lib
// does not know templated signer names: nstance-issuer wakes them).
func TestKubernetesCSRWithATemplatedSignerChangedAfterApproval(t *testing.T) {
	withoutCSRAnnotationPolicy(t)
	iss := newFidelityIssuer(t, "fidelity-templated")

	untouched := createWithClientGo(t, serverCSR(t, iss.templated("narrow"), "a.narrow.internal", nil))
	approveCSR(t, untouched)

	retemplated := createWithClientGo(t, serverCSR(t, iss.templated("narrow"), "evil.example.com", nil))
	approveCSR(t, retemplated)
	wide := "wide"
	mustSetAnnotation(t, retemplated, templateKey, &wide)

	leaf := cmctlCSR(t, iss.templated("subca"), cmapi.CertificateSpec{DNSNames: []string{"leaf.ca.internal"}, Usages: []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageServerAuth}}, nil)
	madeCA := createWithClientGo(t, leaf)
	approveCSR(t, madeCA)
	yes := "true"
	mustSetAnnotation(t, madeCA, isCAKey, &yes)

	iss.ready(t)
	verifyChain(t, waitCSRSigned(t, untouched), iss.ca.Cert, x509.ExtKeyUsageServerAuth)
	wantContains(t, "template switched after approval", waitFailedWithEvent(t, retemplated), `is "wide" but signer `+iss.templated("narrow")+` selects template "narrow"`)
	wantContains(t, "isCA switched after approval", waitFailedWithEvent(t, madeCA), isCAKey+` is "true" but spec.usages does not list "cert sign"`)
}

// TestKubernetesCSRIsCAComesFromItsUsages: a CA certificate is signed only
// when spec.usages, which the approver saw, lists "cert sign", as cmctl
// writes it for a CA Certificate; the annotation and the CSR's own
// basicConstraints must agree. (Before the fix, the annotation alone made
// a CA, and a CSR's basicConstraints cA was silently dropped.)
func TestKubernetesCSRIsCAComesFromItsUsages(t *testing.T) {
	iss := newFidelityIssuer(t, "fidelity-isca")
	iss.ready(t)
	subca := map[string]string{templateKey: "subca"}
	ca := cmapi.CertificateSpec{CommonName: "sub.ca.internal", DNSNames: []string{"sub.ca.internal"}, IsCA: true,
		Usages: []cmapi.KeyUsage{cmapi.UsageDigitalSignature}}
	leafSpec := cmapi.CertificateSpec{DNSNames: []string{"leaf.ca.internal"}, Usages: []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageServerAuth}}

	signed := func(t *testing.T, csr *certificatesv1.CertificateSigningRequest) *x509.Certificate {
		t.Helper()
		created := createWithClientGo(t, csr)
		approveCSR(t, created)
		certs := parseChain(t, waitCSRSigned(t, created))
		return certs[0]
	}
	failed := func(t *testing.T, csr *certificatesv1.CertificateSigningRequest, want ...string) {
		t.Helper()
		created := createWithClientGo(t, csr)
		approveCSR(t, created)
		wantContains(t, "failure message", waitFailedWithEvent(t, created), want...)
	}

	t.Run("a CA Certificate as cmctl makes its CSR is signed as a CA", func(t *testing.T) {
		csr := cmctlCSR(t, iss.signer(), ca, subca, cmpki.WithEncodeBasicConstraintsInRequest(true))
		if c := signed(t, csr); !c.IsCA || c.KeyUsage&x509.KeyUsageCertSign == 0 {
			t.Errorf("IsCA %v, key usage %v; want a CA", c.IsCA, c.KeyUsage)
		}
	})
	t.Run("cert sign in spec.usages asks for a CA without the annotation", func(t *testing.T) {
		csr := cmctlCSR(t, iss.signer(), ca, subca)
		delete(csr.Annotations, isCAKey)
		if c := signed(t, csr); !c.IsCA {
			t.Error("not a CA")
		}
	})
	t.Run("the annotation alone does not make a CA", func(t *testing.T) {
		csr := cmctlCSR(t, iss.signer(), leafSpec, subca)
		csr.Annotations[isCAKey] = "true"
		failed(t, csr, isCAKey+` is "true" but spec.usages does not list "cert sign"`)
	})
	t.Run("a basicConstraints cA in the CSR without cert sign is refused, not dropped", func(t *testing.T) {
		csr := cmctlCSR(t, iss.signer(), ca, subca, cmpki.WithEncodeBasicConstraintsInRequest(true))
		csr.Spec.Usages = framework.KeyUsagesWithout(csr.Spec.Usages, certificatesv1.UsageCertSign)
		delete(csr.Annotations, isCAKey)
		failed(t, csr, "basicConstraints extension asks for cA true", `spec.usages does not list "cert sign"`)
	})
	t.Run("cert sign with the annotation false is refused", func(t *testing.T) {
		csr := cmctlCSR(t, iss.signer(), ca, subca)
		csr.Annotations[isCAKey] = "false"
		failed(t, csr, `spec.usages lists "cert sign"`, `is "false"`)
	})
}

// TestKubernetesCSRApprovalScopedPerTemplate: RBAC can grant `approve`
// template by template through templated signer names, and the API
// server's CertificateApproval admission enforces it; the controller's
// shipped ClusterRole may `sign` them and read the admission policy.
func TestKubernetesCSRApprovalScopedPerTemplate(t *testing.T) {
	ctx := t.Context()
	iss := newFidelityIssuer(t, "fidelity-rbac")
	iss.ready(t)
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "fidelity-narrow-approver"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"signers"}, Verbs: []string{"approve"}, ResourceNames: []string{iss.templated("narrow")}},
			{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"certificatesigningrequests"}, Verbs: []string{"get"}},
			{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"certificatesigningrequests/approval"}, Verbs: []string{"update"}},
		},
	}
	create(t, role)
	create(t, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "narrow-approver"}},
	})
	cfg := rest.CopyConfig(restConfig)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "narrow-approver", Groups: []string{"system:authenticated"}}
	approver := kubernetes.NewForConfigOrDie(cfg).CertificatesV1().CertificateSigningRequests()
	approve := func(ctx context.Context, csr *certificatesv1.CertificateSigningRequest) error {
		cur, err := approver.Get(ctx, csr.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Status.Conditions = append(cur.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "NarrowApprover", LastUpdateTime: metav1.Now()})
		_, err = approver.UpdateApproval(ctx, cur.Name, cur, metav1.UpdateOptions{})
		return err
	}

	narrow := createWithClientGo(t, serverCSR(t, iss.templated("narrow"), "a.narrow.internal", nil))
	eventually(t, "the narrow approver's role enforced", func(ctx context.Context) error { return approve(ctx, narrow) })
	verifyChain(t, waitCSRSigned(t, narrow), iss.ca.Cert, x509.ExtKeyUsageServerAuth)
	for _, signer := range []string{iss.templated("wide"), iss.signer()} {
		other := createWithClientGo(t, serverCSR(t, signer, "a.narrow.internal", map[string]string{templateKey: "narrow"}))
		if err := approve(ctx, other); !apierrors.IsForbidden(err) {
			t.Errorf("the narrow approver approving a CSR for %s: %v, want Forbidden", signer, err)
		}
	}

	_, shipped := asShippedController(t, "templated-signer")
	for _, obj := range []client.Object{&admissionregistrationv1.ValidatingAdmissionPolicy{}, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}} {
		if err := shipped.Get(ctx, types.NamespacedName{Name: kubecsr.DefaultCSRAnnotationPolicy}, obj); err != nil {
			t.Errorf("the shipped ClusterRole reading %T: %v", obj, err)
		}
	}
	// An issuer that does not exist: only the test writes a certificate.
	orphan := createWithClientGo(t, serverCSR(t, kubecsr.TemplatedSignerName("no-such-issuer", "narrow"), "a.narrow.internal", nil))
	approveCSR(t, orphan)
	signed := orphan.DeepCopy()
	signed.Status.Certificate = iss.ca.CertPEM
	if err := shipped.Status().Patch(ctx, signed, client.MergeFrom(orphan)); err != nil {
		t.Errorf("the shipped ClusterRole signing a CSR of a templated signer: %v", err)
	}
}

func csrCondition(csr *certificatesv1.CertificateSigningRequest, typ certificatesv1.RequestConditionType) *certificatesv1.CertificateSigningRequestCondition {
	for i := range csr.Status.Conditions {
		if csr.Status.Conditions[i].Type == typ {
			return &csr.Status.Conditions[i]
		}
	}
	return nil
}
