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
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/nstance-dev/nstance-issuer/internal/app"
)

// who is a user as the API server authenticates it.
type who struct {
	label  string // for messages
	user   string
	groups []string
}

func serviceAccount(label, ns, name string) who {
	return who{
		label:  label + " (" + ns + "/" + name + ")",
		user:   "system:serviceaccount:" + ns + ":" + name,
		groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
	}
}

// may asks the API server's authorizer (RBAC) with a SubjectAccessReview.
func (w who) may(t *testing.T, ra authorizationv1.ResourceAttributes) bool {
	t.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: w.user, Groups: w.groups, ResourceAttributes: &ra,
	}}
	res, err := clientset.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), sar, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Status.Allowed
}

// mayForSigner is the API server's check before a user may `sign` (put a
// certificate into) or `approve` a CSR for signerName: the exact name, else
// "<domain>/*" (k8s.io/kubernetes/pkg/certauthorization).
func (w who) mayForSigner(t *testing.T, verb, signerName string) bool {
	domain, _, _ := strings.Cut(signerName, "/")
	for _, name := range []string{signerName, domain + "/*"} {
		if w.may(t, authorizationv1.ResourceAttributes{Verb: verb, Group: "certificates.k8s.io", Resource: "signers", Name: name}) {
			return true
		}
	}
	return false
}

// mayApproveCertificateRequest is cert-manager's check before a user may
// approve or deny a CertificateRequest for an issuer: `approve` on
// cert-manager.io `signers` named "<plural>.<group>/*" or
// "<plural>.<group>/<namespace>.<name>" (namespaced issuers) or
// "<plural>.<group>/<name>" (cluster issuers). See cert-manager's
// internal/webhook/admission/certificaterequest/approval.
func (w who) mayApproveCertificateRequest(t *testing.T, plural, group, ns, name string) bool {
	specific := plural + "." + group + "/" + name
	if ns != "" {
		specific = plural + "." + group + "/" + ns + "." + name
	}
	for _, n := range []string{plural + "." + group + "/*", specific} {
		if w.may(t, authorizationv1.ResourceAttributes{Verb: "approve", Group: "cert-manager.io", Resource: "signers", Name: n}) {
			return true
		}
	}
	return false
}

// perm is one permission and how to ask for it.
type perm struct {
	desc string
	ask  func(t *testing.T) bool
}

// accessNamed is access to the object name only.
func accessNamed(w who, verb, group, resource, ns, name string) perm {
	p := access(w, verb, group, resource, ns)
	res, sub, _ := strings.Cut(resource, "/")
	p.desc += " named " + name
	p.ask = func(t *testing.T) bool {
		return w.may(t, authorizationv1.ResourceAttributes{Verb: verb, Group: group, Resource: res, Subresource: sub, Namespace: ns, Name: name})
	}
	return p
}

func access(w who, verb, group, resource, ns string) perm {
	res, sub, _ := strings.Cut(resource, "/") // before resource is qualified for desc
	where := "cluster-wide"
	if ns != "" {
		where = "in " + ns
	}
	if group != "" {
		resource += "." + group
	}
	return perm{
		desc: fmt.Sprintf("%s: %s %s %s", w.label, verb, resource, where),
		ask: func(t *testing.T) bool {
			return w.may(t, authorizationv1.ResourceAttributes{Verb: verb, Group: group, Resource: res, Subresource: sub, Namespace: ns})
		},
	}
}

func signer(w who, verb, signerName string) perm {
	return perm{
		desc: fmt.Sprintf("%s: %s CSRs for signer %s", w.label, verb, signerName),
		ask:  func(t *testing.T) bool { return w.mayForSigner(t, verb, signerName) },
	}
}

func approveRequest(w who, plural, group, ns, name string) perm {
	issuer := name
	if ns != "" {
		issuer = ns + "/" + name
	}
	return perm{
		desc: fmt.Sprintf("%s: approve CertificateRequests for %s.%s %s", w.label, plural, group, issuer),
		ask:  func(t *testing.T) bool { return w.mayApproveCertificateRequest(t, plural, group, ns, name) },
	}
}

