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

package casecret

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
)

// startedWatcher is a Watcher on a fake clock, started until the
// test ends. It never watches a Secret (that needs an API server: see the
// integration tests); these tests cover its timers and delivery.
func startedWatcher(t *testing.T) (*Watcher, *clocktesting.FakeClock) {
	t.Helper()
	clk := clocktesting.NewFakeClock(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	w := NewWatcher(nil)
	w.Clock = clk
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-w.started
	return w, clk
}

// receive waits up to a second for an event; none is reported as nil.
func receive(ch <-chan event.GenericEvent, within time.Duration) *event.GenericEvent {
	select {
	case ev := <-ch:
		return &ev
	case <-time.After(within):
		return nil
	}
}

var watchedIssuer = issuer.Ref{Kind: issuer.KindIssuer, NamespacedName: types.NamespacedName{Namespace: "team-a", Name: "web"}}

func TestSecretWatcherGetWaitsForStart(t *testing.T) {
	t.Parallel()
	w := NewWatcher(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := w.Get(ctx, watchedIssuer, types.NamespacedName{Namespace: "team-a", Name: "ca"})
	if err == nil || !strings.Contains(err.Error(), "waiting for the CA Secret watcher to start") {
		t.Fatalf("Get before Start = %v, want it to wait for Start until its context ends", err)
	}
}

func TestSecretWatcherTimerFiresAtItsTimeNotBefore(t *testing.T) {
	t.Parallel()
	w, clk := startedWatcher(t)
	w.NotifyAt(watchedIssuer, clk.Now().Add(time.Hour))
	clk.Step(59 * time.Minute)
	if ev := receive(w.Events(issuer.KindIssuer), 100*time.Millisecond); ev != nil {
		t.Fatalf("notified %s before its time", ev.Object.GetName())
	}
	clk.Step(2 * time.Minute)
	ev := receive(w.Events(issuer.KindIssuer), time.Second)
	if ev == nil || ev.Object.GetName() != "web" || ev.Object.GetNamespace() != "team-a" {
		t.Fatalf("event = %v, want team-a/web once its timer fired", ev)
	}
}

func TestSecretWatcherForgetStopsTimers(t *testing.T) {
	t.Parallel()
	w, clk := startedWatcher(t)
	w.NotifyAt(watchedIssuer, clk.Now().Add(time.Minute))
	w.Forget(watchedIssuer)
	clk.Step(time.Hour)
	if ev := receive(w.Events(issuer.KindIssuer), 100*time.Millisecond); ev != nil {
		t.Fatalf("a forgotten issuer was notified")
	}
}

func TestSecretWatcherALaterTimerReplacesAnEarlierOne(t *testing.T) {
	t.Parallel()
	w, clk := startedWatcher(t)
	w.NotifyAt(watchedIssuer, clk.Now().Add(time.Minute))
	w.NotifyAt(watchedIssuer, clk.Now().Add(time.Hour))
	clk.Step(2 * time.Minute)
	if ev := receive(w.Events(issuer.KindIssuer), 100*time.Millisecond); ev != nil {
		t.Fatalf("the replaced timer fired")
	}
}

func TestSecretWatcherDeliversEverythingPastAFullBuffer(t *testing.T) {
	t.Parallel()
	w, _ := startedWatcher(t)
	const n = 1024 + 10 // the buffer holds 1024
	for range n {
		w.notify(watchedIssuer)
	}
	for i := range n {
		if receive(w.Events(issuer.KindIssuer), time.Second) == nil {
			t.Fatalf("received %d of %d events: a change was dropped", i, n)
		}
	}
}
