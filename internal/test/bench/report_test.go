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
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/smoke.txt from testdata/smoke.json")

// smokeReport is the report of a `make bench-smoke` run, as its results
// file holds it.
func smokeReport(t *testing.T) *results {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "smoke.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r results
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
	var r results
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

// TestAddScoresGoals: how a figure's ratio to its baseline meets its goal,
// by hand.
func TestAddScoresGoals(t *testing.T) {
	t.Parallel()
	type want struct {
		ratio   any // nil: no ratio
		pass    any // nil: no verdict
		errored bool
	}
	for _, tc := range []struct {
		name             string
		value, baseValue float64
		baseline, goal   string
		want             want
		wantNotMeasured  bool
	}{
		{name: "a ratio equal to a >= goal's limit passes", value: 150, baseValue: 100, baseline: "CA issuer", goal: "ratio >= 1.5", want: want{ratio: 1.5, pass: true}},
		{name: "a ratio just below a >= goal's limit misses", value: 149.9, baseValue: 100, baseline: "CA issuer", goal: "ratio >= 1.5", want: want{ratio: 1.499, pass: false}},
		{name: "a ratio is scored as printed, rounded to three decimals", value: 149.96, baseValue: 100, baseline: "CA issuer", goal: "ratio >= 1.5", want: want{ratio: 1.5, pass: true}},
		{name: "a ratio equal to a <= goal's limit passes", value: 120, baseValue: 100, baseline: "0 Secrets", goal: "ratio <= 1.2", want: want{ratio: 1.2, pass: true}},
		{name: "a < goal is strict", value: 100, baseValue: 100, baseline: "CA issuer", goal: "ratio < 1", want: want{ratio: 1.0, pass: false}},
		{name: "a figure without a goal has a ratio and no verdict", value: 110, baseValue: 100, baseline: "CA issuer", want: want{ratio: 1.1}},
		{name: "a figure without a baseline has neither", value: 110, want: want{}},
		{name: "a value of 0 was not measured: it misses a <= goal", value: 0, baseValue: 56.918, baseline: "0 Secrets", goal: "ratio <= 1.2",
			want: want{ratio: 0.0, pass: false}, wantNotMeasured: true},
		{name: "a baseline of 0 was not measured: the goal misses, it is not dropped", value: 13.5, baseValue: 0, baseline: "0 Secrets", goal: "ratio <= 1.2",
			want: want{pass: false}, wantNotMeasured: true},
		{name: "a value that is not a number misses", value: math.NaN(), baseValue: 100, baseline: "CA issuer", goal: "ratio <= 1.0",
			want: want{pass: false}, wantNotMeasured: true},
		{name: "a goal the report cannot read is an error of the run", value: 120, baseValue: 100, baseline: "CA issuer", goal: "ratio > 1",
			want: want{ratio: 1.2, pass: false, errored: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var r results
			r.add("figure", tc.value, "/s", tc.baseline, tc.baseValue, tc.goal, "")
			f := r.Figures[0]
			if got := deref(f.Ratio); got != tc.want.ratio {
				t.Errorf("ratio %v, want %v", got, tc.want.ratio)
			}
			if got := deref(f.Pass); got != tc.want.pass {
				t.Errorf("pass %v, want %v", got, tc.want.pass)
			}
			if errored := len(r.Errors) > 0; errored != tc.want.errored {
				t.Errorf("errors %q, want some: %t", r.Errors, tc.want.errored)
			}
			if notMeasured := strings.Contains(f.line(), "not measured"); notMeasured != tc.wantNotMeasured {
				t.Errorf("line %q says 'not measured': %t, want %t", f.line(), notMeasured, tc.wantNotMeasured)
			}
		})
	}
}

// TestPrintTalliesEveryGoal: the summary counts each goal once, a goal
// that could not be evaluated among the MISSes.
func TestPrintTalliesEveryGoal(t *testing.T) {
	t.Parallel()
	var r results
	r.add("met", 150, "/s", "CA issuer", 100, "ratio >= 1.5", "")
	r.add("missed", 100, "/s", "CA issuer", 100, "ratio >= 1.5", "")
	r.add("not measured", 10, "MiB", "0 Secrets", 0, "ratio <= 1.2", "")
	r.add("no goal", 10, "MiB", "0 Secrets", 10, "", "")
	var out bytes.Buffer
	r.print(&out)
	if want := "goals: 1 PASS, 2 MISS (reported, not asserted)"; !strings.Contains(out.String(), want) {
		t.Errorf("summary:\n%s\nwant %q", out.String(), want)
	}
}

// The sweep's latency growth is the paced stage's p99, with the issue's
// goal only when the harness held the arrival rate at both points; a
// point it could not pace says so in the figure's name.
func TestScaleReportPacedLatency(t *testing.T) {
	t.Parallel()
	point := func(n int, held bool, p99 float64) scalePoint {
		return scalePoint{N: n,
			Nstance:  scaleSigning{P99Ms: float64(n), Paced: &scalePaced{Rate: 40, ArrivalRate: 39.5, Held: held, P99Ms: p99, Timed: n}},
			CAIssuer: scaleSigning{P99Ms: float64(10 * n), Paced: &scalePaced{Rate: 40, ArrivalRate: 39.8, Held: true, P99Ms: 2 * p99, Timed: n}}}
	}
	growthOf := func(r *results) *figure {
		for i, f := range r.Figures {
			if strings.HasPrefix(f.Name, "scale growth") && strings.Contains(f.Name, "nstance approved→Ready p99") {
				return &r.Figures[i]
			}
		}
		return nil
	}
	for _, tc := range []struct {
		name        string
		first, last scalePoint
		goal        bool
		notHeld     bool
		ratio       float64
	}{
		{name: "both points held: the paced p99's growth carries the 1.15× goal", first: point(1000, true, 400), last: point(10000, true, 420), goal: true, ratio: 1.05},
		{name: "a point the harness could not pace: no goal, and the name says it was not held", first: point(1000, true, 400), last: point(10000, false, 4000), notHeld: true, ratio: 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &results{}
			(&scaleSweep{Points: []scalePoint{tc.first, tc.last}}).report(r)
			f := growthOf(r)
			if f == nil {
				t.Fatalf("no growth figure of the paced p99 in %v", r.Figures)
			}
			if f.Ratio == nil || math.Abs(*f.Ratio-tc.ratio) > 1e-3 {
				t.Errorf("%s: ratio %v, want %g (the paced p99's, not the unpaced stage's)", f.Name, f.Ratio, tc.ratio)
			}
			if (f.Goal != "") != tc.goal {
				t.Errorf("%s: goal %q, want one: %t", f.Name, f.Goal, tc.goal)
			}
			if strings.Contains(f.Name, "NOT held") != tc.notHeld {
				t.Errorf("%q: want it to say the rate was not held: %t", f.Name, tc.notHeld)
			}
		})
	}
}
