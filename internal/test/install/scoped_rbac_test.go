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

// Secret writes scoped to namespaces (docs/install.md, "Scoping Secret
// access"). The controller's ClusterRole is generated from
// +kubebuilder:rbac markers into config/rbac/role.yaml. A ClusterRole cannot
// name namespaces, so the scoped installs (config/scoped, and the chart with
// rbac.secretWriteScope=namespaces) split it in two:
//
//   - the manager ClusterRole with every rule but the Secret writes,
//     bound cluster-wide (Secret reads stay cluster-wide: an NstanceIssuer
//     may live in any namespace);
//   - a secret-writer ClusterRole with only the Secret writes, bound by a
//     RoleBinding in each namespace where writes are allowed.
//
// Both halves are generated here from role.yaml (`make manifests` runs
// TestScopedRBACFiles with -update), never written by hand, so that they
// cannot drift from the markers; the chart reads verbatim copies.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

const (
	scopedDir              = configDir + "/scoped"
	scopedManagerRole      = scopedDir + "/manager_role.yaml"
	scopedSecretWriterRole = scopedDir + "/secret_writer_role.yaml"
	chartScopedDir         = chartDir + "/files/rbac/scoped"
	// secretWriterRoleName is the secret-writer ClusterRole of config/scoped
	// (nstance-issuer-secret-writer once config/scoped prefixes it).
	secretWriterRoleName = "secret-writer"
)

// secretWriteVerbs are the verbs that change Secrets.
var secretWriteVerbs = []string{"create", "update", "patch", "delete", "deletecollection"}

// splitSecretWrites splits ClusterRole rules into the rules without Secret
// writes (readOnly) and the Secret writes alone (writes). Every grant of
// rules is in exactly one of the two. A rule it cannot split exactly (a
// wildcard verb or resource that covers Secrets) is an error, and so is a
// role without Secret writes, for which a scoped install would mean nothing.
func splitSecretWrites(rules []rbacv1.PolicyRule) (readOnly, writes []rbacv1.PolicyRule, err error) {
	for _, r := range rules {
		core := slices.Contains(r.APIGroups, "") || slices.Contains(r.APIGroups, "*")
		if len(r.NonResourceURLs) > 0 || !core {
			readOnly = append(readOnly, r)
			continue
		}
		if slices.Contains(r.APIGroups, "*") || slices.Contains(r.Resources, "*") {
			return nil, nil, fmt.Errorf("rule %s: a wildcard covers Secrets, so their writes cannot be split off; name the API groups and resources in the +kubebuilder:rbac markers", ruleString(r))
		}
		if !slices.Contains(r.Resources, "secrets") {
			readOnly = append(readOnly, r)
			continue
		}
		if slices.Contains(r.Verbs, "*") {
			return nil, nil, fmt.Errorf("rule %s: verb \"*\" on Secrets cannot be split into reads and writes; name the verbs in the +kubebuilder:rbac markers", ruleString(r))
		}
		// What the rule grants besides core Secrets stays as it is.
		if others := without(r.APIGroups, ""); len(others) > 0 {
			o := *r.DeepCopy()
			o.APIGroups = others
			readOnly = append(readOnly, o)
		}
		if others := without(r.Resources, "secrets"); len(others) > 0 {
			o := *r.DeepCopy()
			o.APIGroups, o.Resources = []string{""}, others
			readOnly = append(readOnly, o)
		}
		var read, write []string
		for _, v := range r.Verbs {
			if slices.Contains(secretWriteVerbs, v) {
				write = append(write, v)
			} else {
				read = append(read, v)
			}
		}
		secrets := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: slices.Clone(r.ResourceNames)}
		if len(read) > 0 {
			s := *secrets.DeepCopy()
			s.Verbs = read
			readOnly = append(readOnly, s)
		}
		if len(write) > 0 {
			s := *secrets.DeepCopy()
			s.Verbs = write
			writes = append(writes, s)
		}
	}
	if len(writes) == 0 {
		return nil, nil, errors.New("the manager ClusterRole grants no Secret writes: a scoped install has nothing to scope; remove config/scoped and the chart's rbac.secretWriteScope")
	}
	return readOnly, writes, nil
}

