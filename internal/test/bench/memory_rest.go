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
	"debug/buildinfo"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
)

// Memory at rest at exact counts (-scale-memory-points, issue #25): before
// the sweep, on a cluster with no CertificateRequests yet, the requests are
// brought to each count in turn by backlogs signed by nstance-issuer (the
// fastest way to sign), and the manager's memory is read twice with the
// count in the cluster: after it signed them (the process that listed the
// earlier ones at start and signed the rest) and after a graceful restart
// (a process that only listed them all, as after a rollout). Each reading
// comes after a settle, a forced GC (the manager's pprof heap endpoint with
// gc=1, as -profile's heap profiles), a further settle and a wait until the
// runtime's background scavenger stopped returning memory: what a manager
// holds at rest. The requests are deleted afterwards, so that the sweep's
// points count the same as without.

// memSettle is how long the manager is left alone before and after the
// forced GC of a reading at rest.
const memSettle = 5 * time.Second

// memBreakdown is the manager process's memory at one moment, in MiB: RSS
// split by the kernel into anonymous memory (Go's heap, stacks, runtime
// structures, cgo's malloc) and file-backed pages (mostly the binary's
// text and read-only data that were touched), and the Go runtime's own
// accounting of what it took from the OS (go_memstats_*_bytes).
type memBreakdown struct {
	RSSMiB      float64 `json:"rssMiB"`
	RssAnonMiB  float64 `json:"rssAnonMiB"`
	RssFileMiB  float64 `json:"rssFileMiB"`
	RssShmemMiB float64 `json:"rssShmemMiB,omitempty"`
	// LiveHeapMiB is the heap marked live by the last GC
	// (go_gc_heap_live_bytes): the cache and everything else reachable.
	LiveHeapMiB float64 `json:"liveHeapMiB"`
	// HeapInuseMiB is the heap's spans in use (live objects, their
	// fragmentation, garbage not yet swept); HeapIdleMiB the spans with
	// nothing in them, of which HeapReleasedMiB were returned to the OS:
	// HeapIdleMiB - HeapReleasedMiB is heap the runtime keeps resident
	// without using it (HeapRetainedMiB).
	HeapInuseMiB    float64 `json:"heapInuseMiB"`
	HeapIdleMiB     float64 `json:"heapIdleMiB"`
	HeapReleasedMiB float64 `json:"heapReleasedMiB"`
	HeapRetainedMiB float64 `json:"heapRetainedMiB"`
	// StackSysMiB, and the runtime's structures: spans, per-P caches,
	// the profiling buckets, GC metadata and the rest (OtherSysMiB);
	// SysMiB is all the Go runtime mapped (of which only what was
	// touched and not released is resident).
	StackSysMiB    float64 `json:"stackSysMiB"`
	MSpanSysMiB    float64 `json:"mspanSysMiB"`
	MCacheSysMiB   float64 `json:"mcacheSysMiB"`
	BuckHashSysMiB float64 `json:"buckHashSysMiB"`
	GCSysMiB       float64 `json:"gcSysMiB"`
	OtherSysMiB    float64 `json:"otherSysMiB"`
	SysMiB         float64 `json:"sysMiB"`
	Goroutines     float64 `json:"goroutines"`
	// ScavengeWaitSeconds is how long the reading waited, after the
	// forced GC and a settle, for the heap released to the OS to stop
	// growing (memory-at-rest points only).
	ScavengeWaitSeconds float64 `json:"scavengeWaitSeconds,omitempty"`
}

// scaleMemoryPoint is the manager at rest with FinishedRequests in the
// cluster.
type scaleMemoryPoint struct {
	N                int `json:"n"`
	FinishedRequests int `json:"finishedRequests"`
	// Signed is how many of them this manager process signed (the rest
	// were in the cluster when it started).
	Signed int `json:"signed"`
	// ManagerCPUSeconds is the CPU the manager process used from its
	// start (listing the requests already there) to the last signature,
	// so that a runtime setting's memory can be weighed against its CPU.
	ManagerCPUSeconds float64      `json:"managerCpuSeconds"`
	AfterSigning      memBreakdown `json:"afterSigning"`
	AfterRestart      memBreakdown `json:"afterRestart"`
}

