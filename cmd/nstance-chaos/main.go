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

// Command nstance-chaos is the fault harness: Certificates through
// cert-manager's controllers to nstance-issuer and, as the control, to
// cert-manager's own CA issuer, on the local stack, while it kills the
// signer, restarts cert-manager, kills the leader of two replicas, breaks
// the CA Secret or stops kube-apiserver or etcd; counts are asserted, times
// reported. Its logic is internal/test/chaos; `make chaos` runs it,
// docs/reliability.md explains every scenario and count.
package main

import (
	"flag"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/nstance-dev/nstance-issuer/internal/test/chaos"
)

func main() {
	var c chaos.Config
	c.RegisterFlags(flag.CommandLine)
	flag.Parse()
	os.Exit(chaos.Main(ctrl.SetupSignalHandler(), &c))
}
