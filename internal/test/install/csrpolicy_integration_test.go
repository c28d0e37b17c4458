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

package install

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/controller/kubecsr"
)

// shippedCSRPolicy returns the CSR annotation policy and binding of a
// render, and the name the controller's --csr-annotation-policy gives.
// A render holds either no policy or two (the CSR one and the
// CertificateRequest one, shippedPolicy).
func shippedCSRPolicy(t *testing.T, objs []*unstructured.Unstructured) (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding, string) {
	t.Helper()
	_, c := managerContainer(t, objs)
	var arg string
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--csr-annotation-policy="); ok {
			arg = v
		}
	}
	policies, bindings := ofKind(objs, "ValidatingAdmissionPolicy"), ofKind(objs, "ValidatingAdmissionPolicyBinding")
	if len(policies) == 0 && len(bindings) == 0 {
		return nil, nil, arg
	}
	if len(policies) != 2 || len(bindings) != 2 {
		t.Fatalf("want two ValidatingAdmissionPolicies and two bindings, got %d and %d", len(policies), len(bindings))
	}
	policy, binding := shippedPolicy(t, objs, arg)
	return policy, binding, arg
}

// shippedPolicy returns the ValidatingAdmissionPolicy and binding named
// name of a render.
func shippedPolicy(t *testing.T, objs []*unstructured.Unstructured, name string) (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
	t.Helper()
	named := func(kind string) *unstructured.Unstructured {
		for _, o := range ofKind(objs, kind) {
			if o.GetName() == name {
				return o
			}
		}
		t.Fatalf("no %s named %s rendered", kind, name)
		return nil
	}
	return toTyped[admissionregistrationv1.ValidatingAdmissionPolicy](t, named("ValidatingAdmissionPolicy")),
		toTyped[admissionregistrationv1.ValidatingAdmissionPolicyBinding](t, named("ValidatingAdmissionPolicyBinding"))
}

// TestCSRAnnotationPolicyShipsAsTheControllerChecksIt: the chart and
// config/default install the policy and binding the controller will look
// for (the name its --csr-annotation-policy flag gets) with exactly the
// spec it checks (kubecsr.CSRAnnotationPolicy); the chart can leave it
// out, and then tells the controller the name all the same, so that CSRs
// that rely on it fail rather than being signed unguarded.
func TestCSRAnnotationPolicyShipsAsTheControllerChecksIt(t *testing.T) {
	t.Parallel()
	renders := []struct {
		name string
		objs []*unstructured.Unstructured
		want string
	}{
		{"chart defaults", renderChart(t, "nstance-issuer", "nstance-issuer"), kubecsr.DefaultCSRAnnotationPolicy},
		{"chart with another release name", renderChart(t, "pki", "pki"), "pki-nstance-issuer-csr-annotations"},
		{"chart with fullnameOverride", renderChart(t, "x", "x", "--set", "fullnameOverride=signer"), "signer-csr-annotations"},
		{"config/default", renderKustomize(t, configDir+"/default"), kubecsr.DefaultCSRAnnotationPolicy},
	}
	for _, r := range renders {
		t.Run(r.name, func(t *testing.T) {
			policy, binding, arg := shippedCSRPolicy(t, r.objs)
			if policy == nil {
				t.Fatal("no CSR annotation policy rendered")
			}
			if policy.Name != r.want || binding.Name != r.want || arg != r.want {
				t.Errorf("policy %q, binding %q, --csr-annotation-policy %q; want all %q", policy.Name, binding.Name, arg, r.want)
			}
			if policy.Namespace != "" || binding.Namespace != "" {
				t.Errorf("the cluster-scoped policy and binding have namespaces %q, %q", policy.Namespace, binding.Namespace)
			}
			wantPolicy, wantBinding := kubecsr.CSRAnnotationPolicy(r.want)
			if diff := specDiff(policy.Spec, wantPolicy.Spec); diff != "" {
				t.Errorf("policy spec is not the controller's: %s", diff)
			}
			if diff := specDiff(binding.Spec, wantBinding.Spec); diff != "" {
				t.Errorf("binding spec is not the controller's: %s", diff)
			}
			// The CertificateRequest policy ships beside it, named alike.
			crName := strings.TrimSuffix(r.want, "csr-annotations") + "certificaterequest-annotations"
			crPolicy, crBinding := shippedPolicy(t, r.objs, crName)
			wantPolicy, wantBinding = kubecsr.CertificateRequestAnnotationPolicy(crName)
			if diff := specDiff(crPolicy.Spec, wantPolicy.Spec); diff != "" {
				t.Errorf("CertificateRequest policy spec is not the controller's: %s", diff)
			}
			if diff := specDiff(crBinding.Spec, wantBinding.Spec); diff != "" {
				t.Errorf("CertificateRequest binding spec is not the controller's: %s", diff)
			}
		})
	}
	t.Run("chart without the policy", func(t *testing.T) {
		objs := renderChart(t, "nopolicy", "nopolicy", "--set", "csrAnnotationPolicy.enabled=false,config.insecureAllowMutableCSRAnnotations=true")
		policy, _, arg := shippedCSRPolicy(t, objs)
		if policy != nil || arg != "nopolicy-nstance-issuer-csr-annotations" {
			t.Errorf("policy %v, --csr-annotation-policy %q; want no policy and the name still passed", policy, arg)
		}
		_, c := managerContainer(t, objs)
		wantArgs(t, c, "--insecure-allow-mutable-csr-annotations=true")
	})
}

