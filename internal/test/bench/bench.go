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

// Package bench is the load harness cmd/nstance-bench runs: it measures
// nstance-issuer against cert-manager's own CA issuer on the local stack (internal/test/localstack: a real kube-apiserver and
// etcd, cert-manager's real controllers in this process, nstance-issuer's
// manager as its own OS process built from cmd/nstance-issuer), in one run:
//
//   - core:   `go test -bench` of the PKI core against the verified floor
//     (parse the CSR, check its signature, x509.CreateCertificate) and, for
//     context, raw x509.CreateCertificate;
//   - raw:    the signer floor, what a signer at least writes per certificate
//     (one server-side-apply status patch and one Event) from a client with
//     the manager's settings (its automatic client-side limit, 16 workers by
//     default); for context, merge status patches with the same settings,
//     with the 50 QPS fallback, and unthrottled;
//   - stage:  N CertificateRequests with pre-generated CSRs, approved by this
//     harness, signed by each issuer in turn: throughput and approved→Ready
//     latency (p50/p95/p99) from watches, and CPU per certificate by
//     process; then each issuer alone on a backlog of N approved requests
//     waiting when its signer starts, comparable with the signer floor;
//   - pods:   N PodCertificateRequests signed by a cluster issuer:
//     created→Issued latency beside the stage's approved→Ready;
//   - e2e:    N Certificates (ECDSA P-256 keys) through cert-manager's
//     controllers, with each issuer: first create to all Ready;
//   - keys:   CA keys outside Kubernetes beside a Secret-held key: the
//     latency per certificate with a key in a SoftHSM2 token (PKCS#11) and
//     in the AWS KMS emulator, and the manager's backlog throughput with
//     each (keys.go; needs the pkcs11 build of both binaries);
//   - memory: the manager process's peak and steady RSS and Go heap while it
//     issues N certificates, with 0, many small and some 1 MiB unrelated
//     Secrets.
//
// Every figure is printed with its ratio to its baseline and goal
// (PASS/MISS, never asserted) and written as JSON to -out. What each phase
// measures and the published figures: docs/performance.md.
package bench

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
	"github.com/nstance-dev/nstance-issuer/internal/test/localstack"
)

// Config is what the flags of cmd/nstance-bench set (RegisterFlags).
type Config struct {
	harness.Flags
	rawPatches   int
	smallSecrets int
	smallSize    int
	largeSecrets int
	largeSize    int
	benchtime    string
	only         map[string]bool
	timeout      time.Duration
	// pprofAddr is the manager's --pprof-bind-address with -profile or
	// -scale-memory-points.
	pprofAddr  string
	profileDir string
	// stageRounds is how many alternating rounds the issuer stage runs.
	stageRounds int
	// scalePoints are the Ns of the scale phase (none: it does not run);
	// scaleNamespaces the namespaces its trust publication makes.
	scalePoints     []int
	scaleNamespaces int
	// scaleRate is the arrival rate of the scale phase's paced stage, per
	// second (0: no paced stage).
	scaleRate float64
	scaleFlag string
	// scaleMemoryPoints are the exact counts of finished requests at which
	// the scale phase reads the manager's memory at rest, before its sweep
	// (memory_rest.go; none: not measured).
	scaleMemoryPoints []int
	scaleMemoryFlag   string
	// reissueN Certificates re-issued after a rotate-now at
	// reissueBatch per reissueInterval (scale_reissue.go; 0: not run).
	reissueN        int
	reissueBatch    int
	reissueInterval time.Duration
	// plotFrom, with plotDir, only draws the scale plots of a results file.
	plotFrom, plotDir string

	onlyFlag string
	profile  bool
}

func (c *Config) run(phase string) bool { return len(c.only) == 0 || c.only[phase] }

// runScale: the scale phase runs when asked for and given points (of the
// sweep or of memory at rest).
func (c *Config) runScale() bool {
	return c.run("scale") && (len(c.scalePoints) > 0 || len(c.scaleMemoryPoints) > 0)
}

