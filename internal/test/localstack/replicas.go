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

package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/internal/app"
)

// Replicas are k nstance-issuer manager processes with leader election on,
// as a Deployment with k replicas runs them. Which one leads, and which
// one signed what, is read from each process's own log: client-go logs
// "Successfully acquired lease" when a replica takes the Lease, and the
// manager runs with --zap-log-level=debug so that it logs every signature
// ("signed", with the request and the certificate's serial) in JSON with
// nanosecond timestamps. Every start
// of a replica is a new incarnation; an incarnation leads at most once
// (the manager exits when it loses the Lease).
type Replicas struct {
	stack              *Stack
	leaseNS, leaseName string
	procs              []*managerProcess

	mu sync.Mutex
	// inc is each replica's current incarnation (0 before its first start)
	// and running whether that incarnation runs.
	inc     []int
	running []bool
	terms   []Term
	sigs    []Signature
}

// Term is one incarnation's leadership: from the moment its log said it
// acquired the Lease until it was killed or stopped (zero while it runs).
type Term struct {
	Replica, Incarnation int
	Acquired, Ended      time.Time
}

// Signature is one certificate a replica's log says it signed.
type Signature struct {
	Replica, Incarnation int
	// At is the log entry's own timestamp.
	At                    time.Time
	Namespace, Name       string
	Serial                string
	Controller, Reconcile string
}

// StartReplicas starts k manager processes with --leader-elect=true (and
// args, which follow the stack's own flags and may set the lease timings)
// and returns once each serves its metrics endpoint; it does not wait for
// a leader (WaitLeader does). The stack's own manager process must be
// stopped first (StopManager): it runs without leader election and would
// sign beside the leader.
func (s *Stack) StartReplicas(ctx context.Context, k int, args []string) (*Replicas, error) {
	if s.proc == nil {
		return nil, errors.New("localstack: StartReplicas needs Options.ManagerBinary")
	}
	if s.ManagerPID() != 0 {
		return nil, errors.New("localstack: stop the stack's manager (StopManager) before starting replicas with leader election")
	}
	parsed, err := app.ParseArgs(append([]string{"--leader-elect=true"}, args...))
	if err != nil {
		return nil, err
	}
	r := &Replicas{stack: s, leaseNS: parsed.LeaderElectionNamespace, leaseName: parsed.LeaderElectionID, inc: make([]int, k), running: make([]bool, k)}
	if r.leaseNS == "" {
		r.leaseNS = ClusterResourceNamespace
	}
	// Signatures are timed by the log's own timestamps: to the nanosecond.
	args = append(append([]string{"--leader-elect=true", "--zap-log-level=debug", "--zap-time-encoding=rfc3339nano"}, s.proc.args...), args...)
	for range k {
		r.procs = append(r.procs, &managerProcess{binary: s.proc.binary, kubeconfig: s.Kubeconfig, args: args, logDir: s.proc.logDir, standby: true})
	}
	for i := range k {
		if err := r.Start(ctx, i); err != nil {
			return nil, errors.Join(err, r.StopAll())
		}
	}
	return r, nil
}

// Len is the number of replicas.
func (r *Replicas) Len() int { return len(r.procs) }

// Start starts replica i (stopped or killed) as a new incarnation.
func (r *Replicas) Start(ctx context.Context, i int) error {
	r.mu.Lock()
	if r.running[i] {
		r.mu.Unlock()
		return fmt.Errorf("replica %d runs already", i)
	}
	r.inc[i]++
	inc := r.inc[i]
	r.running[i] = true
	r.mu.Unlock()
	r.procs[i].onLine = func(line string) { r.logged(i, inc, line, time.Now()) }
	if err := r.procs[i].start(ctx); err != nil {
		_ = r.procs[i].kill()
		r.ended(i, time.Now())
		return fmt.Errorf("replica %d: %w", i, err)
	}
	return nil
}

