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
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
	"github.com/nstance-dev/nstance-issuer/internal/test/report"
)

// Trust publication at scale: a cluster issuer whose ConfigMap bundle
// goes to every namespace (namespaceSelector: {}), with M namespaces made
// for it. It measures the time to publish everywhere at the manager's
// client settings, the manager's write requests at steady state while
// namespace events make the issuer reconcile again (goal 0), its write
// requests and the bundles' modifications per namespace on a rotation
// (goal 1), and the manager's memory before and after (what it caches for
// the bundles: their slimmed copies, and namespace metadata).

const (
	trustIssuer = "bench-trust"
	trustBundle = "bench-trust-bundle"
)

// scaleTrust is what trust publication into many namespaces cost.
type scaleTrust struct {
	// Namespaces the bundle went to: the M made for it and every other
	// namespace of the stack.
	Namespaces     int     `json:"namespaces"`
	PublishSeconds float64 `json:"publishSeconds"`
	// SteadyWrites: the manager's write requests (POST, PATCH, DELETE) in
	// the steady window, while SteadyReconciles namespace label changes
	// made the issuer reconcile.
	SteadyWrites     float64 `json:"steadyWrites"`
	SteadyReconciles int     `json:"steadyReconciles"`
	// RotationSeconds: rotate-now until every bundle holds both roots.
	RotationSeconds float64 `json:"rotationSeconds"`
	// RotationWritesPerNamespace: the manager's write requests during the
	// rotation per namespace (its own status, Secrets and Events
	// included); RotationModificationsPerNamespace: bundle modifications a
	// watch saw per namespace.
	RotationWritesPerNamespace        float64 `json:"rotationWritesPerNamespace"`
	RotationModificationsPerNamespace float64 `json:"rotationModificationsPerNamespace"`
	RSSBeforeMiB                      float64 `json:"rssBeforeMiB"`
	RSSAfterMiB                       float64 `json:"rssAfterMiB"`
	HeapBeforeMiB                     float64 `json:"heapBeforeMiB"`
	HeapAfterMiB                      float64 `json:"heapAfterMiB"`
}

// writes is the manager's write requests (POST, PATCH, DELETE) so far.
// Its leader election renews the Lease with PUT, which is left out.
func (h *benchHarness) writes() float64 {
	m := h.managerRequests()
	return m["POST"] + m["PATCH"] + m["DELETE"]
}

