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
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	flowcontrolapi "k8s.io/api/flowcontrol/v1"
	"k8s.io/client-go/rest"
)

// apiServer answers like an API server with or without API Priority and
// Fairness, and counts the probes it receives.
func apiServer(t *testing.T, apf bool) (*rest.Config, *atomic.Int32) {
	t.Helper()
	var probes atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodHead || r.URL.Path != "/livez/ping" {
			t.Errorf("probe was %s %s, want HEAD /livez/ping", r.Method, r.URL.Path)
		}
		probes.Add(1)
		if apf {
			w.Header().Set(flowcontrolapi.ResponseHeaderMatchedFlowSchemaUID, "7a3e1f0c-exempt")
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}, &probes
}

func TestResolveRateLimit(t *testing.T) {
	unreachable := &rest.Config{Host: "https://127.0.0.1:1", TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	tests := []struct {
		name       string
		apf        bool
		down       bool
		qps        float64
		burst      int
		wantQPS    float32
		wantBurst  int
		wantProbe  bool
		wantReason string
	}{
		{name: "automatic with APF: no client-side limit", apf: true, wantQPS: -1, wantBurst: -1, wantProbe: true, wantReason: "Priority and Fairness is enabled"},
		{name: "automatic without APF: fallback limit", wantQPS: FallbackKubeAPIQPS, wantBurst: FallbackKubeAPIBurst, wantProbe: true, wantReason: "not enabled"},
		{name: "automatic without APF keeps an explicit burst", burst: 7, wantQPS: FallbackKubeAPIQPS, wantBurst: 7, wantProbe: true},
		{name: "automatic, API server unreachable: fallback limit, error named", down: true, wantQPS: FallbackKubeAPIQPS, wantBurst: FallbackKubeAPIBurst, wantReason: "could not tell"},
		{name: "explicit QPS wins over APF", apf: true, qps: 20.5, burst: 40, wantQPS: 20.5, wantBurst: 40},
		{name: "explicit QPS without burst: twice the QPS", qps: 30, wantQPS: 30, wantBurst: 60},
		{name: "tiny explicit QPS: burst at least 1", qps: 0.2, wantQPS: 0.2, wantBurst: 1},
		{name: "negative QPS: off without probing", qps: -1, burst: 40, wantQPS: -1, wantBurst: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, probes := apiServer(t, tt.apf)
			if tt.down {
				cfg = unreachable
			}
			got := ResolveRateLimit(context.Background(), cfg, tt.qps, tt.burst)
			if got.QPS != tt.wantQPS || got.Burst != tt.wantBurst {
				t.Errorf("limit = %v/%d, want %v/%d (%s)", got.QPS, got.Burst, tt.wantQPS, tt.wantBurst, got.Reason)
			}
			if got.Unlimited() != (tt.wantQPS < 0) {
				t.Errorf("Unlimited() = %v for QPS %v", got.Unlimited(), got.QPS)
			}
			if tt.wantReason != "" && !strings.Contains(got.Reason, tt.wantReason) {
				t.Errorf("reason %q does not contain %q", got.Reason, tt.wantReason)
			}
			if n := probes.Load(); (n > 0) != tt.wantProbe {
				t.Errorf("API server probed %d times, want probe: %v", n, tt.wantProbe)
			}
			applied := &rest.Config{}
			got.Apply(applied)
			if applied.QPS != got.QPS || applied.Burst != got.Burst {
				t.Errorf("Apply set %v/%d, want %v/%d", applied.QPS, applied.Burst, got.QPS, got.Burst)
			}
		})
	}
}

func TestAPFEnabledKeepsTheHostPath(t *testing.T) {
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		w.Header().Set(flowcontrolapi.ResponseHeaderMatchedFlowSchemaUID, "x")
	}))
	defer srv.Close()
	// An API server behind a path prefix, e.g. a proxy.
	ok, err := APFEnabled(context.Background(), &rest.Config{Host: srv.URL + "/k8s/clusters/c-1"})
	if err != nil || !ok {
		t.Fatalf("APFEnabled = %v, %v; want true, nil", ok, err)
	}
	if path != "/k8s/clusters/c-1/livez/ping" {
		t.Errorf("probed %q, want /k8s/clusters/c-1/livez/ping", path)
	}
}
