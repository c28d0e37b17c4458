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
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// checkScopedSecretWrites checks a render with Secret writes scoped to
// namespaces: its manager ClusterRole is the generated one without Secret
// writes, the secret-writer ClusterRole holds exactly the generated Secret
// writes and is bound by RoleBindings in wantNS only (never cluster-wide),
// to the ServiceAccount the controller runs as, and no other ClusterRole
// of the render writes Secrets.
func checkScopedSecretWrites(t *testing.T, objs []*unstructured.Unstructured, managerRole, writerRole string, wantNS []string) {
	t.Helper()
	wantManager, _ := generatedRoles(t, scopedManagerRole)
	wantWriter, _ := generatedRoles(t, scopedSecretWriterRole)
	if diff := specDiff(toTyped[rbacv1.ClusterRole](t, named(t, objs, "ClusterRole", managerRole)).Rules, wantManager); diff != "" {
		t.Errorf("ClusterRole %s is not the generated %s: %s", managerRole, scopedManagerRole, diff)
	}
	if diff := specDiff(toTyped[rbacv1.ClusterRole](t, named(t, objs, "ClusterRole", writerRole)).Rules, wantWriter); diff != "" {
		t.Errorf("ClusterRole %s is not the generated %s: %s", writerRole, scopedSecretWriterRole, diff)
	}
	for _, o := range ofKind(objs, "ClusterRole") {
		if o.GetName() == writerRole {
			continue
		}
		for g := range grants(toTyped[rbacv1.ClusterRole](t, o).Rules) {
			if (g.group == "" || g.group == "*") && (g.resource == "secrets" || g.resource == "*") && (slices.Contains(secretWriteVerbs, g.verb) || g.verb == "*") {
				t.Errorf("%s grants %s secrets: Secret writes are meant to be scoped", objID(o), g.verb)
			}
		}
	}
	for _, o := range ofKind(objs, "ClusterRoleBinding") {
		if b := toTyped[rbacv1.ClusterRoleBinding](t, o); b.RoleRef.Name == writerRole {
			t.Errorf("%s binds %s cluster-wide", objID(o), writerRole)
		}
	}
	d, _ := managerContainer(t, objs)
	sa := rbacv1.Subject{Kind: "ServiceAccount", Name: d.Spec.Template.Spec.ServiceAccountName, Namespace: d.Namespace}
	var gotNS []string
	for _, o := range ofKind(objs, "RoleBinding") {
		b := toTyped[rbacv1.RoleBinding](t, o)
		if b.RoleRef.Name != writerRole {
			continue
		}
		if b.RoleRef.Kind != "ClusterRole" {
			t.Errorf("%s refers to a %s, want ClusterRole %s", objID(o), b.RoleRef.Kind, writerRole)
		}
		if len(b.Subjects) != 1 || b.Subjects[0] != sa {
			t.Errorf("%s binds %+v, want only the controller's %+v", objID(o), b.Subjects, sa)
		}
		gotNS = append(gotNS, b.Namespace)
	}
	slices.Sort(gotNS)
	want := slices.Sorted(slices.Values(wantNS))
	if !slices.Equal(gotNS, want) {
		t.Errorf("%s is bound in namespaces %q, want %q", writerRole, gotNS, want)
	}
}

