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
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/app"
	"github.com/nstance-dev/nstance-issuer/internal/controller/carotation"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
)

// The chart value that lists the namespaces where the controller may write
// Secrets: what the controller must tell a person to set when it needs a
// namespace it cannot write.
const secretWriteNamespacesValue = "rbac.secretWriteNamespaces"

// reasonSecretWriteForbidden is the CARotation condition reason for a
// rotation that needs to write a Secret where the controller may not.
const reasonSecretWriteForbidden = carotation.ReasonSecretWriteForbidden

// scopedManager is the real manager running as the ServiceAccount of a
// chart install whose Secret writes are scoped to namespaces.
type scopedManager struct {
	release, namespace string // the install; its namespace is the cluster resource namespace
	saName             string // the controller's ServiceAccount, in namespace
	sa                 who
	writer             string        // the secret-writer ClusterRole
	c                  client.Client // the test's admin client
}

// TestControllerUnderScopedSecretWrites installs the chart's RBAC with
// rbac.secretWriteScope=namespaces for real and runs the real manager
// (app.New: the issuer, signing and CA lifecycle controllers) with the
// identity of the chart's ServiceAccount, then checks what a person sees
// when the controller must write a Secret in a namespace that is not
// listed: a condition that names the namespace and the chart value to
// set, and recovery once the namespace is listed, without touching the
// issuer. The Kubernetes CSR and PodCertificateRequest signers are off:
// they write no Secret, and would answer the CSRs the RBAC test makes.
func TestControllerUnderScopedSecretWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := &scopedManager{release: "scoped-mgr", namespace: "scoped-mgr"}
	const listed = "scoped-mgr-listed"
	objs := renderChart(t, m.release, m.namespace, "--set", "rbac.secretWriteScope=namespaces", "--set", "rbac.secretWriteNamespaces={"+listed+"}")
	var rbac []*unstructured.Unstructured
	for _, o := range objs {
		switch o.GetKind() {
		case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
			rbac = append(rbac, o)
		}
	}
	ensureNamespace(t, m.namespace, restrictedNS)
	for _, ns := range namespacesOf(rbac) {
		ensureNamespace(t, ns, nil)
	}
	apply(t, rbac, false)
	if t.Failed() {
		t.FailNow()
	}
	d, _ := managerContainer(t, objs)
	m.saName = d.Spec.Template.Spec.ServiceAccountName
	m.sa = serviceAccount("the controller", m.namespace, m.saName)
	m.writer = m.release + "-nstance-issuer-secret-writer"
	named(t, objs, "ClusterRole", m.writer)
	for _, ns := range []string{m.namespace, listed} {
		m.waitSecretWrites(t, ns, true)
	}

	scheme, err := app.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	admin := rest.CopyConfig(restCfg)
	admin.QPS = -1 // no client-side limit: four waits poll at once
	if m.c, err = client.New(admin, client.Options{Scheme: scheme}); err != nil {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(restCfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: m.sa.user, Groups: m.sa.groups}
	o := app.NewOptions()
	o.Controller.ClusterResourceNamespace = m.namespace
	o.Controller.DisableKubernetesCSRs, o.Controller.DisablePodCertificates = true, true
	o.MetricsBindAddress, o.HealthProbeBindAddress = "0", "0"
	o.LeaderElect = false
	ctrl.SetLogger(framework.ControllerLogger())
	mgr, err := app.New(ctx, cfg, *o)
	if err != nil {
		t.Fatal(err)
	}
	stop := framework.RunInBackground(ctx, mgr)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("the manager: %v", err)
		}
	})

	// What works with scoped writes: cluster issuers (the cluster resource
	// namespace is always listed) and issuers in listed namespaces
	// generate and rotate their CA. These pass today; they show that the
	// failures below are about the namespace, not the setup.
	t.Run("a cluster issuer generates and rotates its CA in the cluster resource namespace", func(t *testing.T) {
		t.Parallel()
		iss := &v1alpha1.NstanceClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "scoped-mgr-cluster-ca"}}
		iss.Spec.CA = generatedCA("scoped-mgr-cluster-ca")
		m.createReadyAndRotate(t, iss)
	})
	t.Run("an issuer in a listed namespace generates and rotates its CA", func(t *testing.T) {
		t.Parallel()
		iss := &v1alpha1.NstanceIssuer{ObjectMeta: metav1.ObjectMeta{Name: "team-ca", Namespace: listed}}
		iss.Spec.CA = generatedCA("team-ca")
		m.createReadyAndRotate(t, iss)
	})

	// The rotation reports a Forbidden Secret write in its CARotation
	// condition (reason SecretWriteForbidden) and polls for the fix.
	t.Run("rotate-now in a namespace it may no longer write", func(t *testing.T) {
		t.Parallel()
		const ns = "scoped-mgr-revoked"
		ensureNamespace(t, ns, nil)
		// The namespace was listed when the CA was generated, then taken
		// off the list (or the install switched to scoped writes).
		m.grantSecretWrites(t, ns)
		iss := &v1alpha1.NstanceIssuer{ObjectMeta: metav1.ObjectMeta{Name: "team-ca", Namespace: ns}}
		iss.Spec.CA = generatedCA("team-ca")
		m.create(t, iss)
		m.eventually(t, "the issuer Ready with its generated CA", framework.IssuerReady(m.c, iss))
		m.revokeSecretWrites(t, ns)

		m.annotate(t, iss, v1alpha1.RotateNowAnnotation, "revoked-1")
		m.eventually(t, "CARotation False with reason "+reasonSecretWriteForbidden+" naming "+ns+" and "+secretWriteNamespacesValue,
			func(ctx context.Context) error {
				if err := m.c.Get(ctx, client.ObjectKeyFromObject(iss), iss); err != nil {
					return err
				}
				cond := meta.FindStatusCondition(iss.Status.Conditions, v1alpha1.ConditionTypeCARotation)
				if cond == nil {
					return errors.New("no CARotation condition")
				}
				if cond.Status != metav1.ConditionFalse || cond.Reason != reasonSecretWriteForbidden ||
					!strings.Contains(cond.Message, ns) || !strings.Contains(cond.Message, secretWriteNamespacesValue) {
					return fmt.Errorf("CARotation=%s %s: %s", cond.Status, cond.Reason, cond.Message)
				}
				return nil
			})
		if err := framework.IssuerReady(m.c, iss)(ctx); err != nil {
			t.Errorf("the issuing CA must keep signing while the rotation waits: %v", err)
		}

		// Listing the namespace again lets the rotation go on by itself.
		m.grantSecretWrites(t, ns)
		m.eventuallyWithin(t, 3*time.Minute, "the rotation to resume once "+ns+" is listed", rotateNowAnswered(m.c, iss, "revoked-1"))
	})

	// The signer's ca.generate reports a Forbidden Secret create with the
	// namespace and the chart value to set (Ready False, reason Pending,
	// never Failed), and the issuer controllers' back-off is capped at a
	// minute, so listing the namespace makes the issuer Ready by itself.
	t.Run("ca.generate in a namespace it may not write", func(t *testing.T) {
		t.Parallel()
		const ns = "scoped-mgr-unlisted"
		ensureNamespace(t, ns, nil)
		m.waitSecretWrites(t, ns, false)
		iss := &v1alpha1.NstanceIssuer{ObjectMeta: metav1.ObjectMeta{Name: "team-ca", Namespace: ns}}
		iss.Spec.CA = generatedCA("team-ca")
		m.create(t, iss)
		m.eventually(t, "Ready False naming "+ns+" and "+secretWriteNamespacesValue, func(ctx context.Context) error {
			if err := framework.IssuerReadyIs(m.c, iss, metav1.ConditionFalse, ns)(ctx); err != nil {
				return err
			}
			cond, _ := framework.IssuerCondition(iss)
			// Not Failed: issuer-lib would not check a Failed issuer again
			// until its spec changes, and listing the namespace changes no
			// spec.
			if cond.Reason == "Failed" || !strings.Contains(cond.Message, secretWriteNamespacesValue) {
				return fmt.Errorf("Ready=%s %s: %s", cond.Status, cond.Reason, cond.Message)
			}
			return nil
		})
		if _, err := clientset.CoreV1().Secrets(ns).Get(ctx, "team-ca", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("Secret %s/team-ca: %v, want none", ns, err)
		}

		// Listing the namespace lets the issuer become Ready by itself.
		m.grantSecretWrites(t, ns)
		m.eventuallyWithin(t, 3*time.Minute, "the issuer Ready once "+ns+" is listed", framework.IssuerReady(m.c, iss))
	})
}

