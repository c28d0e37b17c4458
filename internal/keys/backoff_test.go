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
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	b := &Backoff[string]{Initial: time.Second, Max: 5 * time.Second, Now: func() time.Time { return now }}
	throttled := &Error{Reason: ReasonThrottled}

	if d, last := b.Wait("a"); d != 0 || last != nil {
		t.Fatalf("a closed breaker waits %s (%v)", d, last)
	}
	var delays []time.Duration
	for range 5 {
		delays = append(delays, b.Failure("a", throttled))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i := range want {
		if delays[i] != want[i] {
			t.Fatalf("delays %v, want %v (doubling up to Max)", delays, want)
		}
	}
	if d, last := b.Wait("a"); d != 5*time.Second || last != throttled {
		t.Errorf("after failures Wait = %s, %v", d, last)
	}
	if d, _ := b.Wait("b"); d != 0 {
		t.Errorf("another key's failures hold b for %s", d)
	}
	now = now.Add(3 * time.Second)
	if d, _ := b.Wait("a"); d != 2*time.Second {
		t.Errorf("Wait counts down: %s", d)
	}
	now = now.Add(3 * time.Second)
	if d, last := b.Wait("a"); d != 0 || last != nil {
		t.Errorf("past the delay Wait = %s, %v", d, last)
	}
	b.Success("a")
	if d := b.Failure("a", throttled); d != time.Second {
		t.Errorf("a success does not reset the delay: %s", d)
	}
}
