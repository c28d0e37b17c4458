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

package report

import (
	"math"
	"testing"
	"time"
)

func ms(v ...int) []time.Duration {
	d := make([]time.Duration, len(v))
	for i, x := range v {
		d[i] = time.Duration(x) * time.Millisecond
	}
	return d
}

func TestQuantile(t *testing.T) {
	t.Parallel()
	twenty := ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20)
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"with no sample, every quantile is 0", nil, 0.5, 0},
		{"with one sample, every quantile is that sample", ms(42), 0.99, 42 * time.Millisecond},
		{"with one sample, the median is that sample", ms(42), 0.5, 42 * time.Millisecond},
		{"the median of an odd count is the middle sample", ms(1, 2, 3), 0.5, 2 * time.Millisecond},
		{"the median of an even count is the lower middle sample (nearest rank)", ms(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{"p95 of 20 samples is the 19th", twenty, 0.95, 19 * time.Millisecond},
		{"p99 of 20 samples is the 20th", twenty, 0.99, 20 * time.Millisecond},
		{"p50 of 20 samples is the 10th", twenty, 0.5, 10 * time.Millisecond},
		{"p99 of 100 samples is the 99th", hundred, 0.99, 99 * time.Millisecond},
		{"p7 of 100 samples is the 7th, though 0.07·100 is 7.000000000000001 in floating point", hundred, 0.07, 7 * time.Millisecond},
		{"ties are samples like any other", ms(5, 5, 5, 9), 0.75, 5 * time.Millisecond},
		{"q above 1 is the largest sample", ms(1, 2), 1.5, 2 * time.Millisecond},
		{"q of 0 is the smallest sample", ms(1, 2), 0, 1 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Quantile(tc.sorted, tc.q); got != tc.want {
				t.Errorf("Quantile(%v, %g) = %v, want %v", tc.sorted, tc.q, got, tc.want)
			}
		})
	}
}

