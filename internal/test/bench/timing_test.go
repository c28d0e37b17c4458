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
	"context"
	"errors"
	"maps"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"

	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
)

var t0 = time.Date(2026, 12, 6, 18, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func TestSigningTimes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		start, done   map[string]time.Time
		listed        map[string]bool
		p50, p95, p99 time.Duration
		throughput    float64
		untimed       int
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
			name:  "a request seen done but never seen started is not timed: it is left out of the quantiles and counted, not timed 0",
			start: map[string]time.Time{"a": at(0)}, done: map[string]time.Time{"a": at(1000), "b": at(400)},
			p50: time.Second, p95: time.Second, p99: time.Second, throughput: 2, untimed: 1,
		},
		{
			name:  "a request seen started after it was done (one list) is not timed either, and still counts in the throughput",
			start: map[string]time.Time{"a": at(0), "b": at(900)}, done: map[string]time.Time{"a": at(1000), "b": at(500)},
			p50: time.Second, p95: time.Second, p99: time.Second, throughput: 2, untimed: 1,
		},
		{
			name:   "a request whose approval and Ready a catch-up list saw at one instant is not timed 0 ms: it is left out",
			start:  map[string]time.Time{"a": at(0), "b": at(100), "c": at(3000)},
			done:   map[string]time.Time{"a": at(300), "b": at(500), "c": at(3000)},
			listed: map[string]bool{"c": true},
			p50:    300 * time.Millisecond, p95: 400 * time.Millisecond, p99: 400 * time.Millisecond, throughput: 1, untimed: 1,
		},
		{
			name:   "a request whose approval only a list saw is not timed from the list's late time",
			start:  map[string]time.Time{"a": at(0), "b": at(2900)},
			done:   map[string]time.Time{"a": at(2000), "b": at(3000)},
			listed: map[string]bool{"b": true},
			p50:    2 * time.Second, p95: 2 * time.Second, p99: 2 * time.Second, throughput: 2 / 3.0, untimed: 1,
		},
		{
			name:       "every request seen only by a list: no latency, the throughput still counts them",
			start:      map[string]time.Time{"a": at(0), "b": at(0)},
			done:       map[string]time.Time{"a": at(1000), "b": at(2000)},
			listed:     map[string]bool{"a": true, "b": true},
			throughput: 1, untimed: 2,
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
			got := watchedTimes(tc.start, tc.done, tc.listed)
			if got.p50 != tc.p50 || got.p95 != tc.p95 || got.p99 != tc.p99 || math.Abs(got.throughput-tc.throughput) > 1e-9 || got.untimed != tc.untimed {
				t.Errorf("got p50 %v p95 %v p99 %v throughput %g untimed %d; want %v %v %v %g %d",
					got.p50, got.p95, got.p99, got.throughput, got.untimed, tc.p50, tc.p95, tc.p99, tc.throughput, tc.untimed)
			}
			if tc.listed == nil {
				if s := signingTimes(tc.start, tc.done); s != got {
					t.Errorf("signingTimes = %+v, watchedTimes without a list = %+v", s, got)
				}
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

func TestPacedArrivals(t *testing.T) {
	t.Parallel()
	// every is n moments, the i-th at from + i·step ms.
	every := func(n, from, step int) []time.Time {
		out := make([]time.Time, n)
		for i := range out {
			out[i] = at(from + i*step)
		}
		return out
	}
	stalled := every(100, 10, 25)
	stalled[50], stalled[51] = stalled[50].Add(time.Second), stalled[51].Add(time.Second)
	for _, tc := range []struct {
		name           string
		due, approved  []time.Time
		rate           float64
		lagP50, lagP99 time.Duration
		held           bool
	}{
		{
			name: "five approvals each 10 ms after its due time, 25 ms apart: 40 per second, held",
			due:  every(5, 0, 25), approved: every(5, 10, 25),
			rate: 40, lagP50: 10 * time.Millisecond, lagP99: 10 * time.Millisecond, held: true,
		},
		{
			name: "every approval 800 ms late shifts the arrivals without changing their rate: held",
			due:  every(5, 0, 25), approved: every(5, 800, 25),
			rate: 40, lagP50: 800 * time.Millisecond, lagP99: 800 * time.Millisecond, held: true,
		},
		{
			name: "36 per second of 40 asked, below 95%, did not hold the rate though its lag is small",
			due:  every(2, 0, 25), approved: []time.Time{at(0), at(0).Add(time.Second / 36)},
			rate: 36, lagP50: 0, lagP99: time.Second/36 - 25*time.Millisecond, held: false,
		},
		{
			name: "38 per second of 40 is within 5%: held",
			due:  every(2, 0, 25), approved: []time.Time{at(0), at(0).Add(time.Second / 38)},
			rate: 38, lagP50: 0, lagP99: time.Second/38 - 25*time.Millisecond, held: true,
		},
		{
			name: "a harness falling behind, approvals 60 ms apart for 25 ms due: 16.7 per second, p99 lag 700 ms past the median, not held",
			due:  every(41, 0, 25), approved: every(41, 0, 60),
			rate: 1000.0 / 60, lagP50: 700 * time.Millisecond, lagP99: 1400 * time.Millisecond, held: false,
		},
		{
			name: "a stall that returns 2% of the approvals a second late sends a burst: not held, whatever the rate",
			due:  every(100, 0, 25), approved: stalled,
			rate: fittedRate(stalled), lagP50: 10 * time.Millisecond, lagP99: 1010 * time.Millisecond, held: false,
		},
		{
			name: "one approval has no rate and did not hold it",
			due:  every(1, 0, 25), approved: every(1, 5, 25),
			lagP50: 5 * time.Millisecond, lagP99: 5 * time.Millisecond,
		},
		{
			name: "approvals all at one instant have no rate",
			due:  every(2, 0, 25), approved: every(2, 30, 0),
			lagP50: 5 * time.Millisecond, lagP99: 30 * time.Millisecond,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := pacedArrivals(40, tc.due, tc.approved)
			if math.Abs(got.rate-tc.rate) > 0.01 || got.lagP50 != tc.lagP50 || got.lagP99 != tc.lagP99 || got.held != tc.held {
				t.Errorf("pacedArrivals = %+v; want rate %g lag p50 %v p99 %v held %t", got, tc.rate, tc.lagP50, tc.lagP99, tc.held)
			}
		})
	}
}

func TestFittedRate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		times []time.Time
		want  float64
	}{
		{name: "no event has no rate"},
		{name: "one event has no rate", times: []time.Time{at(0)}},
		{name: "events 25 ms apart: 40 per second", times: []time.Time{at(0), at(25), at(50), at(75)}, want: 40},
		{name: "two events 1/36 s apart: 36 per second", times: []time.Time{t0, t0.Add(time.Second / 36)}, want: 36},
		{name: "the first of five 20 ms late: slope 21 ms from all five (first to last alone: 20 ms)", times: []time.Time{at(20), at(25), at(50), at(75), at(100)}, want: 1 / 0.021},
		{name: "events at one instant have no rate", times: []time.Time{at(5), at(5), at(5)}},
		{name: "events going back in time have no rate", times: []time.Time{at(100), at(50), at(0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := fittedRate(tc.times); math.Abs(got-tc.want) > 1e-4 {
				t.Errorf("fittedRate = %g, want %g", got, tc.want)
			}
		})
	}
}

