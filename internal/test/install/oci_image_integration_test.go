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
	"archive/tar"
	"bytes"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/nstance-dev/nstance-issuer/internal/image"
)

// TestOCIImage builds the image as `make image` does (hack/build-image.sh:
// static binaries for linux/amd64 and linux/arm64, their CycloneDX SBOMs
// with the pinned cyclonedx-gomod, then cmd/nstance-image), opens the
// layout with go-containerregistry, checks each image's config, labels and
// filesystem, that the index holds an SBOM of each binary that lists the
// module's main dependencies at the versions of go.mod and the Go version
// that built it, and runs the binary taken from this machine's
// architecture's layer.
func TestOCIImage(t *testing.T) {
	t.Parallel()
	root := repoRoot
	if os.Getenv("CYCLONEDX_GOMOD") == "" {
		t.Fatal("CYCLONEDX_GOMOD is not set: run these tests with `make test-install`")
	}
	dir := t.TempDir()
	const revision = "0123456789abcdef0123456789abcdef01234567"
	build := exec.Command(filepath.Join(root, "hack", "build-image.sh"), dir)
	build.Env = append(os.Environ(), "IMAGE_ARCHES=amd64 arm64", "VERSION=9.9.9", "REVISION="+revision, "CREATED=1796577177",
		"ARCHIVE="+filepath.Join(dir, "image.oci.tar"))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("hack/build-image.sh: %v\n%s", err, out)
	}

	idx, err := layout.ImageIndexFromPath(filepath.Join(dir, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	images, err := image.ReadIndex(idx)
	if err != nil {
		t.Fatal(err)
	}
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	if len(images) != len(machines) {
		t.Fatalf("the index holds %d images, want %d", len(images), len(machines))
	}
	wantLabels := map[string]string{
		image.LabelSource: "https://github.com/nstance-dev/nstance-issuer", image.LabelRevision: revision, image.LabelVersion: "9.9.9",
		image.LabelCreated: "2026-12-06T17:12:57Z", image.LabelLicenses: "Apache-2.0",
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range wantLabels {
		if m.Annotations[k] != v {
			t.Errorf("index annotation %s = %q, want %q", k, m.Annotations[k], v)
		}
	}
	if _, ok := m.Annotations[image.LabelFIPS140]; ok {
		t.Errorf("the default image is labelled FIPS: %v", m.Annotations)
	}
	digests := map[string]v1.Hash{}
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.OS == "linux" {
			digests[d.Platform.Architecture] = d.Digest
		}
	}
	binaries := map[string][]byte{}
	for arch, img := range images {
		c := img.Config.Config
		if c.User != image.User || len(c.Entrypoint) != 1 || c.Entrypoint[0] != image.BinaryPath {
			t.Errorf("%s: user %q entrypoint %q", arch, c.User, c.Entrypoint)
		}
		for k, v := range wantLabels {
			if c.Labels[k] != v {
				t.Errorf("%s: label %s = %q, want %q", arch, k, c.Labels[k], v)
			}
		}
		if len(img.Files) != 1 {
			t.Errorf("%s: the image holds %d files, want only the binary (no shell)", arch, len(img.Files))
		}
		f := img.Files[strings.TrimPrefix(image.BinaryPath, "/")]
		binaries[arch] = f.Content
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
		if info, err := image.ReadBinaryInfo(f.Content); err != nil || info.FIPS140 != "" {
			t.Errorf("%s: build info %+v (%v): the default image must not be built with GOFIPS140", arch, info, err)
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

	// The SBOMs: one per image, in the index, naming its image as subject.
	sboms, err := image.ReadSBOMs(idx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sboms) != len(machines) {
		t.Fatalf("the index holds %d SBOMs, want one per image", len(sboms))
	}
	deps := moduleVersions(t, root, "github.com/cert-manager/issuer-lib", "github.com/cert-manager/cert-manager", "sigs.k8s.io/controller-runtime")
	for _, s := range sboms {
		if s.Entry.ArtifactType != image.SBOMMediaType || s.Manifest.Subject == nil || s.Manifest.Subject.Digest != digests[s.Arch] {
			t.Errorf("%s SBOM: entry %+v, subject %+v: want a CycloneDX artefact whose subject is the %s image %s", s.Arch, s.Entry, s.Manifest.Subject, s.Arch, digests[s.Arch])
		}
		if err := image.CheckSBOM(s.Content, binaries[s.Arch]); err != nil {
			t.Errorf("%s SBOM: %v", s.Arch, err)
		}
		onDisk, err := os.ReadFile(filepath.Join(dir, "nstance-issuer-linux-"+s.Arch+".cdx.json"))
		if err != nil || !bytes.Equal(onDisk, s.Content) {
			t.Errorf("%s SBOM: the file next to the image differs from the one in the index (%v)", s.Arch, err)
		}
		components, err := image.SBOMComponents(s.Content)
		if err != nil {
			t.Fatal(err)
		}
		for mod, v := range deps {
			if components[mod] != v {
				t.Errorf("%s SBOM: %s at %q, want %s (go.mod)", s.Arch, mod, components[mod], v)
			}
		}
		info, err := image.ReadBinaryInfo(binaries[s.Arch])
		if err != nil {
			t.Fatal(err)
		}
		props, err := image.SBOMProperties(s.Content)
		if err != nil {
			t.Fatal(err)
		}
		if components["std"] != info.GoVersion || len(props["cdx:gomod:build:env:GOVERSION"]) != 1 || props["cdx:gomod:build:env:GOVERSION"][0] != info.GoVersion {
			t.Errorf("%s SBOM: Go %q (std) and %v (GOVERSION), want %s, the binary's", s.Arch, components["std"], props["cdx:gomod:build:env:GOVERSION"], info.GoVersion)
		}
	}

	// The OCI archive holds the same layout.
	want, err := os.ReadFile(filepath.Join(dir, "oci", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	archive, err := os.Open(filepath.Join(dir, "image.oci.tar"))
	if err != nil {
		t.Fatalf("no OCI archive written: %v", err)
	}
	defer func() { _ = archive.Close() }()
	tr := tar.NewReader(archive)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("the OCI archive has no index.json: %v", err)
		}
		if h.Name != "index.json" {
			continue
		}
		if got, err := io.ReadAll(tr); err != nil || !bytes.Equal(got, want) {
			t.Errorf("the OCI archive's index.json differs from the layout's (%v)", err)
		}
		break
	}
}

// moduleVersions are the versions go.mod selects for mods.
func moduleVersions(t *testing.T, root string, mods ...string) map[string]string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-m", "-f", "{{.Path}} {{.Version}}"}, mods...)...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	v := map[string]string{}
	for l := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		if p, ver, ok := strings.Cut(l, " "); ok {
			v[p] = ver
		}
	}
	if len(v) != len(mods) {
		t.Fatalf("go list -m gave %q for %v", out, mods)
	}
	return v
}
