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
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
	"github.com/nstance-dev/nstance-issuer/internal/test/localstack"
	"github.com/nstance-dev/nstance-issuer/internal/test/report"
)

// The re-issue after a rotate-now (docs/ca-rotation.md, "Rotate now";
// internal/controller/carotation/reissue.go), at scale. The manager is
// restarted with -scale-reissue-batch and -scale-reissue-interval as its
// --reissue-batch-size and --reissue-interval; N cert-manager Certificates
// (ECDSA P-256 keys, cheap for cert-manager to make) name an
// NstanceClusterIssuer with a generated CA and are issued first (set-up,
// timed on its own); then the issuer is annotated rotate-now, and the
// phase measures, from watches of the Certificates and their Secrets:
//
//   - rotate-now → every Certificate holds a certificate of the new CA,
//     split into the rotation itself (rotate-now → first Certificate
//     triggered) and the re-issue (first trigger → last Certificate done),
//     against the time the pacing predicts (below);
//   - the batches the controller triggered (Issuing=True, reason
//     ManuallyTriggered, each attributed by its condition's
//     lastTransitionTime to the lastBatchAt that status showed before
//     it): the most triggered from one lastBatchAt to an interval later,
//     the controller's promise (≤ batch), and the least time between two
//     lastBatchAt;
//   - the most Certificates issuing at once (Issuing=True): ≤ batch only
//     while each batch finishes within the interval, since the controller
//     paces the triggers, not cert-manager's work;
//   - status.rotation.reissue read every second and judged against the
//     watches' truth (reissue_analysis.go judgeSample).
//
// The prediction. A pass of the controller triggers a batch when no batch
// was triggered yet or the last one (status lastBatchAt, written before
// its Certificates are asked, truncated to the second) is at least an
// interval old; while Certificates are pending it looks again at
// lastBatchAt + interval. So the first batch goes as soon as the signer
// has loaded the new CA, batch k about (k-1)·interval later (later by as
// much as a pass takes, when a pass is slower than the interval's tail),
// and the re-issue ends when cert-manager has issued the last batch:
//
//	predicted = (ceil(N/batch) - 1) · interval + (time to issue one batch)
//
// the time to issue one batch measured on the first batch (its
// lastBatchAt → its last Certificate done), which is at most an interval when the
// pace is one cert-manager keeps up with, so the prediction is between
// (ceil(N/batch) - 1)·interval and ceil(N/batch)·interval.

const (
	reissueIssuer = "bench-reissue"
	reissueNS     = "bench-reissue"
	reissueToken  = "bench-reissue"
	// reissueWatchLead is how late the harness's watches may see a change
	// the controller already counted (the sampling race, judgeSample).
	reissueWatchLead = 2 * time.Second
	// reissuePassSlack is what a pass may add to an interval before the
	// status it writes counts as stale: listing the Certificates and
	// reading their Secrets, and writing the status.
	reissuePassSlack = 5 * time.Second
)