func without(list []string, drop string) []string {
	var out []string
	for _, s := range list {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}

func ruleString(r rbacv1.PolicyRule) string {
	return fmt.Sprintf("{apiGroups: %q, resources: %q, verbs: %q}", r.APIGroups, r.Resources, r.Verbs)
}

// grant is one (API group, resource, verb, name) a rule allows.
type grant struct{ group, resource, verb, name string }

// grants expands rules into the set of what they allow.
func grants(rules []rbacv1.PolicyRule) map[grant]bool {
	out := map[grant]bool{}
	for _, r := range rules {
		names := r.ResourceNames
		if len(names) == 0 {
			names = []string{""}
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					for _, n := range names {
						out[grant{g, res, v, n}] = true
					}
				}
			}
		}
	}
	return out
}

// scopedRoleFile renders a generated ClusterRole of config/scoped.
func scopedRoleFile(name, purpose string, rules []rbacv1.PolicyRule) ([]byte, error) {
	body, err := yaml.Marshal(map[string]any{
		"apiVersion": rbacv1.SchemeGroupVersion.String(),
		"kind":       "ClusterRole",
		"metadata":   map[string]any{"name": name},
		"rules":      rules,
	})
	if err != nil {
		return nil, err
	}
	header := "# Generated from config/rbac/role.yaml by `make manifests`; do not edit.\n# " +
		strings.ReplaceAll(purpose, "\n", "\n# ") + "\n"
	return append([]byte(header), body...), nil
}

// scopedRoleFiles are the generated files of config/scoped, by path.
func scopedRoleFiles(t *testing.T) map[string][]byte {
	t.Helper()
	cluster, _ := generatedRoles(t, configRBAC)
	readOnly, writes, err := splitSecretWrites(cluster)
	if err != nil {
		t.Fatalf("%s: %v", configRBAC, err)
	}
	manager, err := scopedRoleFile("manager-role",
		"The manager ClusterRole without Secret writes: config/scoped puts it in\nplace of config/rbac's, and the chart renders it with\nrbac.secretWriteScope=namespaces.", readOnly)
	if err != nil {
		t.Fatal(err)
	}
	writer, err := scopedRoleFile(secretWriterRoleName,
		"The controller's Secret writes, granted only where a RoleBinding binds\nit: in the cluster resource namespace and the namespaces you list.", writes)
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{scopedManagerRole: manager, scopedSecretWriterRole: writer}
}

// TestScopedRBACFiles proves that config/scoped's two generated ClusterRoles
// are the split of config/rbac/role.yaml, and that the chart ships verbatim
// copies. With -update it writes them (`make manifests` and `make
// chart-rbac` do).
func TestScopedRBACFiles(t *testing.T) {
	for path, want := range scopedRoleFiles(t) {
		got, err := os.ReadFile(path)
		switch {
		case *update:
			if err != nil || !bytes.Equal(got, want) {
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("wrote %s", path)
			}
		case err != nil:
			t.Errorf("%s: %v: run `make manifests` and commit", path, err)
		case !bytes.Equal(got, want):
			t.Errorf("%s is not the split of the generated %s: run `make manifests` and commit", path, configRBAC)
		}
		if !*update {
			sameFile(t, path, filepath.Join(chartScopedDir, filepath.Base(path)))
		}
	}
}

// TestScopedRBACGrantsWhatTheGeneratedRoleGrants: the two halves of the
// split of the real generated role grant together exactly what it grants,
// the manager half writes no Secret, and the writer half grants nothing
// but Secret writes.
func TestScopedRBACGrantsWhatTheGeneratedRoleGrants(t *testing.T) {
	cluster, _ := generatedRoles(t, configRBAC)
	readOnly, writes, err := splitSecretWrites(cluster)
	if err != nil {
		t.Fatal(err)
	}
	want, ro, w := grants(cluster), grants(readOnly), grants(writes)
	for g := range ro {
		if g.group == "" && g.resource == "secrets" && slices.Contains(secretWriteVerbs, g.verb) {
			t.Errorf("the manager half still grants %s secrets", g.verb)
		}
	}
	for g := range w {
		if g.group != "" || g.resource != "secrets" || !slices.Contains(secretWriteVerbs, g.verb) {
			t.Errorf("the writer half grants %+v, not a Secret write", g)
		}
	}
	for g := range want {
		if !ro[g] && !w[g] {
			t.Errorf("the split lost %+v", g)
		}
	}
	for g := range ro {
		if !want[g] {
			t.Errorf("the manager half grants %+v, which the generated role does not", g)
		}
	}
	for g := range w {
		if !want[g] {
			t.Errorf("the writer half grants %+v, which the generated role does not", g)
		}
	}
	for _, v := range []string{"get", "list", "watch"} {
		if !ro[grant{"", "secrets", v, ""}] {
			t.Errorf("the manager half does not %s Secrets cluster-wide: namespaced issuers anywhere need it", v)
		}
	}
}

