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

package eventrec

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := cmapi.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func request(i int) *cmapi.CertificateRequest {
	return &cmapi.CertificateRequest{
		TypeMeta:   metav1.TypeMeta{APIVersion: cmapi.SchemeGroupVersion.String(), Kind: cmapi.CertificateRequestKind},
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: fmt.Sprintf("web-%d", i), UID: types.UID(fmt.Sprintf("uid-%d", i)), ResourceVersion: "7"},
	}
}

func issuerObj() *v1alpha1.NstanceIssuer {
	return &v1alpha1.NstanceIssuer{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "NstanceIssuer"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "ca", UID: "issuer-uid"},
	}
}

// started starts r until the test ends.
func started(t *testing.T, r *Recorder) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// waitFor polls cond; the bound is generous, never a timing assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// An Event is written with every field client-go's events recorder (what
// the manager recorded through before) sets: the same Event, bar its
// timestamps and the suffix of its name.
func TestRecorderWritesTheEventClientGoWrote(t *testing.T) {
	t.Parallel()
	scheme := testScheme(t)

	oldClient := fake.NewClientset()
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: oldClient.EventsV1()})
	if err := broadcaster.StartRecordingToSinkWithContext(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer broadcaster.Shutdown()
	newClient := fake.NewClientset()
	r := New(scheme, newClient.EventsV1(), "nstance-issuer", Options{})
	started(t, r)

	for _, rec := range []events.EventRecorder{broadcaster.NewRecorder(scheme, "nstance-issuer"), r} {
		rec.Eventf(request(1), issuerObj(), corev1.EventTypeNormal, v1alpha1.EventReasonCertificateIssued, "Sign",
			"Issued certificate serial %s from template %s", "01:02", "web")
	}
	written := func(c *fake.Clientset) eventsv1.Event {
		var list *eventsv1.EventList
		waitFor(t, "the Event", func() bool {
			var err error
			list, err = c.EventsV1().Events("team-a").List(context.Background(), metav1.ListOptions{})
			return err == nil && len(list.Items) == 1
		})
		return list.Items[0]
	}
	before, after := written(oldClient), written(newClient)
	for _, e := range []*eventsv1.Event{&before, &after} {
		if !strings.HasPrefix(e.Name, "web-1.") || e.EventTime.IsZero() {
			t.Errorf("Event %q at %v: want a name web-1.<time> and a time", e.Name, e.EventTime)
		}
		e.Name, e.EventTime, e.ManagedFields = "", metav1.MicroTime{}, nil
	}
	if fmt.Sprintf("%+v", before) != fmt.Sprintf("%+v", after) {
		t.Errorf("the Event differs from client-go's:\nclient-go: %+v\neventrec:  %+v", before, after)
	}
	if after.Note != "Issued certificate serial 01:02 from template web" || after.Related == nil || after.Related.Name != "ca" ||
		after.Regarding.UID != "uid-1" || after.ReportingController != "nstance-issuer" || !strings.HasPrefix(after.ReportingInstance, "nstance-issuer-") {
		t.Errorf("unexpected Event %+v", after)
	}
}

// 20,000 Events about as many requests (a tenant's burst of
// CertificateIssued) are all written, and the recorder holds no more
// than its series cache's bound: client-go's broadcaster held every one
// for 6 to 12 minutes.
func TestRecorderHoldsABoundedNumberOfEventsWhateverItRecords(t *testing.T) {
	scheme := testScheme(t)
	client := fake.NewClientset()
	var created atomic.Int64
	// Counted, not stored: the fake's tracker would hold them all.
	client.PrependReactor("create", "events", func(a clienttesting.Action) (bool, runtime.Object, error) {
		created.Add(1)
		return true, a.(clienttesting.CreateAction).GetObject(), nil
	})
	r := New(scheme, client.EventsV1(), "nstance-issuer", Options{})
	started(t, r)
	droppedBefore := testutil.ToFloat64(dropped)

	const n, batch = 20000, 500
	for i := 0; i < n; i += batch {
		for j := i; j < i+batch; j++ {
			r.Eventf(request(j), issuerObj(), corev1.EventTypeNormal, v1alpha1.EventReasonCertificateIssued, "Sign",
				"Issued certificate serial %x from template web", j)
		}
		// The queue holds 1,000: let the writers catch up, as the API
		// server does between bursts.
		waitFor(t, "the batch written", func() bool { return created.Load() == int64(i+batch) })
		if held := r.Held(); held > DefaultSeries {
			t.Fatalf("after %d Events the recorder holds %d, more than its bound %d", i+batch, held, DefaultSeries)
		}
	}
	if held := r.Held(); held != DefaultSeries {
		t.Errorf("the recorder holds %d Events, want its bound %d", held, DefaultSeries)
	}
	if d := testutil.ToFloat64(dropped) - droppedBefore; d != 0 {
		t.Errorf("%v Events dropped, want none", d)
	}
}