// rbacInstall is one install whose RBAC is created for real.
type rbacInstall struct {
	name           string
	render         func(t *testing.T) []*unstructured.Unstructured
	manager        [2]string // namespace, name of the controller's ServiceAccount
	leaseNamespace string
	certManager    [2]string // namespace, name of cert-manager's ServiceAccount
	// secretWriteNamespaces are the only namespaces where the controller
	// may write Secrets (rbac.secretWriteScope=namespaces, config/scoped);
	// nil means every namespace (the default).
	secretWriteNamespaces []string
}

// TestRBAC creates the RBAC objects of the chart (three value sets),
// config/default and config/scoped for real, then proves with
// SubjectAccessReviews and impersonated requests that the controller's
// ServiceAccount can do what the controller needs and not more, and that
// cert-manager's ServiceAccount may approve requests for these issuers only.
// With Secret writes scoped, it writes Secrets in the listed namespaces and
// the cluster resource namespace only, and still reads them everywhere.
func TestRBAC(t *testing.T) {
	t.Parallel()
	// Each install grants to its own ServiceAccounts, so that one install's
	// grants cannot hide another's missing ones.
	installs := []rbacInstall{{
		name: "chart with cert-manager under another ServiceAccount",
		render: func(t *testing.T) []*unstructured.Unstructured {
			return renderChart(t, "rbac-a", "rbac-a", "--set", "approver.serviceAccount.namespace=security,approver.serviceAccount.name=cm-controller")
		},
		manager: [2]string{"rbac-a", "rbac-a-nstance-issuer"}, leaseNamespace: "rbac-a",
		certManager: [2]string{"security", "cm-controller"},
	}, {
		name: "chart with a separate cluster resource namespace",
		render: func(t *testing.T) []*unstructured.Unstructured {
			return renderChart(t, "rbac-b", "rbac-b", "--set", "clusterResourceNamespace=rbac-b-pki,approver.serviceAccount.namespace=cm-b")
		},
		manager: [2]string{"rbac-b", "rbac-b-nstance-issuer"}, leaseNamespace: "rbac-b-pki",
		certManager: [2]string{"cm-b", "cert-manager"},
	}, {
		name:    "config/default",
		render:  func(t *testing.T) []*unstructured.Unstructured { return renderKustomize(t, configDir+"/default") },
		manager: [2]string{"nstance-issuer", "nstance-issuer-controller-manager"}, leaseNamespace: "nstance-issuer",
		certManager: [2]string{"cert-manager", "cert-manager"},
	}, {
		name: "chart with Secret writes scoped to namespaces",
		render: func(t *testing.T) []*unstructured.Unstructured {
			return renderChart(t, "rbac-c", "rbac-c", "--set", "clusterResourceNamespace=rbac-c-pki,approver.serviceAccount.namespace=cm-c",
				"--set", "rbac.secretWriteScope=namespaces", "--set", "rbac.secretWriteNamespaces={rbac-c-tenant-1,rbac-c-tenant-2}")
		},
		manager: [2]string{"rbac-c", "rbac-c-nstance-issuer"}, leaseNamespace: "rbac-c-pki",
		certManager:           [2]string{"cm-c", "cert-manager"},
		secretWriteNamespaces: []string{"rbac-c-pki", "rbac-c-tenant-1", "rbac-c-tenant-2"},
	}, {
		// config/scoped and one tenant RoleBinding, as a user's overlay
		// adds it, renamed so as not to share config/default's
		// ServiceAccount.
		name: "config/scoped with a tenant namespace",
		render: func(t *testing.T) []*unstructured.Unstructured {
			return renderKustomize(t, "testdata/kustomize/scoped")
		},
		manager: [2]string{"nstance-issuer", "scoped-nstance-issuer-controller-manager"}, leaseNamespace: "nstance-issuer",
		certManager:           [2]string{"cm-scoped", "cert-manager"},
		secretWriteNamespaces: []string{"nstance-issuer", "team-b"},
	}}
	for _, in := range installs {
		t.Run(in.name, func(t *testing.T) {
			t.Parallel()
			testRBAC(t, in)
		})
	}
}

