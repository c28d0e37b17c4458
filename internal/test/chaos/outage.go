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
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
	"github.com/nstance-dev/nstance-issuer/internal/test/report"
)

// The outage scenarios stop a part of the control plane for -outage-hold
// (longer than the manager's leader-election lease) in the middle of a
// run, and bring it back.
const (
	apiserverDown = "apiserver-down" // kube-apiserver stopped; etcd runs on
	etcdDown      = "etcd-down"      // etcd alone stopped; kube-apiserver answers with errors
)

// stopGrace is how long a stopped component gets between SIGTERM and
// SIGKILL. kube-apiserver stops listening within a second of SIGTERM but
// its process was seen still there after 30 s (the kubelet's default
// grace period), and the outage is what matters here, not its exit.
const stopGrace = 5 * time.Second

func isOutage(sc string) bool { return sc == apiserverDown || sc == etcdDown }

// outageFigures are what an outage run measures besides the counts. The
// manager's fields are nstance-issuer's only: the CA issuer signs inside
// cert-manager's controllers, which run in the harness and cannot exit.
type outageFigures struct {
	// Down is what was stopped; OutageSeconds from the stop to it
	// answering again (including its own stop and start).
	Down          string  `json:"down"`
	OutageSeconds float64 `json:"outageSeconds"`
	// StopSeconds from SIGTERM to the process gone; StopKilled: it had
	// not exited after stopGrace and got SIGKILL.
	StopSeconds float64 `json:"stopSeconds"`
	StopKilled  bool    `json:"stopKilled,omitempty"`
	// PendingAtStop Certificates were not Ready when its process was gone.
	PendingAtStop int `json:"pendingAtStop"`
	// LeaderElect: the manager ran with --leader-elect=true.
	LeaderElect bool `json:"leaderElect,omitempty"`
	// ManagerExits: manager processes that exited by themselves (from the
	// stop until all were Ready); StopToExitSeconds from the stop to the
	// first. ManagerStarts: restarts by the harness's kubelet-like loop;
	// FailedStarts: of those, processes that exited before their workers
	// ran (a crash loop while the API server is away).
	ManagerExits      int     `json:"managerExits,omitempty"`
	StopToExitSeconds float64 `json:"stopToExitSeconds,omitempty"`
	ManagerStarts     int     `json:"managerStarts,omitempty"`
	FailedStarts      int     `json:"failedStarts,omitempty"`
	// StopToUnreadySeconds is from the stop to the first /readyz probe of
	// a running manager process that did not answer 200 (0: never).
	StopToUnreadySeconds float64 `json:"stopToUnreadySeconds,omitempty"`
	// RanThrough: one manager process ran from before the stop until
	// after the component was back, its /readyz 200 all along.
	RanThrough bool `json:"ranThrough,omitempty"`
	// From the component back to the first request signed, and to every
	// Certificate Ready.
	BackToFirstSignedSeconds float64 `json:"backToFirstSignedSeconds,omitempty"`
	BackToAllReadySeconds    float64 `json:"backToAllReadySeconds,omitempty"`
}

func (o *outageFigures) line() string {
	how := "exited on SIGTERM"
	if o.StopKilled {
		how = "SIGKILLed"
	}
	s := fmt.Sprintf("%s down %.1fs (%s after %.1fs) with %d of the Certificates pending; back→first signature %ss, back→all Ready %ss",
		o.Down, o.OutageSeconds, how, o.StopSeconds, o.PendingAtStop, report.Seconds(o.BackToFirstSignedSeconds), report.Seconds(o.BackToAllReadySeconds))
	if o.LeaderElect {
		s += fmt.Sprintf("\n    manager (--leader-elect): stop→exit %ss, stop→unready %ss, exits %d, restarts %d (%d exited while starting), ran through the outage: %t",
			report.Seconds(o.StopToExitSeconds), report.Seconds(o.StopToUnreadySeconds), o.ManagerExits, o.ManagerStarts, o.FailedStarts, o.RanThrough)
	}
	return s
}

