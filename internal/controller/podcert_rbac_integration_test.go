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
	"os"
	"path/filepath"
	"strings"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/controller/podcert"
	"github.com/nstance-dev/nstance-issuer/internal/controller/signing"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
)

// asShippedController returns a rest config and client that act as a
// ServiceAccount bound to the ClusterRole of config/rbac/role.yaml (the
// rules the chart and kustomize ship), once the API server enforces it.
func asShippedController(t *testing.T, name string) (*rest.Config, client.Client) {
	t.Helper()
	ctx := t.Context()
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal(data, &role); err != nil {
		t.Fatal(err)
	}
	role.ObjectMeta = metav1.ObjectMeta{Name: "test:shipped:" + name}
	if err := framework.IgnoreAlreadyExists(k8s.Create(ctx, &role)); err != nil {
		t.Fatal(err)
	}
	const saNS = "nstance-issuer-shipped-rbac"
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: saNS, Name: name}},
	}
	if err := framework.IgnoreAlreadyExists(k8s.Create(ctx, binding)); err != nil {
		t.Fatal(err)
	}
	cfg, c := impersonatingServiceAccount(t, saNS, name)
	// RBAC reaches the authorizer through its informers.
	eventually(t, "the shipped ClusterRole to be enforced for "+name, func(ctx context.Context) error {
		var list certificatesv1.PodCertificateRequestList
		return c.List(ctx, &list, client.Limit(1))
	})
	return cfg, c
}

func impersonatingServiceAccount(t *testing.T, ns, name string) (*rest.Config, client.Client) {
	t.Helper()
	cfg := rest.CopyConfig(restConfig)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + ns + ":" + name,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
	}
	c, err := client.New(cfg, client.Options{Scheme: k8s.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, c
}

// TestPodCertificateForANamespacedIssuerUnderTheShippedRBAC: the API server
// lets only a principal that may `sign` for a request's signer name write
// any of its status, and the shipped RBAC (rightly) grants `sign` on
// NstanceClusterIssuer signer names only. A request for a namespaced
// issuer used to be Denied with a status write that failed Forbidden and
// was retried forever; it is now left unanswered with one Event, and the
// reconciler, run as the shipped ClusterRole, neither errs nor requeues.
func TestPodCertificateForANamespacedIssuerUnderTheShippedRBAC(t *testing.T) {
	ctx := t.Context()
	cfg, c := asShippedController(t, "namespaced-signer")
	ns := newNamespace(t)
	signer := "nstanceissuers.issuer.nstance.dev/" + ns + ".ca"
	pcr := requestPodCertificate(t, ns, "nsd-0", framework.PodCertificateVolume{SignerName: signer, KeyType: "ECDSAP256"})

	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: kubernetes.NewForConfigOrDie(cfg).EventsV1()})
	if err := broadcaster.StartRecordingToSinkWithContext(ctx); err != nil {
		t.Fatal(err)
	}
	defer broadcaster.Shutdown()
	const reporter = "nstance-issuer-shipped-rbac"
	r, err := podcert.NewReconciler(c, c, &signing.Signer{Recorder: broadcaster.NewRecorder(k8s.Scheme(), reporter)}, "v1")
	if err != nil {
		t.Fatal(err)
	}

	res, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(pcr)})
	if err != nil || !res.IsZero() {
		t.Fatalf("Reconcile under the shipped RBAC = %+v, %v; want no error and no requeue", res, err)
	}

	// What the controller did before: patch a Denied status. The API server
	// refuses it to the shipped ClusterRole for want of `sign`.
	denied := pcr.DeepCopy()
	denied.Status.Conditions = []metav1.Condition{{
		Type: "Denied", Status: metav1.ConditionTrue, Reason: issuer.ReasonNamespacedIssuerNotSupported,
		Message: "test", LastTransitionTime: metav1.Now(),
	}}
	err = c.Status().Patch(ctx, denied, client.MergeFrom(pcr))
	// (The status strategy's validation refuses it: 422 Invalid with a
	// field.Forbidden on spec.signerName, not a 403.)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `not permitted to "sign"`) {
		t.Errorf("patching a Denied status for %s as the shipped ClusterRole: %v, want a refusal for want of sign", signer, err)
	} else {
		t.Logf("as before the fix: %v", err)
	}

	eventually(t, "the NamespacedIssuerNotSupported Event from "+reporter, func(context.Context) error {
		for _, e := range eventsFor(t, ns, pcr.Name) {
			if e.ReportingController == reporter && e.Reason == issuer.ReasonNamespacedIssuerNotSupported {
				if !strings.Contains(e.Note, issuer.ClusterIssuerSignerPrefix) {
					return framework.Stop(errors.New("the Event does not say which signer name to use: " + e.Note))
				}
				return nil
			}
		}
		return errors.New("not recorded")
	})
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(pcr), pcr); err != nil {
		t.Fatal(err)
	}
	if len(pcr.Status.Conditions) != 0 || pcr.Status.CertificateChain != "" {
		t.Errorf("the request has a status: %+v", pcr.Status)
	}
}

// TestPodIdentityCheckUnderTheShippedRBAC: the shipped ClusterRole lets the
// controller read the Pod, ServiceAccount and Node a request names; an
// identity without those grants gets a Forbidden read, which makes the
// request wait (with an Event) rather than be signed or refused.
func TestPodIdentityCheckUnderTheShippedRBAC(t *testing.T) {
	ctx := t.Context()
	_, c := asShippedController(t, "pod-identity")
	f := newIdentityFixture(t, "pod-identity-rbac-ca")
	pcr := &certificatesv1.PodCertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns}, Spec: f.victimSpec()}

	if reason, msg, _, err := checkPodIdentity(ctx, c, pcr); err != nil || reason != "" {
		t.Errorf("the kubelet's exact identity, as the shipped ClusterRole: refusal %q (%s), error %v; want none", reason, msg, err)
	}
	forged := pcr.DeepCopy()
	forged.Spec.PodUID = f.other.UID
	if reason, _, _, err := checkPodIdentity(ctx, c, forged); err != nil || reason != podcert.ReasonPodUIDMismatch {
		t.Errorf("another pod's UID, as the shipped ClusterRole: refusal %q, error %v; want %s", reason, err, podcert.ReasonPodUIDMismatch)
	}

	_, nobody := impersonatingServiceAccount(t, "nstance-issuer-shipped-rbac", "no-grants")
	_, _, unreadable, err := checkPodIdentity(ctx, nobody, pcr)
	if !unreadable || !apierrors.IsForbidden(err) {
		t.Errorf("without the grants: unreadable %v, error %v; want a Forbidden read", unreadable, err)
	}
}
