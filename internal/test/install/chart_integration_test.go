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
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

func TestHelmLint(t *testing.T) {
	t.Parallel()
	for _, values := range []string{"", "testdata/values/ha.yaml", "testdata/values/custom.yaml", "testdata/values/minimal.yaml", "testdata/values/scoped.yaml"} {
		args := []string{"lint", "--strict", chartDir, "--kube-version", kubeVersion}
		if values != "" {
			args = append(args, "-f", values)
		}
		if _, err := runTool(helmBin, args...); err != nil {
			t.Errorf("helm lint with %q: %v", values, err)
		}
	}
}

func managerContainer(t *testing.T, objs []*unstructured.Unstructured) (*appsv1.Deployment, corev1.Container) {
	t.Helper()
	d := toTyped[appsv1.Deployment](t, only(t, objs, "Deployment"))
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(d.Spec.Template.Spec.Containers))
	}
	return d, d.Spec.Template.Spec.Containers[0]
}

func named(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range ofKind(objs, kind) {
		if o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s in the render", kind, name)
	return nil
}

func wantArgs(t *testing.T, c corev1.Container, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(c.Args, w) {
			t.Errorf("container args %q lack %q", c.Args, w)
		}
	}
}

func wantNone(t *testing.T, objs []*unstructured.Unstructured, kinds ...string) {
	t.Helper()
	for _, k := range kinds {
		if found := ofKind(objs, k); len(found) > 0 {
			t.Errorf("want no %s, found %s", k, objID(found[0]))
		}
	}
}

// bindingSubject returns the one subject of a (Cluster)RoleBinding.
func bindingSubject(t *testing.T, o *unstructured.Unstructured) rbacv1.Subject {
	t.Helper()
	b := toTyped[rbacv1.RoleBinding](t, o) // same shape as a ClusterRoleBinding
	if len(b.Subjects) != 1 {
		t.Fatalf("%s: want one subject, got %v", objID(o), b.Subjects)
	}
	return b.Subjects[0]
}

