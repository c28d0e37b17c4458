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
	"testing"
	"time"
)

// sec is t0 (timing_test.go) plus s seconds.
func sec(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// twoBatches: four Certificates, two triggered at 0-0.5 s and done at 3 s
// and 4 s, two triggered at 10-10.2 s and done at 12 s and 13 s.
func twoBatches() map[string]*crtHistory {
	mk := func(trig, done float64) *crtHistory {
		return &crtHistory{Triggered: sec(trig), TriggeredAt: sec(trig).Truncate(time.Second), Manual: true, Issuing: []span{{sec(trig), sec(done)}}, Done: sec(done)}
	}
	return map[string]*crtHistory{"a": mk(0, 3), "b": mk(0.5, 4), "c": mk(10, 12), "d": mk(10.2, 13)}
}

// starts are the lastBatchAt values of twoBatches.
var starts = []time.Time{sec(0), sec(10), sec(10)}

func TestBatches(t *testing.T) {
	bs := batches(twoBatches(), starts)
	if len(bs) != 2 {
		t.Fatalf("two lastBatchAt values (one seen twice) are two batches, got %+v", bs)
	}
	if bs[0].Size != 2 || !bs[0].Start.Equal(sec(0)) || !bs[0].Finished.Equal(sec(4)) {
		t.Errorf("first batch: want 2 from 0 s, finished at 4 s; got %+v", bs[0])
	}
	if bs[1].Size != 2 || !bs[1].Start.Equal(sec(10)) || !bs[1].Finished.Equal(sec(13)) {
		t.Errorf("second batch: want 2 from 10 s, finished at 13 s; got %+v", bs[1])
	}
	h := twoBatches()
	h["d"].Done = time.Time{}
	if bs := batches(h, starts); !bs[1].Finished.IsZero() {
		t.Errorf("a batch with a Certificate not done is not finished, got %+v", bs[1])
	}
}

func TestMaxPerInterval(t *testing.T) {
	h := twoBatches()
	if got := maxPerInterval(h, batches(h, starts), 10*time.Second); got != 2 {
		t.Errorf("batches of 2 an interval apart trigger at most 2 per interval, got %d", got)
	}
	// A trigger written 8 s after the first lastBatchAt, with no
	// lastBatchAt of its own, is inside the first interval: the promise
	// is broken.
	h["e"] = &crtHistory{Triggered: sec(8), TriggeredAt: sec(8)}
	if got := maxPerInterval(h, batches(h, starts), 10*time.Second); got != 3 {
		t.Errorf("a trigger 8 s into a 10 s interval counts with its batch, got %d", got)
	}
	// A trigger before any lastBatchAt the samples saw counts in the first.
	h["f"] = &crtHistory{Triggered: sec(-1), TriggeredAt: sec(-1)}
	if bs := batches(h, starts); bs[0].Size != 4 {
		t.Errorf("first batch: want a, b, e and f, got %+v", bs[0])
	}
}

func TestMaxInFlight(t *testing.T) {
	if got := maxInFlight(twoBatches()); got != 2 {
		t.Errorf("two overlapping spans per batch, batches apart: want 2, got %d", got)
	}
	touching := map[string]*crtHistory{
		"a": {Issuing: []span{{sec(0), sec(2)}}},
		"b": {Issuing: []span{{sec(2), sec(3)}}},
		"c": {Issuing: []span{{sec(2.5), time.Time{}}}},
	}
	if got := maxInFlight(touching); got != 2 {
		t.Errorf("a span that ends when another starts does not overlap it; an open span lasts: want 2, got %d", got)
	}
}

func TestJudgeSample(t *testing.T) {
	const lead = 2 * time.Second
	for _, tc := range []struct {
		name       string
		s          statusSample
		consistent bool
		ahead      bool
		lag        time.Duration
	}{{
		name: "a sample of the truth at its read is correct with no lag",
		// At 5 s: a and b done, c and d pending.
		s:          statusSample{Before: sec(5), After: sec(5.1), Total: 4, Reissued: 2, Pending: 2},
		consistent: true,
	}, {
		name: "a sample written before the second batch and read after it lags by the time since the first trigger it missed",
		// Read at 11 s: c (10 s) and d (10.2 s) left pending already.
		s:          statusSample{Before: sec(11), After: sec(11.1), Total: 4, Reissued: 2, Pending: 2},
		consistent: true, lag: time.Second,
	}, {
		name: "a sample that counts a Certificate the watches see done only within the lead is not ahead",
		// Read at 2.5 s, a done at 3 s (within the 2 s lead).
		s:          statusSample{Before: sec(2.5), After: sec(2.6), Total: 4, Reissued: 1, InProgress: 1, Pending: 2},
		consistent: true,
	}, {
		name: "a sample that counts more done than the watches ever saw by its read and the lead is ahead",
		s:    statusSample{Before: sec(0.2), After: sec(0.3), Total: 4, Reissued: 3, Pending: 1},
		// a is done at 3 s, after 0.3 s + 2 s.
		consistent: true, ahead: true,
	}, {
		name:       "a sample claiming completion while Certificates are pending is ahead",
		s:          statusSample{Before: sec(5), After: sec(5.1), Total: 4, Reissued: 2, Pending: 2, Completed: true},
		consistent: true, ahead: true,
	}, {
		name:       "a sample whose counts do not add up to its total is inconsistent",
		s:          statusSample{Before: sec(5), After: sec(5.1), Total: 4, Reissued: 2, InProgress: 1, Pending: 2},
		consistent: false,
	}, {
		name:       "a sample that counts more Certificates than there are is inconsistent",
		s:          statusSample{Before: sec(5), After: sec(5.1), Total: 5, Reissued: 2, InProgress: 1, Pending: 2},
		consistent: false,
	}, {
		name:       "the final sample, all re-issued and completed, is correct",
		s:          statusSample{Before: sec(20), After: sec(20.1), Total: 4, Reissued: 4, Completed: true},
		consistent: true,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			v := judgeSample(twoBatches(), 4, tc.s, lead)
			if v.Consistent != tc.consistent || v.Ahead != tc.ahead || v.Lag != tc.lag {
				t.Errorf("got %+v, want consistent=%v ahead=%v lag=%s", v, tc.consistent, tc.ahead, tc.lag)
			}
			want := tc.consistent && !tc.ahead && tc.lag <= 15*time.Second
			if got := v.Correct(15 * time.Second); got != want {
				t.Errorf("Correct(15s) = %v, want %v", got, want)
			}
		})
	}
	stale := statusSample{Before: sec(30), After: sec(30.1), Total: 4, Reissued: 2, Pending: 2}
	if v := judgeSample(twoBatches(), 4, stale, lead); v.Correct(15*time.Second) || v.Lag != 20*time.Second {
		t.Errorf("a sample 20 s behind is not correct within 15 s: %+v", v)
	}
}
