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
	"net/http"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// endingServer is an API server whose watches the test ends: it hands out
// fake watchers and records where each watch started and each list.
type endingServer struct {
	client.WithWatch
	mu       sync.Mutex
	watches  []string // the resourceVersion of each watch
	watchers chan *watch.FakeWatcher
	lists    int
	listed   *corev1.ConfigMapList
}

func (s *endingServer) Watch(_ context.Context, _ client.ObjectList, opts ...client.ListOption) (watch.Interface, error) {
	lo := (&client.ListOptions{}).ApplyOptions(opts)
	s.mu.Lock()
	s.watches = append(s.watches, lo.Raw.ResourceVersion)
	s.mu.Unlock()
	w := watch.NewFakeWithChanSize(10, false)
	s.watchers <- w
	return w, nil
}

func (s *endingServer) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists++
	s.listed.DeepCopyInto(list.(*corev1.ConfigMapList))
	return nil
}

func (s *endingServer) seen() ([]string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.watches...), s.lists
}

func configMap(name, rv string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: rv}}
}

// TestWatchResumesFromTheLastVersion: a watch the server ends is watched
// again from the last resourceVersion seen (bookmarks included), without a
// list; only a 410 Gone makes it list, hand the list to Listed and watch
// from the list's version.
func TestWatchResumesFromTheLastVersion(t *testing.T) {
	t.Parallel()
	s := &endingServer{watchers: make(chan *watch.FakeWatcher, 10), listed: &corev1.ConfigMapList{
		ListMeta: metav1.ListMeta{ResourceVersion: "50"}, Items: []corev1.ConfigMap{*configMap("listed", "49")},
	}}
	observed := make(chan string, 10)
	listed := make(chan string, 10)
	ctx := t.Context()
	e := &Env{Client: s}
	err := e.Watch(ctx, "ns", &corev1.ConfigMapList{}, func(o client.Object, _ time.Time) bool {
		observed <- o.GetName()
		return o.GetName() == "last"
	}, WatchOptions{Retry: time.Millisecond, Listed: func(o client.Object, _ time.Time) bool {
		listed <- o.GetName()
		return false
	}})
	if err != nil {
		t.Fatal(err)
	}
	next := func() *watch.FakeWatcher {
		select {
		case w := <-s.watchers:
			return w
		case <-time.After(10 * time.Second):
			t.Fatal("no watch")
			return nil
		}
	}
	recv := func(ch chan string, want string) {
		t.Helper()
		select {
		case got := <-ch:
			if got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("nothing, want %q", want)
		}
	}

	w := next()
	w.Add(configMap("a", "10"))
	recv(observed, "a")
	w.Action(watch.Bookmark, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "12"}})
	w.Stop() // the server ends the watch
	w = next()
	w.Modify(configMap("a", "13"))
	recv(observed, "a")
	if watches, lists := s.seen(); len(watches) != 2 || watches[0] != "" || watches[1] != "12" || lists != 0 {
		t.Fatalf("watches from %q and %d lists; want from \"\" then the bookmark's 12, no list", watches, lists)
	}

	// Too old: list, hand the list to Listed, watch from the list's version.
	w.Error(&metav1.Status{Status: metav1.StatusFailure, Code: http.StatusGone, Reason: metav1.StatusReasonExpired, Message: "too old resource version: 13"})
	w = next()
	recv(listed, "listed")
	if watches, lists := s.seen(); len(watches) != 3 || watches[2] != "50" || lists != 1 {
		t.Fatalf("watches from %q and %d lists; want the third from the list's 50 after one list", watches, lists)
	}
	w.Add(configMap("last", "51"))
	recv(observed, "last")
}
