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

package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// End to end: N Certificates through cert-manager's controllers.

// endToEnd creates N Certificates per issuer and times first create → all Ready.
func (h *harness) endToEnd(ctx context.Context, r *report) error {
	took := map[string]time.Duration{}
	for _, iss := range []issuerUnderTest{nstance, caIss} {
		ns := "bench-e2e-" + iss.label
		if err := h.namespace(ctx, ns); err != nil {
			return err
		}
		d, err := h.certificates(ctx, ns, iss)
		if err != nil {
			return fmt.Errorf("%s: %w", iss.label, err)
		}
		took[iss.label] = d
		logf("e2e %s: %d Certificates Ready in %s", iss.label, h.c.n, d.Round(10*time.Millisecond))
	}
	r.add("e2e: N Certificates, first create → all Ready, nstance", took[nstance.label].Seconds(), "s",
		"CA issuer", took[caIss.label].Seconds(), "ratio <= 1.0", "")
	return nil
}

func (h *harness) certificates(ctx context.Context, ns string, iss issuerUnderTest) (time.Duration, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	ready := map[string]time.Time{}
	done := make(chan struct{})
	err := h.watchLoop(wctx, ns, &cmapi.CertificateList{}, func(obj client.Object, now time.Time) bool {
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
					if len(ready) == h.c.n {
						close(done)
						return true
					}
				}
			}
		}
		return false
	})
	if err != nil {
		return 0, err
	}
	began := time.Now()
	if err := parallel(ctx, h.c.workers, h.c.n, func(ctx context.Context, i int) error {
		name := fmt.Sprintf("cert-%d", i)
		return h.cl.Create(ctx, &cmapi.Certificate{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: cmapi.CertificateSpec{
				SecretName: name + "-tls",
				DNSNames:   []string{name + "-" + iss.label + ".example.com"},
				Duration:   &metav1.Duration{Duration: 2160 * time.Hour},
				PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256},
				IssuerRef:  iss.ref,
			},
		})
	}); err != nil {
		return 0, err
	}
	select {
	case <-done:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(h.c.timeout):
		mu.Lock()
		defer mu.Unlock()
		return 0, fmt.Errorf("timed out: %d of %d Certificates Ready", len(ready), h.c.n)
	}
	mu.Lock()
	defer mu.Unlock()
	var last time.Time
	for _, t := range ready {
		if t.After(last) {
			last = t
		}
	}
	return last.Sub(began), nil
}
