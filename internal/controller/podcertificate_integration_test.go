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
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/controller/podcert"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

var (
	kubeletOnce sync.Once
	kubelet     *framework.Kubelet
	errKubelet  error
)

// testKubelet is the one node of these tests and a client acting as its
// kubelet. The suite's API server runs the NodeRestriction admission
// plugin, as clusters do: a PodCertificateRequest is admitted only from
// the kubelet of the pod's node, for a pod that mounts a podCertificate
// volume of that signer, with the node, pod and service account UIDs.
func testKubelet(t *testing.T) *framework.Kubelet {
	t.Helper()
	kubeletOnce.Do(func() {
		if errKubelet = framework.NodesMayRequestPodCertificates(context.Background(), k8s); errKubelet != nil {
			return
		}
		kubelet, errKubelet = framework.NewKubelet(context.Background(), k8s, restConfig, "node-1")
	})
	if errKubelet != nil {
		t.Fatal(errKubelet)
	}
	return kubelet
}

// requestPodCertificate creates a pod with a podCertificate volume and the
// PodCertificateRequest its kubelet makes for it, and returns the request.
func requestPodCertificate(t *testing.T, ns, pod string, vol framework.PodCertificateVolume) *certificatesv1.PodCertificateRequest {
	t.Helper()
	ctx := t.Context()
	kl := testKubelet(t)
	p, sa, err := framework.CreatePod(ctx, k8s, ns, pod, "app", kl.Node, vol)
	if err != nil {
		t.Fatal(err)
	}
	key, err := framework.PodKey(vol.KeyType)
	if err != nil {
		t.Fatal(err)
	}
	stub, err := framework.StubCSR(key)
	if err != nil {
		t.Fatal(err)
	}
	pcr := &certificatesv1.PodCertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: pod + "-"},
		Spec: certificatesv1.PodCertificateRequestSpec{
			SignerName: vol.SignerName,
			PodName:    p.Name, PodUID: p.UID,
			ServiceAccountName: sa.Name, ServiceAccountUID: sa.UID,
			NodeName: "node-1", NodeUID: kl.Node.UID,
			MaxExpirationSeconds:      vol.MaxExpirationSeconds,
			StubPKCS10Request:         stub,
			UnverifiedUserAnnotations: vol.UserAnnotations,
		},
	}
	if err := framework.CreateAsKubelet(ctx, kl.Client, pcr); err != nil {
		t.Fatalf("the kubelet cannot create the PodCertificateRequest: %v", err)
	}
	return pcr
}

// waitPodCertificate waits for the request's terminal condition and
// returns it.
func waitPodCertificate(t *testing.T, pcr *certificatesv1.PodCertificateRequest) metav1.Condition {
	t.Helper()
	var cond metav1.Condition
	eventually(t, "PodCertificateRequest "+pcr.Name+" finished", func(ctx context.Context) error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(pcr), pcr); err != nil {
			return err
		}
		for _, c := range pcr.Status.Conditions {
			switch c.Type {
			case "Issued", "Denied", "Failed":
				cond = c
				return nil
			}
		}
		return errors.New("no Issued, Denied or Failed condition")
	})
	return cond
}

// podIssuer creates an NstanceClusterIssuer with a fresh CA and the given
// templates, and waits until it is Ready.
func podIssuer(t *testing.T, name string, ca *testpki.CA, defaultTemplate string, templates ...v1alpha1.CertificateTemplate) string {
	t.Helper()
	createSecret(t, clusterResourceNamespace, name, ca.SecretData())
	iss := &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.IssuerSpec{
			CA: v1alpha1.CASpec{SecretName: name}, Vars: map[string]string{"Domain": "cluster.example"},
			DefaultTemplate: defaultTemplate, Templates: templates,
		},
	}
	create(t, iss)
	waitIssuer(t, iss, metav1.ConditionTrue, "")
	return issuer.ClusterIssuerSignerPrefix + name
}

func podsTemplate(ns string) v1alpha1.CertificateTemplate {
	return v1alpha1.CertificateTemplate{
		Name: "pods", Kind: v1alpha1.PeerKind, TTL: 24,
		Subject:         v1alpha1.Subject{CN: "{{ .Request.ServiceAccountName }}.{{ .Request.Namespace }}"},
		DNS:             []string{"{{ .Request.PodName }}.{{ .Request.Namespace }}.pod.cluster.local"},
		Namespaces:      &v1alpha1.NamespaceSelector{Names: []string{ns}},
		PodCertificates: &v1alpha1.PodCertificates{TrustDomain: "{{ .Vars.Domain }}", AllowTemplateAnnotation: true},
	}
}

