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
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/dashboard"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
	"github.com/nstance-dev/nstance-issuer/internal/test/localstack"
)

// TestChartShipsTheDashboard renders the optional ConfigMap: the
// generated dashboard, with the sidecar's label.
func TestChartShipsTheDashboard(t *testing.T) {
	t.Parallel()
	wantNone(t, renderChart(t, "dash", "dash-ns"), "ConfigMap")
	objs := renderChart(t, "dash", "dash-ns", "--set", "metrics.dashboard.enabled=true", "--set", "metrics.dashboard.namespace=grafana")
	cm := only(t, objs, "ConfigMap")
	if cm.GetNamespace() != "grafana" || cm.GetLabels()["grafana_dashboard"] != "1" {
		t.Errorf("ConfigMap %s/%s labels %v: want namespace grafana and grafana_dashboard=1", cm.GetNamespace(), cm.GetName(), cm.GetLabels())
	}
	got, _, _ := unstructured.NestedString(cm.Object, "data", "nstance-issuer.json")
	want, err := dashboard.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(got) != strings.TrimSpace(string(want)) {
		t.Errorf("the ConfigMap does not hold the generated dashboard (run make dashboards)")
	}
}

// TestDashboardAndAlertsReadRealSeries runs the manager binary on the
// local stack with cert-manager, issues a certificate, refuses one,
// rotates a CA with rotate-now (which re-issues), scrapes the manager's
// /metrics, and checks every query of the dashboard and every alert of
// the chart's PrometheusRule against the series it exported: each names
// metrics that have series, matchers that select some, and labels (in
// by/without lists, legends and alert texts) that they carry.
func TestDashboardAndAlertsReadRealSeries(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "nstance-issuer")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, repoRoot+"/cmd/nstance-issuer")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	stack, err := localstack.Start(ctx, localstack.Options{
		RepoRoot: repoRoot, CertManager: true, ManagerBinary: bin, ManagerLogDir: t.TempDir(),
		// Rotate at once, re-issue at once.
		ManagerArgs: []string{"--ca-generation-min-interval=0", "--reissue-interval=1s"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stack.Stop() })
	c := stack.Client

	iss := &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: "observed"},
		Spec: v1alpha1.IssuerSpec{
			CA: v1alpha1.CASpec{
				SecretName: "observed-ca", Generate: &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "Observed CA"}},
				Rotation:    &v1alpha1.CARotation{PropagationDelay: &metav1.Duration{}},
				TrustBundle: &v1alpha1.TrustBundle{ConfigMap: &v1alpha1.ConfigMapBundle{Name: "observed-bundle"}},
			},
			DefaultTemplate: "web",
			Templates:       []v1alpha1.CertificateTemplate{{Name: "web", AllowedDNSNames: []string{"*.default.example.com"}, TTL: 720}},
		},
	}
	if err := c.Create(ctx, iss); err != nil {
		t.Fatal(err)
	}
	if err := framework.Eventually(ctx, "the issuer to be Ready", framework.IssuerReadyIs(c, iss, metav1.ConditionTrue, "")); err != nil {
		t.Fatal(err)
	}
	ref := cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "NstanceClusterIssuer", Name: iss.Name}
	issued := &cmapi.Certificate{ObjectMeta: metav1.ObjectMeta{Name: "issued", Namespace: "default"},
		Spec: cmapi.CertificateSpec{SecretName: "issued", IssuerRef: ref, DNSNames: []string{"a.default.example.com"}}}
	refused := &cmapi.Certificate{ObjectMeta: metav1.ObjectMeta{Name: "refused", Namespace: "default"},
		Spec: cmapi.CertificateSpec{SecretName: "refused", IssuerRef: ref, DNSNames: []string{"a.example.org"}}}
	for _, o := range []client.Object{issued, refused} {
		if err := c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if err := framework.Eventually(ctx, "a certificate issued", framework.CertificateReady(c, client.ObjectKeyFromObject(issued), &cmapi.Certificate{})); err != nil {
		t.Fatal(err)
	}

	// Rotate: the next CA takes over at once and the Certificate it did
	// not sign is re-issued.
	if err := c.Get(ctx, client.ObjectKeyFromObject(iss), iss); err != nil {
		t.Fatal(err)
	}
	iss.Annotations = map[string]string{v1alpha1.RotateNowAnnotation: "dashboard-test"}
	if err := c.Update(ctx, iss); err != nil {
		t.Fatal(err)
	}
	var gens []v1alpha1.CAGeneration
	if err := framework.Eventually(ctx, "the rotation to retire the first CA",
		framework.RotationReached(c, iss, &gens, v1alpha1.CARotationRetiring, v1alpha1.CAGenerationIssuing, v1alpha1.CAGenerationRetiring)); err != nil {
		t.Fatal(err)
	}

	// Every metric the dashboard and the alerts read has series once the
	// manager issued, refused and rotated.
	queries, err := dashboard.Queries()
	if err != nil {
		t.Fatal(err)
	}
	rules := prometheusRules(t)
	var series dashboard.Series
	var last error
	if err := framework.Eventually(ctx, "the scrape to hold every series the dashboard and the alerts read", func(ctx context.Context) error {
		if series, err = scrape(ctx, stack.ManagerMetricsURL()); err != nil {
			return err
		}
		var problems []string
		for _, q := range queries {
			if q.NeedsKeyBackend() {
				continue // internal/controller/cakeysuite checks these against a manager signing with AWS KMS keys
			}
			for _, p := range series.Check(q.Expr, q.Legend) {
				problems = append(problems, q.Where+": "+p)
			}
		}
		for _, r := range rules {
			for _, p := range series.Check(r.expr, r.text) {
				problems = append(problems, "alert "+r.name+": "+p)
			}
		}
		if len(problems) > 0 {
			last = fmt.Errorf("%d problems:\n%s", len(problems), strings.Join(problems, "\n"))
			return last
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\nlast scrape: %v", err, last)
	}
}

type rule struct{ name, expr, text string }

// prometheusRules are the alerts of the chart's PrometheusRule: each
// expression, and its summary and description (which read $labels).
func prometheusRules(t *testing.T) []rule {
	t.Helper()
	objs := renderChart(t, "rules", "rules-ns", "--set", "metrics.prometheusRule.enabled=true")
	groups, _, _ := unstructured.NestedSlice(only(t, objs, "PrometheusRule").Object, "spec", "groups")
	var out []rule
	for _, g := range groups {
		list, _, _ := unstructured.NestedSlice(g.(map[string]any), "rules")
		for _, r := range list {
			m := r.(map[string]any)
			name, _ := m["alert"].(string)
			expr, _ := m["expr"].(string)
			summary, _, _ := unstructured.NestedString(m, "annotations", "summary")
			description, _, _ := unstructured.NestedString(m, "annotations", "description")
			out = append(out, rule{name, expr, summary + "\n" + description})
		}
	}
	if len(out) == 0 {
		t.Fatal("the PrometheusRule has no alerts")
	}
	return out
}

func scrape(ctx context.Context, url string) (dashboard.Series, error) {
	if url == "" {
		return nil, fmt.Errorf("the manager serves no metrics")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return dashboard.ParseSeries(resp.Body)
}
