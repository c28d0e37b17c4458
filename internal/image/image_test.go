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

package image

import (
	"maps"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// readLayout opens an OCI image layout and reads back its images.
func readLayout(t *testing.T, dir string) map[string]ArchImage {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ReadIndex(idx)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBuildWritesAnIndexOfNonRootSingleBinaryImages(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := Options{Binaries: map[string][]byte{"amd64": []byte("amd64 binary"), "arm64": []byte("arm64 binary")}, Metadata: Metadata{Version: "1.2.3", Revision: "abc"}}
	idx, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteLayout(dir, idx); err != nil {
		t.Fatal(err)
	}
	images := readLayout(t, dir)
	if got := slices.Sorted(maps.Keys(images)); !slices.Equal(got, []string{"amd64", "arm64"}) {
		t.Fatalf("architectures %v, want amd64 and arm64", got)
	}
	for arch, img := range images {
		c := img.Config
		if c.OS != "linux" || c.Architecture != arch {
			t.Errorf("%s: platform %s/%s", arch, c.OS, c.Architecture)
		}
		if c.Config.User != "65532:65532" || !slices.Equal(c.Config.Entrypoint, []string{"/nstance-issuer"}) {
			t.Errorf("%s: user %q entrypoint %q", arch, c.Config.User, c.Config.Entrypoint)
		}
		if c.Config.Labels["org.opencontainers.image.version"] != "1.2.3" || c.Config.Labels["org.opencontainers.image.revision"] != "abc" ||
			c.Config.Labels["org.opencontainers.image.licenses"] != "Apache-2.0" {
			t.Errorf("%s: labels %v", arch, c.Config.Labels)
		}
		if len(img.Files) != 1 {
			t.Errorf("%s: files %v, want only the binary (no shell, nothing else)", arch, img.Files)
		}
		f, ok := img.Files["nstance-issuer"]
		if !ok || string(f.Content) != arch+" binary" || f.Mode != 0o755 || f.UID != 0 {
			t.Errorf("%s: binary %+v, want root-owned, mode 0755, the %s build", arch, f, arch)
		}
	}

	again, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := idx.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("the same binaries gave digests %s and %s: the image is not reproducible", d1, d2)
	}
}

func TestBuildNeedsABinary(t *testing.T) {
	t.Parallel()
	if _, err := Build(Options{}); err == nil {
		t.Error("an image without a binary was built")
	}
}