func TestPodCertificateIsIssuedToThePod(t *testing.T) {
	ns := newNamespace(t)
	ca := validCA(t, "Pod Root CA")
	signer := podIssuer(t, "pod-ca", ca, "pods", podsTemplate(ns))
	maxSeconds := int32(2 * 3600)
	start := time.Now()
	pcr := requestPodCertificate(t, ns, "web-0", framework.PodCertificateVolume{SignerName: signer, KeyType: "ECDSAP256", MaxExpirationSeconds: &maxSeconds})
	cond := waitPodCertificate(t, pcr)
	t.Logf("created to issued: %s (reported, not asserted)", time.Since(start))
	if cond.Type != "Issued" {
		t.Fatalf("condition %s %s: %s", cond.Type, cond.Reason, cond.Message)
	}
	leaf := verifyChain(t, []byte(pcr.Status.CertificateChain), ca.Cert, x509.ExtKeyUsageClientAuth)
	if want := fmt.Sprintf("spiffe://cluster.example/ns/%s/sa/app", ns); len(leaf.URIs) != 1 || leaf.URIs[0].String() != want {
		t.Errorf("URI SANs = %v, want [%s]", leaf.URIs, want)
	}
	if want := "web-0." + ns + ".pod.cluster.local"; len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != want {
		t.Errorf("DNS names = %v, want [%s]", leaf.DNSNames, want)
	}
	st := pcr.Status
	if !st.NotBefore.Time.Equal(leaf.NotBefore) || !st.NotAfter.Time.Equal(leaf.NotAfter) {
		t.Errorf("status notBefore/notAfter %s/%s, leaf %s/%s", st.NotBefore, st.NotAfter, leaf.NotBefore, leaf.NotAfter)
	}
	if lifetime := leaf.NotAfter.Sub(leaf.NotBefore); lifetime != 2*time.Hour {
		t.Errorf("lifetime %s, want maxExpirationSeconds (2h) exactly", lifetime)
	}
	if want := podcert.BeginRefreshAt(leaf.NotBefore, leaf.NotAfter); !st.BeginRefreshAt.Time.Equal(want) {
		t.Errorf("beginRefreshAt %s, want %s", st.BeginRefreshAt, want)
	}
	note := waitEvent(t, ns, pcr.Name, v1alpha1.EventReasonCertificateIssued)
	if !strings.Contains(note, "template pods") || !strings.Contains(note, fmt.Sprintf("%X", leaf.SerialNumber)) {
		t.Errorf("Event note %q does not name the template and serial", note)
	}
}

