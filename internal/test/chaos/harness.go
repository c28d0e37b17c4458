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

package chaos

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
	"github.com/nstance-dev/nstance-issuer/internal/test/localstack"
)

// names are the objects internal/test/harness sets up: the CA Secret
// chaos-ca, the NstanceClusterIssuer chaos-nstance and the CA
// ClusterIssuer chaos-ca.
var names = harness.NamesFor("chaos")

// nstance and caIss are the two issuers compared, holding the same CA.
var nstance, caIss = names.Issuers()

type chaosHarness struct {
	*harness.Env
	c *Config
	// faults are the CAs the ca-* scenarios put in the CA Secret.
	faults *faultCAs
	// stackCtx bounds components the harness restarts (cert-manager).
	stackCtx context.Context
	// baseline is each issuer's undisturbed time to all Ready.
	baseline map[string]float64
}

func newHarness(ctx context.Context, c *Config, stack *localstack.Stack) (*chaosHarness, error) {
	faults, err := newFaultCAs()
	if err != nil {
		return nil, err
	}
	env, err := harness.NewEnv(ctx, stack, names)
	if err != nil {
		return nil, err
	}
	return &chaosHarness{Env: env, c: c, faults: faults, stackCtx: ctx, baseline: map[string]float64{}}, nil
}

// chaosWatch is how the harness's watches go on when the server ends one
// (as it does while the API server is stopped): again 200 ms later,
// quietly.
var chaosWatch = harness.WatchOptions{Retry: 200 * time.Millisecond}

// createCertificates creates Certificates cert-lo .. cert-(hi-1) in ns for
// iss, retrying each create while the API server is unavailable.
func (h *chaosHarness) createCertificates(ctx context.Context, ns string, iss harness.Issuer, lo, hi int) error {
	return harness.Parallel(ctx, h.c.Workers, hi-lo, func(ctx context.Context, i int) error {
		i += lo
		cert := harness.Certificate(ns, fmt.Sprintf("cert-%d", i), dnsName(ns, i), iss)
		return retry(ctx, func() error { return h.Client.Create(ctx, cert.DeepCopy()) })
	})
}

func dnsName(ns string, i int) string { return fmt.Sprintf("%s-cert-%d.example.com", ns, i) }

// retry calls f until it succeeds, fails with AlreadyExists (a create that
// did happen before an error), or a minute passed.
func retry(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := f()
		if err == nil || apierrors.IsAlreadyExists(err) {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}
