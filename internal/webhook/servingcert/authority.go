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

// Package servingcert keeps the webhook's serving certificate without
// anything else installed: a small CA of the manager's own, kept in a
// Secret in the manager's namespace, signs a serving certificate that
// every replica holds in memory, and its certificate is injected as the
// caBundle of the ValidatingWebhookConfiguration. CAs and serving
// certificates are renewed before they expire, and a new CA signs only
// once it has been trusted (in the caBundle) for a while, so no API
// server ever meets a certificate it does not trust.
package servingcert

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// Defaults of Options.
const (
	DefaultCAValidity       = 365 * 24 * time.Hour
	DefaultLeafValidity     = 7 * 24 * time.Hour
	DefaultPropagationDelay = 10 * time.Minute
	DefaultResync           = time.Minute
)

// Options configure an Authority.
type Options struct {
	// Namespace and SecretName locate the CA Secret: the manager's own
	// namespace, where tenants do not write.
	Namespace, SecretName string
	// DNSNames are the serving certificate's names: the webhook Service's
	// (ServiceDNSNames).
	DNSNames []string
	// WebhookConfiguration is the ValidatingWebhookConfiguration whose
	// webhooks get the CAs as caBundle; empty: inject nothing (a new CA
	// then counts as trusted from its creation).
	WebhookConfiguration string
	// CAValidity and LeafValidity are the lifetimes of a CA and of a
	// serving certificate; each is renewed with a third of it left.
	CAValidity, LeafValidity time.Duration
	// PropagationDelay is how long a new CA is in the caBundle before it
	// signs: longer than every API server takes to see the change.
	PropagationDelay time.Duration
	// Resync is how often the Secret and the caBundle are checked.
	Resync time.Duration
	// Clock is the time source; nil means the real clock.
	Clock clock.PassiveClock
}

// ServiceDNSNames are the names a client may use for Service name in
// namespace.
func ServiceDNSNames(name, namespace string) []string {
	return []string{name + "." + namespace + ".svc", name + "." + namespace + ".svc.cluster.local", name + "." + namespace, name}
}

// Authority keeps the CA Secret, the caBundle and this replica's serving
// certificate. It runs on every replica (the webhook is served by all of
// them); replicas write the Secret with optimistic concurrency, so one CA
// wins and every replica reads it back.
type Authority struct {
	// Reader reads the Secret and the webhook configuration uncached;
	// Writer writes them.
	Reader client.Reader
	Writer client.Writer
	Options

	mu   sync.Mutex
	seen map[string]time.Time // CA fingerprint → first seen in the caBundle
	leaf *tls.Certificate
}

// NeedLeaderElection is false: every replica serves the webhook.
func (a *Authority) NeedLeaderElection() bool { return false }

// GetCertificate serves the current serving certificate (tls.Config).
func (a *Authority) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.leaf == nil {
		return nil, errors.New("the webhook's serving certificate is not ready yet")
	}
	return a.leaf, nil
}

// Ready is a readiness check: the serving certificate exists.
func (a *Authority) Ready(*http.Request) error {
	_, err := a.GetCertificate(nil)
	return err
}

// Start keeps the certificates until ctx ends. A failed round is logged
// and tried again at the next resync; the serving certificate in hand
// keeps being served meanwhile.
func (a *Authority) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("webhook-certificates")
	ctx = log.IntoContext(ctx, logger)
	resync := a.Resync
	if resync <= 0 {
		resync = DefaultResync
	}
	for {
		if err := a.Sync(ctx); err != nil && ctx.Err() == nil {
			logger.Error(err, "cannot keep the webhook's certificates; retrying", "secret", a.Namespace+"/"+a.SecretName)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(resync):
		}
	}
}

func (a *Authority) now() time.Time {
	if a.Clock == nil {
		return time.Now()
	}
	return a.Clock.Now()
}

