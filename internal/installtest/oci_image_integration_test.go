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

package installtest

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/nstance-dev/nstance-issuer/internal/image"
)

// TestOCIImage builds the image as `make image` does (static binaries for
// linux/amd64 and linux/arm64, then cmd/nstance-image), opens the layout
// with go-containerregistry, checks each image's config and filesystem, and
// runs the binary taken from this machine's architecture's layer.
func TestOCIImage(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	dir := t.TempDir()
	args := []string{"run", "./cmd/nstance-image", "-out", filepath.Join(dir, "oci"), "-version", "9.9.9"}
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	for arch := range machines {
		bin := filepath.Join(dir, "nstance-issuer-linux-"+arch)
		build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/nstance-issuer")
		build.Dir = root
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build for %s: %v\n%s", arch, err, out)
		}
		args = append(args, "-binary", arch+"="+bin)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nstance-image: %v\n%s", err, out)
	}

	idx, err := layout.ImageIndexFromPath(filepath.Join(dir, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	images, err := image.ReadIndex(idx)
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != len(machines) {
		t.Fatalf("the index holds %d images, want %d", len(images), len(machines))
	}
	for arch, img := range images {
		c := img.Config.Config
		if c.User != image.User || len(c.Entrypoint) != 1 || c.Entrypoint[0] != image.BinaryPath || c.Labels["org.opencontainers.image.version"] != "9.9.9" {
			t.Errorf("%s: user %q entrypoint %q labels %v", arch, c.User, c.Entrypoint, c.Labels)
		}
		if len(img.Files) != 1 {
			t.Errorf("%s: the image holds %d files, want only the binary (no shell)", arch, len(img.Files))
		}
		f := img.Files[strings.TrimPrefix(image.BinaryPath, "/")]
		e, err := elf.NewFile(bytes.NewReader(f.Content))
		if err != nil {
			t.Fatalf("%s: the binary is not ELF: %v", arch, err)
		}
		if e.Machine != machines[arch] {
			t.Errorf("%s: the binary is built for %s", arch, e.Machine)
		}
		for _, p := range e.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("%s: the binary is dynamically linked", arch)
			}
		}
		if arch != runtime.GOARCH {
			continue
		}
		bin := filepath.Join(dir, "from-layer")
		if err := os.WriteFile(bin, f.Content, os.FileMode(f.Mode)); err != nil {
			t.Fatal(err)
		}
		help, _ := exec.Command(bin, "--help").CombinedOutput() // flag's -help exits 0 or 2
		if !strings.Contains(string(help), "-cluster-resource-namespace") {
			t.Errorf("the binary from the %s layer does not run: --help said\n%s", arch, help)
		}
	}
}
