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

package app

import (
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
)

var update = flag.Bool("update", false, "rewrite the flags table of docs/operations.md from the FlagSet")

const (
	flagsDocPath    = "../../docs/operations.md"
	flagsTableStart = "<!-- flags-table:start (generated from the FlagSet by `make docs-flags`; do not edit) -->"
	flagsTableEnd   = "<!-- flags-table:end -->"
)

// flagsTable renders every flag of the binary as a Markdown table: those of
// Options.AddFlags and controller-runtime's --kubeconfig.
func flagsTable(t *testing.T) string {
	t.Helper()
	t.Setenv("POD_NAMESPACE", "")
	fs := flag.NewFlagSet("nstance-issuer", flag.ContinueOnError)
	NewOptions().AddFlags(fs)
	fs.String("kubeconfig", "", "Path to a kubeconfig, for running outside a cluster (controller-runtime's flag; default: in-cluster config, else $KUBECONFIG, else ~/.kube/config).")
	var b strings.Builder
	b.WriteString("| flag | default | meaning |\n|---|---|---|\n")
	fs.VisitAll(func(f *flag.Flag) {
		def := ""
		if f.DefValue != "" {
			def = "`" + f.DefValue + "`"
		}
		usage := strings.ReplaceAll(strings.ReplaceAll(f.Usage, "\n", " "), "|", "\\|")
		fmt.Fprintf(&b, "| `--%s` | %s | %s |\n", f.Name, def, usage)
	})
	return b.String()
}

// TestDocsFlagsTable: the flags table of docs/operations.md is every flag
// of the binary, as the FlagSet describes it.
func TestDocsFlagsTable(t *testing.T) {
	want := "\n" + flagsTable(t)
	got, err := framework.SyncSection(flagsDocPath, flagsTableStart, flagsTableEnd, want, *update)
	if err != nil {
		t.Fatal(err)
	}
	if got != want && !*update {
		t.Errorf("the flags table of docs/operations.md is stale: run `make docs-flags` and commit")
	}
}

func TestOptionsRoundTripThroughArgs(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "")
	o := NewOptions()
	if args := o.Args(); len(args) != 0 {
		t.Errorf("the defaults render as %q, want no flags", args)
	}
	o.Controller.ClusterResourceNamespace = "cert-system"
	o.Controller.MaxRetryDuration = 5 * time.Minute
	o.LeaderElect = false
	o.KubeAPIQPS = 500
	args := o.Args()
	back, err := ParseArgs(args)
	if err != nil {
		t.Fatalf("ParseArgs(%q) = %v", args, err)
	}
	if back.Controller.ClusterResourceNamespace != "cert-system" || back.Controller.MaxRetryDuration != 5*time.Minute ||
		back.LeaderElect || back.KubeAPIQPS != 500 || back.Controller.MaxConcurrentReconciles != o.Controller.MaxConcurrentReconciles {
		t.Errorf("options after a round trip through %q = %+v", args, back)
	}
	if _, err := ParseArgs([]string{"--no-such-flag"}); err == nil {
		t.Errorf("an unknown flag parsed")
	}
}
