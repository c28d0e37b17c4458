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

// Package chaos is the fault harness cmd/nstance-chaos runs: it runs
// Certificates through
// cert-manager's controllers to nstance-issuer and, as the control, to
// cert-manager's own CA issuer holding the same CA, on the local stack
// (internal/test/localstack: a real kube-apiserver and etcd, cert-manager's
// controllers in this process, nstance-issuer's manager as its own OS
// process), while it breaks things:
//
//   - baseline:       nothing disturbed, the reference for every ratio;
//   - kill-signer:    the signer SIGKILLed every -kill-every and restarted
//     with a kubelet-like backoff: for nstance-issuer its manager process,
//     for the CA issuer cert-manager's controllers, where it signs;
//   - restart-cert-manager: cert-manager's controllers stopped and started
//     afresh on the same schedule, nstance-issuer's manager left alone;
//   - leader-kill:    nstance-issuer only: two manager replicas with leader
//     election, the leader SIGKILLed (then SIGTERMed) -kill-every after it
//     took the Lease and restarted with the backoff; handover times against
//     the lease, every signature attributed to the replica that made it.
//   - apiserver-down, etcd-down: kube-apiserver, or etcd alone, stopped
//     for -outage-hold in the middle of a run (outage.go).
//
// For every run it counts, from watches and Events and not only from the
// end state: Certificates created, Ready, Failed, still pending (stuck),
// Ready without a valid certificate in their Secret (lost), requests signed
// more than once (two different certificates seen in a request's status, or
// two CertificateIssued Events for it) and Certificates that got more than
// one CertificateRequest (re-issued). Counts are facts: any that is not 0
// makes the command exit 1. Times (first create → all Ready, and its ratio
// to the undisturbed run of the same issuer in the same process) are
// reported against the goals as PASS/MISS, never asserted. The
// scenarios, the counts and the published figures: docs/reliability.md.
package chaos

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
)

// Config is what the flags of cmd/nstance-chaos set (RegisterFlags).
type Config struct {
	harness.Flags
	scenarios    []string
	timeout      time.Duration
	drain        time.Duration
	settle       time.Duration
	killEvery    time.Duration
	backoffFirst time.Duration
	backoffMax   time.Duration
	caFaultHold  time.Duration
	reissueWatch time.Duration
	outageHold   time.Duration
	leader       leaderFlags

	scenariosFlag, skip string
	rescore             string
}

// allScenarios in the order they run.
var allScenarios = []string{"baseline", "kill-signer", "restart-cert-manager", leaderKill,
	"ca-deleted", "ca-bad-pem", "ca-key-mismatch", "ca-expired", "ca-replaced", apiserverDown, etcdDown}

// RegisterFlags defines the harness's flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.Register(fs, harness.Defaults{N: 100, NUsage: "Certificates per issuer and scenario (1000 for published figures).", Out: "bin/chaos/results.json"})
	fs.StringVar(&c.scenariosFlag, "scenarios", strings.Join(allScenarios, ","), "Comma-separated scenarios to run; baseline always runs first.")
	fs.StringVar(&c.skip, "skip", "", "Comma-separated scenarios not to run, e.g. apiserver-down in a quick run.")
	fs.DurationVar(&c.timeout, "timeout", 0, "How long a run may take to get every Certificate Ready while faults go on (default 3m + 300ms per Certificate).")
	fs.DurationVar(&c.drain, "drain", time.Minute, "After -timeout, how long the stack gets without faults to finish what is pending before the rest counts as stuck (at least twice the issuer's baseline run).")
	fs.DurationVar(&c.settle, "settle", 15*time.Second, "After all are Ready, how long to keep watching for re-issuance and late signatures before counting.")
	fs.DurationVar(&c.killEvery, "kill-every", 5*time.Second, "How long a restarted component works (from ready) before it is killed again.")
	fs.DurationVar(&c.backoffFirst, "backoff-initial", time.Second, "The kubelet-like restart delay after the first kill; it doubles per kill.")
	fs.DurationVar(&c.backoffMax, "backoff-max", 5*time.Second, "The cap of the restart delay (the kubelet's crashLoopBackOff.maxContainerRestartPeriod).")
	fs.DurationVar(&c.caFaultHold, "ca-fault-hold", 10*time.Second, "How long a broken CA Secret stays broken (from the fault) before it is fixed.")
	fs.DurationVar(&c.reissueWatch, "reissue-watch", 2*time.Minute, "After a CA fault run's Certificates are all Ready, how long to watch for re-issuance before counting.")
	fs.DurationVar(&c.outageHold, "outage-hold", 25*time.Second, "How long apiserver-down and etcd-down keep it stopped; longer than the manager's 15 s leader-election lease.")
	fs.StringVar(&c.rescore, "rescore", "", "Only read this results file, set its goals afresh, print its table and rewrite it.")
	c.leader.register(fs)
}

