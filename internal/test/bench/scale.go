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
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
	"github.com/nstance-dev/nstance-issuer/internal/test/report"
)

// The scale phase: how per-certificate cost grows with N. First, with
// -scale-memory-points, the manager's memory at rest at exact counts of
// finished requests (memory_rest.go), whose requests are then deleted.
// Then, for each point
// of -scale-points, on one stack whose finished requests pile up from
// point to point (as in a cluster that grows):
//
//   - latency: N CertificateRequests created and approved at a steady
//     -scale-rate per second, open loop, signed by nstance-issuer, then N
//     by cert-manager's CA issuer (the paced stage): approved→Ready
//     p50/p99 at a rate both sustain, so that its growth with N is the
//     signer's and not a queue's, and the arrival rate the harness held;
//   - signing: N approved CertificateRequests created as fast as the
//     harness can, signed by nstance-issuer, then N by the CA issuer (the
//     unpaced stage), then N more by nstance-issuer from a backlog (its
//     manager stopped while they are created); throughput, the signer's
//     CPU and the manager's API requests per certificate;
//   - memory at rest: the manager's RSS and Go live heap with every
//     finished request so far in the cluster, 5 s after the last.
//
// After each point, a restart with the full cache (the manager
// SIGKILLed, one new approved request created, the manager started:
// status writes and signing attempts beyond that one request, time to its
// signature, the API server's CPU for the initial lists), so that the
// restart's cost is a curve against the finished requests. After the last
// point, trust publication into -scale-namespaces namespaces (scale_trust.go). The
// ratio of the largest point to the smallest is printed for every
// per-certificate figure; goals are reported, never asserted.

// scaleSigning is one issuer's signing at one point.
type scaleSigning struct {
	// Throughput is N over first approved → last Ready in the unpaced
	// stage (certificates per second), whose approved→Ready quantiles
	// are P50Ms and P99Ms: the wait in the queue the harness fills
	// faster than the signer empties it (about N / Throughput at the
	// last request), kept for reference; the signer's latency is Paced's.
	Throughput float64 `json:"throughput"`
	P50Ms      float64 `json:"p50Ms"`
	P99Ms      float64 `json:"p99Ms"`
	// Untimed is the unpaced stage's requests left out of P50Ms and P99Ms
	// (seen approved or Ready only by a catch-up list).
	Untimed int `json:"untimed,omitempty"`
	// Paced is the paced stage (absent with -scale-rate 0).
	Paced *scalePaced `json:"paced,omitempty"`
	// SignerCPUMs is the CPU per certificate of the signer's process:
	// the manager for nstance-issuer; for the CA issuer the harness's
	// process, which runs cert-manager's controllers and creates the
	// requests.
	SignerCPUMs    float64 `json:"signerCpuMs"`
	APIServerCPUMs float64 `json:"apiServerCpuMs"`
	// APIRequests is the manager's API requests per certificate, every
	// verb (nstance-issuer only; its leader election's renewals included).
	APIRequests float64 `json:"apiRequests,omitempty"`
}

// scalePaced is one issuer's paced stage at one point: N requests created
// and approved open loop at Rate per second.
type scalePaced struct {
	Rate float64 `json:"rate"` // asked, per second
	// ArrivalRate is the approvals the harness wrote per second (fitted
	// to all of them), LagP50Ms and LagP99Ms how late behind their
	// schedule they returned; Held says they kept it (pacedArrivals):
	// when not, the quantiles are not the paced figure.
	ArrivalRate float64 `json:"arrivalRate"`
	LagP50Ms    float64 `json:"lagP50Ms"`
	LagP99Ms    float64 `json:"lagP99Ms"`
	Held        bool    `json:"held"`
	// Throughput is N over first approved → last Ready: the rate when the
	// signer kept up.
	Throughput float64 `json:"throughput"`
	P50Ms      float64 `json:"p50Ms"`
	P99Ms      float64 `json:"p99Ms"`
	// Timed is the requests in the quantiles, Untimed those left out
	// (seen approved or Ready only by a catch-up list).
	Timed   int `json:"timed"`
	Untimed int `json:"untimed,omitempty"`
	// Split is where the approved→Ready time went, from the API
	// server's audit log (latency_split.go); absent without one.
	Split *latencySplit `json:"split,omitempty"`
}