// scaleMemory is the memory-at-rest measurement, in the JSON results.
type scaleMemory struct {
	// ManagerBuild is how the manager binary was built (CGO_ENABLED and
	// build tags, from its build information): the static default image's
	// build or the PKCS#11 one.
	ManagerBuild string             `json:"managerBuild"`
	Points       []scaleMemoryPoint `json:"points"`
}

// managerBuild describes how the Go binary at path was built.
func managerBuild(path string) string {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return "unknown: " + err.Error()
	}
	cgo, tags := "", ""
	for _, s := range bi.Settings {
		switch s.Key {
		case "CGO_ENABLED":
			cgo = s.Value
		case "-tags":
			tags = s.Value
		}
	}
	out := "CGO_ENABLED=" + cgo
	if tags != "" {
		out += " -tags=" + tags
	}
	return out + " " + bi.GoVersion
}

// scaleMemoryPoints measures the manager at rest at each of
// -scale-memory-points, then deletes the requests it made.
func (h *benchHarness) scaleMemoryPoints(ctx context.Context) (*scaleMemory, error) {
	if h.Stack.ManagerPID() == 0 {
		return nil, fmt.Errorf("the manager does not run as its own process")
	}
	sm := &scaleMemory{ManagerBuild: managerBuild(h.c.ManagerBinary)}
	var nss []string
	for _, n := range h.c.scaleMemoryPoints {
		have, err := h.countRequests(ctx)
		if err != nil {
			return sm, err
		}
		if have > n {
			return sm, fmt.Errorf("memory point %d: the cluster already holds %d CertificateRequests (run the memory points before anything else creates requests)", n, have)
		}
		ns := fmt.Sprintf("bench-scale-memory-%d", n)
		nss = append(nss, ns)
		if n > have {
			// The manager stopped, n-have approved requests created, the
			// manager started: it lists the requests there and signs these.
			if _, err := h.backlogRunNamed(ctx, ns, n-have, nstance, h.Stack.StopManager, func() error { return h.Stack.StartManager(ctx) }); err != nil {
				return sm, fmt.Errorf("memory point %d: %w", n, err)
			}
		}
		p := scaleMemoryPoint{N: n, Signed: n - have}
		if cpu, err := processCPU(h.Stack.ManagerPID()); err == nil {
			p.ManagerCPUSeconds = cpu.Seconds()
		}
		if p.FinishedRequests, err = h.countRequests(ctx); err != nil {
			return sm, err
		}
		if p.AfterSigning, err = h.memoryAtRest(ctx, fmt.Sprintf("memory-%d-signed", n)); err != nil {
			return sm, err
		}
		if err := h.Stack.RestartManager(ctx, nil); err != nil {
			return sm, fmt.Errorf("memory point %d: restart: %w", n, err)
		}
		if p.AfterRestart, err = h.memoryAtRest(ctx, fmt.Sprintf("memory-%d-restarted", n)); err != nil {
			return sm, err
		}
		for _, m := range []struct {
			label string
			b     memBreakdown
		}{{"after signing", p.AfterSigning}, {"after a restart", p.AfterRestart}} {
			harness.Logf("memory at rest, %d finished requests (manager CPU %.1f s from its start to the last of %d signatures), %s: RSS %.1f MiB (anon %.1f, file %.1f); live heap %.1f MiB, heap in use %.1f, idle not released %.1f, stacks %.1f, runtime sys %.1f",
				p.FinishedRequests, p.ManagerCPUSeconds, p.Signed, m.label, m.b.RSSMiB, m.b.RssAnonMiB, m.b.RssFileMiB, m.b.LiveHeapMiB, m.b.HeapInuseMiB, m.b.HeapRetainedMiB, m.b.StackSysMiB, m.b.SysMiB)
		}
		sm.Points = append(sm.Points, p)
	}
	if len(h.c.scalePoints) > 0 {
		for _, ns := range nss {
			if err := h.Client.DeleteAllOf(ctx, &cmapi.CertificateRequest{}, client.InNamespace(ns)); err != nil {
				return sm, err
			}
		}
		// A new process for the sweep, with none of these in its cache.
		if err := h.Stack.RestartManager(ctx, nil); err != nil {
			return sm, err
		}
	}
	return sm, nil
}

