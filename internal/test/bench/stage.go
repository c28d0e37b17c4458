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
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
)

// The stage: N approved CertificateRequests signed by each issuer in
// alternating rounds, with latency, the manager's API requests and CPU per
// certificate by process.

// runRequests creates and approves n requests for iss in ns as fast as
// the harness's workers can and times them from the watch.
func (h *benchHarness) runRequests(ctx context.Context, ns string, iss harness.Issuer, n int) (stageResult, error) {
	got, _, _, err := h.timeRequests(ctx, ns, iss, n, 0)
	return got, err
}

// timeRequests creates and approves n requests for iss in ns, paced at
// rate per second when rate > 0 (createPaced, which says how it kept the
// rate) or else as fast as the harness's workers can, and times them from
// the watch. It also returns the moments the watch saw each timed
// request approved and Ready (those a catch-up list saw left out).
func (h *benchHarness) timeRequests(ctx context.Context, ns string, iss harness.Issuer, n int, rate float64) (stageResult, arrivals, map[string]requestTimes, error) {
	if err := h.Namespace(ctx, ns); err != nil {
		return stageResult{}, arrivals{}, nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	times, err := h.watchCRs(wctx, ns, n)
	if err != nil {
		return stageResult{}, arrivals{}, nil, err
	}
	create := func(ctx context.Context, i int) error {
		return h.createApproved(ctx, ns, fmt.Sprintf("cr-%d", i), h.csrs[i%len(h.csrs)], iss.Ref)
	}
	var arr arrivals
	if rate > 0 {
		arr, err = createPaced(ctx, h.c.Workers, n, rate, create)
	} else {
		err = harness.Parallel(ctx, h.c.Workers, n, create)
	}
	if err != nil {
		return stageResult{}, arrivals{}, nil, err
	}
	if err := times.wait(ctx, h.c.timeout); err != nil {
		return stageResult{}, arrivals{}, nil, fmt.Errorf("%s: %w", iss.Label, err)
	}
	times.mu.Lock()
	defer times.mu.Unlock()
	got := watchedTimes(times.approved, times.ready, times.listed)
	if got.untimed > 0 {
		harness.Logf("%s in %s: %d of %d requests not timed (approval or Ready seen only by a catch-up list)", iss.Label, ns, got.untimed, len(times.ready))
	}
	timed := make(map[string]requestTimes, len(times.ready))
	for name, ready := range times.ready {
		if approved, ok := times.approved[name]; ok && !times.listed[name] && !approved.After(ready) {
			timed[name] = requestTimes{approved: approved, ready: ready}
		}
	}
	return got, arr, timed, nil
}

// createPaced calls create for requests 0 to n-1 open loop: request i is
// due at start + i/rate whatever became of the ones before, so that the
// signer sees a steady arrival rate and not a queue the harness filled.
// At most workers calls are in flight; a request due while all are busy
// starts late. It returns how the run kept its schedule (pacedArrivals,
// from when each approval returned), or the first error.
func createPaced(ctx context.Context, workers, n int, rate float64, create func(context.Context, int) error) (arrivals, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	due := make([]time.Time, n)
	approved := make([]time.Time, n)
	slots := make(chan struct{}, max(workers, 1))
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		due[i] = pacedDue(start, i, rate)
		if !sleepUntil(ctx, due[i]) {
			break
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := create(ctx, i); err != nil {
				cancel(err)
				return
			}
			approved[i] = time.Now()
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return arrivals{}, err
	}
	return pacedArrivals(rate, due, approved), nil
}

// sleepUntil waits until t; false when ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// stageRun is one issuer's stage in one round, with what it cost.
type stageRun struct {
	stageResult
	cpu      cpuUse
	requests map[string]float64 // the manager's API requests by verb (nstance only)
}

// issuerStage signs N approved requests with each issuer in turn, for
// c.stageRounds alternating rounds (nstance, CA issuer, nstance, ...), and
// keeps each issuer's fastest round: this machine is shared, and a burst of
// other work in one round would otherwise decide the ratio.
func (h *benchHarness) issuerStage(ctx context.Context, r *results) error {
	best := map[string]stageRun{}
	for round := range h.c.stageRounds {
		for _, iss := range []harness.Issuer{nstance, caIss} {
			run, err := h.stageRound(ctx, iss, round)
			if err != nil {
				return err
			}
			if b, ok := best[iss.Label]; !ok || run.throughput > b.throughput {
				best[iss.Label] = run
			}
		}
	}
	n, ca := best[nstance.Label], best[caIss.Label]
	defer h.reportStageCPU(r, n.cpu, ca.cpu)
	// The stage is paced by the harness's creates and approvals, which share
	// the API server with the signer: its figures are context, and the
	// capacity goals are the backlog's.
	roundsNote := fmt.Sprintf("fastest of %d alternating rounds; paced by the harness's creates and approvals", h.c.stageRounds)
	r.add("stage: nstance signing throughput", n.throughput, "/s", "CA issuer", ca.throughput, "", roundsNote)
	if r.floorRate > 0 {
		r.add("stage: nstance throughput vs signer floor", n.throughput, "/s", "signer floor, manager client", r.floorRate, "", "")
	}
	if r.rawRate > 0 {
		r.add("stage: nstance throughput vs merge status-patch rate", n.throughput, "/s", "merge patch rate, manager client", r.rawRate, "", "")
	}
	r.add("stage: CA issuer signing throughput", ca.throughput, "/s", "", 0, "", "")
	if n.requests != nil {
		// The manager's API calls per certificate: status PATCHes and
		// Event POSTs (the recorder's own client), by verb.
		for _, m := range []string{"PATCH", "POST", "GET", "PUT"} {
			if d := n.requests[m]; d > 0 {
				r.add("stage: nstance manager API "+m+" requests per certificate", d/float64(h.c.N), "req", "", 0, "", "")
			}
		}
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	r.add("stage: nstance approved→Ready p50", ms(n.p50), "ms", "CA issuer", ms(ca.p50), "", "")
	r.add("stage: nstance approved→Ready p95", ms(n.p95), "ms", "CA issuer", ms(ca.p95), "", "")
	r.add("stage: nstance approved→Ready p99", ms(n.p99), "ms", "CA issuer", ms(ca.p99), "ratio < 1", untimedNote(n.untimed, ca.untimed))
	return nil
}

// untimedNote says how many requests of each issuer's run the quantiles
// leave out (watchedTimes); empty when none.
func untimedNote(nstance, ca int) string {
	if nstance == 0 && ca == 0 {
		return ""
	}
	return fmt.Sprintf("not timed (seen only by a catch-up list): nstance %d, CA issuer %d", nstance, ca)
}

// stageRound runs one issuer's stage once, in its own namespace.
func (h *benchHarness) stageRound(ctx context.Context, iss harness.Issuer, round int) (stageRun, error) {
	t := time.Now()
	var before map[string]float64
	if iss == nstance {
		before = h.managerRequests()
	}
	var prof *profiler
	if iss == nstance && round == 0 && h.c.profileDir != "" {
		targets, err := h.profileTargets()
		if err != nil {
			return stageRun{}, err
		}
		prof = startProfiler(ctx, h.c.profileDir, targets)
	}
	cpuBefore := h.cpuNow()
	got, err := h.runRequests(ctx, fmt.Sprintf("bench-stage-%s-%d", iss.Label, round), iss, h.c.N)
	if err != nil {
		return stageRun{}, err
	}
	run := stageRun{stageResult: got, cpu: cpuBetween(cpuBefore, h.cpuNow(), h.c.N)}
	if prof != nil {
		prof.close()
		harness.Logf("CPU profiles of the manager and the API server during the stage: %s (go tool pprof -top %s/manager-*.pprof)", h.c.profileDir, h.c.profileDir)
	}
	if before != nil {
		if after := h.managerRequests(); after != nil {
			run.requests = map[string]float64{}
			for verb, v := range after {
				run.requests[verb] = v - before[verb]
			}
		}
	}
	harness.Logf("stage %s, round %d: %d requests in %s, %.1f/s", iss.Label, round+1, h.c.N, time.Since(t).Round(10*time.Millisecond), got.throughput)
	return run, nil
}

// managerRequests sums the manager process's rest_client_requests_total by
// HTTP method; nil when the manager runs in this process.
func (h *benchHarness) managerRequests() map[string]float64 {
	url := h.Stack.ManagerMetricsURL()
	if url == "" {
		return nil
	}
	lines, err := scrapeLines(url, "rest_client_requests_total{")
	if err != nil {
		harness.Logf("scraping %s: %v", url, err)
		return nil
	}
	return requestsByMethod(lines)
}

// requestsByMethod sums rest_client_requests_total lines of a Prometheus
// text endpoint by their method label.
func requestsByMethod(lines []string) map[string]float64 {
	out := map[string]float64{}
	for _, l := range lines {
		_, after, ok := strings.Cut(l, `method="`)
		j := strings.LastIndexByte(l, ' ')
		if !ok || j < 0 {
			continue
		}
		method, _, closed := strings.Cut(after, `"`)
		if !closed {
			continue
		}
		v, err := strconv.ParseFloat(l[j+1:], 64)
		if err == nil {
			out[method] += v
		}
	}
	return out
}

// reportStageCPU prints what each issuer's stage cost in CPU, by process.
func (h *benchHarness) reportStageCPU(r *results, n, ca cpuUse) {
	r.add("stage: machine CPU busy (all cores), nstance", 100*n.busy, "%", "CA issuer", 100*ca.busy, "", "")
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	var sumN, sumCA time.Duration
	for _, p := range h.cpuProcesses() {
		dn, dca := n.perCert[p.label], ca.perCert[p.label]
		sumN += dn
		sumCA += dca
		r.add("stage: CPU per certificate, "+p.label, ms(dn), "ms", "CA issuer", ms(dca), "", "")
	}
	r.add("stage: CPU per certificate, all stack processes", ms(sumN), "ms", "CA issuer", ms(sumCA), "", "")
}
