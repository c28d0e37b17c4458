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
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
	"github.com/nstance-dev/nstance-issuer/internal/test/localstack"
)

const unrelatedLabel = "bench.nstance.dev/unrelated"

// memStats are the manager process's memory figures in bytes.
type memStats struct {
	peakRSS, steadyRSS, peakHeap, steadyHeap float64
}

// sampler polls the manager process: VmRSS and VmHWM from /proc every
// 100 ms, go_memstats_heap_inuse_bytes from its metrics endpoint every 250 ms.
type sampler struct {
	pid        int
	metricsURL string
	stop       chan struct{}
	done       chan struct{}

	mu                  sync.Mutex
	rss, hwm, heap      float64
	peakHeap            float64
	rssErr, metricsErrs int
}

func startSampler(pid int, metricsURL string) *sampler {
	s := &sampler{pid: pid, metricsURL: metricsURL, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			s.sampleProc()
			if i%5 == 0 {
				s.sampleHeap()
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *sampler) sampleProc() {
	st, err := procStatus(s.pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.rssErr++
		return
	}
	if v, ok := st["VmRSS"]; ok {
		s.rss = v
	}
	if v, ok := st["VmHWM"]; ok {
		s.hwm = v
	}
}

func (s *sampler) sampleHeap() {
	v, err := scrapeMetric(s.metricsURL, "go_memstats_heap_inuse_bytes")
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.metricsErrs++
		return
	}
	s.heap = v
	s.peakHeap = max(s.peakHeap, v)
}

// now samples at once. heap is the live heap as of the last GC
// (go_gc_heap_live_bytes) when the endpoint has it, which, unlike heap in
// use, does not count garbage not yet collected; else heap in use.
func (s *sampler) now() (rss, hwm, heap, peakHeap float64) {
	s.sampleProc()
	s.sampleHeap()
	s.mu.Lock()
	defer s.mu.Unlock()
	heap = s.heap
	if live, err := scrapeMetric(s.metricsURL, "go_gc_heap_live_bytes"); err == nil {
		heap = live
	}
	return s.rss, s.hwm, heap, s.peakHeap
}

func (s *sampler) close() {
	close(s.stop)
	<-s.done
}

// scrapeMetric reads one unlabelled series of a Prometheus text endpoint.
func scrapeMetric(url, name string) (float64, error) {
	all, err := scrapeAll(url)
	if err != nil {
		return 0, err
	}
	v, ok := all[name]
	if !ok {
		return 0, fmt.Errorf("%s not in %s", name, url)
	}
	return v, nil
}

// scrapeLines returns the lines of a Prometheus text endpoint that start with prefix.
func scrapeLines(url, prefix string) ([]string, error) {
	var out []string
	err := fetchMetrics(url, func(r io.Reader) error {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), prefix) {
				out = append(out, sc.Text())
			}
		}
		return sc.Err()
	})
	return out, err
}

// fetchMetrics GETs a Prometheus text endpoint and hands its body to read.
func fetchMetrics(url string, read func(io.Reader) error) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return read(resp.Body)
}

// cleanupForMemory removes what earlier phases left that the manager would
// cache (CertificateRequests) or that would count as unrelated Secrets
// (the e2e Certificates' Secrets).
func (h *benchHarness) cleanupForMemory(ctx context.Context) error {
	for _, iss := range []harness.Issuer{nstance, caIss} {
		ns := "bench-e2e-" + iss.Label
		if err := h.Client.DeleteAllOf(ctx, &cmapi.Certificate{}, client.InNamespace(ns)); err != nil {
			return err
		}
		if err := h.Client.DeleteAllOf(ctx, &corev1.Secret{}, client.InNamespace(ns)); err != nil {
			return err
		}
	}
	var crs cmapi.CertificateRequestList
	if err := h.Client.List(ctx, &crs); err != nil {
		return err
	}
	nss := map[string]bool{}
	for _, cr := range crs.Items {
		nss[cr.Namespace] = true
	}
	for ns := range nss {
		if err := h.Client.DeleteAllOf(ctx, &cmapi.CertificateRequest{}, client.InNamespace(ns)); err != nil {
			return err
		}
	}
	return nil
}

