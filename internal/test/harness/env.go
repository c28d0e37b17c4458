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

package harness

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
	"github.com/nstance-dev/nstance-issuer/internal/test/localstack"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

// The labels of the two issuers compared, in figures and results files.
const (
	NstanceLabel  = "nstance"
	CAIssuerLabel = "ca-issuer"
)

// Names are the objects a harness sets up, after the harness's name: the
// CA Secret <name>-ca in localstack.ClusterResourceNamespace, the
// NstanceClusterIssuer <name>-nstance and cert-manager's CA ClusterIssuer
// <name>-ca, both holding that CA.
type Names struct {
	Harness  string
	CASecret string
	Nstance  string
	CAIssuer string
}

// NamesFor are the names of harness name's objects.
func NamesFor(name string) Names {
	return Names{Harness: name, CASecret: name + "-ca", Nstance: name + "-nstance", CAIssuer: name + "-ca"}
}

// Issuer is one of the two issuers compared, holding the same CA.
type Issuer struct {
	Label string
	Ref   cmmeta.IssuerReference
}

// Issuers are nstance-issuer's and cert-manager's CA issuer of these names.
func (n Names) Issuers() (nstance, ca Issuer) {
	return Issuer{NstanceLabel, cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "NstanceClusterIssuer", Name: n.Nstance}},
		Issuer{CAIssuerLabel, cmmeta.IssuerReference{Group: "cert-manager.io", Kind: cmapi.ClusterIssuerKind, Name: n.CAIssuer}}
}

// Env is the set-up both harnesses run on a started stack: their own
// client, one CA in a Secret, and nstance-issuer and cert-manager's CA
// issuer holding it.
type Env struct {
	Stack *localstack.Stack
	// Client is the harness's own client: no client-side rate limit, so
	// that creating objects never paces the issuers it measures.
	Client client.WithWatch
	// CA is the CA in the Secret, "nstance-<name> CA".
	CA      *testpki.CA
	Names   Names
	Nstance Issuer
	CAIss   Issuer
}

// NewEnv creates the CA Secret and the two issuers of names on stack and
// waits (up to a minute) until both are Ready.
func NewEnv(ctx context.Context, stack *localstack.Stack, names Names) (*Env, error) {
	e := &Env{Stack: stack, Names: names}
	e.Nstance, e.CAIss = names.Issuers()
	var err error
	if e.Client, err = NewClient(stack.Config, -1, 0); err != nil {
		return nil, err
	}
	if e.CA, err = testpki.NewValidRootCA("nstance-" + names.Harness + " CA"); err != nil {
		return nil, err
	}
	// One CA Secret, used by both issuers.
	if err := e.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: localstack.ClusterResourceNamespace, Name: names.CASecret},
		Type:       corev1.SecretTypeTLS,
		Data:       e.CA.SecretData(),
	}); err != nil {
		return nil, err
	}
	if err := e.Client.Create(ctx, &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: names.Nstance},
		Spec: v1alpha1.IssuerSpec{
			CA:              v1alpha1.CASpec{SecretName: names.CASecret},
			DefaultTemplate: "web",
			Templates: []v1alpha1.CertificateTemplate{{
				Name: "web", Kind: v1alpha1.ServerKind, TTL: 2160,
				AllowedDNSNames: []string{"*.example.com"},
			}},
		},
	}); err != nil {
		return nil, err
	}
	if err := e.Client.Create(ctx, &cmapi.ClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: names.CAIssuer},
		Spec:       cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{CA: &cmapi.CAIssuer{SecretName: names.CASecret}}},
	}); err != nil {
		return nil, err
	}
	if err := e.IssuersReady(ctx, time.Minute); err != nil {
		return nil, err
	}
	return e, nil
}

// IssuersReady waits until both issuers are Ready. A failed read is tried
// again (the fault harness asks while the API server comes back); the
// last one is part of the error when the time runs out.
func (e *Env) IssuersReady(ctx context.Context, timeout time.Duration) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		for _, iss := range []Issuer{e.Nstance, e.CAIss} {
			ready, _, err := e.IssuerState(ctx, iss)
			if err != nil {
				last = err
			}
			if !ready {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil && last != nil {
		return fmt.Errorf("issuers not Ready: %w (last read: %w)", err, last)
	}
	if err != nil {
		return fmt.Errorf("issuers not Ready: %w", err)
	}
	return nil
}

// IssuerState is whether iss is Ready, and its Ready condition's reason
// and message.
func (e *Env) IssuerState(ctx context.Context, iss Issuer) (bool, string, error) {
	if iss.Ref.Kind == "NstanceClusterIssuer" {
		var n v1alpha1.NstanceClusterIssuer
		if err := e.Client.Get(ctx, client.ObjectKey{Name: iss.Ref.Name}, &n); err != nil {
			return false, "", err
		}
		c := meta.FindStatusCondition(n.Status.Conditions, "Ready")
		if c == nil {
			return false, "", nil
		}
		return c.Status == metav1.ConditionTrue, c.Reason + ": " + c.Message, nil
	}
	var ci cmapi.ClusterIssuer
	if err := e.Client.Get(ctx, client.ObjectKey{Name: iss.Ref.Name}, &ci); err != nil {
		return false, "", err
	}
	for _, c := range ci.Status.Conditions {
		if c.Type == cmapi.IssuerConditionReady {
			return c.Status == cmmeta.ConditionTrue, c.Reason + ": " + c.Message, nil
		}
	}
	return false, "", nil
}

// Namespace creates namespace name unless it exists.
func (e *Env) Namespace(ctx context.Context, name string) error {
	err := e.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// NewClient is a client from the admin config; qps < 0 disables the
// client-side rate limiter.
func NewClient(cfg *rest.Config, qps float32, burst int) (client.WithWatch, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = qps, burst
	scheme, err := app.NewScheme()
	if err != nil {
		return nil, err
	}
	return client.NewWithWatch(cfg, client.Options{Scheme: scheme})
}

// Parallel runs f(0..n-1) on workers goroutines and returns the first error.
func Parallel(ctx context.Context, workers, n int, f func(ctx context.Context, i int) error) error {
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

// Certificate is the Certificate both harnesses ask for: an ECDSA P-256
// key, one DNS name, 90 days, its Secret <name>-tls.
func Certificate(ns, name, dnsName string, iss Issuer) *cmapi.Certificate {
	return &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: cmapi.CertificateSpec{
			SecretName: name + "-tls",
			DNSNames:   []string{dnsName},
			Duration:   &metav1.Duration{Duration: 2160 * time.Hour},
			PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256},
			IssuerRef:  iss.Ref,
		},
	}
}
