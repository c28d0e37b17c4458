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
	"slices"
	"sort"
	"time"
)

// What the re-issue phase's watches make of it (scale_reissue.go): pure
// arithmetic over the moments the harness saw each Certificate triggered,
// issuing and holding a certificate of the new CA, and over the status
// samples, so that it is tested by hand (reissue_analysis_test.go).

// crtHistory is what a watch saw of one Certificate after the rotate-now.
type crtHistory struct {
	// Triggered: first seen Issuing=True after the rotate-now (zero:
	// never); TriggeredAt: that condition's lastTransitionTime, when the
	// controller wrote it (whole seconds); Manual: with reason
	// ManuallyTriggered.
	Triggered   time.Time
	TriggeredAt time.Time
	Manual      bool
	// Issuing are the spans it was seen Issuing=True; an open span ends
	// at the zero time.
	Issuing []span
	// Done: first seen holding a certificate not signed by the previous
	// CA (zero: never).
	Done time.Time
	// Failed: first seen with a lastFailureTime after the rotate-now.
	Failed time.Time
}

type span struct{ From, To time.Time }

// batch is the Certificates one pass of the controller triggered.
type batch struct {
	// Start is the batch's status.rotation.reissue.lastBatchAt.
	Start time.Time
	Size  int
	// First and Last are its earliest and latest trigger as written.
	First, Last time.Time
	// Finished: the last of its Certificates seen done (zero: not all).
	Finished time.Time
}

// batches attributes each trigger to its batch: the latest of starts (the
// lastBatchAt values status showed, whole seconds) at or before the
// trigger's time as the controller wrote it (the Issuing condition's
// lastTransitionTime, also whole seconds). A trigger before every start
// (a lastBatchAt the samples missed) counts in the first batch.
func batches(hist map[string]*crtHistory, starts []time.Time) []batch {
	starts = slices.Clone(starts)
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	starts = slices.CompactFunc(starts, func(a, b time.Time) bool { return a.Equal(b) })
	out := make([]batch, len(starts))
	complete := make([]bool, len(starts))
	for i, st := range starts {
		out[i].Start, complete[i] = st, true
	}
	for _, h := range hist {
		if h.Triggered.IsZero() || len(out) == 0 {
			continue
		}
		i := max(sort.Search(len(starts), func(i int) bool { return starts[i].After(h.TriggeredAt) })-1, 0)
		out[i].Size++
		if out[i].First.IsZero() || h.TriggeredAt.Before(out[i].First) {
			out[i].First = h.TriggeredAt
		}
		if h.TriggeredAt.After(out[i].Last) {
			out[i].Last = h.TriggeredAt
		}
		if h.Done.IsZero() {
			complete[i] = false
		} else if h.Done.After(out[i].Finished) {
			out[i].Finished = h.Done
		}
	}
	for i := range out {
		if !complete[i] {
			out[i].Finished = time.Time{}
		}
	}
	return slices.DeleteFunc(out, func(b batch) bool { return b.Size == 0 })
}