func testRBAC(t *testing.T, in rbacInstall) {
	objs := in.render(t)
	d, c := managerContainer(t, objs)
	if d.Namespace != in.manager[0] || d.Spec.Template.Spec.ServiceAccountName != in.manager[1] {
		t.Fatalf("the controller runs as %s/%s, want %s/%s", d.Namespace, d.Spec.Template.Spec.ServiceAccountName, in.manager[0], in.manager[1])
	}
	var rbac []*unstructured.Unstructured
	for _, o := range objs {
		switch o.GetKind() {
		case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
			rbac = append(rbac, o)
		}
	}
	for _, ns := range append(namespacesOf(rbac), in.leaseNamespace) {
		ensureNamespace(t, ns, restrictedNS)
	}
	apply(t, rbac, false)

	mgr := serviceAccount("the controller", in.manager[0], in.manager[1])
	cm := serviceAccount("cert-manager", in.certManager[0], in.certManager[1])
	const team = "team-a" // any namespace: NstanceIssuers live in their users' namespaces
	otherNS := "kube-system"
	if in.leaseNamespace != in.manager[0] {
		otherNS = in.manager[0] // the Lease is not in the pod's namespace then
	}
	// Where it writes Secrets: every namespace, or the listed ones only.
	writeNS, scoped := []string{team}, in.secretWriteNamespaces != nil
	if scoped {
		writeNS = in.secretWriteNamespaces
	}
	allowed := []perm{
		// Reads stay cluster-wide: an NstanceIssuer may live anywhere.
		access(mgr, "get", "", "secrets", team), access(mgr, "list", "", "secrets", team), access(mgr, "watch", "", "secrets", team),
		access(mgr, "list", "", "secrets", ""), access(mgr, "watch", "", "secrets", ""),
		// Trust publication: ConfigMap bundles, ClusterTrustBundles attested
		// for its own signers only.
		access(mgr, "create", "", "configmaps", team), access(mgr, "patch", "", "configmaps", team), access(mgr, "delete", "", "configmaps", team),
		access(mgr, "list", "", "configmaps", ""), access(mgr, "watch", "", "configmaps", ""), // the bundles it made, cached by label
		access(mgr, "create", "certificates.k8s.io", "clustertrustbundles", ""), access(mgr, "delete", "certificates.k8s.io", "clustertrustbundles", ""),
		signer(mgr, "attest", "nstanceclusterissuers.issuer.nstance.dev/cluster-ca"),
		access(mgr, "get", "issuer.nstance.dev", "nstanceissuers", team), access(mgr, "watch", "issuer.nstance.dev", "nstanceissuers", ""),
		access(mgr, "list", "issuer.nstance.dev", "nstanceclusterissuers", ""),
		access(mgr, "patch", "issuer.nstance.dev", "nstanceissuers/status", team), access(mgr, "patch", "issuer.nstance.dev", "nstanceclusterissuers/status", ""),
		access(mgr, "list", "cert-manager.io", "certificaterequests", ""), access(mgr, "watch", "cert-manager.io", "certificaterequests", ""),
		access(mgr, "patch", "cert-manager.io", "certificaterequests/status", team),
		// Re-issue after a rotate-now: find the Certificates of an issuer
		// and set their Issuing condition, as cmctl renew does.
		access(mgr, "get", "cert-manager.io", "certificates", team), access(mgr, "list", "cert-manager.io", "certificates", ""),
		access(mgr, "patch", "cert-manager.io", "certificates/status", team),
		access(mgr, "list", "certificates.k8s.io", "certificatesigningrequests", ""),
		access(mgr, "patch", "certificates.k8s.io", "certificatesigningrequests/status", ""),
		signer(mgr, "sign", "nstanceclusterissuers.issuer.nstance.dev/cluster-ca"),
		// A PodCertificateRequest's pod identity is checked against the
		// live Pod, read one by one, and the UIDs of its ServiceAccount and
		// Node, from a metadata cache (read live when the cache differs).
		access(mgr, "get", "", "pods", team), access(mgr, "get", "", "serviceaccounts", team), access(mgr, "get", "", "nodes", ""),
		access(mgr, "list", "", "serviceaccounts", ""), access(mgr, "watch", "", "serviceaccounts", ""),
		access(mgr, "list", "", "nodes", ""), access(mgr, "watch", "", "nodes", ""),
		access(mgr, "create", "", "events", team), access(mgr, "create", "events.k8s.io", "events", team),
		access(mgr, "get", "coordination.k8s.io", "leases", in.leaseNamespace), access(mgr, "create", "coordination.k8s.io", "leases", in.leaseNamespace),
		access(mgr, "update", "coordination.k8s.io", "leases", in.leaseNamespace),
		approveRequest(cm, "nstanceissuers", "issuer.nstance.dev", team, "team-ca"),
		approveRequest(cm, "nstanceclusterissuers", "issuer.nstance.dev", "", "cluster-ca"),
	}
	for _, ns := range writeNS {
		allowed = append(allowed,
			access(mgr, "create", "", "secrets", ns), // ca.generate, rotation's -next and -retired- Secrets
			// CA rotation: the next CA is written into the CA Secret; its
			// own -next and -retired- Secrets are deleted.
			access(mgr, "update", "", "secrets", ns), access(mgr, "delete", "", "secrets", ns))
	}
	denied := []perm{
		// Secrets: never patched, never deleted in bulk.
		access(mgr, "patch", "", "secrets", team), access(mgr, "deletecollection", "", "secrets", team),
		// Issuers and requests: status only, never the spec.
		access(mgr, "create", "issuer.nstance.dev", "nstanceissuers", team), access(mgr, "update", "issuer.nstance.dev", "nstanceissuers", team),
		access(mgr, "delete", "issuer.nstance.dev", "nstanceclusterissuers", ""),
		access(mgr, "create", "cert-manager.io", "certificaterequests", team), access(mgr, "update", "cert-manager.io", "certificaterequests", team),
		access(mgr, "delete", "cert-manager.io", "certificaterequests", team),
		access(mgr, "create", "certificates.k8s.io", "certificatesigningrequests", ""),
		// It signs; it never approves (cert-manager's approver or a person does).
		approveRequest(mgr, "nstanceissuers", "issuer.nstance.dev", team, "team-ca"),
		approveRequest(mgr, "nstanceclusterissuers", "issuer.nstance.dev", "", "cluster-ca"),
		signer(mgr, "approve", "nstanceclusterissuers.issuer.nstance.dev/cluster-ca"),
		access(mgr, "update", "certificates.k8s.io", "certificatesigningrequests/approval", ""),
		// Only its own signer names.
		signer(mgr, "sign", "kubernetes.io/kube-apiserver-client"), signer(mgr, "sign", "kubernetes.io/kubelet-serving"),
		signer(mgr, "sign", "kubernetes.io/legacy-unknown"), signer(mgr, "sign", "example.com/other"),
		signer(mgr, "sign", "nstanceissuers.issuer.nstance.dev/team-a.team-ca"), // namespaced issuers cannot sign CSRs
		// It attests trust bundles for its own signers only.
		signer(mgr, "attest", "kubernetes.io/kube-apiserver-client"), signer(mgr, "attest", "example.com/other"),
		// Leases in its namespace only, and no deletion.
		access(mgr, "get", "coordination.k8s.io", "leases", otherNS), access(mgr, "update", "coordination.k8s.io", "leases", otherNS),
		access(mgr, "create", "coordination.k8s.io", "leases", team), access(mgr, "delete", "coordination.k8s.io", "leases", in.leaseNamespace),
		// Nothing else.
		access(mgr, "update", "", "configmaps", team), access(mgr, "list", "", "pods", ""), access(mgr, "watch", "", "pods", ""), access(mgr, "create", "", "pods", team),
		access(mgr, "update", "", "nodes", ""), access(mgr, "update", "", "serviceaccounts", team),
		access(mgr, "create", "", "serviceaccounts/token", team), access(mgr, "impersonate", "", "users", ""),
		access(mgr, "bind", "rbac.authorization.k8s.io", "clusterroles", ""), access(mgr, "escalate", "rbac.authorization.k8s.io", "clusterroles", ""),
		access(mgr, "create", "rbac.authorization.k8s.io", "rolebindings", team),
		// Certificates: after a rotate-now, read and their Issuing
		// condition set (status), never their spec.
		access(mgr, "update", "cert-manager.io", "certificates", team), access(mgr, "patch", "cert-manager.io", "certificates", team),
		access(mgr, "create", "cert-manager.io", "certificates", team), access(mgr, "delete", "cert-manager.io", "certificates", team),
		access(mgr, "update", "cert-manager.io", "certificates/status", team),
		// cert-manager may approve for these issuers, nothing more through this install.
		approveRequest(cm, "issuers", "cert-manager.io", team, "ca"),
		approveRequest(cm, "awspcaclusterissuers", "awspca.cert-manager.io", "", "pca"),
		approveRequest(cm, "nstanceissuers", "issuer.example.com", team, "team-ca"),
		signer(cm, "approve", "nstanceclusterissuers.issuer.nstance.dev/cluster-ca"),
		signer(cm, "sign", "nstanceclusterissuers.issuer.nstance.dev/cluster-ca"),
		access(cm, "get", "", "secrets", team),
	}
	for _, ns := range writeNS {
		denied = append(denied, access(mgr, "patch", "", "secrets", ns), access(mgr, "deletecollection", "", "secrets", ns))
	}
	// The webhook (on by default): the controller keeps its CA in one
	// Secret of its namespace and the caBundle of one
	// ValidatingWebhookConfiguration, and writes no other.
	flags := flagsOf(c)
	if flags["webhook-ca-secret"] == "" || flags["webhook-configuration"] == "" {
		t.Fatalf("the controller keeps no webhook CA: %q", c.Args)
	}
	allowed = append(allowed,
		access(mgr, "create", "", "secrets", in.manager[0]),
		accessNamed(mgr, "get", "", "secrets", in.manager[0], flags["webhook-ca-secret"]),
		accessNamed(mgr, "update", "", "secrets", in.manager[0], flags["webhook-ca-secret"]),
		accessNamed(mgr, "get", "admissionregistration.k8s.io", "validatingwebhookconfigurations", "", flags["webhook-configuration"]),
		accessNamed(mgr, "update", "admissionregistration.k8s.io", "validatingwebhookconfigurations", "", flags["webhook-configuration"]))
	denied = append(denied,
		accessNamed(mgr, "update", "admissionregistration.k8s.io", "validatingwebhookconfigurations", "", "another-webhook"),
		access(mgr, "list", "admissionregistration.k8s.io", "validatingwebhookconfigurations", ""),
		access(mgr, "delete", "admissionregistration.k8s.io", "validatingwebhookconfigurations", ""),
		access(mgr, "create", "admissionregistration.k8s.io", "mutatingwebhookconfigurations", ""))
	if scoped && !slices.Contains(writeNS, in.manager[0]) {
		denied = append(denied, accessNamed(mgr, "update", "", "secrets", in.manager[0], "someone-elses"))
	}
	if scoped {
		// Nowhere else: not in a tenant's namespace, not in the release
		// namespace unless listed, not cluster-wide.
		for _, ns := range []string{team, "kube-system", in.manager[0], ""} {
			if slices.Contains(writeNS, ns) {
				continue
			}
			for _, verb := range []string{"create", "update", "delete"} {
				if ns == in.manager[0] && verb == "create" {
					continue // the webhook's CA Secret, below
				}
				denied = append(denied, access(mgr, verb, "", "secrets", ns))
			}
		}
	}

	// RBAC reaches the authorizer through its informers: wait until every
	// grant is visible, so that the denials below are not vacuous.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var missing []string
		for _, p := range allowed {
			if !p.ask(t) {
				missing = append(missing, p.desc)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, m := range missing {
				t.Errorf("%s: denied, but needed", m)
			}
			t.FailNow()
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, p := range denied {
		if p.ask(t) {
			t.Errorf("%s: allowed, but the design does not need it", p.desc)
		}
	}

	imp := impersonating(t, mgr)
	unlisted := installNamespace("secrets", in.name)
	if scoped {
		t.Run("impersonated Secret requests", func(t *testing.T) { secretRequests(t, imp, writeNS[len(writeNS)-1]) })
		t.Run("impersonated Secret writes elsewhere", func(t *testing.T) { secretWritesForbidden(t, imp, unlisted) })
	} else {
		t.Run("impersonated Secret requests", func(t *testing.T) { secretRequests(t, imp, unlisted) })
	}
	t.Run("impersonated Lease requests", func(t *testing.T) {
		leaseRequests(t, imp, installNamespace("lease", in.name), in.leaseNamespace, otherNS)
	})
	t.Run("impersonated CSR signing", func(t *testing.T) { csrRequests(t, imp, strings.ReplaceAll(in.manager[1], "_", "-")) })
	t.Run("the rate-limit probe works as the controller", func(t *testing.T) {
		// HEAD /livez/ping is not granted to ServiceAccounts (only get is),
		// but the API server classifies a request for Priority and Fairness
		// before it authorizes it: the probe must still see APF, or the
		// manager would fall back to a 50 QPS client-side limit in clusters.
		cfg := rest.CopyConfig(restCfg)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: mgr.user, Groups: mgr.groups}
		apf, err := app.APFEnabled(context.Background(), cfg)
		if err != nil || !apf {
			t.Fatalf("APFEnabled as %s = %v, %v; want true", mgr.user, apf, err)
		}
	})
}

func impersonating(t *testing.T, w who) kubernetes.Interface {
	t.Helper()
	cfg := rest.CopyConfig(restCfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: w.user, Groups: w.groups}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantForbidden(t *testing.T, what string, err error) {
	t.Helper()
	if !apierrors.IsForbidden(err) {
		t.Errorf("%s: got %v, want Forbidden", what, err)
	}
}

func wantOK(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

// installNamespace is a namespace name of one install's own: prefix and
// the install's name, cut to 63 characters.
func installNamespace(prefix, install string) string {
	ns := prefix + "-" + strings.NewReplacer(" ", "-", "/", "-").Replace(strings.ToLower(install))
	if len(ns) > 63 {
		ns = ns[:63]
	}
	return strings.TrimRight(ns, "-")
}

// secretRequests: in namespace ns it can create a Secret (ca.generate,
// rotation's -next and -retired- Secrets), read it, update it (a rotation's
// switch writes the next CA into the CA Secret) and delete it (its own
// -next/-retired- Secrets), and cannot patch it.
func secretRequests(t *testing.T, c kubernetes.Interface, ns string) {
	ctx := context.Background()
	ensureNamespace(t, ns, nil)
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "generated-ca", Namespace: ns}, Data: map[string][]byte{"tls.crt": []byte("x")}}
	created, err := c.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create a Secret (ca.generate): %v", err)
	}
	_, err = c.CoreV1().Secrets(ns).Get(ctx, s.Name, metav1.GetOptions{})
	wantOK(t, "get the Secret", err)
	_, err = c.CoreV1().Secrets(ns).Patch(ctx, s.Name, types.MergePatchType, []byte(`{"data":{"tls.key":"eQ=="}}`), metav1.PatchOptions{})
	wantForbidden(t, "patch the Secret", err)
	created.Data["tls.key"] = []byte("y")
	_, err = c.CoreV1().Secrets(ns).Update(ctx, created, metav1.UpdateOptions{})
	wantOK(t, "update the Secret (a rotation's switch)", err)
	wantOK(t, "delete the Secret (a promoted -next or dropped -retired- Secret)", c.CoreV1().Secrets(ns).Delete(ctx, s.Name, metav1.DeleteOptions{}))
}