// runReissue: the re-issue phase runs in the scale phase, or alone with
// -only reissue, when given a count.
func (c *Config) runReissue() bool {
	return c.reissueN > 0 && (c.runScale() || (len(c.only) > 0 && c.only["reissue"]))
}

// RegisterFlags defines the harness's flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.Register(fs, harness.Defaults{N: 50, NUsage: "Certificates / CertificateRequests per issuer and scenario (1000 for published figures).", Out: "bin/bench/results.json"})
	fs.IntVar(&c.rawPatches, "raw-patches", 0, "Status patches for the raw API rate (default max(n, 300)).")
	fs.IntVar(&c.smallSecrets, "small-secrets", 10000, "Unrelated small Secrets in the memory scenario.")
	fs.IntVar(&c.smallSize, "small-secret-size", 512, "Bytes of data in each small Secret.")
	fs.IntVar(&c.largeSecrets, "large-secrets", 300, "Unrelated large Secrets in the memory scenario.")
	fs.IntVar(&c.largeSize, "large-secret-size", 1<<20, "Bytes of data in each large Secret.")
	fs.StringVar(&c.benchtime, "benchtime", "1s", "go test -benchtime for the signing core.")
	fs.StringVar(&c.onlyFlag, "only", "", "Comma-separated phases to run (core,raw,stage,pods,e2e,keys,memory,scale,reissue); empty runs all (scale only with -scale-points, reissue only with -scale-reissue, inside scale when it runs).")
	fs.IntVar(&c.stageRounds, "stage-rounds", 2, "Alternating rounds of the issuer stage (nstance, CA issuer, ...); each issuer's fastest counts.")
	fs.BoolVar(&c.profile, "profile", false, "Take CPU profiles of the manager and the API server during nstance-issuer's first stage round, into profiles/ beside -out (read with go tool pprof). Profiling costs CPU: that round's figures are then a little low.")
	fs.StringVar(&c.scaleFlag, "scale-points", "", "Comma-separated Ns of the scale phase (e.g. 1000,3000,10000); empty: the phase does not run.")
	fs.StringVar(&c.scaleMemoryFlag, "scale-memory-points", "", "Comma-separated increasing counts of finished CertificateRequests (e.g. 1000,10000,30000) at which the scale phase, before its sweep, reads the manager's memory at rest after a forced GC (through a pprof endpoint it then gives the manager); the requests are deleted before the sweep. Empty: not measured.")
	fs.IntVar(&c.scaleNamespaces, "scale-namespaces", 0, "Namespaces the scale phase's trust publication makes (0: not run).")
	fs.Float64Var(&c.scaleRate, "scale-rate", 40, "Requests per second the scale phase's paced stage creates and approves, open loop, to time approved→Ready at a rate both issuers sustain (0: no paced stage).")
	fs.IntVar(&c.reissueN, "scale-reissue", 0, "Certificates the re-issue after rotate-now re-issues (in -only scale, or alone with -only reissue); 0: not run.")
	fs.IntVar(&c.reissueBatch, "scale-reissue-batch", 100, "The manager's --reissue-batch-size in the re-issue phase.")
	fs.DurationVar(&c.reissueInterval, "scale-reissue-interval", 10*time.Second, "The manager's --reissue-interval in the re-issue phase.")
	fs.StringVar(&c.plotFrom, "plot", "", "Only draw the scale phase's plots from this results file (JSON) into -plot-dir, then exit.")
	fs.StringVar(&c.plotDir, "plot-dir", "docs/performance", "Where -plot writes its SVG files.")
	fs.DurationVar(&c.timeout, "phase-timeout", 0, "Time limit of each wait (default 2m + 200ms per object).")
}

