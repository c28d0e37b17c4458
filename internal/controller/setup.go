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

package controller

import (
	"context"
	"fmt"
	"time"

	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	"github.com/cert-manager/issuer-lib/controllers"
	"github.com/cert-manager/issuer-lib/controllers/signer"
	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/carotation"
	"github.com/nstance-dev/nstance-issuer/internal/controller/casecret"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/controller/kubecsr"
	"github.com/nstance-dev/nstance-issuer/internal/controller/podcert"
	"github.com/nstance-dev/nstance-issuer/internal/controller/signing"
	"github.com/nstance-dev/nstance-issuer/internal/controller/trust"
)

// DefaultMaxConcurrentReconciles is the default number of workers per
// controller. Signing takes well under a millisecond of CPU; a worker spends
// nearly all its time waiting for its status write, so signing a backlog
// scales with workers up to about this many (measured with nstance-bench at
// N=1000: with 16, a backlog signed at 139/s, 1.11x the signer floor of 16
// workers writing one status patch and one Event each; docs/performance.md),
// while the API server, with API Priority and Fairness, protects itself.
const DefaultMaxConcurrentReconciles = 16

// Options configures the controllers. Flags map one to one onto its fields.
type Options struct {
	// ClusterResourceNamespace is the namespace NstanceClusterIssuers read
	// their CA Secrets from (cert-manager's flag of the same name).
	ClusterResourceNamespace string
	// SetCAOnCertificateRequest fills CertificateRequest status.ca (and so
	// ca.crt in the Secret) with the CA's root.
	SetCAOnCertificateRequest bool
	// MaxConcurrentReconciles is the number of workers of each controller.
	MaxConcurrentReconciles int
	// MaxRetryDuration is how long an unexpected (not permanent) signing
	// error is retried before the request is failed.
	MaxRetryDuration time.Duration
	// CAExpiryWarning is how long before CA expiry a warning Event starts.
	CAExpiryWarning time.Duration
	// DisableKubernetesCSRs turns off signing of Kubernetes
	// CertificateSigningRequests.
	DisableKubernetesCSRs bool
	// DisablePodCertificates turns off signing of Kubernetes
	// PodCertificateRequests.
	DisablePodCertificates bool
	// CSRAnnotationPolicy names the ValidatingAdmissionPolicy (and its
	// binding) that keeps a Kubernetes CSR's template, duration and isCA
	// annotations as they were created (kubecsr.CSRAnnotationPolicy).
	// A CSR that selects its template by annotation is signed only if it
	// was in force when the CSR was approved. Empty: no such policy.
	CSRAnnotationPolicy string
	// AllowMutableCSRAnnotations signs such a CSR even without that
	// policy, with a warning Event: anyone allowed to update the CSR can
	// then change its template between approval and signing.
	AllowMutableCSRAnnotations bool
	// Clock is the time source of signing and of the CA lifecycle (nil:
	// the real clock): one clock, so that a CA the lifecycle generates is
	// valid when the signer loads it. Not a flag: tests inject a fake
	// clock to walk a rotation through its phases.
	Clock clock.PassiveClock
	// NextCAPollInterval is how often an issuer waiting for a next CA of
	// the user's (spec.ca.rotation.nextSecretName) re-reads it besides
	// watching it (0: one minute). Not a flag.
	NextCAPollInterval time.Duration
	// ReissueBatchSize is how many Certificates signed by a previous CA an
	// issuer asks to re-issue per ReissueInterval after a rotate-now; 0
	// turns that re-issue off.
	ReissueBatchSize int
	// ReissueInterval is the time between two such batches.
	ReissueInterval time.Duration
	// MinCAGenerationInterval is the least time between two CA keys an
	// issuer generates for its rotation (rotate-now, scheduled renewal, a
	// generated next CA Secret deleted): it bounds what a stream of
	// rotate-now tokens costs. 0: no bound.
	MinCAGenerationInterval time.Duration
}

