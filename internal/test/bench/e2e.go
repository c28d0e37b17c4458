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

package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
)

// End to end: N Certificates through cert-manager's controllers.

// endToEnd creates N Certificates per issuer and times first create → all Ready.
func (h *benchHarness) endToEnd(ctx context.Context, r *results) error {
	took := map[string]time.Duration{}
	for _, iss := range []harness.Issuer{nstance, caIss} {
		ns := "bench-e2e-" + iss.Label
		if err := h.Namespace(ctx, ns); err != nil {
			return err
		}
		d, err := h.certificates(ctx, ns, iss)
		if err != nil {
			return fmt.Errorf("%s: %w", iss.Label, err)
		}
		took[iss.Label] = d
		harness.Logf("e2e %s: %d Certificates Ready in %s", iss.Label, h.c.N, d.Round(10*time.Millisecond))
	}
	r.add("e2e: N Certificates, first create → all Ready, nstance", took[nstance.Label].Seconds(), "s",
		"CA issuer", took[caIss.Label].Seconds(), "ratio <= 1.0", "")
	return nil
}

func (h *benchHarness) certificates(ctx context.Context, ns string, iss harness.Issuer) (time.Duration, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	ready := map[string]time.Time{}
	done := harness.NewCountdown(h.c.N)
	err := h.Watch(wctx, ns, &cmapi.CertificateList{}, func(obj client.Object, now time.Time) bool {
		cert, ok := obj.(*cmapi.Certificate)
		if !ok {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		for _, c := range cert.Status.Conditions {
			if c.Type == cmapi.CertificateConditionReady && c.Status == cmmeta.ConditionTrue {
				if _, seen := ready[cert.Name]; !seen {
					ready[cert.Name] = now
					if done.Reached(len(ready)) {
						return true
					}
				}
			}
		}
		return false
	}, benchWatch)
	if err != nil {
		return 0, err
	}
	began := time.Now()
	if err := harness.Parallel(ctx, h.c.Workers, h.c.N, func(ctx context.Context, i int) error {
		name := fmt.Sprintf("cert-%d", i)
		return h.Client.Create(ctx, harness.Certificate(ns, name, name+"-"+iss.Label+".example.com", iss))
	}); err != nil {
		return 0, err
	}
	err = done.Wait(ctx, h.c.timeout)
	mu.Lock()
	defer mu.Unlock()
	if errors.Is(err, harness.ErrTimeout) {
		return 0, fmt.Errorf("timed out: %d of %d Certificates Ready", len(ready), h.c.N)
	}
	if err != nil {
		return 0, err
	}
	var last time.Time
	for _, t := range ready {
		if t.After(last) {
			last = t
		}
	}
	return last.Sub(began), nil
}