// memoryAtRest lets the manager settle, forces a GC through its pprof
// endpoint (saving the heap profile as heap-<name>.pprof), lets the
// scavenger work and reads its memory.
func (h *benchHarness) memoryAtRest(ctx context.Context, name string) (memBreakdown, error) {
	pid, url := h.Stack.ManagerPID(), h.Stack.ManagerMetricsURL()
	if pid == 0 || url == "" {
		return memBreakdown{}, fmt.Errorf("the manager does not run as its own process")
	}
	if h.c.pprofAddr == "" {
		return memBreakdown{}, fmt.Errorf("no pprof endpoint on the manager to force a GC")
	}
	for i := range 2 {
		select {
		case <-ctx.Done():
			return memBreakdown{}, ctx.Err()
		case <-time.After(memSettle):
		}
		if i == 0 {
			h.heapProfile(ctx, name)
		}
	}
	// The scavenger returns idle heap in the background at its own pace:
	// right after a burst, read too early, the same reading spread by
	// 0 to 24 MiB. At rest is when it stopped: released unchanged for
	// scavengeQuiet, or scavengeMax at most.
	start, last, quietSince := time.Now(), -1.0, time.Now()
	for time.Since(start) < scavengeMax && time.Since(quietSince) < scavengeQuiet {
		v, err := scrapeMetric(url, "go_memstats_heap_released_bytes")
		if err != nil {
			return memBreakdown{}, err
		}
		if v != last {
			last, quietSince = v, time.Now()
		}
		select {
		case <-ctx.Done():
			return memBreakdown{}, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	b, err := readMemory(pid, url)
	b.ScavengeWaitSeconds = time.Since(start).Seconds()
	return b, err
}

// scavengeQuiet and scavengeMax bound the wait for the runtime's
// scavenger in a reading at rest.
const (
	scavengeQuiet = 3 * time.Second
	scavengeMax   = 60 * time.Second
)

// readMemory reads pid's memory from /proc and its Go runtime's figures
// from its metrics endpoint.
func readMemory(pid int, metricsURL string) (memBreakdown, error) {
	var b memBreakdown
	proc, err := procStatus(pid)
	if err != nil {
		return b, err
	}
	b.RSSMiB, b.RssAnonMiB, b.RssFileMiB, b.RssShmemMiB = mib(proc["VmRSS"]), mib(proc["RssAnon"]), mib(proc["RssFile"]), mib(proc["RssShmem"])
	m, err := scrapeAll(metricsURL)
	if err != nil {
		return b, err
	}
	get := func(name string) (float64, error) {
		v, ok := m[name]
		if !ok {
			return 0, fmt.Errorf("%s not in %s", name, metricsURL)
		}
		return v, nil
	}
	for _, f := range []struct {
		name string
		dst  *float64
	}{
		{"go_gc_heap_live_bytes", &b.LiveHeapMiB},
		{"go_memstats_heap_inuse_bytes", &b.HeapInuseMiB},
		{"go_memstats_heap_idle_bytes", &b.HeapIdleMiB},
		{"go_memstats_heap_released_bytes", &b.HeapReleasedMiB},
		{"go_memstats_stack_sys_bytes", &b.StackSysMiB},
		{"go_memstats_mspan_sys_bytes", &b.MSpanSysMiB},
		{"go_memstats_mcache_sys_bytes", &b.MCacheSysMiB},
		{"go_memstats_buck_hash_sys_bytes", &b.BuckHashSysMiB},
		{"go_memstats_gc_sys_bytes", &b.GCSysMiB},
		{"go_memstats_other_sys_bytes", &b.OtherSysMiB},
		{"go_memstats_sys_bytes", &b.SysMiB},
		{"go_goroutines", &b.Goroutines},
	} {
		v, err := get(f.name)
		if err != nil {
			return b, err
		}
		*f.dst = v
		if f.name != "go_goroutines" {
			*f.dst = mib(v)
		}
	}
	b.HeapRetainedMiB = b.HeapIdleMiB - b.HeapReleasedMiB
	return b, nil
}

// procStatus is /proc/<pid>/status's kB lines, in bytes.
func procStatus(pid int) (map[string]float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	out := map[string]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v, isKB := strings.CutSuffix(strings.TrimSpace(v), " kB")
		if !isKB {
			continue
		}
		if kb, err := strconv.ParseFloat(v, 64); err == nil {
			out[k] = kb * 1024
		}
	}
	return out, sc.Err()
}

// scrapeAll reads the unlabelled series of a Prometheus text endpoint.
func scrapeAll(url string) (out map[string]float64, err error) {
	err = fetchMetrics(url, func(r io.Reader) error {
		out, err = parseUnlabelled(r)
		return err
	})
	return out, err
}

// parseUnlabelled reads "name value" lines, skipping comments and labelled
// series.
func parseUnlabelled(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "#") || strings.Contains(l, "{") {
			continue
		}
		name, v, ok := strings.Cut(l, " ")
		if !ok {
			continue
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			out[name] = f
		}
	}
	return out, sc.Err()
}