func generatedCA(secretName string) v1alpha1.CASpec {
	return v1alpha1.CASpec{SecretName: secretName, Generate: &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "Scoped " + secretName}}}
}

// createReadyAndRotate creates an issuer with a generated CA, waits until
// it is Ready, and rotates its CA with rotate-now.
func (m *scopedManager) createReadyAndRotate(t *testing.T, iss client.Object) {
	m.create(t, iss)
	m.eventually(t, "the issuer Ready with its generated CA", framework.IssuerReady(m.c, iss))
	m.annotate(t, iss, v1alpha1.RotateNowAnnotation, "scoped-1")
	m.eventually(t, "the rotate-now answered", rotateNowAnswered(m.c, iss, "scoped-1"))
}

// rotateNowAnswered is met when the issuer's rotation recorded token and
// its CARotation condition is True.
func rotateNowAnswered(c client.Client, iss client.Object, token string) framework.Condition {
	return func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(iss), iss); err != nil {
			return err
		}
		st, err := framework.IssuerStatus(iss)
		if err != nil {
			return framework.Stop(err)
		}
		cond := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionTypeCARotation)
		switch {
		case st.Rotation == nil || st.Rotation.RotateNowToken != token:
			return fmt.Errorf("status.rotation %+v, CARotation %+v", st.Rotation, cond)
		case cond == nil || cond.Status != metav1.ConditionTrue:
			return fmt.Errorf("CARotation %+v", cond)
		}
		return nil
	}
}

