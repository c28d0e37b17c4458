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
	"errors"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
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
	create(t, csr)
	return csr
}

// approveCSR does what `kubectl certificate approve` does.
func approveCSR(t *testing.T, csr *certificatesv1.CertificateSigningRequest) {
	t.Helper()
	if err := framework.ApproveCSR(t.Context(), k8s, csr); err != nil {
		t.Fatal(err)
	}
}

// waitCSRSigned waits for the CSR's status.certificate and returns it.
func waitCSRSigned(t *testing.T, csr *certificatesv1.CertificateSigningRequest) []byte {
	t.Helper()
	eventually(t, "CSR "+csr.Name+" signed", framework.CSRSigned(k8s, csr))
	return csr.Status.Certificate
}

// waitCSRFailed waits for the CSR's Failed condition and returns its
// message; a signed CSR fails the test.
func waitCSRFailed(t *testing.T, csr *certificatesv1.CertificateSigningRequest) string {
	t.Helper()
	var msg string
	eventually(t, "CSR "+csr.Name+" Failed", func(ctx context.Context) error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(csr), csr); err != nil {
			return err
		}
		if len(csr.Status.Certificate) > 0 {
			return framework.Stop(errors.New("it was signed"))
		}
		for _, c := range csr.Status.Conditions {
			if c.Type == certificatesv1.CertificateFailed {
				msg = c.Message
				return nil
			}
		}
		return errors.New("no Failed condition")
	})
	return msg
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

	consistently(t, "CSR "+csr.Name+" unsigned before approval", func(ctx context.Context) error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(csr), csr); err != nil {
			return err
		}
		if len(csr.Status.Certificate) > 0 {
			return errors.New("signed before approval")
		}
		return nil
	})
	approveCSR(t, csr)
	start := time.Now()
	leaf := verifyChain(t, waitCSRSigned(t, csr), ca.Cert, x509.ExtKeyUsageServerAuth)
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
	if life := verifyChain(t, waitCSRSigned(t, stretched), ca.Cert, x509.ExtKeyUsageServerAuth).NotAfter.Sub(start); life > time.Hour+time.Minute {
		t.Errorf("lifetime %s: the annotation outlived spec.expirationSeconds (1h)", life)
	}

	// An empty template annotation, or a template that does not allow
	// Kubernetes CSRs, fails the CSR with a reason; nothing is signed.
	for annotation, want := range map[string]string{"": "present but empty", "no-csrs": "does not allow Kubernetes CertificateSigningRequests"} {
		bad := createCSR(t, "nstanceclusterissuers.issuer.nstance.dev/cluster-ca", csrPEM(t, "b", "b.nodes.internal"), &expiration,
			map[string]string{v1alpha1.TemplateAnnotation: annotation})
		approveCSR(t, bad)
		if msg := waitCSRFailed(t, bad); !strings.Contains(msg, want) {
			t.Errorf("template annotation %q: failure message %q lacks %q", annotation, msg, want)
		}
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
	if msg := waitCSRFailed(t, csr); !strings.Contains(msg, "NstanceClusterIssuer") {
		t.Errorf("failure message %q does not say to use an NstanceClusterIssuer", msg)
	}
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
