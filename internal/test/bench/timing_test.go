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
	"math"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 6, 18, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func TestSigningTimes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		start, done   map[string]time.Time
		p50, p95, p99 time.Duration
		throughput    float64
	}{
		{
			name: "no request done has no latency and no throughput",
		},
		{
			name:  "one request: every quantile is its latency, and N over its span is the throughput",
			start: map[string]time.Time{"a": at(0)}, done: map[string]time.Time{"a": at(250)},
			p50: 250 * time.Millisecond, p95: 250 * time.Millisecond, p99: 250 * time.Millisecond, throughput: 4,
		},
		{
			name:  "four requests: p50 the second latency (nearest rank), p95 and p99 the fourth; 4 over first start to last done",
			start: map[string]time.Time{"a": at(0), "b": at(100), "c": at(200), "d": at(300)},
			done:  map[string]time.Time{"a": at(100), "b": at(300), "c": at(500), "d": at(700)},
			p50:   200 * time.Millisecond, p95: 400 * time.Millisecond, p99: 400 * time.Millisecond, throughput: 4 / 0.7,
		},
		{
			name:  "a request seen done but never seen started took no time that could be seen",
			start: map[string]time.Time{"a": at(0)}, done: map[string]time.Time{"a": at(1000), "b": at(400)},
			p50: 0, p95: time.Second, p99: time.Second, throughput: 2,
		},
		{
			name:  "a request seen started after it was done (one event) took no time either",
			start: map[string]time.Time{"a": at(0), "b": at(900)}, done: map[string]time.Time{"a": at(1000), "b": at(500)},
			p50: 0, p95: time.Second, p99: time.Second, throughput: 2,
		},
		{
			name:  "ties: equal latencies are counted each",
			start: map[string]time.Time{"a": at(0), "b": at(0), "c": at(0)},
			done:  map[string]time.Time{"a": at(500), "b": at(500), "c": at(2000)},
			p50:   500 * time.Millisecond, p95: 2 * time.Second, p99: 2 * time.Second, throughput: 1.5,
		},
		{
			name:  "requests all done at the instant they started cannot be timed",
			start: map[string]time.Time{"a": at(5)}, done: map[string]time.Time{"a": at(5)},
		},
		{
			name:  "a request started but never done is not counted",
			start: map[string]time.Time{"a": at(0), "b": at(0)}, done: map[string]time.Time{"a": at(500)},
			p50: 500 * time.Millisecond, p95: 500 * time.Millisecond, p99: 500 * time.Millisecond, throughput: 2,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := signingTimes(tc.start, tc.done)
			if got.p50 != tc.p50 || got.p95 != tc.p95 || got.p99 != tc.p99 || math.Abs(got.throughput-tc.throughput) > 1e-9 {
				t.Errorf("got p50 %v p95 %v p99 %v throughput %g; want %v %v %v %g", got.p50, got.p95, got.p99, got.throughput, tc.p50, tc.p95, tc.p99, tc.throughput)
			}
		})
	}
}

func TestBacklogRate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		ready   map[string]time.Time
		want    float64
		wantErr bool
	}{
		{name: "no request cannot be timed", wantErr: true},
		{name: "one request cannot be timed: a rate needs an interval", ready: map[string]time.Time{"a": at(0)}, wantErr: true},
		{name: "two requests at one instant cannot be timed", ready: map[string]time.Time{"a": at(7), "b": at(7)}, wantErr: true},
		{name: "two requests 100 ms apart: one interval in 0.1 s", ready: map[string]time.Time{"a": at(100), "b": at(0)}, want: 10},
		{name: "five requests over 2 s: four intervals, whatever the order", ready: map[string]time.Time{"a": at(2000), "b": at(0), "c": at(10), "d": at(10), "e": at(1500)}, want: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := backlogRate(tc.ready)
			if (err != nil) != tc.wantErr || math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("backlogRate = %g, %v; want %g, error %t", got, err, tc.want, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "too few requests to time") {
				t.Errorf("error %q", err)
			}
		})
	}
}