// scaleReissue is what the re-issue of N Certificates after a rotate-now
// measured (the JSON's sweep.reissue).
type scaleReissue struct {
	N               int     `json:"n"`
	BatchSize       int     `json:"batchSize"`
	IntervalSeconds float64 `json:"intervalSeconds"`
	// SetupSeconds: the N Certificates created → all Ready with a
	// certificate of the first CA.
	SetupSeconds float64 `json:"setupSeconds"`
	// SwitchSeconds: rotate-now → the first Certificate seen triggered
	// (the next CA made, published, promoted and loaded by the signer).
	SwitchSeconds float64 `json:"switchSeconds"`
	// ReissueSeconds: the first batch (its lastBatchAt) → every
	// Certificate holds a certificate of the new CA; TotalSeconds:
	// rotate-now → the same.
	ReissueSeconds float64 `json:"reissueSeconds"`
	TotalSeconds   float64 `json:"totalSeconds"`
	// PredictedSeconds = (ceil(N/batch) - 1)·interval + FirstBatchSeconds
	// (see above); FirstBatchSeconds is the first batch's lastBatchAt →
	// its last Certificate done.
	PredictedSeconds  float64 `json:"predictedSeconds"`
	FirstBatchSeconds float64 `json:"firstBatchSeconds"`
	// Batches: the lastBatchAt values status showed, each with the
	// Certificates whose Issuing condition the controller wrote from it
	// until the next; MaxBatch the largest; MaxPerInterval the most
	// triggered from a lastBatchAt to an interval later (the promise);
	// MinBatchGapSeconds the least time between two lastBatchAt;
	// BatchFinishMaxSeconds the longest a batch took from its lastBatchAt
	// to its last Certificate done.
	Batches               int     `json:"batches"`
	MaxBatch              int     `json:"maxBatch"`
	MaxPerInterval        int     `json:"maxPerInterval"`
	MinBatchGapSeconds    float64 `json:"minBatchGapSeconds"`
	BatchFinishMaxSeconds float64 `json:"batchFinishMaxSeconds"`
	// Triggered: Certificates seen Issuing after the rotate-now; Manual:
	// of them, with reason ManuallyTriggered.
	Triggered int `json:"triggered"`
	Manual    int `json:"manual"`
	// MaxInFlight: the most Certificates seen Issuing=True at once.
	MaxInFlight int `json:"maxInFlight"`
	// MaxRecordedInFlight: the longest status.rotation.reissue.inFlight
	// a sample read (the controller's cap: at most the batch); Stalled:
	// status.rotation.reissue.stalled at the last sample.
	MaxRecordedInFlight int `json:"maxRecordedInFlight"`
	Stalled             int `json:"stalled"`
	// HoldingNewCA: Certificates whose Secret verifies against the new CA
	// at the end.
	HoldingNewCA int `json:"holdingNewCA"`
	Failed       int `json:"failed"`
	// Status samples: read, correct (consistent, never ahead of the truth
	// and at most WindowSeconds behind), inconsistent, ahead; MaxLagSeconds
	// the most any sample was behind.
	Samples             int     `json:"samples"`
	SamplesCorrect      int     `json:"samplesCorrect"`
	SamplesInconsistent int     `json:"samplesInconsistent"`
	SamplesAhead        int     `json:"samplesAhead"`
	MaxLagSeconds       float64 `json:"maxLagSeconds"`
	WindowSeconds       float64 `json:"windowSeconds"`
	// CompletedSeconds: the last Certificate done → status completedAt
	// seen set (0: not seen).
	CompletedSeconds float64 `json:"completedSeconds"`
	// ManagerGETsPerCert: the manager's GET requests (reads and lists:
	// client-go counts both as GET) per Certificate from the rotate-now
	// to the last Certificate done. Each pass reads the Secret of every
	// Certificate not yet proven new by its notBefore, and one Certificate
	// more per trigger.
	ManagerGETsPerCert float64 `json:"managerGetsPerCert"`
}

// reissueTracker follows the phase's Certificates and Secrets from
// watches.
type reissueTracker struct {
	mu      sync.Mutex
	oldCA   *x509.Certificate
	rotated time.Time // zero until the rotate-now
	n       int
	// Before the rotate-now: Ready, and holding a certificate of the
	// first CA.
	ready, old map[string]bool
	issuing    map[string]bool
	hist       map[string]*crtHistory
	setUp      *harness.Countdown
	done       *harness.Countdown
	doneCount  int
}

func newReissueTracker(n int, oldCA *x509.Certificate) *reissueTracker {
	return &reissueTracker{
		oldCA: oldCA, n: n, ready: map[string]bool{}, old: map[string]bool{}, issuing: map[string]bool{},
		hist: map[string]*crtHistory{}, setUp: harness.NewCountdown(n), done: harness.NewCountdown(n),
	}
}

func (t *reissueTracker) entry(name string) *crtHistory {
	h, ok := t.hist[name]
	if !ok {
		h = &crtHistory{}
		t.hist[name] = h
	}
	return h
}

func (t *reissueTracker) setUpCount() int {
	c := 0
	for name := range t.ready {
		if t.old[name] {
			c++
		}
	}
	return c
}

