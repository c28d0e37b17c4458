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

package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Watches that time CertificateRequests (first seen approved, first seen
// Ready) and Certificates, catching up with a list when the server ends a
// watch.

// crTimes are the first moments a watch saw each CertificateRequest
// approved and Ready (or failed).
type crTimes struct {
	mu       sync.Mutex
	approved map[string]time.Time
	ready    map[string]time.Time
	failed   map[string]string
	done     chan struct{}
	want     int
}

// watchCRs watches CertificateRequests in ns until want of them are Ready
// or failed, or ctx ends. It returns once the watch is established.
func (h *harness) watchCRs(ctx context.Context, ns string, want int) (*crTimes, error) {
	t := &crTimes{approved: map[string]time.Time{}, ready: map[string]time.Time{}, failed: map[string]string{}, done: make(chan struct{}), want: want}
	err := h.watchLoop(ctx, ns, &cmapi.CertificateRequestList{}, func(obj client.Object, now time.Time) bool {
		cr, ok := obj.(*cmapi.CertificateRequest)
		return ok && t.observe(cr, now)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// observe records cr's state; it reports whether every wanted request is done.
func (t *crTimes) observe(cr *cmapi.CertificateRequest, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range cr.Status.Conditions {
		switch {
		case c.Type == cmapi.CertificateRequestConditionApproved && c.Status == cmmeta.ConditionTrue:
			if _, ok := t.approved[cr.Name]; !ok {
				t.approved[cr.Name] = now
			}
		case c.Type == cmapi.CertificateRequestConditionReady && c.Status == cmmeta.ConditionTrue:
			if _, ok := t.ready[cr.Name]; !ok {
				t.ready[cr.Name] = now
			}
		case c.Type == cmapi.CertificateRequestConditionReady && c.Reason == cmapi.CertificateRequestReasonFailed:
			t.failed[cr.Name] = c.Message
		}
	}
	if len(t.ready)+len(t.failed) >= t.want {
		select {
		case <-t.done:
		default:
			close(t.done)
		}
		return true
	}
	return false
}

func (t *crTimes) wait(ctx context.Context, timeout time.Duration) error {
	select {
	case <-t.done:
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(timeout):
		t.mu.Lock()
		defer t.mu.Unlock()
		return fmt.Errorf("timed out after %s: %d approved, %d Ready, %d failed of %d", timeout, len(t.approved), len(t.ready), len(t.failed), t.want)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.failed) > 0 {
		for name, msg := range t.failed {
			return fmt.Errorf("%d requests failed, e.g. %s: %s", len(t.failed), name, msg)
		}
	}
	return nil
}

// watchLoop calls observe with every object of list's kind in ns as a watch
// sees it, until observe returns true or ctx ends. When the server ends the
// watch (or sends an error, e.g. APF's 429 under load), it lists to catch up
// (those times are late by the gap, which is logged) and watches again. It
// returns once the first watch is established.
func (h *harness) watchLoop(ctx context.Context, ns string, list client.ObjectList, observe func(client.Object, time.Time) bool) error {
	w, err := h.cl.Watch(ctx, list.DeepCopyObject().(client.ObjectList), client.InNamespace(ns))
	if err != nil {
		return err
	}
	go func() {
		for {
			for ev := range w.ResultChan() {
				now := time.Now()
				if ev.Type == watch.Error {
					logf("watch %s in %s: error event %v; watching again", fmt.Sprintf("%T", list), ns, ev.Object)
					break
				}
				if obj, ok := ev.Object.(client.Object); ok && observe(obj, now) {
					w.Stop()
					return
				}
			}
			w.Stop()
			if ctx.Err() != nil {
				return
			}
			for {
				if w, err = h.cl.Watch(ctx, list.DeepCopyObject().(client.ObjectList), client.InNamespace(ns)); err == nil || ctx.Err() != nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if ctx.Err() != nil {
				return
			}
			l := list.DeepCopyObject().(client.ObjectList)
			if err := h.cl.List(ctx, l, client.InNamespace(ns)); err != nil {
				logf("list %T in %s: %v", l, ns, err)
				continue
			}
			logf("watch %T in %s ended; caught up with a list", l, ns)
			done := false
			_ = meta.EachListItem(l, func(o runtime.Object) error {
				if obj, ok := o.(client.Object); ok && !done && observe(obj, time.Now()) {
					done = true
				}
				return nil
			})
			if done {
				w.Stop()
				return
			}
		}
	}()
	return nil
}
