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

// Package carotation runs the CA lifecycle of each issuer: it reads the
// generation Secrets and the record that proves them the issuer's, asks
// the pure core (internal/rotation) for the next step, takes it (generate,
// publish, promote, retire, drop), re-issues after a rotate-now, and
// reports status, Events and metrics. It says which roots are live;
// internal/controller/trust publishes them.
package carotation

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/cakey"
	"github.com/nstance-dev/nstance-issuer/internal/controller/casecret"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/controller/trust"
)

// Options configure the CA lifecycle controllers.
type Options struct {
	// ClusterResourceNamespace is where NstanceClusterIssuers keep CAs.
	ClusterResourceNamespace string
	// Clock is the lifecycle's time source (nil: the real clock).
	Clock clock.PassiveClock
	// NextPoll is how often an issuer waiting for a next CA of the user's
	// re-reads it besides watching it (0: one minute).
	NextPoll time.Duration
	// Reissue paces the re-issue after a rotate-now.
	Reissue ReissuePolicy
	// MinGenerationInterval is the least time between two CA keys an
	// issuer generates (0: no bound).
	MinGenerationInterval time.Duration
	// CAKeys opens and makes CA keys held in a KMS or an HSM.
	CAKeys *cakey.Resolver
}

// Setup registers the CA lifecycle controllers of both issuer kinds with
// mgr; publisher publishes the live roots they decide.
func Setup(mgr ctrl.Manager, opts Options, recorder events.EventRecorder, clientset kubernetes.Interface, publisher *trust.Publisher) error {
	// A next CA Secret of the user's is watched narrowly, as CA Secrets
	// are (casecret): a fix is picked up within seconds.
	nextSecrets := casecret.NewWatcher(clientset)
	if err := mgr.Add(nextSecrets); err != nil {
		return fmt.Errorf("failed to register the next CA Secret watcher: %w", err)
	}
	// Next CA keys are made off the workers, one at a time.
	var now func() time.Time
	if opts.Clock != nil {
		now = opts.Clock.Now
	}
	keys := NewKeyGenerator(opts.MinGenerationInterval, now)
	for _, kind := range []string{issuer.KindIssuer, issuer.KindClusterIssuer} {
		r := &Reconciler{
			Kind: kind, Client: mgr.GetClient(), Reader: mgr.GetAPIReader(),
			ClusterResourceNamespace: opts.ClusterResourceNamespace, Recorder: recorder, Trust: publisher,
			Clock: opts.Clock, NextSecrets: nextSecrets, NextPoll: opts.NextPoll,
			Reissue: opts.Reissue, MinGenerationInterval: opts.MinGenerationInterval, Keys: keys, CAKeys: opts.CAKeys,
		}
		b := ctrl.NewControllerManagedBy(mgr).Named("rotation-" + strings.ToLower(kind)).For(issuer.NewObject(kind)).
			WatchesRawSource(source.Channel(nextSecrets.Events(kind), &handler.EnqueueRequestForObject{})).
			WatchesRawSource(source.Channel(keys.Events(kind), &handler.EnqueueRequestForObject{}))
		if kind == issuer.KindClusterIssuer {
			// A namespace created or relabelled may now be selected by a
			// ConfigMap bundle.
			b = b.WatchesMetadata(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.clusterIssuersWithConfigMaps), builder.OnlyMetadata)
		}
		if err := b.Complete(r); err != nil {
			return fmt.Errorf("failed to register the %s rotation controller: %w", kind, err)
		}
	}
	return nil
}

// clusterIssuersWithConfigMaps lists the cluster issuers that publish
// ConfigMaps into selected namespaces.
func (r *Reconciler) clusterIssuersWithConfigMaps(ctx context.Context, _ client.Object) []reconcile.Request {
	var list v1alpha1.NstanceClusterIssuerList
	if err := r.Client.List(ctx, &list); err != nil {
		return nil
	}
	var out []reconcile.Request
	for _, i := range list.Items {
		if tb := i.Spec.CA.TrustBundle; tb != nil && tb.ConfigMap != nil && tb.ConfigMap.NamespaceSelector != nil {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: i.Name}})
		}
	}
	return out
}