// TestScopedKustomizeIsConfigDefaultWithSecretWritesScoped proves that
// config/scoped, which repeats config/default's kustomization (so that its
// name prefix and namespace reach the scoped pieces), installs exactly
// what config/default installs, but for the manager ClusterRole's Secret
// writes, which move to a secret-writer ClusterRole bound in the cluster
// resource namespace only. Then it applies config/scoped with server-side
// dry-run.
func TestScopedKustomizeIsConfigDefaultWithSecretWritesScoped(t *testing.T) {
	t.Parallel()
	def := renderKustomize(t, configDir+"/default")
	scoped := renderKustomize(t, scopedDir)
	const managerRole, writerRole = "nstance-issuer-manager-role", "nstance-issuer-" + secretWriterRoleName
	byID := map[string]*unstructured.Unstructured{}
	for _, o := range scoped {
		byID[objID(o)] = o
	}
	for _, d := range def {
		s, ok := byID[objID(d)]
		if !ok {
			t.Errorf("config/scoped lacks %s of config/default", objID(d))
			continue
		}
		delete(byID, objID(d))
		a, b := d.DeepCopy(), s.DeepCopy()
		if a.GetKind() == "ClusterRole" && a.GetName() == managerRole {
			delete(a.Object, "rules") // checked below
			delete(b.Object, "rules")
		}
		if diff := specDiff(a.Object, b.Object); diff != "" {
			t.Errorf("%s differs between config/default and config/scoped: %s", objID(d), diff)
		}
	}
	extra := make([]string, 0, len(byID))
	for id := range byID {
		extra = append(extra, id)
	}
	slices.Sort(extra)
	if want := []string{"ClusterRole " + writerRole, "RoleBinding nstance-issuer/" + writerRole}; !slices.Equal(extra, want) {
		t.Errorf("config/scoped adds %q to config/default, want %q", extra, want)
	}
	checkScopedSecretWrites(t, scoped, managerRole, writerRole, []string{"nstance-issuer"})

	ensureNamespace(t, "nstance-issuer", restrictedNS)
	apply(t, scoped[1:], true) // not the Namespace
	if scoped[0].GetKind() != "Namespace" {
		t.Fatalf("config/scoped renders %s first, want its Namespace", objID(scoped[0]))
	}
}

// TestScopedChartAndKustomizeAgree proves that the chart with
// rbac.secretWriteScope=namespaces and config/scoped grant the same: the
// same manager rules without Secret writes, the same Secret write rules,
// bound in the cluster resource namespace.
func TestScopedChartAndKustomizeAgree(t *testing.T) {
	t.Parallel()
	chart := renderChart(t, "nstance-issuer", "nstance-issuer", "--set", "rbac.secretWriteScope=namespaces")
	kust := renderKustomize(t, scopedDir)
	checkScopedSecretWrites(t, chart, "nstance-issuer-manager", "nstance-issuer-secret-writer", []string{"nstance-issuer"})
	for _, names := range [][2]string{{"nstance-issuer-manager", "nstance-issuer-manager-role"}, {"nstance-issuer-secret-writer", "nstance-issuer-secret-writer"}} {
		c := toTyped[rbacv1.ClusterRole](t, named(t, chart, "ClusterRole", names[0]))
		k := toTyped[rbacv1.ClusterRole](t, named(t, kust, "ClusterRole", names[1]))
		if diff := specDiff(c.Rules, k.Rules); diff != "" {
			t.Errorf("ClusterRole rules differ (chart %s vs kustomize %s): %s", names[0], names[1], diff)
		}
	}
}

// TestChartSecretWritesDefaultToClusterWide pins the default: without
// rbac.secretWriteScope the chart renders today's single manager
// ClusterRole, with the generated Secret writes, and no secret-writer.
func TestChartSecretWritesDefaultToClusterWide(t *testing.T) {
	t.Parallel()
	objs := renderChart(t, "nstance-issuer", "nstance-issuer")
	generated, _ := generatedRoles(t, configRBAC)
	if diff := specDiff(toTyped[rbacv1.ClusterRole](t, named(t, objs, "ClusterRole", "nstance-issuer-manager")).Rules, generated); diff != "" {
		t.Errorf("the manager ClusterRole is not the generated %s: %s", configRBAC, diff)
	}
	for _, o := range append(ofKind(objs, "ClusterRole"), ofKind(objs, "RoleBinding")...) {
		if o.GetName() == "nstance-issuer-secret-writer" {
			t.Errorf("the default render has %s", objID(o))
		}
	}
}
