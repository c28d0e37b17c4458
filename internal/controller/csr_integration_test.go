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

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

func createCSR(t *testing.T, signerName string, request []byte, expiration *int32, annotations map[string]string) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "csr-", Annotations: annotations},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:           request,
			SignerName:        signerName,
			ExpirationSeconds: expiration,
			Usages:            []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageServerAuth},
		},
	}
	csr, err := clientset.CertificatesV1().CertificateSigningRequests().Create(context.Background(), csr, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

// approveCSR does what `kubectl certificate approve` does: append an Approved
// condition through the approval subresource.
func approveCSR(t *testing.T, csr *certificatesv1.CertificateSigningRequest) {
	t.Helper()
	ctx := context.Background()
	cur, err := clientset.CertificatesV1().CertificateSigningRequests().Get(ctx, csr.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Status.Conditions = append(cur.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue,
		Reason: "KubectlApprove", Message: "This CSR was approved by kubectl certificate approve.",
		LastUpdateTime: metav1.Now(),
	})
	if _, err := clientset.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func getCSR(t *testing.T, name string) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	cur, err := clientset.CertificatesV1().CertificateSigningRequests().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cur
}

func TestKubernetesCSRIsSignedAfterApproval(t *testing.T) {
	ca := validCA(t, "Cluster Root CA")
	createSecret(t, clusterResourceNamespace, "cluster-ca", ca.SecretData())
	issuer := &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster-ca"},
		Spec: v1alpha1.IssuerSpec{
			CA: v1alpha1.CASpec{SecretName: "cluster-ca"},
			Templates: []v1alpha1.CertificateTemplate{{
				Name: "kubelet-server", Kind: v1alpha1.ServerKind, Subject: v1alpha1.Subject{CN: "kubelet"},
				DNS: []string{"{{ .Request.Name }}.nodes.internal"}, TTL: 720,
				AllowedDNSNames: []string{"*.nodes.internal", "*.my-namespace.svc.cluster.local"},
				// The test's client is a cluster admin.
				KubernetesCSRs: &v1alpha1.KubernetesCSRRequesters{Groups: []string{"system:masters"}},
			}, {
				Name: "no-csrs", Kind: v1alpha1.ServerKind, AllowedDNSNames: []string{"**"},
			}},
		},
	}
	create(t, issuer)
	waitIssuer(t, issuer, metav1.ConditionTrue, "")

	expiration := int32(3600)
	csr := createCSR(t, "nstanceclusterissuers.issuer.nstance.dev/cluster-ca", csrPEM(t, "my-pod.my-namespace.pod.cluster.local", "my-svc.my-namespace.svc.cluster.local"),
		&expiration, map[string]string{v1alpha1.TemplateAnnotation: "kubelet-server"})

	time.Sleep(time.Second)
	if len(getCSR(t, csr.Name).Status.Certificate) > 0 {
		t.Fatal("CSR signed before approval")
	}
	approveCSR(t, csr)
	start := time.Now()
	var cur *certificatesv1.CertificateSigningRequest
	eventually(t, "status.certificate", func() (bool, string) {
		cur = getCSR(t, csr.Name)
		return len(cur.Status.Certificate) > 0, ""
	})
	leaf := verifyChain(t, cur.Status.Certificate, ca.Cert, x509.ExtKeyUsageServerAuth)
	if leaf.Subject.CommonName != "kubelet" || !containsAll(leaf.DNSNames, "my-svc.my-namespace.svc.cluster.local", csr.Name+".nodes.internal") {
		t.Errorf("CN=%q DNS=%v, want the template applied", leaf.Subject.CommonName, leaf.DNSNames)
	}
	if life := leaf.NotAfter.Sub(start); life > time.Hour+time.Minute || life < time.Hour-time.Minute {
		t.Errorf("lifetime %s, want spec.expirationSeconds (1h)", life)
	}

	// cert-manager's duration annotation cannot stretch the lifetime an
	// approver saw in spec.expirationSeconds.
	stretched := createCSR(t, "nstanceclusterissuers.issuer.nstance.dev/cluster-ca", csrPEM(t, "s", "s.nodes.internal"), &expiration,
		map[string]string{v1alpha1.TemplateAnnotation: "kubelet-server", "experimental.cert-manager.io/request-duration": "8760h"})
	approveCSR(t, stretched)
	start = time.Now()
	eventually(t, "status.certificate", func() (bool, string) {
		cur = getCSR(t, stretched.Name)
		return len(cur.Status.Certificate) > 0, ""
	})
	if life := verifyChain(t, cur.Status.Certificate, ca.Cert, x509.ExtKeyUsageServerAuth).NotAfter.Sub(start); life > time.Hour+time.Minute {
		t.Errorf("lifetime %s: the annotation outlived spec.expirationSeconds (1h)", life)
	}

	// An empty template annotation, or a template that does not allow
	// Kubernetes CSRs, fails the CSR with a reason; nothing is signed.
	for annotation, want := range map[string]string{"": "present but empty", "no-csrs": "does not allow Kubernetes CertificateSigningRequests"} {
		bad := createCSR(t, "nstanceclusterissuers.issuer.nstance.dev/cluster-ca", csrPEM(t, "b", "b.nodes.internal"), &expiration,
			map[string]string{v1alpha1.TemplateAnnotation: annotation})
		approveCSR(t, bad)
		eventually(t, "CSR Failed", func() (bool, string) {
			cur := getCSR(t, bad.Name)
			if len(cur.Status.Certificate) > 0 {
				t.Fatalf("CSR with template annotation %q was signed", annotation)
			}
			for _, c := range cur.Status.Conditions {
				if c.Type == certificatesv1.CertificateFailed {
					if !strings.Contains(c.Message, want) {
						t.Errorf("failure message %q lacks %q", c.Message, want)
					}
					return true, ""
				}
			}
			return false, "no Failed condition"
		})
	}
}

