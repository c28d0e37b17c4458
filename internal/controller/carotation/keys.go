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
	"time"

	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
)

// errKeyPending: the next CA's key is being generated; the issuer is
// reconciled again when it is ready.
var errKeyPending = errors.New("the next CA's key is being generated")

// keyRateLimitedError: the issuer started a key less than MinInterval ago.
type keyRateLimitedError struct{ until time.Time }

func (e *keyRateLimitedError) Error() string {
	return fmt.Sprintf("the issuer generated a CA key less than the minimum interval ago; the next one is made from %s", e.until.UTC().Format(time.RFC3339))
}

// KeyGenerator makes next CA keys off the rotation workers: an RSA-4096
// key takes seconds of CPU, and a worker held that long would delay every
// other issuer's lifecycle. What one tenant can make it do is bounded:
//
//   - each issuer has at most one key queued or in the making; asking for
//     a key for another spec (a new rotate-now token, an edited
//     spec.ca.generate) replaces the queued one, and a key in the making
//     that nobody wants any more is dropped when done;
//   - an issuer starts at most one key per MinInterval (remembered in
//     memory; the generation record in the CA Secret carries it across
//     restarts);
//   - NstanceIssuers (tenants') and NstanceClusterIssuers have a worker
//     each, so tenants never delay a cluster issuer's key, and the
//     NstanceIssuers' queue serves namespaces in turn, so one tenant's
//     issuers never delay another's by more than one key each.
//
// A finished key waits, in memory only, until its issuer takes it; the
// issuer is then queued again through Events(kind).
type KeyGenerator struct {
	// MinInterval is the least time between two keys one issuer starts
	// (0: no bound).
	MinInterval time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time

	mu      sync.Mutex
	jobs    map[issuer.Ref]*keyJob
	started map[issuer.Ref]time.Time
	queues  map[string]*keyQueue
	events  map[string]chan event.GenericEvent
}

type keyJob struct {
	// want names what the key is for (the generate spec, vars, token): a
	// key made for another spec is not used.
	want    string
	gen     func() ([]byte, []byte, error)
	running bool
	done    bool
	cert    []byte
	key     []byte
	err     error
}

// keyQueue is one kind's queue: a FIFO of issuers per namespace, the
// namespaces served in turn.
type keyQueue struct {
	cond  *sync.Cond
	byNS  map[string][]issuer.Ref
	order []string // namespaces with queued issuers, next served first
}

// NewKeyGenerator returns a generator whose workers run until the process
// ends, and that wakes the rotation controllers through Events(kind); now
// is its clock (nil: time.Now).
func NewKeyGenerator(minInterval time.Duration, now func() time.Time) *KeyGenerator {
	k := &KeyGenerator{
		MinInterval: minInterval,
		Now:         now,
		jobs:        map[issuer.Ref]*keyJob{},
		started:     map[issuer.Ref]time.Time{},
		queues:      map[string]*keyQueue{},
		events:      map[string]chan event.GenericEvent{},
	}
	for _, kind := range []string{issuer.KindIssuer, issuer.KindClusterIssuer} {
		q := &keyQueue{cond: sync.NewCond(&k.mu), byNS: map[string][]issuer.Ref{}}
		k.queues[kind] = q
		k.events[kind] = make(chan event.GenericEvent, 64)
		go k.work(kind, q)
	}
	return k
}

func (k *KeyGenerator) now() time.Time {
	if k.Now == nil {
		return time.Now()
	}
	return k.Now()
}

// Events is the channel that queues issuers of kind whose key is ready.
func (k *KeyGenerator) Events(kind string) <-chan event.GenericEvent { return k.events[kind] }

// Key returns the key made for ref and want; until it is ready,
// errKeyPending (gen is queued) or a *keyRateLimitedError (ref started a
// key less than MinInterval ago: nothing is queued).
func (k *KeyGenerator) Key(ref issuer.Ref, want string, gen func() (cert, key []byte, err error)) ([]byte, []byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	j := k.jobs[ref]
	if j != nil && j.want == want {
		if !j.done {
			return nil, nil, errKeyPending
		}
		return j.cert, j.key, j.err
	}
	if j != nil && !j.running && !j.done {
		// Queued for another spec: the same place in the queue, this spec.
		j.want, j.gen = want, gen
		return nil, nil, errKeyPending
	}
	if at, ok := k.started[ref]; ok && k.MinInterval > 0 && k.now().Before(at.Add(k.MinInterval)) {
		return nil, nil, &keyRateLimitedError{until: at.Add(k.MinInterval)}
	}
	k.jobs[ref] = &keyJob{want: want, gen: gen}
	q := k.queues[ref.Kind]
	if len(q.byNS[ref.Namespace]) == 0 {
		q.order = append(q.order, ref.Namespace)
	}
	q.byNS[ref.Namespace] = append(q.byNS[ref.Namespace], ref)
	q.cond.Signal()
	return nil, nil, errKeyPending
}

// work makes the keys of one kind, one at a time.
func (k *KeyGenerator) work(kind string, q *keyQueue) {
	for {
		k.mu.Lock()
		ref, j := k.nextJob(q)
		for j == nil {
			q.cond.Wait()
			ref, j = k.nextJob(q)
		}
		j.running = true
		k.started[ref] = k.now()
		gen := j.gen
		k.mu.Unlock()

		cert, key, err := gen()

		k.mu.Lock()
		current := k.jobs[ref] == j
		if current {
			j.cert, j.key, j.err, j.done = cert, key, err, true
		}
		j.running = false
		k.mu.Unlock()
		if !current {
			continue // superseded or forgotten meanwhile: dropped
		}
		obj := issuer.NewObject(kind)
		obj.SetName(ref.Name)
		obj.SetNamespace(ref.Namespace)
		select {
		case k.events[kind] <- event.GenericEvent{Object: obj}:
		default: // full: the issuer's own requeue picks the key up
		}
	}
}

// nextJob pops the next issuer whose job still waits, serving namespaces
// in turn; nil when none. Called with k.mu held.
func (k *KeyGenerator) nextJob(q *keyQueue) (issuer.Ref, *keyJob) {
	for len(q.order) > 0 {
		ns := q.order[0]
		q.order = q.order[1:]
		refs := q.byNS[ns]
		ref := refs[0]
		if len(refs) > 1 {
			q.byNS[ns] = refs[1:]
			q.order = append(q.order, ns)
		} else {
			delete(q.byNS, ns)
		}
		if j := k.jobs[ref]; j != nil && !j.running && !j.done {
			return ref, j
		}
	}
	return issuer.Ref{}, nil
}

// Taken forgets the key of ref once it is in a Secret: a key is used at
// most once. When ref last started a key is kept.
func (k *KeyGenerator) Taken(ref issuer.Ref) {
	k.mu.Lock()
	delete(k.jobs, ref)
	k.mu.Unlock()
}

// Forget drops everything kept for a deleted issuer.
func (k *KeyGenerator) Forget(ref issuer.Ref) {
	k.mu.Lock()
	delete(k.jobs, ref)
	delete(k.started, ref)
	k.mu.Unlock()
}
