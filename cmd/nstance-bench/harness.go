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

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/app"
	"github.com/nstance-dev/nstance-issuer/internal/localstack"
	"github.com/nstance-dev/nstance-issuer/internal/testpki"
)

const (
	caSecret      = "bench-ca"
	nstanceIssuer = "bench-nstance"
	cmCAIssuer    = "bench-ca"
)

// issuerUnderTest is one of the two issuers compared, holding the same CA.
type issuerUnderTest struct {
	label string
	ref   cmmeta.IssuerReference
}

var (
	nstance = issuerUnderTest{"nstance", cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "NstanceClusterIssuer", Name: nstanceIssuer}}
	caIss   = issuerUnderTest{"ca-issuer", cmmeta.IssuerReference{Group: "cert-manager.io", Kind: cmapi.ClusterIssuerKind, Name: cmCAIssuer}}
)

type harness struct {
	c     *config
	stack *localstack.Stack
	// cl is the harness's own client: no client-side rate limit, so that
	// creating objects never paces the issuers it measures.
	cl   client.WithWatch
	ca   *testpki.CA
	csrs [][]byte
}

func newHarness(ctx context.Context, c *config, stack *localstack.Stack) (*harness, error) {
	h := &harness{c: c, stack: stack}
	var err error
	if h.cl, err = newClient(stack.Config, -1, 0); err != nil {
		return nil, err
	}
	if h.ca, err = testpki.NewValidRootCA("nstance-bench CA"); err != nil {
		return nil, err
	}
	logf("generating %d ECDSA P-256 CSRs", c.n)
	for i := range c.n {
		csr, err := testpki.CSR(fmt.Sprintf("svc-%d.example.com", i), fmt.Sprintf("svc-%d.example.com", i))
		if err != nil {
			return nil, err
		}
		h.csrs = append(h.csrs, csr)
	}
	// One CA Secret, used by both issuers.
	if err := h.cl.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: localstack.ClusterResourceNamespace, Name: caSecret},
		Type:       corev1.SecretTypeTLS,
		Data:       h.ca.SecretData(),
	}); err != nil {
		return nil, err
	}
	if err := h.cl.Create(ctx, &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: nstanceIssuer},
		Spec: v1alpha1.IssuerSpec{
			CA:              v1alpha1.CASpec{SecretName: caSecret},
			DefaultTemplate: "web",
			Templates: []v1alpha1.CertificateTemplate{{
				Name: "web", Kind: v1alpha1.ServerKind, TTL: 2160,
				AllowedDNSNames: []string{"*.example.com"},
			}},
		},
	}); err != nil {
		return nil, err
	}
	if err := h.cl.Create(ctx, &cmapi.ClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: cmCAIssuer},
		Spec:       cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{CA: &cmapi.CAIssuer{SecretName: caSecret}}},
	}); err != nil {
		return nil, err
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var n v1alpha1.NstanceClusterIssuer
		var ci cmapi.ClusterIssuer
		if err := h.cl.Get(ctx, client.ObjectKey{Name: nstanceIssuer}, &n); err != nil {
			return false, err
		}
		if err := h.cl.Get(ctx, client.ObjectKey{Name: cmCAIssuer}, &ci); err != nil {
			return false, err
		}
		ready := meta.IsStatusConditionTrue(n.Status.Conditions, "Ready")
		for _, c := range ci.Status.Conditions {
			if c.Type == cmapi.IssuerConditionReady && c.Status == cmmeta.ConditionTrue {
				return ready, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("issuers not Ready: %w", err)
	}
	return h, nil
}

// newClient is a client from the admin config; qps < 0 disables the
// client-side rate limiter.
func newClient(cfg *rest.Config, qps float32, burst int) (client.WithWatch, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = qps, burst
	scheme, err := app.NewScheme()
	if err != nil {
		return nil, err
	}
	return client.NewWithWatch(cfg, client.Options{Scheme: scheme})
}

func (h *harness) namespace(ctx context.Context, name string) error {
	err := h.cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// parallel runs f(0..n-1) on the harness's workers and returns the first error.
func parallel(ctx context.Context, workers, n int, f func(ctx context.Context, i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(ctx, i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// crTimes are the first moments a watch saw each CertificateRequest
// approved and Ready (or failed).
type crTimes struct {
	mu       sync.Mutex
	approved map[string]time.Time
	ready    map[string]time.Time
	failed   map[string]string
	done     chan struct{}
	want     int
}

// watchCRs watches CertificateRequests in ns until want of them are Ready
// or failed, or ctx ends. It returns once the watch is established.
func (h *harness) watchCRs(ctx context.Context, ns string, want int) (*crTimes, error) {
	t := &crTimes{approved: map[string]time.Time{}, ready: map[string]time.Time{}, failed: map[string]string{}, done: make(chan struct{}), want: want}
	err := h.watchLoop(ctx, ns, &cmapi.CertificateRequestList{}, func(obj client.Object, now time.Time) bool {
		cr, ok := obj.(*cmapi.CertificateRequest)
		return ok && t.observe(cr, now)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// observe records cr's state; it reports whether every wanted request is done.
func (t *crTimes) observe(cr *cmapi.CertificateRequest, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range cr.Status.Conditions {
		switch {
		case c.Type == cmapi.CertificateRequestConditionApproved && c.Status == cmmeta.ConditionTrue:
			if _, ok := t.approved[cr.Name]; !ok {
				t.approved[cr.Name] = now
			}
		case c.Type == cmapi.CertificateRequestConditionReady && c.Status == cmmeta.ConditionTrue:
			if _, ok := t.ready[cr.Name]; !ok {
				t.ready[cr.Name] = now
			}
		case c.Type == cmapi.CertificateRequestConditionReady && c.Reason == cmapi.CertificateRequestReasonFailed:
			t.failed[cr.Name] = c.Message
		}
	}
	if len(t.ready)+len(t.failed) >= t.want {
		select {
		case <-t.done:
		default:
			close(t.done)
		}
		return true
	}
	return false
}

func (t *crTimes) wait(ctx context.Context, timeout time.Duration) error {
	select {
	case <-t.done:
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(timeout):
		t.mu.Lock()
		defer t.mu.Unlock()
		return fmt.Errorf("timed out after %s: %d approved, %d Ready, %d failed of %d", timeout, len(t.approved), len(t.ready), len(t.failed), t.want)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.failed) > 0 {
		for name, msg := range t.failed {
			return fmt.Errorf("%d requests failed, e.g. %s: %s", len(t.failed), name, msg)
		}
	}
	return nil
}

// createApproved creates a CertificateRequest for csr and approves it at once
// through the status subresource. cert-manager's approver, which runs on
// this stack, may approve it first: then the update conflicts and is
// dropped. Either way the clock starts when a watch sees it approved.
func (h *harness) createApproved(ctx context.Context, ns, name string, csr []byte, ref cmmeta.IssuerReference) error {
	cr := &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: cmapi.CertificateRequestSpec{
			Request:   csr,
			IssuerRef: ref,
			Duration:  &metav1.Duration{Duration: 2160 * time.Hour},
			Usages:    []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageKeyEncipherment, cmapi.UsageServerAuth},
		},
	}
	if err := h.cl.Create(ctx, cr); err != nil {
		return fmt.Errorf("creating CertificateRequest %s/%s: %w", ns, name, err)
	}
	cr.Status.Conditions = append(cr.Status.Conditions, cmapi.CertificateRequestCondition{
		Type: cmapi.CertificateRequestConditionApproved, Status: cmmeta.ConditionTrue,
		Reason: "nstance-bench", Message: "approved by the benchmark harness", LastTransitionTime: ptrNow(),
	})
	if err := h.cl.Status().Update(ctx, cr); err != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("approving CertificateRequest %s/%s: %w", ns, name, err)
	}
	return nil
}

func ptrNow() *metav1.Time { t := metav1.Now(); return &t }

// stageResult is one issuer's run of N approved requests.
type stageResult struct {
	throughput    float64 // certificates per second, first approved to last Ready
	p50, p95, p99 time.Duration
}

func (h *harness) runRequests(ctx context.Context, ns string, iss issuerUnderTest, n int) (stageResult, error) {
	if err := h.namespace(ctx, ns); err != nil {
		return stageResult{}, err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	times, err := h.watchCRs(wctx, ns, n)
	if err != nil {
		return stageResult{}, err
	}
	if err := parallel(ctx, h.c.workers, n, func(ctx context.Context, i int) error {
		return h.createApproved(ctx, ns, fmt.Sprintf("cr-%d", i), h.csrs[i%len(h.csrs)], iss.ref)
	}); err != nil {
		return stageResult{}, err
	}
	if err := times.wait(ctx, h.c.timeout); err != nil {
		return stageResult{}, fmt.Errorf("%s: %w", iss.label, err)
	}
	times.mu.Lock()
	defer times.mu.Unlock()
	var first, last time.Time
	var lat []time.Duration
	for name, ready := range times.ready {
		approved, ok := times.approved[name]
		if !ok || approved.After(ready) {
			// Approved and Ready in one event (not seen in between).
			approved = ready
		}
		lat = append(lat, ready.Sub(approved))
		if first.IsZero() || approved.Before(first) {
			first = approved
		}
		if ready.After(last) {
			last = ready
		}
	}
	sortDurations(lat)
	res := stageResult{p50: quantile(lat, .5), p95: quantile(lat, .95), p99: quantile(lat, .99)}
	if span := last.Sub(first).Seconds(); span > 0 {
		res.throughput = float64(len(lat)) / span
	}
	return res, nil
}

// rawPatchRate measures how fast the API server takes CertificateRequest
// status patches of a signer's size (certificate, ca, Ready condition) from
// a client with the manager's settings, with the fallback limit it uses on
// API servers without API Priority and Fairness, and unthrottled.
func (h *harness) rawPatchRate(ctx context.Context, r *report) error {
	const ns = "bench-raw"
	if err := h.namespace(ctx, ns); err != nil {
		return err
	}
	n := h.c.rawPatches
	// An issuer nobody implements: no controller signs these.
	ref := cmmeta.IssuerReference{Group: "bench.nstance.dev", Kind: "Nobody", Name: "nobody"}
	if err := parallel(ctx, h.c.workers, n, func(ctx context.Context, i int) error {
		return h.createApproved(ctx, ns, fmt.Sprintf("raw-%d", i), h.csrs[i%len(h.csrs)], ref)
	}); err != nil {
		return err
	}
	time.Sleep(time.Second) // let cert-manager's approver settle
	type setting struct {
		label   string
		qps     float32
		burst   int
		workers int
	}
	// The manager's own settings, resolved from its flags as it resolves
	// them (automatic by default: no client-side limit when the API server
	// has API Priority and Fairness).
	limit, workers, err := managerClientSettings(ctx, h.stack.Config, h.c.managerArgs)
	if err != nil {
		return err
	}
	managerLabel := fmt.Sprintf("manager client (%s, %d workers)", describeLimit(limit), workers)
	settings := []setting{
		{managerLabel, limit.QPS, limit.Burst, workers},
		{fmt.Sprintf("QPS %d, burst %d (the fallback without APF), %d workers", app.FallbackKubeAPIQPS, app.FallbackKubeAPIBurst, workers), app.FallbackKubeAPIQPS, app.FallbackKubeAPIBurst, workers},
		{"unthrottled, 16 workers", -1, 0, 16},
	}
	if limit.Unlimited() && workers == 16 {
		settings = settings[:2]
	}
	// The manager's setting runs first and again last, and its faster run
	// counts: the first patches of a run also warm the API server up.
	settings = append(settings, settings[0])
	rates := map[string]float64{}
	for round, s := range settings {
		cl, err := newClient(h.stack.Config, s.qps, s.burst)
		if err != nil {
			return err
		}
		began := time.Now()
		err = parallel(ctx, s.workers, n, func(ctx context.Context, i int) error {
			now := metav1.Now()
			body, err := json.Marshal(map[string]any{"status": cmapi.CertificateRequestStatus{
				Certificate: h.ca.CertPEM,
				CA:          h.ca.CertPEM,
				Conditions: []cmapi.CertificateRequestCondition{
					{Type: cmapi.CertificateRequestConditionApproved, Status: cmmeta.ConditionTrue, Reason: "nstance-bench", LastTransitionTime: &now},
					{Type: cmapi.CertificateRequestConditionReady, Status: cmmeta.ConditionTrue, Reason: cmapi.CertificateRequestReasonIssued,
						Message: fmt.Sprintf("raw patch, round %d", round), LastTransitionTime: &now},
				},
			}})
			if err != nil {
				return err
			}
			cr := &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("raw-%d", i)}}
			return cl.Status().Patch(ctx, cr, client.RawPatch(types.MergePatchType, body))
		})
		if err != nil {
			return fmt.Errorf("raw patch (%s): %w", s.label, err)
		}
		rate := float64(n) / time.Since(began).Seconds()
		logf("raw %s, round %d: %.1f/s", s.label, round+1, rate)
		if old, seen := rates[s.label]; seen {
			rates[s.label] = max(old, rate)
			continue
		}
		rates[s.label] = rate
	}
	for i, s := range settings[:len(settings)-1] {
		note := ""
		if s.burst > 0 && n <= s.burst {
			note = "all patches within the client's burst: not rate-limited"
		}
		if i == 0 {
			note = "faster of a first and a last run"
		}
		r.add("raw: status patches/s, "+s.label, rates[s.label], "/s", "", 0, "", note)
	}
	r.rawRate = rates[managerLabel]
	return nil
}

// managerClientSettings resolves the manager's client-side rate limit and
// request workers from the flags it is started with, parsed by the
// manager's own FlagSet, as the manager does.
func managerClientSettings(ctx context.Context, cfg *rest.Config, args []string) (app.RateLimit, int, error) {
	o, err := app.ParseArgs(args)
	if err != nil {
		return app.RateLimit{}, 0, fmt.Errorf("the manager's flags %q: %w", args, err)
	}
	return app.ResolveRateLimit(ctx, cfg, o.KubeAPIQPS, o.KubeAPIBurst), max(o.Controller.MaxConcurrentReconciles, 1), nil
}

func describeLimit(l app.RateLimit) string {
	if l.Unlimited() {
		return "no client-side limit: APF"
	}
	return fmt.Sprintf("QPS %g, burst %d", l.QPS, l.Burst)
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
func (h *harness) issuerStage(ctx context.Context, r *report) error {
	best := map[string]stageRun{}
	for round := range h.c.stageRounds {
		for _, iss := range []issuerUnderTest{nstance, caIss} {
			run, err := h.stageRound(ctx, iss, round)
			if err != nil {
				return err
			}
			if b, ok := best[iss.label]; !ok || run.throughput > b.throughput {
				best[iss.label] = run
			}
		}
	}
	n, ca := best[nstance.label], best[caIss.label]
	defer h.reportStageCPU(r, n.cpu, ca.cpu)
	roundsNote := fmt.Sprintf("fastest of %d alternating rounds", h.c.stageRounds)
	r.add("stage: nstance signing throughput", n.throughput, "/s", "CA issuer", ca.throughput, "ratio >= 1.5", roundsNote)
	if r.rawRate > 0 {
		r.add("stage: nstance throughput vs raw status-patch rate", n.throughput, "/s", "raw patch rate, manager client", r.rawRate, "ratio >= 0.8", "")
	}
	r.add("stage: CA issuer signing throughput", ca.throughput, "/s", "", 0, "", "")
	if n.requests != nil {
		// The manager's API calls per certificate: status PATCHes and
		// Event POSTs (the recorder's own client), by verb.
		for _, m := range []string{"PATCH", "POST", "GET", "PUT"} {
			if d := n.requests[m]; d > 0 {
				r.add("stage: nstance manager API "+m+" requests per certificate", d/float64(h.c.n), "req", "", 0, "", "")
			}
		}
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	r.add("stage: nstance approved→Ready p50", ms(n.p50), "ms", "CA issuer", ms(ca.p50), "", "")
	r.add("stage: nstance approved→Ready p95", ms(n.p95), "ms", "CA issuer", ms(ca.p95), "", "")
	r.add("stage: nstance approved→Ready p99", ms(n.p99), "ms", "CA issuer", ms(ca.p99), "ratio < 1", "")
	return nil
}

// stageRound runs one issuer's stage once, in its own namespace.
func (h *harness) stageRound(ctx context.Context, iss issuerUnderTest, round int) (stageRun, error) {
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
	got, err := h.runRequests(ctx, fmt.Sprintf("bench-stage-%s-%d", iss.label, round), iss, h.c.n)
	if err != nil {
		return stageRun{}, err
	}
	run := stageRun{stageResult: got, cpu: cpuBetween(cpuBefore, h.cpuNow(), h.c.n)}
	if prof != nil {
		prof.close()
		logf("CPU profiles of the manager and the API server during the stage: %s (go tool pprof -top %s/manager-*.pprof)", h.c.profileDir, h.c.profileDir)
	}
	if before != nil {
		if after := h.managerRequests(); after != nil {
			run.requests = map[string]float64{}
			for verb, v := range after {
				run.requests[verb] = v - before[verb]
			}
		}
	}
	logf("stage %s, round %d: %d requests in %s, %.1f/s", iss.label, round+1, h.c.n, time.Since(t).Round(10*time.Millisecond), got.throughput)
	return run, nil
}

// backlog measures each issuer's signing capacity: its signer is stopped
// (nstance-issuer's manager process; cert-manager's CA issuer controller),
// N approved requests are created, the signer starts and signs them with
// nothing else writing to the API server, as in the raw status-patch
// measurement. In the stage the harness's own create and approve of each
// request share the API server with the signer, and a signer that keeps up
// with them is measured at their rate, not its own.
func (h *harness) backlog(ctx context.Context, r *report) error {
	if h.stack.ManagerPID() == 0 {
		return nil // an in-process manager cannot be stopped
	}
	thr := map[string]float64{}
	for _, iss := range []issuerUnderTest{nstance, caIss} {
		stop, start := h.stack.StopManager, func() error { return h.stack.StartManager(ctx) }
		if iss == caIss {
			stop = func() error { return h.stack.PauseCertManagerController(localstack.CAIssuerController) }
			start = func() error { return h.stack.ResumeCertManagerController(ctx, localstack.CAIssuerController) }
		}
		t, err := h.backlogRun(ctx, iss, stop, start)
		if err != nil {
			return fmt.Errorf("backlog %s: %w", iss.label, err)
		}
		thr[iss.label] = t
		logf("backlog %s: %d requests signed at %.1f/s", iss.label, h.c.n, t)
	}
	// The stage goals, applied to signing capacity as well: both are
	// printed, so neither hides the other.
	r.add("backlog: nstance signing throughput, N approved requests waiting at start", thr[nstance.label], "/s", "CA issuer", thr[caIss.label], "ratio >= 1.5", "")
	if r.rawRate > 0 {
		r.add("backlog: nstance throughput vs raw status-patch rate", thr[nstance.label], "/s", "raw patch rate, manager client", r.rawRate, "ratio >= 0.8", "")
	}
	r.add("backlog: CA issuer signing throughput", thr[caIss.label], "/s", "", 0, "", "")
	return nil
}

func (h *harness) backlogRun(ctx context.Context, iss issuerUnderTest, stop, start func() error) (float64, error) {
	ns := "bench-backlog-" + iss.label
	if err := h.namespace(ctx, ns); err != nil {
		return 0, err
	}
	if err := stop(); err != nil {
		return 0, err
	}
	if err := parallel(ctx, h.c.workers, h.c.n, func(ctx context.Context, i int) error {
		return h.createApproved(ctx, ns, fmt.Sprintf("cr-%d", i), h.csrs[i%len(h.csrs)], iss.ref)
	}); err != nil {
		_ = start()
		return 0, err
	}
	time.Sleep(time.Second) // let cert-manager's approver settle
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	times, err := h.watchCRs(wctx, ns, h.c.n)
	if err != nil {
		_ = start()
		return 0, err
	}
	if err := start(); err != nil {
		return 0, err
	}
	if err := times.wait(ctx, h.c.timeout); err != nil {
		return 0, err
	}
	times.mu.Lock()
	defer times.mu.Unlock()
	var first, last time.Time
	for _, ready := range times.ready {
		if first.IsZero() || ready.Before(first) {
			first = ready
		}
		if ready.After(last) {
			last = ready
		}
	}
	if span := last.Sub(first).Seconds(); span > 0 && len(times.ready) > 1 {
		return float64(len(times.ready)-1) / span, nil
	}
	return 0, errors.New("too few requests to time")
}

// endToEnd creates N Certificates per issuer and times first create → all Ready.
func (h *harness) endToEnd(ctx context.Context, r *report) error {
	took := map[string]time.Duration{}
	for _, iss := range []issuerUnderTest{nstance, caIss} {
		ns := "bench-e2e-" + iss.label
		if err := h.namespace(ctx, ns); err != nil {
			return err
		}
		d, err := h.certificates(ctx, ns, iss)
		if err != nil {
			return fmt.Errorf("%s: %w", iss.label, err)
		}
		took[iss.label] = d
		logf("e2e %s: %d Certificates Ready in %s", iss.label, h.c.n, d.Round(10*time.Millisecond))
	}
	r.add("e2e: N Certificates, first create → all Ready, nstance", took[nstance.label].Seconds(), "s",
		"CA issuer", took[caIss.label].Seconds(), "ratio <= 1.0", "")
	return nil
}

func (h *harness) certificates(ctx context.Context, ns string, iss issuerUnderTest) (time.Duration, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	ready := map[string]time.Time{}
	done := make(chan struct{})
	err := h.watchLoop(wctx, ns, &cmapi.CertificateList{}, func(obj client.Object, now time.Time) bool {
		cert, ok := obj.(*cmapi.Certificate)
		if !ok {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		for _, c := range cert.Status.Conditions {
			if c.Type == cmapi.CertificateConditionReady && c.Status == cmmeta.ConditionTrue {
				if _, seen := ready[cert.Name]; !seen {
					ready[cert.Name] = now
					if len(ready) == h.c.n {
						close(done)
						return true
					}
				}
			}
		}
		return false
	})
	if err != nil {
		return 0, err
	}
	began := time.Now()
	if err := parallel(ctx, h.c.workers, h.c.n, func(ctx context.Context, i int) error {
		name := fmt.Sprintf("cert-%d", i)
		return h.cl.Create(ctx, &cmapi.Certificate{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: cmapi.CertificateSpec{
				SecretName: name + "-tls",
				DNSNames:   []string{name + "-" + iss.label + ".example.com"},
				Duration:   &metav1.Duration{Duration: 2160 * time.Hour},
				PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256},
				IssuerRef:  iss.ref,
			},
		})
	}); err != nil {
		return 0, err
	}
	select {
	case <-done:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(h.c.timeout):
		mu.Lock()
		defer mu.Unlock()
		return 0, fmt.Errorf("timed out: %d of %d Certificates Ready", len(ready), h.c.n)
	}
	mu.Lock()
	defer mu.Unlock()
	var last time.Time
	for _, t := range ready {
		if t.After(last) {
			last = t
		}
	}
	return last.Sub(began), nil
}

// managerRequests sums the manager process's rest_client_requests_total by
// HTTP method; nil when the manager runs in this process.
func (h *harness) managerRequests() map[string]float64 {
	url := h.stack.ManagerMetricsURL()
	if url == "" {
		return nil
	}
	lines, err := scrapeLines(url, "rest_client_requests_total{")
	if err != nil {
		logf("scraping %s: %v", url, err)
		return nil
	}
	out := map[string]float64{}
	for _, l := range lines {
		i := strings.Index(l, `method="`)
		j := strings.LastIndexByte(l, ' ')
		if i < 0 || j < 0 {
			continue
		}
		method := l[i+len(`method="`):]
		method = method[:strings.IndexByte(method, '"')]
		v, err := strconv.ParseFloat(l[j+1:], 64)
		if err == nil {
			out[method] += v
		}
	}
	return out
}

// watchLoop calls observe with every object of list's kind in ns as a watch
// sees it, until observe returns true or ctx ends. When the server ends the
// watch (or sends an error, e.g. APF's 429 under load), it lists to catch up
// (those times are late by the gap, which is logged) and watches again. It
// returns once the first watch is established.
func (h *harness) watchLoop(ctx context.Context, ns string, list client.ObjectList, observe func(client.Object, time.Time) bool) error {
	w, err := h.cl.Watch(ctx, list.DeepCopyObject().(client.ObjectList), client.InNamespace(ns))
	if err != nil {
		return err
	}
	go func() {
		for {
			for ev := range w.ResultChan() {
				now := time.Now()
				if ev.Type == watch.Error {
					logf("watch %s in %s: error event %v; watching again", fmt.Sprintf("%T", list), ns, ev.Object)
					break
				}
				if obj, ok := ev.Object.(client.Object); ok && observe(obj, now) {
					w.Stop()
					return
				}
			}
			w.Stop()
			if ctx.Err() != nil {
				return
			}
			for {
				if w, err = h.cl.Watch(ctx, list.DeepCopyObject().(client.ObjectList), client.InNamespace(ns)); err == nil || ctx.Err() != nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if ctx.Err() != nil {
				return
			}
			l := list.DeepCopyObject().(client.ObjectList)
			if err := h.cl.List(ctx, l, client.InNamespace(ns)); err != nil {
				logf("list %T in %s: %v", l, ns, err)
				continue
			}
			logf("watch %T in %s ended; caught up with a list", l, ns)
			done := false
			_ = meta.EachListItem(l, func(o runtime.Object) error {
				if obj, ok := o.(client.Object); ok && !done && observe(obj, time.Now()) {
					done = true
				}
				return nil
			})
			if done {
				w.Stop()
				return
			}
		}
	}()
	return nil
}

// reportStageCPU prints what each issuer's stage cost in CPU, by process.
func (h *harness) reportStageCPU(r *report, n, ca cpuUse) {
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
