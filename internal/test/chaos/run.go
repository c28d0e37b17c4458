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

package chaos

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
	"github.com/nstance-dev/nstance-issuer/internal/test/report"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

// restarter kills a component every killEvery of its working life and
// starts it again after a kubelet-like backoff (initial, doubling per kill,
// capped at max; the kubelet resets it only after a long healthy run, which
// never happens here).
type restarter struct {
	what       string
	kill       func() error
	start      func() error
	killEvery  time.Duration
	first, max time.Duration
	// kills are the moments of each kill.
	kills []time.Time
	// down is the summed time from each kill until the component was
	// working again.
	down time.Duration
}

// run kills and restarts until ctx ends, and leaves the component running.
func (r *restarter) run(ctx context.Context) error {
	backoff := r.first
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(r.killEvery):
		}
		killed := time.Now()
		if err := r.kill(); err != nil {
			return fmt.Errorf("killing %s: %w", r.what, err)
		}
		r.kills = append(r.kills, killed)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, r.max)
		if err := r.start(); err != nil {
			return fmt.Errorf("restarting %s: %w", r.what, err)
		}
		r.down += time.Since(killed)
	}
}

// driver creates the run's Certificates with create(lo, hi) while it
// breaks something, and returns once its fault is over (the broken
// component running again, a broken Secret fixed).
type driver func(ctx context.Context, obs *observer, res *result, create func(lo, hi int) error) error

// driverFor is scenario sc's driver for iss.
func (h *chaosHarness) driverFor(sc string, iss harness.Issuer) driver {
	switch sc {
	case "baseline":
		return func(_ context.Context, _ *observer, _ *result, create func(lo, hi int) error) error {
			return create(0, h.c.N)
		}
	case "kill-signer", "restart-cert-manager":
		return h.restartDriver(sc, iss)
	case leaderKill:
		return h.leaderKillDriver()
	case apiserverDown, etcdDown:
		return h.outageDriver(sc, iss)
	}
	if kind, ok := strings.CutPrefix(sc, "ca-"); ok {
		return h.caFaultDriver(caFault(kind), iss)
	}
	return nil
}

// restartDriver kills and restarts a component while all Certificates are
// created, until they are Ready or -timeout.
func (h *chaosHarness) restartDriver(sc string, iss harness.Issuer) driver {
	return func(ctx context.Context, obs *observer, res *result, create func(lo, hi int) error) error {
		f := &restarter{killEvery: h.c.killEvery, first: h.c.backoffFirst, max: h.c.backoffMax}
		if sc == "kill-signer" && iss == nstance {
			f.what = "nstance-issuer's manager (SIGKILL)"
			f.kill = h.Stack.KillManager
			f.start = func() error { return h.Stack.StartManager(h.stackCtx) }
		} else {
			// The CA issuer signs inside cert-manager's controllers.
			f.what = "cert-manager's controllers"
			f.kill = h.Stack.StopCertManager
			f.start = func() error { return h.Stack.StartCertManager(h.stackCtx) }
		}
		res.Fault = f.what
		fctx, stopFault := context.WithCancel(ctx)
		faultDone := make(chan error, 1)
		go func() { faultDone <- f.run(fctx) }()
		createErr := create(0, h.c.N)
		waitErr := obs.waitReady(ctx, h.c.timeout)
		stopFault()
		if err := errors.Join(createErr, <-faultDone); err != nil {
			return err
		}
		if waitErr != nil && !errors.Is(waitErr, harness.ErrTimeout) {
			return waitErr
		}
		res.Restarts = len(f.kills)
		res.DownSeconds = f.down.Seconds()
		var gaps []time.Duration
		for _, k := range f.kills {
			if next := obs.firstSignedAfter(k); !next.IsZero() {
				gaps = append(gaps, next.Sub(k))
			}
		}
		slices.Sort(gaps)
		res.KillToNextSignatureP50 = report.Median(gaps).Seconds()
		res.KillToNextSignatureMax = report.Quantile(gaps, 1).Seconds()
		return nil
	}
}

