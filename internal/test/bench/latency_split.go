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
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
	"github.com/nstance-dev/nstance-issuer/internal/test/report"
)

// Where a paced request's approved→Ready time goes. The harness's watch
// sees a request approved and, later, Ready; between the two, the signer
// (nstance-issuer's manager, or cert-manager's CA issuer) learns of the
// approval from its own watch, waits in its queue, signs and writes the
// status, the API server stores the write in etcd and sends it to the
// watches. The API server's audit log (apiserver.Options.AuditLogPath)
// has every status write's arrival and completion on the same clock as
// the harness's, so each request's time splits into:
//
//   - approval delivery: the harness's approval write complete → its watch
//     sees the request approved (the API server's watch delivery; the
//     signer's watch gets the same event at about the same moment);
//   - to the signer's write: the harness sees it approved → the signer's
//     Ready write arrives at the API server (the signer's share: its own
//     watch delivery, queue, signing, client);
//   - write: the signer's write arrives → its response is complete (the
//     API server and etcd);
//   - Ready delivery: the write complete → the harness's watch sees Ready
//     (the API server's watch delivery; the event can overtake the
//     response, so this is sometimes slightly negative).
//
// The three after "approval delivery" add up to the approved→Ready time
// the stage reports. Which of them grows with N says whose the growth is.
//
// The signer's share is also read on the API server's clock alone, from
// the approval's write complete to the signer's write arriving (approval
// delivery + the signer's share, without the harness's watch in it), and
// as the median of its p99 over windows: whether a growth is everywhere or
// in a few windows.

// statusWrite is one write to a CertificateRequest's status, from the
// audit log.
type statusWrite struct {
	received, completed time.Time
}

