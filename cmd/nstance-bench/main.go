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

// Command nstance-bench is the load harness: nstance-issuer against
// cert-manager's own CA issuer on the local stack, phase by phase (the
// signing core, the API server's floor, the issuer stage and backlog, pod
// certificates, Certificates end to end, memory). Its logic is
// internal/test/bench; `make bench` runs it, docs/performance.md explains
// every figure.
package main

import (
	"flag"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/nstance-dev/nstance-issuer/internal/test/bench"
)

func main() {
	var c bench.Config
	c.RegisterFlags(flag.CommandLine)
	flag.Parse()
	os.Exit(bench.Main(ctrl.SetupSignalHandler(), &c))
}
