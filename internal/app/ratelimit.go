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
	"net/http"
	"path"
	"time"

	flowcontrolapi "k8s.io/api/flowcontrol/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"
)

// Client-side rate limit used when --kube-api-qps is automatic (0) and the
// API server does not have API Priority and Fairness.
const (
	FallbackKubeAPIQPS   = 50
	FallbackKubeAPIBurst = 100
)

// RateLimit is the client-side limit the manager's clients apply, and why.
type RateLimit struct {
	// QPS < 0 means no client-side limit.
	QPS   float32
	Burst int
	// Reason says how the limit was chosen, for the start-up log.
	Reason string
}

// Unlimited reports whether the clients send without client-side throttling.
func (r RateLimit) Unlimited() bool { return r.QPS < 0 }

// Apply sets the limit on a rest.Config.
func (r RateLimit) Apply(cfg *rest.Config) {
	cfg.QPS, cfg.Burst = r.QPS, r.Burst
}

// ResolveRateLimit turns the --kube-api-qps/--kube-api-burst flags into a
// client-side limit:
//
//   - qps < 0: no client-side limit;
//   - qps > 0: that limit, with burst (2×qps when burst is 0);
//   - qps == 0 (automatic, the default): no client-side limit when the API
//     server has API Priority and Fairness (it then queues and sheds load
//     itself, and a client-side bucket only slows signing down: at 50 QPS
//     the one status write per request caps issuance at 50/s), else
//     FallbackKubeAPIQPS/FallbackKubeAPIBurst. cert-manager's controller
//     probes the same way since v1.21, with a fallback of 20 QPS / burst 50.
//
// The probe is one HEAD request to /livez/ping; if it fails the fallback
// limit is used and the error is returned in Reason, never fatal.
func ResolveRateLimit(ctx context.Context, cfg *rest.Config, qps float64, burst int) RateLimit {
	switch {
	case qps < 0:
		return RateLimit{QPS: -1, Burst: -1, Reason: "client-side rate limit off (--kube-api-qps < 0)"}
	case qps > 0:
		if burst <= 0 {
			burst = max(1, int(2*qps))
		}
		return RateLimit{QPS: float32(qps), Burst: burst, Reason: "client-side rate limit set by --kube-api-qps"}
	}
	probeCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	apf, err := APFEnabled(probeCtx, cfg)
	if err == nil && apf {
		return RateLimit{QPS: -1, Burst: -1, Reason: "API Priority and Fairness is enabled: client-side rate limit off"}
	}
	if burst <= 0 {
		burst = FallbackKubeAPIBurst
	}
	reason := "API Priority and Fairness is not enabled: client-side rate limit on"
	if err != nil {
		reason = fmt.Sprintf("could not tell whether API Priority and Fairness is enabled (%v): client-side rate limit on", err)
	}
	return RateLimit{QPS: FallbackKubeAPIQPS, Burst: burst, Reason: reason}
}

// APFEnabled reports whether the API server classifies requests with API
// Priority and Fairness: it then answers every request, including a HEAD of
// /livez/ping, with the X-Kubernetes-PF-FlowSchema-UID header.
func APFEnabled(ctx context.Context, cfg *rest.Config) (bool, error) {
	tcfg, err := cfg.TransportConfig()
	if err != nil {
		return false, fmt.Errorf("building the transport config: %w", err)
	}
	rt, err := transport.New(tcfg)
	if err != nil {
		return false, fmt.Errorf("building the round tripper: %w", err)
	}
	u, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return false, fmt.Errorf("parsing the API server host %q: %w", cfg.Host, err)
	}
	u.Path = path.Join(u.Path, "livez/ping")
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u.String(), nil)
	if err != nil {
		return false, fmt.Errorf("building the probe request: %w", err)
	}
	if cfg.UserAgent != "" {
		req.Header.Set("User-Agent", cfg.UserAgent)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return false, fmt.Errorf("HEAD %s: %w", u.Path, err)
	}
	_ = resp.Body.Close()
	return resp.Header.Get(flowcontrolapi.ResponseHeaderMatchedFlowSchemaUID) != "", nil
}
