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

package bench

import (
	"context"
	"fmt"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
	"github.com/nstance-dev/nstance-issuer/internal/test/localstack"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

// The harness's set-up, shared by every phase on the stack: the CA Secret
// and the two issuers holding it and the harness's own client
// (internal/test/harness), the CSRs its CertificateRequests carry, and a
// helper that creates approved CertificateRequests.

// names are the objects internal/test/harness sets up: the CA Secret
// bench-ca, the NstanceClusterIssuer bench-nstance and the CA
// ClusterIssuer bench-ca.
var names = harness.NamesFor("bench")

// nstance and caIss are the two issuers compared, holding the same CA.
var nstance, caIss = names.Issuers()

type benchHarness struct {
	*harness.Env
	c    *Config
	csrs [][]byte
}

func newHarness(ctx context.Context, c *Config, stack *localstack.Stack) (*benchHarness, error) {
	env, err := harness.NewEnv(ctx, stack, names)
	if err != nil {
		return nil, err
	}
	h := &benchHarness{Env: env, c: c}
	harness.Logf("generating %d ECDSA P-256 CSRs", c.N)
	for i := range c.N {
		csr, err := testpki.CSR(fmt.Sprintf("svc-%d.example.com", i), fmt.Sprintf("svc-%d.example.com", i))
		if err != nil {
			return nil, err
		}
		h.csrs = append(h.csrs, csr)
	}
	return h, nil
}

// createApproved creates a CertificateRequest for csr and approves it at once
// through the status subresource. cert-manager's approver, which runs on
// this stack, may approve it first: then the update conflicts and is
// dropped. Either way the clock starts when a watch sees it approved.
func (h *benchHarness) createApproved(ctx context.Context, ns, name string, csr []byte, ref cmmeta.IssuerReference) error {
	cr := &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: cmapi.CertificateRequestSpec{
			Request:   csr,
			IssuerRef: ref,
			Duration:  &metav1.Duration{Duration: 2160 * time.Hour},
			Usages:    []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageKeyEncipherment, cmapi.UsageServerAuth},
		},
	}
	if err := h.Client.Create(ctx, cr); err != nil {
		return fmt.Errorf("creating CertificateRequest %s/%s: %w", ns, name, err)
	}
	cr.Status.Conditions = append(cr.Status.Conditions, cmapi.CertificateRequestCondition{
		Type: cmapi.CertificateRequestConditionApproved, Status: cmmeta.ConditionTrue,
		Reason: "nstance-bench", Message: "approved by the benchmark harness", LastTransitionTime: ptrNow(),
	})
	if err := h.Client.Status().Update(ctx, cr); err != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("approving CertificateRequest %s/%s: %w", ns, name, err)
	}
	return nil
}

func ptrNow() *metav1.Time { t := metav1.Now(); return &t }