// scalePoint is one N of the sweep.
type scalePoint struct {
	N        int          `json:"n"`
	Nstance  scaleSigning `json:"nstance"`
	CAIssuer scaleSigning `json:"caIssuer"`
	// BacklogRate is nstance-issuer's throughput on N approved requests
	// waiting when its manager starts.
	BacklogRate float64 `json:"backlogRate"`
	// FinishedRequests is how many finished CertificateRequests the
	// cluster holds after this point (every issuer's: the manager caches
	// them all).
	FinishedRequests int     `json:"finishedRequests"`
	RSSMiB           float64 `json:"rssMiB"`
	LiveHeapMiB      float64 `json:"liveHeapMiB"`
	// Memory is the same reading broken down (RSS by kind, the Go
	// runtime's figures).
	Memory *memBreakdown `json:"memory,omitempty"`
	// EventsDropped is the Events the manager's recorder dropped since it
	// started for the backlog (nstance_issuer_events_dropped_total): its
	// queue overflowed, a CertificateIssued Event was lost.
	EventsDropped float64 `json:"eventsDropped"`
	// Restart is the manager killed and started again after the point,
	// with FinishedRequests (and the one it signs) in the cluster.
	Restart *scaleRestart `json:"restart,omitempty"`
}

// scaleRestart is the manager restarted with a full cache.
type scaleRestart struct {
	FinishedRequests int `json:"finishedRequests"`
	// StartSeconds: process start until its request controller's caches
	// synced and workers run.
	StartSeconds float64 `json:"startSeconds"`
	// FirstSignedSeconds: process start until the request created while
	// it was down is Ready.
	FirstSignedSeconds float64 `json:"firstSignedSeconds"`
	// StatusWrites is the finished CertificateRequests a watch saw
	// modified in the settle window after start, and Signatures the
	// manager's signing attempts less the one new request's: both should
	// be 0. ManagerPatches is all the manager's PATCH requests in the
	// window (the issuers' status and the new request's included).
	StatusWrites   float64 `json:"statusWrites"`
	Signatures     float64 `json:"signatures"`
	ManagerPatches float64 `json:"managerPatches"`
	// APIServerCPUSeconds is the API server's CPU from start to the end
	// of the settle window: the initial lists, the one request, the
	// watches.
	APIServerCPUSeconds float64 `json:"apiServerCpuSeconds"`
	SettleSeconds       float64 `json:"settleSeconds"`
	// RSSMiB and LiveHeapMiB are the manager's at the end of the settle
	// window: what holding FinishedRequests costs a manager that has not
	// just signed a burst (as after any restart, rollout or new leader).
	RSSMiB      float64 `json:"rssMiB,omitempty"`
	LiveHeapMiB float64 `json:"liveHeapMiB,omitempty"`
}

// scaleSweep is what the scale phase measured, in the JSON results.
type scaleSweep struct {
	// Memory is the manager at rest at -scale-memory-points (memory_rest.go).
	Memory  *scaleMemory  `json:"memory,omitempty"`
	Points  []scalePoint  `json:"points"`
	Restart *scaleRestart `json:"restart,omitempty"`
	Trust   *scaleTrust   `json:"trust,omitempty"`
	Reissue *scaleReissue `json:"reissue,omitempty"`
}

// restartSettle is how long after start the restart counts the manager's
// writes.
const restartSettle = 15 * time.Second

// scale runs the scale phase (see above) and reports it.
func (h *benchHarness) scale(ctx context.Context, r *results) error {
	sw := &scaleSweep{}
	r.Sweep = sw
	if len(h.c.scaleMemoryPoints) > 0 {
		sm, err := h.scaleMemoryPoints(ctx)
		sw.Memory = sm
		if err != nil {
			return fmt.Errorf("memory at rest: %w", err)
		}
	}
	for _, n := range h.c.scalePoints {
		p, err := h.scalePoint(ctx, n)
		if err != nil {
			return fmt.Errorf("point n=%d: %w", n, err)
		}
		harness.Logf("scale N=%d: unpaced nstance %.1f/s, CA issuer %.1f/s, backlog %.1f/s; %d finished requests: RSS %.1f MiB, live heap %.1f MiB",
			n, p.Nstance.Throughput, p.CAIssuer.Throughput, p.BacklogRate, p.FinishedRequests, p.RSSMiB, p.LiveHeapMiB)
		// A restart at every point, so that its cost is a curve against
		// the finished requests too, not one figure at the largest.
		if h.Stack.ManagerPID() > 0 {
			rs, err := h.scaleRestart(ctx, fmt.Sprintf("bench-scale-%d-restart", n))
			if err != nil {
				return fmt.Errorf("point n=%d: restart: %w", n, err)
			}
			p.Restart = rs
			sw.Restart = rs
		}
		sw.Points = append(sw.Points, p)
	}
	if h.c.scaleNamespaces > 0 {
		tr, err := h.scaleTrust(ctx, h.c.scaleNamespaces)
		if err != nil {
			return fmt.Errorf("trust: %w", err)
		}
		sw.Trust = tr
	}
	if h.c.runReissue() {
		rs, err := h.scaleReissue(ctx)
		if err != nil {
			return fmt.Errorf("re-issue: %w", err)
		}
		sw.Reissue = rs
	}
	sw.report(r)
	return nil
}

