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

// Package localstack runs nstance-issuer on this machine without a cluster:
// a real kube-apiserver and etcd (internal/test/apiserver: built from Go
// modules, found through KUBEBUILDER_ASSETS), our CRDs and cert-manager's,
// the nstance-issuer manager wired exactly as the binary wires it and, on
// request, cert-manager's own controllers built from its Go packages. It
// writes a kubeconfig a person can use with kubectl, and Stop tears
// everything down.
package localstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/internal/app"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/controller/kubecsr"
	"github.com/nstance-dev/nstance-issuer/internal/test/apiserver"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
)

// ClusterResourceNamespace is where the stack's cluster-scoped issuers,
// nstance-issuer's and cert-manager's alike, keep their CA Secrets.
const ClusterResourceNamespace = "nstance-issuer"

// Options configure Start.
type Options struct {
	// RepoRoot is the repository's root: it locates config/crd/bases, and
	// cert-manager's CRDs through the module cache of its go.mod.
	RepoRoot string
	// KubeconfigPath is where to write a kubeconfig for kubectl. Empty
	// means a temporary file that Stop removes; Stack.Kubeconfig names it.
	KubeconfigPath string
	// CertManager also runs cert-manager's controllers (Certificates,
	// approver, ingress-shim, SelfSigned and CA issuers) in this process.
	CertManager bool
	// ManagerBinary, when set, runs nstance-issuer as a separate OS process
	// from this built binary (cmd/nstance-issuer) instead of in this
	// process, so that its memory can be measured alone. Empty keeps the
	// in-process manager.
	ManagerBinary string
	// ManagerArgs are extra flags for ManagerBinary (for example
	// --max-concurrent-reconciles=10); they follow the stack's own flags,
	// so they override them.
	ManagerArgs []string
	// ManagerLogDir is the directory the ManagerBinary processes (and
	// replicas) write their logs to, one file each; empty means
	// os.TempDir(). A cleanly stopped process's log is removed, a killed
	// or failed one's kept (ManagerLogs, Replicas.Logs). The directory is
	// the caller's: Stop leaves it.
	ManagerLogDir string
	// LogOutput, when set, receives the output of kube-apiserver and etcd
	// (discarded otherwise), e.g. to scan it for key material.
	LogOutput io.Writer
	// AuditLogPath, when set, is where kube-apiserver writes its audit log
	// of CertificateRequest status writes (apiserver.Options.AuditLogPath).
	AuditLogPath string
	// AuditNamespaces limits that log to these namespaces
	// (apiserver.Options.AuditNamespaces).
	AuditNamespaces []string
	// ManagerOptions, when set, adjusts the in-process manager's options,
	// e.g. the key policy of a test's HSM (with ManagerBinary, pass flags
	// in ManagerArgs instead).
	ManagerOptions func(*app.Options)
}

// Stack is a running local control plane with nstance-issuer.
type Stack struct {
	// Config is an admin REST config for the API server.
	Config *rest.Config
	// Client reads and writes Kubernetes, cert-manager and nstance-issuer
	// kinds (app.NewScheme).
	Client client.Client
	// Kubeconfig is the path of the written kubeconfig.
	Kubeconfig string

	api         *apiserver.Server
	tmpDir      string
	certManager *certManager
	cancelMgr   context.CancelFunc
	mgrDone     chan error
	proc        *managerProcess
	stopOnce    sync.Once
	stopErr     error
}

// Start brings the stack up and returns once every controller's caches have
// synced. ctx bounds start-up and the controllers' lifetime (cancelling it
// stops them); call Stop in every case to stop the API server and etcd. On
// error, Start has already stopped whatever it started.
//
// Start once per process: controller-runtime refuses a second controller
// with the same name in one process, so a second Start after Stop fails.
func Start(ctx context.Context, o Options) (stack *Stack, err error) {
	if o.RepoRoot == "" {
		return nil, errors.New("localstack: Options.RepoRoot is required")
	}
	scheme, err := app.NewScheme()
	if err != nil {
		return nil, err
	}
	s := &Stack{}
	// From here on, a failure tears down whatever did start.
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Stop())
			stack = nil
		}
	}()
	// Restartable: the outages stop and start kube-apiserver and etcd.
	if s.api, err = apiserver.Start(ctx, apiserver.Options{RepoRoot: o.RepoRoot, Scheme: scheme, LogOutput: o.LogOutput, AuditLogPath: o.AuditLogPath, AuditNamespaces: o.AuditNamespaces,
		Namespaces: []string{ClusterResourceNamespace, "default"}, Restartable: true}); err != nil {
		return s, err
	}
	s.Config, s.Client = s.api.Config, s.api.Client
	s.Kubeconfig = o.KubeconfigPath
	if s.Kubeconfig == "" {
		if s.tmpDir, err = os.MkdirTemp("", "nstance-localstack-"); err != nil {
			return s, err
		}
		s.Kubeconfig = filepath.Join(s.tmpDir, "kubeconfig")
	}
	if err := writeKubeconfig(s.Config, s.Kubeconfig); err != nil {
		return s, err
	}

	// What the chart and config/ install next to the controller: the
	// admission policies that keep Kubernetes CSRs' template annotations
	// as approved, and CertificateRequests' template annotation as
	// created. They settle while the controllers start.
	policyInstalled := make(chan error, 1)
	go func() {
		crPolicy, crBinding := kubecsr.CertificateRequestAnnotationPolicy(kubecsr.DefaultCertificateRequestAnnotationPolicy)
		for _, o := range []client.Object{crPolicy, crBinding} {
			if err := s.Client.Create(ctx, o); err != nil {
				policyInstalled <- fmt.Errorf("cannot create %s: %w", o.GetName(), err)
				return
			}
		}
		policy, binding := kubecsr.CSRAnnotationPolicy(kubecsr.DefaultCSRAnnotationPolicy)
		policyInstalled <- framework.InstallCSRAnnotationPolicy(ctx, s.Client, policy, binding, issuer.ClusterIssuerSignerPrefix+"policy-probe", kubecsr.DefaultCSRPolicySettle)
	}()
	if err := s.startControllers(ctx, o); err != nil {
		return s, errors.Join(err, <-policyInstalled)
	}
	if err := <-policyInstalled; err != nil {
		return s, fmt.Errorf("cannot install the CSR annotation policy: %w", err)
	}
	return s, nil
}

