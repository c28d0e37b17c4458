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
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// seriesKey is what makes two Events isomorphic (client-go's eventKey):
// the note is not part of it.
type seriesKey struct {
	eventType           string
	action              string
	reason              string
	reportingController string
	reportingInstance   string
	regarding           corev1.ObjectReference
	related             corev1.ObjectReference
}

func keyOf(ev *eventsv1.Event) seriesKey {
	k := seriesKey{
		eventType:           ev.Type,
		action:              ev.Action,
		reason:              ev.Reason,
		reportingController: ev.ReportingController,
		reportingInstance:   ev.ReportingInstance,
		regarding:           ev.Regarding,
	}
	if ev.Related != nil {
		k.related = *ev.Related
	}
	return k
}

// seriesEntry is one Event the cache holds: as first written, with its
// series once it repeated.
type seriesEntry struct {
	key     seriesKey
	event   *eventsv1.Event
	seen    time.Time // last observed
	written time.Time // last written
	// unwritten: the series counted more than what was last written.
	unwritten bool
}

// seriesCache holds at most max Events, the least recently observed
// leaving first; not safe for concurrent use.
type seriesCache struct {
	max     int
	order   *list.List // of *seriesEntry, least recently observed first
	entries map[seriesKey]*list.Element
}

func newSeriesCache(maxEntries int) *seriesCache {
	return &seriesCache{max: maxEntries, order: list.New(), entries: map[seriesKey]*list.Element{}}
}

func (c *seriesCache) len() int { return c.order.Len() }

// observe counts ev at now and returns the Events to write: ev itself when
// it is new (a singleton), its series with a count of 2 on its first
// repeat (later repeats are counted and written when the series finishes
// or is refreshed), and the last count of a series pushed out of a full
// cache.
func (c *seriesCache) observe(ev *eventsv1.Event, now time.Time) []*eventsv1.Event {
	key := keyOf(ev)
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*seriesEntry)
		c.order.MoveToBack(el)
		e.seen = now
		if e.event.Series != nil {
			e.event.Series.Count++
			e.event.Series.LastObservedTime = metav1.MicroTime{Time: now}
			e.unwritten = true
			return nil
		}
		e.event.Series = &eventsv1.EventSeries{Count: 2, LastObservedTime: metav1.MicroTime{Time: now}}
		e.written = now
		return []*eventsv1.Event{e.event.DeepCopy()}
	}
	var writes []*eventsv1.Event
	if c.order.Len() >= c.max {
		if w := c.remove(c.order.Front()); w != nil {
			writes = append(writes, w)
		}
	}
	c.entries[key] = c.order.PushBack(&seriesEntry{key: key, event: ev, seen: now, written: now})
	return append(writes, ev.DeepCopy())
}

// remove takes el out and returns its series to write if it counted more
// than was written.
func (c *seriesCache) remove(el *list.Element) *eventsv1.Event {
	e := c.order.Remove(el).(*seriesEntry)
	delete(c.entries, e.key)
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
		case e.event.Series != nil && now.Sub(e.written) >= refreshTime:
			e.written = now
			e.unwritten = false
			writes = append(writes, e.event.DeepCopy())
		}
		el = next
	}
	return writes
}