// TestCSRAnnotationPolicyAsShippedRefusesChanges installs config/default's
// policy and binding for real and changes a CSR's template annotation: the
// API server refuses it for nstance-issuer's signers and lets it through
// for another signer's CSR.
func TestCSRAnnotationPolicyAsShippedRefusesChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var objs []*unstructured.Unstructured
	for _, o := range renderKustomize(t, configDir+"/default") {
		if o.GetKind() == "ValidatingAdmissionPolicy" || o.GetKind() == "ValidatingAdmissionPolicyBinding" {
			objs = append(objs, o)
		}
	}
	apply(t, objs, false)
	t.Cleanup(func() {
		_ = clientset.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(ctx, kubecsr.DefaultCSRAnnotationPolicy, metav1.DeleteOptions{})
		_ = clientset.AdmissionregistrationV1().ValidatingAdmissionPolicies().Delete(ctx, kubecsr.DefaultCSRAnnotationPolicy, metav1.DeleteOptions{})
		_ = clientset.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(ctx, kubecsr.DefaultCertificateRequestAnnotationPolicy, metav1.DeleteOptions{})
		_ = clientset.AdmissionregistrationV1().ValidatingAdmissionPolicies().Delete(ctx, kubecsr.DefaultCertificateRequestAnnotationPolicy, metav1.DeleteOptions{})
	})

	ours := annotatedCSR(t, "policy-ours", issuer.ClusterIssuerSignerPrefix+"cluster-ca")
	theirs := annotatedCSR(t, "policy-theirs", "example.com/other")
	retemplate := func(csr *certificatesv1.CertificateSigningRequest, value string) error {
		cur, err := clientset.CertificatesV1().CertificateSigningRequests().Get(ctx, csr.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Annotations["issuer.nstance.dev/template"] = value
		_, err = clientset.CertificatesV1().CertificateSigningRequests().Update(ctx, cur, metav1.UpdateOptions{})
		return err
	}
	// The API server loads policies within about a second.
	deadline := time.Now().Add(30 * time.Second)
	for attempt := 0; ; attempt++ {
		err := retemplate(ours, fmt.Sprint("wide-", attempt))
		if apierrors.IsForbidden(err) && strings.Contains(err.Error(), "issuer.nstance.dev/template") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("changing the template annotation of a CSR for %s: %v; want it refused", ours.Spec.SignerName, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := retemplate(theirs, "wide"); err != nil {
		t.Errorf("changing the annotation of another signer's CSR: %v", err)
	}
}

func annotatedCSR(t *testing.T, name, signerName string) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "installtest"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{"issuer.nstance.dev/template": "narrow"}},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: signerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature},
		},
	}
	created, err := clientset.CertificatesV1().CertificateSigningRequests().Create(context.Background(), csr, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = clientset.CertificatesV1().CertificateSigningRequests().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return created
}
