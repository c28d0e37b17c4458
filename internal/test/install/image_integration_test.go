//go:build integration

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

package install

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestControllerImage checks what the Dockerfile and the manifests rely on,
// as far as it can be checked without a container engine: the Dockerfile's
// shape (Go version of go.mod, static build, distroless, numeric non-root
// user for runAsNonRoot), that .dockerignore lets in what it copies, that
// the binary built its way is static, and that every flag any install
// passes is a flag of that binary (a typo would crash-loop the pod).
func TestControllerImage(t *testing.T) {
	t.Parallel()
	root := repoRoot
	dockerfile := readLines(t, filepath.Join(root, "Dockerfile"))
	goVersion := ""
	for _, l := range readLines(t, filepath.Join(root, "go.mod")) {
		if v, ok := strings.CutPrefix(l, "go "); ok {
			goVersion = strings.TrimSpace(v)
		}
	}
	var froms, copies []string
	var runs, user, entrypoint string
	for _, l := range dockerfile {
		switch f := strings.Fields(l); {
		case len(f) == 0 || strings.HasPrefix(f[0], "#"):
		case f[0] == "FROM":
			froms = append(froms, l)
		case f[0] == "COPY" && !strings.HasPrefix(f[1], "--from"):
			copies = append(copies, f[1:len(f)-1]...)
		case f[0] == "USER":
			user = f[1]
		case f[0] == "ENTRYPOINT":
			entrypoint = strings.Join(f[1:], " ")
		}
		runs += l + "\n"
	}
	if len(froms) != 2 || !strings.Contains(froms[0], "golang:"+goVersion+" ") {
		t.Errorf("want a golang:%s build stage and a run stage, got %q", goVersion, froms)
	}
	if len(froms) > 0 && !regexp.MustCompile(`^FROM gcr\.io/distroless/static(-debian\d+)?:nonroot$`).MatchString(froms[len(froms)-1]) {
		t.Errorf("run stage %q is not distroless static nonroot", froms[len(froms)-1])
	}
	if !regexp.MustCompile(`^[0-9]+:[0-9]+$`).MatchString(user) || strings.HasPrefix(user, "0:") {
		t.Errorf("USER %q: runAsNonRoot needs a numeric non-root user", user)
	}
	if entrypoint != `["/nstance-issuer"]` {
		t.Errorf("ENTRYPOINT %s", entrypoint)
	}
	if !strings.Contains(runs, "CGO_ENABLED=0") || !strings.Contains(runs, "./cmd/nstance-issuer") {
		t.Error("the Dockerfile does not build ./cmd/nstance-issuer with CGO_ENABLED=0")
	}
	ignore := readLines(t, filepath.Join(root, ".dockerignore"))
	for _, c := range copies {
		if !slices.Contains(ignore, "!"+c) && !slices.Contains(ignore, "!"+strings.TrimSuffix(c, "/")) {
			t.Errorf("the Dockerfile copies %s, which .dockerignore leaves out", c)
		}
	}

	bin := filepath.Join(t.TempDir(), "nstance-issuer")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/nstance-issuer")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary is dynamically linked (%s): it cannot run on distroless/static", p.Type)
		}
	}

	usage, _ := exec.Command(bin, "-help").CombinedOutput() // flag's -help exits 0 or 2 by Go version
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z0-9-]+)`).FindAllStringSubmatch(string(usage), -1) {
		flags[m[1]] = true
	}
	if !flags["leader-elect"] {
		t.Fatalf("cannot read the binary's flags from -help:\n%s", usage)
	}
	renders := map[string][]*unstructured.Unstructured{"config/default": renderKustomize(t, configDir+"/default")}
	for _, vs := range chartValueSets {
		renders["chart "+vs.name] = renderChart(t, vs.release, vs.namespace, vs.args...)
	}
	for name, objs := range renders {
		_, c := managerContainer(t, objs)
		for _, a := range c.Args {
			flag, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
			if !strings.HasPrefix(a, "--") || !flags[flag] {
				t.Errorf("%s passes %q, which is not a flag of nstance-issuer", name, a)
			}
		}
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		lines = append(lines, strings.TrimSpace(s.Text()))
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}