// complete fills the defaults that depend on other flags, once they are
// parsed.
func (c *Config) complete() error {
	if c.reissueN > 0 && (c.reissueBatch < 1 || c.reissueInterval <= 0) {
		return fmt.Errorf("-scale-reissue-batch %d and -scale-reissue-interval %s must be positive", c.reissueBatch, c.reissueInterval)
	}
	if c.rawPatches == 0 {
		c.rawPatches = max(c.N, 300)
	}
	if c.scaleFlag != "" {
		for p := range strings.SplitSeq(c.scaleFlag, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil || n < 1 {
				return fmt.Errorf("-scale-points %q: %q is not a positive count", c.scaleFlag, p)
			}
			c.scalePoints = append(c.scalePoints, n)
		}
	}
	if c.scaleMemoryFlag != "" {
		for p := range strings.SplitSeq(c.scaleMemoryFlag, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil || n < 1 {
				return fmt.Errorf("-scale-memory-points %q: %q is not a positive count", c.scaleMemoryFlag, p)
			}
			if k := len(c.scaleMemoryPoints); k > 0 && n <= c.scaleMemoryPoints[k-1] {
				return fmt.Errorf("-scale-memory-points %q: the counts must increase (%d after %d): each point adds requests to the last", c.scaleMemoryFlag, n, c.scaleMemoryPoints[k-1])
			}
			c.scaleMemoryPoints = append(c.scaleMemoryPoints, n)
		}
	}
	if c.scaleRate < 0 || math.IsNaN(c.scaleRate) || math.IsInf(c.scaleRate, 0) {
		return fmt.Errorf("-scale-rate %g is not a rate: requests per second, or 0 for no paced stage", c.scaleRate)
	}
	if c.timeout == 0 {
		largest := c.N
		for _, n := range c.scalePoints {
			largest = max(largest, n, c.scaleNamespaces)
		}
		for _, n := range c.scaleMemoryPoints {
			largest = max(largest, n)
		}
		largest = max(largest, c.reissueN)
		c.timeout = 2*time.Minute + time.Duration(largest)*200*time.Millisecond
	}
	if err := c.Complete(); err != nil {
		return err
	}
	// The memory points force a GC through the manager's pprof endpoint.
	if c.profile || len(c.scaleMemoryPoints) > 0 {
		port, err := localstack.FreePort()
		if err != nil {
			return err
		}
		c.pprofAddr = fmt.Sprintf("127.0.0.1:%d", port)
		c.ManagerArgs = append(c.ManagerArgs, "--pprof-bind-address="+c.pprofAddr)
		c.profileDir = filepath.Join(filepath.Dir(c.Out), "profiles")
	}
	if c.onlyFlag != "" {
		c.only = map[string]bool{}
		for p := range strings.SplitSeq(c.onlyFlag, ",") {
			c.only[strings.TrimSpace(p)] = true
		}
	}
	return nil
}

