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
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Plots of the scale phase, drawn from the harness's JSON results with
// gonum/plot (make scale; nstance-bench -plot results.json -plot-dir dir):
//
//   - scale-cpu.svg: CPU per certificate against N, the manager's and the
//     API server's, with the CA issuer's lines;
//   - scale-latency.svg: approved→Ready p99 against N in the paced stage
//     (requests arriving at -scale-rate per second), both issuers;
//   - scale-latency-split.svg: that p99 by part (latency_split.go): to
//     the signer's status write, the write, its delivery to a watch;
//   - scale-requests.svg: the manager's API requests per certificate;
//   - scale-memory.svg: the manager's RSS and live heap at rest against
//     the finished requests in the cluster, 5 s after a point's burst and
//     after the restart that follows it;
//   - scale-restart.svg: the manager killed and started again after each
//     point: caches synced and the request waiting at start signed,
//     against the finished requests in the cluster.

// series is one line of a plot.
type series struct {
	name string
	xy   plotter.XYs
}

// scaleSeries are the lines of each plot, from the sweep's points.
func scaleSeries(sw *scaleSweep) map[string][]series {
	// A point where f has no value (ok false: a paced stage that did not
	// run) is left out of the line.
	lineIf := func(name string, f func(p scalePoint) (x, y float64, ok bool)) series {
		s := series{name: name}
		for _, p := range sw.Points {
			if x, y, ok := f(p); ok {
				s.xy = append(s.xy, plotter.XY{X: x, Y: y})
			}
		}
		return s
	}
	line := func(name string, f func(p scalePoint) (x, y float64)) series {
		return lineIf(name, func(p scalePoint) (float64, float64, bool) { x, y := f(p); return x, y, true })
	}
	pacedP99 := func(s func(p scalePoint) *scalePaced) func(p scalePoint) (float64, float64, bool) {
		return func(p scalePoint) (float64, float64, bool) {
			if ps := s(p); ps != nil {
				return float64(p.N), ps.P99Ms, true
			}
			return 0, 0, false
		}
	}
	n := func(p scalePoint) float64 { return float64(p.N) }
	return map[string][]series{
		"scale-cpu": {
			line("nstance-issuer manager", func(p scalePoint) (float64, float64) { return n(p), p.Nstance.SignerCPUMs }),
			line("kube-apiserver, nstance-issuer", func(p scalePoint) (float64, float64) { return n(p), p.Nstance.APIServerCPUMs }),
			line("CA issuer process (with harness)", func(p scalePoint) (float64, float64) { return n(p), p.CAIssuer.SignerCPUMs }),
			line("kube-apiserver, CA issuer", func(p scalePoint) (float64, float64) { return n(p), p.CAIssuer.APIServerCPUMs }),
		},
		"scale-latency": {
			lineIf("nstance-issuer", pacedP99(func(p scalePoint) *scalePaced { return p.Nstance.Paced })),
			lineIf("CA issuer", pacedP99(func(p scalePoint) *scalePaced { return p.CAIssuer.Paced })),
		},
		"scale-latency-split": splitSeries(sw),
		"scale-requests": {
			line("nstance-issuer manager", func(p scalePoint) (float64, float64) { return n(p), p.Nstance.APIRequests }),
		},
		"scale-restart": restartSeries(sw),
		"scale-memory": {
			line("RSS", func(p scalePoint) (float64, float64) { return float64(p.FinishedRequests), p.RSSMiB }),
			line("Go live heap", func(p scalePoint) (float64, float64) { return float64(p.FinishedRequests), p.LiveHeapMiB }),
			lineIf("RSS after a restart", func(p scalePoint) (float64, float64, bool) {
				if rs := p.Restart; rs != nil && rs.RSSMiB > 0 {
					return float64(rs.FinishedRequests), rs.RSSMiB, true
				}
				return 0, 0, false
			}),
			lineIf("Go live heap after a restart", func(p scalePoint) (float64, float64, bool) {
				if rs := p.Restart; rs != nil && rs.RSSMiB > 0 {
					return float64(rs.FinishedRequests), rs.LiveHeapMiB, true
				}
				return 0, 0, false
			}),
		},
	}
}

