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

package harness

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// WatchOptions say how Watch goes on when the server ends a watch.
type WatchOptions struct {
	// Retry is the pause between attempts to watch again.
	Retry time.Duration
	// Log, when set, names every error event and every catch-up with a
	// list (their times are late by the gap).
	Log bool
	// Listed, when set, is called instead of observe with the objects of
	// a catch-up list: what they show happened at some moment in the gap,
	// not at the time of the list, and a caller that times changes must
	// not take the list's time for it.
	Listed func(client.Object, time.Time) bool
}

// Watch calls observe with every object of list's kind in ns as a watch
// sees it, with the moment it saw it, until observe returns true or ctx
// ends. It returns once the first watch is established.
//
// When the server ends the watch (it closes a watcher that falls behind,
// or sends an error, e.g. APF's 429 under load, or the API server is
// away), it watches again from the last resourceVersion it saw, as
// client-go's reflector does, so the events of the gap arrive as events
// (late by the gap). Only when that version is too old (410 Gone), or none
// was seen, does it list to catch up and watch from the list's version.
// Watching again without a version would not do: the server starts such a
// watch with a synthetic ADDED event for every object, each of which the
// caller would take for a change seen now; and listing thousands of
// objects on every end made the harness fall behind again (a Certificate
// watch of the 5,000 re-issue ended every few seconds).
func (e *Env) Watch(ctx context.Context, ns string, list client.ObjectList, observe func(client.Object, time.Time) bool, o WatchOptions) error {
	kind := fmt.Sprintf("%T", list)
	w, err := e.Client.Watch(ctx, list.DeepCopyObject().(client.ObjectList), client.InNamespace(ns), watchFrom(""))
	if err != nil {
		return err
	}
	go func() {
		rv := "" // the last resourceVersion seen: where to watch again from
		for {
			for ev := range w.ResultChan() {
				now := time.Now()
				if ev.Type == watch.Error {
					if apierrors.IsResourceExpired(apierrors.FromObject(ev.Object)) || apierrors.IsGone(apierrors.FromObject(ev.Object)) {
						rv = ""
					}
					if o.Log {
						Logf("watch %s in %s: error event %v; watching again", kind, ns, ev.Object)
					}
					break
				}
				if m, err := meta.Accessor(ev.Object); err == nil && m.GetResourceVersion() != "" {
					rv = m.GetResourceVersion()
				}
				if ev.Type == watch.Bookmark {
					continue
				}
				if obj, ok := ev.Object.(client.Object); ok && observe(obj, now) {
					w.Stop()
					return
				}
			}
			w.Stop()
			for ctx.Err() == nil {
				if rv != "" {
					if w, err = e.Client.Watch(ctx, list.DeepCopyObject().(client.ObjectList), client.InNamespace(ns), watchFrom(rv)); err == nil {
						break
					}
					if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
						rv = ""
					}
					time.Sleep(o.Retry)
					continue
				}
				l := list.DeepCopyObject().(client.ObjectList)
				if err := e.Client.List(ctx, l, client.InNamespace(ns)); err != nil {
					if o.Log {
						Logf("list %s in %s: %v", kind, ns, err)
					}
					time.Sleep(o.Retry)
					continue
				}
				if o.Log {
					Logf("watch %s in %s ended and could not resume; caught up with a list", kind, ns)
				}
				seen := observe
				if o.Listed != nil {
					seen = o.Listed
				}
				done := false
				_ = meta.EachListItem(l, func(item runtime.Object) error {
					if obj, ok := item.(client.Object); ok && !done && seen(obj, time.Now()) {
						done = true
					}
					return nil
				})
				if done {
					return
				}
				rv = l.GetResourceVersion() // then watch from the list
			}
			if ctx.Err() != nil {
				return
			}
			if o.Log {
				Logf("watch %s in %s ended; resumed from resourceVersion %s", kind, ns, rv)
			}
		}
	}()
	return nil
}

// watchFrom asks for a watch from resourceVersion rv ("": from now, with
// the objects that exist as ADDED events) with bookmarks, which keep rv
// fresh while nothing changes.
func watchFrom(rv string) client.ListOption {
	return &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}}
}

// ErrTimeout is what Countdown.Wait returns when the count did not reach
// its target in time.
var ErrTimeout = errors.New("timed out")

// Countdown is done once a count (of objects a watch saw Ready, say)
// reaches its target.
type Countdown struct {
	want int
	once sync.Once
	done chan struct{}
}

// NewCountdown is a Countdown to want.
func NewCountdown(want int) *Countdown { return &Countdown{want: want, done: make(chan struct{})} }

// Reached records the count n and reports whether it reached the target;
// the Countdown is done from the first time it did.
func (c *Countdown) Reached(n int) bool {
	if n < c.want {
		return false
	}
	c.once.Do(func() { close(c.done) })
	return true
}

// Wait waits until the Countdown is done (nil), ctx ends (its error) or
// timeout passed (ErrTimeout).
func (c *Countdown) Wait(ctx context.Context, timeout time.Duration) error {
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(timeout):
		return ErrTimeout
	}
}
