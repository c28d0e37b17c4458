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

package rotationrestart_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/app"
	"github.com/nstance-dev/nstance-issuer/internal/controller"
	"github.com/nstance-dev/nstance-issuer/internal/test/apiserver"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
	"github.com/nstance-dev/nstance-issuer/internal/test/integration"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

const clusterResourceNamespace = "nstance-system"

var (
	k8s        client.Client // the test's own, never faulted
	restConfig *rest.Config
	clientset  kubernetes.Interface
)

// TestMain starts a real kube-apiserver and etcd (KUBEBUILDER_ASSETS) with
// our CRDs and cert-manager's; no manager: each test runs its own.
func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctrl.SetLogger(framework.ControllerLogger())
	return integration.Run(m, integration.Options{
		APIServer: apiserver.Options{
			RepoRoot:   filepath.Join("..", "..", ".."),
			Namespaces: []string{clusterResourceNamespace},
		},
		Ready: func(api *apiserver.Server, _ ctrl.Manager) {
			restConfig, k8s, clientset = api.Config, api.Client, api.Clientset
		},
	})
}

// ---- a manager that can crash right after a write ---------------------------

// errCrashed is what a crashed manager's requests get.
var errCrashed = errors.New("the manager crashed (test fault)")

// write is one successful write the controllers made in the test's
// namespace, as the API server received it.
type write struct {
	Method   string // POST, PUT, PATCH, DELETE
	Resource string // secrets, configmaps, nstanceissuers/status
	Name     string
	Body     map[string]any // the JSON request body, nil for DELETE
	// At is the rotation clock when the write landed.
	At time.Time
}

func (w write) String() string { return w.Method + " " + w.Resource + "/" + w.Name }

// stringAt digs a string out of the body.
func (w write) stringAt(path ...string) string {
	var cur any = w.Body
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[p]
	}
	s, _ := cur.(string)
	return s
}

// crashPoint says after which write the running manager crashes: the write
// lands on the API server, the controller never sees the answer, and every
// later request of that manager fails until it is stopped.
type crashPoint func(w write, before []write) bool

// harness runs one manager at a time with the fake rotation clock and
// records the rotation's writes in its namespace.
type harness struct {
	t     *testing.T
	ns    string
	clock *clocktesting.FakePassiveClock
	opts  controller.Options
	// downtime is how far the rotation clock moves while a crashed manager
	// is replaced (a restart is not instant).
	downtime time.Duration

	mu       sync.Mutex
	writes   []write
	crashAt  crashPoint
	crashed  bool
	gen      int // the running manager's generation; older ones are dead
	restarts int
	stop     func()
}

func newHarness(t *testing.T, crashAt crashPoint) *harness {
	h := &harness{
		t: t, ns: newNamespace(t), clock: clocktesting.NewFakePassiveClock(time.Now()), crashAt: crashAt,
		downtime: 10 * time.Minute,
	}
	h.opts = controller.Options{
		ClusterResourceNamespace: clusterResourceNamespace, SetCAOnCertificateRequest: true,
		MaxConcurrentReconciles: 2, MaxRetryDuration: time.Hour,
		DisableKubernetesCSRs: true, DisablePodCertificates: true,
		Clock: h.clock,
	}
	t.Cleanup(func() {
		h.mu.Lock()
		stop := h.stop
		h.mu.Unlock()
		if stop != nil {
			stop()
		}
	})
	return h
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// classify names a request as a rotation write in h.ns, if it is one:
// Secrets, ConfigMaps and the rotation's own status patches.
func (h *harness) classify(req *http.Request) (write, bool) {
	switch req.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return write{}, false
	}
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	// api/v1/namespaces/<ns>/<resource>[/<name>[/<sub>]] or
	// apis/<group>/<version>/namespaces/<ns>/<resource>[/<name>[/<sub>]]
	i := 0
	for ; i < len(parts) && parts[i] != "namespaces"; i++ {
	}
	if i+2 >= len(parts) || parts[i+1] != h.ns {
		return write{}, false
	}
	w := write{Method: req.Method, Resource: parts[i+2]}
	if i+3 < len(parts) {
		w.Name = parts[i+3]
	}
	if i+4 < len(parts) {
		w.Resource += "/" + parts[i+4]
	}
	switch w.Resource {
	case "secrets", "configmaps":
	case "nstanceissuers/status":
		if req.URL.Query().Get("fieldManager") != "nstance-issuer-rotation" {
			return write{}, false
		}
	default:
		return write{}, false
	}
	if req.Body != nil && req.Body != http.NoBody {
		data, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			h.t.Errorf("reading a request body: %v", err)
		}
		req.Body = io.NopCloser(bytes.NewReader(data))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
		if err := decodeBody(data, &w.Body); err != nil {
			h.t.Errorf("%s %s: %v: the harness cannot see what was written", req.Method, req.URL.Path, err)
		}
	}
	if w.Name == "" {
		w.Name = w.stringAt("metadata", "name")
	}
	return w, true
}

// decodeBody decodes a JSON or Kubernetes protobuf request body (the
// client sends built-in kinds as protobuf) into its JSON form.
func decodeBody(data []byte, into *map[string]any) error {
	if err := json.Unmarshal(data, into); err == nil {
		return nil
	}
	obj, _, err := clientgoscheme.Codecs.UniversalDeserializer().Decode(data, nil, nil)
	if err != nil {
		return fmt.Errorf("the body is neither JSON nor protobuf: %w", err)
	}
	j, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	return json.Unmarshal(j, into)
}