// TestPodCertificateRefusals is point 4 of issue 13: each abuse is refused
// with its own reason, and nothing is signed. (A namespaced issuer as
// signer gets an Event and no status: podcert_rbac_integration_test.go.)
func TestPodCertificateRefusals(t *testing.T) {
	ns, other := newNamespace(t), newNamespace(t)
	signer := podIssuer(t, "pod-policy-ca", validCA(t, "Pod Policy Root CA"), "pods", podsTemplate(ns),
		v1alpha1.CertificateTemplate{Name: "web", Kind: v1alpha1.ServerKind, AllowedDNSNames: []string{"*.example.com"}},
		v1alpha1.CertificateTemplate{
			Name: "ecdsa-only", Kind: v1alpha1.ClientKind, AllowedKeyAlgorithms: []v1alpha1.KeyAlgorithm{v1alpha1.ECDSAKeyAlgorithm},
			PodCertificates: &v1alpha1.PodCertificates{AllowTemplateAnnotation: true},
		})
	shortCA := newTestCA(t, "Expiring Root CA", time.Now().Add(-time.Hour), time.Now().Add(30*time.Minute))
	shortSigner := podIssuer(t, "pod-expiring-ca", shortCA, "pods", podsTemplate(ns))
	template := func(name string) map[string]string {
		return map[string]string{v1alpha1.PodCertificateTemplateAnnotation: name}
	}
	cases := []struct {
		name, ns, condition, reason string
		vol                         framework.PodCertificateVolume
	}{
		{name: "a pod in a namespace the template does not allow", ns: other, condition: "Denied", reason: "RequesterNotAllowed",
			vol: framework.PodCertificateVolume{SignerName: signer, KeyType: "ECDSAP256"}},
		{name: "a template that does not allow pod certificates", ns: ns, condition: "Denied", reason: "PodCertificatesNotAllowed",
			vol: framework.PodCertificateVolume{SignerName: signer, KeyType: "ECDSAP256", UserAnnotations: template("web")}},
		{name: "an unknown annotation", ns: ns, condition: "Denied", reason: "InvalidUnverifiedUserAnnotations",
			vol: framework.PodCertificateVolume{SignerName: signer, KeyType: "ECDSAP256", UserAnnotations: map[string]string{"issuer.nstance.dev/ttl": "1h"}}},
		{name: "an unsupported key", ns: ns, condition: "Denied", reason: "UnsupportedKeyType",
			vol: framework.PodCertificateVolume{SignerName: signer, KeyType: "ED25519", UserAnnotations: template("ecdsa-only")}},
		{name: "a lifetime the CA cannot give: less than the API's hour", ns: ns, condition: "Failed", reason: "LifetimeTooShort",
			vol: framework.PodCertificateVolume{SignerName: shortSigner, KeyType: "ECDSAP256"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pcr := requestPodCertificate(t, tc.ns, fmt.Sprintf("abuse-%d", i), tc.vol)
			cond := waitPodCertificate(t, pcr)
			if cond.Type != tc.condition || cond.Reason != tc.reason {
				t.Errorf("condition %s/%s (%s), want %s/%s", cond.Type, cond.Reason, cond.Message, tc.condition, tc.reason)
			}
			if pcr.Status.CertificateChain != "" || pcr.Status.NotAfter != nil {
				t.Errorf("a refused request carries a certificate")
			}
			t.Logf("%s: %s", cond.Reason, cond.Message)
		})
	}
}

// TestPodCertificateVerifiesAgainstItsClusterTrustBundle reads trust the
// way a pod does, from the ClusterTrustBundle published for the signer
// (what a clusterTrustBundle projected volume with signerName mounts), and
// verifies the pod's chain against it alone.
func TestPodCertificateVerifiesAgainstItsClusterTrustBundle(t *testing.T) {
	ns := newNamespace(t)
	ca := validCA(t, "Pod Trust Root CA")
	name := "pod-ctb-ca"
	createSecret(t, clusterResourceNamespace, name, ca.SecretData())
	iss := &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.IssuerSpec{
			CA:   v1alpha1.CASpec{SecretName: name, TrustBundle: &v1alpha1.TrustBundle{ClusterTrustBundle: true}},
			Vars: map[string]string{"Domain": "cluster.example"}, DefaultTemplate: "pods", Templates: []v1alpha1.CertificateTemplate{podsTemplate(ns)},
		},
	}
	create(t, iss)
	waitIssuer(t, iss, metav1.ConditionTrue, "")
	signer := issuer.ClusterIssuerSignerPrefix + name

	var bundle string
	eventually(t, "a ClusterTrustBundle for "+signer, func(ctx context.Context) error {
		var list certificatesv1.ClusterTrustBundleList
		if err := k8s.List(ctx, &list); err != nil {
			return err
		}
		bundle = ""
		for _, b := range list.Items {
			if b.Spec.SignerName == signer {
				if !strings.HasPrefix(b.Name, strings.ReplaceAll(signer, "/", ":")+":") {
					return fmt.Errorf("bundle %s is not named with its signer's prefix", b.Name)
				}
				bundle += b.Spec.TrustBundle
			}
		}
		if bundle == "" {
			return errors.New("none published")
		}
		return nil
	})

	pcr := requestPodCertificate(t, ns, "web-ctb", framework.PodCertificateVolume{SignerName: signer, KeyType: "ECDSAP256"})
	if cond := waitPodCertificate(t, pcr); cond.Type != "Issued" {
		t.Fatalf("condition %s %s: %s", cond.Type, cond.Reason, cond.Message)
	}
	if _, err := testpki.VerifyChain([]byte(pcr.Status.CertificateChain), []byte(bundle), x509.ExtKeyUsageClientAuth); err != nil {
		t.Fatalf("the pod's chain does not verify against the published ClusterTrustBundle: %v", err)
	}
}
