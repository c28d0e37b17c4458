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
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// managerProcess is nstance-issuer's manager running as its own OS process
// (Options.ManagerBinary), so a benchmark can read its RSS from /proc and
// its Go heap from its metrics endpoint without counting the API server's
// client, cert-manager's controllers or the harness.
type managerProcess struct {
	binary, kubeconfig string
	args               []string
	// logDir holds the process's log files ("" is os.TempDir()).
	logDir string

	mu         sync.Mutex
	cmd        *exec.Cmd
	done       chan error
	metricsURL string
	healthURL  string
	log        *os.File
	// keptLogs are the logs of killed processes.
	keptLogs []string
	// onLine, when set, is called with every line the process logs, as it
	// logs it (replicas.go reads leadership and signatures from it).
	onLine func(line string)
	// standby: start waits only for the metrics endpoint, not for the
	// controllers' workers, which a replica under leader election starts
	// only once it leads.
	standby bool
}

// ManagerPID is the manager's process id when it runs as its own process
// (Options.ManagerBinary), else 0.
func (s *Stack) ManagerPID() int {
	if s.proc == nil {
		return 0
	}
	s.proc.mu.Lock()
	defer s.proc.mu.Unlock()
	if s.proc.cmd == nil || s.proc.cmd.Process == nil {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// ManagerMetricsURL is the manager process's Prometheus endpoint
// (http://127.0.0.1:port/metrics) with Options.ManagerBinary, else "".
func (s *Stack) ManagerMetricsURL() string {
	if s.proc == nil {
		return ""
	}
	s.proc.mu.Lock()
	defer s.proc.mu.Unlock()
	return s.proc.metricsURL
}

// RestartManager stops the manager process and starts a fresh one, waiting
// for its controllers as Start does; args, when not nil, replace
// Options.ManagerArgs. It only works with Options.ManagerBinary.
func (s *Stack) RestartManager(ctx context.Context, args []string) error {
	if err := s.StopManager(); err != nil {
		return err
	}
	if args != nil {
		s.proc.args = args
	}
	return s.StartManager(ctx)
}

// StopManager stops the manager process (gracefully, as a rollout would);
// StartManager starts it again. They only work with Options.ManagerBinary.
func (s *Stack) StopManager() error {
	if s.proc == nil {
		return errors.New("localstack: StopManager needs Options.ManagerBinary")
	}
	if err := s.proc.stop(); err != nil {
		return fmt.Errorf("stopping the manager: %w", err)
	}
	return nil
}

// StartManager starts a stopped manager process and waits for its
// controllers' workers.
func (s *Stack) StartManager(ctx context.Context) error {
	if s.proc == nil {
		return errors.New("localstack: StartManager needs Options.ManagerBinary")
	}
	return s.proc.start(ctx)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs the binary with the flags the in-process manager uses and
// waits until its CertificateRequest controller's workers run, which
// controller-runtime logs only after that controller's caches synced.
func (p *managerProcess) start(ctx context.Context) error {
	metricsPort, err := FreePort()
	if err != nil {
		return err
	}
	healthPort, err := FreePort()
	if err != nil {
		return err
	}
	o := managerOptions()
	o.MetricsBindAddress = fmt.Sprintf("127.0.0.1:%d", metricsPort)
	o.HealthProbeBindAddress = fmt.Sprintf("127.0.0.1:%d", healthPort)
	args := append(append([]string{"--kubeconfig=" + p.kubeconfig}, o.Args()...), p.args...)
	log, err := os.CreateTemp(p.logDir, "nstance-issuer-manager-*.log")
	if err != nil {
		return err
	}
	// Not CommandContext: the process must outlive a start-up context and
	// is stopped by stop, gracefully.
	cmd := exec.Command(p.binary, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		_ = log.Close()
		return err
	}
	cmd.Stdout = log
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return fmt.Errorf("cannot start the manager binary %s: %w", p.binary, err)
	}
	workers := make(chan struct{})
	if p.standby {
		close(workers)
	}
	onLine := p.onLine
	go func() {
		// Copy the log to the file, watching for the CertificateRequest
		// controller's "Starting workers".
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		seen := false
		for sc.Scan() {
			line := sc.Text()
			_, _ = io.WriteString(log, line+"\n")
			if onLine != nil {
				onLine(line)
			}
			if !seen && !p.standby && strings.Contains(line, "Starting workers") && strings.Contains(strings.ToLower(line), "certificaterequest") {
				seen = true
				close(workers)
			}
		}
		_, _ = io.Copy(log, stderr)
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	p.mu.Lock()
	p.cmd, p.done, p.log = cmd, done, log
	p.metricsURL = fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
	p.healthURL = fmt.Sprintf("http://127.0.0.1:%d", healthPort)
	p.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	select {
	case <-workers:
	case err := <-done:
		done <- err
		return fmt.Errorf("the manager process exited while starting (%w); its log is %s", err, log.Name())
	case <-ctx.Done():
		return fmt.Errorf("the manager process did not start its workers: %w; its log is %s", ctx.Err(), log.Name())
	}
	// The metrics endpoint serves once the manager runs its runnables.
	for {
		resp, err := http.Get(p.metricsURL)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the manager's metrics endpoint does not answer: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM, waits up to 30 s, then kills. The log file is removed
// when the process exited cleanly and kept (and named) otherwise.
func (p *managerProcess) stop() error {
	p.mu.Lock()
	cmd, done, log := p.cmd, p.done, p.log
	p.cmd, p.done, p.log = nil, nil, nil
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		err = fmt.Errorf("the manager did not stop within 30 s: %w", <-done)
	}
	_ = log.Close()
	if err != nil {
		return fmt.Errorf("manager process: %w; its log is %s", err, log.Name())
	}
	return os.Remove(log.Name())
}

// KillManager sends the manager process SIGKILL, as the kernel's OOM killer
// or a node failure would, and waits for it to exit; StartManager starts it
// again. Its log file is kept (ManagerLogs lists it). It only works with
// Options.ManagerBinary; a manager that is not running is left alone.
func (s *Stack) KillManager() error {
	if s.proc == nil {
		return errors.New("localstack: KillManager needs Options.ManagerBinary")
	}
	return s.proc.kill()
}

// ManagerLogs are the log files of manager processes that were killed or
// exited with an error, oldest first (a cleanly stopped process's log is
// removed).
func (s *Stack) ManagerLogs() []string {
	if s.proc == nil {
		return nil
	}
	s.proc.mu.Lock()
	defer s.proc.mu.Unlock()
	return append([]string(nil), s.proc.keptLogs...)
}

func (p *managerProcess) kill() error {
	p.mu.Lock()
	cmd, done, log := p.cmd, p.done, p.log
	p.cmd, p.done, p.log = nil, nil, nil
	if log != nil {
		p.keptLogs = append(p.keptLogs, log.Name())
	}
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("killing the manager: %w", err)
	}
	// An exit status is the kill's; anything else is not.
	var exit *exec.ExitError
	if err := <-done; err != nil && !errors.As(err, &exit) {
		return errors.Join(fmt.Errorf("waiting for the killed manager: %w", err), log.Close())
	}
	return log.Close()
}
