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
	"os"
	"strings"
	"testing"
	"time"
)

// Lines as kube-apiserver 1.37 writes them with the harness's policy
// (trimmed of fields the split does not read).
const auditSample = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete","requestURI":"/apis/cert-manager.io/v1/namespaces/ns1/certificaterequests/cr-0/status","verb":"update","user":{"username":"admin"},"userAgent":"nstance-bench/v0.0.0","objectRef":{"resource":"certificaterequests","namespace":"ns1","name":"cr-0","apiGroup":"cert-manager.io","apiVersion":"v1","subresource":"status"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-12-07T02:00:00.100000Z","stageTimestamp":"2026-12-07T02:00:00.104000Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a2","stage":"ResponseComplete","verb":"update","userAgent":"cert-manager-certificaterequests-approver/v1.21.2","objectRef":{"resource":"certificaterequests","namespace":"ns1","name":"cr-1","subresource":"status"},"responseStatus":{"metadata":{},"code":409},"requestReceivedTimestamp":"2026-12-07T02:00:00.200000Z","stageTimestamp":"2026-12-07T02:00:00.201000Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a3","stage":"ResponseComplete","verb":"patch","userAgent":"nstance-issuer/v0.0.0","objectRef":{"resource":"certificaterequests","namespace":"ns1","name":"cr-0","subresource":"status"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-12-07T02:00:00.120000Z","stageTimestamp":"2026-12-07T02:00:00.126000Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a4","stage":"ResponseComplete","verb":"patch","userAgent":"nstance-issuer/v0.0.0","objectRef":{"resource":"certificaterequests","namespace":"ns2","name":"cr-0","subresource":"status"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2026-12-07T02:00:00.120000Z","stageTimestamp":"2026-12-07T02:00:00.126000Z"}
`

func auditAt(ms int) time.Time {
	return time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC).Add(time.Duration(ms) * time.Millisecond)
}

func TestReadStatusWritesKeepsTheNamespacesSuccessfulStatusWrites(t *testing.T) {
	got, err := readStatusWrites(strings.NewReader(auditSample), "ns1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got["cr-0"]) != 2 {
		t.Fatalf("want cr-0's two writes only (cr-1's conflicted, ns2 is another namespace), got %v", got)
	}
	w := got["cr-0"]
	if !w[0].received.Equal(auditAt(100)) || !w[0].completed.Equal(auditAt(104)) || !w[1].received.Equal(auditAt(120)) || !w[1].completed.Equal(auditAt(126)) {
		t.Errorf("timestamps not read to the microsecond: %+v", w)
	}
	if _, err := readStatusWrites(strings.NewReader("not json\n"), "ns1"); err == nil {
		t.Error("a line that is not an audit event must be an error")
	}
}

func TestSplitRequests(t *testing.T) {
	writes := map[string][]statusWrite{
		// Approval done at 104, the signer's write 120 → 126.
		"signed": {{received: auditAt(100), completed: auditAt(104)}, {received: auditAt(120), completed: auditAt(126)}},
		// Only the approval: nothing to split.
		"approval-only": {{received: auditAt(100), completed: auditAt(104)}},
		// A later write after the harness saw Ready is not the signer's Ready.
		"rewritten": {{received: auditAt(100), completed: auditAt(104)}, {received: auditAt(110), completed: auditAt(112)}, {received: auditAt(500), completed: auditAt(501)}},
	}
	times := map[string]requestTimes{
		"signed":        {approved: auditAt(105), ready: auditAt(128)},
		"approval-only": {approved: auditAt(105), ready: auditAt(130)},
		"rewritten":     {approved: auditAt(106), ready: auditAt(113)},
		"not-in-log":    {approved: auditAt(105), ready: auditAt(130)},
	}
	splits, unmatched := splitRequests(times, writes)
	if unmatched != 2 || len(splits) != 2 {
		t.Fatalf("want 2 split and 2 unmatched, got %d and %d", len(splits), unmatched)
	}
	// Sorted by approval: "signed" (105) first.
	s := splits[0]
	ms := time.Millisecond
	if s.approvalDelivery != 1*ms || s.toSignerWrite != 15*ms || s.write != 6*ms || s.ready != 2*ms || s.total() != 23*ms {
		t.Errorf("signed: got %+v, want approval delivery 1 ms, to the signer's write 15, write 6, Ready delivery 2 (total 23 = ready - approved)", s)
	}
	if r := splits[1]; r.toSignerWrite != 4*ms || r.write != 2*ms || r.ready != 1*ms {
		t.Errorf("rewritten: the split must use the last write before Ready, got %+v", r)
	}
}

func TestSummarizeSplitFindsWhereTheTailIs(t *testing.T) {
	// 300 requests of 10 ms (8 signer + 1 write + 1 delivery), and in the
	// third window of 100 three requests whose write took 500 ms.
	var splits []requestSplit
	for i := range 300 {
		s := requestSplit{approvedAt: auditAt(i), approvalDelivery: time.Millisecond, toSignerWrite: 8 * time.Millisecond, write: time.Millisecond, ready: time.Millisecond}
		if i >= 200 && i < 203 {
			s.write = 500 * time.Millisecond
		}
		if i >= 203 && i < 209 {
			s.toSignerWrite = 40 * time.Millisecond // the signer's own slow spell, in the third window too
		}
		splits = append(splits, s)
	}
	got, ok := summarizeSplit(splits, 4, 100)
	if !ok {
		t.Fatal("no summary")
	}
	if got.Requests != 300 || got.Unmatched != 4 || got.Windows != 3 || got.WindowSize != 100 {
		t.Errorf("counts: %+v", got)
	}
	if got.Write.SlowestMs != 500 || got.ToSignerWrite.SlowestMs != 8 { // 500+8+1+1 = 510 > 40+1+1
		t.Errorf("the slowest 1%% (3 requests) spent 500 ms in the write and 8 before it, got %+v and %+v", got.Write, got.ToSignerWrite)
	}
	if got.WindowP99Min != 10 || got.WindowP99Med != 10 || got.WindowP99Max != 509 {
		t.Errorf("window p99s: want min 10, median 10, max 509 ms (one window holds the tail), got %v %v %v", got.WindowP99Min, got.WindowP99Med, got.WindowP99Max)
	}
	if got.SignerWindowP99Min != 8 || got.SignerWindowP99Med != 8 || got.SignerWindowP99Max != 40 {
		t.Errorf("the signer's window p99s: want min 8, median 8, max 40 ms (one window holds its slow spell), got %v %v %v", got.SignerWindowP99Min, got.SignerWindowP99Med, got.SignerWindowP99Max)
	}
	if len(got.ByWindow) != 3 || got.ByWindow[2].ToSignerWrite != 40 || got.ByWindow[2].Write != 500 || got.ByWindow[0].ToSignerWrite != 8 || got.ByWindow[1].Total != 10 {
		t.Errorf("by window: want the third window's signer 40 and write 500 ms, the others 8 and 10 ms, got %+v", got.ByWindow)
	}
	if got.FromApprovalWrite.P50Ms != 9 || got.FromApprovalWrite.P99Ms != 41 {
		t.Errorf("from the approval's write: want p50 9 (1 delivery + 8), p99 41 ms, got %+v", got.FromApprovalWrite)
	}
	if got.Total.P50Ms != 10 {
		t.Errorf("total p50: %v", got.Total.P50Ms)
	}
	if _, ok := summarizeSplit(nil, 3, 100); ok {
		t.Error("no splits: no summary")
	}
}

func TestWindowP99s(t *testing.T) {
	mk := func(n int) []requestSplit {
		s := make([]requestSplit, n)
		for i := range s {
			s[i].write = time.Duration(i) * time.Millisecond
		}
		return s
	}
	for _, tc := range []struct {
		name    string
		n, size int
		want    int
	}{
		{"whole windows only: a short rest is dropped", 250, 100, 2},
		{"fewer than one window: the whole run is one", 50, 100, 1},
		{"exactly one window", 100, 100, 1},
		{"no size: none", 100, 0, 0},
	} {
		if got := windowP99s(mk(tc.n), tc.size, requestSplit.total); len(got) != tc.want {
			t.Errorf("%s: %d windows, want %d", tc.name, len(got), tc.want)
		}
	}
}

// A log shorter than where the stage began was rotated or truncated: an
// error that says so, not a stage with nothing matched.
func TestReadStatusWritesFileRefusesARotatedLog(t *testing.T) {
	path := t.TempDir() + "/audit.log"
	if err := os.WriteFile(path, []byte(auditSample), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := readStatusWritesFile(path, 0, "ns1"); err != nil || len(got["cr-0"]) != 2 {
		t.Fatalf("from the start: %v, %v", got, err)
	}
	if _, err := readStatusWritesFile(path, int64(len(auditSample))+1, "ns1"); err == nil || !strings.Contains(err.Error(), "rotated") {
		t.Errorf("an offset past the end: %v, want an error saying the log was rotated", err)
	}
}
