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
	"regexp"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/nstance-dev/nstance-issuer/internal/controller"
	"github.com/nstance-dev/nstance-issuer/internal/controller/carotation"
	"github.com/nstance-dev/nstance-issuer/internal/controller/signing"
)

var (
	// metricRE finds the metric names a PromQL expression reads.
	metricRE = regexp.MustCompile(`\bnstance_issuer_[a-z0-9_]+`)
	// outcomeRE finds the outcome values an expression matches on.
	outcomeRE = regexp.MustCompile(`outcome=~?"([^"]*)"`)
	// stateRE finds the re-issue states an expression matches on.
	stateRE = regexp.MustCompile(`state=~?"([^"]*)"`)
)

// TestChartPrometheusRuleReadsExportedMetrics renders the chart's
// PrometheusRule (off by default) and checks its four alerts, that every
// metric an expression reads is one the controller exports (a histogram's
// _bucket, _sum and _count included), that every outcome it matches on is
// one of the closed set, that each metric is aggregated per issuer, and
// that the values reach the expressions.
func TestChartPrometheusRuleReadsExportedMetrics(t *testing.T) {
	t.Parallel()
	wantNone(t, renderChart(t, "rules", "rules-ns"), "PrometheusRule")

	objs := renderChart(t, "rules", "rules-ns", "--set", "metrics.prometheusRule.enabled=true",
		"--set", "metrics.prometheusRule.caExpiryDays=14", "--set", "metrics.prometheusRule.refusalBurst=7",
		"--set", "metrics.prometheusRule.rotationStuckFor=2h")
	rules := ofKind(objs, "PrometheusRule")
	if len(rules) != 1 {
		t.Fatalf("%d PrometheusRules rendered, want 1", len(rules))
	}
	groups, _, err := unstructured.NestedSlice(rules[0].Object, "spec", "groups")
	if err != nil || len(groups) != 1 {
		t.Fatalf("spec.groups: %d groups, %v; want 1", len(groups), err)
	}
	exported := controller.MetricNames()
	outcomes := []string{signing.OutcomeIssued, signing.OutcomeRefused, signing.OutcomeTemplateError, signing.OutcomeCAUnavailable, signing.OutcomeError}
	states := []string{carotation.ReissueStateReissued, carotation.ReissueStateInProgress, carotation.ReissueStateFailed, carotation.ReissueStatePending}
	alerts := map[string]map[string]any{}
	list, _, _ := unstructured.NestedSlice(groups[0].(map[string]any), "rules")
	for _, r := range list {
		rule := r.(map[string]any)
		name, _ := rule["alert"].(string)
		expr, _ := rule["expr"].(string)
		alerts[name] = rule
		used := metricRE.FindAllString(expr, -1)
		if len(used) == 0 {
			t.Errorf("alert %s reads no nstance_issuer_ metric: %s", name, expr)
		}
		// Each metric is aggregated per issuer: one alert per issuer, not
		// one per replica (or per departed pod whose series linger).
		if n := strings.Count(expr, " by (kind, namespace, name) ("); n < len(used) {
			t.Errorf("alert %s aggregates %d of the %d metrics it reads by (kind, namespace, name): %s", name, n, len(used), expr)
		}
		for _, m := range used {
			base := m
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if trimmed, ok := strings.CutSuffix(m, suffix); ok && slices.Contains(exported, trimmed) {
					base = trimmed
				}
			}
			if !slices.Contains(exported, base) {
				t.Errorf("alert %s reads %s, which the controller does not export (it exports %v)", name, m, exported)
			}
		}
		for _, match := range outcomeRE.FindAllStringSubmatch(expr, -1) {
			for o := range strings.SplitSeq(match[1], "|") {
				if !slices.Contains(outcomes, o) {
					t.Errorf("alert %s matches outcome %q, not one of %v", name, o, outcomes)
				}
			}
		}
		for _, match := range stateRE.FindAllStringSubmatch(expr, -1) {
			for o := range strings.SplitSeq(match[1], "|") {
				if !slices.Contains(states, o) {
					t.Errorf("alert %s matches re-issue state %q, not one of %v", name, o, states)
				}
			}
		}
	}
	var names []string
	for n := range alerts {
		names = append(names, n)
	}
	slices.Sort(names)
	want := []string{"NstanceIssuerCAExpiringSoon", "NstanceIssuerCARotationStuck", "NstanceIssuerRefusalBurst", "NstanceIssuerReissueFailed", "NstanceIssuerTrustBundleNotPublished"}
	if !slices.Equal(names, want) {
		t.Fatalf("alerts %v, want %v", names, want)
	}
	if expr := alerts["NstanceIssuerCAExpiringSoon"]["expr"].(string); !strings.Contains(expr, "< 1209600") {
		t.Errorf("CA expiry alert %q does not use caExpiryDays=14 (1209600 s)", expr)
	}
	if expr := alerts["NstanceIssuerRefusalBurst"]["expr"].(string); !strings.HasSuffix(strings.TrimSpace(expr), "> 7") {
		t.Errorf("refusal burst alert %q does not use refusalBurst=7", expr)
	}
	if f := alerts["NstanceIssuerCARotationStuck"]["for"]; f != "2h" {
		t.Errorf("rotation stuck alert waits %v, want rotationStuckFor=2h", f)
	}
}