// DefaultMinCAGenerationInterval is the default MinCAGenerationInterval:
// long enough that an issuer cannot keep a core busy with key generation,
// short enough that a second rotate-now after a mistake waits minutes, not
// hours.
const DefaultMinCAGenerationInterval = 10 * time.Minute

// +kubebuilder:rbac:groups=issuer.nstance.dev,resources=nstanceissuers;nstanceclusterissuers,verbs=get;list;watch
// +kubebuilder:rbac:groups=issuer.nstance.dev,resources=nstanceissuers/status;nstanceclusterissuers/status,verbs=patch
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificaterequests,verbs=get;list;watch
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificaterequests/status,verbs=patch
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=certificatesigningrequests,verbs=get;list;watch
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=certificatesigningrequests/status,verbs=patch
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=signers,verbs=sign,resourceNames=nstanceclusterissuers.issuer.nstance.dev/*
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=signers,verbs=sign,resourceNames=templates.nstanceclusterissuers.issuer.nstance.dev/*
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch,namespace=system

// issuerRecheckMax bounds the back-off of an issuer whose check fails
// with an error nothing else announces the end of (the manager may not
// create its CA Secret until an administrator grants it, the API server is
// away): it is checked again at least this often. controller-runtime's
// default grows to 1000 s.
const issuerRecheckMax = time.Minute

// issuerControllerOptions are the options of the issuer controllers: the
// workers, and a back-off capped at issuerRecheckMax.
func issuerControllerOptions(workers int) controller.Options {
	return controller.Options{
		MaxConcurrentReconciles: workers,
		RateLimiter: workqueue.NewTypedMaxOfRateLimiter(
			workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](5*time.Millisecond, issuerRecheckMax),
			&workqueue.TypedBucketRateLimiter[reconcile.Request]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
		),
	}
}

// Setup registers the issuer, CertificateRequest and Kubernetes CSR
// controllers with mgr.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if opts.MaxConcurrentReconciles < 1 {
		opts.MaxConcurrentReconciles = 1
	}
	clientset, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("failed to build a Kubernetes client: %w", err)
	}
	secrets := casecret.NewWatcher(clientset)
	if err := mgr.Add(secrets); err != nil {
		return fmt.Errorf("failed to register the CA Secret watcher: %w", err)
	}
	recorder := mgr.GetEventRecorder(issuer.FieldOwner)
	s := &signing.Signer{
		Client:                   mgr.GetClient(),
		Secrets:                  secrets,
		ClusterResourceNamespace: opts.ClusterResourceNamespace,
		Recorder:                 recorder,
		CAExpiryWarning:          opts.CAExpiryWarning,
		Clock:                    opts.Clock,
	}
	s.CSRs = kubecsr.Decider{Reader: mgr.GetClient(), AllowMutableAnnotations: opts.AllowMutableCSRAnnotations}
	if opts.CSRAnnotationPolicy != "" {
		// The policy and binding are read live, uncached (kubecsr.Guard).
		s.CSRs.Guard = &kubecsr.Guard{Name: opts.CSRAnnotationPolicy, Reader: mgr.GetAPIReader()}
	}
	publisher, err := trust.NewPublisher(mgr, opts.ClusterResourceNamespace)
	if err != nil {
		return err
	}
	if err := carotation.Setup(mgr, carotation.Options{
		ClusterResourceNamespace: opts.ClusterResourceNamespace, Clock: opts.Clock, NextPoll: opts.NextCAPollInterval,
		Reissue:               carotation.ReissuePolicy{BatchSize: opts.ReissueBatchSize, Interval: opts.ReissueInterval},
		MinGenerationInterval: opts.MinCAGenerationInterval,
	}, recorder, clientset, publisher); err != nil {
		return err
	}
	workers := controller.Options{MaxConcurrentReconciles: opts.MaxConcurrentReconciles}
	recent := signing.NewSignedRecently(mgr.GetAPIReader(), time.Now)
	s.Announce = recent.AnnounceOnDelivery
	// Sign, one step per line, from the signature outward:
	var sign signer.Sign = s.Sign                                                                                  // policy, template, certificate, Events
	sign = signing.WithIssuanceMetrics(sign, clock.RealClock{}, opts.ClusterResourceNamespace, s.SelectedTemplate) // count and time every attempt
	sign = publisher.WithLiveRoots(sign)                                                                           // ca.crt: every live root, when the issuer asks
	sign = recent.Sign(sign)                                                                                       // never twice from a stale cache; delivered once
	combined := &controllers.CombinedController{
		IssuerTypes:        []issuerapi.Issuer{&v1alpha1.NstanceIssuer{}},
		ClusterIssuerTypes: []issuerapi.Issuer{&v1alpha1.NstanceClusterIssuer{}},
		FieldOwner:         issuer.FieldOwner,
		MaxRetryDuration:   opts.MaxRetryDuration,
		Check:              s.Check,
		Sign:               sign,
		// Never sign a request twice from a stale cache (resign.go).
		IgnoreCertificateRequest: recent.Ignore,
		EventRecorder:            signing.WithoutGenericIssuedEvent{EventRecorder: recorder},
		// Deprecated upstream in favour of trust-manager, but users of a private
		// CA expect ca.crt filled as cert-manager's CA issuer does; a flag turns it off.
		SetCAOnCertificateRequest:      opts.SetCAOnCertificateRequest, //nolint:staticcheck // see above
		DisableKubernetesCSRController: opts.DisableKubernetesCSRs,
		// issuer-lib hands ControllerOptions to the issuer controllers only;
		// the request controllers get theirs in PreSetupWithManager below.
		ControllerOptions: issuerControllerOptions(opts.MaxConcurrentReconciles),
		PreSetupWithManager: func(_ context.Context, gvk schema.GroupVersionKind, _ ctrl.Manager, b *builder.Builder) error {
			switch gvk.Kind {
			case issuer.KindIssuer, issuer.KindClusterIssuer:
				kind := gvk.Kind
				b.WatchesRawSource(source.Channel(secrets.Events(kind), &handler.EnqueueRequestForObject{}))
				// Forget a deleted issuer's Secret watch, timers, parsed CA and metric.
				b.Watches(issuer.NewObject(kind), handler.Funcs{
					DeleteFunc: func(_ context.Context, e event.DeleteEvent, _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
						ref := issuer.Ref{Kind: kind, NamespacedName: types.NamespacedName{Namespace: e.Object.GetNamespace(), Name: e.Object.GetName()}}
						secrets.Forget(ref)
						s.ForgetIssuer(ref)
					},
				})
			case "CertificateSigningRequest":
				b.WithOptions(workers)
				kubecsr.WatchTemplatedSigners(b, mgr)
			default:
				b.WithOptions(workers)
			}
			return nil
		},
	}
	if !opts.DisableKubernetesCSRs {
		if err := kubecsr.IndexTemplatedSigners(ctx, mgr); err != nil {
			return fmt.Errorf("failed to index Kubernetes CSRs by templated signer: %w", err)
		}
	}
	if err := combined.SetupWithManager(ctx, signing.SingleWriteManager{Manager: mgr, Delivered: recent.DeliveredObject}); err != nil {
		return fmt.Errorf("failed to register the issuer-lib controllers: %w", err)
	}
	if !opts.DisableKubernetesCSRs {
		if err := (&kubecsr.UnservedSignerReconciler{Client: mgr.GetClient(), Recorder: recorder}).SetupWithManager(mgr); err != nil {
			return fmt.Errorf("failed to register the namespaced CSR controller: %w", err)
		}
	}
	if !opts.DisablePodCertificates {
		if err := podcert.Setup(ctx, mgr, s, opts.MaxConcurrentReconciles); err != nil {
			return fmt.Errorf("failed to register the PodCertificateRequest controller: %w", err)
		}
	}
	return nil
}