func (t *reissueTracker) observeCertificate(crt *cmapi.Certificate, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var issuing, ready bool
	var reason string
	var since time.Time
	for _, c := range crt.Status.Conditions {
		switch {
		case c.Type == cmapi.CertificateConditionIssuing && c.Status == cmmeta.ConditionTrue:
			issuing, reason = true, c.Reason
			if c.LastTransitionTime != nil {
				since = c.LastTransitionTime.Time
			}
		case c.Type == cmapi.CertificateConditionReady && c.Status == cmmeta.ConditionTrue:
			ready = true
		}
	}
	was := t.issuing[crt.Name]
	t.issuing[crt.Name] = issuing
	if t.rotated.IsZero() {
		if ready {
			t.ready[crt.Name] = true
			t.setUp.Reached(t.setUpCount())
		}
		return
	}
	h := t.entry(crt.Name)
	switch {
	case issuing && !was:
		h.Issuing = append(h.Issuing, span{From: now})
		if h.Triggered.IsZero() {
			h.Triggered, h.Manual, h.TriggeredAt = now, reason == "ManuallyTriggered", since
			if since.IsZero() {
				h.TriggeredAt = now.Truncate(time.Second)
			}
		}
	case !issuing && was && len(h.Issuing) > 0:
		h.Issuing[len(h.Issuing)-1].To = now
	}
	if f := crt.Status.LastFailureTime; f != nil && f.After(t.rotated) && h.Failed.IsZero() {
		h.Failed = now
	}
}

func (t *reissueTracker) observeSecret(s *corev1.Secret, now time.Time) {
	name, ok := strings.CutSuffix(s.Name, "-tls")
	if !ok {
		return
	}
	leaf := pki.FirstCertificate(s.Data[corev1.TLSCertKey])
	if leaf == nil {
		return
	}
	byOld := leaf.CheckSignatureFrom(t.oldCA) == nil
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rotated.IsZero() {
		if byOld {
			t.old[name] = true
			t.setUp.Reached(t.setUpCount())
		}
		return
	}
	if h := t.entry(name); !byOld && h.Done.IsZero() {
		h.Done = now
		t.doneCount++
		t.done.Reached(t.doneCount)
	}
}

