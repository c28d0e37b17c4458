//go:build e2e

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

// Package e2e proves nstance-issuer the way users consume it: through
// cert-manager's real controllers. By default it runs on the local stack
// (kube-apiserver + etcd built from Go modules, cert-manager's controllers
// from its Go packages, and the nstance-issuer manager); with KUBECONFIG set
// it runs unchanged against that cluster, where cert-manager and
// nstance-issuer must already be installed.
package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/internal/app"
	"github.com/nstance-dev/nstance-issuer/internal/test/localstack"
)

var (
	k8s       client.Client
	clientset kubernetes.Interface
	// clusterResourceNamespace is where NstanceClusterIssuers (and
	// cert-manager's ClusterIssuers) read their Secrets.
	clusterResourceNamespace string
	stack                    *localstack.Stack
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "nstance-issuer e2e")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	var cfg *rest.Config
	if path := os.Getenv("KUBECONFIG"); path != "" {
		By("using the cluster of KUBECONFIG " + path)
		var err error
		cfg, err = clientcmd.BuildConfigFromFlags("", path)
		Expect(err).NotTo(HaveOccurred())
		clusterResourceNamespace = os.Getenv("NSTANCE_CLUSTER_RESOURCE_NAMESPACE")
		if clusterResourceNamespace == "" {
			clusterResourceNamespace = "nstance-issuer"
		}
		scheme, err := app.NewScheme()
		Expect(err).NotTo(HaveOccurred())
		k8s, err = client.New(cfg, client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
	} else {
		By("starting the local stack: kube-apiserver, etcd, cert-manager's controllers, nstance-issuer")
		root, err := filepath.Abs("..")
		Expect(err).NotTo(HaveOccurred())
		captureLogs()
		stack, err = localstack.Start(context.Background(), localstack.Options{
			RepoRoot:       root,
			KubeconfigPath: filepath.Join(root, "bin", "e2e", "kubeconfig"),
			CertManager:    true,
			LogOutput:      stackLogs,
			ManagerOptions: softHSM(),
		})
		Expect(err).NotTo(HaveOccurred())
		cfg, k8s = stack.Config, stack.Client
		clusterResourceNamespace = localstack.ClusterResourceNamespace
	}
	clientset = kubernetes.NewForConfigOrDie(cfg)
}, NodeTimeout(5*time.Minute))

var _ = AfterSuite(func(ctx SpecContext) {
	if stack != nil {
		By("scanning every log, Event and status of the run for private key material")
		scanForKeyMaterial(ctx)
		Expect(stack.Stop()).To(Succeed())
	}
}, NodeTimeout(2*time.Minute))