func (m *scopedManager) create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := m.c.Create(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.c.Delete(context.Background(), obj) })
}

func (m *scopedManager) annotate(t *testing.T, obj client.Object, key, value string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, key, value)
	if err := m.c.Patch(context.Background(), obj, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		t.Fatal(err)
	}
}

func (m *scopedManager) eventually(t *testing.T, what string, cond framework.Condition) {
	t.Helper()
	m.eventuallyWithin(t, framework.Timeout, what, cond)
}

func (m *scopedManager) eventuallyWithin(t *testing.T, timeout time.Duration, what string, cond framework.Condition) {
	t.Helper()
	// The last answer that is not the deadline itself says what was seen.
	var last error
	err := framework.EventuallyWithin(context.Background(), timeout, what, func(ctx context.Context) error {
		err := cond(ctx)
		if err != nil && ctx.Err() == nil {
			last = err
		}
		return err
	})
	if err != nil {
		t.Fatalf("%v (last seen: %v)", err, last)
	}
}

// grantSecretWrites binds the secret-writer ClusterRole in ns, as the
// chart does for a namespace in rbac.secretWriteNamespaces, and waits until
// the authorizer sees it.
func (m *scopedManager) grantSecretWrites(t *testing.T, ns string) {
	t.Helper()
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: m.writer, Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: m.writer},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: m.saName, Namespace: m.namespace}},
	}
	if _, err := clientset.RbacV1().RoleBindings(ns).Create(context.Background(), rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	m.waitSecretWrites(t, ns, true)
}

// revokeSecretWrites deletes that RoleBinding, as taking ns off the list
// does, and waits until the authorizer sees it.
func (m *scopedManager) revokeSecretWrites(t *testing.T, ns string) {
	t.Helper()
	if err := clientset.RbacV1().RoleBindings(ns).Delete(context.Background(), m.writer, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	m.waitSecretWrites(t, ns, false)
}

// waitSecretWrites waits until the authorizer allows (or refuses) the
// controller to create Secrets in ns: RBAC reaches it through informers.
func (m *scopedManager) waitSecretWrites(t *testing.T, ns string, allowed bool) {
	t.Helper()
	m.eventually(t, fmt.Sprintf("Secret creation in %s allowed=%v", ns, allowed), func(context.Context) error {
		if got := m.sa.may(t, authorizationv1.ResourceAttributes{Verb: "create", Resource: "secrets", Namespace: ns}); got != allowed {
			return fmt.Errorf("allowed=%v", got)
		}
		return nil
	})
}
