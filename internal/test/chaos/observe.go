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
	"context"
	"slices"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
)

// observer follows one run's namespace through watches: when each
// Certificate first turned Ready, every CertificateRequest ever created for
// it (deleted ones too), and every distinct certificate each request's
// status ever held. Counting from watches rather than the end state is what
// catches a request signed twice or a Certificate re-issued and cleaned up.
type observer struct {
	mu sync.Mutex
	// ready is when each Certificate was first seen Ready.
	ready map[string]time.Time
	// certFailed holds Certificates whose Issuing condition said Failed.
	certFailed map[string]string
	// crsOf is the set of CertificateRequests seen per Certificate.
	crsOf map[string]map[string]bool
	// certs are the distinct certificates (PEM) seen in each request
	// object's status, by requestKey, in the order they were seen:
	// cert-manager may delete a request and create another with the same
	// name, and two objects each signed once are not one request signed
	// twice.
	certs map[string][][]byte
	// crFailed holds requests seen Failed or Denied, with the message, and
	// failedOwners the Certificates they were for.
	crFailed     map[string]string
	failedOwners map[string]bool
	// signedAt is when each request object (requestKey) was first seen with
	// a certificate (certs[key][0]).
	signedAt map[string]time.Time
	// crSeen is when each request was first seen; doneAt when every
	// Certificate was Ready or failed.
	crSeen   map[string]time.Time
	doneAt   time.Time
	allReady *harness.Countdown
}

// requestKey names one request object: its name and UID.
func requestKey(name string, uid types.UID) string { return name + " (uid " + string(uid) + ")" }

func newObserver(want int) *observer {
	return &observer{
		ready: map[string]time.Time{}, certFailed: map[string]string{}, crsOf: map[string]map[string]bool{},
		certs: map[string][][]byte{}, crFailed: map[string]string{}, failedOwners: map[string]bool{}, signedAt: map[string]time.Time{},
		crSeen: map[string]time.Time{}, allReady: harness.NewCountdown(want),
	}
}

func (o *observer) observe(obj client.Object, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch v := obj.(type) {
	case *cmapi.Certificate:
		for _, c := range v.Status.Conditions {
			if c.Type == cmapi.CertificateConditionReady && c.Status == cmmeta.ConditionTrue {
				if _, seen := o.ready[v.Name]; !seen {
					o.ready[v.Name] = now
				}
			}
			if c.Type == cmapi.CertificateConditionIssuing && c.Status == cmmeta.ConditionFalse && c.Reason == "Failed" {
				o.certFailed[v.Name] = c.Message
			}
		}
	case *cmapi.CertificateRequest:
		owner := v.Annotations[cmapi.CertificateNameKey]
		if owner == "" {
			owner = "(none)"
		}
		if o.crsOf[owner] == nil {
			o.crsOf[owner] = map[string]bool{}
		}
		o.crsOf[owner][v.Name] = true
		if _, ok := o.crSeen[v.Name]; !ok {
			o.crSeen[v.Name] = now
		}
		if len(v.Status.Certificate) > 0 {
			key := requestKey(v.Name, v.UID)
			if _, ok := o.signedAt[key]; !ok {
				o.signedAt[key] = now
			}
			if !slices.ContainsFunc(o.certs[key], func(c []byte) bool { return bytes.Equal(c, v.Status.Certificate) }) {
				o.certs[key] = append(o.certs[key], v.Status.Certificate)
			}
		}
		for _, c := range v.Status.Conditions {
			switch {
			case c.Type == cmapi.CertificateRequestConditionReady && c.Reason == cmapi.CertificateRequestReasonFailed,
				c.Type == cmapi.CertificateRequestConditionDenied && c.Status == cmmeta.ConditionTrue:
				o.crFailed[v.Name] = c.Reason + ": " + c.Message
				o.failedOwners[owner] = true
			}
		}
	}
	o.checkDone(now)
}

// checkDone closes allReady once every Certificate is Ready or has failed
// (cert-manager retries a failed one only after an hour), and notes when,
// by the watch's clock (now, as the other moments it records).
func (o *observer) checkDone(now time.Time) {
	done := len(o.ready)
	for name := range o.failedOwners {
		if _, ok := o.ready[name]; !ok {
			done++
		}
	}
	for name := range o.certFailed {
		if _, ok := o.ready[name]; !ok && !o.failedOwners[name] {
			done++
		}
	}
	if o.allReady.Reached(done) && o.doneAt.IsZero() {
		o.doneAt = now
	}
}

// lastSignedAfter is the first moment after t a request was seen signed,
// or the zero time.
func (o *observer) firstSignedAfter(t time.Time) time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	var first time.Time
	for _, at := range o.signedAt {
		if at.After(t) && (first.IsZero() || at.Before(first)) {
			first = at
		}
	}
	return first
}

func (o *observer) readyCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.ready)
}

// watch keeps obs up to date with every object of list's kind in ns until
// ctx ends. It returns once the first watch is established.
func (h *chaosHarness) watch(ctx context.Context, ns string, list client.ObjectList, obs *observer) error {
	return h.Watch(ctx, ns, list, func(obj client.Object, now time.Time) bool {
		obs.observe(obj, now)
		return false
	}, chaosWatch)
}

// waitReady waits until every Certificate is Ready or failed; it returns
// harness.ErrTimeout when timeout passed first.
func (o *observer) waitReady(ctx context.Context, timeout time.Duration) error {
	return o.allReady.Wait(ctx, timeout)
}
