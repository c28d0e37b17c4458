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

const (
	caSecret      = "chaos-ca"
	nstanceIssuer = "chaos-nstance"
	cmCAIssuer    = "chaos-ca"
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
	// cl is not rate limited, so that the harness never paces the issuers.
	cl client.WithWatch
	ca *testpki.CA
	// faults are the CAs the ca-* scenarios put in the CA Secret.
	faults *faultCAs
	// stackCtx bounds components the harness restarts (cert-manager).
	stackCtx context.Context
	// baseline is each issuer's undisturbed time to all Ready.
	baseline map[string]float64
}

func newHarness(ctx context.Context, c *config, stack *localstack.Stack) (*harness, error) {
	h := &harness{c: c, stack: stack, stackCtx: ctx, baseline: map[string]float64{}}
	cfg := rest.CopyConfig(stack.Config)
	cfg.QPS, cfg.Burst = -1, 0
	scheme, err := app.NewScheme()
	if err != nil {
		return nil, err
	}
	if h.cl, err = client.NewWithWatch(cfg, client.Options{Scheme: scheme}); err != nil {
		return nil, err
	}
	if h.ca, err = testpki.NewValidRootCA("nstance-chaos CA"); err != nil {
		return nil, err
	}
	if h.faults, err = newFaultCAs(); err != nil {
		return nil, err
	}
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
	if err := h.issuersReady(ctx, time.Minute); err != nil {
		return nil, err
	}
	return h, nil
}

// issuersReady waits until both issuers are Ready.
func (h *harness) issuersReady(ctx context.Context, timeout time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		var n v1alpha1.NstanceClusterIssuer
		var ci cmapi.ClusterIssuer
		if err := h.cl.Get(ctx, client.ObjectKey{Name: nstanceIssuer}, &n); err != nil {
			return false, nil
		}
		if err := h.cl.Get(ctx, client.ObjectKey{Name: cmCAIssuer}, &ci); err != nil {
			return false, nil
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
		return fmt.Errorf("issuers not Ready: %w", err)
	}
	return nil
}

// parallel runs f(0..n-1) on workers goroutines and returns the first error.
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

// createCertificates creates Certificates cert-lo .. cert-(hi-1) in ns for
// iss, retrying each create while the API server is unavailable.
func (h *harness) createCertificates(ctx context.Context, ns string, iss issuerUnderTest, lo, hi int) error {
	return parallel(ctx, h.c.workers, hi-lo, func(ctx context.Context, i int) error {
		i += lo
		name := fmt.Sprintf("cert-%d", i)
		cert := &cmapi.Certificate{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: cmapi.CertificateSpec{
				SecretName: name + "-tls",
				DNSNames:   []string{dnsName(ns, i)},
				Duration:   &metav1.Duration{Duration: 2160 * time.Hour},
				PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256},
				IssuerRef:  iss.ref,
			},
		}
		return retry(ctx, func() error { return h.cl.Create(ctx, cert.DeepCopy()) })
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

func (h *harness) namespace(ctx context.Context, name string) error {
	err := h.cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