// splitSeries are the latency split's lines (latency_split.go): each
// part's p99 against N, both issuers; a point without a split (no audit
// log) is left out.
func splitSeries(sw *scaleSweep) []series {
	var out []series
	for _, iss := range []struct {
		label string
		paced func(p scalePoint) *scalePaced
	}{
		{"nstance", func(p scalePoint) *scalePaced { return p.Nstance.Paced }},
		{"CA issuer", func(p scalePoint) *scalePaced { return p.CAIssuer.Paced }},
	} {
		for _, part := range []struct {
			label string
			q     func(s *latencySplit) splitQuantiles
		}{
			{"approved → its write arrives", func(s *latencySplit) splitQuantiles { return s.ToSignerWrite }},
			{"the write (API server, etcd)", func(s *latencySplit) splitQuantiles { return s.Write }},
			{"write done → Ready seen", func(s *latencySplit) splitQuantiles { return s.ReadyDelivery }},
		} {
			l := series{name: iss.label + ": " + part.label}
			for _, p := range sw.Points {
				if ps := iss.paced(p); ps != nil && ps.Split != nil {
					l.xy = append(l.xy, plotter.XY{X: float64(p.N), Y: part.q(ps.Split).P99Ms})
				}
			}
			out = append(out, l)
		}
	}
	return out
}

// restartSeries are the restart plot's lines: caches synced and the
// request waiting at start Ready, against the finished requests.
func restartSeries(sw *scaleSweep) []series {
	synced := series{name: "caches synced, workers running"}
	signed := series{name: "request waiting at start Ready"}
	for _, rs := range sw.restarts() {
		x := float64(rs.FinishedRequests)
		synced.xy = append(synced.xy, plotter.XY{X: x, Y: rs.StartSeconds})
		signed.xy = append(signed.xy, plotter.XY{X: x, Y: rs.FirstSignedSeconds})
	}
	return []series{synced, signed}
}

// plotLabels are each plot's title and axes.
var plotLabels = map[string][3]string{
	"scale-cpu":           {"CPU per certificate", "N (requests per point)", "ms per certificate"},
	"scale-latency":       {"approved→Ready p99, requests arriving at a paced rate", "N (requests per point)", "ms"},
	"scale-latency-split": {"approved→Ready p99 by part (API server audit log), paced rate", "N (requests per point)", "ms"},
	"scale-requests":      {"manager API requests per certificate", "N (requests per point)", "requests"},
	"scale-memory":        {"manager memory at rest", "finished CertificateRequests in the cluster", "MiB"},
	"scale-restart":       {"manager restart with a full cache", "finished CertificateRequests in the cluster", "seconds after the process starts"},
}

// Plot draws the scale phase's plots from the JSON results at path into
// dir, as SVG files, and returns their paths.
func Plot(path, dir string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.Sweep == nil || len(r.Sweep.Points) == 0 {
		return nil, errors.New(path + " holds no scale points: run with -scale-points")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var out []string
	for name, lines := range scaleSeries(r.Sweep) {
		labels := plotLabels[name]
		p := plot.New()
		p.Title.Text = labels[0]
		p.X.Label.Text = labels[1]
		p.Y.Label.Text = labels[2]
		p.Y.Min = 0
		var args []any
		for _, l := range lines {
			if len(l.xy) > 0 {
				args = append(args, l.name, l.xy)
			}
		}
		if err := plotutil.AddLinePoints(p, args...); err != nil {
			return nil, err
		}
		p.Legend.Top = true
		file := filepath.Join(dir, name+".svg")
		if err := p.Save(6*vg.Inch, 3.5*vg.Inch, file); err != nil {
			return nil, err
		}
		out = append(out, file)
	}
	return out, nil
}
