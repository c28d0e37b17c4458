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
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestKustomizeAppliesToTheAPIServer renders config/default with `kubectl
// kustomize`, creates its Namespace for real and applies everything else
// with server-side dry-run and strict validation, and dry-runs its pod
// under the restricted Pod Security Standard the Namespace enforces. The
// optional config/prometheus and the samples are applied the same way.
func TestKustomizeAppliesToTheAPIServer(t *testing.T) {
	t.Parallel()
	objs := renderKustomize(t, configDir+"/default")
	nss := ofKind(objs, "Namespace")
	if len(nss) != 1 || nss[0].GetName() != "nstance-issuer" {
		t.Fatalf("config/default should create namespace nstance-issuer, got %v", nss)
	}
	if nss[0].GetLabels()["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace nstance-issuer does not enforce the restricted Pod Security Standard: %v", nss[0].GetLabels())
	}
	for _, kind := range []string{"CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment", "Service"} {
		if len(ofKind(objs, kind)) == 0 {
			t.Errorf("config/default renders no %s", kind)
		}
	}
	for _, o := range objs {
		if ns := o.GetNamespace(); ns != "" && ns != "nstance-issuer" {
			t.Errorf("%s is outside the install's namespace", objID(o))
		}
	}
	apply(t, nss, false)
	var rest []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() != "Namespace" {
			rest = append(rest, o)
		}
	}
	apply(t, rest, true)
	dryRunPods(t, objs)

	t.Run("prometheus", func(t *testing.T) {
		monitors := renderKustomize(t, "testdata/kustomize/prometheus")
		sm := only(t, monitors, "ServiceMonitor")
		if sm.GetNamespace() != "nstance-issuer" {
			t.Errorf("ServiceMonitor in %q", sm.GetNamespace())
		}
		apply(t, monitors, true)
	})
	t.Run("samples", func(t *testing.T) {
		samples := renderKustomize(t, configDir+"/samples")
		if len(samples) == 0 {
			t.Fatal("config/samples renders nothing")
		}
		for _, ns := range namespacesOf(samples) {
			ensureNamespace(t, ns, nil)
		}
		apply(t, samples, true)
	})
}