// Main runs the harness as c's flags say until it is done or ctx ends,
// prints the figures to stdout and writes them to -out, and returns the
// process's exit code: 1 when a phase failed (goals are reported, never
// asserted).
func Main(ctx context.Context, c *Config) int {
	// cert-manager and controller-runtime log through klog/logr: errors only.
	quiet := zap.New(zap.Level(zapcore.ErrorLevel))
	ctrl.SetLogger(quiet)
	klog.SetLogger(quiet)
	if err := c.complete(); err != nil {
		return fatal(err)
	}
	if c.plotFrom != "" {
		files, err := Plot(c.plotFrom, c.plotDir)
		if err != nil {
			return fatal(err)
		}
		for _, f := range files {
			fmt.Println(f)
		}
		return 0
	}

	run, err := harness.BeginRun("bench")
	if err != nil {
		return fatal(err)
	}
	r := &results{Meta: runMeta{N: c.N, ManagerArgs: c.ManagerArgs, Started: run.Began.UTC(), SmallSecrets: c.smallSecrets, SmallSecretSize: c.smallSize,
		LargeSecrets: c.largeSecrets, LargeSecretSize: c.largeSize, RawPatches: c.rawPatches}}
	if c.run("core") {
		// Before the stack starts, so that nothing else competes for the CPU.
		harness.Logf("signing core: go test -bench (benchtime %s)", c.benchtime)
		if err := runCore(ctx, c, r); err != nil {
			r.Errors = append(r.Errors, "core: "+err.Error())
			harness.Logf("core: %v", err)
		}
	}
	var ke *keyEnv
	if c.run("keys") {
		// Before the stack starts: the manager process gets the token's
		// and the emulator's flags.
		var err error
		if ke, err = prepareKeys(ctx, c); err != nil {
			r.Errors = append(r.Errors, "keys: "+err.Error())
			harness.Logf("keys: %v", err)
		}
		defer ke.stop()
		r.Meta.ManagerArgs = c.ManagerArgs
	}
	if c.runScale() && c.scaleRate > 0 {
		// The paced stage splits its latency with the API server's audit
		// log (latency_split.go); it goes with the run's logs.
		c.AuditLogPath = filepath.Join(run.LogDir, "audit.log")
		// Only the paced stages' namespaces: the backlog and the unpaced
		// stage do not read it, and at 10,000 its cost went with a
		// slower backlog (docs/performance.md, sixth to ninth runs).
		for _, n := range c.scalePoints {
			for _, label := range []string{harness.NstanceLabel, harness.CAIssuerLabel} {
				c.AuditNamespaces = append(c.AuditNamespaces, pacedNamespace(n, label))
			}
		}
	}
	if c.run("raw") || c.run("stage") || c.run("pods") || c.run("e2e") || (c.run("keys") && ke != nil) || c.run("memory") || c.runScale() || c.runReissue() {
		if err := runStack(ctx, run, c, r, ke); err != nil {
			r.Errors = append(r.Errors, err.Error())
			harness.Logf("%v", err)
		}
	}
	r.Meta.Seconds = time.Since(run.Began).Seconds()
	r.print(os.Stdout)
	ok := len(r.Errors) == 0
	if err := run.End(c.Out, r, ok); err != nil {
		return fatal(err)
	}
	if !ok {
		return 1
	}
	return 0
}

func runStack(ctx context.Context, run *harness.Run, c *Config, r *results, ke *keyEnv) error {
	t := time.Now()
	stack, err := run.StartStack(ctx, &c.Flags)
	if err != nil {
		return err
	}
	defer harness.StopStack(stack)
	harness.Logf("stack up in %s", time.Since(t).Round(100*time.Millisecond))
	h, err := newHarness(ctx, c, stack)
	if err != nil {
		return err
	}
	var errs []string
	step := func(name string, f func() error) {
		if !c.run(name) {
			return
		}
		t := time.Now()
		harness.Logf("== %s", name)
		if err := f(); err != nil {
			errs = append(errs, name+": "+err.Error())
			harness.Logf("%s: %v", name, err)
		}
		harness.Logf("== %s took %s", name, time.Since(t).Round(100*time.Millisecond))
	}
	step("raw", func() error { return h.rawRates(ctx, r) })
	step("stage", func() error {
		if err := h.issuerStage(ctx, r); err != nil {
			return err
		}
		return h.backlog(ctx, r)
	})
	step("pods", func() error { return h.podCertificates(ctx, r) })
	step("e2e", func() error { return h.endToEnd(ctx, r) })
	if ke != nil {
		step("keys", func() error { return h.keysPhase(ctx, r, ke) })
	}
	step("memory", func() error { return h.memory(ctx, r) })
	if c.runScale() {
		step("scale", func() error { return h.scale(ctx, r) })
	} else if c.runReissue() {
		step("reissue", func() error {
			rs, err := h.scaleReissue(ctx)
			if err != nil {
				return err
			}
			r.Sweep = &scaleSweep{Reissue: rs}
			rs.report(r)
			return nil
		})
	}
	r.Errors = append(r.Errors, errs...)
	return nil
}

// fatal says why the harness cannot go on, as the command's error, and
// is its exit code.
func fatal(err error) int {
	fmt.Fprintln(os.Stderr, "nstance-bench:", err)
	return 1
}