// drainFor is how long the stack gets without faults to finish what a
// run left pending: -drain, but at least twice the issuer's undisturbed run.
// A restarted cert-manager lists everything afresh and loses the work in
// flight, so at N=1000 on a loaded machine it can end a run of restarts with
// most Certificates not yet requested; a drain shorter than an undisturbed
// run would count cert-manager's catching up as requests stuck.
func (h *chaosHarness) drainFor(iss harness.Issuer) time.Duration {
	d := h.c.drain
	if b := h.baseline[iss.Label]; b > 0 {
		d = max(d, time.Duration(2*b*float64(time.Second)).Round(time.Second))
	}
	return d
}

// run creates N Certificates for iss in a namespace of its own through
// scenario sc's driver, waits until all are Ready (or -timeout, then
// -drain without faults), keeps watching for -settle, and counts.
func (h *chaosHarness) run(ctx context.Context, sc string, iss harness.Issuer) (*result, error) {
	drive := h.driverFor(sc, iss)
	if drive == nil {
		return nil, fmt.Errorf("no driver for scenario %s", sc)
	}
	ns := "chaos-" + sc + "-" + iss.Label
	if err := h.Namespace(ctx, ns); err != nil {
		return nil, err
	}
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	obs := newObserver(h.c.N)
	for _, l := range []client.ObjectList{&cmapi.CertificateList{}, &cmapi.CertificateRequestList{}} {
		if err := h.watch(wctx, ns, l, obs); err != nil {
			return nil, err
		}
	}
	res := &result{Scenario: sc, Issuer: iss.Label, Created: h.c.N}
	began := time.Now()
	create := func(lo, hi int) error { return h.createCertificates(ctx, ns, iss, lo, hi) }
	if err := drive(ctx, obs, res, create); err != nil {
		return nil, err
	}
	waitErr := obs.waitReady(ctx, h.c.timeout-time.Since(began))
	if errors.Is(waitErr, harness.ErrTimeout) {
		drain := h.drainFor(iss)
		harness.Logf("%s, %s: %d of %d Ready after %s; %s more without faults", sc, iss.Label, obs.readyCount(), h.c.N, h.c.timeout, drain)
		waitErr = obs.waitReady(ctx, drain)
	}
	if waitErr != nil && !errors.Is(waitErr, harness.ErrTimeout) {
		return nil, waitErr
	}
	settle := h.c.settle
	if strings.HasPrefix(sc, "ca-") {
		settle = h.c.reissueWatch
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(settle):
	}
	if err := h.count(ctx, ns, obs, res); err != nil {
		return nil, err
	}
	obs.mu.Lock()
	if len(obs.ready) == h.c.N {
		var last time.Time
		for _, t := range obs.ready {
			if t.After(last) {
				last = t
			}
		}
		res.Seconds = last.Sub(began).Seconds()
	}
	obs.mu.Unlock()
	if sc == "baseline" {
		h.baseline[iss.Label] = res.Seconds
	}
	if b := h.baseline[iss.Label]; b > 0 && res.Seconds > 0 {
		res.Ratio = res.Seconds / b
	}
	harness.Logf("%s", res.line())
	return res, nil
}

// count fills res's counts from the observer, the namespace's Events and
// the Certificates' Secrets.
func (h *chaosHarness) count(ctx context.Context, ns string, obs *observer, res *result) error {
	var events eventsv1.EventList
	if err := h.Client.List(ctx, &events, client.InNamespace(ns)); err != nil {
		return fmt.Errorf("listing Events: %w", err)
	}
	secret := func(name string) (*corev1.Secret, error) {
		var s corev1.Secret
		err := h.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &s)
		return &s, err
	}
	countRun(res, obs, h.c.N, ns, events.Items, secret, h.trustedRoots())
	return nil
}

