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
	"fmt"
	"io"
	"net"
	"net/http"
	"path"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"
)

// APIWait paces WaitForAPIServer: the pause after a failed attempt starts
// at Initial and doubles up to Max; each attempt may take Timeout.
type APIWait struct {
	Initial, Max, Timeout time.Duration
}

// DefaultAPIWait notices the API server back within 5 s (a kubelet probes
// readiness every 5 s too) and logs at most one line per 5 s meanwhile.
var DefaultAPIWait = APIWait{Initial: 500 * time.Millisecond, Max: 5 * time.Second, Timeout: 5 * time.Second}

// WaitForAPIServer returns once the API server answers GET /readyz with
// 200, or 401/403 (it is up, but does not show this identity /readyz), on
// the first attempt when it is up; or with ctx's error.
//
// Without it, a manager started while the API server or its etcd is away
// exits at once (discovery fails while the manager is built), and a
// kubelet restarts it with a back-off that doubles per exit, up to 5
// minutes: after a long outage, signing would resume only when that
// back-off ends, not when the API server is back. Waiting here instead
// keeps the process running and its restart count unchanged. Meanwhile,
// when healthAddr is set, it serves the manager's probes itself: /healthz
// 200 (the process is doing what it should, a liveness probe must not
// restart it) and /readyz 503 with the reason, and it closes that listener
// before returning so the manager can bind the address. Every failed
// attempt is logged with its error; the pauses grow to w.Max.
func WaitForAPIServer(ctx context.Context, cfg *rest.Config, healthAddr string, w APIWait, log logr.Logger) error {
	probe, err := newReadyzProbe(cfg, w.Timeout)
	if err != nil {
		return err
	}
	if err = probe(ctx); err == nil {
		return nil
	}
	// last is what the waiting /readyz reports; each Store gets a copy.
	var last atomic.Pointer[error]
	first := err
	last.Store(&first)
	if healthAddr != "" && healthAddr != "0" {
		stop, err := serveWaitingProbes(ctx, healthAddr, func() error { return *last.Load() })
		if err != nil {
			return err
		}
		defer stop()
	}
	pause := w.Initial
	for attempt := 1; ; attempt++ {
		log.Info("waiting for the API server", "attempt", attempt, "retryIn", pause.String(), "error", err.Error())
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped while waiting for the API server (last: %s): %w", err.Error(), ctx.Err())
		case <-time.After(pause):
		}
		pause = min(2*pause, w.Max)
		if err = probe(ctx); err == nil {
			log.Info("the API server is ready", "attempts", attempt+1)
			return nil
		}
		failed := err
		last.Store(&failed)
	}
}

// newReadyzProbe returns a function that GETs the API server's /readyz
// with cfg's transport (its credentials and CA) and returns nil on 200.
func newReadyzProbe(cfg *rest.Config, timeout time.Duration) (func(context.Context) error, error) {
	tcfg, err := cfg.TransportConfig()
	if err != nil {
		return nil, fmt.Errorf("building the transport config: %w", err)
	}
	rt, err := transport.New(tcfg)
	if err != nil {
		return nil, fmt.Errorf("building the round tripper: %w", err)
	}
	u, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("parsing the API server host %q: %w", cfg.Host, err)
	}
	u.Path = path.Join(u.Path, "readyz")
	client := &http.Client{Transport: rt, Timeout: timeout}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("GET /readyz: %w", err)
		}
		defer func() { _ = resp.Body.Close() }()
		switch resp.StatusCode {
		case http.StatusOK:
			return nil
		case http.StatusUnauthorized, http.StatusForbidden:
			// An API server that answers but keeps /readyz from this
			// identity (a cluster that narrowed system:public-info-viewer)
			// is up: the manager's own requests will tell the rest.
			return nil
		default:
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			return fmt.Errorf("GET /readyz: %s: %s", resp.Status, body)
		}
	}, nil
}

// serveWaitingProbes serves /healthz (200) and /readyz (503 with why) on
// addr until stop, which also closes the listener.
func serveWaitingProbes(ctx context.Context, addr string, why func() error) (stop func(), err error) {
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot serve health probes on %s while waiting for the API server: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintf(w, "waiting for the API server: %v", why())
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Serve returns ErrServerClosed on stop; any other failure shows
		// as failing probes.
		_ = srv.Serve(l)
	}()
	return func() {
		_ = srv.Close()
		<-done
	}, nil
}