// startControllers starts the nstance-issuer manager (in this process or as
// o.ManagerBinary) and, when asked, cert-manager's controllers.
func (s *Stack) startControllers(ctx context.Context, o Options) (err error) {
	if o.ManagerBinary != "" {
		s.proc = &managerProcess{binary: o.ManagerBinary, args: o.ManagerArgs, kubeconfig: s.Kubeconfig, logDir: o.ManagerLogDir}
		if err := s.proc.start(ctx); err != nil {
			return err
		}
	} else if err := s.startManager(ctx, o.ManagerOptions); err != nil {
		return err
	}
	if o.CertManager {
		// cert-manager's ContextFactory loads its REST config from a
		// kubeconfig file: give it the one just written (admin identity).
		if s.certManager, err = startCertManager(ctx, s.Kubeconfig); err != nil {
			return err
		}
	}
	return nil
}

// managerOptions are the manager's defaults (app.NewOptions) with what the
// local stack changes: its cluster resource namespace, one replica without
// leader election, and no fixed ports.
func managerOptions() *app.Options {
	o := app.NewOptions()
	o.Controller.ClusterResourceNamespace = ClusterResourceNamespace
	o.LeaderElect = false
	o.MetricsBindAddress, o.HealthProbeBindAddress = "0", "0"
	return o
}

// startManager runs the nstance-issuer manager through internal/app, as
// the binary does, and waits for its caches.
func (s *Stack) startManager(ctx context.Context, tune func(*app.Options)) error {
	mgrCtx, cancel := context.WithCancel(ctx)
	s.cancelMgr = cancel
	o := managerOptions()
	if tune != nil {
		tune(o)
	}
	mgr, err := app.New(mgrCtx, s.Config, *o)
	if err != nil {
		return err
	}
	s.mgrDone = make(chan error, 1)
	go func() { s.mgrDone <- mgr.Start(mgrCtx) }()
	return waitForManager(mgrCtx, mgr, s.mgrDone)
}

func waitForManager(ctx context.Context, mgr ctrl.Manager, done chan error) error {
	synced := make(chan bool, 1)
	go func() { synced <- mgr.GetCache().WaitForCacheSync(ctx) }()
	select {
	case ok := <-synced:
		if !ok {
			return fmt.Errorf("nstance-issuer's caches did not sync: %w", context.Cause(ctx))
		}
		return nil
	case err := <-done:
		// Put the result back for Stop.
		done <- err
		return fmt.Errorf("nstance-issuer's manager stopped while starting: %w", err)
	}
}

// Stop stops cert-manager's controllers, then the nstance-issuer manager,
// then the API server and etcd, and removes temporary files. It waits for
// every controller goroutine it can reach and is safe to call more than once.
func (s *Stack) Stop() error {
	s.stopOnce.Do(func() {
		var errs []error
		if s.certManager != nil {
			errs = append(errs, s.certManager.stop())
		}
		if s.proc != nil {
			errs = append(errs, s.proc.stop())
		}
		if s.cancelMgr != nil {
			s.cancelMgr()
			if s.mgrDone != nil {
				errs = append(errs, <-s.mgrDone)
			}
		}
		if s.api != nil {
			errs = append(errs, s.api.Stop())
		}
		if s.tmpDir != "" {
			errs = append(errs, os.RemoveAll(s.tmpDir))
		}
		s.stopErr = errors.Join(errs...)
	})
	return s.stopErr
}

func writeKubeconfig(cfg *rest.Config, path string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "admin"}
	kc.CurrentContext = "local"
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return clientcmd.WriteToFile(*kc, path)
}
