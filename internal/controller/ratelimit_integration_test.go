//go:build integration

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

package controller_test

import (
	"context"
	"testing"

	"github.com/nstance-dev/nstance-issuer/internal/app"
)

// A real kube-apiserver has API Priority and Fairness on by default, so the
// manager's automatic client-side limit (Options.KubeAPIQPS 0) is off: a
// token bucket would otherwise cap signing at its QPS (one status write per
// request, plus its Event).
func TestManagerClientIsUnthrottledWhenTheAPIServerHasAPF(t *testing.T) {
	apf, err := app.APFEnabled(context.Background(), manager.GetConfig())
	if err != nil || !apf {
		t.Fatalf("APFEnabled on the real API server = %v, %v; want true", apf, err)
	}
	if cfg := manager.GetConfig(); cfg.QPS >= 0 {
		t.Errorf("manager client QPS = %v, burst %d; want no client-side limit (QPS < 0)", cfg.QPS, cfg.Burst)
	}
}
