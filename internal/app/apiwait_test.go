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

package app

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"k8s.io/client-go/rest"
)

// waitingAPIServer answers GET /readyz with 503 until ready is closed,
// then 200, and counts both.
type waitingAPIServer struct {
	cfg             *rest.Config
	ready           chan struct{}
	unready, served atomic.Int32
}

func newWaitingAPIServer(t *testing.T) *waitingAPIServer {
	t.Helper()
	s := &waitingAPIServer{ready: make(chan struct{})}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/readyz" {
			t.Errorf("probe was %s %s, want GET /readyz", r.Method, r.URL.Path)
		}
		select {
		case <-s.ready:
			s.served.Add(1)
			_, _ = io.WriteString(w, "ok")
		default:
			s.unready.Add(1)
			http.Error(w, "[-]etcd failed: reason withheld", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(srv.Close)
	s.cfg = &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	return s
}

// countingLog counts "waiting for the API server" lines.
func countingLog() (logr.Logger, *atomic.Int32) {
	var n atomic.Int32
	return funcr.New(func(_, args string) {
		if strings.Contains(args, `"waiting for the API server"`) {
			n.Add(1)
		}
	}, funcr.Options{}), &n
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

var fastWait = APIWait{Initial: time.Millisecond, Max: 5 * time.Millisecond, Timeout: 5 * time.Second}

func TestWaitForAPIServerReturnsAtOnceWhenReady(t *testing.T) {
	t.Parallel()
	api := newWaitingAPIServer(t)
	close(api.ready)
	log, waits := countingLog()
	addr := freeAddr(t)
	if err := WaitForAPIServer(t.Context(), api.cfg, addr, fastWait, log); err != nil {
		t.Fatalf("WaitForAPIServer: %v", err)
	}
	if api.served.Load() != 1 || api.unready.Load() != 0 || waits.Load() != 0 {
		t.Errorf("probes: %d ready, %d unready, %d waiting lines; want 1, 0, 0", api.served.Load(), api.unready.Load(), waits.Load())
	}
	// No probe server was started: the address is free for the manager.
	if l, err := net.Listen("tcp", addr); err != nil {
		t.Errorf("health address not free: %v", err)
	} else {
		_ = l.Close()
	}
}

func TestWaitForAPIServerWaitsUnreadyButAlive(t *testing.T) {
	t.Parallel()
	api := newWaitingAPIServer(t)
	log, waits := countingLog()
	addr := freeAddr(t)
	done := make(chan error, 1)
	go func() { done <- WaitForAPIServer(t.Context(), api.cfg, addr, fastWait, log) }()

	// While it waits, a kubelet's liveness probe passes and its readiness
	// probe fails with the reason.
	var ready, health *http.Response
	for ready == nil {
		select {
		case err := <-done:
			t.Fatalf("WaitForAPIServer returned before the API server was ready: %v", err)
		default:
		}
		r, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			continue // not listening yet
		}
		ready = r
	}
	body, _ := io.ReadAll(ready.Body)
	_ = ready.Body.Close()
	if ready.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "waiting for the API server: GET /readyz: 500") {
		t.Errorf("/readyz while waiting: %d %q, want 503 naming the API server's answer", ready.StatusCode, body)
	}
	health, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("/healthz while waiting: %v", err)
	}
	_ = health.Body.Close()
	if health.StatusCode != http.StatusOK {
		t.Errorf("/healthz while waiting: %d, want 200", health.StatusCode)
	}

	close(api.ready)
	if err := <-done; err != nil {
		t.Fatalf("WaitForAPIServer: %v", err)
	}
	// Every failed attempt was logged, none silently retried.
	if api.unready.Load() == 0 || waits.Load() != api.unready.Load() {
		t.Errorf("%d unready answers, %d waiting lines logged; want as many, at least 1", api.unready.Load(), waits.Load())
	}
	// The probe server is gone, so the manager can bind the address.
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("health address still taken after the wait: %v", err)
	}
	_ = l.Close()
}

func TestWaitForAPIServerStopsWithItsContext(t *testing.T) {
	t.Parallel()
	api := newWaitingAPIServer(t) // never ready
	ctx, cancel := context.WithCancel(t.Context())
	var once sync.Once
	log := funcr.New(func(_, args string) {
		// Cancel once it has logged its second wait.
		if strings.Contains(args, `"attempt"=2`) {
			once.Do(cancel)
		}
	}, funcr.Options{})
	err := WaitForAPIServer(ctx, api.cfg, "0", fastWait, log)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "500") {
		t.Errorf("WaitForAPIServer = %v, want context.Canceled with the last answer", err)
	}
}

func TestWaitForAPIServerRefusesATakenHealthAddress(t *testing.T) {
	t.Parallel()
	api := newWaitingAPIServer(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	err = WaitForAPIServer(t.Context(), api.cfg, l.Addr().String(), fastWait, logr.Discard())
	if err == nil || !strings.Contains(err.Error(), "cannot serve health probes") {
		t.Errorf("WaitForAPIServer = %v, want the listen error", err)
	}
}

func TestWaitForAPIServerTakesForbiddenForUp(t *testing.T) {
	t.Parallel()
	for _, code := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		var probes atomic.Int32
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			probes.Add(1)
			http.Error(w, "forbidden: User cannot get path /readyz", code)
		}))
		cfg := &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
		// A wait would be the failure: it ends the wait at once.
		ctx, cancel := context.WithCancel(t.Context())
		var waits atomic.Int32
		log := funcr.New(func(_, args string) {
			if strings.Contains(args, `"waiting for the API server"`) {
				waits.Add(1)
				cancel()
			}
		}, funcr.Options{})
		err := WaitForAPIServer(ctx, cfg, "0", fastWait, log)
		cancel()
		if err != nil {
			t.Errorf("%d: WaitForAPIServer = %v, want nil", code, err)
		}
		if probes.Load() != 1 || waits.Load() != 0 {
			t.Errorf("%d: %d probes, %d waiting lines; want 1 and 0", code, probes.Load(), waits.Load())
		}
		srv.Close()
	}
}
