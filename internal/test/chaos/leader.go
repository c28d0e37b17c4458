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
	"flag"
	"fmt"
	"time"

	"github.com/nstance-dev/nstance-issuer/internal/app"
	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
)

// leaderKill is the scenario: k replicas with leader election, the leader
// killed repeatedly.
const leaderKill = "leader-kill"

// leaderFlags configure the leader-kill scenario.
type leaderFlags struct {
	replicas     int
	sigkills     int
	sigterms     int
	lease        time.Duration
	renew, retry time.Duration
}

func (f *leaderFlags) register(fs *flag.FlagSet) {
	d := app.NewOptions()
	fs.IntVar(&f.replicas, "leader-replicas", 2, "leader-kill: manager replicas with leader election.")
	fs.IntVar(&f.sigkills, "leader-sigkills", 4, "leader-kill: how many times the leader is SIGKILLed (it cannot release the Lease).")
	fs.IntVar(&f.sigterms, "leader-sigterms", 2, "leader-kill: then how many times it is stopped with SIGTERM (it releases the Lease).")
	fs.DurationVar(&f.lease, "lease-duration", d.LeaseDuration, "leader-kill: the replicas' --leader-election-lease-duration.")
	fs.DurationVar(&f.renew, "renew-deadline", d.RenewDeadline, "leader-kill: the replicas' --leader-election-renew-deadline.")
	fs.DurationVar(&f.retry, "retry-period", d.RetryPeriod, "leader-kill: the replicas' --leader-election-retry-period.")
}

func (f *leaderFlags) managerArgs() []string {
	return []string{"--leader-election-lease-duration=" + f.lease.String(), "--leader-election-renew-deadline=" + f.renew.String(),
		"--leader-election-retry-period=" + f.retry.String()}
}

// applies says whether scenario sc runs for iss: leader election is
// nstance-issuer's own (cert-manager's controllers run as one in-process
// instance here), so leader-kill has no control run.
func applies(sc string, iss harness.Issuer) bool {
	return sc != leaderKill || iss == nstance
}

// leaderKillDriver replaces the stack's single manager by replicas with
// leader election, creates the Certificates in batches, one before the
// first kill and one right after each kill (so that the next leader has
// requests waiting for it), kills the leader -kill-every after it took the
// Lease, restarts the killed replica after a kubelet-like backoff, and
// measures each handover. Once every Certificate is Ready and -settle has
// passed, it attributes every signature to the replica that logged it and
// puts the single manager back.
func (h *chaosHarness) leaderKillDriver() driver {
	return func(ctx context.Context, obs *observer, res *result, create func(lo, hi int) error) (err error) {
		f := &h.c.leader
		kills := f.sigkills + f.sigterms
		if h.c.N < kills+1 {
			return fmt.Errorf("leader-kill needs -n >= %d (a batch before the first kill and after each)", kills+1)
		}
		lr := &leaderResult{Replicas: f.replicas, LeaseDuration: f.lease.Seconds(), RenewDeadline: f.renew.Seconds(), RetryPeriod: f.retry.Seconds()}
		res.Leader = lr
		res.Fault = fmt.Sprintf("leader of %d replicas: %d SIGKILL, then %d SIGTERM", f.replicas, f.sigkills, f.sigterms)
		if err := h.Stack.StopManager(); err != nil {
			return err
		}
		defer func() {
			// The other scenarios run with the single manager.
			err = errors.Join(err, h.Stack.StartManager(h.stackCtx))
		}()
		reps, err := h.Stack.StartReplicas(ctx, f.replicas, append(append([]string(nil), h.c.ManagerArgs...), f.managerArgs()...))
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, reps.StopAll()) }()
		electTimeout := f.lease + time.Minute
		leader, since, err := reps.WaitLeader(ctx, electTimeout)
		if err != nil {
			return err
		}
		batch := func(b int) (lo, hi int) { return b * h.c.N / (kills + 1), (b + 1) * h.c.N / (kills + 1) }
		creating := make(chan error, 1)
		go func() { creating <- create(batch(0)) }()
		backoff := h.c.backoffFirst
		for k := range kills {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Until(since.Add(h.c.killEvery))):
			}
			if err := <-creating; err != nil {
				return err
			}
			ho := handover{Signal: "SIGKILL", From: leader}
			kill := reps.Kill
			if k >= f.sigkills {
				ho.Signal, kill = "SIGTERM", reps.Stop
			}
			killed := time.Now()
			if err := kill(leader); err != nil {
				return fmt.Errorf("%s to the leader (replica %d): %w", ho.Signal, leader, err)
			}
			ho.Stopped = time.Since(killed).Seconds()
			ho.killed = killed
			go func() { creating <- create(batch(k + 1)) }()
			// The kubelet restarts the killed container after its backoff;
			// meanwhile the standby takes over.
			restarted := make(chan error, 1)
			go func(i int, wait time.Duration) {
				select {
				case <-ctx.Done():
					restarted <- ctx.Err()
					return
				case <-time.After(wait):
				}
				restarted <- reps.Start(h.stackCtx, i)
			}(leader, backoff)
			backoff = min(2*backoff, h.c.backoffMax)
			leader, since, err = reps.WaitLeader(ctx, electTimeout)
			if err != nil {
				return errors.Join(fmt.Errorf("after %s of replica %d: %w", ho.Signal, ho.From, err), <-restarted)
			}
			ho.To = leader
			ho.Acquired = since.Sub(killed).Seconds()
			if l, err := reps.Lease(ctx); err == nil && l.Spec.AcquireTime != nil && l.Spec.AcquireTime.After(killed) {
				ho.LeaseAcquired = l.Spec.AcquireTime.Sub(killed).Seconds()
			}
			if err := <-restarted; err != nil {
				return err
			}
			lr.Handovers = append(lr.Handovers, ho)
			harness.Logf("leader-kill: %s to replica %d; replica %d took the Lease %.2fs later (its acquireTime: %.2fs)", ho.Signal, ho.From, ho.To, ho.Acquired, ho.LeaseAcquired)
		}
		if err := <-creating; err != nil {
			return err
		}
		if err := obs.waitReady(ctx, h.c.timeout); err != nil && !errors.Is(err, harness.ErrTimeout) {
			return err
		}
		// Late signatures (a second leader, a re-sign) would show here.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(h.c.settle):
		}
		lease, err := reps.Lease(ctx)
		if err != nil {
			return fmt.Errorf("reading the Lease: %w", err)
		}
		if lease.Spec.LeaseTransitions != nil {
			lr.LeaseTransitions = int(*lease.Spec.LeaseTransitions)
		}
		// run's namespace for this scenario.
		issued, err := h.issuedSerials(ctx, "chaos-"+leaderKill+"-"+nstance.Label)
		if err != nil {
			return err
		}
		lr.attribute(reps.Terms(), reps.Signatures(), obs, issued)
		res.Restarts = len(lr.Handovers)
		res.KillToNextSignatureMax = lr.maxHandover("SIGKILL")
		if logs := reps.Logs(); len(logs) > 0 {
			harness.Logf("leader-kill: logs of the killed replicas: %v", logs)
		}
		return nil
	}
}