// pacedNamespace is where the paced stage of point n times issuer label.
func pacedNamespace(n int, label string) string {
	return fmt.Sprintf("bench-scale-%d-%s-paced", n, label)
}

// scalePoint measures one N.
func (h *benchHarness) scalePoint(ctx context.Context, n int) (scalePoint, error) {
	p := scalePoint{N: n}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	paced := map[harness.Issuer]*scalePaced{}
	if rate := h.c.scaleRate; rate > 0 {
		for _, iss := range []harness.Issuer{nstance, caIss} {
			ns := pacedNamespace(n, iss.Label)
			auditFrom := auditLogSize(h.c.AuditLogPath)
			got, arr, timed, err := h.timeRequests(ctx, ns, iss, n, rate)
			if err != nil {
				return p, fmt.Errorf("paced: %w", err)
			}
			paced[iss] = &scalePaced{Rate: rate, ArrivalRate: arr.rate, LagP50Ms: ms(arr.lagP50), LagP99Ms: ms(arr.lagP99), Held: arr.held, Throughput: got.throughput,
				P50Ms: ms(got.p50), P99Ms: ms(got.p99), Timed: got.timed(n), Untimed: got.untimed}
			paced[iss].Split = h.splitPaced(ctx, ns, auditFrom, timed)
			harness.Logf("scale N=%d paced %s: asked %g/s, wrote %.1f/s (behind schedule p50 %.0f ms, p99 %.0f ms; held: %t), signed %.1f/s, approved→Ready p50 %.0f ms p99 %.0f ms (%d not timed)",
				n, iss.Label, rate, arr.rate, ms(arr.lagP50), ms(arr.lagP99), arr.held, got.throughput, ms(got.p50), ms(got.p99), got.untimed)
		}
	}
	for _, iss := range []harness.Issuer{nstance, caIss} {
		before := h.managerRequests()
		cpuBefore := h.cpuNow()
		got, err := h.runRequests(ctx, fmt.Sprintf("bench-scale-%d-%s", n, iss.Label), iss, n)
		if err != nil {
			return p, err
		}
		cpu := cpuBetween(cpuBefore, h.cpuNow(), n)
		s := scaleSigning{Throughput: got.throughput, P50Ms: ms(got.p50), P99Ms: ms(got.p99), Untimed: got.untimed, Paced: paced[iss],
			APIServerCPUMs: ms(cpu.perCert["kube-apiserver"])}
		if iss == nstance {
			s.SignerCPUMs = ms(cpu.perCert["nstance-issuer manager"])
			if after := h.managerRequests(); before != nil && after != nil {
				s.APIRequests, _ = report.PerItem(sumValues(before), sumValues(after), n)
			}
			p.Nstance = s
		} else {
			s.SignerCPUMs = ms(cpu.perCert["harness + cert-manager controllers"])
			p.CAIssuer = s
		}
	}
	if h.Stack.ManagerPID() > 0 {
		rate, err := h.backlogRunNamed(ctx, fmt.Sprintf("bench-scale-%d-backlog", n), n, nstance, h.Stack.StopManager, func() error { return h.Stack.StartManager(ctx) })
		if err != nil {
			return p, fmt.Errorf("backlog: %w", err)
		}
		p.BacklogRate = rate
	}
	var err error
	if p.FinishedRequests, err = h.countRequests(ctx); err != nil {
		return p, err
	}
	rss, heap, mem, err := h.managerAtRest(ctx)
	if err != nil {
		return p, err
	}
	p.Memory = mem
	if url := h.Stack.ManagerMetricsURL(); url != "" {
		if lines, err := scrapeLines(url, "nstance_issuer_events_dropped_total"); err == nil {
			p.EventsDropped = sumLines(lines)
		}
	}
	p.RSSMiB, p.LiveHeapMiB = mib(rss), mib(heap)
	return p, nil
}