// chartValueSets are the renders applied to the API server: the defaults
// and three sets that change most settings, each with what it must render.
var chartValueSets = []struct {
	name, release, namespace string
	args                     []string
	extraNamespaces          []string // created for real before the dry run
	check                    func(t *testing.T, objs []*unstructured.Unstructured)
}{{
	name: "defaults", release: "nstance-issuer", namespace: "install-default",
	check: func(t *testing.T, objs []*unstructured.Unstructured) {
		d, c := managerContainer(t, objs)
		if c.Image != "ghcr.io/nstance-dev/nstance-issuer:v0.1.0" {
			t.Errorf("image %q, want the appVersion tag", c.Image)
		}
		if *d.Spec.Replicas != 1 || d.Spec.Template.Spec.ServiceAccountName != "nstance-issuer" {
			t.Errorf("replicas %d, serviceAccountName %q", *d.Spec.Replicas, d.Spec.Template.Spec.ServiceAccountName)
		}
		wantArgs(t, c, "--leader-elect=true", "--metrics-bind-address=:8080")
		for _, a := range c.Args {
			if strings.HasPrefix(a, "--cluster-resource-namespace") || strings.HasPrefix(a, "--leader-election-namespace") {
				t.Errorf("default args set %s; the POD_NAMESPACE default should apply", a)
			}
		}
		crds := ofKind(objs, "CustomResourceDefinition")
		if len(crds) != 2 {
			t.Fatalf("want our two CRDs, got %d", len(crds))
		}
		for _, crd := range crds {
			if crd.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
				t.Errorf("%s is not kept on uninstall", objID(crd))
			}
		}
		if s := bindingSubject(t, named(t, objs, "ClusterRoleBinding", "nstance-issuer-approver")); s.Name != "cert-manager" || s.Namespace != "cert-manager" {
			t.Errorf("approver bound to %s/%s, want cert-manager/cert-manager", s.Namespace, s.Name)
		}
		if ns := named(t, objs, "Role", "nstance-issuer-leader-election").GetNamespace(); ns != "install-default" {
			t.Errorf("Lease Role in %s, want the release namespace", ns)
		}
		named(t, objs, "Service", "nstance-issuer-metrics")
		wantNone(t, objs, "PodDisruptionBudget", "ServiceMonitor")
	},
}, {
	name: "highly available", release: "ha", namespace: "install-ha",
	args: []string{"-f", "testdata/values/ha.yaml"},
	check: func(t *testing.T, objs []*unstructured.Unstructured) {
		d, c := managerContainer(t, objs)
		spec := d.Spec.Template.Spec
		if *d.Spec.Replicas != 3 || len(spec.TopologySpreadConstraints) != 1 || spec.Affinity == nil ||
			len(spec.Tolerations) != 1 || spec.PriorityClassName != "nstance-installtest-critical" ||
			spec.NodeSelector["node-role.example.com/infra"] != "true" {
			t.Errorf("scheduling settings not rendered: %+v", spec)
		}
		if d.Spec.Template.Labels["team"] != "pki" || d.Spec.Template.Annotations["example.com/owner"] != "pki-team" {
			t.Errorf("pod labels/annotations not rendered: %v %v", d.Spec.Template.Labels, d.Spec.Template.Annotations)
		}
		if c.Resources.Limits.Cpu().String() != "1" {
			t.Errorf("resources not rendered: %v", c.Resources)
		}
		pdb := toTyped[policyv1.PodDisruptionBudget](t, only(t, objs, "PodDisruptionBudget"))
		if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
			t.Errorf("PodDisruptionBudget %+v, want maxUnavailable 1 only", pdb.Spec)
		}
		if !maps.Equal(pdb.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels) {
			t.Errorf("PodDisruptionBudget selects %v, the Deployment %v", pdb.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels)
		}
		sm := only(t, objs, "ServiceMonitor")
		if sm.GetLabels()["release"] != "prometheus" {
			t.Errorf("ServiceMonitor labels %v", sm.GetLabels())
		}
	},
}, {
	name: "everything moved", release: "custom", namespace: "install-custom",
	args:            []string{"-f", "testdata/values/custom.yaml"},
	extraNamespaces: []string{"install-custom-pki", "install-custom-leases"},
	check: func(t *testing.T, objs []*unstructured.Unstructured) {
		d, c := managerContainer(t, objs)
		if c.Image != "registry.example.com/mirror/nstance-issuer@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" ||
			c.ImagePullPolicy != corev1.PullAlways || len(d.Spec.Template.Spec.ImagePullSecrets) != 1 {
			t.Errorf("image %q policy %q pull secrets %v", c.Image, c.ImagePullPolicy, d.Spec.Template.Spec.ImagePullSecrets)
		}
		wantArgs(t, c, "--cluster-resource-namespace=install-custom-pki", "--leader-election-namespace=install-custom-leases",
			"--metrics-bind-address=0", "--set-ca-on-certificate-request=false", "--max-concurrent-reconciles=10",
			"--max-retry-duration=1h30m", "--ca-expiry-warning=2160h", "--disable-kubernetes-csrs=true", "--disable-pod-certificates=true",
			"--kube-api-qps=20.5", "--kube-api-burst=40", "--zap-log-level=2", "--leader-election-id=pki-signer-leader")
		if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "TZ" && e.Value == "UTC" }) {
			t.Errorf("extraEnv not rendered: %v", c.Env)
		}
		if slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "metrics" }) {
			t.Errorf("metrics port exposed with metrics disabled: %v", c.Ports)
		}
		if d.Name != "pki-signer" || d.Spec.Template.Spec.ServiceAccountName != "signer" {
			t.Errorf("Deployment %s runs as %s", d.Name, d.Spec.Template.Spec.ServiceAccountName)
		}
		if sa := only(t, objs, "ServiceAccount"); sa.GetName() != "signer" || sa.GetAnnotations()["example.com/role"] != "signer" {
			t.Errorf("ServiceAccount %s %v", sa.GetName(), sa.GetAnnotations())
		}
		if ns := named(t, objs, "Role", "pki-signer-leader-election").GetNamespace(); ns != "install-custom-leases" {
			t.Errorf("Lease Role in %s, want install-custom-leases", ns)
		}
		if s := bindingSubject(t, named(t, objs, "ClusterRoleBinding", "pki-signer-approver")); s.Name != "cm-controller" || s.Namespace != "security" {
			t.Errorf("approver bound to %s/%s, want security/cm-controller", s.Namespace, s.Name)
		}
		wantArgs(t, c, "--webhook-port=10443", "--webhook-service=pki-signer-webhook", "--webhook-cert-dir=/var/run/nstance-issuer/webhook-tls")
		if svcs := ofKind(objs, "Service"); len(svcs) != 1 || svcs[0].GetName() != "pki-signer-webhook" {
			t.Errorf("want only the webhook Service with metrics off, got %d", len(svcs))
		}
		named(t, objs, "Certificate", "pki-signer-webhook")
		wantNone(t, objs, "CustomResourceDefinition", "ServiceMonitor", "PodDisruptionBudget")
	},
}, {
	name: "minimal", release: "minimal", namespace: "install-minimal",
	check: func(t *testing.T, objs []*unstructured.Unstructured) {
		d, c := managerContainer(t, objs)
		wantArgs(t, c, "--leader-elect=false", "--metrics-bind-address=:8080")
		if d.Spec.Template.Spec.ServiceAccountName != "existing-sa" {
			t.Errorf("runs as %s, want existing-sa", d.Spec.Template.Spec.ServiceAccountName)
		}
		if s := bindingSubject(t, named(t, objs, "ClusterRoleBinding", "minimal-nstance-issuer-manager")); s.Name != "existing-sa" {
			t.Errorf("manager role bound to %s, want existing-sa", s.Name)
		}
		for _, crd := range ofKind(objs, "CustomResourceDefinition") {
			if _, ok := crd.GetAnnotations()["helm.sh/resource-policy"]; ok {
				t.Errorf("%s is kept on uninstall with crds.keep=false", objID(crd))
			}
		}
		if n := len(ofKind(objs, "ClusterRole")); n != 1 {
			t.Errorf("want only the manager ClusterRole (no approver), got %d", n)
		}
		wantNone(t, objs, "ServiceAccount", "Role", "RoleBinding", "Service")
	},
	args: []string{"-f", "testdata/values/minimal.yaml"},
}, {
	name: "Secret writes scoped to namespaces", release: "scoped", namespace: "install-scoped",
	args: []string{"-f", "testdata/values/scoped.yaml"},
	check: func(t *testing.T, objs []*unstructured.Unstructured) {
		checkScopedSecretWrites(t, objs, "scoped-nstance-issuer-manager", "scoped-nstance-issuer-secret-writer",
			[]string{"install-scoped", "install-scoped-team-a", "install-scoped-team-b"})
	},
}}