// scaleReissue runs the phase (see above).
func (h *benchHarness) scaleReissue(ctx context.Context) (*scaleReissue, error) {
	n, b, interval := h.c.reissueN, h.c.reissueBatch, h.c.reissueInterval
	rs := &scaleReissue{N: n, BatchSize: b, IntervalSeconds: interval.Seconds(), WindowSeconds: (interval + reissuePassSlack).Seconds()}
	// The pace is a flag of the manager's: restart it with this phase's.
	// It keeps them afterwards (this phase runs last).
	args := append(slices.Clone(h.c.ManagerArgs), fmt.Sprintf("--reissue-batch-size=%d", b), "--reissue-interval="+interval.String())
	if err := h.Stack.RestartManager(ctx, args); err != nil {
		return nil, fmt.Errorf("restarting the manager with %v: %w", args, err)
	}
	if err := h.Namespace(ctx, reissueNS); err != nil {
		return nil, err
	}
	iss := &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: reissueIssuer},
		Spec: v1alpha1.IssuerSpec{CA: v1alpha1.CASpec{
			SecretName: reissueIssuer + "-ca",
			Generate:   &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "bench re-issue CA"}},
			Rotation:   &v1alpha1.CARotation{PropagationDelay: &metav1.Duration{}},
		},
			DefaultTemplate: "web",
			Templates: []v1alpha1.CertificateTemplate{{
				Name: "web", Kind: v1alpha1.ServerKind, TTL: 2160, AllowedDNSNames: []string{"*.example.com"},
			}},
		},
	}
	if err := h.Client.Create(ctx, iss); err != nil {
		return nil, err
	}
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := h.Client.Get(ctx, client.ObjectKeyFromObject(iss), iss); err != nil {
			return false, err
		}
		return meta.IsStatusConditionTrue(iss.Status.Conditions, "Ready"), nil
	}); err != nil {
		return nil, fmt.Errorf("issuer %s not Ready: %w", reissueIssuer, err)
	}
	oldCA, err := h.reissueCA(ctx)
	if err != nil {
		return nil, err
	}
	t := newReissueTracker(n, oldCA)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := h.Watch(wctx, reissueNS, &cmapi.CertificateList{}, func(o client.Object, now time.Time) bool {
		if crt, ok := o.(*cmapi.Certificate); ok {
			t.observeCertificate(crt, now)
		}
		return false
	}, benchWatch); err != nil {
		return nil, err
	}
	if err := h.Watch(wctx, reissueNS, &corev1.SecretList{}, func(o client.Object, now time.Time) bool {
		if s, ok := o.(*corev1.Secret); ok {
			t.observeSecret(s, now)
		}
		return false
	}, benchWatch); err != nil {
		return nil, err
	}

	// Set-up: N Certificates issued by the first CA.
	ref := harness.Issuer{Label: reissueIssuer, Ref: cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "NstanceClusterIssuer", Name: reissueIssuer}}
	harness.Logf("re-issue: creating %d Certificates", n)
	start := time.Now()
	if err := harness.Parallel(ctx, h.c.Workers, n, func(ctx context.Context, i int) error {
		name := fmt.Sprintf("crt-%d", i)
		return h.Client.Create(ctx, harness.Certificate(reissueNS, name, name+"-reissue.example.com", ref))
	}); err != nil {
		return nil, err
	}
	if err := t.setUp.Wait(ctx, h.c.timeout); err != nil {
		t.mu.Lock()
		defer t.mu.Unlock()
		return nil, fmt.Errorf("set-up: %w: %d of %d Certificates Ready with the first CA%s", err, t.setUpCount(), n, h.notReady(ctx))
	}
	rs.SetupSeconds = time.Since(start).Seconds()
	harness.Logf("re-issue: %d Certificates Ready in %.1f s; rotate-now with %d per %s", n, rs.SetupSeconds, b, interval)
	time.Sleep(2 * time.Second) // cert-manager clears Issuing after Ready

	// Status samples, every second.
	var smu sync.Mutex
	var samples []statusSample
	var batchStarts []time.Time // every lastBatchAt seen
	completedSeen := time.Time{}
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-tick.C:
			}
			before := time.Now()
			var got v1alpha1.NstanceClusterIssuer
			if err := h.Client.Get(wctx, client.ObjectKeyFromObject(iss), &got); err != nil {
				continue
			}
			after := time.Now()
			ro := got.Status.Rotation
			if ro == nil || ro.Reissue == nil || ro.Reissue.Token != reissueToken {
				continue
			}
			st := ro.Reissue
			smu.Lock()
			samples = append(samples, statusSample{Before: before, After: after, Total: int(st.Total), Reissued: int(st.Reissued),
				InProgress: int(st.InProgress), Failed: int(st.Failed), Pending: int(st.Pending), Completed: st.CompletedAt != nil,
				InFlight: len(st.InFlight), Stalled: int(st.Stalled)})
			if st.LastBatchAt != nil && !slices.ContainsFunc(batchStarts, st.LastBatchAt.Time.Equal) {
				batchStarts = append(batchStarts, st.LastBatchAt.Time)
			}
			if st.CompletedAt != nil && completedSeen.IsZero() {
				completedSeen = after
			}
			smu.Unlock()
		}
	}()

	reqBefore := h.managerRequests()
	t.mu.Lock()
	t.rotated = time.Now()
	rotated := t.rotated
	t.mu.Unlock()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, v1alpha1.RotateNowAnnotation, reissueToken)
	if err := h.Client.Patch(ctx, &v1alpha1.NstanceClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: reissueIssuer}}, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		return nil, err
	}
	batches0 := (n + b - 1) / b
	timeout := max(h.c.timeout, 2*time.Duration(batches0)*interval+3*time.Minute)
	if err := t.done.Wait(ctx, timeout); err != nil {
		t.mu.Lock()
		defer t.mu.Unlock()
		return nil, fmt.Errorf("re-issue: %w after %s: %d of %d Certificates hold a certificate of the new CA", err, timeout, t.doneCount, n)
	}
	reqAfter := h.managerRequests()
	// Until status says completed (the controller looks again an interval
	// after the last batch), or an interval and a half more.
	_ = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, interval*3/2+reissuePassSlack, true, func(context.Context) (bool, error) {
		smu.Lock()
		defer smu.Unlock()
		return !completedSeen.IsZero(), nil
	})
	cancel()
	newCA, err := h.reissueCA(ctx)
	if err != nil {
		return nil, err
	}
	if rs.HoldingNewCA, err = h.holdingCA(ctx, newCA); err != nil {
		return nil, err
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	smu.Lock()
	defer smu.Unlock()
	var first, last time.Time
	for _, c := range t.hist {
		if !c.Triggered.IsZero() {
			rs.Triggered++
			if c.Manual {
				rs.Manual++
			}
			if first.IsZero() || c.Triggered.Before(first) {
				first = c.Triggered
			}
		}
		if c.Done.After(last) {
			last = c.Done
		}
		if !c.Failed.IsZero() {
			rs.Failed++
		}
	}
	rs.SwitchSeconds = first.Sub(rotated).Seconds()
	rs.TotalSeconds = last.Sub(rotated).Seconds()
	bs := batches(t.hist, batchStarts)
	if len(bs) > 0 {
		first = bs[0].Start // the first lastBatchAt, as the prediction counts
	}
	rs.ReissueSeconds = last.Sub(first).Seconds()
	rs.Batches = len(bs)
	for i, bt := range bs {
		harness.Logf("re-issue batch %d: lastBatchAt %s, %d triggered from %s to %s, finished %s", i+1,
			bt.Start.Format(time.TimeOnly), bt.Size, bt.First.Format(time.TimeOnly), bt.Last.Format(time.TimeOnly), bt.Finished.Format("15:04:05.0"))
		rs.MaxBatch = max(rs.MaxBatch, bt.Size)
		if i > 0 {
			gap := bt.Start.Sub(bs[i-1].Start).Seconds()
			if i == 1 || gap < rs.MinBatchGapSeconds {
				rs.MinBatchGapSeconds = gap
			}
		}
		if !bt.Finished.IsZero() {
			rs.BatchFinishMaxSeconds = max(rs.BatchFinishMaxSeconds, bt.Finished.Sub(bt.Start).Seconds())
		}
	}
	if len(bs) > 0 && !bs[0].Finished.IsZero() {
		rs.FirstBatchSeconds = bs[0].Finished.Sub(bs[0].Start).Seconds()
		rs.PredictedSeconds = float64(batches0-1)*interval.Seconds() + rs.FirstBatchSeconds
	}
	rs.MaxPerInterval = maxPerInterval(t.hist, bs, interval)
	rs.MaxInFlight = maxInFlight(t.hist)
	window := interval + reissuePassSlack
	for _, s := range samples {
		rs.MaxRecordedInFlight, rs.Stalled = max(rs.MaxRecordedInFlight, s.InFlight), s.Stalled
		v := judgeSample(t.hist, n, s, reissueWatchLead)
		rs.Samples++
		if v.Correct(window) {
			rs.SamplesCorrect++
		}
		if !v.Consistent {
			rs.SamplesInconsistent++
		}
		if v.Ahead {
			rs.SamplesAhead++
		}
		rs.MaxLagSeconds = max(rs.MaxLagSeconds, v.Lag.Seconds())
	}
	if !completedSeen.IsZero() {
		rs.CompletedSeconds = completedSeen.Sub(last).Seconds()
	}
	if reqBefore != nil && reqAfter != nil {
		rs.ManagerGETsPerCert, _ = report.PerItem(reqBefore["GET"], reqAfter["GET"], n)
	}
	harness.Logf("re-issue of %d: rotation %.1f s, re-issue %.1f s (predicted %.1f s), %d batches (largest %d, at most %d per interval), %d in flight at most (%d recorded, %d stalled); %d of %d status samples correct, lag at most %.1f s",
		n, rs.SwitchSeconds, rs.ReissueSeconds, rs.PredictedSeconds, rs.Batches, rs.MaxBatch, rs.MaxPerInterval, rs.MaxInFlight, rs.MaxRecordedInFlight, rs.Stalled, rs.SamplesCorrect, rs.Samples, rs.MaxLagSeconds)
	return rs, nil
}

