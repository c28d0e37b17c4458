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

// Package app builds the nstance-issuer manager from its Options. The
// binary, the integration tests and the local stack all start the product
// through New, so they run the same wiring.
package app

import (
	"context"
	"fmt"
	"maps"
	"os"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	certificatesv1beta1 "k8s.io/api/certificates/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller"
	"github.com/nstance-dev/nstance-issuer/internal/controller/podcert"
	"github.com/nstance-dev/nstance-issuer/internal/controller/trust"
	"github.com/nstance-dev/nstance-issuer/internal/webhook"
)

// Options are the manager's settings.
type Options struct {
	// Controller configures the issuer and request controllers.
	Controller controller.Options
	// MetricsBindAddress serves Prometheus metrics; "0" disables it.
	MetricsBindAddress string
	// HealthProbeBindAddress serves /healthz and /readyz; "0" disables it.
	HealthProbeBindAddress string
	// PprofBindAddress serves Go's /debug/pprof; "" or "0" disables it.
	PprofBindAddress string
	// LeaderElect makes replicas elect a leader; only the leader signs.
	LeaderElect bool
	// LeaderElectionNamespace holds the Lease; empty means the cluster
	// resource namespace.
	LeaderElectionNamespace string
	// LeaderElectionID names the Lease.
	LeaderElectionID string
	// LeaseDuration is how long a standby replica waits after the last
	// renewal it saw before it takes the Lease over: the longest a SIGKILLed
	// leader (which cannot release the Lease) leaves the issuer without a
	// signer. RenewDeadline is how long the leader keeps trying to renew
	// before it gives up (and exits); RetryPeriod how often every replica
	// tries to acquire or renew.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// KubeAPIQPS and KubeAPIBurst are the client-side rate limit: see
	// ResolveRateLimit (0 = automatic, < 0 = off).
	KubeAPIQPS   float64
	KubeAPIBurst int
	// Webhook configures the issuers' validating admission webhook; Port
	// 0 serves none. Its Namespace defaults to $POD_NAMESPACE, else the
	// cluster resource namespace.
	Webhook webhook.Options
	// Zap configures logging (the --zap-* flags).
	Zap zap.Options
}

// NewScheme returns a scheme with the kinds the manager reads and writes.
func NewScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, cmapi.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, fmt.Errorf("failed to build the scheme: %w", err)
		}
	}
	return scheme, nil
}

// New returns a manager with every nstance-issuer controller registered.
func New(ctx context.Context, cfg *rest.Config, o Options) (ctrl.Manager, error) {
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	limit := ResolveRateLimit(ctx, cfg, o.KubeAPIQPS, o.KubeAPIBurst)
	limit.Apply(cfg)
	ctrl.Log.WithName("setup").Info(limit.Reason, "qps", limit.QPS, "burst", limit.Burst)
	if o.LeaderElectionNamespace == "" {
		o.LeaderElectionNamespace = o.Controller.ClusterResourceNamespace
	}
	// Of ConfigMaps, only the published trust bundles are cached, slimmed
	// (trust.BundleCache): a reconcile writes only the bundles that differ.
	bundles, err := trust.BundleCache()
	if err != nil {
		return nil, err
	}
	slim := map[client.Object]cache.ByObject{
		&cmapi.CertificateRequest{}:                 {Transform: controller.SlimFinishedRequests()},
		&certificatesv1.CertificateSigningRequest{}: {Transform: controller.SlimFinishedRequests()},
		&corev1.ConfigMap{}:                         bundles,
	}
	// PodCertificateRequests are slimmed in the version the controller
	// will watch; a version the API server does not serve cannot be named
	// here (the manager would fail to map it).
	if !o.Controller.DisablePodCertificates {
		switch v, err := podcert.ServedVersion(cfg); {
		case err != nil:
			return nil, fmt.Errorf("failed to discover the PodCertificateRequest API: %w", err)
		case v == "v1":
			slim[&certificatesv1.PodCertificateRequest{}] = cache.ByObject{Transform: controller.SlimFinishedRequests()}
		case v == "v1beta1":
			slim[&certificatesv1beta1.PodCertificateRequest{}] = cache.ByObject{Transform: controller.SlimFinishedRequests()}
		}
		// The pod identity check reads ServiceAccount and Node UIDs from
		// a metadata cache, slimmed (podcert.IdentityCache).
		maps.Copy(slim, podcert.IdentityCache())
	}
	var hooks *webhook.Server
	if o.Webhook.Port > 0 {
		if o.Webhook.Namespace == "" {
			o.Webhook.Namespace = os.Getenv("POD_NAMESPACE")
		}
		if o.Webhook.Namespace == "" {
			o.Webhook.Namespace = o.Controller.ClusterResourceNamespace
		}
		hooks = webhook.NewServer(o.Webhook)
	}
	mgrOptions := ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsserver.Options{BindAddress: o.MetricsBindAddress},
		HealthProbeBindAddress:        o.HealthProbeBindAddress,
		PprofBindAddress:              o.PprofBindAddress,
		LeaderElection:                o.LeaderElect,
		LeaderElectionID:              o.LeaderElectionID,
		LeaderElectionNamespace:       o.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &o.LeaseDuration,
		RenewDeadline:                 &o.RenewDeadline,
		RetryPeriod:                   &o.RetryPeriod,
		// Never cache Secrets: CA Secrets are read through narrow per-Secret
		// watches (casecret.Watcher in internal/controller/casecret), so memory does not grow with
		// the number of Secrets in the cluster. Managed fields are dropped
		// from everything that is cached.
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		// Finished requests are cached without their PEM (see
		// controller.SlimFinishedRequests): every request in the cluster is
		// cached, and most are finished.
		Cache: cache.Options{
			DefaultTransform: cache.TransformStripManagedFields(),
			ByObject:         slim,
		},
	}
	if hooks != nil {
		mgrOptions.WebhookServer = hooks
	}
	mgr, err := ctrl.NewManager(cfg, mgrOptions)
	if err != nil {
		return nil, fmt.Errorf("failed to create the manager: %w", err)
	}
	if err := controller.Setup(ctx, mgr, o.Controller); err != nil {
		return nil, err
	}
	if hooks != nil {
		if err := webhook.Setup(mgr, hooks); err != nil {
			return nil, err
		}
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, fmt.Errorf("failed to add the health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return nil, fmt.Errorf("failed to add the ready check: %w", err)
	}
	return mgr, nil
}
