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

package image_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/nstance-dev/nstance-issuer/internal/image"
)

// The version, revision and creation time the variant images are built
// with, and their labels are checked against.
const (
	testVersion  = "v9.9.9"
	testRevision = "0123456789abcdef0123456789abcdef01234567"
)

// buildVariant builds the image variant (fips, pkcs11) with
// hack/build-image.sh for this machine's architecture only, and returns
// it read back from its OCI layout, with the layout's index.
func buildVariant(ctx context.Context, t *testing.T, root, variant string) (image.ArchImage, v1.ImageIndex) {
	t.Helper()
	dir := t.TempDir()
	build := exec.CommandContext(ctx, filepath.Join(root, "hack", "build-image.sh"), dir, variant)
	build.Env = append(os.Environ(), "IMAGE_ARCHES="+runtime.GOARCH, "VERSION="+testVersion, "REVISION="+testRevision, "CREATED=1796577177")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("hack/build-image.sh %s: %v\n%s", variant, err, out)
	}
	idx, err := layout.ImageIndexFromPath(filepath.Join(dir, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	images, err := image.ReadIndex(idx)
	if err != nil {
		t.Fatal(err)
	}
	img, ok := images[runtime.GOARCH]
	if !ok || len(images) != 1 {
		t.Fatalf("the index holds images for %d architectures, want %s only", len(images), runtime.GOARCH)
	}
	return img, idx
}
