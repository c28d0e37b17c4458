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

package bench

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/smoke.txt from testdata/smoke.json")

// smokeReport is the report of a `make bench-smoke` run, as its results
// file holds it.
func smokeReport(t *testing.T) *report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "smoke.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// TestPrintKeepsThePublishedTable: the figures of a `make bench-smoke`
// results file print as the table that run printed (testdata/smoke.txt):
// what docs/performance.md quotes.
func TestPrintKeepsThePublishedTable(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	smokeReport(t).print(&out)
	golden := filepath.Join("testdata", "smoke.txt")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("the table changed:\n%s\nwant (testdata/smoke.txt):\n%s", out.Bytes(), want)
	}
}

// TestAddScoresThePublishedFigures: every figure of a `make bench-smoke`
// results file, added again from its value, baseline and goal, gets the
// ratio and the verdict that run published.
func TestAddScoresThePublishedFigures(t *testing.T) {
	t.Parallel()
	published := smokeReport(t)
	var r report
	for _, f := range published.Figures {
		r.add(f.Name, f.Value, f.Unit, f.Baseline, f.BaselineValue, f.Goal, f.Note)
	}
	if len(r.Figures) != len(published.Figures) {
		t.Fatalf("%d figures, want %d", len(r.Figures), len(published.Figures))
	}
	for i, got := range r.Figures {
		want := published.Figures[i]
		if (got.Ratio == nil) != (want.Ratio == nil) || got.Ratio != nil && abs(*got.Ratio-*want.Ratio) > 0.0015 {
			t.Errorf("%s: ratio %v, want %v", want.Name, deref(got.Ratio), deref(want.Ratio))
		}
		if (got.Pass == nil) != (want.Pass == nil) || got.Pass != nil && *got.Pass != *want.Pass {
			t.Errorf("%s: pass %v, want %v", want.Name, deref(got.Pass), deref(want.Pass))
		}
	}
}

func abs(v float64) float64 { return max(v, -v) }

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
