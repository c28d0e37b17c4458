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

// Command nstance-chaos is the fault harness: it runs Certificates through
// cert-manager's controllers to nstance-issuer and, as the control, to
// cert-manager's own CA issuer holding the same CA, on the local stack
// (internal/localstack: a real kube-apiserver and etcd, cert-manager's
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
//
// For every run it counts, from watches and Events and not only from the
// end state: Certificates created, Ready, Failed, still pending (stuck),
// Ready without a valid certificate in their Secret (lost), requests signed
// more than once (two different certificates seen in a request's status, or
// two CertificateIssued Events for it) and Certificates that got more than
// one CertificateRequest (re-issued). Counts are facts: any that is not 0
// makes the command exit 1. Times (first create → all Ready, and its ratio
// to the undisturbed run of the same issuer in the same process) are
// reported against the goals as PASS/MISS, never asserted.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/nstance-dev/nstance-issuer/internal/localstack"
)

type config struct {
	n             int
	workers       int
	managerBinary string
	managerArgs   []string
	repoRoot      string
	out           string
	scenarios     []string
	timeout       time.Duration
	drain         time.Duration
	settle        time.Duration
	killEvery     time.Duration
	backoffFirst  time.Duration
	backoffMax    time.Duration
	caFaultHold   time.Duration
	reissueWatch  time.Duration
}

// allScenarios in the order they run.
var allScenarios = []string{"baseline", "kill-signer", "restart-cert-manager", leaderKill,
	"ca-deleted", "ca-bad-pem", "ca-key-mismatch", "ca-expired", "ca-replaced"}