// outageGoals: for nstance-issuer, the manager must not run through the
// outage as if nothing happened (holding a lease it cannot renew): it
// exits or turns unready. A fact, so asserted; wedging after the return
// shows as stuck Certificates.
func outageGoals(res *result) []goal {
	if res.outageFigures == nil || !res.LeaderElect {
		return nil
	}
	ok := !res.RanThrough && (res.ManagerExits > 0 || res.StopToUnreadySeconds > 0)
	return []goal{{Name: "0 managers running through the outage (exited or unready)", Pass: ok, Asserted: res.Issuer == nstance.Label}}
}

// outageDriver: every Certificate created; once a quarter of them are
// Ready, the component stopped for -outage-hold and started again. For
// nstance-issuer the manager runs with leader election (the product's
// default) for the run, and a kubelet-like loop probes its /readyz and
// restarts it with the -backoff-* delays whenever it exits.
func (h *chaosHarness) outageDriver(sc string, iss harness.Issuer) driver {
	return func(ctx context.Context, obs *observer, res *result, create func(lo, hi int) error) error {
		of := &outageFigures{Down: "kube-apiserver"}
		stop, start := h.Stack.StopAPIServer, h.Stack.StartAPIServer
		if sc == etcdDown {
			of.Down = "etcd"
			stop, start = h.Stack.StopEtcd, h.Stack.StartEtcd
		}
		res.outageFigures = of
		res.Fault = of.Down + " stopped for " + h.c.outageHold.String()
		if iss == nstance {
			of.LeaderElect = true
			args := append(slices.Clone(h.c.ManagerArgs), "--leader-elect=true")
			if err := h.Stack.RestartManager(h.stackCtx, args); err != nil {
				return fmt.Errorf("restarting the manager with leader election: %w", err)
			}
		}
		if err := create(0, h.c.N); err != nil {
			return err
		}
		flowing := max(1, h.c.N/4)
		if pollUntil(ctx, h.c.timeout, func() bool { return obs.readyCount() >= flowing }).IsZero() {
			return fmt.Errorf("%d Certificates did not turn Ready before the outage", flowing)
		}
		var k *kubelet
		kctx, stopKubelet := context.WithCancel(ctx)
		defer stopKubelet()
		kdone := make(chan error, 1)
		stoppedAt := time.Now()
		if of.LeaderElect {
			k = &kubelet{h: h, first: h.c.backoffFirst, max: h.c.backoffMax}
			go func() { kdone <- k.run(kctx, h.stackCtx) }()
		}
		took, killed, err := stop(stopGrace)
		of.StopSeconds, of.StopKilled = took.Seconds(), killed
		if err != nil {
			return err
		}
		// Pending once it is gone: a stopping etcd still serves a while.
		of.PendingAtStop = h.c.N - obs.readyCount()
		harness.Logf("%s, %s: %s stopped with %d Certificates pending", sc, iss.Label, of.Down, of.PendingAtStop)
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(stoppedAt.Add(h.c.outageHold))):
		}
		if err := start(); err != nil {
			return err
		}
		backAt := time.Now()
		of.OutageSeconds = backAt.Sub(stoppedAt).Seconds()
		harness.Logf("%s, %s: %s back after %.1fs", sc, iss.Label, of.Down, of.OutageSeconds)
		// The kubelet goes on restarting the manager until every
		// Certificate is Ready (or the time is up), as it would.
		waitErr := obs.waitReady(ctx, h.c.timeout+h.c.drain)
		if k != nil {
			stopKubelet()
			if err := <-kdone; err != nil {
				return err
			}
			k.figures(of, stoppedAt, backAt)
		}
		if first := obs.firstSignedAfter(backAt); !first.IsZero() {
			of.BackToFirstSignedSeconds = first.Sub(backAt).Seconds()
		}
		if waitErr == nil {
			of.BackToAllReadySeconds = obs.lastReady().Sub(backAt).Seconds()
		} else if !errors.Is(waitErr, harness.ErrTimeout) {
			return waitErr
		}
		if of.LeaderElect {
			// Back to the stack's manager for the next runs; an exited
			// process is reaped first (its log is kept).
			if exited, _ := h.Stack.ManagerExited(); exited {
				if err := h.Stack.KillManager(); err != nil {
					return err
				}
				return h.Stack.StartManager(h.stackCtx)
			}
			return h.Stack.RestartManager(h.stackCtx, h.c.ManagerArgs)
		}
		return nil
	}
}

