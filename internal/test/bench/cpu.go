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
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"

	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
)

// Where the CPU goes while an issuer signs: per-process CPU time from
// /proc/<pid>/stat and the machine's busy share from /proc/stat, sampled
// before and after each issuer's stage. It shows what limits issuance.

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuProcess is one process whose CPU the harness accounts.
type cpuProcess struct {
	label string
	pid   int
}

// cpuProcesses are the stack's processes: the API server and etcd (children
// of this process, started by envtest), the manager, and this process
// (cert-manager's controllers and the harness itself).
func (h *benchHarness) cpuProcesses() []cpuProcess {
	procs := []cpuProcess{}
	for _, name := range []string{"kube-apiserver", "etcd"} {
		if pid := childByName(os.Getpid(), name); pid > 0 {
			procs = append(procs, cpuProcess{name, pid})
		}
	}
	if pid := h.Stack.ManagerPID(); pid > 0 {
		procs = append(procs, cpuProcess{"nstance-issuer manager", pid})
	}
	return append(procs, cpuProcess{"harness + cert-manager controllers", os.Getpid()})
}

// childByName finds a child process of parent by its command name.
func childByName(parent int, name string) int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join(d, "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != name {
			continue
		}
		if ppid, err := statField(pid, 4); err == nil && ppid == uint64(parent) {
			return pid
		}
	}
	return 0
}

// statField reads field n (1-based, as in proc(5)) of /proc/<pid>/stat.
func statField(pid, n int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	v, err := parseStatField(string(b), n)
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return v, nil
}

// parseStatField reads field n (1-based, as in proc(5), from 3) of a
// /proc/<pid>/stat line. The command name (field 2) is in parentheses and
// may hold spaces and parentheses itself: fields are counted from the last
// ')'.
func parseStatField(stat string, n int) (uint64, error) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, errors.New("malformed: no ')' after the command name")
	}
	fields := strings.Fields(stat[end+1:]) // field 3 onwards
	if n < 3 || n-3 >= len(fields) {
		return 0, fmt.Errorf("no field %d", n)
	}
	return strconv.ParseUint(fields[n-3], 10, 64)
}

// processCPU is a process's user+system CPU time so far.
func processCPU(pid int) (time.Duration, error) {
	utime, err := statField(pid, 14)
	if err != nil {
		return 0, err
	}
	stime, err := statField(pid, 15)
	if err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// machineCPU returns the machine's busy and total CPU ticks so far.
func machineCPU() (busy, total uint64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return parseMachineCPU(line)
}

// parseMachineCPU reads the busy and total ticks of the "cpu" line of
// /proc/stat: total is every column, busy all but idle and iowait (the
// fourth and fifth).
func parseMachineCPU(line string) (busy, total uint64, err error) {
	fields := strings.Fields(line)
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0, fmt.Errorf("unexpected /proc/stat: %q", line)
	}
	for i, f := range fields[1:] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, 0, err
		}
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total, nil
}

// cpuSnapshot is every accounted process's CPU time and the machine's ticks.
type cpuSnapshot struct {
	procs       map[string]time.Duration
	busy, total uint64
}

func (h *benchHarness) cpuNow() cpuSnapshot {
	s := cpuSnapshot{procs: map[string]time.Duration{}}
	for _, p := range h.cpuProcesses() {
		if d, err := processCPU(p.pid); err == nil {
			s.procs[p.label] = d
		}
	}
	s.busy, s.total, _ = machineCPU()
	return s
}

// cpuUse is what one stage cost: CPU per certificate by process, and how
// busy the machine was.
type cpuUse struct {
	perCert map[string]time.Duration
	busy    float64 // share of all CPUs, 0..1
}

// cpuBetween is what happened between snapshots a and b, for n
// certificates. A process in one snapshot only, or whose CPU time went
// back (another process under the same label), is not counted.
func cpuBetween(a, b cpuSnapshot, n int) cpuUse {
	u := cpuUse{perCert: map[string]time.Duration{}}
	for label, end := range b.procs {
		if start, ok := a.procs[label]; ok && n > 0 && end >= start {
			u.perCert[label] = (end - start) / time.Duration(n)
		}
	}
	if b.total > a.total {
		u.busy = float64(b.busy-a.busy) / float64(b.total-a.total)
	}
	return u
}

// profiler fetches consecutive CPU profiles from pprof endpoints until
// stopped, and writes them as <dir>/<name>-<k>.pprof for `go tool pprof`.
type profiler struct {
	stop chan struct{}
	wg   sync.WaitGroup
}

// profileTarget is a /debug/pprof endpoint and the client that may read it.
type profileTarget struct {
	name string
	url  string // ends in /debug/pprof/profile
	http *http.Client
}

func startProfiler(ctx context.Context, dir string, targets []profileTarget) *profiler {
	p := &profiler{stop: make(chan struct{})}
	for _, t := range targets {
		p.wg.Go(func() {
			for k := 0; ; k++ {
				select {
				case <-p.stop:
					return
				default:
				}
				if err := fetchPprof(ctx, t, "seconds=2", filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", t.name, k))); err != nil {
					harness.Logf("profile %s: %v", t.name, err)
					return
				}
			}
		})
	}
	return p
}

// close waits for the profiles being taken (at most their 2 s).
func (p *profiler) close() {
	close(p.stop)
	p.wg.Wait()
}

// fetchPprof gets t's profile with query (a CPU profile's seconds=2, a
// heap profile's gc=1) into path.
func fetchPprof(ctx context.Context, t profileTarget, query, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url+"?"+query, nil)
	if err != nil {
		return err
	}
	resp, err := t.http.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", t.url, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// profileTargets are the manager's pprof endpoint (when the harness gave it
// one) and the API server's, read with the admin's credentials.
func (h *benchHarness) profileTargets() ([]profileTarget, error) {
	var ts []profileTarget
	if h.c.pprofAddr != "" {
		ts = append(ts, profileTarget{"manager", "http://" + h.c.pprofAddr + "/debug/pprof/profile", http.DefaultClient})
	}
	rt, err := rest.TransportFor(h.Stack.Config)
	if err != nil {
		return nil, err
	}
	ts = append(ts, profileTarget{"kube-apiserver", strings.TrimSuffix(h.Stack.Config.Host, "/") + "/debug/pprof/profile", &http.Client{Transport: rt}})
	return ts, nil
}

// heapProfile, when the harness gave the manager a pprof endpoint
// (-profile), collects the manager's garbage and saves its heap profile as
// <profiles>/heap-<name>.pprof (`go tool pprof -sample_index=inuse_space`):
// the live heap read right after it is then what the manager holds, not
// what it held at its last collection, which may have run in the middle of
// a burst or of the initial lists.
func (h *benchHarness) heapProfile(ctx context.Context, name string) {
	if h.c.pprofAddr == "" {
		return
	}
	t := profileTarget{"manager", "http://" + h.c.pprofAddr + "/debug/pprof/heap", http.DefaultClient}
	path := filepath.Join(h.c.profileDir, "heap-"+name+".pprof")
	if err := fetchPprof(ctx, t, "gc=1", path); err != nil {
		harness.Logf("heap profile %s: %v", name, err)
	}
}
