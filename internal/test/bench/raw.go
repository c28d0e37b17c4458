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
	"encoding/json"
	"fmt"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/app"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
)

// The raw phase measures what the API server takes from a client with the
// manager's settings (its client-side limit resolved as the manager
// resolves it, and its number of workers), with no signer involved:
//
//   - the signer floor: per certificate, one server-side-apply status patch
//     of a CertificateRequest that has none yet (certificate, ca and the
//     Ready condition, under a field manager, forced: the shape issuer-lib
//     writes) and one events.k8s.io/v1 Event like CertificateIssued. That is
//     the least a signer writes per certificate, so it is the denominator of
//     the "vs signer floor" goal;
//   - for context, the rate of plain merge patches of the same status, with
//     the manager's settings, with the fallback limit it uses on API servers
//     without API Priority and Fairness, and unthrottled.

// rawSetting is a client's rate limit and number of workers.
type rawSetting struct {
	label   string
	qps     float32
	burst   int
	workers int
}

// rawRates measures the signer floor and the merge-patch rates and records
// them in r (r.floorRate, r.rawRate). The manager's setting runs first and
// again last, for both, and the faster run counts: the first writes of a
// run also warm the API server up.
func (h *benchHarness) rawRates(ctx context.Context, r *results) error {
	const ns = "bench-raw"
	if err := h.Namespace(ctx, ns); err != nil {
		return err
	}
	n := h.c.rawPatches
	// An issuer nobody implements: no controller signs these. The merge
	// patches rewrite raw-*; each signer-floor run applies to its own fresh
	// requests (floor-<run>-*), as a signer does.
	ref := cmmeta.IssuerReference{Group: "bench.nstance.dev", Kind: "Nobody", Name: "nobody"}
	names := []string{"raw", "floor-0", "floor-1"}
	if err := harness.Parallel(ctx, h.c.Workers, len(names)*n, func(ctx context.Context, i int) error {
		return h.createApproved(ctx, ns, fmt.Sprintf("%s-%d", names[i/n], i%n), h.csrs[i%len(h.csrs)], ref)
	}); err != nil {
		return err
	}
	time.Sleep(time.Second) // let cert-manager's approver settle

	// The manager's own settings, resolved from its flags as it resolves
	// them (automatic by default: no client-side limit when the API server
	// has API Priority and Fairness).
	limit, workers, err := managerClientSettings(ctx, h.Stack.Config, h.c.ManagerArgs)
	if err != nil {
		return err
	}
	manager := rawSetting{fmt.Sprintf("manager client (%s, %d workers)", describeLimit(limit), workers), limit.QPS, limit.Burst, workers}
	settings := []rawSetting{
		manager,
		{fmt.Sprintf("QPS %d, burst %d (the fallback without APF), %d workers", app.FallbackKubeAPIQPS, app.FallbackKubeAPIBurst, workers), app.FallbackKubeAPIQPS, app.FallbackKubeAPIBurst, workers},
		{"unthrottled, 16 workers", -1, 0, 16},
	}
	if limit.Unlimited() && workers == 16 {
		settings = settings[:2]
	}

	floor, err := h.signerFloor(ctx, ns, "floor-0", manager)
	if err != nil {
		return err
	}
	rates := map[string]float64{}
	for round, s := range append(settings, manager) {
		rate, err := h.mergePatchRate(ctx, ns, s, round)
		if err != nil {
			return err
		}
		rates[s.label] = max(rates[s.label], rate)
	}
	again, err := h.signerFloor(ctx, ns, "floor-1", manager)
	if err != nil {
		return err
	}
	floor = max(floor, again)

	r.add("raw: signer floor, SSA status patch + Event per certificate, "+manager.label, floor, "/s", "", 0, "",
		"faster of a first and a last run")
	for i, s := range settings {
		note := ""
		if s.burst > 0 && n <= s.burst {
			note = "all patches within the client's burst: not rate-limited"
		}
		if i == 0 {
			note = "faster of a first and a last run"
		}
		r.add("raw: merge status patches/s, "+s.label, rates[s.label], "/s", "", 0, "", note)
	}
	r.floorRate = floor
	r.rawRate = rates[manager.label]
	return nil
}