// Sync takes one round: the CAs (a new one when due), the caBundle, and
// this replica's serving certificate.
func (a *Authority) Sync(ctx context.Context) error {
	logger := log.FromContext(ctx)
	now := a.now()
	cas, err := a.ensureCAs(ctx, now)
	if err != nil {
		return err
	}
	var injectErr error
	if a.WebhookConfiguration != "" {
		injectErr = a.inject(ctx, cas, now)
	} else {
		a.mu.Lock()
		a.markSeen(cas, func(c CA) time.Time { return c.Cert.NotBefore.Add(backdate) })
		a.mu.Unlock()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ca, ok := signingCA(cas, a.seen, a.propagationDelay(), now)
	if !ok {
		return errors.Join(injectErr, errors.New("no CA to sign the serving certificate"))
	}
	if a.leaf == nil || leafDue(a.leaf.Leaf, ca, a.DNSNames, now) {
		cert, key, err := newLeaf(ca, a.DNSNames, now, a.leafValidity())
		if err != nil {
			return errors.Join(injectErr, fmt.Errorf("cannot make the serving certificate: %w", err))
		}
		a.leaf = &tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
		logger.Info("serving the webhook with a new certificate", "notAfter", cert.NotAfter, "ca", ca.Cert.Subject.CommonName)
	}
	return injectErr
}

func (a *Authority) propagationDelay() time.Duration {
	if a.PropagationDelay < 0 {
		return 0
	}
	if a.PropagationDelay == 0 {
		return DefaultPropagationDelay
	}
	return a.PropagationDelay
}

func (a *Authority) leafValidity() time.Duration {
	if a.LeafValidity <= 0 {
		return DefaultLeafValidity
	}
	return a.LeafValidity
}

func (a *Authority) caValidity() time.Duration {
	if a.CAValidity <= 0 {
		return DefaultCAValidity
	}
	return a.CAValidity
}

// markSeen records when each CA was first seen trusted and forgets the
// CAs that are gone. Call with a.mu held.
func (a *Authority) markSeen(cas []CA, at func(CA) time.Time) {
	if a.seen == nil {
		a.seen = map[string]time.Time{}
	}
	live := map[string]bool{}
	for _, c := range cas {
		fp := c.fingerprint()
		live[fp] = true
		if _, ok := a.seen[fp]; !ok {
			a.seen[fp] = at(c)
		}
	}
	for fp := range a.seen {
		if !live[fp] {
			delete(a.seen, fp)
		}
	}
}

// ensureCAs reads the CA Secret, drops the expired CAs and adds a new one
// when due, and returns the live CAs, oldest first. A Secret it cannot
// read is started over: it is the manager's own.
func (a *Authority) ensureCAs(ctx context.Context, now time.Time) ([]CA, error) {
	logger := log.FromContext(ctx)
	key := types.NamespacedName{Namespace: a.Namespace, Name: a.SecretName}
	for attempt := 0; ; attempt++ {
		secret := &corev1.Secret{}
		exists := true
		if err := a.Reader.Get(ctx, key, secret); apierrors.IsNotFound(err) {
			exists = false
		} else if err != nil {
			return nil, fmt.Errorf("cannot read the webhook CA Secret %s: %w", key, err)
		}
		cas, err := decodeCAs(secret.Data)
		if err != nil && exists {
			logger.Info("the webhook CA Secret cannot be read; making a new CA", "secret", key.String(), "problem", err.Error())
			cas = nil
		}
		live := liveCAs(cas, now)
		if !needNewCA(live, now) && len(live) == len(cas) {
			return live, nil
		}
		if needNewCA(live, now) {
			ca, err := newCA(now, a.caValidity())
			if err != nil {
				return nil, fmt.Errorf("cannot make a webhook CA: %w", err)
			}
			live = append(live, ca)
		}
		data, err := encodeCAs(live)
		if err != nil {
			return nil, err
		}
		if exists {
			secret.Data = data
			err = a.Writer.Update(ctx, secret)
		} else {
			secret = &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, Labels: map[string]string{"app.kubernetes.io/managed-by": "nstance-issuer"}},
				Type:       corev1.SecretTypeOpaque,
				Data:       data,
			}
			err = a.Writer.Create(ctx, secret)
		}
		switch {
		case err == nil:
			logger.Info("wrote the webhook CAs", "secret", key.String(), "cas", len(live), "newest", live[len(live)-1].Cert.Subject.CommonName)
			return live, nil
		case (apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) && attempt < 3:
			continue // another replica wrote first: read its CAs
		default:
			return nil, fmt.Errorf("cannot write the webhook CA Secret %s: %w", key, err)
		}
	}
}

// inject puts the CAs as caBundle into every webhook of the webhook
// configuration, and records when each CA was first seen there.
func (a *Authority) inject(ctx context.Context, cas []CA, now time.Time) error {
	want := bundle(cas)
	for attempt := 0; ; attempt++ {
		cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{}
		if err := a.Reader.Get(ctx, types.NamespacedName{Name: a.WebhookConfiguration}, cfg); err != nil {
			return fmt.Errorf("cannot read ValidatingWebhookConfiguration %s to inject the webhook's CA: %w", a.WebhookConfiguration, err)
		}
		changed := false
		for i := range cfg.Webhooks {
			if !bytes.Equal(cfg.Webhooks[i].ClientConfig.CABundle, want) {
				cfg.Webhooks[i].ClientConfig.CABundle = want
				changed = true
			}
		}
		if changed {
			err := a.Writer.Update(ctx, cfg)
			if apierrors.IsConflict(err) && attempt < 3 {
				continue
			}
			if err != nil {
				return fmt.Errorf("cannot inject the webhook's CA into ValidatingWebhookConfiguration %s: %w", a.WebhookConfiguration, err)
			}
			log.FromContext(ctx).Info("injected the webhook CAs", "validatingWebhookConfiguration", a.WebhookConfiguration, "cas", len(cas))
		}
		if len(cfg.Webhooks) == 0 {
			return fmt.Errorf("ValidatingWebhookConfiguration %s has no webhooks to inject the webhook's CA into", a.WebhookConfiguration)
		}
		a.mu.Lock()
		a.markSeen(cas, func(CA) time.Time { return now })
		a.mu.Unlock()
		return nil
	}
}
