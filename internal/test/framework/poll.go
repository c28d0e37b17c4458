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

// Package framework is what the integration tests, the e2e suite, the local
// stack's tests and the demo share: one way to poll (Eventually and
// Consistently, with a stated timeout and interval), the Ready waits for
// issuers, CertificateRequests, Certificates and Kubernetes CSRs, reading
// and verifying an issued Secret, reading sample manifests, and running a
// manager in the background. The API server itself is started by
// internal/test/apiserver.
//
// Everything returns an error rather than failing a test, so that the demo
// (a plain program) uses the same code; tests turn the error into a failure
// with a one-line adapter (t.Fatal, or gomega's Expect(err).To(Succeed())).
// CSRs and chain checks themselves live in internal/test/testpki.
package framework

import (
	"context"
	"errors"
	"fmt"
	"time"
)

const (
	// Timeout is how long Eventually waits: generous enough for cert-manager's
	// controllers on a busy two-core machine, the e2e suite's budget.
	Timeout = 90 * time.Second
	// Interval is how often Eventually and Consistently poll.
	Interval = 200 * time.Millisecond
	// Window is how long a negative assertion ("not signed before
	// approval") watches with Consistently: many reconciles' worth on the
	// local stack, where a request is signed in tens of milliseconds.
	Window = 2 * time.Second
)

// Condition reports nil when what is awaited holds, or an error saying
// what it saw instead. Wrap the error with Stop when waiting longer
// cannot help (a request that failed for good).
type Condition func(ctx context.Context) error

type stopError struct{ err error }

func (e stopError) Error() string { return e.err.Error() }
func (e stopError) Unwrap() error { return e.err }

// Stop marks a Condition's error as final: Eventually returns it at once.
func Stop(err error) error { return stopError{err} }

// Eventually polls cond every Interval until it returns nil, for at most
// Timeout or until ctx ends, and then returns an error naming what and
// cond's last answer.
func Eventually(ctx context.Context, what string, cond Condition) error {
	return EventuallyWithin(ctx, Timeout, what, cond)
}

// EventuallyWithin is Eventually with another timeout, for what takes
// longer by design (a renewal).
func EventuallyWithin(ctx context.Context, timeout time.Duration, what string, cond Condition) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(Interval)
	defer tick.Stop()
	for {
		err := cond(ctx)
		if err == nil {
			return nil
		}
		if stop, ok := errors.AsType[stopError](err); ok {
			return fmt.Errorf("waiting for %s: %w", what, stop.err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: gave up after %s: %w", what, timeout, err)
		case <-tick.C:
		}
	}
}

// Consistently polls cond every Interval for window and returns the first
// error it reports, naming what; nil means cond held the whole window.
func Consistently(ctx context.Context, window time.Duration, what string, cond Condition) error {
	end := time.Now().Add(window)
	tick := time.NewTicker(Interval)
	defer tick.Stop()
	for {
		if err := cond(ctx); err != nil {
			return fmt.Errorf("%s did not hold for %s: %w", what, window, err)
		}
		if !time.Now().Before(end) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, context.Cause(ctx))
		case <-tick.C:
		}
	}
}
