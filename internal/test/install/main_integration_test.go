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

// Package install proves the install artifacts (the Helm chart in
// charts/nstance-issuer and the kustomize tree in config/) against a real
// kube-apiserver and etcd: every render is applied with server-side dry-run
// and strict field validation, its pod passes the restricted Pod Security
// Standard, and its RBAC, created for real, grants what the controller and
// cert-manager's approver need and nothing the design does not.
//
// Run with `make test-install` (HELM, KUSTOMIZE and KUBEBUILDER_ASSETS set).
package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/nstance-dev/nstance-issuer/internal/test/apiserver"
)

const fieldManager = "nstance-installtest"

var (
	restCfg      *rest.Config
	clientset    kubernetes.Interface
	mapper       *restmapper.DeferredDiscoveryRESTMapper
	helmBin      string
	kustomizeBin string
	kubeVersion  string // the API server's version; charts are rendered for it
	kubeconfig   string // a kubeconfig file for helm install
	helmHome     string // helm's config, cache and data directories
)

// TestMain starts one kube-apiserver + etcd for the whole package, with our
// CRDs, cert-manager's and a ServiceMonitor CRD fixture installed.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	fail := func(msg string, args ...any) int {
		fmt.Fprintf(os.Stderr, msg+"\n", args...)
		return 1
	}
	if helmBin = os.Getenv("HELM"); helmBin == "" {
		return fail("HELM is not set: run these tests with `make test-install`")
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return fail("KUBEBUILDER_ASSETS is not set: run these tests with `make test-install`")
	}
	var err error
	if kustomizeBin, err = exec.LookPath(envOr("KUSTOMIZE", "kustomize")); err != nil {
		return fail("kustomize not found (make test-install builds it into bin/): %v", err)
	}
	api, err := apiserver.Start(context.Background(), apiserver.Options{
		RepoRoot:      repoRoot,
		ExtraCRDPaths: []string{filepath.Join("testdata", "crds")},
	})
	if err != nil {
		return fail("%v", err)
	}
	defer func() { _ = api.Stop() }()
	restCfg, clientset = api.Config, api.Clientset
	v, err := clientset.Discovery().ServerVersion()
	if err != nil {
		return fail("%v", err)
	}
	kubeVersion = v.GitVersion
	mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(clientset.Discovery()))
	tmp, err := os.MkdirTemp("", "installtest-")
	if err != nil {
		return fail("%v", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	helmHome = tmp
	kubeconfig = filepath.Join(tmp, "kubeconfig")
	if err := os.WriteFile(kubeconfig, api.Env.KubeConfig, 0o600); err != nil {
		return fail("%v", err)
	}
	return m.Run()
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// ---- rendering ---------------------------------------------------------------

// runTool runs a command and returns its stdout, or an error carrying stderr.
func runTool(name string, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), // helm keeps no state outside the test
		"HELM_CONFIG_HOME="+filepath.Join(helmHome, "config"),
		"HELM_CACHE_HOME="+filepath.Join(helmHome, "cache"),
		"HELM_DATA_HOME="+filepath.Join(helmHome, "data"),
		"KUBECONFIG="+kubeconfig)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// helmTemplate renders the chart as release in namespace ns with extra helm
// arguments (-f, --set ...), for the test API server's version.
func helmTemplate(release, ns string, args ...string) ([]byte, error) {
	return runTool(helmBin, append([]string{"template", release, chartDir, "--namespace", ns, "--kube-version", kubeVersion}, args...)...)
}

func renderChart(t *testing.T, release, ns string, args ...string) []*unstructured.Unstructured {
	t.Helper()
	out, err := helmTemplate(release, ns, args...)
	if err != nil {
		t.Fatal(err)
	}
	return decodeObjects(t, out)
}

func renderKustomize(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	out, err := runTool(kustomizeBin, "build", dir)
	if err != nil {
		t.Fatal(err)
	}
	return decodeObjects(t, out)
}

func decodeObjects(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	dec := k8syaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatalf("rendered YAML does not parse: %v", err)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

func objID(o *unstructured.Unstructured) string {
	if ns := o.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s %s/%s", o.GetKind(), ns, o.GetName())
	}
	return fmt.Sprintf("%s %s", o.GetKind(), o.GetName())
}

// ofKind returns the objects of a kind.
func ofKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// only returns the one object of a kind, failing the test otherwise.
func only(t *testing.T, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	found := ofKind(objs, kind)
	if len(found) != 1 {
		t.Fatalf("want exactly one %s in the render, found %d", kind, len(found))
	}
	return found[0]
}

func toTyped[T any](t *testing.T, o *unstructured.Unstructured) *T {
	t.Helper()
	var out T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, &out, true); err != nil {
		t.Fatalf("%s: %v", objID(o), err)
	}
	return &out
}

