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
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/event"
)

// errKeyPending: the next CA's key is being generated; the issuer is
// reconciled again when it is ready.
var errKeyPending = errors.New("the next CA's key is being generated")

// KeyGenerator makes next CA keys off the rotation workers: an RSA-4096
// key takes seconds of CPU, and a worker held that long would delay every
// other issuer's lifecycle. One key is made at a time (the machine's other
// cores serve signing); each issuer has at most one key in the making, and
// a finished key waits, in memory only, until its issuer takes it. When a
// key is ready the issuer is queued again through Events.
type KeyGenerator struct {
	mu   sync.Mutex
	jobs map[issuerRef]*keyJob
	// slot admits one generation at a time.
	slot chan struct{}
	// events wake the rotation controller of each kind.
	events map[string]chan event.GenericEvent
}

type keyJob struct {
	// want names what the key is for (the generate spec, vars, token): a
	// key made for another spec is not used.
	want string
	done bool
	cert []byte
	key  []byte
	err  error
}

// NewKeyGenerator returns a generator that wakes the rotation controllers
// through Events(kind).
func NewKeyGenerator() *KeyGenerator {
	return &KeyGenerator{
		jobs: map[issuerRef]*keyJob{},
		slot: make(chan struct{}, 1),
		events: map[string]chan event.GenericEvent{
			KindIssuer: make(chan event.GenericEvent, 64), KindClusterIssuer: make(chan event.GenericEvent, 64),
		},
	}
}

// Events is the channel that queues issuers of kind whose key is ready.
func (k *KeyGenerator) Events(kind string) <-chan event.GenericEvent { return k.events[kind] }

// Key returns the key made for ref and want, starting gen in the
// background when none is made or in the making; errKeyPending until it is
// ready. A key made for another want is dropped.
func (k *KeyGenerator) Key(ref issuerRef, want string, gen func() (cert, key []byte, err error)) ([]byte, []byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if j := k.jobs[ref]; j != nil && j.want == want {
		if !j.done {
			return nil, nil, errKeyPending
		}
		return j.cert, j.key, j.err
	}
	j := &keyJob{want: want}
	k.jobs[ref] = j
	go k.run(ref, j, gen)
	return nil, nil, errKeyPending
}

func (k *KeyGenerator) run(ref issuerRef, j *keyJob, gen func() ([]byte, []byte, error)) {
	k.slot <- struct{}{}
	cert, key, err := gen()
	<-k.slot
	k.mu.Lock()
	if k.jobs[ref] != j {
		k.mu.Unlock()
		return // superseded or forgotten meanwhile
	}
	j.cert, j.key, j.err, j.done = cert, key, err, true
	k.mu.Unlock()
	obj := newIssuerObject(ref.Kind)
	obj.SetName(ref.Name)
	obj.SetNamespace(ref.Namespace)
	select {
	case k.events[ref.Kind] <- event.GenericEvent{Object: obj}:
	default: // full: the issuer's own requeue picks the key up
	}
}

// Taken forgets the key of ref once it is in a Secret (or the issuer is
// gone): a key is used at most once.
func (k *KeyGenerator) Taken(ref issuerRef) {
	k.mu.Lock()
	delete(k.jobs, ref)
	k.mu.Unlock()
}