func (h *benchHarness) scaleTrust(ctx context.Context, m int) (*scaleTrust, error) {
	harness.Logf("trust: making %d namespaces", m)
	if err := harness.Parallel(ctx, h.c.Workers, m, func(ctx context.Context, i int) error {
		return h.Namespace(ctx, fmt.Sprintf("bench-trust-%d", i))
	}); err != nil {
		return nil, err
	}
	tr := &scaleTrust{}
	rss, heap, _, err := h.managerAtRest(ctx)
	if err != nil {
		return nil, err
	}
	tr.RSSBeforeMiB, tr.HeapBeforeMiB = mib(rss), mib(heap)
	var nsList corev1.NamespaceList
	if err := h.Client.List(ctx, &nsList); err != nil {
		return nil, err
	}
	tr.Namespaces = len(nsList.Items)

	// Bundle modifications by namespace, from a watch of every bundle.
	mods := &modWatch{}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := mods.start(wctx, h.Client, &corev1.ConfigMapList{}, client.MatchingFields{"metadata.name": trustBundle}); err != nil {
		return nil, err
	}

	start := time.Now()
	if err := h.Client.Create(ctx, &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: trustIssuer},
		Spec: v1alpha1.IssuerSpec{CA: v1alpha1.CASpec{
			SecretName:  trustIssuer + "-ca",
			Generate:    &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "bench trust CA"}},
			Rotation:    &v1alpha1.CARotation{PropagationDelay: &metav1.Duration{}},
			TrustBundle: &v1alpha1.TrustBundle{ConfigMap: &v1alpha1.ConfigMapBundle{Name: trustBundle, NamespaceSelector: &metav1.LabelSelector{}}},
		}},
	}); err != nil {
		return nil, err
	}
	if err := h.waitBundles(ctx, tr.Namespaces, 1); err != nil {
		return nil, fmt.Errorf("publishing into %d namespaces: %w", tr.Namespaces, err)
	}
	tr.PublishSeconds = time.Since(start).Seconds()
	harness.Logf("trust: bundle in %d namespaces after %.1f s", tr.Namespaces, tr.PublishSeconds)

	// Steady state: namespace label changes make the issuer reconcile.
	time.Sleep(5 * time.Second)
	before := h.writes()
	tr.SteadyReconciles = 3
	for i := range tr.SteadyReconciles {
		patch := fmt.Sprintf(`{"metadata":{"labels":{"bench.nstance.dev/poke":"%d"}}}`, i)
		if err := h.Client.Patch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bench-trust-0"}}, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
			return nil, err
		}
		time.Sleep(2 * time.Second)
	}
	time.Sleep(3 * time.Second)
	tr.SteadyWrites = h.writes() - before
	harness.Logf("trust: %v manager writes at steady state over %d reconciles", tr.SteadyWrites, tr.SteadyReconciles)

	// A rotation: every bundle gets the next root, once.
	mods.reset()
	before = h.writes()
	start = time.Now()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"bench"}}}`, v1alpha1.RotateNowAnnotation)
	if err := h.Client.Patch(ctx, &v1alpha1.NstanceClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: trustIssuer}}, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		return nil, err
	}
	if err := h.waitBundles(ctx, tr.Namespaces, 2); err != nil {
		return nil, fmt.Errorf("rotation: %w", err)
	}
	tr.RotationSeconds = time.Since(start).Seconds()
	time.Sleep(5 * time.Second)
	tr.RotationWritesPerNamespace, _ = report.PerItem(before, h.writes(), tr.Namespaces)
	tr.RotationModificationsPerNamespace = float64(mods.total()) / float64(tr.Namespaces)
	rss, heap, _, err = h.managerAtRest(ctx)
	if err != nil {
		return nil, err
	}
	tr.RSSAfterMiB, tr.HeapAfterMiB = mib(rss), mib(heap)
	harness.Logf("trust: rotation in %.1f s, %.3f manager writes and %.3f bundle modifications per namespace", tr.RotationSeconds, tr.RotationWritesPerNamespace, tr.RotationModificationsPerNamespace)
	return tr, nil
}

// waitBundles waits until want namespaces hold the bundle with roots
// certificates.
func (h *benchHarness) waitBundles(ctx context.Context, want, roots int) error {
	deadline := time.Now().Add(h.c.timeout)
	have := 0
	for time.Now().Before(deadline) {
		var list corev1.ConfigMapList
		if err := h.Client.List(ctx, &list, client.MatchingFields{"metadata.name": trustBundle}); err == nil {
			have = 0
			for _, cm := range list.Items {
				if strings.Count(cm.Data["ca.crt"], "BEGIN CERTIFICATE") == roots {
					have++
				}
			}
			if have >= want {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return fmt.Errorf("timed out after %s: %d of %d namespaces hold %d roots", h.c.timeout, have, want, roots)
}

// modWatch counts the modifications a watch sees, by namespace/name.
type modWatch struct {
	mu       sync.Mutex
	modified map[string]int
}

// start watches list (with opts) until ctx ends.
func (b *modWatch) start(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
	b.reset()
	w, err := c.Watch(ctx, list, opts...)
	if err != nil {
		return err
	}
	go func() {
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.ResultChan():
				if !ok {
					return
				}
				if ev.Type != watch.Modified {
					continue
				}
				if o, ok := ev.Object.(client.Object); ok {
					b.mu.Lock()
					b.modified[o.GetNamespace()+"/"+o.GetName()]++
					b.mu.Unlock()
				}
			}
		}
	}()
	return nil
}

func (b *modWatch) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.modified = map[string]int{}
}

// total is the modifications seen, but those of the objects in skip.
func (b *modWatch) total(skip ...string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for k, v := range b.modified {
		if !slices.Contains(skip, k) {
			n += v
		}
	}
	return n
}

// report prints trust publication's figures.
func (tr *scaleTrust) report(r *results) {
	at := fmt.Sprintf("scale trust into %d namespaces: ", tr.Namespaces)
	r.add(at+"bundle published everywhere", tr.PublishSeconds, "s", "", 0, "", "")
	r.add(at+"manager writes at steady state", tr.SteadyWrites, "req", "", 0, "", fmt.Sprintf("%d reconciles; goal 0", tr.SteadyReconciles))
	r.add(at+"rotation: every bundle holds both roots", tr.RotationSeconds, "s", "", 0, "", "")
	r.add(at+"rotation: bundle modifications per namespace", tr.RotationModificationsPerNamespace, "", "one", 1, "ratio <= 1", "")
	r.add(at+"rotation: manager writes per namespace", tr.RotationWritesPerNamespace, "req", "", 0, "", "with the issuer's status, Secrets and Events")
	r.add(at+"manager RSS after", tr.RSSAfterMiB, "MiB", "before the issuer", tr.RSSBeforeMiB, "", "")
	r.add(at+"manager Go live heap after", tr.HeapAfterMiB, "MiB", "before the issuer", tr.HeapBeforeMiB, "", "")
	if kib, ok := report.PerItem(tr.HeapBeforeMiB*1024, tr.HeapAfterMiB*1024, tr.Namespaces); ok {
		r.add(at+"manager Go live heap per namespace", kib, "KiB", "", 0, "", "")
	}
}
