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
	"errors"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/internal/controller/podcert"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
)

// forgePodCertificate creates a PodCertificateRequest as the test's admin,
// not as a kubelet: NodeRestriction does not look at it, so nothing but
// the signer checks the pod identity it names.

// checkPodIdentity runs the reconciler's pod identity check on a request:
// the refusal's reason and message, or an error; unreadable tells that
// the read was Forbidden (the request would wait with an Event).
func checkPodIdentity(ctx context.Context, reader client.Reader, pcr *certificatesv1.PodCertificateRequest) (reason, msg string, unreadable bool, err error) {
	refusal, err := podcert.CheckIdentity(ctx, reader, pcr)
	if err != nil {
		return "", "", errors.Is(err, podcert.ErrIdentityUnreadable), err
	}
	if refusal != nil {
		return refusal.Reason, refusal.Message, false, nil
	}
	return "", "", false, nil
}
func forgePodCertificate(t *testing.T, ns string, spec certificatesv1.PodCertificateRequestSpec) *certificatesv1.PodCertificateRequest {
	t.Helper()
	key, err := framework.PodKey("ECDSAP256")
	if err != nil {
		t.Fatal(err)
	}
	if spec.StubPKCS10Request, err = framework.StubCSR(key); err != nil {
		t.Fatal(err)
	}
	pcr := &certificatesv1.PodCertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "forged-"}, Spec: spec}
	if err := k8s.Create(t.Context(), pcr); err != nil {
		t.Fatalf("the admin cannot create the PodCertificateRequest: %v", err)
	}
	return pcr
}

// identityFixture is a namespace with a pod that asks for a certificate
// (victim-0, service account app, node-1), another pod under another
// service account (other-0, other) and a second node.
type identityFixture struct {
	ns, signer    string
	victim, other *corev1.Pod
	app, otherSA  *corev1.ServiceAccount
	node, node2   *corev1.Node
}

func newIdentityFixture(t *testing.T, issuer string) identityFixture {
	t.Helper()
	ctx := t.Context()
	ns := newNamespace(t)
	tmpl := podsTemplate(ns)
	tmpl.Name = "identity"
	f := identityFixture{ns: ns, signer: podIssuer(t, issuer, validCA(t, "Pod Identity Root CA"), tmpl.Name, tmpl)}
	kl := testKubelet(t)
	f.node = kl.Node
	vol := framework.PodCertificateVolume{SignerName: f.signer, KeyType: "ECDSAP256"}
	var err error
	if f.victim, f.app, err = framework.CreatePod(ctx, k8s, ns, "victim-0", "app", kl.Node, vol); err != nil {
		t.Fatal(err)
	}
	if f.other, f.otherSA, err = framework.CreatePod(ctx, k8s, ns, "other-0", "other", kl.Node, vol); err != nil {
		t.Fatal(err)
	}
	f.node2 = &corev1.Node{ObjectMeta: metav1.ObjectMeta{GenerateName: "identity-node-"}}
	if err := k8s.Create(ctx, f.node2); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), f.node2) }) // t.Context() is done by then
	return f
}

// victimSpec is exactly what victim-0's kubelet would send.
func (f identityFixture) victimSpec() certificatesv1.PodCertificateRequestSpec {
	return certificatesv1.PodCertificateRequestSpec{
		SignerName: f.signer,
		PodName:    f.victim.Name, PodUID: f.victim.UID,
		ServiceAccountName: f.app.Name, ServiceAccountUID: f.app.UID,
		NodeName: types.NodeName(f.node.Name), NodeUID: f.node.UID,
	}
}

// TestPodCertificateIdentityIsTheLivePods is finding L2 of the security
// review: a PodCertificateRequest made by anyone but the pod's kubelet
// (here an admin, whom NodeRestriction does not check) that names another
// pod's UID, a service account or node the pod does not run as or on, or
// a pod that does not exist or has finished, is Denied with a reason that
// says which, and nothing is signed.
func TestPodCertificateIdentityIsTheLivePods(t *testing.T) {
	f := newIdentityFixture(t, "pod-identity-ca")
	finished, _, err := framework.CreatePod(t.Context(), k8s, f.ns, "finished-0", "app", f.node,
		framework.PodCertificateVolume{SignerName: f.signer, KeyType: "ECDSAP256"})
	if err != nil {
		t.Fatal(err)
	}
	finished.Status.Phase = corev1.PodSucceeded
	if err := k8s.Status().Update(t.Context(), finished); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, reason string
		edit         func(s *certificatesv1.PodCertificateRequestSpec)
	}{
		{name: "another pod's UID", reason: podcert.ReasonPodUIDMismatch,
			edit: func(s *certificatesv1.PodCertificateRequestSpec) { s.PodUID = f.other.UID }},
		{name: "a service account the pod does not run as", reason: podcert.ReasonServiceAccountMismatch,
			edit: func(s *certificatesv1.PodCertificateRequestSpec) {
				s.ServiceAccountName, s.ServiceAccountUID = f.otherSA.Name, f.otherSA.UID
			}},
		{name: "the pod's service account with another UID", reason: podcert.ReasonServiceAccountMismatch,
			edit: func(s *certificatesv1.PodCertificateRequestSpec) { s.ServiceAccountUID = f.otherSA.UID }},
		{name: "a node the pod is not bound to", reason: podcert.ReasonNodeMismatch,
			edit: func(s *certificatesv1.PodCertificateRequestSpec) {
				s.NodeName, s.NodeUID = types.NodeName(f.node2.Name), f.node2.UID
			}},
		{name: "the pod's node with another UID", reason: podcert.ReasonNodeMismatch,
			edit: func(s *certificatesv1.PodCertificateRequestSpec) { s.NodeUID = f.node2.UID }},
		{name: "a pod that does not exist", reason: podcert.ReasonPodNotFound,
			edit: func(s *certificatesv1.PodCertificateRequestSpec) { s.PodName = "ghost-0" }},
		{name: "a pod that has finished", reason: podcert.ReasonPodFinished,
			edit: func(s *certificatesv1.PodCertificateRequestSpec) { s.PodName, s.PodUID = finished.Name, finished.UID }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := f.victimSpec()
			tc.edit(&spec)
			pcr := forgePodCertificate(t, f.ns, spec)
			cond := waitPodCertificate(t, pcr)
			if cond.Type != "Denied" || cond.Reason != tc.reason {
				t.Errorf("condition %s/%s (%s), want Denied/%s", cond.Type, cond.Reason, cond.Message, tc.reason)
			}
			if pcr.Status.CertificateChain != "" || pcr.Status.NotAfter != nil {
				t.Errorf("a refused request carries a certificate")
			}
			waitEvent(t, f.ns, pcr.Name, "PodCertificateDenied")
			t.Logf("%s: %s", cond.Reason, cond.Message)
		})
	}
	// The check compares, it does not authenticate: whoever may create
	// requests in the namespace and names a live pod's exact identity is
	// served as its kubelet would be (README: pod certificates).
	t.Run("the exact identity of a live pod", func(t *testing.T) {
		pcr := forgePodCertificate(t, f.ns, f.victimSpec())
		if cond := waitPodCertificate(t, pcr); cond.Type != "Issued" {
			t.Errorf("condition %s/%s (%s), want Issued", cond.Type, cond.Reason, cond.Message)
		}
	})
}
