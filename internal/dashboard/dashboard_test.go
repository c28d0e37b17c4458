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

package dashboard

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nstance-dev/nstance-issuer/internal/controller"
)

var update = flag.Bool("update", false, "write the dashboard file (make dashboards)")

// TestDashboardFileIsGenerated holds the committed dashboard to the code
// (`make dashboards` rewrites it).
func TestDashboardFileIsGenerated(t *testing.T) {
	want, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", File)
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run make dashboards", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run make dashboards and commit", File)
	}
}

var metricRE = regexp.MustCompile(`\bnstance_issuer_[a-z0-9_]+`)

// TestDashboardReadsExportedMetrics: every panel has a query and every
// query reads metrics the controller exports; the scrape test on the
// local stack checks the labels against real series.
func TestDashboardReadsExportedMetrics(t *testing.T) {
	t.Parallel()
	queries, err := Queries()
	if err != nil {
		t.Fatal(err)
	}
	exported := controller.MetricNames()
	used := map[string]bool{}
	for _, q := range queries {
		names := metricRE.FindAllString(q.Expr, -1)
		if len(names) == 0 {
			t.Errorf("%s: %q reads no nstance_issuer_ metric", q.Where, q.Expr)
		}
		for _, m := range names {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
			if !slices.Contains(exported, base) {
				t.Errorf("%s reads %s, which the controller does not export", q.Where, m)
			}
			used[base] = true
		}
	}
	for _, m := range exported {
		if !used[m] {
			t.Errorf("metric %s is on no panel of the dashboard", m)
		}
	}
	var d map[string]any
	out, _ := JSON()
	if err := json.Unmarshal(out, &d); err != nil || d["uid"] != UID {
		t.Errorf("the dashboard JSON does not carry its uid: %v", err)
	}
}
