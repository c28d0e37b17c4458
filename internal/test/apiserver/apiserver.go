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

// Package apiserver starts the one kind of API server every suite, the
// local stack and the harnesses run on: a real kube-apiserver and etcd
// from the binaries in KUBEBUILDER_ASSETS (built from Go modules by `make
// envtest-assets`), with our CRDs and cert-manager's installed.
package apiserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Options configure Start.
type Options struct {
	// RepoRoot is the repository's root, relative to the test's package
	// directory (for example "../.."): our CRDs are in config/crd/bases
	// below it.
	RepoRoot string
	// ExtraCRDPaths are further CRD files or directories to install after
	// ours and cert-manager's (fixtures of one suite).
	ExtraCRDPaths []string
	// Scheme is the returned Client's; nil means client-go's built-in kinds.
	Scheme *runtime.Scheme
	// Namespaces are created once the API server is up.
	Namespaces []string
	// NodeRestriction turns on the NodeRestriction admission plugin, as in
	// clusters: PodCertificateRequests are admitted only from the kubelet
	// of the pod's node.
	NodeRestriction bool
	// CertificatesV1beta1 serves certificates.k8s.io/v1beta1 with the
	// feature gates a Kubernetes 1.36 cluster needs for PodCertificateRequests
	// and ClusterTrustBundles (PodCertificateRequest, ClusterTrustBundle,
	// ClusterTrustBundleProjection). Run such a suite with the 1.36 assets:
	// 1.37 serves these kinds at v1 by default.
	CertificatesV1beta1 bool
	// Restartable gives etcd and kube-apiserver directories of the
	// Server's own, so that StopAPIServer / StartAPIServer and StopEtcd /
	// StartEtcd keep the data, the serving certificate and the ports
	// (the local stack's outages).
	Restartable bool
	// LogOutput, when set, receives the output of kube-apiserver and etcd
	// (discarded otherwise), e.g. to scan it for key material.
	LogOutput io.Writer
	// AuditLogPath, when set, makes kube-apiserver write an audit log
	// there (JSON lines, batched): one event per write to a
	// CertificateRequest's status, with when the request came in and when
	// its response was complete (microseconds, the API server's clock).
	// The benchmark harness splits a request's latency with it (which
	// share is the signer's, which the API server's). Nothing else is
	// logged, so the cost is a line per status write.
	AuditLogPath string
	// AuditNamespaces, when set, limits that log to the writes in these
	// namespaces, so that stages the log is not read for do not pay for
	// it.
	AuditNamespaces []string
}

// auditPolicy logs the writes to CertificateRequests' status once each, at
// ResponseComplete (which carries both timestamps), without bodies; in
// namespaces only, when given.
func auditPolicy(namespaces []string) string {
	limit := ""
	if len(namespaces) > 0 {
		quoted := make([]string, len(namespaces))
		for i, ns := range namespaces {
			quoted[i] = strconv.Quote(ns)
		}
		limit = "\n  namespaces: [" + strings.Join(quoted, ", ") + "]"
	}
	return `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted", "Panic"]
rules:
- level: Metadata
  verbs: ["update", "patch"]` + limit + `
  resources:
  - group: cert-manager.io
    resources: ["certificaterequests/status"]
- level: None
`
}

// Server is a running kube-apiserver and etcd with our CRDs and
// cert-manager's installed.
type Server struct {
	// Env is the envtest environment (its KubeConfig is an admin kubeconfig).
	Env *envtest.Environment
	// Config is an admin REST config for the API server.
	Config *rest.Config
	// Client is an uncached client with Options.Scheme.
	Client client.Client
	// Clientset is a client-go clientset with the admin identity.
	Clientset kubernetes.Interface

	// planeDir holds etcd's data and kube-apiserver's certificates with
	// Options.Restartable.
	planeDir string
}