// managerAtRest waits 5 s for the manager to settle and returns its RSS
// and Go live heap, and their breakdown (nil when it could not be read).
func (h *benchHarness) managerAtRest(ctx context.Context) (rss, heap float64, mem *memBreakdown, err error) {
	pid, url := h.Stack.ManagerPID(), h.Stack.ManagerMetricsURL()
	if pid == 0 || url == "" {
		return 0, 0, nil, nil
	}
	select {
	case <-ctx.Done():
		return 0, 0, nil, ctx.Err()
	case <-time.After(5 * time.Second):
	}
	h.heapProfile(ctx, fmt.Sprintf("at-rest-%d", pid))
	s := startSampler(pid, url)
	defer s.close()
	rss, _, heap, _ = s.now()
	if b, err := readMemory(pid, url); err == nil {
		mem = &b
	} else {
		harness.Logf("memory breakdown: %v", err)
	}
	return rss, heap, mem, nil
}

// scaleRestart SIGKILLs the manager with every finished request in the
// cluster, creates one approved request while it is down, starts it and
// counts what it does.
func (h *benchHarness) scaleRestart(ctx context.Context, ns string) (*scaleRestart, error) {
	count, err := h.countRequests(ctx)
	if err != nil {
		return nil, err
	}
	rs := &scaleRestart{FinishedRequests: count, SettleSeconds: restartSettle.Seconds()}
	if err := h.Stack.KillManager(); err != nil {
		return nil, err
	}
	if err := h.Namespace(ctx, ns); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	times, err := h.watchCRs(wctx, ns, 1)
	if err != nil {
		return nil, err
	}
	if err := h.createApproved(ctx, ns, "after-restart", h.csrs[0], nstance.Ref); err != nil {
		return nil, err
	}
	time.Sleep(time.Second) // let cert-manager's approver settle
	// Modifications from now on only: no initial events for the requests
	// already there, which would also cost the API server CPU measured below.
	now := &metav1.PartialObjectMetadataList{}
	now.SetGroupVersionKind(cmapi.SchemeGroupVersion.WithKind("CertificateRequestList"))
	if err := h.Client.List(ctx, now, client.Limit(1)); err != nil {
		return nil, err
	}
	mods := &modWatch{}
	if err := mods.start(wctx, h.Client, &cmapi.CertificateRequestList{}, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: now.ResourceVersion}}); err != nil {
		return nil, err
	}
	apiBefore := h.cpuNow()
	start := time.Now()
	if err := h.Stack.StartManager(ctx); err != nil {
		return nil, err
	}
	rs.StartSeconds = time.Since(start).Seconds()
	if err := times.wait(ctx, h.c.timeout); err != nil {
		return nil, err
	}
	times.mu.Lock()
	for _, t := range times.ready {
		rs.FirstSignedSeconds = t.Sub(start).Seconds()
	}
	times.mu.Unlock()
	if rest := restartSettle - time.Since(start); rest > 0 {
		time.Sleep(rest)
	}
	cpu := cpuBetween(apiBefore, h.cpuNow(), 1)
	rs.APIServerCPUSeconds = cpu.perCert["kube-apiserver"].Seconds()
	url := h.Stack.ManagerMetricsURL()
	if pid := h.Stack.ManagerPID(); pid > 0 && url != "" {
		h.heapProfile(ctx, fmt.Sprintf("restart-%d", count))
		s := startSampler(pid, url)
		rss, _, heap, _ := s.now()
		s.close()
		rs.RSSMiB, rs.LiveHeapMiB = mib(rss), mib(heap)
	}
	rs.StatusWrites = float64(mods.total(ns + "/after-restart"))
	if reqs := h.managerRequests(); reqs != nil {
		rs.ManagerPatches = reqs["PATCH"]
	}
	if lines, err := scrapeLines(url, "nstance_issuer_signing_requests_total{"); err == nil {
		rs.Signatures = max(sumLines(lines)-1, 0) // the new request's signature
	}
	harness.Logf("restart with %d finished requests: caches synced in %.1f s, the waiting request signed %.1f s after start; %v status writes and %v signatures beyond it in %s; API server CPU %.2f s; then RSS %.1f MiB, live heap %.1f MiB",
		rs.FinishedRequests, rs.StartSeconds, rs.FirstSignedSeconds, rs.StatusWrites, rs.Signatures, restartSettle, rs.APIServerCPUSeconds, rs.RSSMiB, rs.LiveHeapMiB)
	return rs, nil
}