// TestChartRendersApplyToTheAPIServer renders the chart with each value set
// and applies every object with server-side dry-run and strict validation
// (CRDs already installed, namespaces created), and dry-runs the pod it
// would run in a namespace that enforces the restricted Pod Security
// Standard.
func TestChartRendersApplyToTheAPIServer(t *testing.T) {
	t.Parallel()
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "nstance-installtest-critical"}, Value: 1000000}
	if _, err := clientset.SchedulingV1().PriorityClasses().Create(context.Background(), pc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	for _, vs := range chartValueSets {
		t.Run(vs.name, func(t *testing.T) {
			t.Parallel()
			objs := renderChart(t, vs.release, vs.namespace, vs.args...)
			vs.check(t, objs)
			ensureNamespace(t, vs.namespace, restrictedNS)
			for _, ns := range append(vs.extraNamespaces, namespacesOf(objs)...) {
				ensureNamespace(t, ns, nil)
			}
			apply(t, objs, true)
			dryRunPods(t, objs)
		})
	}
}

// TestChartRejectsBadValues proves that values.schema.json and the chart's
// own checks refuse wrong types, unknown keys and contradictory settings,
// naming the offending setting.
func TestChartRejectsBadValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"a string where a number belongs", []string{"--set", "replicaCount=two"}, "/replicaCount"},
		{"an unknown top-level key", []string{"--set", "replicas=2"}, "'replicas' not allowed"},
		{"an unknown nested key (typo)", []string{"--set", "image.tags=v1"}, "'tags' not allowed"},
		{"a pull policy Kubernetes does not know", []string{"--set", "image.pullPolicy=Sometimes"}, "/image/pullPolicy"},
		{"a digest that is not a sha256 digest", []string{"--set", "image.digest=latest"}, "/image/digest"},
		{"a string where a boolean belongs", []string{"--set-string", "crds.keep=yes"}, "/crds/keep"},
		{"a duration Go cannot parse", []string{"--set", "config.maxRetryDuration=1day"}, "/config/maxRetryDuration"},
		{"a QPS below -1 (the only negative that means off)", []string{"--set", "config.kubeAPIQPS=-5"}, "/config/kubeAPIQPS"},
		{"a port out of range", []string{"--set", "metrics.port=70000"}, "/metrics/port"},
		{"an invalid namespace name", []string{"--set", "clusterResourceNamespace=Not_A_Namespace"}, "/clusterResourceNamespace"},
		{"an empty approver ServiceAccount", []string{"--set", "approver.serviceAccount.name="}, "/approver/serviceAccount/name"},
		{"an extra argument that is not a flag", []string{"--set", "extraArgs[0]=leader-elect=false"}, "/extraArgs/0"},
		{"a number as a pod annotation", []string{"--set-json", `podAnnotations={"a":1}`}, "/podAnnotations/a"},
		{"an unknown key in a values file", []string{"--set-json", `metrics={"serviceMonitor":{"intervall":"1m"}}`}, "'intervall' not allowed"},
		{"several replicas without leader election", []string{"--set", "replicaCount=2,leaderElection.enabled=false"}, "requires leaderElection.enabled"},
		{"both minAvailable and maxUnavailable", []string{"--set", "podDisruptionBudget.enabled=true,podDisruptionBudget.minAvailable=1,podDisruptionBudget.maxUnavailable=1"}, "at most one of minAvailable and maxUnavailable"},
		{"an existing ServiceAccount without a name", []string{"--set", "serviceAccount.create=false"}, "serviceAccount.name must name an existing ServiceAccount"},
		{"a ServiceMonitor without metrics", []string{"--set", "metrics.enabled=false,metrics.serviceMonitor.enabled=true"}, "requires metrics.enabled"},
		{"a Secret write scope the chart does not know", []string{"--set", "rbac.secretWriteScope=namespace"}, "/rbac/secretWriteScope"},
		{"an invalid namespace among the Secret write namespaces", []string{"--set", "rbac.secretWriteScope=namespaces,rbac.secretWriteNamespaces[0]=Team_A"}, "/rbac/secretWriteNamespaces/0"},
		{"an empty namespace among the Secret write namespaces", []string{"--set", "rbac.secretWriteScope=namespaces,rbac.secretWriteNamespaces[0]="}, "/rbac/secretWriteNamespaces/0"},
		{"a Secret write namespace listed twice", []string{"--set", "rbac.secretWriteScope=namespaces", "--set", "rbac.secretWriteNamespaces={team-a,team-a}"}, "/rbac/secretWriteNamespaces"},
		{"a string where the list of Secret write namespaces belongs", []string{"--set", "rbac.secretWriteScope=namespaces,rbac.secretWriteNamespaces=team-a"}, "/rbac/secretWriteNamespaces"},
		{"Secret write namespaces while writes are cluster-wide", []string{"--set", "rbac.secretWriteNamespaces={team-a}"}, "set rbac.secretWriteScope=namespaces"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := helmTemplate("bad", "bad", tc.args...)
			if err == nil {
				t.Fatalf("helm template %v succeeded, want it to fail with %q; rendered %d bytes", tc.args, tc.wantErr, len(out))
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("helm template %v failed without naming %q:\n%v", tc.args, tc.wantErr, err)
			}
		})
	}
}

