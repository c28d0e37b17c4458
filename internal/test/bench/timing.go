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

// pacedSlack and pacedLagLimit say when a paced run held its rate R:
// its approvals came at (1 - pacedSlack)·R per second or more, and kept
// their schedule, the p99 of how late each returned behind its due time
// exceeding the median by no more than pacedLagLimit. A constant delay
// (every create and approval taking as long) shifts the arrivals without
// changing their rate; a harness that falls behind, or stalls and catches
// up, sends a burst, which the signer's p99 would then measure.
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
	rate           float64       // approvals written per second, fitted
	lagP50, lagP99 time.Duration // how late the approvals returned behind their due times
	held           bool
}

// pacedArrivals is how a run paced at asked per second kept its
// schedule, from when each request was due and when the harness's
// approval of it returned (both by request): the rate fitted to all the
// approvals (fittedRate), the median and p99 of their lag behind
// schedule, and whether it held (pacedSlack, pacedLagLimit). Fewer than
// two approvals, or all at one instant, have no rate and did not hold it.
func pacedArrivals(asked float64, due, approved []time.Time) arrivals {
	a := arrivals{rate: fittedRate(approved)}
	lags := make([]time.Duration, 0, len(approved))
	for i, t := range approved {
		lags = append(lags, t.Sub(due[i]))
	}
	slices.Sort(lags)
	a.lagP50, a.lagP99 = report.Quantile(lags, .5), report.Quantile(lags, .99)
	a.held = report.Measured(a.rate) && a.rate >= (1-pacedSlack)*asked && a.lagP99-a.lagP50 <= pacedLagLimit
	return a
}

// fittedRate is the rate of a sequence of events, the i-th at times[i]:
// the inverse of the least-squares slope of times[i] against i (seconds
// per event). 0 for fewer than two events or a slope that is not
// positive.
func fittedRate(times []time.Time) float64 {
	n := len(times)
	if n < 2 {
		return 0
	}
	meanX := float64(n-1) / 2
	var meanY float64
	y := make([]float64, n)
	for i, t := range times {
		y[i] = t.Sub(times[0]).Seconds()
		meanY += y[i] / float64(n)
	}
	var sxy, sxx float64
	for i := range y {
		dx := float64(i) - meanX
		sxy += dx * (y[i] - meanY)
		sxx += dx * dx
	}
	if slope := sxy / sxx; slope > 0 {
		return 1 / slope
	}
	return 0
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