// secretWritesForbidden: with Secret writes scoped, in a namespace not
// listed it still reads a Secret (an NstanceIssuer there may bring its
// own CA), but cannot create, update, patch or delete one.
func secretWritesForbidden(t *testing.T, c kubernetes.Interface, ns string) {
	ctx := context.Background()
	ensureNamespace(t, ns, nil)
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "brought-ca", Namespace: ns}, Data: map[string][]byte{"tls.crt": []byte("x")}}
	existing, err := clientset.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}) // as the admin
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CoreV1().Secrets(ns).Get(ctx, s.Name, metav1.GetOptions{})
	wantOK(t, "get a Secret in "+ns, err)
	_, err = c.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "generated-ca", Namespace: ns}}, metav1.CreateOptions{})
	wantForbidden(t, "create a Secret in "+ns+" (ca.generate)", err)
	existing.Data["tls.key"] = []byte("y")
	_, err = c.CoreV1().Secrets(ns).Update(ctx, existing, metav1.UpdateOptions{})
	wantForbidden(t, "update a Secret in "+ns+" (a rotation's switch)", err)
	_, err = c.CoreV1().Secrets(ns).Patch(ctx, s.Name, types.MergePatchType, []byte(`{"data":{"tls.key":"eQ=="}}`), metav1.PatchOptions{})
	wantForbidden(t, "patch a Secret in "+ns, err)
	wantForbidden(t, "delete a Secret in "+ns, c.CoreV1().Secrets(ns).Delete(ctx, s.Name, metav1.DeleteOptions{}))
}