func TestSplitSecretWrites(t *testing.T) {
	t.Parallel()
	rule := func(groups, resources, verbs []string, names ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: groups, Resources: resources, Verbs: verbs, ResourceNames: names}
	}
	core := []string{""}
	secrets := []string{"secrets"}
	tests := []struct {
		name             string
		rules            []rbacv1.PolicyRule
		readOnly, writes []rbacv1.PolicyRule
		wantErr          string
	}{{
		name:     "write verbs on Secrets move to the writer half and the reads stay",
		rules:    []rbacv1.PolicyRule{rule(core, secrets, []string{"create", "delete", "get", "list", "update", "watch"})},
		readOnly: []rbacv1.PolicyRule{rule(core, secrets, []string{"get", "list", "watch"})},
		writes:   []rbacv1.PolicyRule{rule(core, secrets, []string{"create", "delete", "update"})},
	}, {
		name: "rules without Secrets are kept whole and in order",
		rules: []rbacv1.PolicyRule{
			rule(core, []string{"configmaps"}, []string{"create", "delete"}),
			rule(core, secrets, []string{"get", "patch"}),
			rule([]string{"issuer.nstance.dev"}, []string{"nstanceissuers/status"}, []string{"patch"}),
		},
		readOnly: []rbacv1.PolicyRule{
			rule(core, []string{"configmaps"}, []string{"create", "delete"}),
			rule(core, secrets, []string{"get"}),
			rule([]string{"issuer.nstance.dev"}, []string{"nstanceissuers/status"}, []string{"patch"}),
		},
		writes: []rbacv1.PolicyRule{rule(core, secrets, []string{"patch"})},
	}, {
		name:     "a rule shared by Secrets and ConfigMaps keeps the ConfigMaps whole",
		rules:    []rbacv1.PolicyRule{rule(core, []string{"configmaps", "secrets"}, []string{"create", "get"})},
		readOnly: []rbacv1.PolicyRule{rule(core, []string{"configmaps"}, []string{"create", "get"}), rule(core, secrets, []string{"get"})},
		writes:   []rbacv1.PolicyRule{rule(core, secrets, []string{"create"})},
	}, {
		name:     "a rule shared with another API group keeps that group's grant whole",
		rules:    []rbacv1.PolicyRule{rule([]string{"", "example.com"}, secrets, []string{"delete", "list"})},
		readOnly: []rbacv1.PolicyRule{rule([]string{"example.com"}, secrets, []string{"delete", "list"}), rule(core, secrets, []string{"list"})},
		writes:   []rbacv1.PolicyRule{rule(core, secrets, []string{"delete"})},
	}, {
		name:     "a rule for named Secrets keeps its names on both halves",
		rules:    []rbacv1.PolicyRule{rule(core, secrets, []string{"get", "update"}, "ca")},
		readOnly: []rbacv1.PolicyRule{rule(core, secrets, []string{"get"}, "ca")},
		writes:   []rbacv1.PolicyRule{rule(core, secrets, []string{"update"}, "ca")},
	}, {
		name:    "a wildcard verb on Secrets is refused",
		rules:   []rbacv1.PolicyRule{rule(core, secrets, []string{"*"})},
		wantErr: `verb "*" on Secrets`,
	}, {
		name:    "a wildcard resource in the core group is refused",
		rules:   []rbacv1.PolicyRule{rule(core, []string{"*"}, []string{"get"})},
		wantErr: "a wildcard covers Secrets",
	}, {
		name:    "a wildcard API group is refused",
		rules:   []rbacv1.PolicyRule{rule([]string{"*"}, secrets, []string{"get"})},
		wantErr: "a wildcard covers Secrets",
	}, {
		name:    "a role that writes no Secret has nothing to scope",
		rules:   []rbacv1.PolicyRule{rule(core, secrets, []string{"get", "list", "watch"})},
		wantErr: "grants no Secret writes",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			readOnly, writes, err := splitSecretWrites(tc.rules)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := specDiff(readOnly, tc.readOnly); diff != "" {
				t.Errorf("readOnly: %s", diff)
			}
			if diff := specDiff(writes, tc.writes); diff != "" {
				t.Errorf("writes: %s", diff)
			}
		})
	}
}
