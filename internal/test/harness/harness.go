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

// Package harness is what the load harness (cmd/nstance-bench) and the
// fault harness (cmd/nstance-chaos) share: their common flags, one run's
// life (its manager log directory, the local stack, its results file), the
// set-up on the stack (a CA, nstance-issuer and cert-manager's CA issuer
// holding it, a client that is not rate limited) and watches that follow
// objects through ended watches. What each command measures stays in it.
package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nstance-dev/nstance-issuer/internal/test/localstack"
)

// Logf writes a progress line with the UTC time to stderr; the results
// table goes to stdout.
func Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().UTC().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// WriteJSON writes v as indented JSON to path, making its directory.
func WriteJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Run is one run of a harness: when it began and the directory where its
// manager processes write their logs. A killed manager's log stays there
// (a cleanly stopped one's is removed at once): End removes the directory
// when the run succeeded and keeps it, named, when it did not.
type Run struct {
	Began  time.Time
	LogDir string
}

// BeginRun starts the clock and makes the run's log directory,
// nstance-<name>-logs-* in the temporary directory (where the local stack
// keeps its own files), and names it.
func BeginRun(name string) (*Run, error) {
	dir, err := os.MkdirTemp("", "nstance-"+name+"-logs-")
	if err != nil {
		return nil, fmt.Errorf("making the run's log directory: %w", err)
	}
	Logf("manager logs: %s (removed if the run succeeds)", dir)
	return &Run{Began: time.Now(), LogDir: dir}, nil
}

// StartStack starts the local stack both harnesses run on: kube-apiserver
// and etcd, cert-manager's controllers in this process and nstance-issuer's
// manager as its own process from f.ManagerBinary, logging to the run's
// directory. Stop it with StopStack.
func (r *Run) StartStack(ctx context.Context, f *Flags) (*localstack.Stack, error) {
	Logf("starting the local stack (kube-apiserver, etcd, cert-manager in-process, manager process %s)", f.ManagerBinary)
	stack, err := localstack.Start(ctx, localstack.Options{RepoRoot: f.RepoRoot, CertManager: true, ManagerBinary: f.ManagerBinary,
		ManagerArgs: f.ManagerArgs, ManagerLogDir: r.LogDir, AuditLogPath: f.AuditLogPath, AuditNamespaces: f.AuditNamespaces})
	if err != nil {
		return nil, fmt.Errorf("localstack: %w", err)
	}
	return stack, nil
}

// StopStack stops the stack and logs what went wrong doing so.
func StopStack(stack *localstack.Stack) {
	if err := stack.Stop(); err != nil {
		Logf("stopping the stack: %v", err)
	}
}

// End writes results as JSON to out and says where, with the run's time;
// then it removes the log directory if ok, or names it as kept. An error
// is the results file's.
func (r *Run) End(out string, results any, ok bool) error {
	if err := WriteJSON(out, results); err != nil {
		return err
	}
	fmt.Printf("\nresults: %s (run took %s)\n", out, time.Since(r.Began).Round(time.Second))
	if !ok {
		Logf("manager logs kept: %s", r.LogDir)
		return nil
	}
	if err := os.RemoveAll(r.LogDir); err != nil {
		Logf("removing the manager logs: %v", err)
	}
	return nil
}
