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

package localstack

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmcontroller "github.com/cert-manager/cert-manager/pkg/controller"
	ingressshim "github.com/cert-manager/cert-manager/pkg/controller/certificate-shim/ingresses"
	crapprover "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	crca "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	crselfsigned "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	"github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	"github.com/cert-manager/cert-manager/pkg/controller/issuers"

	// The issuers and clusterissuers controllers look issuer implementations
	// up in a registry that these packages fill from init.
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

// CAIssuerController is cert-manager's controller that signs
// CertificateRequests for CA Issuers and ClusterIssuers.
const CAIssuerController = crca.CRControllerName

// CertManagerControllers are the cert-manager controllers the stack runs
// with Options.CertManager: everything a cluster's cert-manager does for
// Certificates, Ingress annotations, approval and the built-in SelfSigned
// and CA issuers. ACME, Vault, Venafi, the gateway shim and the
// experimental Kubernetes CSR controllers are left out: they need the
// network or are off by default in a cluster too.
var CertManagerControllers = []string{
	trigger.ControllerName,
	issuing.ControllerName,
	keymanager.ControllerName,
	requestmanager.ControllerName,
	readiness.ControllerName,
	revisionmanager.ControllerName,
	crapprover.ControllerName,
	crca.CRControllerName,
	crselfsigned.CRControllerName,
	issuers.ControllerName,
	clusterissuers.ControllerName,
	ingressshim.ControllerName,
}

// certManagerOptions mirrors cert-manager v1.21's controller defaults
// (internal/apis/config/controller/v1alpha1/defaults.go, which cannot be
// imported from another module), so the local stack behaves like a default
// installation.
func certManagerOptions(kubeconfig string) cmcontroller.ContextOptions {
	return cmcontroller.ContextOptions{
		// NewContextFactory only builds its REST config from a kubeconfig
		// file (or in-cluster config), not from a *rest.Config.
		Kubeconfig:         kubeconfig,
		KubernetesAPIQPS:   20,
		KubernetesAPIBurst: 50,
		IssuerOptions: cmcontroller.IssuerOptions{
			// Same namespace as nstance-issuer's, so a ClusterIssuer's and an
			// NstanceClusterIssuer's CA Secrets live side by side.
			ClusterResourceNamespace: ClusterResourceNamespace,
		},
		IngressShimOptions: cmcontroller.IngressShimOptions{
			// Used only when an Ingress names no issuer kind/group: the
			// cluster default is cert-manager's own Issuer kind.
			DefaultIssuerKind:                 cmapi.IssuerKind,
			DefaultIssuerGroup:                "cert-manager.io",
			DefaultAutoCertificateAnnotations: []string{"kubernetes.io/tls-acme"},
			// Like a default install, the shim copies no extra annotations:
			// an Ingress's certificate uses the issuer's defaultTemplate.
			ExtraCertificateAnnotations: []string{},
		},
		CertificateOptions: cmcontroller.CertificateOptions{
			// Without these the requestmanager copies no annotation from a
			// Certificate to its CertificateRequest, and the
			// issuer.nstance.dev/template annotation would be lost.
			CopiedAnnotationPrefixes:                 []string{"*", "-kubectl.kubernetes.io/", "-fluxcd.io/", "-argocd.argoproj.io/"},
			CertificateRequestMinimumBackoffDuration: time.Hour,
			CertificateRequestMaximumBackoffDuration: 32 * time.Hour,
		},
		SchedulerOptions: cmcontroller.SchedulerOptions{MaxConcurrentChallenges: 60},
	}
}

// certManager is cert-manager's controller loops running in this process.
type certManager struct {
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	mu        sync.Mutex
	errs      []error
	factories []interface{ Shutdown() }
	// running holds each controller's own stop, for pause and resume.
	running map[string]runningController
}

type runningController struct {
	stop context.CancelFunc
	done chan struct{}
}

// run constructs the named controller from factory and runs it with 5
// workers under its own context.
func (cm *certManager) run(name string, factory *cmcontroller.ContextFactory) error {
	construct, ok := cmcontroller.Known()[name]
	if !ok {
		return fmt.Errorf("cert-manager controller %q is not registered (missing import?)", name)
	}
	c, err := construct(factory)
	if err != nil {
		return fmt.Errorf("cert-manager controller %s: %w", name, err)
	}
	ctx, stop := context.WithCancel(cm.ctx)
	rc := runningController{stop: stop, done: make(chan struct{})}
	cm.mu.Lock()
	cm.running[name] = rc
	cm.mu.Unlock()
	cm.wg.Go(func() {
		defer close(rc.done)
		// Run waits for its informers, runs its workers and returns
		// when ctx ends; an error before that is a real failure.
		if err := c.Run(5, ctx); err != nil && ctx.Err() == nil {
			cm.mu.Lock()
			cm.errs = append(cm.errs, fmt.Errorf("cert-manager controller %s: %w", name, err))
			cm.mu.Unlock()
		}
	})
	return nil
}

// PauseCertManagerController stops one of CertManagerControllers (its
// workers; the shared informers keep running) until
// ResumeCertManagerController, which builds it afresh: its informer
// handlers then see every existing object again, as after a restart.
func (s *Stack) PauseCertManagerController(name string) error {
	if s.certManager == nil {
		return errors.New("localstack: cert-manager is not running (Options.CertManager)")
	}
	cm := s.certManager
	cm.mu.Lock()
	rc, ok := cm.running[name]
	delete(cm.running, name)
	cm.mu.Unlock()
	if !ok {
		return fmt.Errorf("localstack: cert-manager controller %q is not running", name)
	}
	rc.stop()
	<-rc.done
	return nil
}

