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
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotter"
)

// The plots are drawn from the JSON the harness writes, small enough to
// commit, and a results file without a sweep says what to run.
func TestPlotDrawsTheSweepFromItsJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := results{Sweep: &scaleSweep{Points: []scalePoint{
		{N: 1000, Nstance: scaleSigning{Throughput: 50, P99Ms: 900, SignerCPUMs: 3.2, APIServerCPUMs: 15, APIRequests: 2.1, Paced: &scalePaced{Rate: 40, Held: true, P99Ms: 300}},
			CAIssuer: scaleSigning{Throughput: 40, P99Ms: 12000, SignerCPUMs: 7, APIServerCPUMs: 20, Paced: &scalePaced{Rate: 40, Held: true, P99Ms: 500}}, FinishedRequests: 3000, RSSMiB: 65, LiveHeapMiB: 9},
		{N: 3000, Nstance: scaleSigning{Throughput: 52, P99Ms: 950, SignerCPUMs: 3.3, APIServerCPUMs: 15.5, APIRequests: 2.05, Paced: &scalePaced{Rate: 40, Held: true, P99Ms: 320}},
			CAIssuer: scaleSigning{Throughput: 41, P99Ms: 30000, SignerCPUMs: 7.2, APIServerCPUMs: 21, Paced: &scalePaced{Rate: 40, Held: true, P99Ms: 550}}, FinishedRequests: 12000, RSSMiB: 75, LiveHeapMiB: 14},
	}}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "scale.json")
	if err := os.WriteFile(in, b, 0o600); err != nil {
		t.Fatal(err)
	}
	files, err := Plot(in, filepath.Join(dir, "plots"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(plotLabels) {
		t.Errorf("%d plots, want %d", len(files), len(plotLabels))
	}
	for _, f := range files {
		svg, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(svg) > 200<<10 {
			t.Errorf("%s is %d bytes: too large to review", f, len(svg))
		}
		var doc struct {
			XMLName xml.Name `xml:"svg"`
		}
		if err := xml.Unmarshal(svg, &doc); err != nil || doc.XMLName.Local != "svg" {
			t.Errorf("%s is not an SVG document: %v", f, err)
		}
	}

	// A sweep from before the paced stage (no paced figures) still draws,
	// with no latency line.
	old := results{Sweep: &scaleSweep{Points: []scalePoint{{N: 10, Nstance: scaleSigning{P99Ms: 5}}, {N: 20, Nstance: scaleSigning{P99Ms: 9}}}}}
	if b, err = json.Marshal(old); err != nil {
		t.Fatal(err)
	}
	oldIn := filepath.Join(dir, "old.json")
	if err := os.WriteFile(oldIn, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Plot(oldIn, filepath.Join(dir, "old")); err != nil {
		t.Errorf("a sweep without paced figures: %v", err)
	}

	empty := filepath.Join(dir, "empty.json")
	if err := os.WriteFile(empty, []byte(`{"figures":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Plot(empty, dir); err == nil || !strings.Contains(err.Error(), "-scale-points") {
		t.Errorf("a results file without a sweep: %v, want an error naming -scale-points", err)
	}
}

// The latency plot is the paced stage's p99, both issuers, not the
// unpaced stage's (a queue); a point without a paced stage is left out.
func TestScaleLatencyLinesArePacedP99(t *testing.T) {
	t.Parallel()
	sw := &scaleSweep{Points: []scalePoint{
		{N: 1000, Nstance: scaleSigning{P99Ms: 900, Paced: &scalePaced{P99Ms: 300}}, CAIssuer: scaleSigning{P99Ms: 9000, Paced: &scalePaced{P99Ms: 500}}},
		{N: 3000, Nstance: scaleSigning{P99Ms: 2700}, CAIssuer: scaleSigning{P99Ms: 27000}},
		{N: 10000, Nstance: scaleSigning{P99Ms: 9000, Paced: &scalePaced{P99Ms: 330}}, CAIssuer: scaleSigning{P99Ms: 90000, Paced: &scalePaced{P99Ms: 560}}},
	}}
	want := map[string]plotter.XYs{
		"nstance-issuer": {{X: 1000, Y: 300}, {X: 10000, Y: 330}},
		"CA issuer":      {{X: 1000, Y: 500}, {X: 10000, Y: 560}},
	}
	lines := scaleSeries(sw)["scale-latency"]
	checkLines(t, lines, want)
}

// checkLines compares a plot's lines with the points wanted per name.
func checkLines(t *testing.T, lines []series, want map[string]plotter.XYs) {
	t.Helper()
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d", len(lines), len(want))
	}
	for _, l := range lines {
		if !slices.Equal(l.xy, want[l.name]) {
			t.Errorf("line %q = %v, want %v", l.name, l.xy, want[l.name])
		}
	}
}

// The split plot has each part's p99 per issuer; a point whose paced
// stage had no audit log (no split) is left out of every line.
func TestScaleLatencySplitLines(t *testing.T) {
	t.Parallel()
	split := func(signer, write, ready float64) *latencySplit {
		return &latencySplit{ToSignerWrite: splitQuantiles{P99Ms: signer}, Write: splitQuantiles{P99Ms: write}, ReadyDelivery: splitQuantiles{P99Ms: ready}}
	}
	sw := &scaleSweep{Points: []scalePoint{
		{N: 1000, Nstance: scaleSigning{Paced: &scalePaced{Split: split(5, 10, 3)}}, CAIssuer: scaleSigning{Paced: &scalePaced{Split: split(100, 20, 6)}}},
		{N: 3000, Nstance: scaleSigning{Paced: &scalePaced{}}, CAIssuer: scaleSigning{Paced: &scalePaced{}}},
		{N: 10000, Nstance: scaleSigning{Paced: &scalePaced{Split: split(6, 90, 40)}}, CAIssuer: scaleSigning{Paced: &scalePaced{Split: split(300, 100, 50)}}},
	}}
	want := map[string]plotter.XYs{
		"nstance: approved → its write arrives":   {{X: 1000, Y: 5}, {X: 10000, Y: 6}},
		"nstance: the write (API server, etcd)":   {{X: 1000, Y: 10}, {X: 10000, Y: 90}},
		"nstance: write done → Ready seen":        {{X: 1000, Y: 3}, {X: 10000, Y: 40}},
		"CA issuer: approved → its write arrives": {{X: 1000, Y: 100}, {X: 10000, Y: 300}},
		"CA issuer: the write (API server, etcd)": {{X: 1000, Y: 20}, {X: 10000, Y: 100}},
		"CA issuer: write done → Ready seen":      {{X: 1000, Y: 6}, {X: 10000, Y: 50}},
	}
	lines := scaleSeries(sw)["scale-latency-split"]
	checkLines(t, lines, want)
}

// The restart plot has a point per restart, against the finished requests
// each found; results from before restarts were per point (one, in the
// sweep) still give their one.
func TestRestartSeriesHasAPointPerRestart(t *testing.T) {
	t.Parallel()
	perPoint := &scaleSweep{Points: []scalePoint{
		{N: 1000, Restart: &scaleRestart{FinishedRequests: 5001, StartSeconds: 1.5, FirstSignedSeconds: 2}},
		{N: 3000, Restart: &scaleRestart{FinishedRequests: 20002, StartSeconds: 4, FirstSignedSeconds: 5}},
	}}
	perPoint.Restart = perPoint.Points[1].Restart
	older := &scaleSweep{Points: []scalePoint{{N: 10}, {N: 20}}, Restart: &scaleRestart{FinishedRequests: 60, StartSeconds: 0.5, FirstSignedSeconds: 0.7}}
	for _, tc := range []struct {
		name         string
		sw           *scaleSweep
		synced, sign plotter.XYs
	}{
		{"a restart at every point gives a point each", perPoint, plotter.XYs{{X: 5001, Y: 1.5}, {X: 20002, Y: 4}}, plotter.XYs{{X: 5001, Y: 2}, {X: 20002, Y: 5}}},
		{"results with one restart after the last point give that one", older, plotter.XYs{{X: 60, Y: 0.5}}, plotter.XYs{{X: 60, Y: 0.7}}},
		{"a sweep without restarts gives empty lines", &scaleSweep{Points: []scalePoint{{N: 10}}}, nil, nil},
	} {
		got := restartSeries(tc.sw)
		if len(got) != 2 || !slices.Equal(got[0].xy, tc.synced) || !slices.Equal(got[1].xy, tc.sign) {
			t.Errorf("%s: got %+v", tc.name, got)
		}
	}
}
