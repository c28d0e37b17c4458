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

// Package report is the arithmetic and the verdicts that the load harness
// (internal/test/bench) and the fault harness (internal/test/chaos) publish,
// written once: quantiles of samples, rates over a span, goals on measured
// figures and their PASS/MISS tally, and the renderings their tables
// share. It imports nothing but the standard library, so that every rule
// is unit-tested with figures worked out by hand.
package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Quantile is the q-quantile of sorted samples by nearest rank: the
// ceil(q·n)-th smallest, the smallest sample with at least a share q of
// the samples at or below it (so the median of an even number of samples
// is the lower of the middle two). q <= 0 gives the smallest sample, q >=
// 1 the largest; no sample gives the zero value.
func Quantile[T cmp.Ordered](sorted []T, q float64) T {
	var zero T
	n := len(sorted)
	if n == 0 {
		return zero
	}
	// q·n in floating point can land just above a whole number
	// (0.07·100 = 7.000000000000001): round it to 1e-9 first, far finer
	// than any rank.
	rank := int(math.Ceil(math.Round(q*float64(n)*1e9) / 1e9))
	return sorted[min(max(rank, 1), n)-1]
}

// Median is Quantile(sorted, 0.5).
func Median[T cmp.Ordered](sorted []T) T { return Quantile(sorted, 0.5) }

// Rate is count per second over the span from first to last; ok is false
// when the span is not positive: a single moment cannot be timed.
func Rate(count int, first, last time.Time) (perSecond float64, ok bool) {
	span := last.Sub(first).Seconds()
	if span <= 0 {
		return 0, false
	}
	return float64(count) / span, true
}

// Bound is a goal on a measured figure: a ratio to a baseline, or a time
// in seconds. Op is "<=", ">=" or "<".
type Bound struct {
	Op    string
	Limit float64
}

// AtMost is the goal "figure <= limit".
func AtMost(limit float64) Bound { return Bound{"<=", limit} }

// AtLeast is the goal "figure >= limit".
func AtLeast(limit float64) Bound { return Bound{">=", limit} }

// Below is the goal "figure < limit".
func Below(limit float64) Bound { return Bound{"<", limit} }

// ParseBound reads a goal on a ratio as the load harness writes it,
// "ratio <= 1.2", "ratio >= 1.5" or "ratio < 1".
func ParseBound(goal string) (Bound, error) {
	var b Bound
	if _, err := fmt.Sscanf(goal, "ratio %s %g", &b.Op, &b.Limit); err != nil || (b.Op != "<=" && b.Op != ">=" && b.Op != "<") {
		return Bound{}, fmt.Errorf("goal %q is not \"ratio <=|>=|< limit\"", goal)
	}
	return b, nil
}

// Measured reports whether v is a figure the harness took: a rate, a time,
// a size or a ratio of them is positive and finite, and 0 is what a
// figure holds when it could not be taken (a scrape that failed, a
// handover never seen, a run that never finished).
func Measured(v float64) bool { return v > 0 && !math.IsInf(v, 0) }

// Met reports whether v meets the goal. A figure or a limit that is not
// Measured never does: an unmeasured figure is a MISS, not a PASS of a
// "<=" goal.
func (b Bound) Met(v float64) bool {
	if !Measured(v) || !Measured(b.Limit) {
		return false
	}
	switch b.Op {
	case "<=":
		return v <= b.Limit
	case ">=":
		return v >= b.Limit
	case "<":
		return v < b.Limit
	}
	return false
}

// Verdict is how a goal came out, as the tables print it.
func Verdict(pass bool) string {
	if pass {
		return "PASS"
	}
	return "MISS"
}

// Tally counts goals by how they came out.
type Tally struct{ Pass, Miss int }

// Add counts one goal.
func (t *Tally) Add(pass bool) {
	if pass {
		t.Pass++
	} else {
		t.Miss++
	}
}

// String is "<n> PASS, <m> MISS".
func (t Tally) String() string { return fmt.Sprintf("%d PASS, %d MISS", t.Pass, t.Miss) }

// Seconds renders a figure in seconds with two decimals, or "-" when it
// was not taken (0, or not a number).
func Seconds(s float64) string {
	if s == 0 || math.IsNaN(s) {
		return "-"
	}
	return fmt.Sprintf("%.2f", s)
}

// Spread renders figures in seconds as "min / median / max" (Seconds,
// Median); "-" when there are none.
func Spread(v []float64) string {
	if len(v) == 0 {
		return "-"
	}
	v = slices.Sorted(slices.Values(v))
	return strings.Join([]string{Seconds(v[0]), Seconds(Median(v)), Seconds(v[len(v)-1])}, " / ")
}

// Growth is how a per-item cost grew over a sweep: the value at the
// largest point over the value at the smallest (1 = flat). ok is false
// when either was not measured (see Measured).
func Growth(smallest, largest float64) (ratio float64, ok bool) {
	if !Measured(smallest) || math.IsNaN(largest) || math.IsInf(largest, 0) || largest < 0 {
		return 0, false
	}
	return largest / smallest, true
}

// PerItem is a counter's increase from before to after shared over n
// items; ok is false without items or when the counter went back (a
// process restarted between the readings).
func PerItem(before, after float64, n int) (perItem float64, ok bool) {
	if n <= 0 || after < before || math.IsNaN(before) || math.IsNaN(after) {
		return 0, false
	}
	return (after - before) / float64(n), true
}