func main() {
	var c config
	var scenarios, managerArgs string
	flag.IntVar(&c.n, "n", 100, "Certificates per issuer and scenario (1000 for published figures).")
	flag.IntVar(&c.workers, "workers", 16, "Harness goroutines creating objects.")
	flag.StringVar(&c.managerBinary, "manager-binary", "bin/nstance-issuer", "Built cmd/nstance-issuer to run as the manager process.")
	flag.StringVar(&managerArgs, "manager-args", "", "Extra flags for the manager process, space-separated.")
	flag.StringVar(&c.repoRoot, "repo-root", ".", "The repository's root.")
	flag.StringVar(&c.out, "out", "bin/chaos/results.json", "Where to write the results as JSON.")
	flag.StringVar(&scenarios, "scenarios", strings.Join(allScenarios, ","), "Comma-separated scenarios to run; baseline always runs first.")
	flag.DurationVar(&c.timeout, "timeout", 0, "How long a run may take to get every Certificate Ready while faults go on (default 3m + 300ms per Certificate).")
	flag.DurationVar(&c.drain, "drain", time.Minute, "After -timeout, how long the stack gets without faults to finish what is pending before the rest counts as stuck (at least twice the issuer's baseline run).")
	flag.DurationVar(&c.settle, "settle", 15*time.Second, "After all are Ready, how long to keep watching for re-issuance and late signatures before counting.")
	flag.DurationVar(&c.killEvery, "kill-every", 5*time.Second, "How long a restarted component works (from ready) before it is killed again.")
	flag.DurationVar(&c.backoffFirst, "backoff-initial", time.Second, "The kubelet-like restart delay after the first kill; it doubles per kill.")
	flag.DurationVar(&c.backoffMax, "backoff-max", 5*time.Second, "The cap of the restart delay (the kubelet's crashLoopBackOff.maxContainerRestartPeriod).")
	flag.DurationVar(&c.caFaultHold, "ca-fault-hold", 10*time.Second, "How long a broken CA Secret stays broken (from the fault) before it is fixed.")
	flag.DurationVar(&c.reissueWatch, "reissue-watch", 2*time.Minute, "After a CA fault run's Certificates are all Ready, how long to watch for re-issuance before counting.")
	rescorePath := flag.String("rescore", "", "Only read this results file, set its goals afresh, print its table and rewrite it.")
	flag.Parse()
	if *rescorePath != "" {
		r, err := rescore(*rescorePath)
		if err != nil {
			fatal(err)
		}
		r.print(os.Stdout)
		if len(r.Errors) > 0 || r.CountFailures > 0 {
			os.Exit(1)
		}
		return
	}
	// cert-manager and controller-runtime log errors (many, while their
	// peers are killed) to a file beside -out, not to the table.
	if err := os.MkdirAll(filepath.Dir(c.out), 0o755); err != nil {
		fatal(err)
	}
	stackLog, err := os.Create(strings.TrimSuffix(c.out, filepath.Ext(c.out)) + "-stack.log")
	if err != nil {
		fatal(err)
	}
	defer func() { _ = stackLog.Close() }()
	quiet := zap.New(zap.Level(zapcore.ErrorLevel), zap.WriteTo(stackLog))
	ctrl.SetLogger(quiet)
	klog.SetLogger(quiet)
	if c.timeout == 0 {
		c.timeout = 3*time.Minute + time.Duration(c.n)*300*time.Millisecond
	}
	c.managerArgs = strings.Fields(managerArgs)
	c.scenarios = []string{"baseline"}
	for _, s := range strings.Split(scenarios, ",") {
		s = strings.TrimSpace(s)
		if s == "" || s == "baseline" {
			continue
		}
		known := false
		for _, k := range allScenarios {
			known = known || k == s
		}
		if !known {
			fatal(fmt.Errorf("unknown scenario %q (known: %s)", s, strings.Join(allScenarios, ", ")))
		}
		c.scenarios = append(c.scenarios, s)
	}
	if c.repoRoot, err = filepath.Abs(c.repoRoot); err != nil {
		fatal(err)
	}
	if c.managerBinary, err = filepath.Abs(c.managerBinary); err != nil {
		fatal(err)
	}

	began := time.Now()
	r := &report{Meta: runMeta{N: c.n, Started: began.UTC(), KillEvery: c.killEvery.String(), BackoffInitial: c.backoffFirst.String(),
		BackoffMax: c.backoffMax.String(), Settle: c.settle.String(), ManagerArgs: c.managerArgs}}
	ctx := ctrl.SetupSignalHandler()
	if err := runAll(ctx, &c, r); err != nil {
		r.Errors = append(r.Errors, err.Error())
		logf("%v", err)
	}
	r.Meta.Seconds = time.Since(began).Seconds()
	r.finish()
	r.print(os.Stdout)
	if err := writeJSON(c.out, r); err != nil {
		fatal(err)
	}
	fmt.Printf("\nresults: %s (run took %s)\n", c.out, time.Since(began).Round(time.Second))
	if len(r.Errors) > 0 || r.CountFailures > 0 {
		_ = stackLog.Close()
		os.Exit(1)
	}
}

func runAll(ctx context.Context, c *config, r *report) error {
	logf("starting the local stack (kube-apiserver, etcd, cert-manager in-process, manager process %s)", c.managerBinary)
	stack, err := localstack.Start(ctx, localstack.Options{RepoRoot: c.repoRoot, CertManager: true, ManagerBinary: c.managerBinary, ManagerArgs: c.managerArgs})
	if err != nil {
		return fmt.Errorf("localstack: %w", err)
	}
	defer func() {
		if err := stack.Stop(); err != nil {
			logf("stopping the stack: %v", err)
		}
	}()
	h, err := newHarness(ctx, c, stack)
	if err != nil {
		return err
	}
	for _, sc := range c.scenarios {
		for _, iss := range []issuerUnderTest{nstance, caIss} {
			if !applies(sc, iss) {
				continue
			}
			logf("== %s, %s", sc, iss.label)
			res, err := h.run(ctx, sc, iss)
			if err != nil {
				return fmt.Errorf("%s, %s: %w", sc, iss.label, err)
			}
			r.add(res)
		}
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().UTC().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "nstance-chaos:", err)
	os.Exit(1)
}
