//go:build e2e

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

package e2e

import (
	"context"
	"crypto/x509"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/kubecsr"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

var _ = Describe("A Kubernetes CertificateSigningRequest", func() {
	// The annotation selects the template: signed because the admission
	// policy the chart and config/ install kept it as approved.
	It("is signed by an NstanceClusterIssuer after `kubectl certificate approve`", func(ctx SpecContext) {
		signCSR(ctx, "e2e-csr-signer", func(issuer string) (string, map[string]string) {
			return "nstanceclusterissuers.issuer.nstance.dev/" + issuer, map[string]string{v1alpha1.TemplateAnnotation: "kubelet-server"}
		})
	})
	It("takes its template from a templated signer name", func(ctx SpecContext) {
		signCSR(ctx, "e2e-csr-templated", func(issuer string) (string, map[string]string) {
			return kubecsr.TemplatedSignerName(issuer, "kubelet-server"), nil
		})
	})
})

// signCSR creates an NstanceClusterIssuer name with template
// kubelet-server, a CSR for the signer name and annotations signer
// returns, approves it as kubectl does and checks the certificate.
func signCSR(ctx context.Context, name string, signer func(issuer string) (string, map[string]string)) {
	ensureNamespace(clusterResourceNamespace)
	ca := newCA("CSR Root CA")
	createCASecret(clusterResourceNamespace, name, ca)
	DeferCleanup(func() {
		_ = k8s.Delete(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: clusterResourceNamespace, Name: name}})
	})
	issuer := &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.IssuerSpec{
			CA: v1alpha1.CASpec{SecretName: name},
			Templates: []v1alpha1.CertificateTemplate{{
				Name: "kubelet-server", Kind: v1alpha1.ServerKind, Subject: v1alpha1.Subject{CN: "kubelet"}, TTL: 720,
				AllowedDNSNames: []string{"*.my-namespace.svc.cluster.local"},
				// Whoever runs the suite may use it (on a real cluster
				// that need not be a cluster admin).
				KubernetesCSRs: &v1alpha1.KubernetesCSRRequesters{Usernames: []string{"*"}},
			}},
		},
	}
	Expect(k8s.Create(ctx, issuer)).To(Succeed())
	DeferCleanup(func() { _ = k8s.Delete(context.Background(), issuer) })
	issuerReady(issuer)

	request, err := testpki.CSR("my-pod.my-namespace.pod.cluster.local", "my-svc.my-namespace.svc.cluster.local")
	Expect(err).NotTo(HaveOccurred())
	seconds := int32(3600)
	signerName, annotations := signer(name)
	csr, err := clientset.CertificatesV1().CertificateSigningRequests().Create(ctx, &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "my-svc.my-namespace-", Annotations: annotations},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:           request,
			SignerName:        signerName,
			ExpirationSeconds: &seconds,
			Usages:            []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageServerAuth},
		},
	}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { _ = k8s.Delete(context.Background(), csr) })

	By("approving it as kubectl certificate approve does")
	Expect(framework.ApproveCSR(ctx, k8s, csr)).To(Succeed())
	eventually("CSR "+csr.Name+" signed", framework.CSRSigned(k8s, csr))
	leaf, err := testpki.VerifyChain(csr.Status.Certificate, ca.CertPEM, x509.ExtKeyUsageServerAuth)
	Expect(err).NotTo(HaveOccurred())
	Expect(leaf.Subject.CommonName).To(Equal("kubelet"))
	Expect(leaf.DNSNames).To(ContainElement("my-svc.my-namespace.svc.cluster.local"))
	Expect(leaf.NotAfter.Sub(leaf.NotBefore)).To(BeNumerically("<=", time.Hour+30*time.Second), "spec.expirationSeconds is honoured")
}
