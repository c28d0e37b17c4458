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

package framework

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestEventually(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		answers []error // the condition's answers in turn; the last repeats
		wantErr string  // "" for success
		polls   int     // at most
	}{
		{name: "met at once, polled once", answers: []error{nil}, polls: 1},
		{name: "met on the third poll", answers: []error{errors.New("a"), errors.New("b"), nil}, polls: 3},
		{name: "never met, the last answer in the timeout error", answers: []error{errors.New("still pending")}, wantErr: "waiting for it: gave up after 2s: still pending"},
		{name: "a Stop error ends the wait at once", answers: []error{errors.New("a"), Stop(errors.New("failed for good"))}, wantErr: "waiting for it: failed for good", polls: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			polls := 0
			err := EventuallyWithin(t.Context(), 2*time.Second, "it", func(context.Context) error {
				polls++
				return tc.answers[min(polls, len(tc.answers))-1]
			})
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
			if tc.polls > 0 && polls > tc.polls {
				t.Errorf("%d polls, want at most %d", polls, tc.polls)
			}
		})
	}
}

func TestConsistently(t *testing.T) {
	t.Parallel()
	t.Run("holding for the whole window polls it through", func(t *testing.T) {
		t.Parallel()
		began, polls := time.Now(), 0
		err := Consistently(t.Context(), 3*Interval, "it", func(context.Context) error { polls++; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(began); took < 3*Interval {
			t.Errorf("returned after %s, before the window of %s", took, 3*Interval)
		}
		if polls < 3 {
			t.Errorf("%d polls in a window of 3 intervals", polls)
		}
	})
	t.Run("the first failure ends it", func(t *testing.T) {
		t.Parallel()
		polls := 0
		err := Consistently(t.Context(), time.Minute, "nothing signed", func(context.Context) error {
			if polls++; polls == 2 {
				return errors.New("signed")
			}
			return nil
		})
		if err == nil || !strings.Contains(err.Error(), "nothing signed did not hold for 1m0s: signed") || polls != 2 {
			t.Errorf("err = %v after %d polls, want the failure of the second", err, polls)
		}
	})
}