// pacedName names a paced figure: "paced at R/s", or, when the harness did
// not hold that arrival rate at one of the points, which, so that a run
// the harness could not pace is never read as the paced figure (and its
// growth carries no goal).
func pacedName(rate float64, points ...scalePoint) string {
	var missed []string
	for _, p := range points {
		for _, s := range []struct {
			label string
			p     *scalePaced
		}{{"nstance", p.Nstance.Paced}, {"CA issuer", p.CAIssuer.Paced}} {
			if s.p != nil && !s.p.Held {
				missed = append(missed, fmt.Sprintf("%s at N=%d %.1f/s, behind schedule p50 %.0f ms, p99 %.0f ms", s.label, p.N, s.p.ArrivalRate, s.p.LagP50Ms, s.p.LagP99Ms))
			}
		}
	}
	name := fmt.Sprintf("paced at %g/s", rate)
	if len(missed) > 0 {
		name += " (rate NOT held by the harness: " + strings.Join(missed, "; ") + ")"
	}
	return name
}

func sumValues(m map[string]float64) float64 {
	var s float64
	for _, v := range m {
		s += v
	}
	return s
}

// sumLines sums the values of Prometheus text lines.
func sumLines(lines []string) float64 {
	var s float64
	for _, l := range lines {
		if j := strings.LastIndexByte(l, ' '); j >= 0 {
			if v, err := strconv.ParseFloat(l[j+1:], 64); err == nil {
				s += v
			}
		}
	}
	return s
}

// countRequests is how many CertificateRequests the cluster holds.
func (h *benchHarness) countRequests(ctx context.Context) (int, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(cmapi.SchemeGroupVersion.WithKind("CertificateRequestList"))
	if err := h.Client.List(ctx, list); err != nil {
		return 0, err
	}
	return len(list.Items), nil
}