// notReady describes one of the phase's Certificates that is not Ready,
// for an error message.
func (h *benchHarness) notReady(ctx context.Context) string {
	var list cmapi.CertificateList
	if err := h.Client.List(ctx, &list, client.InNamespace(reissueNS)); err != nil {
		return ""
	}
	for _, crt := range list.Items {
		for _, c := range crt.Status.Conditions {
			if c.Type == cmapi.CertificateConditionReady && c.Status != cmmeta.ConditionTrue {
				var crs cmapi.CertificateRequestList
				why := ""
				if err := h.Client.List(ctx, &crs, client.InNamespace(reissueNS)); err == nil && len(crs.Items) > 0 {
					why = fmt.Sprintf("; CertificateRequest %s: %v", crs.Items[0].Name, crs.Items[0].Status.Conditions)
				}
				return fmt.Sprintf(", e.g. %s: %s: %s%s", crt.Name, c.Reason, c.Message, why)
			}
		}
	}
	return ""
}

// reissueCA is the certificate the re-issue issuer's CA Secret holds now.
func (h *benchHarness) reissueCA(ctx context.Context) (*x509.Certificate, error) {
	var s corev1.Secret
	if err := h.Client.Get(ctx, client.ObjectKey{Namespace: localstack.ClusterResourceNamespace, Name: reissueIssuer + "-ca"}, &s); err != nil {
		return nil, err
	}
	ca := pki.FirstCertificate(s.Data[corev1.TLSCertKey])
	if ca == nil {
		return nil, fmt.Errorf("the CA Secret %s holds no certificate", s.Name)
	}
	return ca, nil
}

