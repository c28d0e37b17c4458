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

package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/app"
	"github.com/nstance-dev/nstance-issuer/internal/localstack"
	"github.com/nstance-dev/nstance-issuer/internal/testpki"
)

// The harness's set-up, shared by every phase on the stack: the CA Secret
// and the two issuers holding it, the harness's own client, and helpers
// that create approved CertificateRequests on a pool of workers.

const (
	caSecret      = "bench-ca"
	nstanceIssuer = "bench-nstance"
	cmCAIssuer    = "bench-ca"
)

// issuerUnderTest is one of the two issuers compared, holding the same CA.
type issuerUnderTest struct {
	label string
	ref   cmmeta.IssuerReference
}

var (
	nstance = issuerUnderTest{"nstance", cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "NstanceClusterIssuer", Name: nstanceIssuer}}
	caIss   = issuerUnderTest{"ca-issuer", cmmeta.IssuerReference{Group: "cert-manager.io", Kind: cmapi.ClusterIssuerKind, Name: cmCAIssuer}}
)

type harness struct {
	c     *config
	stack *localstack.Stack
	// cl is the harness's own client: no client-side rate limit, so that
	// creating objects never paces the issuers it measures.
	cl   client.WithWatch
	ca   *testpki.CA
	csrs [][]byte
}

func newHarness(ctx context.Context, c *config, stack *localstack.Stack) (*harness, error) {
	h := &harness{c: c, stack: stack}
	var err error
	if h.cl, err = newClient(stack.Config, -1, 0); err != nil {
		return nil, err
	}
	if h.ca, err = testpki.NewValidRootCA("nstance-bench CA"); err != nil {
		return nil, err
	}
	logf("generating %d ECDSA P-256 CSRs", c.n)
	for i := range c.n {
		csr, err := testpki.CSR(fmt.Sprintf("svc-%d.example.com", i), fmt.Sprintf("svc-%d.example.com", i))
		if err != nil {
			return nil, err
		}
		h.csrs = append(h.csrs, csr)
	}
	// One CA Secret, used by both issuers.
	if err := h.cl.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: localstack.ClusterResourceNamespace, Name: caSecret},
		Type:       corev1.SecretTypeTLS,
		Data:       h.ca.SecretData(),
	}); err != nil {
		return nil, err
	}
	if err := h.cl.Create(ctx, &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: nstanceIssuer},
		Spec: v1alpha1.IssuerSpec{
			CA:              v1alpha1.CASpec{SecretName: caSecret},
			DefaultTemplate: "web",
			Templates: []v1alpha1.CertificateTemplate{{
				Name: "web", Kind: v1alpha1.ServerKind, TTL: 2160,
				AllowedDNSNames: []string{"*.example.com"},
			}},
		},
	}); err != nil {
		return nil, err
	}
	if err := h.cl.Create(ctx, &cmapi.ClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: cmCAIssuer},
		Spec:       cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{CA: &cmapi.CAIssuer{SecretName: caSecret}}},
	}); err != nil {
		return nil, err
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var n v1alpha1.NstanceClusterIssuer
		var ci cmapi.ClusterIssuer
		if err := h.cl.Get(ctx, client.ObjectKey{Name: nstanceIssuer}, &n); err != nil {
			return false, err
		}
		if err := h.cl.Get(ctx, client.ObjectKey{Name: cmCAIssuer}, &ci); err != nil {
			return false, err
		}
		ready := meta.IsStatusConditionTrue(n.Status.Conditions, "Ready")
		for _, c := range ci.Status.Conditions {
			if c.Type == cmapi.IssuerConditionReady && c.Status == cmmeta.ConditionTrue {
				return ready, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("issuers not Ready: %w", err)
	}
	return h, nil
}

// newClient is a client from the admin config; qps < 0 disables the
// client-side rate limiter.
func newClient(cfg *rest.Config, qps float32, burst int) (client.WithWatch, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = qps, burst
	scheme, err := app.NewScheme()
	if err != nil {
		return nil, err
	}
	return client.NewWithWatch(cfg, client.Options{Scheme: scheme})
}

func (h *harness) namespace(ctx context.Context, name string) error {
	err := h.cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// parallel runs f(0..n-1) on the harness's workers and returns the first error.
func parallel(ctx context.Context, workers, n int, f func(ctx context.Context, i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(ctx, i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// createApproved creates a CertificateRequest for csr and approves it at once
// through the status subresource. cert-manager's approver, which runs on
// this stack, may approve it first: then the update conflicts and is
// dropped. Either way the clock starts when a watch sees it approved.
func (h *harness) createApproved(ctx context.Context, ns, name string, csr []byte, ref cmmeta.IssuerReference) error {
	cr := &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: cmapi.CertificateRequestSpec{
			Request:   csr,
			IssuerRef: ref,
			Duration:  &metav1.Duration{Duration: 2160 * time.Hour},
			Usages:    []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageKeyEncipherment, cmapi.UsageServerAuth},
		},
	}
	if err := h.cl.Create(ctx, cr); err != nil {
		return fmt.Errorf("creating CertificateRequest %s/%s: %w", ns, name, err)
	}
	cr.Status.Conditions = append(cr.Status.Conditions, cmapi.CertificateRequestCondition{
		Type: cmapi.CertificateRequestConditionApproved, Status: cmmeta.ConditionTrue,
		Reason: "nstance-bench", Message: "approved by the benchmark harness", LastTransitionTime: ptrNow(),
	})
	if err := h.cl.Status().Update(ctx, cr); err != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("approving CertificateRequest %s/%s: %w", ns, name, err)
	}
	return nil
}

func ptrNow() *metav1.Time { t := metav1.Now(); return &t }