// memory restarts the manager process for each scenario, so that its peak
// RSS (VmHWM) is the scenario's own, fills the cluster resource namespace
// (where the manager reads CA Secrets) with unrelated Secrets, and issues N
// certificates through the NstanceClusterIssuer.
func (h *benchHarness) memory(ctx context.Context, r *results) error {
	if h.Stack.ManagerPID() == 0 {
		return fmt.Errorf("the manager does not run as its own process")
	}
	if err := h.cleanupForMemory(ctx); err != nil {
		return fmt.Errorf("cleaning up earlier phases: %w", err)
	}
	scenarios := []struct {
		label       string
		count, size int
	}{
		{"0 unrelated Secrets", 0, 0},
		{fmt.Sprintf("%d unrelated %d B Secrets", h.c.smallSecrets, h.c.smallSize), h.c.smallSecrets, h.c.smallSize},
		{fmt.Sprintf("%d unrelated %s Secrets", h.c.largeSecrets, sizeLabel(h.c.largeSize)), h.c.largeSecrets, h.c.largeSize},
	}
	var base memStats
	for i, sc := range scenarios {
		ns := localstack.ClusterResourceNamespace
		if err := h.Client.DeleteAllOf(ctx, &corev1.Secret{}, client.InNamespace(ns), client.HasLabels{unrelatedLabel}); err != nil {
			return err
		}
		if sc.count > 0 {
			t := time.Now()
			data := make([]byte, sc.size)
			_, _ = rand.Read(data)
			if err := harness.Parallel(ctx, h.c.Workers, sc.count, func(ctx context.Context, j int) error {
				return h.Client.Create(ctx, &corev1.Secret{
					ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("unrelated-%d", j), Labels: map[string]string{unrelatedLabel: "true"}},
					Data:       map[string][]byte{"data": data},
				})
			}); err != nil {
				return fmt.Errorf("creating Secrets: %w", err)
			}
			harness.Logf("memory: created %s in %s", sc.label, time.Since(t).Round(100*time.Millisecond))
		}
		if err := h.Stack.RestartManager(ctx, nil); err != nil {
			return err
		}
		s := startSampler(h.Stack.ManagerPID(), h.Stack.ManagerMetricsURL())
		time.Sleep(2 * time.Second)
		idleRSS, _, idleHeap, _ := s.now()
		if _, err := h.runRequests(ctx, fmt.Sprintf("bench-mem-%d", i), nstance, h.c.N); err != nil {
			s.close()
			return fmt.Errorf("%s: %w", sc.label, err)
		}
		// Steady: a few seconds after the last certificate.
		time.Sleep(5 * time.Second)
		rss, hwm, heap, peakHeap := s.now()
		s.close()
		m := memStats{peakRSS: hwm, steadyRSS: rss, peakHeap: peakHeap, steadyHeap: heap}
		harness.Logf("memory %s: idle RSS %.1f MiB heap %.1f MiB; peak RSS %.1f MiB heap %.1f MiB; steady RSS %.1f MiB heap %.1f MiB",
			sc.label, mib(idleRSS), mib(idleHeap), mib(m.peakRSS), mib(m.peakHeap), mib(m.steadyRSS), mib(m.steadyHeap))
		if err := h.Client.DeleteAllOf(ctx, &cmapi.CertificateRequest{}, client.InNamespace(fmt.Sprintf("bench-mem-%d", i))); err != nil {
			return err
		}
		prefix := "memory, " + sc.label + ": "
		if i == 0 {
			base = m
			r.add(prefix+"peak RSS", mib(m.peakRSS), "MiB", "", 0, "", "")
			r.add(prefix+"steady RSS", mib(m.steadyRSS), "MiB", "", 0, "", "")
			r.add(prefix+"peak Go heap in use", mib(m.peakHeap), "MiB", "", 0, "", "")
			r.add(prefix+"steady Go live heap", mib(m.steadyHeap), "MiB", "", 0, "", "")
			continue
		}
		r.add(prefix+"peak RSS", mib(m.peakRSS), "MiB", "0 Secrets", mib(base.peakRSS), "ratio <= 1.2", "")
		r.add(prefix+"steady RSS", mib(m.steadyRSS), "MiB", "0 Secrets", mib(base.steadyRSS), "ratio <= 1.2", "")
		r.add(prefix+"peak Go heap in use", mib(m.peakHeap), "MiB", "0 Secrets", mib(base.peakHeap), "ratio <= 1.2", "")
		r.add(prefix+"steady Go live heap", mib(m.steadyHeap), "MiB", "0 Secrets", mib(base.steadyHeap), "ratio <= 1.2", "")
	}
	return h.Client.DeleteAllOf(ctx, &corev1.Secret{}, client.InNamespace(localstack.ClusterResourceNamespace), client.HasLabels{unrelatedLabel})
}

func mib(b float64) float64 { return b / (1 << 20) }

func sizeLabel(n int) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	if n%(1<<10) == 0 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
