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

package webhook_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/test/apiserver"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
	"github.com/nstance-dev/nstance-issuer/internal/webhook"
	"github.com/nstance-dev/nstance-issuer/internal/webhook/servingcert"
)

// managerNamespace is where the webhook's CA Secret lives.
const managerNamespace = "nstance-issuer"

var (
	api    *apiserver.Server
	k8s    client.Client
	scheme = runtime.NewScheme()
	// warnings collects the warnings the API server returned to k8s.
	warnings = &warningCollector{}
)

type warningCollector struct {
	mu  sync.Mutex
	got []string
}

func (w *warningCollector) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, text)
}

func (w *warningCollector) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.got
	w.got = nil
	return out
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	log.SetLogger(framework.ControllerLogger())
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	var err error
	api, err = apiserver.Start(ctx, apiserver.Options{RepoRoot: "../..", Scheme: scheme, Namespaces: []string{managerNamespace}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = api.Stop() }()
	cfg := rest.CopyConfig(api.Config)
	cfg.WarningHandlerWithContext = warnings
	if k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// hooked is one webhook manager under test: its server answers for the
// issuers labelled webhook-test=<label>, through its own
// ValidatingWebhookConfiguration.
type hooked struct {
	label, config string
	port          int
	stop          func() error
}

// startWebhook starts a manager serving only the webhook, with the CA it
// keeps itself, and installs a ValidatingWebhookConfiguration for the
// issuers labelled webhook-test=label, as the chart does (failurePolicy
// Fail), pointing at it. It returns once the API server trusts it.
func startWebhook(t *testing.T, label string, certs servingcert.Options) *hooked {
	t.Helper()
	ctx := context.Background()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	h := &hooked{label: label, config: "webhook-" + label, port: port}
	cfg := webhook.Configuration(h.config, admissionregistrationv1.Fail, func(path string) admissionregistrationv1.WebhookClientConfig {
		url := "https://localhost:" + strconv.Itoa(port) + path
		return admissionregistrationv1.WebhookClientConfig{URL: &url}
	})
	for i := range cfg.Webhooks {
		cfg.Webhooks[i].ObjectSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"webhook-test": label}}
	}
	if err := k8s.Create(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	srv := webhook.NewServer(webhook.Options{
		Port: port, Host: "127.0.0.1", Namespace: managerNamespace,
		// The API server calls https://localhost:<port>: "localhost" is
		// among the names of Service "localhost".
		ServiceName: "localhost", CASecretName: "webhook-ca-" + label, WebhookConfiguration: h.config,
		Certificates: certs,
	})
	mgr, err := ctrl.NewManager(api.Config, ctrl.Options{
		Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0", WebhookServer: srv,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := webhook.Setup(mgr, srv); err != nil {
		t.Fatal(err)
	}
	h.stop = framework.RunInBackground(ctx, mgr)
	t.Cleanup(func() {
		_ = h.stop()
		_ = k8s.Delete(context.Background(), cfg)
	})
	// Trusted: an issuer the webhook refuses is refused (not let through
	// while the configuration's caBundle is still empty).
	probe := clusterIssuer(label, "probe-"+label)
	probe.Spec.Templates[0].DNS = []string{"{{"}
	if err := framework.Eventually(ctx, "the webhook to answer", func(ctx context.Context) error {
		err := k8s.Create(ctx, probe)
		if err == nil {
			_ = k8s.Delete(ctx, probe)
			return errors.New("a broken issuer was admitted")
		}
		if !apierrors.IsInvalid(err) {
			return err
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	warnings.take()
	return h
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// clusterIssuer is a valid NstanceClusterIssuer labelled for webhook label.
func clusterIssuer(label, name string) *v1alpha1.NstanceClusterIssuer {
	return &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"webhook-test": label}},
		Spec: v1alpha1.IssuerSpec{
			CA:              v1alpha1.CASpec{SecretName: "ca"},
			DefaultTemplate: "web",
			Templates:       []v1alpha1.CertificateTemplate{{Name: "web", AllowedDNSNames: []string{"*.{{ .Request.Namespace }}.example.com"}}},
		},
	}
}

// wantRefused checks that err is the API server's 422 naming field path
// with the message the controller would write for spec.
func wantRefused(t *testing.T, err error, kind string, spec *v1alpha1.IssuerSpec, issuer pki.IssuerData, path string) {
	t.Helper()
	if !apierrors.IsInvalid(err) {
		t.Fatalf("error %v, want the webhook's Invalid", err)
	}
	want := pki.ValidateIssuer(spec, issuer).Errors
	if len(want) == 0 {
		t.Fatalf("the controller would accept this issuer")
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Details == nil {
		t.Fatalf("error %v carries no details", err)
	}
	causes := status.Status().Details.Causes
	if len(causes) != len(want) {
		t.Fatalf("%d causes %v, want %d", len(causes), causes, len(want))
	}
	if causes[0].Field != path {
		t.Errorf("cause at %q, want %q", causes[0].Field, path)
	}
	if !strings.Contains(causes[0].Message, want[0].Detail) {
		t.Errorf("cause %q does not carry the controller's message %q", causes[0].Message, want[0].Detail)
	}
	if !strings.Contains(err.Error(), kind) || !strings.Contains(err.Error(), path+": Invalid value: "+want[0].Detail) {
		t.Errorf("kubectl would print %q: want the kind, %s and the controller's message", err, path)
	}
}

func TestBrokenTemplateIsRefusedAtCreateAndUpdateWithItsFieldPath(t *testing.T) {
	h := startWebhook(t, "broken", servingcert.Options{})
	ctx := context.Background()

	ci := clusterIssuer(h.label, "broken-create")
	ci.Spec.Templates[0].AllowedDNSNames = []string{"web-*.example.com"}
	err := k8s.Create(ctx, ci)
	wantRefused(t, err, "NstanceClusterIssuer", &ci.Spec, pki.IssuerData{Name: ci.Name, Kind: "NstanceClusterIssuer"}, "spec.templates[0].allowedDNSNames[0]")

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}
	if err := k8s.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	iss := &v1alpha1.NstanceIssuer{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns.Name, Labels: ci.Labels}, Spec: clusterIssuer(h.label, "x").Spec}
	if err := k8s.Create(ctx, iss); err != nil {
		t.Fatalf("a valid NstanceIssuer is refused: %v", err)
	}
	iss.Spec.Templates[0].DNS = []string{"{{ .Request.Name }} svc"}
	err = k8s.Update(ctx, iss)
	wantRefused(t, err, "NstanceIssuer", &iss.Spec, pki.IssuerData{Name: iss.Name, Namespace: ns.Name, Kind: "NstanceIssuer"}, "spec.templates[0].dns[0]")

	// An issuer that is invalid already (made before the webhook watched
	// it) can still be relabelled and annotated; the problems come back
	// as warnings.
	old := clusterIssuer("elsewhere", "invalid-before")
	old.Spec.CA.Rotation = &v1alpha1.CARotation{NextSecretName: "ca"}
	if err := k8s.Create(ctx, old); err != nil {
		t.Fatal(err)
	}
	old.Labels["webhook-test"] = h.label
	if err := k8s.Update(ctx, old); err != nil {
		t.Fatalf("a metadata-only update of an invalid issuer is refused: %v", err)
	}
	if got := warnings.take(); len(got) != 1 || !strings.Contains(got[0], "spec.ca.rotation.nextSecretName") {
		t.Errorf("warnings %q, want the issuer's problem", got)
	}
	old.Spec.DefaultTemplate = ""
	if err := k8s.Update(ctx, old); !apierrors.IsInvalid(err) {
		t.Errorf("a spec update of an invalid issuer: %v, want Invalid", err)
	}
}

func TestWarningsAreShownOnApply(t *testing.T) {
	h := startWebhook(t, "warnings", servingcert.Options{})
	ci := clusterIssuer(h.label, "pass-through")
	ci.Spec.DefaultTemplate = ""
	ci.Spec.AllowPassThrough = true
	ci.Spec.Templates[0].AllowedDNSNames = []string{"**"}
	if err := k8s.Create(context.Background(), ci); err != nil {
		t.Fatalf("a legal issuer is refused: %v", err)
	}
	got := warnings.take()
	want := pki.ValidateIssuer(&ci.Spec, pki.IssuerData{Name: ci.Name, Kind: "NstanceClusterIssuer"}).Warnings
	if len(want) != 2 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings shown:\n%s\nwant the validation's:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestManagerDownFollowsTheFailurePolicy(t *testing.T) {
	h := startWebhook(t, "down", servingcert.Options{})
	ctx := context.Background()
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	err := k8s.Create(ctx, clusterIssuer(h.label, "while-down"))
	if err == nil || !strings.Contains(err.Error(), "failed calling webhook") {
		t.Fatalf("with failurePolicy Fail and no webhook: %v, want the call's failure", err)
	}

	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := k8s.Get(ctx, client.ObjectKey{Name: h.config}, cfg); err != nil {
		t.Fatal(err)
	}
	ignore := admissionregistrationv1.Ignore
	for i := range cfg.Webhooks {
		cfg.Webhooks[i].FailurePolicy = &ignore
	}
	if err := k8s.Update(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	broken := clusterIssuer(h.label, "broken-while-down")
	broken.Spec.Templates[0].DNS = []string{"{{"}
	if err := framework.Eventually(ctx, "failurePolicy Ignore to admit", func(ctx context.Context) error {
		return k8s.Create(ctx, broken)
	}); err != nil {
		t.Fatalf("with failurePolicy Ignore and no webhook: %v, want admitted (the controller still refuses it: Ready False)", err)
	}
}

// TestServingCertificateRotatesWithoutAFailedApply runs the CA and the
// serving certificate through two renewals each, with lifetimes of
// seconds, while issuers are applied without a pause: none may fail.
func TestServingCertificateRotatesWithoutAFailedApply(t *testing.T) {
	h := startWebhook(t, "rotation", servingcert.Options{
		CAValidity: 24 * time.Second, LeafValidity: 9 * time.Second, PropagationDelay: 2 * time.Second, Resync: 200 * time.Millisecond,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Which CA signs the certificate the server presents, as a client
	// sees it; three different ones means two CA renewals.
	signers := map[string]bool{}
	served := func() (string, error) {
		conn, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(h.port), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // only reads which CA signed it
		if err != nil {
			return "", err
		}
		defer func() { _ = conn.Close() }()
		sum := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].RawIssuer)
		return hex.EncodeToString(sum[:]), nil
	}
	applies, leaves := 0, map[string]bool{}
	var prev []byte
	for len(signers) < 3 {
		if ctx.Err() != nil {
			t.Fatalf("saw %d CAs sign after %d applies; want 3", len(signers), applies)
		}
		ci := clusterIssuer(h.label, fmt.Sprintf("apply-%d", applies%5))
		err := k8s.Create(ctx, ci)
		if apierrors.IsAlreadyExists(err) {
			err = k8s.Get(ctx, client.ObjectKeyFromObject(ci), ci)
			if err == nil {
				ci.Spec.Vars = map[string]string{"N": strconv.Itoa(applies)}
				err = k8s.Update(ctx, ci)
			}
		}
		if err != nil {
			t.Fatalf("apply %d failed during the rotation: %v", applies, err)
		}
		applies++
		if s, err := served(); err == nil {
			signers[s] = true
		}
		conn, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(h.port), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // only reads the leaf
		if err == nil {
			raw := conn.ConnectionState().PeerCertificates[0].Raw
			if !bytes.Equal(raw, prev) {
				leaves[string(raw)] = true
				prev = raw
			}
			_ = conn.Close()
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(leaves) < 4 {
		t.Errorf("saw %d serving certificates, want the leaf renewed within a CA too", len(leaves))
	}
	t.Logf("%d applies, %d CAs, %d serving certificates, none failed", applies, len(signers), len(leaves))
}
