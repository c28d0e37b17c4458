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
	"runtime/debug"
	"strconv"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/nstance-dev/nstance-issuer/internal/app"
)

// defaultGCPercent is the manager's GC target when GOGC is not set: 50
// rather than Go's 100, so that the heap the runtime keeps between
// collections is 1.5 times the live heap rather than 2 (the live heap is
// mostly the cache of finished requests, about 1.5 KiB each). Measured
// (docs/performance.md, "Memory at rest at exact counts"): at 10,000
// finished requests, after signing 9,000 of them, heap in use 40 to 41 MiB
// against 45.5 to 47.7, RSS 12.5 MiB lower read the same way (100.6
// against 113.1 MiB; 10.9 MiB lower after a restart), for up to about 10%
// more CPU in the burst.
const defaultGCPercent = 50

// setGCPercent sets defaultGCPercent unless GOGC is set (an operator's
// choice wins) and returns the GC target in effect.
func setGCPercent(lookup func(string) (string, bool)) string {
	if v, set := lookup("GOGC"); set {
		return v
	}
	debug.SetGCPercent(defaultGCPercent)
	return strconv.Itoa(defaultGCPercent)
}

func main() {
	gogc := setGCPercent(os.LookupEnv)
	o := app.NewOptions()
	o.AddFlags(flag.CommandLine)
	flag.Parse() // controller-runtime registers --kubeconfig on the default FlagSet.
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&o.Zap)))
	log := ctrl.Log.WithName("setup")
	// The -fips image: say so, and refuse to run it with FIPS mode off.
	fips := app.CurrentFIPS()
	if err := fips.Check(); err != nil {
		log.Error(err, "refusing to start")
		os.Exit(1)
	}
	if fips.Enabled {
		log.Info("FIPS 140-3 mode", fips.LogValues()...)
	}

	ctx := ctrl.SetupSignalHandler()
	cfg, err := ctrl.GetConfig()
	if err != nil {
		log.Error(err, "failed to load a kubeconfig")
		os.Exit(1)
	}
	// Started while the API server (or its etcd) is away, wait for it,
	// unready, rather than exit and crash-loop into the kubelet's back-off.
	if err := app.WaitForAPIServer(ctx, cfg, o.HealthProbeBindAddress, app.DefaultAPIWait, log); err != nil {
		log.Error(err, "the API server never became ready")
		os.Exit(1)
	}
	mgr, err := app.New(ctx, cfg, *o)
	if err != nil {
		log.Error(err, "failed to set up")
		os.Exit(1)
	}
	log.Info("starting", "clusterResourceNamespace", o.Controller.ClusterResourceNamespace, "leaderElect", o.LeaderElect, "gogc", gogc)
	// Start returns an error when the leader Lease is lost: the process
	// exits and is restarted rather than signing on without the lease.
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "manager stopped")
		os.Exit(1)
	}
}
