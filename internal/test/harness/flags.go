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

package harness

import (
	"flag"
	"path/filepath"
	"strings"
)

// Flags are the flags both harnesses take: the load, the manager process
// they run and where the results go.
type Flags struct {
	// N is how many Certificates (or CertificateRequests) per issuer and
	// scenario.
	N int
	// Workers is how many goroutines create objects.
	Workers int
	// ManagerBinary is the built cmd/nstance-issuer run as the manager
	// process; absolute after Complete.
	ManagerBinary string
	// ManagerArgs are extra flags for the manager process.
	ManagerArgs []string
	// RepoRoot is the repository's root (for the CRDs); absolute after
	// Complete.
	RepoRoot string
	// Out is where the results are written as JSON.
	Out string
	// AuditLogPath, set by a harness (not a flag), makes the stack's API
	// server write an audit log of CertificateRequest status writes there
	// (localstack.Options.AuditLogPath).
	AuditLogPath string
	// AuditNamespaces limits that log to these namespaces.
	AuditNamespaces []string

	managerArgs string
}

// Defaults are what differs between the harnesses' common flags.
type Defaults struct {
	// N is -n's default and NUsage its help.
	N      int
	NUsage string
	// Out is -out's default.
	Out string
}

// Register defines the flags on fs.
func (f *Flags) Register(fs *flag.FlagSet, d Defaults) {
	fs.IntVar(&f.N, "n", d.N, d.NUsage)
	fs.IntVar(&f.Workers, "workers", 16, "Harness goroutines creating objects (its client is not rate limited).")
	fs.StringVar(&f.ManagerBinary, "manager-binary", "bin/nstance-issuer", "Built cmd/nstance-issuer to run as the manager process.")
	fs.StringVar(&f.managerArgs, "manager-args", "", "Extra flags for the manager process, space-separated (e.g. \"--kube-api-qps=500 --kube-api-burst=1000\").")
	fs.StringVar(&f.RepoRoot, "repo-root", ".", "The repository's root.")
	fs.StringVar(&f.Out, "out", d.Out, "Where to write the results as JSON.")
}

// Complete splits -manager-args and makes the paths absolute; call it once
// the flags are parsed.
func (f *Flags) Complete() error {
	f.ManagerArgs = strings.Fields(f.managerArgs)
	var err error
	if f.RepoRoot, err = filepath.Abs(f.RepoRoot); err != nil {
		return err
	}
	f.ManagerBinary, err = filepath.Abs(f.ManagerBinary)
	return err
}
