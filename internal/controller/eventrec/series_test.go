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
	"fmt"
	goruntime "runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record/util"
)

func event(object, reason string) *eventsv1.Event {
	return &eventsv1.Event{
		Type: corev1.EventTypeNormal, Reason: reason, Action: "Sign", ReportingController: "c", ReportingInstance: "c-h",
		Regarding: corev1.ObjectReference{Kind: "CertificateRequest", Namespace: "ns", Name: object, UID: types.UID("u-" + object)},
		Note:      "note of " + object,
	}
}

func counts(writes []*eventsv1.Event) string {
	s := ""
	for _, w := range writes {
		c := int32(1)
		if w.Series != nil {
			c = w.Series.Count
		}
		s += fmt.Sprintf("%s:%d ", w.Regarding.Name, c)
	}
	return s
}

func TestSeriesCache(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	type step struct {
		at     time.Duration
		object string // "" sweeps
		writes string
		held   int
	}
	for _, tc := range []struct {
		name  string
		max   int
		steps []step
	}{
		{"a new Event is written and held", 2, []step{{0, "a", "a:1 ", 1}}},
		{"a repeated Event is written as a series of 2, later repeats are only counted", 2, []step{
			{0, "a", "a:1 ", 1}, {time.Second, "a", "a:2 ", 1}, {2 * time.Second, "a", "", 1}}},
		{"a full cache lets the least recently observed Event go", 2, []step{
			{0, "a", "a:1 ", 1}, {0, "b", "b:1 ", 2}, {0, "a", "a:2 ", 2}, {0, "c", "c:1 ", 2}, {0, "b", "b:1 ", 2}}},
		{"a series pushed out of a full cache has its last count written", 2, []step{
			{0, "a", "a:1 ", 1}, {0, "a", "a:2 ", 1}, {0, "a", "", 1}, {0, "b", "b:1 ", 2}, {0, "c", "a:3 c:1 ", 2}}},
		{"a singleton not observed for 6 minutes is forgotten at the sweep", 2, []step{
			{0, "a", "a:1 ", 1}, {5 * time.Minute, "", "", 1}, {6 * time.Minute, "", "", 0}, {6 * time.Minute, "a", "a:1 ", 1}}},
		{"a finished series has its last count written at the sweep", 2, []step{
			{0, "a", "a:1 ", 1}, {0, "a", "a:2 ", 1}, {time.Minute, "a", "", 1}, {7 * time.Minute, "", "a:3 ", 0}}},
		{"a finished series already written is forgotten without a write", 2, []step{
			{0, "a", "a:1 ", 1}, {0, "a", "a:2 ", 1}, {6 * time.Minute, "", "", 0}}},
		{"a live series is written again after 30 minutes", 2, []step{
			{0, "a", "a:1 ", 1}, {0, "a", "a:2 ", 1}, {25 * time.Minute, "a", "", 1}, {30 * time.Minute, "", "a:3 ", 1}, {30*time.Minute + 30*time.Second, "", "", 1}, {36 * time.Minute, "", "", 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newSeriesCache(tc.max)
			for i, s := range tc.steps {
				var writes []*eventsv1.Event
				if s.object == "" {
					writes = c.sweep(t0.Add(s.at))
				} else {
					writes = c.observe(event(s.object, "CertificateIssued"), t0.Add(s.at))
				}
				if got := counts(writes); got != s.writes || c.len() != s.held {
					t.Errorf("step %d: writes %q, holds %d; want %q, %d", i, got, c.len(), s.writes, s.held)
				}
			}
		})
	}
}

// The note is not part of what makes two Events one series (client-go's
// key): a second CertificateIssued about the same request, with another
// serial, counts into the first's series.
func TestSeriesCacheKeysWithoutTheNote(t *testing.T) {
	t.Parallel()
	c := newSeriesCache(4)
	t0 := time.Now()
	a := event("a", "CertificateIssued")
	b := event("a", "CertificateIssued")
	b.Note = "another serial"
	c.observe(a, t0)
	if w := c.observe(b, t0); len(w) != 1 || w[0].Series == nil || w[0].Note != a.Note {
		t.Errorf("writes %+v, want the first Event as a series of 2", w)
	}
	if w := c.observe(event("a", "LifetimeTruncated"), t0); len(w) != 1 || w[0].Series != nil {
		t.Errorf("another reason: writes %+v, want a new Event", w)
	}
}

// The series key is client-go's: every field of it tells two Events
// apart, none other does, and no related object is the empty one.
func TestSeriesIDIsClientGosKey(t *testing.T) {
	t.Parallel()
	base := func() *eventsv1.Event {
		ev := event("a", "CertificateIssued")
		ev.Related = &corev1.ObjectReference{Kind: "NstanceIssuer", Namespace: "ns", Name: "ca", UID: "u-ca"}
		return ev
	}
	for _, tc := range []struct {
		name   string
		change func(*eventsv1.Event)
		same   bool
	}{
		{"another note", func(e *eventsv1.Event) { e.Note = "another serial" }, true},
		{"another name and time", func(e *eventsv1.Event) { e.Name = "a.123"; e.EventTime.Time = time.Now() }, true},
		{"another type", func(e *eventsv1.Event) { e.Type = corev1.EventTypeWarning }, false},
		{"another action", func(e *eventsv1.Event) { e.Action = "Check" }, false},
		{"another reason", func(e *eventsv1.Event) { e.Reason = "LifetimeTruncated" }, false},
		{"another reporting instance", func(e *eventsv1.Event) { e.ReportingInstance = "c-other" }, false},
		{"another regarding UID", func(e *eventsv1.Event) { e.Regarding.UID = "u-b" }, false},
		{"another regarding namespace", func(e *eventsv1.Event) { e.Regarding.Namespace = "ns2" }, false},
		{"another related object", func(e *eventsv1.Event) { e.Related.Name = "other-ca" }, false},
		{"no related object", func(e *eventsv1.Event) { e.Related = nil }, false},
		// Length-prefixed: moving a character from one field to the next is another key.
		{"fields that concatenate alike", func(e *eventsv1.Event) { e.Regarding.Namespace, e.Regarding.Name = "nsa", "" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev := base()
			tc.change(ev)
			if got := idOf(ev) == idOf(base()); got != tc.same {
				t.Errorf("same series: %t, want %t", got, tc.same)
			}
		})
	}
	noRelated, emptyRelated := event("a", "x"), event("a", "x")
	emptyRelated.Related = &corev1.ObjectReference{}
	if idOf(noRelated) != idOf(emptyRelated) {
		t.Error("no related object and the empty one must be one key, as in client-go")
	}
}

// A series' Event is the first Event as written, with its count: the
// singleton's entry kept its name, note, time and annotations.
func TestSeriesIsTheFirstEventWithItsCount(t *testing.T) {
	t.Parallel()
	c := newSeriesCache(4)
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	first := event("a", "CertificateIssued")
	first.Name, first.EventTime.Time, first.Annotations = "a.1", t0, map[string]string{"k": "v"}
	want := first.DeepCopy()
	c.observe(first, t0)
	repeat := event("a", "CertificateIssued")
	repeat.Name, repeat.EventTime.Time, repeat.Note = "a.2", t0.Add(time.Second), "another serial"
	w := c.observe(repeat, t0.Add(time.Second))
	if len(w) != 1 || w[0].Series == nil {
		t.Fatalf("writes %+v, want the series", w)
	}
	got := w[0].DeepCopy()
	got.Series = nil
	if fmt.Sprintf("%+v", *got) != fmt.Sprintf("%+v", *want) {
		t.Errorf("the series' Event differs from the first:\n got %+v\nwant %+v", *got, *want)
	}
}

// BenchmarkSeriesCacheHeldEvent reports the heap a full series cache
// holds per Event, for CertificateIssued Events as the manager records
// them (every one about its own request: singletons).
func BenchmarkSeriesCacheHeldEvent(b *testing.B) {
	const n = DefaultSeries
	r := New(runtime.NewScheme(), nil, "nstance-issuer", Options{})
	for range b.N {
		var before, after goruntime.MemStats
		goruntime.GC()
		goruntime.ReadMemStats(&before)
		c := newSeriesCache(n)
		now := time.Now()
		for i := range n {
			ev := &eventsv1.Event{
				ObjectMeta: metav1.ObjectMeta{Name: util.GenerateEventName(fmt.Sprintf("web-%d-1", i), now.UnixNano()), Namespace: "team-a"},
				EventTime:  metav1.MicroTime{Time: now}, ReportingController: r.reportingController, ReportingInstance: r.reportingInstance,
				Action: "Sign", Reason: "CertificateIssued", Type: corev1.EventTypeNormal,
				Regarding: corev1.ObjectReference{Kind: "CertificateRequest", Namespace: "team-a", Name: fmt.Sprintf("web-%d-1", i),
					UID: types.UID(fmt.Sprintf("5d0f3c1e-8a2b-4c7d-9e6f-%012d", i)), APIVersion: "cert-manager.io/v1", ResourceVersion: "123456"},
				Related: &corev1.ObjectReference{Kind: "NstanceIssuer", Namespace: "team-a", Name: "ca", UID: "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
					APIVersion: "issuer.nstance.dev/v1alpha1", ResourceVersion: "42"},
				Note: fmt.Sprintf("Issued certificate serial %040x from template web, valid until 2027-03-07T00:00:00Z", i),
			}
			c.observe(ev, now)
		}
		goruntime.GC()
		goruntime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/held-Event")
		goruntime.KeepAlive(c)
	}
}
