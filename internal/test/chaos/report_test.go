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

package chaos

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/smoke.txt from testdata/smoke.json")

// TestRescoreKeepsThePublishedTable: a results file of `make chaos-smoke`
// rescored prints the table it printed when it was written
// (testdata/smoke.txt), and its rewrite is the same file: the table and
// the results are what docs/reliability.md quotes.
func TestRescoreKeepsThePublishedTable(t *testing.T) {
	t.Parallel()
	orig, err := os.ReadFile(filepath.Join("testdata", "smoke.json"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "results.json")
	if err := os.WriteFile(path, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := rescore(path)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	r.print(&out)
	golden := filepath.Join("testdata", "smoke.txt")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("the table changed:\n%s\nwant (testdata/smoke.txt):\n%s", out.Bytes(), want)
	}
	rewritten, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rewritten, orig) {
		t.Errorf("rescoring changed the results file:\n%s", rewritten)
	}
}

// TestFinishScoresGoals: the goals each kind of run gets, how they come
// out, and which count as failures of the command.
func TestFinishScoresGoals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		runs     []*result
		want     map[string]bool // goal of the first run -> pass
		failures int
	}{
		{
			name: "a lost Certificate of nstance-issuer misses a count and fails the command",
			runs: []*result{{Scenario: "baseline", Issuer: nstance.Label, Lost: 1}},
			want: map[string]bool{"0 lost": false, "0 Failed": true, "0 stuck": true, "0 signed twice": true}, failures: 1,
		},
		{
			name: "the CA issuer's counts are the control's: missed, reported, not a failure",
			runs: []*result{{Scenario: "baseline", Issuer: caIss.Label, Lost: 2, DoubleSigned: 1}},
			want: map[string]bool{"0 lost": false, "0 Failed": true, "0 stuck": true, "0 signed twice": false},
		},
		{
			name: "under a fault, nstance-issuer's time is held to twice its baseline and to the CA issuer's ratio",
			runs: []*result{{Scenario: "kill-signer", Issuer: nstance.Label, Ratio: 1.97}, {Scenario: "kill-signer", Issuer: caIss.Label, Ratio: 4.77}},
			want: map[string]bool{"0 lost": true, "0 Failed": true, "0 stuck": true, "0 signed twice": true, "time <= 2x baseline": true, "ratio <= CA issuer's (4.77x)": true},
		},
		{
			name: "a run that did not finish has no ratio: its time goals miss, and are not counts",
			runs: []*result{{Scenario: "kill-signer", Issuer: nstance.Label, Ratio: 0}, {Scenario: "kill-signer", Issuer: caIss.Label, Ratio: 2.5}},
			want: map[string]bool{"0 lost": true, "0 Failed": true, "0 stuck": true, "0 signed twice": true, "time <= 2x baseline": false, "ratio <= CA issuer's (2.50x)": false},
		},
		{
			name: "without the CA issuer's run of the scenario, the comparison misses",
			runs: []*result{{Scenario: "restart-cert-manager", Issuer: nstance.Label, Ratio: 1.2}},
			want: map[string]bool{"0 lost": true, "0 Failed": true, "0 stuck": true, "0 signed twice": true, "time <= 2x baseline": true, "ratio <= CA issuer's (0.00x)": false},
		},
		{
			name: "a CA fault: a request after all were done is a re-issue loop and fails; detection and resumption are timed",
			runs: []*result{{Scenario: "ca-deleted", Issuer: nstance.Label, LateRequests: 1, DetectSeconds: 1.4, ResumeSeconds: 5.01}},
			want: map[string]bool{"0 lost": true, "0 Failed": true, "0 stuck": true, "0 signed twice": true,
				"0 requests after all done (no re-issue loop)": false, "fault detected <= 5s": true, "signing resumes <= 5s after the fix": false},
			failures: 1,
		},
		{
			name: "a fault never detected misses its goal",
			runs: []*result{{Scenario: "ca-expired", Issuer: caIss.Label, ResumeSeconds: 1}},
			want: map[string]bool{"0 lost": true, "0 Failed": true, "0 stuck": true, "0 signed twice": true,
				"0 requests after all done (no re-issue loop)": true, "fault detected <= 5s": false, "signing resumes <= 5s after the fix": true},
		},
		{
			name: "a replaced CA is not fixed afterwards: no resumption goal",
			runs: []*result{{Scenario: "ca-replaced", Issuer: nstance.Label, DetectSeconds: 2}},
			want: map[string]bool{"0 lost": true, "0 Failed": true, "0 stuck": true, "0 signed twice": true,
				"0 requests after all done (no re-issue loop)": true, "fault detected <= 5s": true},
		},
		{
			name: "leader-kill: a request signed by both replicas fails; handovers within the lease + 5 s pass",
			runs: []*result{{Scenario: leaderKill, Issuer: nstance.Label, Leader: &leaderResult{LeaseDuration: 15, SignedByBoth: 1,
				Handovers: []handover{{Signal: "SIGKILL", NextSignature: 16.5}, {Signal: "SIGTERM", NextSignature: 20}}}}},
			want: map[string]bool{"0 lost": true, "0 Failed": true, "0 stuck": true, "0 signed twice": true,
				"0 signed by both replicas": false, "0 signatures outside a leadership (every certificate in a replica's log, every signer a leader)": true,
				"0 overlapping signers (one replica signs at a time)": true, "handover (kill→next signature) <= lease 15s + 5s": true},
			failures: 1,
		},
		{
			name: "leader-kill: a handover after which no signature was seen misses",
			runs: []*result{{Scenario: leaderKill, Issuer: nstance.Label, Leader: &leaderResult{LeaseDuration: 4, NotLeader: 1,
				Handovers: []handover{{Signal: "SIGKILL", NextSignature: 3.5}, {Signal: "SIGKILL"}}}}},
			want: map[string]bool{"0 lost": true, "0 Failed": true, "0 stuck": true, "0 signed twice": true,
				"0 signed by both replicas": true, "0 signatures outside a leadership (every certificate in a replica's log, every signer a leader)": false,
				"0 overlapping signers (one replica signs at a time)": true, "handover (kill→next signature) <= lease 4s + 5s": false},
			failures: 1,
		},
		{
			name: "leader-kill without a single handover misses the handover goal",
			runs: []*result{{Scenario: leaderKill, Issuer: nstance.Label, Leader: &leaderResult{LeaseDuration: 15}}},
			want: map[string]bool{"0 lost": true, "0 Failed": true, "0 stuck": true, "0 signed twice": true,
				"0 signed by both replicas": true, "0 signatures outside a leadership (every certificate in a replica's log, every signer a leader)": true,
				"0 overlapping signers (one replica signs at a time)": true, "handover (kill→next signature) <= lease 15s + 5s": false},
		},
		{
			name: "an outage: a manager with leader election that ran through it fails",
			runs: []*result{{Scenario: apiserverDown, Issuer: nstance.Label, outageFigures: &outageFigures{LeaderElect: true, RanThrough: true}}},
			want: map[string]bool{"0 lost": true, "0 Failed": true, "0 stuck": true, "0 signed twice": true,
				"0 managers running through the outage (exited or unready)": false},
			failures: 1,
		},
		{
			name: "an outage: a manager that exited passes",
			runs: []*result{{Scenario: etcdDown, Issuer: nstance.Label, outageFigures: &outageFigures{LeaderElect: true, ManagerExits: 1}}},
			want: map[string]bool{"0 lost": true, "0 Failed": true, "0 stuck": true, "0 signed twice": true,
				"0 managers running through the outage (exited or unready)": true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &results{Runs: tc.runs}
			r.finish()
			got := map[string]bool{}
			for _, g := range tc.runs[0].Goals {
				got[g.Name] = g.Pass
			}
			if len(got) != len(tc.want) {
				t.Errorf("goals %v, want %v", got, tc.want)
			}
			for name, pass := range tc.want {
				if p, ok := got[name]; !ok || p != pass {
					t.Errorf("goal %q: %v (present %t), want %v", name, p, ok, pass)
				}
			}
			if r.CountFailures != tc.failures {
				t.Errorf("count failures %d, want %d", r.CountFailures, tc.failures)
			}
		})
	}
}
