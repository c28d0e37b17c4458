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

// Package integration is the TestMain of the integration suites: a real
// kube-apiserver and etcd with our CRDs and cert-manager's
// (apiserver.Start) and, when asked, the nstance-issuer manager
// wired exactly as the binary wires it (app.New). It is apart from
// internal/test/framework because it needs internal/app, whose own tests
// use the framework.
package integration

import (
	"context"
	"fmt"
	"os"
	"testing"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/nstance-dev/nstance-issuer/internal/app"
	"github.com/nstance-dev/nstance-issuer/internal/test/apiserver"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
)

// Options configure Run.
type Options struct {
	// APIServer configures the API server. A nil Scheme means
	// app.NewScheme's: Kubernetes, cert-manager and nstance-issuer kinds.
	APIServer apiserver.Options
	// Prepare, when set, runs once the API server is up, before the
	// manager starts (to install what the suite's manager relies on).
	Prepare func(ctx context.Context, api *apiserver.Server) error
	// Manager, when not nil, runs the nstance-issuer manager built by
	// app.New with these options while the tests run.
	Manager *app.Options
	// Ready is called once the API server (and the manager, nil without
	// Options.Manager) are set up, before the tests run: the suite keeps
	// what it needs in its package variables.
	Ready func(api *apiserver.Server, mgr ctrl.Manager)
}

// Run is a TestMain body: it starts what o asks for, runs the tests and
// stops everything again, and returns the exit code for os.Exit. A
// failure to start, or a manager that ends with an error, is printed to
// stderr and fails the run.
func Run(m *testing.M, o Options) int {
	if o.APIServer.Scheme == nil {
		scheme, err := app.NewScheme()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		o.APIServer.Scheme = scheme
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	api, err := apiserver.Start(ctx, o.APIServer)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = api.Stop() }()
	if o.Prepare != nil {
		if err := o.Prepare(ctx, api); err != nil {
			fmt.Fprintln(os.Stderr, "cannot prepare the API server:", err)
			return 1
		}
	}
	if o.Manager == nil {
		if o.Ready != nil {
			o.Ready(api, nil)
		}
		return m.Run()
	}
	mgr, err := app.New(ctx, api.Config, *o.Manager)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot set up the manager:", err)
		return 1
	}
	if o.Ready != nil {
		o.Ready(api, mgr)
	}
	stop := framework.RunInBackground(ctx, mgr)
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		return 1
	}
	return code
}
