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

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
)

var _ = Describe("A Certificate with an NstanceIssuer", func() {
	var ns string
	var ca interface{ SecretData() map[string][]byte }
	var root *x509.Certificate

	BeforeEach(func() {
		ns = newNamespace()
		c := newCA("Team Root CA")
		ca, root = c, c.Cert
		createCASecret(ns, "team-ca", c)
		issuer := &v1alpha1.NstanceIssuer{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "team"},
			Spec: v1alpha1.IssuerSpec{
				CA:              v1alpha1.CASpec{SecretName: "team-ca"},
				Vars:            map[string]string{"ClusterSlug": "e2e-eu1"},
				DefaultTemplate: "web",
				Templates: []v1alpha1.CertificateTemplate{{
					Name:            "web",
					Kind:            v1alpha1.ServerKind,
					Subject:         v1alpha1.Subject{Organization: []string{"Team Infra"}, Locality: []string{"Lisbon"}},
					DNS:             []string{"{{ .Request.Namespace }}.{{ .Vars.ClusterSlug }}.internal"},
					AllowedDNSNames: []string{"*.{{ .Request.Namespace }}.example.com"},
				}, {
					Name:    "client",
					Kind:    v1alpha1.ClientKind,
					Subject: v1alpha1.Subject{CN: "svc-{{ .Vars.ClusterSlug }}", Organization: []string{"Team Clients"}},
					// Rendered from the Certificate's name: the requester's,
					// so allowed like a requested name.
					DNS:             []string{"{{ .Request.Name }}.{{ .Request.Namespace }}.svc"},
					AllowedDNSNames: []string{"*.{{ .Request.Namespace }}.svc", "*.{{ .Request.Namespace }}.example.com"},
					TTL:             24,
				}},
			},
		}
		Expect(k8s.Create(context.Background(), issuer)).To(Succeed())
		issuerReady(issuer)
	})

	It("is signed with the default template, its fields and .Vars visible in the certificate", func() {
		crt := certificate(ns, "web", nstanceIssuerRef("team"), "www."+ns+".example.com")
		Expect(k8s.Create(context.Background(), crt)).To(Succeed())
		certificateReady(ns, "web")
		leaf, secret := issuedCertificate(ns, "web-tls", x509.ExtKeyUsageServerAuth)
		Expect(leaf.CheckSignatureFrom(root)).To(Succeed())
		Expect(leaf.Subject.Organization).To(Equal([]string{"Team Infra"}))
		Expect(leaf.Subject.Locality).To(Equal([]string{"Lisbon"}))
		Expect(leaf.Subject.CommonName).To(Equal("www."+ns+".example.com"), "an unset template cn keeps the request's")
		Expect(leaf.DNSNames).To(ConsistOf("www."+ns+".example.com", ns+".e2e-eu1.internal"))
		Expect(leaf.ExtKeyUsage).To(Equal([]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}))
		Expect(secret.Data["ca.crt"]).To(Equal(ca.SecretData()["ca.crt"]))
	})

	It("is signed with the template its annotation names", func() {
		crt := certificate(ns, "client", nstanceIssuerRef("team"), "client."+ns+".example.com")
		crt.Spec.SecretTemplate = nil
		crt.Annotations = map[string]string{v1alpha1.TemplateAnnotation: "client"}
		Expect(k8s.Create(context.Background(), crt)).To(Succeed())
		certificateReady(ns, "client")
		leaf, _ := issuedCertificate(ns, "client-tls", x509.ExtKeyUsageClientAuth)
		Expect(leaf.Subject.CommonName).To(Equal("svc-e2e-eu1"))
		Expect(leaf.DNSNames).To(ContainElement("client."+ns+".svc"), ".Request.Name is the Certificate's name")
		Expect(leaf.ExtKeyUsage).To(Equal([]x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}))
		Expect(leaf.NotAfter.Sub(leaf.NotBefore)).To(BeNumerically("~", 24*time.Hour+30*time.Second, time.Minute), "template ttl 24h caps the default 90 days")
	})

	It("is refused, not signed as asked, when its template annotation is empty", func() {
		crt := certificate(ns, "empty", nstanceIssuerRef("team"), "x.evil.example.org")
		crt.Annotations = map[string]string{v1alpha1.TemplateAnnotation: ""}
		Expect(k8s.Create(context.Background(), crt)).To(Succeed())
		var cr *cmapi.CertificateRequest
		eventually("its request to fail", expectations(func() {
			Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(crt), crt)).To(Succeed())
			cr = latestRequest(crt)
			Expect(cr.Annotations).To(HaveKeyWithValue(v1alpha1.TemplateAnnotation, ""), "cert-manager copies the empty annotation")
			ready := framework.RequestReady(cr)
			Expect(ready).NotTo(BeNil())
			Expect(ready.Reason).To(Equal(cmapi.CertificateRequestReasonFailed))
			Expect(ready.Message).To(ContainSubstring("present but empty"))
		}))
		Expect(cr.Status.Certificate).To(BeEmpty())
		secret := &corev1.Secret{}
		err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "empty-tls"}, secret)
		Expect(err == nil && len(secret.Data["tls.crt"]) > 0).To(BeFalse(), "no certificate was delivered")
	})

	It("is not Ready when it asks for a SAN outside the template's policy, and says why", func() {
		bad := "api.other.example.com"
		crt := certificate(ns, "outside", nstanceIssuerRef("team"), bad)
		Expect(k8s.Create(context.Background(), crt)).To(Succeed())
		var cr *cmapi.CertificateRequest
		eventually("its request to fail", expectations(func() {
			Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(crt), crt)).To(Succeed())
			cr = latestRequest(crt)
			ready := framework.RequestReady(cr)
			Expect(ready).NotTo(BeNil())
			Expect(ready.Reason).To(Equal(cmapi.CertificateRequestReasonFailed))
			Expect(ready.Message).To(ContainSubstring(bad))
			Expect(ready.Message).To(ContainSubstring("*." + ns + ".example.com"))
		}))
		Expect(cr.Status.Certificate).To(BeEmpty())
		Expect(eventNotes(ns, cr.Name)).To(ContainElement(ContainSubstring(bad)), "kubectl describe certificaterequest shows the reason")
		eventually("the Certificate to record the failure", expectations(func() {
			Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(crt), crt)).To(Succeed())
			for _, c := range crt.Status.Conditions {
				if c.Type == cmapi.CertificateConditionReady {
					Expect(c.Status).To(Equal(cmmeta.ConditionFalse))
				}
			}
			Expect(crt.Status.LastFailureTime).NotTo(BeNil())
		}))
	})

	It("signs with the same CA as cert-manager's built-in CA issuer (the control)", func() {
		control := &cmapi.Issuer{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "builtin-ca"},
			Spec:       cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{CA: &cmapi.CAIssuer{SecretName: "team-ca"}}},
		}
		Expect(k8s.Create(context.Background(), control)).To(Succeed())
		ours := certificate(ns, "ours", nstanceIssuerRef("team"), "ours."+ns+".example.com")
		theirs := certificate(ns, "theirs", cmmeta.IssuerReference{Group: "cert-manager.io", Kind: "Issuer", Name: "builtin-ca"}, "theirs."+ns+".example.com")
		Expect(k8s.Create(context.Background(), ours)).To(Succeed())
		Expect(k8s.Create(context.Background(), theirs)).To(Succeed())
		certificateReady(ns, "ours")
		certificateReady(ns, "theirs")
		ourLeaf, ourSecret := issuedCertificate(ns, "ours-tls", x509.ExtKeyUsageServerAuth)
		theirLeaf, theirSecret := issuedCertificate(ns, "theirs-tls", x509.ExtKeyUsageAny)
		Expect(ourLeaf.Issuer.String()).To(Equal(theirLeaf.Issuer.String()))
		Expect(ourSecret.Data["ca.crt"]).To(Equal(theirSecret.Data["ca.crt"]), "both put the same root in ca.crt")
		Expect(ourLeaf.AuthorityKeyId).To(Equal(theirLeaf.AuthorityKeyId))
	})
})