// report prints each point's breakdown, the goal at 10,000 finished
// requests, and the growth per finished request between points.
func (sm *scaleMemory) report(r *results) {
	for _, p := range sm.Points {
		r.add(fmt.Sprintf("memory at rest, %d finished requests (%s): manager CPU from its start to the last of %d signatures", p.FinishedRequests, sm.ManagerBuild, p.Signed),
			p.ManagerCPUSeconds, "s", "", 0, "", "")
		for _, m := range []struct {
			label string
			b     memBreakdown
		}{{"after signing", p.AfterSigning}, {"after a restart", p.AfterRestart}} {
			at := fmt.Sprintf("memory at rest, %d finished requests, %s (%s): ", p.FinishedRequests, m.label, sm.ManagerBuild)
			baseline, base, goal := "", 0.0, ""
			if p.FinishedRequests == 10000 {
				baseline, base, goal = "issue #25's goal at 10,000", 96, "ratio <= 1"
			}
			r.add(at+"RSS", m.b.RSSMiB, "MiB", baseline, base, goal, fmt.Sprintf("anonymous %.1f MiB, file-backed (the binary) %.1f MiB", m.b.RssAnonMiB, m.b.RssFileMiB))
			r.add(at+"Go live heap", m.b.LiveHeapMiB, "MiB", "", 0, "", "")
			r.add(at+"Go heap idle, not returned to the OS", m.b.HeapRetainedMiB, "MiB", "", 0, "", fmt.Sprintf("heap in use %.1f MiB, idle %.1f MiB, released %.1f MiB", m.b.HeapInuseMiB, m.b.HeapIdleMiB, m.b.HeapReleasedMiB))
			r.add(at+"Go runtime, all mapped (sys)", m.b.SysMiB, "MiB", "", 0, "", fmt.Sprintf("stacks %.1f, spans %.1f, GC metadata %.1f, other %.1f MiB; %.0f goroutines", m.b.StackSysMiB, m.b.MSpanSysMiB, m.b.GCSysMiB, m.b.OtherSysMiB, m.b.Goroutines))
		}
	}
	for i := 1; i < len(sm.Points); i++ {
		a, b := sm.Points[i-1], sm.Points[i]
		d := b.FinishedRequests - a.FinishedRequests
		if d <= 0 {
			continue
		}
		per := func(x, y float64) float64 { return (y - x) * 1024 / float64(d) }
		span := fmt.Sprintf("memory at rest per finished request, %d → %d, after a restart: ", a.FinishedRequests, b.FinishedRequests)
		r.add(span+"RSS", per(a.AfterRestart.RSSMiB, b.AfterRestart.RSSMiB), "KiB", "", 0, "", "")
		r.add(span+"Go live heap", per(a.AfterRestart.LiveHeapMiB, b.AfterRestart.LiveHeapMiB), "KiB", "", 0, "", "")
		span = fmt.Sprintf("memory at rest per finished request, %d → %d, after signing: ", a.FinishedRequests, b.FinishedRequests)
		r.add(span+"RSS", per(a.AfterSigning.RSSMiB, b.AfterSigning.RSSMiB), "KiB", "", 0, "", "")
		r.add(span+"Go live heap", per(a.AfterSigning.LiveHeapMiB, b.AfterSigning.LiveHeapMiB), "KiB", "", 0, "", "")
	}
}