// TestChartAndKustomizeAgree proves that `helm install` with the defaults
// and `kubectl apply -k config/default` run the same controller: the same
// pod spec (image, args, env, probes, security context, resources), the same
// generated RBAC rules, the same approver rule and the same CRDs.
func TestChartAndKustomizeAgree(t *testing.T) {
	t.Parallel()
	chart := renderChart(t, "nstance-issuer", "nstance-issuer")
	kust := renderKustomize(t, configDir+"/default")

	chartDeploy, chartC := managerContainer(t, chart)
	kustDeploy, kustC := managerContainer(t, kust)
	if !slices.Equal(chartC.Args, kustC.Args) {
		t.Errorf("container args differ:\nchart:     %q\nkustomize: %q", chartC.Args, kustC.Args)
	}
	chartPod, kustPod := chartDeploy.Spec.Template.Spec, kustDeploy.Spec.Template.Spec
	chartPod.ServiceAccountName, kustPod.ServiceAccountName = "", "" // names differ by design
	if diff := specDiff(chartPod, kustPod); diff != "" {
		t.Errorf("pod specs differ (chart vs kustomize): %s", diff)
	}

	clusterRules, leaseRules := generatedRoles(t, configRBAC)
	roleRules := func(objs []*unstructured.Unstructured, kind, nameSuffix string) []rbacv1.PolicyRule {
		for _, o := range ofKind(objs, kind) {
			if strings.HasSuffix(o.GetName(), nameSuffix) {
				return toTyped[rbacv1.ClusterRole](t, o).Rules
			}
		}
		t.Fatalf("no %s *%s", kind, nameSuffix)
		return nil
	}
	for _, c := range []struct {
		what       string
		chart, kus []rbacv1.PolicyRule
		generated  []rbacv1.PolicyRule
	}{
		{"manager ClusterRole", roleRules(chart, "ClusterRole", "-manager"), roleRules(kust, "ClusterRole", "-manager-role"), clusterRules},
		{"leader election Role", roleRules(chart, "Role", "-leader-election"), roleRules(kust, "Role", "-manager-role"), leaseRules},
		{"approver ClusterRole", roleRules(chart, "ClusterRole", "-approver"), roleRules(kust, "ClusterRole", "-approver"), nil},
	} {
		if diff := specDiff(c.chart, c.kus); diff != "" {
			t.Errorf("%s rules differ (chart vs kustomize): %s", c.what, diff)
		}
		if c.generated != nil {
			if diff := specDiff(c.chart, c.generated); diff != "" {
				t.Errorf("%s rules are not the generated config/rbac/role.yaml: %s", c.what, diff)
			}
		}
	}
	if a, b := bindingSubject(t, named(t, chart, "ClusterRoleBinding", "nstance-issuer-approver")),
		bindingSubject(t, named(t, kust, "ClusterRoleBinding", "nstance-issuer-cert-manager-approver")); a != b {
		t.Errorf("approver subjects differ: chart %+v, kustomize %+v", a, b)
	}

	chartCRDs, kustCRDs := ofKind(chart, "CustomResourceDefinition"), ofKind(kust, "CustomResourceDefinition")
	if len(chartCRDs) != 2 || len(kustCRDs) != 2 {
		t.Fatalf("want two CRDs in each, got chart %d, kustomize %d", len(chartCRDs), len(kustCRDs))
	}
	for _, k := range kustCRDs {
		c := named(t, chart, "CustomResourceDefinition", k.GetName())
		if diff := specDiff(c.Object["spec"], k.Object["spec"]); diff != "" {
			t.Errorf("CRD %s differs (chart vs kustomize): %s", k.GetName(), diff)
		}
	}
}