func TestPacedDue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		i    int
		rate float64
		want time.Time
	}{
		{0, 40, at(0)},
		{1, 40, at(25)},
		{400, 40, at(10000)},
		{3, 3, at(1000)},
	} {
		if got := pacedDue(t0, tc.i, tc.rate); !got.Equal(tc.want) {
			t.Errorf("pacedDue(t0, %d, %g) = %v, want %v", tc.i, tc.rate, got.Sub(t0), tc.want.Sub(t0))
		}
	}
}

// createPaced calls create once for every request and stops at the first
// error, which it returns (its pace is not asserted: timing never is).
func TestCreatePaced(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	calls := map[int]int{}
	arr, err := createPaced(t.Context(), 4, 30, 10000, func(_ context.Context, i int) error {
		mu.Lock()
		defer mu.Unlock()
		calls[i]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		if calls[i] != 1 {
			t.Errorf("request %d created %d times, want once", i, calls[i])
		}
	}
	if len(calls) != 30 || arr.rate <= 0 {
		t.Errorf("%d requests created, arrival rate %g: want 30 and a rate", len(calls), arr.rate)
	}

	boom := errors.New("boom")
	if _, err := createPaced(t.Context(), 4, 30, 10000, func(_ context.Context, i int) error {
		if i == 3 {
			return boom
		}
		return nil
	}); !errors.Is(err, boom) {
		t.Errorf("createPaced = %v, want the create's error", err)
	}
}

// What a catch-up list shows is marked, so that the request is not timed
// from the list's time; the watch's own sightings are not.
func TestCRTimesMarksWhatOnlyAListSaw(t *testing.T) {
	t.Parallel()
	cr := func(name string, conds ...cmapi.CertificateRequestConditionType) *cmapi.CertificateRequest {
		c := &cmapi.CertificateRequest{}
		c.Name = name
		for _, typ := range conds {
			c.Status.Conditions = append(c.Status.Conditions, cmapi.CertificateRequestCondition{Type: typ, Status: cmmeta.ConditionTrue})
		}
		return c
	}
	approved, ready := cmapi.CertificateRequestConditionApproved, cmapi.CertificateRequestConditionReady
	times := &crTimes{approved: map[string]time.Time{}, ready: map[string]time.Time{}, listed: map[string]bool{}, failed: map[string]string{}, done: harness.NewCountdown(4), want: 4}
	times.observe(cr("watched", approved), at(0), false)
	times.observe(cr("watched", approved, ready), at(200), false)
	times.observe(cr("both-listed", approved, ready), at(900), true) // approval and Ready in the gap: the old code timed it 0 ms
	times.observe(cr("ready-listed", approved), at(100), false)
	times.observe(cr("ready-listed", approved, ready), at(900), true)
	times.observe(cr("approved-listed", approved), at(900), true)
	times.observe(cr("approved-listed", approved, ready), at(1000), false)
	times.observe(cr("watched", approved, ready), at(950), true) // seen already: the list changes nothing
	want := map[string]bool{"both-listed": true, "ready-listed": true, "approved-listed": true}
	if !maps.Equal(times.listed, want) {
		t.Errorf("listed = %v, want %v", times.listed, want)
	}
	got := watchedTimes(times.approved, times.ready, times.listed)
	if got.untimed != 3 || got.p99 != 200*time.Millisecond {
		t.Errorf("untimed %d, p99 %v; want 3 and the watched request's 200ms", got.untimed, got.p99)
	}
}
