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
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/cakey"
	"github.com/nstance-dev/nstance-issuer/internal/controller/carotation"
	"github.com/nstance-dev/nstance-issuer/internal/controller/casecret"
	"github.com/nstance-dev/nstance-issuer/internal/controller/eventrec"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/controller/kubecsr"
	"github.com/nstance-dev/nstance-issuer/internal/controller/podcert"
	"github.com/nstance-dev/nstance-issuer/internal/controller/signing"
	"github.com/nstance-dev/nstance-issuer/internal/controller/trust"
	"github.com/nstance-dev/nstance-issuer/internal/keys"
)

// issuer-lib's issuer and request controllers, registered here:
// +kubebuilder:rbac:groups=issuer.nstance.dev,resources=nstanceissuers;nstanceclusterissuers,verbs=get;list;watch
// +kubebuilder:rbac:groups=issuer.nstance.dev,resources=nstanceissuers/status;nstanceclusterissuers/status,verbs=patch
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificaterequests,verbs=get;list;watch
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificaterequests/status,verbs=patch
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=certificatesigningrequests,verbs=get;list;watch
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=certificatesigningrequests/status,verbs=patch
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=signers,verbs=sign,resourceNames=nstanceclusterissuers.issuer.nstance.dev/*
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=signers,verbs=sign,resourceNames=templates.nstanceclusterissuers.issuer.nstance.dev/*
//
// Shared by every controller: Events, namespace metadata (templates bound
// to namespaces by label, bundles published by namespace selector, both
// read through the manager's cache), and the leader election Lease.
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
func issuerControllerOptions(workers int) crcontroller.Options {
	return crcontroller.Options{
		MaxConcurrentReconciles: workers,
		RateLimiter: workqueue.NewTypedMaxOfRateLimiter(
			workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](5*time.Millisecond, issuerRecheckMax),
			&workqueue.TypedBucketRateLimiter[reconcile.Request]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
		),
	}
}

// Setup registers every nstance-issuer controller with mgr: issuer-lib's
// issuer and request controllers around the Signer, the CA lifecycle with
// its trust publisher, the refusal of unserved CSR signer names, and pod
// certificates.
func Setup(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if opts.MaxConcurrentReconciles < 1 {
		opts.MaxConcurrentReconciles = 1
	}
	reissue := carotation.ReissuePolicy{BatchSize: opts.ReissueBatchSize, Interval: opts.ReissueInterval, StalledAfter: opts.ReissueStalledAfter}
	if err := reissue.Validate(); err != nil {
		return err
	}
	clientset, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("failed to build a Kubernetes client: %w", err)
	}
	secrets := casecret.NewWatcher(clientset)
	if err := mgr.Add(secrets); err != nil {
		return fmt.Errorf("failed to register the CA Secret watcher: %w", err)
	}
	// Events go through a recorder whose memory is bounded whatever their
	// rate (eventrec), not client-go's broadcaster, which keeps every Event
	// for 6 to 12 minutes. It writes with as many workers as a controller
	// signs with: an Event is one write, as a signature's status patch is,
	// so the Events keep up with the signatures and the queue only takes
	// bursts (a queue that overflows drops Events; the backlog signs at
	// over 200/s here, more than 4 writers keep up with).
	recorder := eventrec.New(mgr.GetScheme(), clientset.EventsV1(), issuer.FieldOwner, eventrec.Options{
		Logger:  mgr.GetLogger().WithName("events"),
		Workers: max(opts.MaxConcurrentReconciles, eventrec.DefaultWorkers),
	})
	if err := mgr.Add(recorder); err != nil {
		return fmt.Errorf("failed to register the Event recorder: %w", err)
	}
	caKeys := &cakey.Resolver{Keys: keys.New(opts.KeyPolicy)}
	caKeys.Keys.Timeout = opts.KeyTimeout
	s := &signing.Signer{
		Client:                   mgr.GetClient(),
		Secrets:                  secrets,
		ClusterResourceNamespace: opts.ClusterResourceNamespace,
		Recorder:                 recorder,
		CAExpiryWarning:          opts.CAExpiryWarning,
		Clock:                    opts.Clock,
		CSRs:                     kubecsr.Decider{Reader: mgr.GetClient(), AllowMutableAnnotations: opts.AllowMutableCSRAnnotations},
		Keys:                     caKeys,
	}
	if opts.CSRAnnotationPolicy != "" {
		// The policy and binding are read live, uncached (kubecsr.Guard).
		s.CSRs.Guard = &kubecsr.Guard{Name: opts.CSRAnnotationPolicy, Reader: mgr.GetAPIReader()}
	}

	publisher, err := trust.NewPublisher(mgr, opts.ClusterResourceNamespace)
	if err != nil {
		return err
	}
	if err := carotation.Setup(mgr, carotation.Options{
		ClusterResourceNamespace: opts.ClusterResourceNamespace,
		Clock:                    opts.Clock,
		NextPoll:                 opts.NextCAPollInterval,
		Reissue:                  reissue,
		MinGenerationInterval:    opts.MinCAGenerationInterval,
		CAKeys:                   caKeys,
	}, recorder, clientset, publisher); err != nil {
		return err
	}

	// A request is signed once and its signature delivered once
	// (signing.SignedRecently); the Events announcing it wait for delivery.
	once := signing.NewSignedRecently(mgr.GetAPIReader(), time.Now)
	s.Announce = once.AnnounceOnDelivery
	// issuer-lib's Sign, one step per line, from the signature outward:
	// sign (policy, template, certificate, its Events); count and time
	// every attempt; put every live root in ca.crt when the issuer asks;
	// never sign a request twice from a stale cache.
	var sign signer.Sign = s.Sign
	sign = signing.WithIssuanceMetrics(sign, clock.RealClock{}, opts.ClusterResourceNamespace, s.SelectedTemplate)
	sign = publisher.WithLiveRoots(sign)
	sign = once.Sign(sign)

	workers := crcontroller.Options{MaxConcurrentReconciles: opts.MaxConcurrentReconciles}
	combined := &controllers.CombinedController{
		IssuerTypes:              []issuerapi.Issuer{&v1alpha1.NstanceIssuer{}},
		ClusterIssuerTypes:       []issuerapi.Issuer{&v1alpha1.NstanceClusterIssuer{}},
		FieldOwner:               issuer.FieldOwner,
		MaxRetryDuration:         opts.MaxRetryDuration,
		Check:                    s.Check,
		Sign:                     sign,
		IgnoreCertificateRequest: once.Ignore,
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
				// Forget a deleted issuer's Secret watch, timers, parsed CA and metrics.
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
	if err := combined.SetupWithManager(ctx, signing.SingleWriteManager{Manager: mgr, Delivered: once.DeliveredObject}); err != nil {
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