// Start starts a real kube-apiserver and etcd from the binaries in
// KUBEBUILDER_ASSETS (built by `make envtest-assets`), installs our CRDs,
// cert-manager's (from its module in the module cache) and
// o.ExtraCRDPaths, and creates o.Namespaces (one that exists already, such
// as default, is left as it is). On error, whatever it started is already
// stopped; otherwise call Stop.
func Start(ctx context.Context, o Options) (s *Server, err error) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		hint := ""
		if o.CertificatesV1beta1 {
			hint = " (1.36 assets)"
		}
		return nil, fmt.Errorf("KUBEBUILDER_ASSETS is not set%s: run through make (test-integration, e2e, demo, bench, chaos) or point it at the folder `make envtest-assets` builds", hint)
	}
	cmCRDs, err := CertManagerCRDDir(ctx, o.RepoRoot)
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		CRDDirectoryPaths: append([]string{
			filepath.Join(o.RepoRoot, "config", "crd", "bases"),
			cmCRDs,
		}, o.ExtraCRDPaths...),
		ErrorIfCRDPathMissing: true,
	}
	if o.LogOutput != nil {
		env.ControlPlane.APIServer = &envtest.APIServer{Out: o.LogOutput, Err: o.LogOutput}
		env.ControlPlane.Etcd = &envtest.Etcd{Out: o.LogOutput, Err: o.LogOutput}
	}
	args := env.ControlPlane.GetAPIServer().Configure()
	if o.CertificatesV1beta1 {
		args.Append("feature-gates", "PodCertificateRequest=true,ClusterTrustBundle=true,ClusterTrustBundleProjection=true")
		args.Append("runtime-config", "certificates.k8s.io/v1beta1=true")
	}
	if o.NodeRestriction {
		args.Append("enable-admission-plugins", "NodeRestriction")
	}
	if o.AuditLogPath != "" {
		policy := filepath.Join(filepath.Dir(o.AuditLogPath), "audit-policy.yaml")
		if err := os.WriteFile(policy, []byte(auditPolicy(o.AuditNamespaces)), 0o600); err != nil {
			return nil, fmt.Errorf("writing the audit policy: %w", err)
		}
		args.Append("audit-policy-file", policy)
		args.Append("audit-log-path", o.AuditLogPath)
		args.Append("audit-log-format", "json")
		// Batched, so that no request waits on the log; flushed within a
		// second, so that a stage's events are in the file soon after it.
		args.Append("audit-log-mode", "batch")
		args.Append("audit-log-batch-max-wait", "1s")
		// Never rotated: kube-apiserver writes it through lumberjack,
		// which rotates at 100 MB when given no size, and a reader that
		// remembered an offset would find a new, shorter file.
		args.Append("audit-log-maxsize", "1000000")
	}
	s = &Server{Env: env}
	// Stop also after a failed Start: envtest may have started the API
	// server and etcd before failing (e.g. on a CRD the server rejects).
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Stop())
			s = nil
		}
	}()
	if o.Restartable {
		if err := s.ownPlaneDirs(); err != nil {
			return s, err
		}
	}
	if s.Config, err = env.Start(); err != nil {
		return s, fmt.Errorf("cannot start the API server: %w", err)
	}
	scheme := o.Scheme
	if scheme == nil {
		scheme = clientgoscheme.Scheme
	}
	if s.Client, err = client.New(s.Config, client.Options{Scheme: scheme}); err != nil {
		return s, err
	}
	if s.Clientset, err = kubernetes.NewForConfig(s.Config); err != nil {
		return s, err
	}
	for _, ns := range o.Namespaces {
		if err := s.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
			return s, err
		}
	}
	return s, nil
}

// Stop stops the API server and etcd, and removes the directories of
// Options.Restartable.
func (s *Server) Stop() error {
	err := s.Env.Stop()
	if s.planeDir != "" {
		err = errors.Join(err, os.RemoveAll(s.planeDir))
	}
	return err
}

// CertManagerCRDDir is the directory of cert-manager's plain CRD YAML in
// its module (deploy/crds), at the version the go.mod of the module in
// repoRoot requires.
func CertManagerCRDDir(ctx context.Context, repoRoot string) (string, error) {
	list := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/cert-manager/cert-manager")
	list.Dir = repoRoot
	dir, err := list.Output()
	if err != nil {
		if exit, ok := errors.AsType[*exec.ExitError](err); ok {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(exit.Stderr)))
		}
		return "", fmt.Errorf("cannot locate cert-manager's module for its CRDs: %w", err)
	}
	return filepath.Join(strings.TrimSpace(string(dir)), "deploy", "crds"), nil
}
