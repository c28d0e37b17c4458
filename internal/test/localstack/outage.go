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
	"errors"
	"net/http"
	"time"
)

// StopAPIServer stops kube-apiserver, leaving etcd running: SIGTERM, then
// SIGKILL if it has not exited after grace (apiserver.Server.StopAPIServer).
// It returns how long the process took to exit and whether it had to be
// killed. StartAPIServer starts it again on the same port with the same
// certificates and etcd; every client of the stack (cert-manager's
// controllers, the manager process, Stack.Client) keeps its configuration
// and reconnects by itself.
func (s *Stack) StopAPIServer(grace time.Duration) (time.Duration, bool, error) {
	return s.api.StopAPIServer(grace)
}

// StartAPIServer starts kube-apiserver after StopAPIServer.
func (s *Stack) StartAPIServer() error { return s.api.StartAPIServer() }

// StopEtcd stops etcd alone as StopAPIServer stops kube-apiserver;
// kube-apiserver keeps running and answers with errors and timeouts.
// StartEtcd starts it again on the same client port with the same data
// directory.
func (s *Stack) StopEtcd(grace time.Duration) (time.Duration, bool, error) {
	return s.api.StopEtcd(grace)
}

// StartEtcd starts etcd after StopEtcd.
func (s *Stack) StartEtcd() error { return s.api.StartEtcd() }

// ManagerExited reports whether the manager process the stack started
// (Options.ManagerBinary) has exited by itself, and its exit error: the
// case a kubelet restarts. A process stopped or killed through the stack
// is not "exited"; call KillManager to reap an exited one (its log is
// kept) before StartManager.
func (s *Stack) ManagerExited() (bool, error) {
	if s.proc == nil {
		return false, nil
	}
	p := s.proc
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		return false, nil
	}
	select {
	case err := <-p.done:
		// Put it back for stop and kill, which wait on it.
		p.done <- err
		return true, err
	default:
		return false, nil
	}
}

// ManagerReady asks the manager process's /readyz, as a kubelet's
// readiness probe would (1 s timeout): it returns the HTTP status, or an
// error when nothing answered.
func (s *Stack) ManagerReady(ctx context.Context) (int, error) {
	if s.proc == nil {
		return 0, errors.New("localstack: ManagerReady needs Options.ManagerBinary")
	}
	s.proc.mu.Lock()
	u := s.proc.healthURL
	s.proc.mu.Unlock()
	if u == "" {
		return 0, errors.New("localstack: the manager process is not running")
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u+"/readyz", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}
