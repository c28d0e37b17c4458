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

// Command nstance-issuer runs the nstance-issuer controllers: a cert-manager
// external issuer that signs CertificateRequests and Kubernetes
// CertificateSigningRequests with a CA held by NstanceIssuer and
// NstanceClusterIssuer resources, shaped by named templates.
package main

import (
	"flag"
	"os"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/nstance-dev/nstance-issuer/internal/app"
	"github.com/nstance-dev/nstance-issuer/internal/controller"
)

func addFlags(fs *flag.FlagSet, o *app.Options) {
	defaultNamespace := os.Getenv("POD_NAMESPACE")
	if defaultNamespace == "" {
		defaultNamespace = "nstance-issuer"
	}
	c := &o.Controller
	fs.StringVar(&c.ClusterResourceNamespace, "cluster-resource-namespace", defaultNamespace,
		"Namespace NstanceClusterIssuers read their CA Secrets from (default: $POD_NAMESPACE, else nstance-issuer).")
	fs.BoolVar(&c.SetCAOnCertificateRequest, "set-ca-on-certificate-request", true,
		"Fill CertificateRequest status.ca, and so ca.crt in the Certificate's Secret, with the CA's root.")
	fs.IntVar(&c.MaxConcurrentReconciles, "max-concurrent-reconciles", controller.DefaultMaxConcurrentReconciles,
		"Workers per controller (issuers, CertificateRequests, Kubernetes CSRs).")
	fs.DurationVar(&c.MaxRetryDuration, "max-retry-duration", 24*time.Hour,
		"How long an unexpected signing error is retried before the request is failed. CA problems never fail requests: they wait.")
	fs.DurationVar(&c.CAExpiryWarning, "ca-expiry-warning", 30*24*time.Hour,
		"How long before a CA expires its issuer records a warning Event.")
	fs.BoolVar(&c.DisableKubernetesCSRs, "disable-kubernetes-csrs", false,
		"Do not sign Kubernetes CertificateSigningRequests.")
	fs.StringVar(&o.MetricsBindAddress, "metrics-bind-address", ":8080", "Address of the Prometheus metrics endpoint; 0 disables it.")
	fs.StringVar(&o.HealthProbeBindAddress, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz endpoints; 0 disables it.")
	fs.StringVar(&o.PprofBindAddress, "pprof-bind-address", "0", "Address of Go's /debug/pprof profiling endpoints; 0 disables them (the default: they expose memory contents to whoever can reach them).")
	fs.BoolVar(&o.LeaderElect, "leader-elect", true, "Elect a leader so that only one replica signs at a time.")
	fs.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election Lease (default: the cluster resource namespace).")
	fs.StringVar(&o.LeaderElectionID, "leader-election-id", "nstance-issuer-leader", "Name of the leader election Lease.")
	fs.Float64Var(&o.KubeAPIQPS, "kube-api-qps", 0,
		"Client-side limit of queries per second to the API server. 0: none when the API server has API Priority and Fairness (it protects itself), else 50. < 0: none.")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", 0, "Burst of queries above --kube-api-qps. 0: twice the QPS (100 with the automatic 50). Unused when there is no client-side limit.")
}

func main() {
	var o app.Options
	addFlags(flag.CommandLine, &o)
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse() // controller-runtime registers --kubeconfig on the default FlagSet.
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	ctx := ctrl.SetupSignalHandler()
	cfg, err := ctrl.GetConfig()
	if err != nil {
		log.Error(err, "failed to load a kubeconfig")
		os.Exit(1)
	}
	mgr, err := app.New(ctx, cfg, o)
	if err != nil {
		log.Error(err, "failed to set up")
		os.Exit(1)
	}
	log.Info("starting", "clusterResourceNamespace", o.Controller.ClusterResourceNamespace, "leaderElect", o.LeaderElect)
	// Start returns an error when the leader Lease is lost: the process
	// exits and is restarted rather than signing on without the lease.
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "manager stopped")
		os.Exit(1)
	}
}
