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
	"errors"
	"slices"
	"time"

	"github.com/nstance-dev/nstance-issuer/internal/test/report"
)

// What the watches' times make of a phase: pure arithmetic, apart from the
// watches that collect them so that it is tested by hand.

// stageResult is one issuer's run of N requests.
type stageResult struct {
	throughput    float64 // certificates per second, first started to last done
	p50, p95, p99 time.Duration
	// untimed is how many done requests the quantiles leave out: a watch
	// did not see them start, or saw their start or end only in a
	// catch-up list after the server ended it, so the moment it happened
	// is not known.
	untimed int
}

// timed is how many done requests the quantiles count.
func (s stageResult) timed(done int) int { return done - s.untimed }

// signingTimes times requests from the moments a watch first saw each one
// start (approved; created for a PodCertificateRequest) and done (Ready;
// Issued); see watchedTimes.
func signingTimes(start, done map[string]time.Time) stageResult {
	return watchedTimes(start, done, nil)
}

// watchedTimes is the latency of each done request and the throughput
// from the first start to the last done. A request whose start or end a
// watch saw only in a catch-up list (listed), or that was seen done
// without being seen started (or started after it was done: both in one
// list) is left out of the quantiles and counted as untimed: its times
// are the list's, and timing it from them reads 0 ms or any gap. It still
// counts in the throughput, timed from what was seen (a list's moments
// are late by at most the gap). No request, or all at one instant, has
// no throughput (0).
func watchedTimes(start, done map[string]time.Time, listed map[string]bool) stageResult {
	var first, last time.Time
	var res stageResult
	lat := make([]time.Duration, 0, len(done))
	for name, end := range done {
		begin, ok := start[name]
		switch {
		case !ok || begin.After(end):
			begin = end
			res.untimed++
		case listed[name]:
			res.untimed++
		default:
			lat = append(lat, end.Sub(begin))
		}
		if first.IsZero() || begin.Before(first) {
			first = begin
		}
		if end.After(last) {
			last = end
		}
	}
	slices.Sort(lat)
	res.p50, res.p95, res.p99 = report.Quantile(lat, .5), report.Quantile(lat, .95), report.Quantile(lat, .99)
	res.throughput, _ = report.Rate(len(done), first, last)
	return res
}

// Pacing: an open-loop stage writes request i at start + i/R whatever the
// signer does, so that its latency is the signer's at a sustainable
// arrival rate, not the wait in a queue the harness filled.

// pacedSlack and pacedLagLimit say when a paced run held its rate: the
// approvals it wrote came at least (1 - pacedSlack)·R per second, and 99%
// of its requests started no later than pacedLagLimit behind their
// schedule (a harness that stalls and catches up sends a burst, which the
// signer's p99 would then measure).
const (
	pacedSlack    = 0.05
	pacedLagLimit = 500 * time.Millisecond
)

// pacedDue is when request i of a run paced at rate per second that
// began at start is due.
func pacedDue(start time.Time, i int, rate float64) time.Time {
	return start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
}

// arrivals is how a paced run kept its schedule.
type arrivals struct {
	rate   float64       // approvals written per second, first to last
	lagP99 time.Duration // how late the p99 request started behind its schedule
	held   bool
}

// pacedArrivals is how a run paced at asked per second kept it, from how
// late each request started behind its schedule (lags) and when the
// harness's approval of each returned (approved): (n-1) intervals from
// the first approval to the last. Fewer than two approvals, or all at one
// instant, have no rate and did not hold it.
func pacedArrivals(asked float64, lags []time.Duration, approved []time.Time) arrivals {
	var first, last time.Time
	for _, t := range approved {
		if first.IsZero() || t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	var a arrivals
	if len(approved) > 1 {
		a.rate, _ = report.Rate(len(approved)-1, first, last)
	}
	sorted := slices.Sorted(slices.Values(lags))
	a.lagP99 = report.Quantile(sorted, .99)
	a.held = report.Measured(a.rate) && a.rate >= (1-pacedSlack)*asked && a.lagP99 <= pacedLagLimit
	return a
}

// backlogRate is the signing rate of a backlog from the moments its
// requests were seen Ready: the intervals between the first and the last,
// (n-1) of them in the span, since the signer's start is not seen by a
// watch. One request, or all at one instant, cannot be timed.
func backlogRate(ready map[string]time.Time) (float64, error) {
	var first, last time.Time
	for _, t := range ready {
		if first.IsZero() || t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	if rate, ok := report.Rate(len(ready)-1, first, last); ok && len(ready) > 1 {
		return rate, nil
	}
	return 0, errors.New("too few requests to time")
}
