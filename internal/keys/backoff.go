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

package keys

import (
	"sync"
	"time"
)

// Default back-off of a key whose backend throttles or fails.
const (
	DefaultBackoffInitial = time.Second
	DefaultBackoffMax     = time.Minute
)

// Backoff is a circuit breaker per key user (an issuer): after a transient
// failure (throttling, an outage) it stays open for a delay that doubles
// with each failure in a row, up to Max, and Wait says how long is left,
// so that a request is put back at once instead of holding a worker that
// other issuers need on a call that would fail. A success closes it.
type Backoff[K comparable] struct {
	// Initial and Max bound the delay (0: the defaults).
	Initial, Max time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time

	mu    sync.Mutex
	state map[K]backoffState
}

type backoffState struct {
	failures int
	until    time.Time
	last     *Error
}

func (b *Backoff[K]) now() time.Time {
	if b.Now == nil {
		return time.Now()
	}
	return b.Now()
}

// Wait returns how long k must still wait and the failure that opened the
// breaker; 0 and nil when it is closed.
func (b *Backoff[K]) Wait(k K) (time.Duration, *Error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.state[k]
	if !ok {
		return 0, nil
	}
	if d := s.until.Sub(b.now()); d > 0 {
		return d, s.last
	}
	return 0, nil
}

// Failure records a transient failure of k and returns the delay before
// k may try again.
func (b *Backoff[K]) Failure(k K, err *Error) time.Duration {
	initial, limit := b.Initial, b.Max
	if initial <= 0 {
		initial = DefaultBackoffInitial
	}
	if limit <= 0 {
		limit = DefaultBackoffMax
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == nil {
		b.state = map[K]backoffState{}
	}
	s := b.state[k]
	d := initial
	for i := 0; i < s.failures && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	s.failures++
	s.until = b.now().Add(d)
	s.last = err
	b.state[k] = s
	return d
}

// Success closes k's breaker.
func (b *Backoff[K]) Success(k K) { b.Forget(k) }

// Forget drops what is kept for k (a deleted issuer).
func (b *Backoff[K]) Forget(k K) {
	b.mu.Lock()
	delete(b.state, k)
	b.mu.Unlock()
}
