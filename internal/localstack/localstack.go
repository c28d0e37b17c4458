// Package localstack runs nstance-issuer on this machine without a cluster:
// a real kube-apiserver and etcd (built from Go modules, found through
// KUBEBUILDER_ASSETS), our CRDs and cert-manager's, and the nstance-issuer
// manager wired exactly as the binary wires it. It writes a kubeconfig a
// person can use with kubectl, and Stop tears everything down.
package localstack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/nstance-dev/nstance-issuer/internal/app"
	"github.com/nstance-dev/nstance-issuer/internal/controller"
)

// ClusterResourceNamespace is where the stack's NstanceClusterIssuers keep
// their CA Secrets.
const ClusterResourceNamespace = "nstance-issuer"

// Stack is a running local control plane with nstance-issuer.
type Stack struct {
	Config     *rest.Config
	Client     client.Client
	Kubeconfig string

	env    *envtest.Environment
	cancel context.CancelFunc
	done   chan error
}

// Start brings the stack up. repoRoot locates config/crd/bases.
func Start(ctx context.Context, repoRoot, kubeconfigPath string) (*Stack, error) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return nil, errors.New("KUBEBUILDER_ASSETS is not set: run `make envtest-assets` and point it at the printed folder")
	}
	cmDir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cert-manager/cert-manager").Output()
	if err != nil {
		return nil, fmt.Errorf("cannot locate cert-manager's module for its CRDs: %w", err)
	}
	s := &Stack{env: &envtest.Environment{
		CRDDirectoryPaths: []string{
			filepath.Join(repoRoot, "config", "crd", "bases"),
			filepath.Join(strings.TrimSpace(string(cmDir)), "deploy", "crds"),
		},
		ErrorIfCRDPathMissing: true,
	}}
	ok := false
	if s.Config, err = s.env.Start(); err != nil {
		// envtest may have started processes before failing: stop them.
		_ = s.env.Stop()
		return nil, fmt.Errorf("cannot start the API server: %w", err)
	}
	defer func() {
		if !ok {
			_ = s.env.Stop()
		}
	}()
	scheme, err := app.NewScheme()
	if err != nil {
		return nil, err
	}
	if s.Client, err = client.New(s.Config, client.Options{Scheme: scheme}); err != nil {
		return nil, err
	}
	for _, ns := range []string{ClusterResourceNamespace, "default"} {
		if err := s.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, err
		}
	}
	if err := writeKubeconfig(s.Config, kubeconfigPath); err != nil {
		return nil, err
	}
	s.Kubeconfig = kubeconfigPath

	mgrCtx, cancel := context.WithCancel(ctx)
	mgr, err := app.New(mgrCtx, s.Config, app.Options{
		Controller: controller.Options{
			ClusterResourceNamespace:  ClusterResourceNamespace,
			SetCAOnCertificateRequest: true,
			MaxConcurrentReconciles:   5,
			MaxRetryDuration:          24 * time.Hour,
		},
		MetricsBindAddress:     "0",
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		cancel()
		return nil, err
	}
	s.cancel = cancel
	s.done = make(chan error, 1)
	go func() { s.done <- mgr.Start(mgrCtx) }()
	ok = true
	return s, nil
}

// Stop stops the manager, then the API server and etcd.
func (s *Stack) Stop() error {
	var errs []error
	if s.cancel != nil {
		s.cancel()
		errs = append(errs, <-s.done)
	}
	errs = append(errs, s.env.Stop())
	return errors.Join(errs...)
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