// auditEvent is the part of an audit.k8s.io/v1 Event the split reads.
type auditEvent struct {
	Stage     string `json:"stage"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	RequestReceivedTimestamp time.Time `json:"requestReceivedTimestamp"`
	StageTimestamp           time.Time `json:"stageTimestamp"`
}

// maxAuditLine bounds one line of the audit log (a Metadata-level event is
// about 1 KiB).
const maxAuditLine = 1 << 20

// readStatusWrites reads audit events from r and returns the successful
// writes to the status of CertificateRequests in namespace ns, by name, in
// the order the log has them; other events are skipped. A line that is
// not an audit event is an error (the log is the API server's own).
func readStatusWrites(r io.Reader, ns string) (map[string][]statusWrite, error) {
	out := map[string][]statusWrite{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxAuditLine)
	for line := 1; sc.Scan(); line++ {
		var ev auditEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("audit log line %d: %w", line, err)
		}
		o := ev.ObjectRef
		if ev.Stage != "ResponseComplete" || o == nil || o.Resource != "certificaterequests" || o.Subresource != "status" || o.Namespace != ns ||
			ev.ResponseStatus == nil || ev.ResponseStatus.Code/100 != 2 {
			continue
		}
		out[o.Name] = append(out[o.Name], statusWrite{received: ev.RequestReceivedTimestamp, completed: ev.StageTimestamp})
	}
	return out, sc.Err()
}

// readStatusWritesFile is readStatusWrites on the audit log at path from
// byte offset on (where a stage began).
func readStatusWritesFile(path string, offset int64, ns string) (map[string][]statusWrite, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if fi.Size() < offset {
		return nil, fmt.Errorf("the audit log is %d bytes, shorter than the %d it had when the stage began: rotated or truncated", fi.Size(), offset)
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	return readStatusWrites(f, ns)
}

// auditLogSize is the audit log's size now: where the next stage's events
// begin (0 when there is none yet).
func auditLogSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// requestTimes are the moments the harness's watch first saw a request
// approved and Ready.
type requestTimes struct {
	approved, ready time.Time
}

// requestSplit is one request's approved→Ready time split into its parts.
type requestSplit struct {
	approvedAt                                    time.Time
	approvalDelivery, toSignerWrite, write, ready time.Duration
}

func (s requestSplit) total() time.Duration { return s.toSignerWrite + s.write + s.ready }

// splitRequests splits each timed request's time with its status writes:
// the approval is the request's first (the harness's, or cert-manager's
// approver's when it came first: neither signer writes before approval),
// the signer's the last after it that reached the API server before the
// harness saw the request Ready. A request without both is counted in
// unmatched and left out.
func splitRequests(times map[string]requestTimes, writes map[string][]statusWrite) (splits []requestSplit, unmatched int) {
	for name, t := range times {
		w := writes[name]
		signer := -1
		for i := 1; i < len(w); i++ {
			if !w[i].received.After(t.ready) {
				signer = i
			}
		}
		if signer < 0 {
			unmatched++
			continue
		}
		splits = append(splits, requestSplit{
			approvedAt:       t.approved,
			approvalDelivery: t.approved.Sub(w[0].completed),
			toSignerWrite:    w[signer].received.Sub(t.approved),
			write:            w[signer].completed.Sub(w[signer].received),
			ready:            t.ready.Sub(w[signer].completed),
		})
	}
	slices.SortFunc(splits, func(a, b requestSplit) int { return a.approvedAt.Compare(b.approvedAt) })
	return splits, unmatched
}

// splitQuantiles are one part's p50 and p99, and its mean over the slowest
// 1% of requests by approved→Ready (the requests the p99 is made of).
type splitQuantiles struct {
	P50Ms     float64 `json:"p50Ms"`
	P99Ms     float64 `json:"p99Ms"`
	SlowestMs float64 `json:"slowestMeanMs"`
}

// latencySplit is a paced stage's approved→Ready time split by where it
// went (see the top of this file).
type latencySplit struct {
	Requests         int            `json:"requests"`
	Unmatched        int            `json:"unmatched,omitempty"`
	Total            splitQuantiles `json:"total"`
	ApprovalDelivery splitQuantiles `json:"approvalDelivery"`
	ToSignerWrite    splitQuantiles `json:"toSignerWrite"`
	// FromApprovalWrite: the approval's write complete → the signer's
	// write arrives, both on the API server's clock.
	FromApprovalWrite splitQuantiles `json:"fromApprovalWrite"`
	Write             splitQuantiles `json:"write"`
	ReadyDelivery     splitQuantiles `json:"readyDelivery"`
	// Windows is the p99 of approved→Ready over consecutive windows of
	// WindowSize requests (by approval): whether the tail is everywhere
	// or in a few windows (a compaction, a list, a GC).
	WindowSize   int     `json:"windowSize"`
	Windows      int     `json:"windows"`
	WindowP99Min float64 `json:"windowP99MinMs"`
	WindowP99Med float64 `json:"windowP99MedianMs"`
	WindowP99Max float64 `json:"windowP99MaxMs"`
	// SignerWindowP99Min/Med/Max: the same for the signer's share
	// (ToSignerWrite).
	SignerWindowP99Min float64 `json:"signerWindowP99MinMs"`
	SignerWindowP99Med float64 `json:"signerWindowP99MedianMs"`
	SignerWindowP99Max float64 `json:"signerWindowP99MaxMs"`
	// ByWindow is every window's p99 of each part, in order: whether the
	// signer's slow windows are the API server's (its write and
	// deliveries slow at the same moments) or its own.
	ByWindow []windowParts `json:"byWindow,omitempty"`
}

// windowParts is one window's p99 of the total and of each part, in ms.
type windowParts struct {
	Total            float64 `json:"totalMs"`
	ApprovalDelivery float64 `json:"approvalDeliveryMs"`
	ToSignerWrite    float64 `json:"toSignerWriteMs"`
	Write            float64 `json:"writeMs"`
	ReadyDelivery    float64 `json:"readyDeliveryMs"`
}

// summarizeSplit summarises splits (sorted by approval, as splitRequests
// returns them) with windows of window requests; ok is false without
// splits.
func summarizeSplit(splits []requestSplit, unmatched, window int) (latencySplit, bool) {
	if len(splits) == 0 {
		return latencySplit{Unmatched: unmatched}, false
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	// The slowest 1% by total (at least one request).
	byTotal := slices.Clone(splits)
	slices.SortFunc(byTotal, func(a, b requestSplit) int { return cmp.Compare(b.total(), a.total()) })
	slowest := byTotal[:max(1, len(byTotal)/100)]
	part := func(f func(requestSplit) time.Duration) splitQuantiles {
		v := make([]time.Duration, len(splits))
		for i, s := range splits {
			v[i] = f(s)
		}
		slices.Sort(v)
		var sum time.Duration
		for _, s := range slowest {
			sum += f(s)
		}
		return splitQuantiles{P50Ms: ms(report.Quantile(v, .5)), P99Ms: ms(report.Quantile(v, .99)), SlowestMs: ms(sum / time.Duration(len(slowest)))}
	}
	out := latencySplit{
		Requests:          len(splits),
		Unmatched:         unmatched,
		Total:             part(requestSplit.total),
		ApprovalDelivery:  part(func(s requestSplit) time.Duration { return s.approvalDelivery }),
		ToSignerWrite:     part(func(s requestSplit) time.Duration { return s.toSignerWrite }),
		FromApprovalWrite: part(func(s requestSplit) time.Duration { return s.approvalDelivery + s.toSignerWrite }),
		Write:             part(func(s requestSplit) time.Duration { return s.write }),
		ReadyDelivery:     part(func(s requestSplit) time.Duration { return s.ready }),
	}
	p99s := windowP99s(splits, window, requestSplit.total)
	out.WindowSize, out.Windows = window, len(p99s)
	if len(p99s) > 0 {
		slices.Sort(p99s)
		out.WindowP99Min, out.WindowP99Med, out.WindowP99Max = ms(p99s[0]), ms(report.Median(p99s)), ms(p99s[len(p99s)-1])
	}
	signer := windowP99s(splits, window, func(s requestSplit) time.Duration { return s.toSignerWrite })
	approval := windowP99s(splits, window, func(s requestSplit) time.Duration { return s.approvalDelivery })
	write := windowP99s(splits, window, func(s requestSplit) time.Duration { return s.write })
	ready := windowP99s(splits, window, func(s requestSplit) time.Duration { return s.ready })
	total := windowP99s(splits, window, requestSplit.total)
	for i := range signer {
		out.ByWindow = append(out.ByWindow, windowParts{Total: ms(total[i]), ApprovalDelivery: ms(approval[i]), ToSignerWrite: ms(signer[i]), Write: ms(write[i]), ReadyDelivery: ms(ready[i])})
	}
	if len(signer) > 0 {
		slices.Sort(signer)
		out.SignerWindowP99Min, out.SignerWindowP99Med, out.SignerWindowP99Max = ms(signer[0]), ms(report.Median(signer)), ms(signer[len(signer)-1])
	}
	return out, true
}

// windowP99s is the p99 of f (a part, or the total) over each whole
// window of size consecutive splits; a shorter rest at the end counts as a
// window only when there is no whole one.
func windowP99s(splits []requestSplit, size int, f func(requestSplit) time.Duration) []time.Duration {
	if size < 1 {
		return nil
	}
	var out []time.Duration
	for start := 0; start < len(splits); start += size {
		end := start + size
		if end > len(splits) {
			if len(out) > 0 {
				break
			}
			end = len(splits)
		}
		v := make([]time.Duration, 0, end-start)
		for _, s := range splits[start:end] {
			v = append(v, f(s))
		}
		slices.Sort(v)
		out = append(out, report.Quantile(v, .99))
	}
	return out
}

// auditFlush is how long the harness lets the API server write a stage's
// last audit events (batched, flushed at least every second) before it
// reads them.
const auditFlush = 3 * time.Second

// splitPaced splits a paced stage's times in ns with the audit log's
// events from offset on; nil (and a line saying why) without an audit log
// or when nothing matched.
func (h *benchHarness) splitPaced(ctx context.Context, ns string, offset int64, timed map[string]requestTimes) *latencySplit {
	path := h.c.AuditLogPath
	if path == "" {
		return nil
	}
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(auditFlush):
	}
	writes, err := readStatusWritesFile(path, offset, ns)
	if err != nil {
		harness.Logf("%s: cannot split the latency: %v", ns, err)
		return nil
	}
	splits, unmatched := splitRequests(timed, writes)
	window := h.c.scalePoints[0]
	for _, n := range h.c.scalePoints {
		window = min(window, n)
	}
	s, ok := summarizeSplit(splits, unmatched, window)
	if !ok {
		harness.Logf("%s: no request matched its status writes in the audit log (%d timed)", ns, len(timed))
		return nil
	}
	harness.Logf("%s: approved→Ready p99 %.0f ms = to the signer's write p99 %.0f + write p99 %.0f + Ready delivery p99 %.0f; slowest 1%%: %.0f + %.0f + %.0f ms; approval delivery p99 %.0f ms; window p99 (%d of %d) min %.0f median %.0f max %.0f ms; %d unmatched",
		ns, s.Total.P99Ms, s.ToSignerWrite.P99Ms, s.Write.P99Ms, s.ReadyDelivery.P99Ms, s.ToSignerWrite.SlowestMs, s.Write.SlowestMs, s.ReadyDelivery.SlowestMs,
		s.ApprovalDelivery.P99Ms, s.Windows, s.WindowSize, s.WindowP99Min, s.WindowP99Med, s.WindowP99Max, s.Unmatched)
	harness.Logf("%s: the signer's share p50 %.1f p99 %.1f ms (from the approval's write, on the API server's clock: p50 %.1f p99 %.1f ms); its window p99 min %.1f median %.1f max %.1f ms",
		ns, s.ToSignerWrite.P50Ms, s.ToSignerWrite.P99Ms, s.FromApprovalWrite.P50Ms, s.FromApprovalWrite.P99Ms, s.SignerWindowP99Min, s.SignerWindowP99Med, s.SignerWindowP99Max)
	for i, w := range s.ByWindow {
		harness.Logf("%s: window %d p99: approved→Ready %.1f ms; approval delivery %.1f, signer's share %.1f, write %.1f, Ready delivery %.1f ms",
			ns, i+1, w.Total, w.ApprovalDelivery, w.ToSignerWrite, w.Write, w.ReadyDelivery)
	}
	return &s
}