// ---- the API server ------------------------------------------------------------

// restrictedNS is the label set of a namespace that enforces (and warns
// about) the restricted Pod Security Standard.
var restrictedNS = map[string]string{
	"pod-security.kubernetes.io/enforce": "restricted",
	"pod-security.kubernetes.io/warn":    "restricted",
}

// ensureNamespace creates a namespace for real (dry-run needs it to exist).
func ensureNamespace(t *testing.T, name string, labels map[string]string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	_, err := clientset.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// warningCollector records the API server's warnings (e.g. PodSecurity
// `warn` findings, deprecated APIs).
type warningCollector struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warningCollector) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func (w *warningCollector) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	return out
}

// apply server-side applies objs in order, for real or as a dry run, with
// strict field validation: an unknown or duplicate field, a wrong type or a
// missing kind fails, as does any warning the API server returns.
func apply(t *testing.T, objs []*unstructured.Unstructured, dryRun bool) {
	t.Helper()
	warnings := &warningCollector{}
	cfg := rest.CopyConfig(restCfg)
	cfg.WarningHandler = warnings
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	opts := metav1.PatchOptions{FieldManager: fieldManager, Force: new(true), FieldValidation: "Strict"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Errorf("%s: the API server does not serve %s: %v", objID(o), gvk, err)
			continue
		}
		data, err := o.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
		if mapping.Scope.Name() == "namespace" {
			if o.GetNamespace() == "" {
				t.Errorf("%s: a namespaced object without a namespace", objID(o))
				continue
			}
			ri = dyn.Resource(mapping.Resource).Namespace(o.GetNamespace())
		} else if o.GetNamespace() != "" {
			t.Errorf("%s: a cluster-scoped object with a namespace", objID(o))
		}
		if _, err := ri.Patch(context.Background(), o.GetName(), types.ApplyPatchType, data, opts); err != nil {
			t.Errorf("%s: the API server rejects it: %v", objID(o), err)
		}
		for _, w := range warnings.take() {
			t.Errorf("%s: the API server warns: %s", objID(o), w)
		}
	}
}

// dryRunPods creates, as a dry run, the pod each Deployment would create, in
// the Deployment's namespace: the PodSecurity admission plugin rejects it
// unless it meets the namespace's enforced level (restricted).
func dryRunPods(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, o := range ofKind(objs, "Deployment") {
		d := toTyped[appsv1.Deployment](t, o)
		ns, err := clientset.CoreV1().Namespaces().Get(context.Background(), d.Namespace, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
			t.Fatalf("namespace %s does not enforce the restricted Pod Security Standard", d.Namespace)
		}
		pod := &corev1.Pod{ObjectMeta: *d.Spec.Template.ObjectMeta.DeepCopy(), Spec: *d.Spec.Template.Spec.DeepCopy()}
		pod.Name = d.Name + "-dry-run"
		pod.Namespace = d.Namespace
		_, err = clientset.CoreV1().Pods(d.Namespace).Create(context.Background(), pod,
			metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"})
		if err != nil {
			t.Errorf("the pod of %s is rejected: %v", objID(o), err)
		}
	}
}

// namespacesOf returns the namespaces the objects live in (for
// ensureNamespace), skipping those a Namespace object in objs creates.
func namespacesOf(objs []*unstructured.Unstructured) []string {
	created := map[string]bool{}
	for _, o := range ofKind(objs, "Namespace") {
		created[o.GetName()] = true
	}
	seen := map[string]bool{}
	var out []string
	for _, o := range objs {
		if ns := o.GetNamespace(); ns != "" && !seen[ns] && !created[ns] {
			seen[ns] = true
			out = append(out, ns)
		}
	}
	return out
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

func dynamicClient(t *testing.T) dynamic.Interface {
	t.Helper()
	dyn, err := dynamic.NewForConfig(restCfg)
	if err != nil {
		t.Fatal(err)
	}
	return dyn
}
