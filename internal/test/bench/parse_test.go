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
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseStatField(t *testing.T) {
	t.Parallel()
	// pid (comm) state ppid ... utime (14) stime (15)
	const stat = "4242 (kube-apiserver) S 4000 4242 4000 0 -1 4194560 1 0 0 0 1234 567 0 0 20 0 12 0 100 0 0"
	const odd = "77 (a) b (c)) R 1 77 77 0 -1 0 0 0 0 0 9 8 0"
	for _, tc := range []struct {
		name    string
		stat    string
		n       int
		want    uint64
		wantErr bool
	}{
		{name: "the parent pid is field 4", stat: stat, n: 4, want: 4000},
		{name: "utime is field 14", stat: stat, n: 14, want: 1234},
		{name: "stime is field 15", stat: stat, n: 15, want: 567},
		{name: "a command name with spaces and parentheses does not shift the fields", stat: odd, n: 14, want: 9},
		{name: "the state is no number", stat: stat, n: 3, wantErr: true},
		{name: "fields 1 and 2 are not counted from the name", stat: stat, n: 2, wantErr: true},
		{name: "a field past the end is an error", stat: stat, n: 99, wantErr: true},
		{name: "a line without a command name is malformed", stat: "1 2 3", n: 4, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseStatField(tc.stat, tc.n)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("parseStatField(%d) = %d, %v; want %d, error %t", tc.n, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestParseMachineCPU(t *testing.T) {
	t.Parallel()
	// user nice system idle iowait irq softirq steal
	busy, total, err := parseMachineCPU("cpu  100 5 50 800 40 3 2 0 0 0")
	if err != nil || busy != 160 || total != 1000 {
		t.Errorf("busy %d total %d (%v), want 160 of 1000: idle and iowait are not busy", busy, total, err)
	}
	for _, line := range []string{"cpu0 1 2 3 4 5", "cpu 1 2 3", "cpu 1 2 x 4 5", ""} {
		if _, _, err := parseMachineCPU(line); err == nil {
			t.Errorf("%q: no error", line)
		}
	}
}

func TestCPUBetween(t *testing.T) {
	t.Parallel()
	a := cpuSnapshot{procs: map[string]time.Duration{"kube-apiserver": 2 * time.Second, "etcd": time.Second, "gone": time.Second}, busy: 1000, total: 4000}
	b := cpuSnapshot{procs: map[string]time.Duration{"kube-apiserver": 4 * time.Second, "etcd": 1500 * time.Millisecond, "new": time.Second}, busy: 2500, total: 6000}
	u := cpuBetween(a, b, 20)
	want := map[string]time.Duration{"kube-apiserver": 100 * time.Millisecond, "etcd": 25 * time.Millisecond}
	if !reflect.DeepEqual(u.perCert, want) {
		t.Errorf("per certificate %v, want %v (a process in one snapshot only is not counted)", u.perCert, want)
	}
	if math.Abs(u.busy-0.75) > 1e-9 {
		t.Errorf("busy %g, want 1500 of 2000 ticks = 0.75", u.busy)
	}
	if u := cpuBetween(a, b, 0); len(u.perCert) != 0 {
		t.Errorf("no certificate: per certificate %v, want none", u.perCert)
	}
	if u := cpuBetween(a, a, 20); u.busy != 0 {
		t.Errorf("no tick passed: busy %g, want 0", u.busy)
	}
	restarted := cpuSnapshot{procs: map[string]time.Duration{"kube-apiserver": time.Second}, busy: 2500, total: 6000}
	if u := cpuBetween(a, restarted, 20); len(u.perCert) != 0 {
		t.Errorf("a process whose CPU time went back (a new process under the same name) counted %v, want nothing", u.perCert)
	}
}

func TestRequestsByMethod(t *testing.T) {
	t.Parallel()
	lines := []string{
		`rest_client_requests_total{code="200",host="127.0.0.1:6443",method="PATCH"} 40`,
		`rest_client_requests_total{code="409",host="127.0.0.1:6443",method="PATCH"} 2`,
		`rest_client_requests_total{code="201",host="127.0.0.1:6443",method="POST"} 36`,
		`rest_client_requests_total{code="200",host="127.0.0.1:6443",method="GET"} 1.5e+01`,
		`rest_client_requests_total{code="200",host="x"} 7`,
		`rest_client_requests_total{code="200",method="GET} 7`,
	}
	want := map[string]float64{"PATCH": 42, "POST": 36, "GET": 15}
	if got := requestsByMethod(lines); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v (a line without a method, or with its label unclosed, is skipped)", got, want)
	}
}

func TestCoreTimes(t *testing.T) {
	t.Parallel()
	round := func(issue, raw, verified string) string {
		return strings.Join([]string{
			"goos: linux",
			"BenchmarkIssue/ECDSA-P256-2         \t    3000\t    " + issue + " ns/op\t   1234 B/op",
			"BenchmarkIssue/RSA-2048-2           \t     900\t   1200000 ns/op",
			"BenchmarkRawCreateCertificate/ECDSA-P256-2 \t 5000\t " + raw + " ns/op",
			"BenchmarkRawVerifiedCreateCertificate/ECDSA-P256-2 \t 4000\t " + verified + " ns/op",
			"BenchmarkRawCreateCertificate/RSA-2048-2 \t 1000\t 1000000 ns/op",
			"PASS",
		}, "\n")
	}
	times := newCoreTimes()
	for _, out := range []string{round("330000", "165000", "260000"), round("300000", "170000", "250000")} {
		if err := times.read(strings.NewReader(out)); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(times.order, []string{"ECDSA-P256", "RSA-2048"}) {
		t.Errorf("order %v", times.order)
	}
	var r results
	times.figures(&r)
	// The fastest of each: Issue 300 µs, raw 165 µs, verified 250 µs; the
	// RSA CA has no verified floor, so only its raw figure.
	want := []struct {
		name            string
		value, baseline float64
		ratio           float64
		pass            any
	}{
		{"core: pki.Issue vs verified floor, ECDSA-P256 CA", 300, 250, 1.2, true}, // goal 1.25×
		{"core: pki.Issue vs raw CreateCertificate, ECDSA-P256 CA", 300, 165, 1.818, nil},
		{"core: pki.Issue vs raw CreateCertificate, RSA-2048 CA", 1200, 1000, 1.2, nil},
	}
	if len(r.Figures) != len(want) {
		t.Fatalf("%d figures, want %d: %+v", len(r.Figures), len(want), r.Figures)
	}
	for i, w := range want {
		f := r.Figures[i]
		if f.Name != w.name || f.Value != w.value || f.BaselineValue != w.baseline || deref(f.Ratio) != w.ratio || deref(f.Pass) != w.pass {
			t.Errorf("figure %d: %+v (ratio %v, pass %v), want %+v", i, f, deref(f.Ratio), deref(f.Pass), w)
		}
	}
}

func TestSizeLabel(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{512: "512 B", 1 << 20: "1 MiB", 3 << 10: "3 KiB", 1500: "1500 B", 5 << 20: "5 MiB"} {
		if got := sizeLabel(n); got != want {
			t.Errorf("sizeLabel(%d) = %q, want %q", n, got, want)
		}
	}
}