// signerFloor writes, for each of the requests prefix-0..n-1, what a signer
// writes when it issues: one server-side-apply status patch (certificate,
// ca, Ready=True/Issued; field manager, forced, as issuer-lib applies it)
// and one events.k8s.io/v1 Event about the request (reason, action, note and
// related issuer as the manager's CertificateIssued). It returns the rate in
// certificates per second.
func (h *benchHarness) signerFloor(ctx context.Context, ns, prefix string, s rawSetting) (float64, error) {
	cl, err := harness.NewClient(h.Stack.Config, s.qps, s.burst)
	if err != nil {
		return 0, err
	}
	n := h.c.rawPatches
	began := time.Now()
	err = harness.Parallel(ctx, s.workers, n, func(ctx context.Context, i int) error {
		name := fmt.Sprintf("%s-%d", prefix, i)
		now := time.Now()
		body, err := json.Marshal(map[string]any{
			"apiVersion": cmapi.SchemeGroupVersion.Identifier(),
			"kind":       cmapi.CertificateRequestKind,
			"metadata":   map[string]string{"name": name, "namespace": ns},
			"status": cmapi.CertificateRequestStatus{
				Certificate: h.CA.CertPEM,
				CA:          h.CA.CertPEM,
				Conditions: []cmapi.CertificateRequestCondition{{
					Type: cmapi.CertificateRequestConditionReady, Status: cmmeta.ConditionTrue, Reason: cmapi.CertificateRequestReasonIssued,
					Message: "Succeeded signing the CertificateRequest", LastTransitionTime: &metav1.Time{Time: now},
				}},
			},
		})
		if err != nil {
			return err
		}
		cr := &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		if err := cl.Status().Patch(ctx, cr, client.RawPatch(types.ApplyPatchType, body),
			&client.SubResourcePatchOptions{PatchOptions: client.PatchOptions{FieldManager: issuer.FieldOwner, Force: new(true)}}); err != nil {
			return fmt.Errorf("applying status of %s/%s: %w", ns, name, err)
		}
		ev := &eventsv1.Event{
			ObjectMeta:          metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%s.%x", name, now.UnixNano())},
			EventTime:           metav1.NewMicroTime(now),
			ReportingController: issuer.FieldOwner,
			ReportingInstance:   issuer.FieldOwner + "-nstance-bench",
			Action:              "Sign",
			Reason:              v1alpha1.EventReasonCertificateIssued,
			Type:                corev1.EventTypeNormal,
			Regarding: corev1.ObjectReference{APIVersion: cmapi.SchemeGroupVersion.String(), Kind: cmapi.CertificateRequestKind,
				Namespace: ns, Name: name, UID: cr.UID, ResourceVersion: cr.ResourceVersion},
			Related: &corev1.ObjectReference{APIVersion: v1alpha1.GroupVersion.String(), Kind: "NstanceClusterIssuer", Name: names.Nstance},
			Note: fmt.Sprintf("Issued certificate serial %x from template web, valid until %s, signed by NstanceClusterIssuer %s",
				now.UnixNano(), now.Add(2160*time.Hour).UTC().Format(time.RFC3339), names.Nstance),
		}
		if err := cl.Create(ctx, ev); err != nil {
			return fmt.Errorf("recording an Event on %s/%s: %w", ns, name, err)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("signer floor (%s): %w", s.label, err)
	}
	rate := float64(n) / time.Since(began).Seconds()
	harness.Logf("raw signer floor %s (%s): %.1f/s", prefix, s.label, rate)
	return rate, nil
}

// mergePatchRate merge-patches the status of raw-0..n-1 (certificate, ca,
// Approved and Ready conditions) with setting s and returns the rate.
func (h *benchHarness) mergePatchRate(ctx context.Context, ns string, s rawSetting, round int) (float64, error) {
	cl, err := harness.NewClient(h.Stack.Config, s.qps, s.burst)
	if err != nil {
		return 0, err
	}
	n := h.c.rawPatches
	began := time.Now()
	err = harness.Parallel(ctx, s.workers, n, func(ctx context.Context, i int) error {
		now := metav1.Now()
		body, err := json.Marshal(map[string]any{"status": cmapi.CertificateRequestStatus{
			Certificate: h.CA.CertPEM,
			CA:          h.CA.CertPEM,
			Conditions: []cmapi.CertificateRequestCondition{
				{Type: cmapi.CertificateRequestConditionApproved, Status: cmmeta.ConditionTrue, Reason: "nstance-bench", LastTransitionTime: &now},
				{Type: cmapi.CertificateRequestConditionReady, Status: cmmeta.ConditionTrue, Reason: cmapi.CertificateRequestReasonIssued,
					Message: fmt.Sprintf("raw patch, round %d", round), LastTransitionTime: &now},
			},
		}})
		if err != nil {
			return err
		}
		cr := &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("raw-%d", i)}}
		return cl.Status().Patch(ctx, cr, client.RawPatch(types.MergePatchType, body))
	})
	if err != nil {
		return 0, fmt.Errorf("raw patch (%s): %w", s.label, err)
	}
	rate := float64(n) / time.Since(began).Seconds()
	harness.Logf("raw merge patch %s, round %d: %.1f/s", s.label, round+1, rate)
	return rate, nil
}

// managerClientSettings resolves the manager's client-side rate limit and
// request workers from the flags it is started with, parsed by the
// manager's own FlagSet, as the manager does.
func managerClientSettings(ctx context.Context, cfg *rest.Config, args []string) (app.RateLimit, int, error) {
	o, err := app.ParseArgs(args)
	if err != nil {
		return app.RateLimit{}, 0, fmt.Errorf("the manager's flags %q: %w", args, err)
	}
	return app.ResolveRateLimit(ctx, cfg, o.KubeAPIQPS, o.KubeAPIBurst), max(o.Controller.MaxConcurrentReconciles, 1), nil
}

func describeLimit(l app.RateLimit) string {
	if l.Unlimited() {
		return "no client-side limit: APF"
	}
	return fmt.Sprintf("QPS %g, burst %d", l.QPS, l.Burst)
}
