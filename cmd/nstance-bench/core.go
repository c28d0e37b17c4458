package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
)

// benchLine matches `BenchmarkIssue/ECDSA-P256-2   1234   456789 ns/op ...`.
var benchLine = regexp.MustCompile(`^Benchmark(Issue|RawCreateCertificate)/(\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op`)

// runCore runs internal/pki's BenchmarkIssue and BenchmarkRawCreateCertificate
// (same CA keys, ECDSA P-256 leaf) and reports Issue's time per certificate
// as a ratio to raw x509.CreateCertificate's.
func runCore(ctx context.Context, c *config, r *report) error {
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-count", "1",
		"-bench", "^(BenchmarkIssue|BenchmarkRawCreateCertificate)$", "-benchtime", c.benchtime, "./internal/pki/")
	cmd.Dir = c.repoRoot
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go test -bench: %w\n%s", err, out.String())
	}
	ns := map[string]map[string]float64{"Issue": {}, "RawCreateCertificate": {}}
	var order []string
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			return err
		}
		if m[1] == "Issue" {
			order = append(order, m[2])
		}
		ns[m[1]][m[2]] = v
	}
	if len(order) == 0 {
		return fmt.Errorf("no benchmark results in:\n%s", out.String())
	}
	for _, ca := range order {
		raw, ok := ns["RawCreateCertificate"][ca]
		if !ok {
			continue
		}
		r.add("core: pki.Issue, "+ca+" CA", ns["Issue"][ca]/1000, "µs/op",
			"raw x509.CreateCertificate", raw/1000, "ratio <= 1.5", "")
	}
	return nil
}
