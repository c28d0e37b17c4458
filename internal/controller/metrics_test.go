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

package controller

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestMetricNamesAreListedInTheDocs: every exported metric is in the
// metrics table of docs/operations.md, and the list is what is registered.
func TestMetricNamesAreListedInTheDocs(t *testing.T) {
	t.Parallel()
	names := MetricNames()
	if len(names) != len(collectors()) {
		t.Fatalf("MetricNames() = %v: want one name per collector (%d)", names, len(collectors()))
	}
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !strings.HasPrefix(n, "nstance_issuer_") {
			t.Errorf("metric %s lacks the nstance_issuer_ prefix", n)
		}
		if !strings.Contains(string(doc), "| `"+n+"` |") {
			t.Errorf("metric %s is not in the metrics table of docs/operations.md", n)
		}
	}
}

// metricRowRE matches a row of the metrics table of docs/operations.md.
var metricRowRE = regexp.MustCompile("(?m)^\\| `(nstance_issuer_[a-z_]+)` \\|")

// TestMetricsTableListsOnlyRegisteredMetrics: every metric the metrics
// table of docs/operations.md documents is one MetricNames lists (and so
// one registered), so that the chart's PrometheusRule test, which holds
// the alerts to MetricNames, sees every metric an alert may read.
// nstance_issuer_trust_bundle_publish_failures was registered and
// documented but missing from MetricNames until each package listed its
// metrics in one place.
func TestMetricsTableListsOnlyRegisteredMetrics(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := metricRowRE.FindAllStringSubmatch(string(doc), -1)
	if len(rows) == 0 {
		t.Fatal("no metrics table found in docs/operations.md")
	}
	names := MetricNames()
	for _, m := range rows {
		if !slices.Contains(names, m[1]) {
			t.Errorf("docs/operations.md documents %s, which MetricNames() does not list (it lists %v)", m[1], names)
		}
	}
}
