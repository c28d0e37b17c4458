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

package apiserver

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// ownPlaneDirs gives etcd a data directory and kube-apiserver a certificate
// directory that the Server owns (Options.Restartable), before envtest
// starts them. envtest allocates temporary ones otherwise and deletes them
// on Stop (process.State.Stop removes a directory it created), so a stopped
// etcd would restart empty and a stopped API server with a new serving CA
// that no client trusts. With directories of our own, Stop keeps them and
// Start reuses them: the same data, the same serving certificate, and
// (envtest keeps both in the objects) the same ports and the same client
// CA, so every client reconnects by itself. Server.Stop removes them.
func (s *Server) ownPlaneDirs() error {
	dir, err := os.MkdirTemp("", "nstance-apiserver-plane-")
	if err != nil {
		return err
	}
	s.planeDir = dir
	cp := &s.Env.ControlPlane
	if cp.Etcd == nil {
		cp.Etcd = &envtest.Etcd{}
	}
	cp.Etcd.DataDir = filepath.Join(dir, "etcd")
	cp.GetAPIServer().CertDir = filepath.Join(dir, "kube-apiserver")
	for _, d := range []string{cp.Etcd.DataDir, cp.GetAPIServer().CertDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
	}
	return nil
}

// StopAPIServer stops kube-apiserver, leaving etcd running: SIGTERM, as
// when its static pod is stopped, then SIGKILL if it has not exited after
// grace (a kubelet's termination grace period). It returns how long the
// process took to exit and whether it had to be killed. envtest's own Stop
// cannot be used for this: it gives up after its StopTimeout (20 s), sends
// SIGKILL without waiting for the exit and returns an error.
//
// StartAPIServer starts it again on the same port with the same
// certificates and etcd, and returns once its /healthz answers. Every
// client keeps its configuration and reconnects by itself. Both need
// Options.Restartable.
func (s *Server) StopAPIServer(grace time.Duration) (time.Duration, bool, error) {
	if s.planeDir == "" {
		return 0, false, errNotRestartable
	}
	api := s.Env.ControlPlane.GetAPIServer()
	took, killed, err := stopChild("--cert-dir="+api.CertDir, grace)
	if err != nil {
		return took, killed, fmt.Errorf("stopping kube-apiserver: %w", err)
	}
	// The process is gone: envtest's Stop only updates its own state.
	if err := api.Stop(); err != nil {
		return took, killed, fmt.Errorf("stopping kube-apiserver: %w", err)
	}
	return took, killed, nil
}

// errNotRestartable: the Server was started without Options.Restartable,
// so envtest's own directories would be gone after a stop.
var errNotRestartable = errors.New("apiserver: stopping and starting kube-apiserver or etcd needs Options.Restartable")

// restartTimeout bounds a restart of kube-apiserver or etcd. envtest's
// default (20 s) was seen running out for kube-apiserver on a loaded
// 2-core machine; a start that times out is SIGTERMed by envtest.
const restartTimeout = 2 * time.Minute

// StartAPIServer starts kube-apiserver after StopAPIServer.
func (s *Server) StartAPIServer() error {
	if s.planeDir == "" {
		return errNotRestartable
	}
	api := s.Env.ControlPlane.GetAPIServer()
	api.StartTimeout = max(api.StartTimeout, restartTimeout)
	if err := api.Start(); err != nil {
		return fmt.Errorf("restarting kube-apiserver: %w", err)
	}
	return nil
}

// StopEtcd stops etcd alone as StopAPIServer stops kube-apiserver;
// kube-apiserver keeps running and answers with errors and timeouts.
// StartEtcd starts it again on the same client port with the same data
// directory, and returns once its /health answers.
func (s *Server) StopEtcd(grace time.Duration) (time.Duration, bool, error) {
	if s.planeDir == "" {
		return 0, false, errNotRestartable
	}
	etcd := s.Env.ControlPlane.Etcd
	if etcd == nil {
		return 0, false, errors.New("apiserver: etcd is not running")
	}
	took, killed, err := stopChild("--data-dir="+etcd.DataDir, grace)
	if err != nil {
		return took, killed, fmt.Errorf("stopping etcd: %w", err)
	}
	if err := etcd.Stop(); err != nil {
		return took, killed, fmt.Errorf("stopping etcd: %w", err)
	}
	return took, killed, nil
}

// StartEtcd starts etcd after StopEtcd.
func (s *Server) StartEtcd() error {
	if s.planeDir == "" {
		return errNotRestartable
	}
	if s.Env.ControlPlane.Etcd == nil {
		return errors.New("apiserver: etcd was never started")
	}
	etcd := s.Env.ControlPlane.Etcd
	etcd.StartTimeout = max(etcd.StartTimeout, restartTimeout)
	if err := etcd.Start(); err != nil {
		return fmt.Errorf("restarting etcd: %w", err)
	}
	return nil
}

// stopChild sends SIGTERM to the child of this process whose command line
// holds marker (a flag naming a directory only this stack uses), waits up
// to grace for it to exit, then sends SIGKILL and waits again. envtest's
// goroutine waiting on the process reaps it.
func stopChild(marker string, grace time.Duration) (time.Duration, bool, error) {
	pid, err := childWith(marker)
	if err != nil {
		return 0, false, err
	}
	began := time.Now()
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return 0, false, fmt.Errorf("SIGTERM to %d: %w", pid, err)
	}
	if waitGone(pid, grace) {
		return time.Since(began), false, nil
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return time.Since(began), true, fmt.Errorf("SIGKILL to %d: %w", pid, err)
	}
	if !waitGone(pid, 10*time.Second) {
		return time.Since(began), true, fmt.Errorf("process %d still there 10 s after SIGKILL", pid)
	}
	return time.Since(began), true, nil
}

// childWith finds the child process of this one whose command line
// contains marker.
func childWith(marker string) (int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(os.Getpid()) || fields[0] == "Z" {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(marker)) {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no running child process with %s", marker)
}

// waitGone waits up to timeout for pid to have exited (gone, or a zombie
// not yet reaped).
func waitGone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil {
			return true
		}
		if f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:])); len(f) > 0 && f[0] == "Z" {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