// Kill sends replica i SIGKILL, as a node failure or the OOM killer would:
// it cannot release the Lease, so a standby takes over only once the lease
// duration has passed since its last renewal. Its log file is kept.
func (r *Replicas) Kill(i int) error {
	err := r.procs[i].kill()
	r.ended(i, time.Now())
	return err
}

// Stop sends replica i SIGTERM, as a rollout does, and waits for it to
// exit: a leader releases the Lease on its way out.
func (r *Replicas) Stop(i int) error {
	err := r.procs[i].stop()
	r.ended(i, time.Now())
	return err
}

// StopAll stops every running replica gracefully.
func (r *Replicas) StopAll() error {
	var errs []error
	for i := range r.procs {
		r.mu.Lock()
		running := r.running[i]
		r.mu.Unlock()
		if running {
			errs = append(errs, r.Stop(i))
		}
	}
	return errors.Join(errs...)
}

func (r *Replicas) ended(i int, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.running[i] = false
	for t := range r.terms {
		if r.terms[t].Replica == i && r.terms[t].Incarnation == r.inc[i] && r.terms[t].Ended.IsZero() {
			r.terms[t].Ended = at
		}
	}
}

// logLine is what Replicas reads from the manager's JSON log.
type logLine struct {
	Msg         string    `json:"msg"`
	TS          time.Time `json:"ts"`
	Serial      string    `json:"serial"`
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"`
	Controller  string    `json:"controller"`
	ReconcileID string    `json:"reconcileID"`
}

func (r *Replicas) logged(i, inc int, line string, now time.Time) {
	switch {
	case strings.Contains(line, "uccessfully acquired lease"):
		r.mu.Lock()
		r.terms = append(r.terms, Term{Replica: i, Incarnation: inc, Acquired: now})
		r.mu.Unlock()
	case strings.Contains(line, `"msg":"signed"`):
		var l logLine
		if err := json.Unmarshal([]byte(line), &l); err != nil || l.Msg != "signed" {
			return
		}
		r.mu.Lock()
		r.sigs = append(r.sigs, Signature{Replica: i, Incarnation: inc, At: l.TS,
			Namespace: l.Namespace, Name: l.Name, Serial: l.Serial, Controller: l.Controller, Reconcile: l.ReconcileID})
		r.mu.Unlock()
	}
}

// Leader is the replica whose running incarnation holds the lease by its
// log, and since when; ok is false while none does.
func (r *Replicas) Leader() (replica int, since time.Time, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range slices.Backward(r.terms) {
		if t.Ended.IsZero() && r.running[t.Replica] && r.inc[t.Replica] == t.Incarnation {
			return t.Replica, t.Acquired, true
		}
	}
	return 0, time.Time{}, false
}

// WaitLeader waits until some replica leads and returns it.
func (r *Replicas) WaitLeader(ctx context.Context, timeout time.Duration) (replica int, since time.Time, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if i, since, ok := r.Leader(); ok {
			return i, since, nil
		}
		select {
		case <-ctx.Done():
			return 0, time.Time{}, fmt.Errorf("no replica acquired the Lease: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Terms are the leaderships so far, in the order they began.
func (r *Replicas) Terms() []Term {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.terms)
}

// Signatures are the signatures the replicas logged so far.
func (r *Replicas) Signatures() []Signature {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sigs)
}

// Lease reads the leader election Lease as the API server holds it.
func (r *Replicas) Lease(ctx context.Context) (*coordinationv1.Lease, error) {
	var l coordinationv1.Lease
	err := r.stack.Client.Get(ctx, client.ObjectKey{Namespace: r.leaseNS, Name: r.leaseName}, &l)
	return &l, err
}

// Logs are the log files of killed replica incarnations (a cleanly stopped
// one's log is removed).
func (r *Replicas) Logs() []string {
	var logs []string
	for _, p := range r.procs {
		p.mu.Lock()
		logs = append(logs, p.keptLogs...)
		p.mu.Unlock()
	}
	return logs
}
