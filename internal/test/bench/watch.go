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
	"errors"
	"fmt"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
)

// Watches that time CertificateRequests (first seen approved, first seen
// Ready); internal/test/harness catches up with a list when the server
// ends a watch.

// benchWatch is how the harness's watches go on when the server ends one:
// again 100 ms later, and saying so.
var benchWatch = harness.WatchOptions{Retry: 100 * time.Millisecond, Log: true}

// crTimes are the first moments a watch saw each CertificateRequest
// approved and Ready (or failed).
type crTimes struct {
	mu       sync.Mutex
	approved map[string]time.Time
	ready    map[string]time.Time
	// listed names the requests whose approval or Ready was first seen in
	// a catch-up list after the server ended a watch: it happened in the
	// gap, and the time beside it is the list's, not the change's.
	listed map[string]bool
	failed map[string]string
	done   *harness.Countdown
	want   int
}

// watchCRs watches CertificateRequests in ns until want of them are Ready
// or failed, or ctx ends. It returns once the watch is established.
func (h *benchHarness) watchCRs(ctx context.Context, ns string, want int) (*crTimes, error) {
	t := &crTimes{approved: map[string]time.Time{}, ready: map[string]time.Time{}, listed: map[string]bool{}, failed: map[string]string{}, done: harness.NewCountdown(want), want: want}
	observer := func(listed bool) func(client.Object, time.Time) bool {
		return func(obj client.Object, now time.Time) bool {
			cr, ok := obj.(*cmapi.CertificateRequest)
			return ok && t.observe(cr, now, listed)
		}
	}
	o := benchWatch
	o.Listed = observer(true)
	err := h.Watch(ctx, ns, &cmapi.CertificateRequestList{}, observer(false), o)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// observe records cr's state, seen at now by a watch or, when listed, by
// a catch-up list; it reports whether every wanted request is done.
func (t *crTimes) observe(cr *cmapi.CertificateRequest, now time.Time, listed bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range cr.Status.Conditions {
		switch {
		case c.Type == cmapi.CertificateRequestConditionApproved && c.Status == cmmeta.ConditionTrue:
			if _, ok := t.approved[cr.Name]; !ok {
				t.approved[cr.Name] = now
				t.markListed(cr.Name, listed)
			}
		case c.Type == cmapi.CertificateRequestConditionReady && c.Status == cmmeta.ConditionTrue:
			if _, ok := t.ready[cr.Name]; !ok {
				t.ready[cr.Name] = now
				t.markListed(cr.Name, listed)
			}
		case c.Type == cmapi.CertificateRequestConditionReady && c.Reason == cmapi.CertificateRequestReasonFailed:
			t.failed[cr.Name] = c.Message
		}
	}
	return t.done.Reached(len(t.ready) + len(t.failed))
}

// markListed records that a time of name was the list's, when it was.
func (t *crTimes) markListed(name string, listed bool) {
	if listed {
		t.listed[name] = true
	}
}

func (t *crTimes) wait(ctx context.Context, timeout time.Duration) error {
	err := t.done.Wait(ctx, timeout)
	t.mu.Lock()
	defer t.mu.Unlock()
	if errors.Is(err, harness.ErrTimeout) {
		return fmt.Errorf("timed out after %s: %d approved, %d Ready, %d failed of %d", timeout, len(t.approved), len(t.ready), len(t.failed), t.want)
	}
	if err != nil {
		return err
	}
	if len(t.failed) > 0 {
		for name, msg := range t.failed {
			return fmt.Errorf("%d requests failed, e.g. %s: %s", len(t.failed), name, msg)
		}
	}
	return nil
}