// TestCertificateRequestWithAClusterIssuer: a cluster issuer serves
// CertificateRequests in any namespace, reading its CA from the cluster
// resource namespace only.
func TestCertificateRequestWithAClusterIssuer(t *testing.T) {
	ca := validCA(t, "Shared Root CA")
	createSecret(t, clusterResourceNamespace, "shared-ca", ca.SecretData())
	issuer := &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: "shared"},
		Spec:       v1alpha1.IssuerSpec{CA: v1alpha1.CASpec{SecretName: "shared-ca"}, AllowPassThrough: true},
	}
	create(t, issuer)
	waitIssuer(t, issuer, metav1.ConditionTrue, "")

	ns := newNamespace(t)
	// A Secret of the same name in the request's namespace must be ignored.
	createSecret(t, ns, "shared-ca", validCA(t, "Decoy CA").SecretData())
	cr := createCertificateRequest(t, ns, issuerRef("NstanceClusterIssuer", "shared"), csrPEM(t, "x", "x.example.com"), time.Hour, nil)
	approve(t, cr)
	verifyChain(t, waitCRReady(t, cr).Status.Certificate, ca.Cert, x509.ExtKeyUsageAny)
}

func TestKubernetesCSRForANamespacedIssuerFailsClearly(t *testing.T) {
	csr := createCSR(t, "nstanceissuers.issuer.nstance.dev/default.web", csrPEM(t, "x", "x.example.com"), nil, nil)
	approveCSR(t, csr)
	eventually(t, "CSR Failed", func() (bool, string) {
		cur := getCSR(t, csr.Name)
		if len(cur.Status.Certificate) > 0 {
			t.Fatal("CSR for a namespaced issuer was signed")
		}
		for _, c := range cur.Status.Conditions {
			if c.Type == certificatesv1.CertificateFailed {
				if !strings.Contains(c.Message, "NstanceClusterIssuer") {
					t.Errorf("failure message %q does not say to use an NstanceClusterIssuer", c.Message)
				}
				return true, ""
			}
		}
		return false, "no Failed condition"
	})
}

func containsAll(have []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}
