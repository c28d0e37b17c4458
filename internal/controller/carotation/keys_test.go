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

package carotation

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
)

func nsIssuer(ns, name string) issuer.Ref {
	return issuer.Ref{Kind: issuer.KindIssuer, NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}
}

func waitWake(t *testing.T, k *KeyGenerator, kind, name string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-k.Events(kind):
			if e.Object.GetName() == name {
				return
			}
		case <-deadline:
			t.Fatalf("no wake-up for %s", name)
		}
	}
}

// The KeyGenerator answers at once (errKeyPending) while a key is made in
// the background, wakes the issuer's kind when it is ready, hands the same
// key out until it is taken, makes one key at a time per kind, and drops a
// key made for a spec no longer asked for.
func TestKeyGenerator(t *testing.T) {
	t.Parallel()
	k := NewKeyGenerator(0, nil)
	a := nsIssuer("team-a", "web")
	release := make(chan struct{})
	var running, most atomic.Int32
	gen := func(name string) func() ([]byte, []byte, error) {
		return func() ([]byte, []byte, error) {
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			<-release
			running.Add(-1)
			return []byte("cert-" + name), []byte("key-" + name), nil
		}
	}
	if _, _, err := k.Key(a, "spec-1", gen("a1")); !errors.Is(err, errKeyPending) {
		t.Fatalf("first ask: %v, want errKeyPending", err)
	}
	if _, _, err := k.Key(a, "spec-1", gen("a1-again")); !errors.Is(err, errKeyPending) {
		t.Fatalf("second ask while in the making: %v", err)
	}
	close(release)
	waitWake(t, k, issuer.KindIssuer, "web")
	cert, key, err := k.Key(a, "spec-1", gen("never"))
	if err != nil || string(cert) != "cert-a1" || string(key) != "key-a1" {
		t.Fatalf("ready key: %q %q %v", cert, key, err)
	}
	if most.Load() != 1 {
		t.Errorf("%d keys made at once", most.Load())
	}
	if _, _, err := k.Key(a, "spec-2", gen("a2")); !errors.Is(err, errKeyPending) {
		t.Fatalf("another spec: %v", err)
	}
	waitWake(t, k, issuer.KindIssuer, "web")
	if cert, _, _ := k.Key(a, "spec-2", nil); string(cert) != "cert-a2" {
		t.Fatalf("key for spec-2: %q, never the old key for the new spec", cert)
	}
	k.Taken(a)
	if _, _, err := k.Key(a, "spec-2", gen("a3")); !errors.Is(err, errKeyPending) {
		t.Fatalf("after Taken a key is made anew: %v", err)
	}
}

// A tenant that changes its rotate-now token (or its spec) again and again
// gets one key per interval, its superseded requests are never generated,
// and neither it nor a tenant with many issuers delays a cluster issuer's
// key or another tenant's by more than one key each.
func TestKeyGeneratorBoundsWhatATenantCosts(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var clock sync.Mutex
	k := NewKeyGenerator(10*time.Minute, func() time.Time { clock.Lock(); defer clock.Unlock(); return now })
	block := make(chan struct{})
	var mu sync.Mutex
	var made []string
	gen := func(name string) func() ([]byte, []byte, error) {
		return func() ([]byte, []byte, error) {
			if name == "blocker" {
				<-block
			}
			mu.Lock()
			made = append(made, name)
			mu.Unlock()
			return []byte(name), []byte(name), nil
		}
	}
	// The tenant's worker is busy with one key; meanwhile the tenant asks
	// for 20 other specs, and has 5 more issuers asking.
	tenant := nsIssuer("tenant", "i0")
	if _, _, err := k.Key(tenant, "spec-0", gen("blocker")); !errors.Is(err, errKeyPending) {
		t.Fatal(err)
	}
	for !func() bool { k.mu.Lock(); defer k.mu.Unlock(); return k.jobs[tenant].running }() {
		time.Sleep(time.Millisecond)
	}
	for i := 1; i <= 20; i++ {
		_, _, err := k.Key(tenant, fmt.Sprintf("spec-%d", i), gen(fmt.Sprintf("superseded-%d", i)))
		var limited *keyRateLimitedError
		if !errors.As(err, &limited) || !limited.until.Equal(now.Add(10*time.Minute)) {
			t.Fatalf("spec-%d while the first key is being made: %v, want rate-limited until %s", i, err, now.Add(10*time.Minute))
		}
	}
	for i := 1; i <= 5; i++ {
		if _, _, err := k.Key(nsIssuer("tenant", fmt.Sprintf("i%d", i)), "s", gen(fmt.Sprintf("tenant-i%d", i))); !errors.Is(err, errKeyPending) {
			t.Fatal(err)
		}
	}
	other := nsIssuer("other", "web")
	if _, _, err := k.Key(other, "s", gen("other")); !errors.Is(err, errKeyPending) {
		t.Fatal(err)
	}
	// A cluster issuer has its own worker: its key is made while the
	// tenant's worker is still busy.
	cluster := issuer.Ref{Kind: issuer.KindClusterIssuer, NamespacedName: types.NamespacedName{Name: "cluster"}}
	if _, _, err := k.Key(cluster, "s", gen("cluster")); !errors.Is(err, errKeyPending) {
		t.Fatal(err)
	}
	waitWake(t, k, issuer.KindClusterIssuer, "cluster")
	close(block)
	woken := map[string]bool{}
	for deadline := time.After(10 * time.Second); len(woken) < 7; {
		select {
		case e := <-k.Events(issuer.KindIssuer):
			woken[e.Object.GetName()] = true
		case <-deadline:
			t.Fatalf("woken %v, want 7 issuers", woken)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"cluster", "blocker", "tenant-i1", "other", "tenant-i2", "tenant-i3", "tenant-i4", "tenant-i5"}
	if fmt.Sprint(made) != fmt.Sprint(want) {
		t.Errorf("keys made in order %v, want %v (no superseded key, namespaces in turn)", made, want)
	}
	// After the interval the tenant may start another.
	clock.Lock()
	now = now.Add(10 * time.Minute)
	clock.Unlock()
	if _, _, err := k.Key(tenant, "spec-21", gen("later")); !errors.Is(err, errKeyPending) {
		t.Fatalf("after the interval: %v", err)
	}
}