var _ = Describe("The sample NstanceClusterIssuer", Ordered, func() {
	var caSecretRoot []byte

	BeforeAll(func() {
		ensureNamespace(clusterResourceNamespace)
		ensureNamespace("default")
		applySample("issuer_v1alpha1_nstanceclusterissuer.yaml")
		issuerReady(&v1alpha1.NstanceClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "cluster-ca"}})
	})

	It("bootstraps its CA from ca.generate into the cluster resource namespace, once", func() {
		issuer := &v1alpha1.NstanceClusterIssuer{}
		Expect(k8s.Get(context.Background(), client.ObjectKey{Name: "cluster-ca"}, issuer)).To(Succeed())
		caCert, _ := issuedCertificate(clusterResourceNamespace, "cluster-ca", x509.ExtKeyUsageAny)
		Expect(caCert.IsCA).To(BeTrue())
		Expect(caCert.Subject.CommonName).To(HavePrefix("Cluster CA - "))
		Expect(issuer.Status.CA).NotTo(BeNil())
		Expect(issuer.Status.CA.SHA256Fingerprint).To(Equal(pki.Fingerprint(caCert)))
		_, secret := issuedCertificate(clusterResourceNamespace, "cluster-ca", x509.ExtKeyUsageAny)
		caSecretRoot = secret.Data["ca.crt"]
	})

	It("signs the sample Certificate with the web template, once cert-manager's approver approved its request", func() {
		applySample("certificate.yaml")
		crt := certificateReady("default", "web")
		cr := latestRequest(crt)
		Expect(cr.Annotations).To(HaveKeyWithValue(v1alpha1.TemplateAnnotation, "web"), "cert-manager copies the template annotation to the request")
		Expect(cr.Status.Conditions).To(ContainElement(SatisfyAll(
			HaveField("Type", cmapi.CertificateRequestConditionApproved),
			HaveField("Status", cmmeta.ConditionTrue),
		)), "the request was approved (by cert-manager's approver on the local stack)")
		leaf, secret := issuedCertificate("default", "web-tls", x509.ExtKeyUsageServerAuth)
		Expect(secret.Data["ca.crt"]).To(Equal(caSecretRoot))
		Expect(leaf.Subject.Organization).To(Equal([]string{"Example Infra"}))
		Expect(leaf.Subject.Province).To(Equal([]string{"California"}))
		Expect(leaf.DNSNames).To(ContainElements("www.example.com", "api.example.com", "default.demo.internal"))
	})

	It("gives the sample Ingress a certificate for its TLS hosts through cert-manager's ingress-shim", func() {
		applySample("ingress.yaml")
		crt := certificateReady("default", "shop-tls")
		Expect(crt.Spec.IssuerRef.Kind).To(Equal("NstanceClusterIssuer"))
		leaf, secret := issuedCertificate("default", "shop-tls", x509.ExtKeyUsageServerAuth)
		Expect(leaf.DNSNames).To(ContainElement("shop.example.com"))
		Expect(leaf.Subject.Organization).To(Equal([]string{"Example Infra"}), "the issuer's defaultTemplate applies")
		Expect(secret.Data["ca.crt"]).To(Equal(caSecretRoot))
	})

	It("refuses a Certificate that selects its kubelet-server template, which is for nodes' Kubernetes CSRs", func() {
		// Any tenant could otherwise get O=system:nodes and a node's name.
		name := "worker-1"
		crt := certificate("default", name, cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "NstanceClusterIssuer", Name: "cluster-ca"},
			name+".nodes.demo.internal")
		crt.Annotations = map[string]string{v1alpha1.TemplateAnnotation: "kubelet-server"}
		Expect(k8s.Create(context.Background(), crt)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(context.Background(), crt) })
		var cr *cmapi.CertificateRequest
		eventually("its request to fail", expectations(func() {
			Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(crt), crt)).To(Succeed())
			cr = latestRequest(crt)
			ready := framework.RequestReady(cr)
			Expect(ready).NotTo(BeNil())
			Expect(ready.Reason).To(Equal(cmapi.CertificateRequestReasonFailed))
			Expect(ready.Message).To(ContainSubstring(`template "kubelet-server" is for Kubernetes CSRs`))
		}))
		Expect(cr.Status.Certificate).To(BeEmpty())
	})
})

var _ = Describe("The sample NodePort app", func() {
	It("gets the Secret its Deployment mounts", func() {
		ensureNamespace(clusterResourceNamespace)
		ensureNamespace("default")
		applySample("issuer_v1alpha1_nstanceclusterissuer.yaml")
		objs := applySample("nodeport-app.yaml")
		var mounted string
		for _, o := range objs {
			if o.GetKind() == "Deployment" {
				vols, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "volumes")
				Expect(vols).To(HaveLen(1))
				mounted, _, _ = unstructured.NestedString(vols[0].(map[string]any), "secret", "secretName")
			}
		}
		Expect(mounted).To(Equal("echo-tls"))
		certificateReady("default", "echo")
		leaf, _ := issuedCertificate("default", mounted, x509.ExtKeyUsageServerAuth)
		Expect(leaf.DNSNames).To(ContainElement("echo.default.svc"))
	})
})