// maxPerInterval is the most triggers written in [s, s+interval) for any
// batch start s: the controller's promise is at most a batch from one
// lastBatchAt until an interval later.
func maxPerInterval(hist map[string]*crtHistory, bs []batch, interval time.Duration) int {
	most := 0
	for _, b := range bs {
		end := b.Start.Add(interval)
		n := 0
		for _, h := range hist {
			if !h.Triggered.IsZero() && !h.TriggeredAt.Before(b.Start) && h.TriggeredAt.Before(end) {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

// maxInFlight is the most Certificates seen Issuing=True at once.
func maxInFlight(hist map[string]*crtHistory) int {
	type edge struct {
		at time.Time
		d  int
	}
	var es []edge
	for _, h := range hist {
		for _, s := range h.Issuing {
			es = append(es, edge{s.From, +1})
			if !s.To.IsZero() {
				es = append(es, edge{s.To, -1})
			}
		}
	}
	// At one instant, ends before starts: a span that ends when another
	// starts did not overlap it.
	sort.Slice(es, func(i, j int) bool {
		if es[i].at.Equal(es[j].at) {
			return es[i].d < es[j].d
		}
		return es[i].at.Before(es[j].at)
	})
	n, most := 0, 0
	for _, e := range es {
		n += e.d
		most = max(most, n)
	}
	return most
}

// truthAt counts, from the watches, where the Certificates stood at t:
// done (holding a certificate of the new CA), in progress (Issuing, not
// done), failed (since the rotate-now, not done) and pending (the rest),
// as status.rotation.reissue defines them.
func truthAt(hist map[string]*crtHistory, t time.Time) (done, inProgress, failed, pending int) {
	for _, h := range hist {
		switch {
		case !h.Done.IsZero() && !h.Done.After(t):
			done++
		case issuingAt(h.Issuing, t):
			inProgress++
		case !h.Failed.IsZero() && !h.Failed.After(t):
			failed++
		default:
			pending++
		}
	}
	return done, inProgress, failed, pending
}

func issuingAt(spans []span, t time.Time) bool {
	for _, s := range spans {
		if !s.From.After(t) && (s.To.IsZero() || s.To.After(t)) {
			return true
		}
	}
	return false
}

// statusSample is status.rotation.reissue as read at one moment: the read
// began at Before and returned at After.
type statusSample struct {
	Before, After                                time.Time
	Total, Reissued, InProgress, Failed, Pending int
	Completed                                    bool
	// InFlight and Stalled are status.rotation.reissue's record of what
	// the controller asked and cert-manager has not finished.
	InFlight, Stalled int
}

// sampleVerdict is what one sample says against the watches' truth.
type sampleVerdict struct {
	// Consistent: total = reissued + inProgress + failed + pending, and
	// total = n (every Certificate existed at the switch and held a
	// certificate of the previous CA).
	Consistent bool
	// Ahead: it claims more re-issued (or fewer pending) than the watches
	// saw by After+lead, or completed while some were not done: wrong
	// whatever the race.
	Ahead bool
	// Lag is how long before Before the truth already had more re-issued
	// (or fewer pending) than the sample says: 0 when the sample was
	// up to date.
	Lag time.Duration
}

// Correct: consistent, never ahead, and at most window behind.
func (v sampleVerdict) Correct(window time.Duration) bool {
	return v.Consistent && !v.Ahead && v.Lag <= window
}

// judgeSample compares a status sample with the watches' truth. The
// status is a pass's count of the Certificates and Secrets, written after
// the pass and rewritten only by the next pass, so it is the truth of a
// moment before the read; the harness's watches see each change a little
// after it happened, so their truth lags the API server's by up to lead.
// Re-issued only grows and pending only shrinks (pending → in progress →
// done), so a sample is the truth of some moment in [Before-lag, After+lead]
// exactly when truth(After+lead) bounds it on one side and truth(Before-lag)
// on the other; the verdict's Lag is the least such lag.
func judgeSample(hist map[string]*crtHistory, n int, s statusSample, lead time.Duration) sampleVerdict {
	sum := s.Reissued + s.InProgress + s.Failed + s.Pending
	addsUp, countsAll := sum == s.Total, s.Total == n
	v := sampleVerdict{Consistent: addsUp && countsAll}
	late := s.After.Add(lead)
	done, inProgress, _, pending := truthAt(hist, late)
	v.Ahead = s.Reissued > done || s.Pending < pending || (s.Completed && inProgress+pending > 0)
	// The earliest moment the truth was past the sample: the
	// (s.Reissued+1)-th Certificate done, or the (n-s.Pending+1)-th
	// Certificate to leave pending (triggered, done or failed).
	var doneAt, leftAt []time.Time
	for _, h := range hist {
		if !h.Done.IsZero() {
			doneAt = append(doneAt, h.Done)
		}
		left := h.Done
		for _, t := range []time.Time{h.Triggered, h.Failed} {
			if !t.IsZero() && (left.IsZero() || t.Before(left)) {
				left = t
			}
		}
		if !left.IsZero() {
			leftAt = append(leftAt, left)
		}
	}
	lagPast := func(ts []time.Time, k int) time.Duration {
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
		if k < 0 || k >= len(ts) || !ts[k].Before(s.Before) {
			return 0
		}
		return s.Before.Sub(ts[k])
	}
	v.Lag = max(lagPast(doneAt, s.Reissued), lagPast(leftAt, n-s.Pending))
	return v
}