// transport is the rest transport of manager generation gen.
func (h *harness) transport(gen int, rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		h.mu.Lock()
		dead := gen != h.gen || h.crashed
		h.mu.Unlock()
		if dead {
			return nil, errCrashed
		}
		w, counted := h.classify(req)
		resp, err := rt.RoundTrip(req)
		if err != nil || !counted || resp.StatusCode/100 != 2 {
			return resp, err
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		w.At = h.clock.Now()
		before := h.writes
		h.writes = append(h.writes, w)
		if gen == h.gen && !h.crashed && h.crashAt != nil && h.crashAt(w, before) {
			h.crashAt, h.crashed = nil, true
			h.t.Logf("crash right after %s (rotation clock %s)", w, w.At.Format(time.RFC3339))
			_ = resp.Body.Close()
			return nil, errCrashed
		}
		return resp, nil
	})
}

// start runs a new manager instance: the controllers exactly as the
// binary wires them (controller.Setup), with the fake rotation clock.
func (h *harness) start() {
	h.t.Helper()
	h.mu.Lock()
	h.gen++
	gen := h.gen
	h.crashed = false
	h.mu.Unlock()

	cfg := rest.CopyConfig(restConfig)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return h.transport(gen, rt) })
	scheme, err := app.NewScheme()
	if err != nil {
		h.t.Fatal(err)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// Several manager instances live in one process, one after the
		// other, with the same controller names.
		Controller: config.Controller{SkipNameValidation: new(true)},
		Client:     client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		Cache:      cache.Options{DefaultTransform: cache.TransformStripManagedFields()},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := controller.Setup(ctx, mgr, h.opts); err != nil {
		cancel()
		h.t.Fatal(err)
	}
	stopMgr := framework.RunInBackground(ctx, mgr)
	var once sync.Once
	h.mu.Lock()
	h.stop = func() {
		once.Do(func() {
			cancel()
			if err := stopMgr(); err != nil && !errors.Is(err, errCrashed) {
				h.t.Logf("manager %d stopped: %v", gen, err)
			}
		})
	}
	h.mu.Unlock()
}

// recover replaces a crashed manager by a new instance, after the rotation
// clock moved by h.downtime, and pokes the issuer (a restart lists every
// issuer anyway; the poke only makes the test independent of that).
func (h *harness) recover(ctx context.Context, issuer client.Object) error {
	h.mu.Lock()
	crashed, stop := h.crashed, h.stop
	h.mu.Unlock()
	if !crashed {
		return nil
	}
	stop()
	h.clock.SetTime(h.clock.Now().Add(h.downtime))
	h.restarts++
	h.start()
	return poke(ctx, issuer)
}

func (h *harness) recorded() []write {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]write(nil), h.writes...)
}

// ---- objects and waiting ------------------------------------------------------

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "rr-"}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// webIssuer signs server certificates for *.<ns>.example.com, at most 24h.
func webIssuer(ns string) *v1alpha1.NstanceIssuer {
	return &v1alpha1.NstanceIssuer{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: v1alpha1.IssuerSpec{
			CA:              v1alpha1.CASpec{SecretName: "ca"},
			DefaultTemplate: "web",
			Templates: []v1alpha1.CertificateTemplate{{
				Name: "web", Kind: v1alpha1.ServerKind, TTL: 24,
				AllowedDNSNames:    []string{"*.{{ .Request.Namespace }}.example.com"},
				AllowedCommonNames: []string{"*.{{ .Request.Namespace }}.example.com"},
			}},
		},
	}
}

func annotate(ctx context.Context, obj client.Object, key, value string) error {
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, key, value)
	return k8s.Patch(ctx, obj, client.RawPatch("application/merge-patch+json", []byte(patch)))
}

var pokes atomic.Int64

// poke changes an annotation so the controllers look at the issuer now.
func poke(ctx context.Context, obj client.Object) error {
	return annotate(ctx, obj, "test/poke", fmt.Sprint(pokes.Add(1)))
}

func eventually(t *testing.T, what string, cond framework.Condition) {
	t.Helper()
	if err := framework.Eventually(t.Context(), what, cond); err != nil {
		t.Fatal(err)
	}
}

func getSecret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	var s corev1.Secret
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// signWeb creates and approves a request for name in ns, and returns it
// once signed or failed (refused): check its Ready condition.
func createRequest(t *testing.T, ns, dnsName string) *cmapi.CertificateRequest {
	t.Helper()
	csr, err := testpki.CSR(dnsName, dnsName)
	if err != nil {
		t.Fatal(err)
	}
	cr := &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "cr-"},
		Spec: cmapi.CertificateRequestSpec{
			Request:   csr,
			IssuerRef: cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "NstanceIssuer", Name: "web"},
			Duration:  &metav1.Duration{Duration: time.Hour},
		},
	}
	ctx := t.Context()
	if err := k8s.Create(ctx, cr); err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	cr.Status.Conditions = append(cr.Status.Conditions, cmapi.CertificateRequestCondition{
		Type: cmapi.CertificateRequestConditionApproved, Status: cmmeta.ConditionTrue, Reason: "TestApproved", Message: "set by the test", LastTransitionTime: &now,
	})
	if err := k8s.Status().Update(ctx, cr); err != nil {
		t.Fatal(err)
	}
	return cr
}