// kubelet watches the manager process as a kubelet would its container:
// a readiness probe on /readyz every probeEvery, and a restart with a
// doubling backoff whenever the process exits.
type kubelet struct {
	h          *chaosHarness
	first, max time.Duration

	mu sync.Mutex
	// exits are when processes were seen exited; unready when a running
	// process's /readyz first did not answer 200.
	exits   []time.Time
	unready time.Time
	starts  int
	failed  int
}

const probeEvery = 250 * time.Millisecond

// run probes and restarts until ctx ends; startCtx bounds the processes
// it starts. It returns an error only when the harness cannot act.
func (k *kubelet) run(ctx, startCtx context.Context) error {
	backoff := k.first
	for ctx.Err() == nil {
		exited, _ := k.h.Stack.ManagerExited()
		if !exited {
			code, err := k.h.Stack.ManagerReady(ctx)
			k.mu.Lock()
			if (err != nil || code != http.StatusOK) && ctx.Err() == nil {
				if k.unready.IsZero() {
					k.unready = time.Now()
				}
			}
			k.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(probeEvery):
			}
			continue
		}
		k.mu.Lock()
		k.exits = append(k.exits, time.Now())
		k.mu.Unlock()
		if err := k.h.Stack.KillManager(); err != nil {
			return fmt.Errorf("reaping the exited manager: %w", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, k.max)
		k.mu.Lock()
		k.starts++
		k.mu.Unlock()
		// StartManager returns once the process runs its workers, which
		// with leader election means it holds the lease; an error here
		// is a process that exited while starting (or ctx ended).
		if err := k.h.Stack.StartManager(startCtx); err != nil {
			if exited, _ := k.h.Stack.ManagerExited(); exited {
				k.mu.Lock()
				k.failed++
				k.mu.Unlock()
				continue
			}
			if startCtx.Err() != nil {
				return nil //nolint:nilerr // the outage's context ended while the manager started: over, not a failure
			}
			// Still running, not yet working (StartManager gives up after
			// 2 minutes, e.g. while it waits for a long-gone API server):
			// it goes on being probed, as a kubelet would.
			harness.Logf("the restarted manager is not working yet: %v", err)
		}
	}
	return nil
}

// figures fills of from what the kubelet saw between the stop and back.
func (k *kubelet) figures(of *outageFigures, stoppedAt, backAt time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	of.ManagerExits = len(k.exits)
	if len(k.exits) > 0 {
		of.StopToExitSeconds = k.exits[0].Sub(stoppedAt).Seconds()
	}
	if !k.unready.IsZero() {
		of.StopToUnreadySeconds = k.unready.Sub(stoppedAt).Seconds()
	}
	of.ManagerStarts, of.FailedStarts = k.starts, k.failed
	// The first process never exited nor failed a probe, at least until
	// the component was back.
	firstGone := time.Time{}
	if len(k.exits) > 0 {
		firstGone = k.exits[0]
	}
	if !k.unready.IsZero() && (firstGone.IsZero() || k.unready.Before(firstGone)) {
		firstGone = k.unready
	}
	of.RanThrough = firstGone.IsZero() || firstGone.After(backAt)
}

// lastReady is when the last Certificate turned Ready.
func (o *observer) lastReady() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	var last time.Time
	for _, t := range o.ready {
		if t.After(last) {
			last = t
		}
	}
	return last
}
