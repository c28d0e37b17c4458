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

package test

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// module is this repository's Go module.
const module = "github.com/nstance-dev/nstance-issuer"

// testSupport are package paths (a trailing / for a prefix) that only
// tests may link: the test tree and the e2e suite, and the test
// libraries the suites use.
var testSupport = []string{
	module + "/internal/test/",
	module + "/internal/test",
	module + "/e2e",
	"testing",
	"testing/",
	"sigs.k8s.io/controller-runtime/pkg/envtest",
	"sigs.k8s.io/controller-runtime/pkg/client/fake",
	"k8s.io/client-go/kubernetes/fake",
	"github.com/onsi/",
	"github.com/stretchr/testify/",
}

func isTestSupport(pkg string) bool {
	for _, s := range testSupport {
		if pkg == s || strings.HasSuffix(s, "/") && strings.HasPrefix(pkg, s) {
			return true
		}
	}
	return false
}

// TestManagerLinksNoTestSupport: no package of the test tree, and no test
// library, is linked into the manager binary (go list -deps
// ./cmd/nstance-issuer), however it would get there.
func TestManagerLinksNoTestSupport(t *testing.T) {
	t.Parallel()
	cmd := exec.CommandContext(t.Context(), "go", "list", "-deps", "./cmd/nstance-issuer")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if exit := (*exec.ExitError)(nil); errors.As(err, &exit) {
			stderr = string(exit.Stderr)
		}
		t.Fatalf("go list -deps ./cmd/nstance-issuer: %v\n%s", err, stderr)
	}
	deps := strings.Fields(string(out))
	if !strings.Contains(string(out), module+"/internal/controller\n") {
		t.Fatalf("go list -deps did not list the manager's own packages:\n%s", out)
	}
	for _, pkg := range deps {
		if isTestSupport(pkg) {
			t.Errorf("the manager binary links %s: test support belongs in tests, the harnesses and the demo (see internal/test)", pkg)
		}
	}
}

func TestIsTestSupport(t *testing.T) {
	t.Parallel()
	for pkg, want := range map[string]bool{
		module + "/internal/test/framework":          true,
		module + "/internal/test":                    true,
		module + "/internal/testing":                 false,
		module + "/internal/controller":              false,
		module + "/e2e":                              true,
		"testing":                                    true,
		"testing/fstest":                             true,
		"sigs.k8s.io/controller-runtime/pkg/envtest": true,
		"sigs.k8s.io/controller-runtime/pkg/client":  false,
		"github.com/onsi/gomega":                     true,
		"github.com/stretchr/testify/assert":         true,
		"k8s.io/client-go/kubernetes":                false,
	} {
		if got := isTestSupport(pkg); got != want {
			t.Errorf("isTestSupport(%q) = %t, want %t", pkg, got, want)
		}
	}
}