// complete checks the scenarios and fills the defaults that depend on
// other flags, once they are parsed.
func (c *Config) complete() error {
	if c.timeout == 0 {
		c.timeout = 3*time.Minute + time.Duration(c.N)*300*time.Millisecond
	}
	c.scenarios = []string{"baseline"}
	for s := range strings.SplitSeq(c.scenariosFlag, ",") {
		s = strings.TrimSpace(s)
		if s == "" || s == "baseline" || slices.Contains(strings.Split(c.skip, ","), s) {
			continue
		}
		if !slices.Contains(allScenarios, s) {
			return fmt.Errorf("unknown scenario %q (known: %s)", s, strings.Join(allScenarios, ", "))
		}
		c.scenarios = append(c.scenarios, s)
	}
	return c.Complete()
}

// Main runs the scenarios as c's flags say until they are done or ctx
// ends (or only rescores a results file, -rescore), prints the table to
// stdout and writes the results to -out, and returns the process's exit
// code: 1 when a count missed or a run failed.
func Main(ctx context.Context, c *Config) int {
	if c.rescore != "" {
		r, err := rescore(c.rescore)
		if err != nil {
			return fatal(err)
		}
		r.print(os.Stdout)
		if len(r.Errors) > 0 || r.CountFailures > 0 {
			return 1
		}
		return 0
	}
	// cert-manager and controller-runtime log errors (many, while their
	// peers are killed) to a file beside -out, not to the table.
	if err := os.MkdirAll(filepath.Dir(c.Out), 0o755); err != nil {
		return fatal(err)
	}
	stackLog, err := os.Create(strings.TrimSuffix(c.Out, filepath.Ext(c.Out)) + "-stack.log")
	if err != nil {
		return fatal(err)
	}
	defer func() { _ = stackLog.Close() }()
	quiet := zap.New(zap.Level(zapcore.ErrorLevel), zap.WriteTo(stackLog))
	ctrl.SetLogger(quiet)
	klog.SetLogger(quiet)
	if err := c.complete(); err != nil {
		return fatal(err)
	}

	run, err := harness.BeginRun("chaos")
	if err != nil {
		return fatal(err)
	}
	r := &results{Meta: runMeta{N: c.N, Started: run.Began.UTC(), KillEvery: c.killEvery.String(), BackoffInitial: c.backoffFirst.String(),
		BackoffMax: c.backoffMax.String(), Settle: c.settle.String(), ManagerArgs: c.ManagerArgs}}
	if err := runAll(ctx, run, c, r); err != nil {
		r.Errors = append(r.Errors, err.Error())
		harness.Logf("%v", err)
	}
	r.Meta.Seconds = time.Since(run.Began).Seconds()
	r.finish()
	r.print(os.Stdout)
	ok := len(r.Errors) == 0 && r.CountFailures == 0
	if err := run.End(c.Out, r, ok); err != nil {
		return fatal(err)
	}
	if !ok {
		return 1
	}
	return 0
}

func runAll(ctx context.Context, run *harness.Run, c *Config, r *results) error {
	stack, err := run.StartStack(ctx, &c.Flags)
	if err != nil {
		return err
	}
	defer harness.StopStack(stack)
	h, err := newHarness(ctx, c, stack)
	if err != nil {
		return err
	}
	for _, sc := range c.scenarios {
		for _, iss := range []harness.Issuer{nstance, caIss} {
			if !applies(sc, iss) {
				continue
			}
			harness.Logf("== %s, %s", sc, iss.Label)
			res, err := h.run(ctx, sc, iss)
			if err != nil {
				return fmt.Errorf("%s, %s: %w", sc, iss.Label, err)
			}
			r.add(res)
		}
	}
	return nil
}

// fatal says why the harness cannot go on, as the command's error, and
// is its exit code.
func fatal(err error) int {
	fmt.Fprintln(os.Stderr, "nstance-chaos:", err)
	return 1
}