// report prints the sweep's figures: per point, and the growth from the
// smallest point to the largest with the goals.
func (sw *scaleSweep) report(r *results) {
	if sw.Memory != nil {
		sw.Memory.report(r)
	}
	for _, p := range sw.Points {
		at := fmt.Sprintf("scale N=%d: ", p.N)
		if n, ca := p.Nstance.Paced, p.CAIssuer.Paced; n != nil && ca != nil {
			name := pacedName(n.Rate, p)
			note := fmt.Sprintf("requests timed: nstance %d, CA issuer %d; not timed, seen only by a catch-up list: %d, %d", n.Timed, ca.Timed, n.Untimed, ca.Untimed)
			r.add(at+"nstance approved→Ready p50, "+name, n.P50Ms, "ms", "CA issuer", ca.P50Ms, "", note)
			r.add(at+"nstance approved→Ready p99, "+name, n.P99Ms, "ms", "CA issuer", ca.P99Ms, "", note)
			for _, s := range []struct {
				label string
				p     *scalePaced
			}{{"nstance", n}, {"CA issuer", ca}} {
				r.add(fmt.Sprintf("%spaced stage, %s: approvals written", at, s.label), s.p.ArrivalRate, "/s", "asked", s.p.Rate, "",
					fmt.Sprintf("behind schedule p50 %.0f ms, p99 %.0f ms; rate held: %t; signed %.1f/s", s.p.LagP50Ms, s.p.LagP99Ms, s.p.Held, s.p.Throughput))
			}
			if ns, cs := n.Split, ca.Split; ns != nil && cs != nil {
				note := fmt.Sprintf("split with the API server's audit log: %d and %d requests matched, %d and %d not", ns.Requests, cs.Requests, ns.Unmatched, cs.Unmatched)
				r.add(at+"nstance approved → signer's status write arrives, p99, "+name, ns.ToSignerWrite.P99Ms, "ms", "CA issuer", cs.ToSignerWrite.P99Ms, "", note)
				r.add(at+"nstance signer's status write (API server + etcd), p99, "+name, ns.Write.P99Ms, "ms", "CA issuer", cs.Write.P99Ms, "", "")
				r.add(at+"nstance status write done → watch sees Ready, p99, "+name, ns.ReadyDelivery.P99Ms, "ms", "CA issuer", cs.ReadyDelivery.P99Ms, "", "")
				r.add(at+"nstance approval write done → watch sees it, p99, "+name, ns.ApprovalDelivery.P99Ms, "ms", "CA issuer", cs.ApprovalDelivery.P99Ms, "", "")
				r.add(fmt.Sprintf("%snstance approved→Ready p99, median of %d windows of %d requests, %s", at, ns.Windows, ns.WindowSize, name), ns.WindowP99Med, "ms", "CA issuer", cs.WindowP99Med, "",
					fmt.Sprintf("window p99 min %.0f, max %.0f ms (CA issuer %.0f, %.0f)", ns.WindowP99Min, ns.WindowP99Max, cs.WindowP99Min, cs.WindowP99Max))
				r.add(at+"nstance slowest 1%: mean ms to the signer's write / in the write / to Ready delivery", ns.ToSignerWrite.SlowestMs, "ms", "CA issuer", cs.ToSignerWrite.SlowestMs, "",
					fmt.Sprintf("nstance %.0f / %.0f / %.0f ms, CA issuer %.0f / %.0f / %.0f ms", ns.ToSignerWrite.SlowestMs, ns.Write.SlowestMs, ns.ReadyDelivery.SlowestMs, cs.ToSignerWrite.SlowestMs, cs.Write.SlowestMs, cs.ReadyDelivery.SlowestMs))
			}
		}
		r.add(at+"nstance signing throughput, unpaced", p.Nstance.Throughput, "/s", "CA issuer", p.CAIssuer.Throughput, "", "")
		r.add(at+"nstance manager CPU per certificate", p.Nstance.SignerCPUMs, "ms", "", 0, "", "")
		r.add(at+"CA issuer process CPU per certificate (with the harness)", p.CAIssuer.SignerCPUMs, "ms", "", 0, "", "")
		r.add(at+"API server CPU per certificate, nstance", p.Nstance.APIServerCPUMs, "ms", "CA issuer", p.CAIssuer.APIServerCPUMs, "", "")
		r.add(at+"nstance manager API requests per certificate", p.Nstance.APIRequests, "req", "", 0, "", "")
		r.add(at+"nstance backlog throughput", p.BacklogRate, "/s", "", 0, "", "")
		r.add(at+"Events dropped by the manager's recorder (since the backlog's start)", p.EventsDropped, "", "", 0, "", "goal 0: an Event per signature")
		r.add(fmt.Sprintf("%sRSS at rest, %d finished requests", at, p.FinishedRequests), p.RSSMiB, "MiB", "", 0, "", "")
		r.add(fmt.Sprintf("%sGo live heap at rest, %d finished requests", at, p.FinishedRequests), p.LiveHeapMiB, "MiB", "", 0, "", "")
	}
	if len(sw.Points) >= 2 {
		first, last := sw.Points[0], sw.Points[len(sw.Points)-1]
		span := fmt.Sprintf("N=%d vs N=%d", last.N, first.N)
		growth := func(name string, a, b float64, unit, goal string) {
			r.add("scale growth "+span+": "+name, b, unit, fmt.Sprintf("N=%d", first.N), a, goal, "")
		}
		growth("nstance manager CPU per certificate", first.Nstance.SignerCPUMs, last.Nstance.SignerCPUMs, "ms", "ratio <= 1.15")
		growth("nstance manager API requests per certificate", first.Nstance.APIRequests, last.Nstance.APIRequests, "req", "ratio <= 1.15")
		if a, b := first.Nstance.Paced, last.Nstance.Paced; a != nil && b != nil {
			goal := ""
			if a.Held && b.Held {
				goal = "ratio <= 1.15"
			}
			growth("nstance approved→Ready p99, "+pacedName(a.Rate, first, last), a.P99Ms, b.P99Ms, "ms", goal)
			if c, d := first.CAIssuer.Paced, last.CAIssuer.Paced; c != nil && d != nil {
				growth("CA issuer approved→Ready p99, "+pacedName(c.Rate, first, last), c.P99Ms, d.P99Ms, "ms", "")
			}
			// Whose the growth is: the signer's share and the API server's,
			// from the audit log, and the p99 of equal windows.
			for _, iss := range []struct {
				label string
				a, b  *scalePaced
			}{{"nstance", a, b}, {"CA issuer", first.CAIssuer.Paced, last.CAIssuer.Paced}} {
				if iss.a == nil || iss.b == nil || iss.a.Split == nil || iss.b.Split == nil {
					continue
				}
				sa, sb := iss.a.Split, iss.b.Split
				growth(iss.label+" approved → signer's status write arrives, p99", sa.ToSignerWrite.P99Ms, sb.ToSignerWrite.P99Ms, "ms", "")
				growth(iss.label+" approval write done → signer's status write arrives (API server's clock), p99", sa.FromApprovalWrite.P99Ms, sb.FromApprovalWrite.P99Ms, "ms", "")
				growth(fmt.Sprintf("%s approved → signer's status write arrives, p99 of windows of %d requests, median", iss.label, sb.WindowSize), sa.SignerWindowP99Med, sb.SignerWindowP99Med, "ms", "")
				growth(iss.label+" status write (API server + etcd), p99", sa.Write.P99Ms, sb.Write.P99Ms, "ms", "")
				growth(iss.label+" status write done → watch sees Ready, p99", sa.ReadyDelivery.P99Ms, sb.ReadyDelivery.P99Ms, "ms", "")
				growth(fmt.Sprintf("%s approved→Ready p99 of windows of %d requests, median", iss.label, sb.WindowSize), sa.WindowP99Med, sb.WindowP99Med, "ms", "")
			}
		}
		growth("API server CPU per certificate, nstance", first.Nstance.APIServerCPUMs, last.Nstance.APIServerCPUMs, "ms", "")
		growth("nstance backlog throughput", first.BacklogRate, last.BacklogRate, "/s", "")
		growth("RSS at rest", first.RSSMiB, last.RSSMiB, "MiB", "")
		if d := last.FinishedRequests - first.FinishedRequests; d > 0 {
			kib, _ := report.PerItem(first.RSSMiB*1024, last.RSSMiB*1024, d)
			heap, _ := report.PerItem(first.LiveHeapMiB*1024, last.LiveHeapMiB*1024, d)
			r.add("scale: RSS per finished request (between the smallest and largest point)", kib, "KiB", "", 0, "", "")
			r.add("scale: Go live heap per finished request (between the smallest and largest point)", heap, "KiB", "", 0, "", "")
		}
	}
	for _, rs := range sw.restarts() {
		at := fmt.Sprintf("scale restart with %d finished requests: ", rs.FinishedRequests)
		r.add(at+"finished requests modified", rs.StatusWrites, "", "", 0, "", "goal 0")
		r.add(at+"manager PATCH requests", rs.ManagerPatches, "req", "", 0, "", "issuers' status and the new request's included")
		r.add(at+"signing attempts for finished requests", rs.Signatures, "", "", 0, "", "goal 0")
		r.add(at+"process start → caches synced", rs.StartSeconds, "s", "", 0, "", "")
		r.add(at+"process start → first new request Ready", rs.FirstSignedSeconds, "s", "10 s", 10, "ratio <= 1", "")
		r.add(at+"API server CPU, start + settle window", rs.APIServerCPUSeconds, "s", "", 0, "", fmt.Sprintf("%.0f s window", rs.SettleSeconds))
		if rs.RSSMiB > 0 {
			r.add(at+"manager RSS at the end of the settle window", rs.RSSMiB, "MiB", "", 0, "", "")
			r.add(at+"manager Go live heap at the end of the settle window", rs.LiveHeapMiB, "MiB", "", 0, "", "")
		}
	}
	if tr := sw.Trust; tr != nil {
		tr.report(r)
	}
	if rs := sw.Reissue; rs != nil {
		rs.report(r)
	}
}

// restarts are the sweep's restarts, one per point (results written before
// that held one, after the last point, in Restart).
func (sw *scaleSweep) restarts() []*scaleRestart {
	var out []*scaleRestart
	for _, p := range sw.Points {
		if p.Restart != nil {
			out = append(out, p.Restart)
		}
	}
	if len(out) == 0 && sw.Restart != nil {
		out = append(out, sw.Restart)
	}
	return out
}