// countRun fills res's counts for the Certificates cert-0 .. cert-(n-1) of
// ns from what the observer saw, the namespace's Events and the
// Certificates' Secrets (secret reads one; roots are the CAs whose
// certificates count as delivered):
//
//   - Ready: seen Ready; Failed: a request Failed or Denied, or the
//     Certificate's Issuing condition Failed; Stuck: neither;
//   - Lost: Ready, but its Secret is gone or holds no certificate for its
//     DNS name chaining to roots;
//   - Requests and Reissued: the requests ever seen, and Certificates with
//     more than one; LateRequests: seen after every Certificate was done;
//   - DoubleSigned: a request object (name and UID) whose status held two
//     certificates, or that got two CertificateIssued Events (an Event's
//     count and series count); SignedWithoutEvent: signed, no Event.
func countRun(res *result, obs *observer, n int, ns string, events []eventsv1.Event, secret func(name string) (*corev1.Secret, error), roots []byte) {
	issuedEvents := map[string]int{}
	// issuedNotes say which serial each Event named and when, from whom:
	// what tells a certificate minted twice from an Event sent twice.
	issuedNotes := map[string][]string{}
	for _, e := range events {
		if e.Reason != "CertificateIssued" || e.Regarding.Kind != cmapi.CertificateRequestKind {
			continue
		}
		count := max(1, int(e.DeprecatedCount))
		if e.Series != nil {
			count = max(count, int(e.Series.Count))
		}
		key := requestKey(e.Regarding.Name, e.Regarding.UID)
		issuedEvents[key] += count
		at, by := e.EventTime.Time, e.ReportingInstance
		if at.IsZero() { // a core/v1 Event, as cert-manager records them
			at, by = e.DeprecatedFirstTimestamp.Time, e.DeprecatedSource.Component
		}
		issuedNotes[key] = append(issuedNotes[key], fmt.Sprintf("%s by %s: %s", at.UTC().Format("15:04:05.000"), by, e.Note))
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	res.Ready = len(obs.ready)
	failed := map[string]bool{}
	for name := range obs.certFailed {
		failed[name] = true
	}
	for _, owner := range slices.Sorted(maps.Keys(obs.crsOf)) {
		crs := obs.crsOf[owner]
		res.Requests += len(crs)
		if len(crs) > 1 {
			res.Reissued++
			res.Examples = appendExample(res.Examples, fmt.Sprintf("Certificate %s got %d requests: %v", owner, len(crs), slices.Sorted(maps.Keys(crs))))
		}
		for cr := range crs {
			if _, ok := obs.crFailed[cr]; ok {
				failed[owner] = true
			}
		}
	}
	if !obs.doneAt.IsZero() {
		for _, cr := range slices.Sorted(maps.Keys(obs.crSeen)) {
			if obs.crSeen[cr].After(obs.doneAt) {
				res.LateRequests++
				res.Examples = appendExample(res.Examples, "request "+cr+" created after every Certificate was done")
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(obs.crFailed)) {
		res.Examples = appendExample(res.Examples, "failed request "+name+": "+obs.crFailed[name])
	}
	res.Failed = len(failed)
	for _, cr := range slices.Sorted(maps.Keys(obs.signedAt)) {
		sigs := max(len(obs.certs[cr]), issuedEvents[cr])
		res.MaxSignatures = max(res.MaxSignatures, sigs)
		if sigs > 1 {
			res.DoubleSigned++
			held := "?"
			if leaves, err := testpki.ParseChain(obs.certs[cr][0]); err == nil && len(leaves) > 0 {
				held = fmt.Sprintf("%X", leaves[0].SerialNumber)
			}
			res.Examples = appendExample(res.Examples, fmt.Sprintf("request %s signed %d times (%d certificates seen, the first with serial %s; %d CertificateIssued Events: %s)",
				cr, sigs, len(obs.certs[cr]), held, issuedEvents[cr], strings.Join(issuedNotes[cr], "; ")))
		}
		if issuedEvents[cr] == 0 {
			res.SignedWithoutEvent++
		}
	}
	for i := range n {
		name := fmt.Sprintf("cert-%d", i)
		if _, ok := obs.ready[name]; !ok {
			if !failed[name] {
				res.Stuck++
			}
			continue
		}
		s, err := secret(name + "-tls")
		if err != nil {
			res.Lost++
			res.Examples = appendExample(res.Examples, "Ready "+name+" without its Secret: "+err.Error())
			continue
		}
		leaf, err := testpki.VerifyChain(s.Data[corev1.TLSCertKey], roots, x509.ExtKeyUsageServerAuth)
		if err == nil && !slices.Contains(leaf.DNSNames, dnsName(ns, i)) {
			err = fmt.Errorf("DNS names %v", leaf.DNSNames)
		}
		if err != nil {
			res.Lost++
			res.Examples = appendExample(res.Examples, "Ready "+name+" with a bad certificate: "+err.Error())
		}
	}
}

func appendExample(ex []string, s string) []string {
	if len(ex) < 5 {
		ex = append(ex, s)
	}
	return ex
}