// TestHelmInstallUpgradeUninstall runs helm itself against the API server:
// install (adopting the CRDs already there, as a user who installed them
// by hand would), upgrade, and uninstall, which must keep the CRDs.
// It is not parallel: the other tests need the CRDs it manages.
func TestHelmInstallUpgradeUninstall(t *testing.T) {
	const release, ns = "real", "helm-real"
	ctx := context.Background()
	ensureNamespace(t, ns, restrictedNS)
	crds := ofKind(renderChart(t, release, ns), "CustomResourceDefinition")
	for _, crd := range crds { // helm's documented adoption of existing objects
		patch := fmt.Sprintf(`{"metadata":{"labels":{"app.kubernetes.io/managed-by":"Helm"},`+
			`"annotations":{"meta.helm.sh/release-name":%q,"meta.helm.sh/release-namespace":%q}}}`, release, ns)
		if _, err := dynamicClient(t).Resource(crdGVR).Patch(ctx, crd.GetName(), types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	helm := func(args ...string) {
		t.Helper()
		if _, err := runTool(helmBin, append(args, "--namespace", ns)...); err != nil {
			t.Fatal(err)
		}
	}
	helm("install", release, chartDir)
	d, err := clientset.AppsV1().Deployments(ns).Get(ctx, "real-nstance-issuer", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("helm install did not create the Deployment: %v", err)
	}
	if _, err := clientset.RbacV1().ClusterRoles().Get(ctx, "real-nstance-issuer-manager", metav1.GetOptions{}); err != nil {
		t.Fatalf("helm install did not create the manager ClusterRole: %v", err)
	}
	if _, err := clientset.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Get(ctx, "real-nstance-issuer-csr-annotations", metav1.GetOptions{}); err != nil {
		t.Fatalf("helm install did not create the CSR annotation policy binding: %v", err)
	}
	if _, err := clientset.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "real-nstance-issuer-webhook", metav1.GetOptions{}); err != nil {
		t.Fatalf("helm install did not create the issuers' ValidatingWebhookConfiguration: %v", err)
	}

	helm("upgrade", release, chartDir, "--set", "replicaCount=2,podDisruptionBudget.enabled=true")
	if d2, err := clientset.AppsV1().Deployments(ns).Get(ctx, d.Name, metav1.GetOptions{}); err != nil || *d2.Spec.Replicas != 2 {
		t.Fatalf("helm upgrade did not scale the Deployment: %v", err)
	}
	if _, err := clientset.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, d.Name, metav1.GetOptions{}); err != nil {
		t.Fatalf("helm upgrade did not add the PodDisruptionBudget: %v", err)
	}

	helm("uninstall", release)
	if _, err := clientset.AppsV1().Deployments(ns).Get(ctx, d.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Deployment survived helm uninstall: %v", err)
	}
	if _, err := clientset.RbacV1().ClusterRoles().Get(ctx, "real-nstance-issuer-manager", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the manager ClusterRole survived helm uninstall: %v", err)
	}
	if _, err := clientset.AdmissionregistrationV1().ValidatingAdmissionPolicies().Get(ctx, "real-nstance-issuer-csr-annotations", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the CSR annotation policy survived helm uninstall: %v", err)
	}
	if _, err := clientset.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "real-nstance-issuer-webhook", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the ValidatingWebhookConfiguration survived helm uninstall (with failurePolicy Fail it would refuse every issuer): %v", err)
	}
	for _, crd := range crds {
		got, err := dynamicClient(t).Resource(crdGVR).Get(ctx, crd.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatalf("helm uninstall deleted CRD %s despite crds.keep: %v", crd.GetName(), err)
		}
		if got.GetDeletionTimestamp() != nil {
			t.Fatalf("helm uninstall is deleting CRD %s despite crds.keep", crd.GetName())
		}
	}
}