// When the queue is full Eventf returns at once and the Event is counted
// as dropped: the signing path never waits for an Event. (Each Event in a
// namespace of its own: a namespace may fill only half the queue.)
func TestRecorderDropsAndCountsWhatTheQueueCannotHold(t *testing.T) {
	r := New(testScheme(t), fake.NewClientset().EventsV1(), "nstance-issuer", Options{Queue: 2})
	before := testutil.ToFloat64(dropped)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 5 {
			cr := request(i)
			cr.Namespace = fmt.Sprintf("team-%d", i)
			r.Eventf(cr, nil, corev1.EventTypeNormal, v1alpha1.EventReasonCertificateIssued, "Sign", "issued")
		}
	})
	wg.Wait() // would hang if Eventf blocked on the full queue
	if d := testutil.ToFloat64(dropped) - before; d != 3 {
		t.Errorf("%v Events counted as dropped, want 3", d)
	}
}

// An Event repeated about the same object becomes a series patched with
// its count, as with client-go; its last count is written when it ends.
func TestRecorderWritesARepeatedEventAsASeries(t *testing.T) {
	t.Parallel()
	client := fake.NewClientset()
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC))
	r := New(testScheme(t), client.EventsV1(), "nstance-issuer", Options{Clock: clk})
	started(t, r)
	list := func() []eventsv1.Event {
		l, err := client.EventsV1().Events("ca-ns").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return l.Items
	}
	iss := issuerObj()
	iss.Namespace = "ca-ns"
	record := func() {
		r.Eventf(iss, nil, corev1.EventTypeWarning, v1alpha1.EventReasonCAKeyUnavailable, "Check", "the key is away")
	}
	record()
	waitFor(t, "the Event", func() bool { return len(list()) == 1 })
	record()
	waitFor(t, "the series of 2", func() bool { l := list(); return len(l) == 1 && l[0].Series != nil && l[0].Series.Count == 2 })
	record()
	waitFor(t, "the third Event counted", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		el := r.series.order.Front()
		return el != nil && el.Value.(*seriesEntry).event.Series.Count == 3
	})
	// Written when it ends: not observed again for finishTime.
	waitFor(t, "the final count", func() bool {
		clk.Step(sweepInterval)
		l := list()
		return len(l) == 1 && l[0].Series.Count == 3
	})
	waitFor(t, "the series forgotten", func() bool { return r.Held() == 0 })
}

// One tenant's flood of Events (its requests failing as fast as it can
// make them) while the API server is slow fills at most half the queue:
// another namespace's Event recorded after the flood is still written.
// Before, the flood took every slot and the other tenant's Event was
// dropped.
func TestRecorderKeepsRoomForOtherNamespacesDuringOnesFlood(t *testing.T) {
	client := fake.NewClientset()
	release := make(chan struct{})
	var mu sync.Mutex
	written := map[string]int{}
	// The API server is slow: every write waits until the test releases it.
	client.PrependReactor("create", "events", func(a clienttesting.Action) (bool, runtime.Object, error) {
		<-release
		mu.Lock()
		written[a.GetNamespace()]++
		mu.Unlock()
		return true, a.(clienttesting.CreateAction).GetObject(), nil
	})
	r := New(testScheme(t), client.EventsV1(), "nstance-issuer", Options{Queue: 10, Workers: 1})
	started(t, r)
	before := testutil.ToFloat64(dropped)
	for i := range 100 {
		r.Eventf(request(i), nil, corev1.EventTypeWarning, v1alpha1.EventReasonCertificateIssued, "Sign", "flood %d", i)
	}
	other := request(1000)
	other.Namespace = "team-b"
	r.Eventf(other, nil, corev1.EventTypeNormal, v1alpha1.EventReasonCertificateIssued, "Sign", "issued")
	close(release)
	waitFor(t, "team-b's Event written", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return written["team-b"] == 1
	})
	// team-a: the one the worker took and at most half the queue (5).
	mu.Lock()
	a := written["team-a"]
	mu.Unlock()
	if a > 6 {
		t.Errorf("team-a had %d Events written, more than half the queue and the one in the worker's hands", a)
	}
	if d := testutil.ToFloat64(dropped) - before; d < 94 {
		t.Errorf("%v Events dropped, want team-a's flood beyond half the queue (at least 94)", d)
	}
}
