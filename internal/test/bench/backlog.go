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
	"time"

	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
	"github.com/nstance-dev/nstance-issuer/internal/test/localstack"
)

// backlog measures each issuer's signing capacity: its signer is stopped
// (nstance-issuer's manager process; cert-manager's CA issuer controller),
// N approved requests are created, the signer starts and signs them with
// nothing else writing to the API server, as in the raw phase's signer
// floor, which it is compared with. In the stage the harness's own create
// and approve of each request share the API server with the signer, and a
// signer that keeps up with them is measured at their rate, not its own.
func (h *benchHarness) backlog(ctx context.Context, r *results) error {
	if h.Stack.ManagerPID() == 0 {
		return nil // an in-process manager cannot be stopped
	}
	thr := map[string]float64{}
	for _, iss := range []harness.Issuer{nstance, caIss} {
		stop, start := h.Stack.StopManager, func() error { return h.Stack.StartManager(ctx) }
		if iss == caIss {
			stop = func() error { return h.Stack.PauseCertManagerController(localstack.CAIssuerController) }
			start = func() error { return h.Stack.ResumeCertManagerController(ctx, localstack.CAIssuerController) }
		}
		t, err := h.backlogRun(ctx, iss, stop, start)
		if err != nil {
			return fmt.Errorf("backlog %s: %w", iss.Label, err)
		}
		thr[iss.Label] = t
		harness.Logf("backlog %s: %d requests signed at %.1f/s", iss.Label, h.c.N, t)
	}
	// What a signer can reach: the least API work a signer does per
	// certificate (the signer floor: one server-side-apply status patch and
	// one Event), the goal; the CA issuer's capacity is context: it runs
	// below that floor itself, so no signer that writes what it must can
	// reach a multiple of it that lies above the floor (docs/performance.md,
	// "Goals"). The merge-patch rate, which writes no Event and no managed
	// fields, is context.
	r.add("backlog: nstance signing throughput, N approved requests waiting at start", thr[nstance.Label], "/s", "CA issuer", thr[caIss.Label], "", "context: the goal is the signer floor")
	if r.floorRate > 0 {
		r.add("backlog: nstance throughput vs signer floor", thr[nstance.Label], "/s", "signer floor, manager client", r.floorRate, "ratio >= 1.0", "")
	}
	if r.rawRate > 0 {
		r.add("backlog: nstance throughput vs merge status-patch rate", thr[nstance.Label], "/s", "merge patch rate, manager client", r.rawRate, "", "")
	}
	r.add("backlog: CA issuer signing throughput", thr[caIss.Label], "/s", "", 0, "", "")
	return nil
}

func (h *benchHarness) backlogRun(ctx context.Context, iss harness.Issuer, stop, start func() error) (float64, error) {
	return h.backlogRunNamed(ctx, "bench-backlog-"+iss.Label, h.c.N, iss, stop, start)
}

// backlogRunNamed is backlogRun of n requests in namespace ns.
func (h *benchHarness) backlogRunNamed(ctx context.Context, ns string, n int, iss harness.Issuer, stop, start func() error) (float64, error) {
	if err := h.Namespace(ctx, ns); err != nil {
		return 0, err
	}
	if err := stop(); err != nil {
		return 0, err
	}
	if err := harness.Parallel(ctx, h.c.Workers, n, func(ctx context.Context, i int) error {
		return h.createApproved(ctx, ns, fmt.Sprintf("cr-%d", i), h.csrs[i%len(h.csrs)], iss.Ref)
	}); err != nil {
		_ = start()
		return 0, err
	}
	time.Sleep(time.Second) // let cert-manager's approver settle
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	times, err := h.watchCRs(wctx, ns, n)
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
	return backlogRate(times.ready)
}
