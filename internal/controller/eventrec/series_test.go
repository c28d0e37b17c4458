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
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/types"
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
