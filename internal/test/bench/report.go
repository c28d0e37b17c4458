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
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
	"github.com/nstance-dev/nstance-issuer/internal/test/report"
)

// figure is one measured value, its baseline and its goal.
type figure struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	// Baseline names what Value is compared with and BaselineValue is its
	// value; Ratio = Value / BaselineValue.
	Baseline      string   `json:"baseline,omitempty"`
	BaselineValue float64  `json:"baselineValue,omitempty"`
	Ratio         *float64 `json:"ratio,omitempty"`
	// Goal is the target, e.g. "ratio <= 1.0"; Pass is whether it
	// was met this run. Goals are reported, never asserted.
	Goal string `json:"goal,omitempty"`
	Pass *bool  `json:"pass,omitempty"`
	// NotMeasured: the goal missed because the value or its baseline was
	// not taken (0 or NaN).
	NotMeasured bool   `json:"notMeasured,omitempty"`
	Note        string `json:"note,omitempty"`
}

type runMeta struct {
	N               int       `json:"n"`
	ManagerArgs     []string  `json:"managerArgs,omitempty"`
	RawPatches      int       `json:"rawPatches"`
	SmallSecrets    int       `json:"smallSecrets"`
	SmallSecretSize int       `json:"smallSecretSize"`
	LargeSecrets    int       `json:"largeSecrets"`
	LargeSecretSize int       `json:"largeSecretSize"`
	Started         time.Time `json:"started"`
	Seconds         float64   `json:"seconds"`
}

type results struct {
	Meta    runMeta  `json:"meta"`
	Figures []figure `json:"figures"`
	// Sweep is the scale phase's points, for plots (-plot).
	Sweep  *scaleSweep `json:"sweep,omitempty"`
	Errors []string    `json:"errors,omitempty"`

	// floorRate is the signer floor (an SSA status patch and an Event per
	// certificate) and rawRate the merge status-patch rate, both with the
	// manager's client settings; 0 when the raw phase did not run.
	floorRate float64
	rawRate   float64
}

// add records a figure. With a baseline, ratio = value/baseline; goal is
// "ratio <= x", "ratio >= x" or "ratio < x" (or "" for none). A goal is
// always scored: a value or baseline of 0 (or NaN) is one the harness
// could not take (a scrape that failed, say), never a real rate, duration
// or size, and misses its goal, saying so, rather than pass a "<=" goal
// or drop out of the tally. A goal that cannot be read is an error of the
// run.
func (r *results) add(name string, value float64, unit, baseline string, baseValue float64, goal, note string) {
	f := figure{Name: name, Value: round(value), Unit: unit, Baseline: baseline, BaselineValue: round(baseValue), Goal: goal, Note: note}
	if baseline != "" && baseValue != 0 && !math.IsNaN(value) {
		ratio := round(value / baseValue)
		f.Ratio = &ratio
	}
	if goal != "" {
		b, err := report.ParseBound(goal)
		if err != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("figure %q: %v", name, err))
		}
		pass := f.Ratio != nil && b.Met(*f.Ratio)
		f.NotMeasured = f.Ratio == nil || !report.Measured(*f.Ratio)
		f.Pass = &pass
	}
	r.Figures = append(r.Figures, f)
	harness.Logf("%s", f.line())
}

func round(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Round(v*1000) / 1000
}

func (f figure) line() string {
	s := fmt.Sprintf("%-52s %12.3f %-6s", f.Name, f.Value, f.Unit)
	if f.Ratio != nil {
		s += fmt.Sprintf("  %6.3fx %s", *f.Ratio, f.Baseline)
	}
	if f.Pass != nil {
		verdict := report.Verdict(*f.Pass)
		if f.NotMeasured {
			s += fmt.Sprintf("  [%s: %s; not measured]", verdict, f.Goal)
		} else {
			s += fmt.Sprintf("  [%s: %s]", verdict, f.Goal)
		}
	}
	if f.Note != "" {
		s += "  (" + f.Note + ")"
	}
	return s
}

func (r *results) print(out io.Writer) {
	w := &strings.Builder{}
	fmt.Fprintf(w, "\nnstance-bench N=%d (%s)\n%s\n", r.Meta.N, r.Meta.Started.Format(time.RFC3339), strings.Repeat("-", 100))
	for _, f := range r.Figures {
		fmt.Fprintln(w, f.line())
	}
	var goals report.Tally
	for _, f := range r.Figures {
		if f.Pass != nil {
			goals.Add(*f.Pass)
		}
	}
	fmt.Fprintf(w, "%s\ngoals: %s (reported, not asserted)\n", strings.Repeat("-", 100), goals)
	for _, e := range r.Errors {
		fmt.Fprintln(w, "ERROR:", e)
	}
	_, _ = io.WriteString(out, w.String())
}
