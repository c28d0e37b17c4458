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

package harness

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestCountdown(t *testing.T) {
	t.Parallel()
	c := NewCountdown(3)
	if c.Reached(2) {
		t.Fatal("2 of 3 reached the target")
	}
	if err := c.Wait(context.Background(), 0); !errors.Is(err, ErrTimeout) {
		t.Fatalf("waiting before the target: %v, want ErrTimeout", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Wait(ctx, 1<<62); !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting with an ended context: %v, want context.Canceled", err)
	}
	// Reached more than once (a watch seeing the last object again) must
	// not close twice.
	for _, n := range []int{3, 4, 3} {
		if !c.Reached(n) {
			t.Fatalf("%d of 3 did not reach the target", n)
		}
	}
	if err := c.Wait(context.Background(), 1<<62); err != nil {
		t.Fatalf("waiting after the target: %v", err)
	}
}

func TestFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		args    []string
		n       int
		out     string
		mgrArgs []string
	}{
		{name: "defaults are the command's", n: 7, out: "bin/x/results.json"},
		{name: "manager args are split on spaces", args: []string{"-n=3", "-out=o.json", "-manager-args=--a=1  --b=2"}, n: 3, out: "o.json", mgrArgs: []string{"--a=1", "--b=2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var f Flags
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			f.Register(fs, Defaults{N: 7, NUsage: "how many", Out: "bin/x/results.json"})
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if err := f.Complete(); err != nil {
				t.Fatal(err)
			}
			if f.N != tc.n || f.Out != tc.out || f.Workers != 16 {
				t.Errorf("n=%d out=%q workers=%d, want n=%d out=%q workers=16", f.N, f.Out, f.Workers, tc.n, tc.out)
			}
			if len(f.ManagerArgs) != 0 || len(tc.mgrArgs) != 0 {
				if !reflect.DeepEqual(f.ManagerArgs, tc.mgrArgs) {
					t.Errorf("manager args %q, want %q", f.ManagerArgs, tc.mgrArgs)
				}
			}
			if !filepath.IsAbs(f.RepoRoot) || !filepath.IsAbs(f.ManagerBinary) || filepath.Base(f.ManagerBinary) != "nstance-issuer" {
				t.Errorf("repo root %q and manager binary %q should be absolute", f.RepoRoot, f.ManagerBinary)
			}
		})
	}
}

func TestNamesFor(t *testing.T) {
	t.Parallel()
	n := NamesFor("bench")
	if n.CASecret != "bench-ca" || n.Nstance != "bench-nstance" || n.CAIssuer != "bench-ca" {
		t.Errorf("names %+v", n)
	}
	nstance, ca := n.Issuers()
	if nstance.Label != NstanceLabel || nstance.Ref.Kind != "NstanceClusterIssuer" || nstance.Ref.Name != "bench-nstance" || nstance.Ref.Group != "issuer.nstance.dev" {
		t.Errorf("nstance-issuer %+v", nstance)
	}
	if ca.Label != CAIssuerLabel || ca.Ref.Kind != "ClusterIssuer" || ca.Ref.Name != "bench-ca" || ca.Ref.Group != "cert-manager.io" {
		t.Errorf("CA issuer %+v", ca)
	}
}

// TestRunLogDir: a run's manager logs are in one directory of their own,
// removed when the run succeeded and kept when it did not; the results
// file is written either way.
func TestRunLogDir(t *testing.T) {
	for _, ok := range []bool{true, false} {
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		r, err := BeginRun("test")
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Dir(r.LogDir) != tmp {
			t.Fatalf("log dir %s is not in TMPDIR %s", r.LogDir, tmp)
		}
		if err := os.WriteFile(filepath.Join(r.LogDir, "nstance-issuer-manager-1.log"), []byte("killed\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(tmp, "results", "r.json")
		if err := r.End(out, map[string]int{"n": 1}, ok); err != nil {
			t.Fatal(err)
		}
		_, statErr := os.Stat(r.LogDir)
		if ok && !os.IsNotExist(statErr) {
			t.Errorf("a successful run left its log dir (%v)", statErr)
		}
		if !ok && statErr != nil {
			t.Errorf("a failed run removed its log dir: %v", statErr)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]int
		if err := json.Unmarshal(b, &got); err != nil || got["n"] != 1 {
			t.Errorf("results file %q (%v)", b, err)
		}
	}
}
