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

package controller

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// The KeyGenerator answers at once (errKeyPending) while a key is made in
// the background, wakes the issuer's kind when it is ready, hands the same
// key out until it is taken, makes one key at a time, and drops a key made
// for a spec no longer asked for.
func TestKeyGenerator(t *testing.T) {
	t.Parallel()
	k := NewKeyGenerator()
	a := issuerRef{Kind: KindIssuer, NamespacedName: types.NamespacedName{Namespace: "team-a", Name: "web"}}
	b := issuerRef{Kind: KindClusterIssuer, NamespacedName: types.NamespacedName{Name: "cluster"}}
	release := make(chan struct{})
	var running, most, made atomic.Int32
	gen := func(name string) func() ([]byte, []byte, error) {
		return func() ([]byte, []byte, error) {
			n := running.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			<-release
			running.Add(-1)
			made.Add(1)
			return []byte("cert-" + name), []byte("key-" + name), nil
		}
	}
	if _, _, err := k.Key(a, "spec-1", gen("a1")); !errors.Is(err, errKeyPending) {
		t.Fatalf("first ask: %v, want errKeyPending", err)
	}
	if _, _, err := k.Key(a, "spec-1", gen("a1-again")); !errors.Is(err, errKeyPending) {
		t.Fatalf("second ask while in the making: %v", err)
	}
	if _, _, err := k.Key(b, "spec-b", gen("b")); !errors.Is(err, errKeyPending) {
		t.Fatalf("other issuer: %v", err)
	}
	close(release)
	wake := func(kind, name string) {
		t.Helper()
		select {
		case e := <-k.Events(kind):
			if e.Object.GetName() != name {
				t.Fatalf("woke %s, want %s", e.Object.GetName(), name)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no wake-up for %s", name)
		}
	}
	wake(KindIssuer, "web")
	wake(KindClusterIssuer, "cluster")
	cert, key, err := k.Key(a, "spec-1", gen("never"))
	if err != nil || string(cert) != "cert-a1" || string(key) != "key-a1" {
		t.Fatalf("ready key: %q %q %v", cert, key, err)
	}
	if most.Load() != 1 || made.Load() != 2 {
		t.Errorf("%d at once at most, %d made; want 1 and 2 (one job per issuer, one at a time)", most.Load(), made.Load())
	}
	// A key for another spec replaces it: never the old key for the new spec.
	if _, _, err := k.Key(a, "spec-2", gen("a2")); !errors.Is(err, errKeyPending) {
		t.Fatalf("another spec: %v", err)
	}
	wake(KindIssuer, "web")
	if cert, _, _ := k.Key(a, "spec-2", nil); string(cert) != "cert-a2" {
		t.Fatalf("key for spec-2: %q", cert)
	}
	k.Taken(a)
	if _, _, err := k.Key(a, "spec-2", gen("a3")); !errors.Is(err, errKeyPending) {
		t.Fatalf("after Taken a key is made anew: %v", err)
	}
}