// holdingCA counts the phase's Certificates whose Secret verifies against
// ca.
func (h *benchHarness) holdingCA(ctx context.Context, ca *x509.Certificate) (int, error) {
	var list corev1.SecretList
	if err := h.Client.List(ctx, &list, client.InNamespace(reissueNS)); err != nil {
		return 0, err
	}
	c := 0
	for _, s := range list.Items {
		if leaf := pki.FirstCertificate(s.Data[corev1.TLSCertKey]); strings.HasSuffix(s.Name, "-tls") && leaf != nil && leaf.CheckSignatureFrom(ca) == nil {
			c++
		}
	}
	return c, nil
}

// report prints the re-issue's figures.
func (rs *scaleReissue) report(r *results) {
	at := fmt.Sprintf("scale re-issue of %d Certificates, %d per %s: ", rs.N, rs.BatchSize, time.Duration(rs.IntervalSeconds*float64(time.Second)))
	r.add(at+"set-up, created → all Ready", rs.SetupSeconds, "s", "", 0, "", "not part of the re-issue")
	r.add(at+"rotate-now → first Certificate triggered", rs.SwitchSeconds, "s", "", 0, "", "next CA made, published, promoted, loaded")
	r.add(at+"rotate-now → all hold the new CA's certificate", rs.TotalSeconds, "s", "", 0, "", "")
	note := fmt.Sprintf("(ceil(N/batch)-1)·interval + first batch's %.1f s", rs.FirstBatchSeconds)
	r.add(at+"first batch → all re-issued, vs predicted", rs.ReissueSeconds, "s", "predicted", rs.PredictedSeconds, "ratio <= 1.2", note)
	r.add(at+"first batch → all re-issued, vs predicted (lower bound)", rs.ReissueSeconds, "s", "predicted", rs.PredictedSeconds, "ratio >= 0.8", note)
	r.add(at+"most triggered per interval (from a lastBatchAt)", float64(rs.MaxPerInterval), "", "batch", float64(rs.BatchSize), "ratio <= 1",
		fmt.Sprintf("%d batches, largest %d, starts at least %.1f s apart", rs.Batches, rs.MaxBatch, rs.MinBatchGapSeconds))
	r.add(at+"most Certificates issuing at once", float64(rs.MaxInFlight), "", "batch", float64(rs.BatchSize), "ratio <= 1",
		fmt.Sprintf("seen by the harness's watch; the controller's record held at most %d, %d stalled; the slowest batch took %.1f s", rs.MaxRecordedInFlight, rs.Stalled, rs.BatchFinishMaxSeconds))
	r.add(at+"Certificates triggered with reason ManuallyTriggered", float64(rs.Manual), "", "N", float64(rs.N), "", fmt.Sprintf("%d seen triggered", rs.Triggered))
	r.add(at+"Certificates holding the new CA's certificate at the end", float64(rs.HoldingNewCA), "", "N", float64(rs.N), "ratio >= 1", "")
	r.add(at+"status.rotation.reissue samples correct", float64(rs.SamplesCorrect), "", "samples", float64(rs.Samples), "ratio >= 1",
		fmt.Sprintf("%d inconsistent, %d ahead of the truth; lag at most %.1f s (allowed %.0f s: interval + pass)", rs.SamplesInconsistent, rs.SamplesAhead, rs.MaxLagSeconds, rs.WindowSeconds))
	r.add(at+"last Certificate done → status completedAt seen", rs.CompletedSeconds, "s", "", 0, "", "0: not seen")
	r.add(at+"manager GET requests per Certificate", rs.ManagerGETsPerCert, "req", "", 0, "", "reads and lists, rotate-now → last done; each pass reads every counted Certificate's Secret")
}
