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
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
)

// benchLine matches `BenchmarkIssue/ECDSA-P256-2   1234   456789 ns/op ...`.
var benchLine = regexp.MustCompile(`^Benchmark(Issue|RawCreateCertificate|RawVerifiedCreateCertificate)/(\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op`)

// coreRounds is how many times each benchmark runs, alternating, so that
// noise from other work on the machine hits both alike; the fastest round
// of each counts.
const coreRounds = 3

// runCore runs internal/pki's BenchmarkIssue, BenchmarkRawCreateCertificate
// and BenchmarkRawVerifiedCreateCertificate (same CA keys, ECDSA P-256 leaf)
// and reports Issue's time per certificate as a ratio to the verified floor
// (the goal) and to raw x509.CreateCertificate's (context).
func runCore(ctx context.Context, c *Config, r *results) error {
	dir, err := os.MkdirTemp("", "nstance-bench-core-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	bin := filepath.Join(dir, "pki.test")
	build := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, "./internal/pki/")
	build.Dir, build.Stdout, build.Stderr = c.RepoRoot, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go test -c ./internal/pki/: %w", err)
	}
	times := newCoreTimes()
	for range coreRounds {
		for _, bench := range coreBenchmarks {
			cmd := exec.CommandContext(ctx, bin, "-test.run", "^$", "-test.bench", "^Benchmark"+bench+"$", "-test.benchtime", c.benchtime)
			cmd.Dir = filepath.Join(c.RepoRoot, "internal", "pki")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, os.Stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("running Benchmark%s: %w\n%s", bench, err, out.String())
			}
			if err := times.read(&out); err != nil {
				return err
			}
		}
	}
	if len(times.order) == 0 {
		return fmt.Errorf("no benchmark results from %s", bin)
	}
	times.figures(r)
	return nil
}

// coreBenchmarks are the benchmarks of internal/pki that runCore runs.
var coreBenchmarks = []string{"Issue", "RawCreateCertificate", "RawVerifiedCreateCertificate"}

// coreTimes are the fastest ns/op seen of each benchmark, by CA.
type coreTimes struct {
	ns map[string]map[string]float64
	// order is the CAs in the order BenchmarkIssue first reported them.
	order []string
}

func newCoreTimes() *coreTimes {
	t := &coreTimes{ns: map[string]map[string]float64{}}
	for _, b := range coreBenchmarks {
		t.ns[b] = map[string]float64{}
	}
	return t
}

// read takes the results of one `go test -bench` run, keeping the fastest
// of each benchmark and CA.
func (t *coreTimes) read(out io.Reader) error {
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			return err
		}
		if m[1] == "Issue" && !slices.Contains(t.order, m[2]) {
			t.order = append(t.order, m[2])
		}
		if old, ok := t.ns[m[1]][m[2]]; !ok || v < old {
			t.ns[m[1]][m[2]] = v
		}
	}
	return sc.Err()
}

// figures reports, for each CA, Issue's time per certificate against the
// verified floor (the goal) and against raw CreateCertificate (context).
func (t *coreTimes) figures(r *results) {
	for _, ca := range t.order {
		raw, ok := t.ns["RawCreateCertificate"][ca]
		if !ok {
			continue
		}
		note := fmt.Sprintf("fastest of %d alternating rounds", coreRounds)
		// The goal is against what any issuer checking proof of possession
		// must at least do (the CSR's signature is one more verification);
		// raw CreateCertificate alone is context.
		if floor, ok := t.ns["RawVerifiedCreateCertificate"][ca]; ok {
			r.add("core: pki.Issue vs verified floor, "+ca+" CA", t.ns["Issue"][ca]/1000, "µs/op",
				"raw parse + CSR CheckSignature + CreateCertificate", floor/1000, "ratio <= 1.25", note)
		}
		r.add("core: pki.Issue vs raw CreateCertificate, "+ca+" CA", t.ns["Issue"][ca]/1000, "µs/op",
			"raw x509.CreateCertificate", raw/1000, "", note)
	}
}
