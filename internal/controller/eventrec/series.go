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
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// seriesID identifies what makes two Events isomorphic (client-go's
// eventKey: type, action, reason, reporting controller and instance, the
// regarding and related objects; not the note): a SHA-256 of those fields,
// each length-prefixed, so that the cache keeps 32 bytes per Event rather
// than the references' strings.
type seriesID [sha256.Size]byte

func idOf(ev *eventsv1.Event) seriesID {
	h := sha256.New()
	field := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		_, _ = io.WriteString(h, s)
	}
	ref := func(r corev1.ObjectReference) {
		for _, s := range []string{r.Kind, r.Namespace, r.Name, string(r.UID), r.APIVersion, r.ResourceVersion, r.FieldPath} {
			field(s)
		}
	}
	for _, s := range []string{ev.Type, ev.Action, ev.Reason, ev.ReportingController, ev.ReportingInstance} {
		field(s)
	}
	ref(ev.Regarding)
	var related corev1.ObjectReference // as client-go: no related object is the empty one
	if ev.Related != nil {
		related = *ev.Related
	}
	ref(related)
	var id seriesID
	h.Sum(id[:0])
	return id
}

// firstWritten is what a singleton keeps of its Event: what its series
// takes from the Event first written (its name, which the series patches,
// note, time and annotations). The rest of a series' Event is the same in
// every Event of the series: what makes them isomorphic.
type firstWritten struct {
	name        string
	note        string
	eventTime   metav1.MicroTime
	annotations map[string]string
}

// seriesEntry is one Event the cache holds: a singleton keeps only first;
// once it repeated, event is the whole Event as first written, with its
// series.
type seriesEntry struct {
	id      seriesID
	first   firstWritten
	event   *eventsv1.Event // nil for a singleton
	seen    time.Time       // last observed
	written time.Time       // last written
	// unwritten: the series counted more than what was last written.
	unwritten bool
}

// seriesCache holds at most max Events, the least recently observed
// leaving first; not safe for concurrent use. Most Events never repeat
// (CertificateIssued is about one request): a singleton costs its entry,
// about 300 bytes, not the Event's 1 to 2 KiB.
type seriesCache struct {
	max     int
	order   *list.List // of *seriesEntry, least recently observed first
	entries map[seriesID]*list.Element
}

func newSeriesCache(maxEntries int) *seriesCache {
	return &seriesCache{max: maxEntries, order: list.New(), entries: map[seriesID]*list.Element{}}
}

func (c *seriesCache) len() int { return c.order.Len() }

// observe counts ev at now and returns the Events to write: ev itself when
// it is new (a singleton), its series with a count of 2 on its first
// repeat (the first Event, rebuilt from ev and what the singleton kept;
// later repeats are counted and written when the series finishes or is
// refreshed), and the last count of a series pushed out of a full cache.
// The cache takes ev: the caller must not change it.
func (c *seriesCache) observe(ev *eventsv1.Event, now time.Time) []*eventsv1.Event {
	id := idOf(ev)
	if el, ok := c.entries[id]; ok {
		e := el.Value.(*seriesEntry)
		c.order.MoveToBack(el)
		e.seen = now
		if e.event != nil {
			e.event.Series.Count++
			e.event.Series.LastObservedTime = metav1.MicroTime{Time: now}
			e.unwritten = true
			return nil
		}
		// ev is isomorphic to the first Event: only what the singleton
		// kept differs.
		ev.Name, ev.Note, ev.EventTime, ev.Annotations = e.first.name, e.first.note, e.first.eventTime, e.first.annotations
		ev.Series = &eventsv1.EventSeries{Count: 2, LastObservedTime: metav1.MicroTime{Time: now}}
		e.event, e.first = ev, firstWritten{}
		e.written = now
		return []*eventsv1.Event{ev.DeepCopy()}
	}
	var writes []*eventsv1.Event
	if c.order.Len() >= c.max {
		if w := c.remove(c.order.Front()); w != nil {
			writes = append(writes, w)
		}
	}
	c.entries[id] = c.order.PushBack(&seriesEntry{id: id, first: firstWritten{name: ev.Name, note: ev.Note, eventTime: ev.EventTime, annotations: ev.Annotations},
		seen: now, written: now})
	return append(writes, ev)
}

// remove takes el out and returns its series to write if it counted more
// than was written.
func (c *seriesCache) remove(el *list.Element) *eventsv1.Event {
	e := c.order.Remove(el).(*seriesEntry)
	delete(c.entries, e.id)
	if e.unwritten {
		return e.event.DeepCopy()
	}
	return nil
}

// sweep removes what was not observed for finishTime (returning the last
// count of series to write) and returns series due a refresh.
func (c *seriesCache) sweep(now time.Time) []*eventsv1.Event {
	var writes []*eventsv1.Event
	for el := c.order.Front(); el != nil; {
		next := el.Next()
		e := el.Value.(*seriesEntry)
		switch {
		case now.Sub(e.seen) >= finishTime:
			if w := c.remove(el); w != nil {
				writes = append(writes, w)
			}
		case e.event != nil && now.Sub(e.written) >= refreshTime:
			e.written = now
			e.unwritten = false
			writes = append(writes, e.event.DeepCopy())
		}
		el = next
	}
	return writes
}