func TestRate(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 6, 18, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name        string
		count       int
		first, last time.Time
		want        float64
		ok          bool
	}{
		{"20 in 4 s is 5 per second", 20, t0, t0.Add(4 * time.Second), 5, true},
		{"1000 in 7.2 s", 1000, t0, t0.Add(7200 * time.Millisecond), 1000 / 7.2, true},
		{"everything at one instant cannot be timed", 20, t0, t0, 0, false},
		{"a span that runs backwards cannot be timed", 20, t0.Add(time.Second), t0, 0, false},
		{"none in 2 s is 0 per second", 0, t0, t0.Add(2 * time.Second), 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := Rate(tc.count, tc.first, tc.last)
			if ok != tc.ok || math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("Rate = %g, %t; want %g, %t", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestBound(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		b    Bound
		v    float64
		want bool
	}{
		{"a figure at an at-most limit meets it", AtMost(1.2), 1.2, true},
		{"a figure over an at-most limit misses", AtMost(1.2), 1.201, false},
		{"a figure at an at-least limit meets it", AtLeast(1.5), 1.5, true},
		{"a figure under an at-least limit misses", AtLeast(1.5), 1.499, false},
		{"a below limit is strict", Below(1), 1, false},
		{"a figure under a below limit meets it", Below(1), 0.999, true},
		{"a figure of 0 was not measured: it misses an at-most goal", AtMost(1.2), 0, false},
		{"a negative figure is not a measurement", AtMost(1.2), -1, false},
		{"a figure that is not a number misses", AtMost(1.2), math.NaN(), false},
		{"an infinite figure misses an at-least goal", AtLeast(1.5), math.Inf(1), false},
		{"a limit of 0 (a baseline not measured) is met by nothing", AtMost(0), 0.5, false},
		{"an unknown operator is met by nothing", Bound{">", 1}, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.b.Met(tc.v); got != tc.want {
				t.Errorf("%+v.Met(%g) = %t, want %t", tc.b, tc.v, got, tc.want)
			}
		})
	}
}

func TestParseBound(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		goal    string
		want    Bound
		wantErr bool
	}{
		{goal: "ratio <= 1.2", want: AtMost(1.2)},
		{goal: "ratio >= 1.5", want: AtLeast(1.5)},
		{goal: "ratio < 1", want: Below(1)},
		{goal: "ratio <= 1.0", want: AtMost(1)},
		{goal: "ratio > 1", wantErr: true},
		{goal: "time <= 2", wantErr: true},
		{goal: "ratio <=", wantErr: true},
		{goal: "", wantErr: true},
	} {
		t.Run(tc.goal, func(t *testing.T) {
			t.Parallel()
			got, err := ParseBound(tc.goal)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("ParseBound(%q) = %+v, %v; want %+v, error %t", tc.goal, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestTally(t *testing.T) {
	t.Parallel()
	var tally Tally
	if got := tally.String(); got != "0 PASS, 0 MISS" {
		t.Errorf("no goal: %q", got)
	}
	for _, pass := range []bool{true, false, true, true} {
		tally.Add(pass)
	}
	if got := tally.String(); got != "3 PASS, 1 MISS" {
		t.Errorf("three met and one missed: %q", got)
	}
	if Verdict(true) != "PASS" || Verdict(false) != "MISS" {
		t.Errorf("verdicts %q, %q", Verdict(true), Verdict(false))
	}
}

func TestSecondsAndSpread(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		got  string
		want string
	}{
		{"a time is printed to the hundredth", Seconds(16.004), "16.00"},
		{"a time not taken is a dash", Seconds(0), "-"},
		{"not a number is a dash", Seconds(math.NaN()), "-"},
		{"no figure spreads to a dash", Spread(nil), "-"},
		{"one figure is its own min, median and max", Spread([]float64{0.91}), "0.91 / 0.91 / 0.91"},
		{"two figures: the median is the lower", Spread([]float64{1.36, 0.91}), "0.91 / 0.91 / 1.36"},
		{"four SIGKILLs, in the order they happened", Spread([]float64{16.3, 15.41, 16.5, 16.2}), "15.41 / 16.20 / 16.50"},
		{"a figure not taken among them is a dash", Spread([]float64{0, 1.5, 2}), "- / 1.50 / 2.00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestGrowth(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name              string
		smallest, largest float64
		want              float64
		ok                bool
	}{
		{name: "a flat cost grows 1x", smallest: 3.2, largest: 3.2, want: 1, ok: true},
		{name: "a cost that doubles grows 2x", smallest: 2, largest: 4, want: 2, ok: true},
		{name: "a cost that falls grows below 1x", smallest: 4, largest: 3, want: 0.75, ok: true},
		{name: "an unmeasured smallest point has no growth", smallest: 0, largest: 3},
		{name: "a negative largest point has no growth", smallest: 1, largest: -1},
		{name: "an infinite largest point has no growth", smallest: 1, largest: math.Inf(1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := Growth(tc.smallest, tc.largest)
			if ok != tc.ok || (ok && math.Abs(got-tc.want) > 1e-12) {
				t.Errorf("Growth(%v, %v) = %v, %v; want %v, %v", tc.smallest, tc.largest, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestPerItem(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name          string
		before, after float64
		n             int
		want          float64
		ok            bool
	}{
		{name: "1,024 requests over 1,000 items is 1.024 each", before: 100, after: 1124, n: 1000, want: 1.024, ok: true},
		{name: "no increase is 0 each", before: 7, after: 7, n: 10, want: 0, ok: true},
		{name: "no items has no share", before: 0, after: 10, n: 0},
		{name: "a counter that went back (a restart) has no share", before: 50, after: 10, n: 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := PerItem(tc.before, tc.after, tc.n)
			if ok != tc.ok || (ok && math.Abs(got-tc.want) > 1e-12) {
				t.Errorf("PerItem(%v, %v, %d) = %v, %v; want %v, %v", tc.before, tc.after, tc.n, got, ok, tc.want, tc.ok)
			}
		})
	}
}
