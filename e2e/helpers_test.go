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
	"encoding/json"
	"path/filepath"
	"strconv"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

const fieldOwner = "nstance-e2e"

// newNamespace creates a namespace that is deleted after the spec.
func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-"}}
	Expect(k8s.Create(context.Background(), ns)).To(Succeed())
	DeferCleanup(func() { _ = k8s.Delete(context.Background(), ns) })
	return ns.Name
}

// ensureNamespace creates a namespace if it does not exist and keeps it.
func ensureNamespace(name string) {
	GinkgoHelper()
	err := k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	Expect(framework.IgnoreAlreadyExists(err)).To(Succeed())
}

// applySample server-side applies every object of a file in config/samples,
// the same files the docs show, and returns them.
func applySample(name string) []*unstructured.Unstructured {
	GinkgoHelper()
	return applyRepoFile(filepath.Join("config", "samples", name))
}

// applyRepoFile server-side applies every object of a file given by its
// path in the repository, and returns them.
func applyRepoFile(path string) []*unstructured.Unstructured {
	GinkgoHelper()
	objs, err := framework.ReadManifests(filepath.Join("..", path))
	Expect(err).NotTo(HaveOccurred())
	for _, obj := range objs {
		body, err := json.Marshal(obj.Object)
		Expect(err).NotTo(HaveOccurred())
		Expect(k8s.Patch(context.Background(), obj, client.RawPatch(types.ApplyPatchType, body),
			client.FieldOwner(fieldOwner), client.ForceOwnership)).To(Succeed(), path)
	}
	return objs
}

func createCASecret(ns, name string, ca *testpki.CA) {
	Expect(k8s.Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       corev1.SecretTypeTLS,
		Data:       ca.SecretData(),
	})).To(Succeed())
}

func newCA(cn string) *testpki.CA {
	ca, err := testpki.NewValidRootCA(cn)
	Expect(err).NotTo(HaveOccurred())
	return ca
}

// eventually is the suite's adapter to the one polling helper: it fails
// the spec unless cond is met within framework.Timeout.
func eventually(what string, cond framework.Condition) {
	GinkgoHelper()
	Expect(framework.Eventually(context.Background(), what, cond)).To(Succeed())
}

// expectations makes a Condition of gomega assertions: the first that
// fails is the Condition's error.
func expectations(f func()) framework.Condition {
	return func(context.Context) error { return InterceptGomegaFailure(f) }
}

// issuerReady waits until an issuer of ours is Ready for its generation.
func issuerReady(obj client.Object) {
	GinkgoHelper()
	eventually("issuer "+obj.GetName()+" Ready", framework.IssuerReady(k8s, obj))
}

// certificate returns a Certificate for issuerRef.
func certificate(ns, name string, ref cmmeta.IssuerReference, dnsNames ...string) *cmapi.Certificate {
	return &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: cmapi.CertificateSpec{
			SecretName: name + "-tls",
			CommonName: dnsNames[0],
			DNSNames:   dnsNames,
			IssuerRef:  ref,
			PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256},
		},
	}
}

func nstanceIssuerRef(name string) cmmeta.IssuerReference {
	return cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "NstanceIssuer", Name: name}
}

// certificateReady waits for the Certificate to be Ready and returns it.
func certificateReady(ns, name string) *cmapi.Certificate {
	GinkgoHelper()
	crt := &cmapi.Certificate{}
	eventually("Certificate "+ns+"/"+name+" Ready", framework.CertificateReady(k8s, client.ObjectKey{Namespace: ns, Name: name}, crt))
	return crt
}

// issuedCertificate reads a Certificate's Secret, verifies tls.crt against
// the Secret's ca.crt for usage, and returns the leaf and the Secret.
func issuedCertificate(ns, secretName string, usage x509.ExtKeyUsage) (*x509.Certificate, *corev1.Secret) {
	GinkgoHelper()
	leaf, secret, err := framework.IssuedSecret(context.Background(), k8s, client.ObjectKey{Namespace: ns, Name: secretName}, usage)
	Expect(err).NotTo(HaveOccurred())
	return leaf, secret
}

// latestRequest returns the CertificateRequest of a Certificate's highest
// revision.
func latestRequest(crt *cmapi.Certificate) *cmapi.CertificateRequest {
	list := &cmapi.CertificateRequestList{}
	Expect(k8s.List(context.Background(), list, client.InNamespace(crt.Namespace))).To(Succeed())
	var latest *cmapi.CertificateRequest
	best := -1
	for i := range list.Items {
		cr := &list.Items[i]
		owned := false
		for _, o := range cr.OwnerReferences {
			owned = owned || (o.Kind == "Certificate" && o.Name == crt.Name)
		}
		rev, err := strconv.Atoi(cr.Annotations[cmapi.CertificateRequestRevisionAnnotationKey])
		if owned && err == nil && rev > best {
			latest, best = cr, rev
		}
	}
	Expect(latest).NotTo(BeNil(), "no CertificateRequest for Certificate %s", crt.Name)
	return latest
}

// eventNotes lists the notes of the Events about an object.
func eventNotes(ns, name string) []string {
	var notes []string
	list, err := clientset.EventsV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "regarding.name=" + name})
	Expect(err).NotTo(HaveOccurred())
	for _, e := range list.Items {
		notes = append(notes, e.Reason+": "+e.Note)
	}
	// kubectl describe also shows core/v1 Events.
	core, err := clientset.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
	Expect(err).NotTo(HaveOccurred())
	for _, e := range core.Items {
		notes = append(notes, e.Reason+": "+e.Message)
	}
	return notes
}
