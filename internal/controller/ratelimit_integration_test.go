//go:build integration

package controller_test

import (
	"context"
	"testing"

	"github.com/nstance-dev/nstance-issuer/internal/app"
)

// A real kube-apiserver has API Priority and Fairness on by default, so the
// manager's automatic client-side limit (Options.KubeAPIQPS 0) is off: a
// token bucket would otherwise cap signing at half its QPS (two status
// writes per request).
func TestManagerClientIsUnthrottledWhenTheAPIServerHasAPF(t *testing.T) {
	apf, err := app.APFEnabled(context.Background(), manager.GetConfig())
	if err != nil || !apf {
		t.Fatalf("APFEnabled on the real API server = %v, %v; want true", apf, err)
	}
	if cfg := manager.GetConfig(); cfg.QPS >= 0 {
		t.Errorf("manager client QPS = %v, burst %d; want no client-side limit (QPS < 0)", cfg.QPS, cfg.Burst)
	}
}