// ResumeCertManagerController runs a paused controller again, as a
// restarted process would: built from a fresh ContextFactory with its own
// informers (cert-manager's controllers cannot register on informers that
// have already started), which list every existing object first.
func (s *Stack) ResumeCertManagerController(ctx context.Context, name string) error {
	if s.certManager == nil {
		return errors.New("localstack: cert-manager is not running (Options.CertManager)")
	}
	cm := s.certManager
	cm.mu.Lock()
	_, running := cm.running[name]
	cm.mu.Unlock()
	if running {
		return fmt.Errorf("localstack: cert-manager controller %q is running: pause it first", name)
	}
	factory, err := cmcontroller.NewContextFactory(cm.ctx, certManagerOptions(s.Kubeconfig))
	if err != nil {
		return fmt.Errorf("cert-manager: %w", err)
	}
	base, err := factory.Build("localstack-" + name)
	if err != nil {
		return fmt.Errorf("cert-manager: %w", err)
	}
	if err := cm.run(name, factory); err != nil {
		return err
	}
	base.SharedInformerFactory.Start(cm.ctx.Done())
	base.KubeSharedInformerFactory.Start(cm.ctx.Done())
	cm.mu.Lock()
	cm.factories = append(cm.factories, base.SharedInformerFactory, base.KubeSharedInformerFactory)
	cm.mu.Unlock()
	for kind, synced := range base.SharedInformerFactory.WaitForCacheSync(ctx.Done()) {
		if !synced {
			return fmt.Errorf("cert-manager: the %v informer did not sync: %w", kind, context.Cause(ctx))
		}
	}
	for kind, synced := range base.KubeSharedInformerFactory.WaitForCacheSync(ctx.Done()) {
		if !synced {
			return fmt.Errorf("cert-manager: the %s informer did not sync: %w", kind, context.Cause(ctx))
		}
	}
	return nil
}

// startCertManager builds cert-manager's controllers the way its
// controller binary does (controller-binary/app.Run): one ContextFactory,
// each known controller constructed from it and Run with 5 workers, then the
// shared informer factories started. It returns once the informer caches
// have synced, so Certificates created afterwards are acted on at once.
func startCertManager(parent context.Context, kubeconfig string) (_ *certManager, err error) {
	ctx, cancel := context.WithCancel(parent)
	cm := &certManager{ctx: ctx, cancel: cancel, running: map[string]runningController{}}
	defer func() {
		if err != nil {
			_ = cm.stop()
		}
	}()

	factory, err := cmcontroller.NewContextFactory(ctx, certManagerOptions(kubeconfig))
	if err != nil {
		return cm, fmt.Errorf("cert-manager: %w", err)
	}
	// The factory keeps its informer factories in a base Context that only
	// Build hands out; every controller shares them.
	base, err := factory.Build("localstack")
	if err != nil {
		return cm, fmt.Errorf("cert-manager: %w", err)
	}
	for _, name := range CertManagerControllers {
		if err := cm.run(name, factory); err != nil {
			return cm, err
		}
	}

	base.SharedInformerFactory.Start(ctx.Done())
	base.KubeSharedInformerFactory.Start(ctx.Done())
	base.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())
	cm.factories = []interface{ Shutdown() }{
		base.SharedInformerFactory, base.KubeSharedInformerFactory, base.HTTP01ResourceMetadataInformersFactory,
	}

	for kind, synced := range base.SharedInformerFactory.WaitForCacheSync(ctx.Done()) {
		if !synced {
			return cm, fmt.Errorf("cert-manager: the %v informer did not sync: %w", kind, context.Cause(ctx))
		}
	}
	for kind, synced := range base.KubeSharedInformerFactory.WaitForCacheSync(ctx.Done()) {
		if !synced {
			return cm, fmt.Errorf("cert-manager: the %s informer did not sync: %w", kind, context.Cause(ctx))
		}
	}
	return cm, nil
}

// stop cancels the controllers, waits for their workers to return and shuts
// the informers down. cert-manager's per-controller event broadcasters have
// no handle to stop them; they stay idle until the process exits.
func (cm *certManager) stop() error {
	cm.cancel()
	cm.wg.Wait()
	for _, f := range cm.factories {
		f.Shutdown()
	}
	cm.mu.Lock()
	defer cm.mu.Unlock()
	return errors.Join(cm.errs...)
}

// StopCertManager stops all of cert-manager's controllers and their
// informers, as when its pod is deleted; StartCertManager starts them afresh
// (new informers that list every object first, new work queues), as its
// restarted pod would. In-flight syncs are cancelled through their context:
// the controllers run in this process, so they cannot be SIGKILLed.
func (s *Stack) StopCertManager() error {
	if s.certManager == nil {
		return errors.New("localstack: cert-manager is not running (Options.CertManager)")
	}
	err := s.certManager.stop()
	s.certManager = nil
	if err != nil {
		return fmt.Errorf("stopping cert-manager: %w", err)
	}
	return nil
}

// StartCertManager starts cert-manager's controllers after StopCertManager
// and returns once their informers have synced. ctx bounds their lifetime.
func (s *Stack) StartCertManager(ctx context.Context) error {
	if s.certManager != nil {
		return errors.New("localstack: cert-manager is already running")
	}
	cm, err := startCertManager(ctx, s.Kubeconfig)
	if err != nil {
		return err
	}
	s.certManager = cm
	return nil
}