// leaseRequests: leader election works in the Lease namespace and nowhere
// else (name: the install's own, as installs may share a namespace).
func leaseRequests(t *testing.T, c kubernetes.Interface, name, leaseNS, otherNS string) {
	ctx := context.Background()
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: new("installtest")}}
	got, err := c.CoordinationV1().Leases(leaseNS).Create(ctx, lease, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create the Lease in %s: %v", leaseNS, err)
	}
	got.Spec.HolderIdentity = new("installtest-2")
	_, err = c.CoordinationV1().Leases(leaseNS).Update(ctx, got, metav1.UpdateOptions{})
	wantOK(t, "renew the Lease", err)
	_, err = c.CoordinationV1().Leases(otherNS).Create(ctx, lease, metav1.CreateOptions{})
	wantForbidden(t, "create a Lease in "+otherNS, err)
}

// csrRequests goes through the API server's CertificateSigning admission
// for real: the controller may put a certificate into an approved CSR for
// an nstanceclusterissuers signer, not into one for kubernetes.io/*, and
// may not approve a CSR.
func csrRequests(t *testing.T, c kubernetes.Interface, id string) {
	ctx := context.Background()
	ours := createApprovedCSR(t, id+"-ours", "nstanceclusterissuers.issuer.nstance.dev/cluster-ca",
		certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth)
	theirs := createApprovedCSR(t, id+"-apiserver-client", certificatesv1.KubeAPIServerClientSignerName,
		certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth)
	patch, err := json.Marshal(map[string]any{"status": map[string]any{"certificate": selfSignedPEM(t)}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CertificatesV1().CertificateSigningRequests().Patch(ctx, ours.Name, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	wantOK(t, "sign a CSR for nstanceclusterissuers.issuer.nstance.dev/cluster-ca", err)
	_, err = c.CertificatesV1().CertificateSigningRequests().Patch(ctx, theirs.Name, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	wantForbidden(t, "sign a CSR for kubernetes.io/kube-apiserver-client", err)

	pending := createCSR(t, id+"-pending", "nstanceclusterissuers.issuer.nstance.dev/cluster-ca", certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth)
	pending.Status.Conditions = append(pending.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "SelfApproved"})
	_, err = c.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, pending.Name, pending, metav1.UpdateOptions{})
	wantForbidden(t, "approve a CSR", err)
}

func createCSR(t *testing.T, name, signerName string, usages ...certificatesv1.KeyUsage) *certificatesv1.CertificateSigningRequest {
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
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: signerName,
			Usages:     usages,
		},
	}
	created, err := clientset.CertificatesV1().CertificateSigningRequests().Create(context.Background(), csr, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return created
}

// createApprovedCSR creates and approves a CSR as the test's admin.
func createApprovedCSR(t *testing.T, name, signerName string, usages ...certificatesv1.KeyUsage) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	csr := createCSR(t, name, signerName, usages...)
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "InstallTest", Message: "approved by the test"})
	approved, err := clientset.CertificatesV1().CertificateSigningRequests().UpdateApproval(context.Background(), csr.Name, csr, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return approved
}

func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "installtest"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
