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

// Package image builds the controller's OCI image without a container
// engine, with go-containerregistry: one layer holding the static binary,
// no base image (so no shell and nothing else to patch), run as the numeric
// non-root user that the Pod's runAsNonRoot requires, for each
// architecture, gathered in an OCI image index next to a CycloneDX SBOM of
// each binary (sbom.go), labelled with where it comes from (labels.go).
package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	// BinaryPath is where the binary lives in the image, and its entrypoint.
	BinaryPath = "/nstance-issuer"
	// User is the image's user: distroless's nonroot, numeric so that
	// runAsNonRoot can verify it.
	User = "65532:65532"
)

// Options say what goes in the image.
type Options struct {
	// Binaries maps a Go architecture (amd64, arm64) to the static
	// linux binary built for it.
	Binaries map[string][]byte
	// SBOMs maps each architecture of Binaries to the CycloneDX JSON SBOM
	// of that binary (cyclonedx-gomod bin). Empty: no SBOM; otherwise
	// every binary needs one, and each must name its binary's SHA-256.
	SBOMs map[string][]byte
	// Runtime maps an architecture of Binaries to files put in the image
	// beside the binary (path in the image, no leading '/' → content),
	// in a layer of their own: the C runtime of the PKCS#11 variant,
	// whose binary is linked against glibc (its dynamic loader and
	// libc.so.6, which also dlopens the HSM's module). Empty for the
	// static default and FIPS images.
	Runtime map[string]map[string][]byte
	// Metadata says what the labels and annotations carry.
	Metadata Metadata
}

// Build returns the image index with one image per architecture of
// o.Binaries, then one SBOM artefact per architecture, in a stable order,
// with no timestamp but o.Metadata.Created: the same inputs give the same
// digests.
func Build(o Options) (v1.ImageIndex, error) {
	if len(o.Binaries) == 0 {
		return nil, fmt.Errorf("no binaries to put in the image")
	}
	if len(o.SBOMs) > 0 {
		for arch := range o.Binaries {
			if _, ok := o.SBOMs[arch]; !ok {
				return nil, fmt.Errorf("no SBOM for the %s binary: give one per architecture, or none", arch)
			}
		}
		for arch := range o.SBOMs {
			if _, ok := o.Binaries[arch]; !ok {
				return nil, fmt.Errorf("an SBOM for %s, which has no binary", arch)
			}
		}
	}
	labels := o.Metadata.Labels()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	idx = mutate.Annotations(idx, labels).(v1.ImageIndex)
	arches := slices.Sorted(maps.Keys(o.Binaries))
	images := map[string]v1.Image{}
	for _, arch := range arches {
		img, err := archImage(arch, o.Binaries[arch], o.Runtime[arch], labels)
		if err != nil {
			return nil, fmt.Errorf("image for %s: %w", arch, err)
		}
		images[arch] = img
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}},
		})
	}
	for _, arch := range arches {
		sbom, ok := o.SBOMs[arch]
		if !ok {
			continue
		}
		if err := CheckSBOM(sbom, o.Binaries[arch]); err != nil {
			return nil, fmt.Errorf("SBOM for %s: %w", arch, err)
		}
		a, err := sbomArtifact(sbom, arch, images[arch], o.Metadata)
		if err != nil {
			return nil, fmt.Errorf("SBOM for %s: %w", arch, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        a,
			Descriptor: v1.Descriptor{Platform: &sbomPlatform, ArtifactType: SBOMMediaType},
		})
	}
	return idx, nil
}

// archImage is the image of one architecture: its runtime files, if any,
// then the binary.
func archImage(arch string, binary []byte, runtime map[string][]byte, labels map[string]string) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: arch,
		OS:           "linux",
		Config: v1.Config{
			User:       User,
			Entrypoint: []string{BinaryPath},
			Labels:     labels,
		},
		RootFS: v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	if len(runtime) > 0 {
		// 0755: the kernel runs the binary's ELF interpreter (glibc's
		// loader) only if it is executable.
		layer, err := filesLayer(runtime, 0o755)
		if err != nil {
			return nil, err
		}
		if img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: types.OCILayer,
			History: v1.History{CreatedBy: "nstance-issuer make image-pkcs11: the C runtime (glibc's loader and libc) that runs the binary and loads PKCS#11 modules"}}); err != nil {
			return nil, err
		}
	}
	layer, err := binaryLayer(binary)
	if err != nil {
		return nil, err
	}
	what := "the static binary at "
	if len(runtime) > 0 {
		what = "the binary (cgo, PKCS#11) at "
	}
	return mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: types.OCILayer,
		History: v1.History{CreatedBy: "nstance-issuer make image: " + what + BinaryPath}})
}

// filesLayer is a layer of files owned by root with mode, in path order,
// and the directories above them.
func filesLayer(files map[string][]byte, mode int64) (v1.Layer, error) {
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		var parents []string
		for d := path.Dir(name); d != "." && d != "/" && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			if err := w.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755, Format: tar.FormatPAX}); err != nil {
				return nil, err
			}
		}
		content := files[name]
		if err := w.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(content)), Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
		if _, err := w.Write(content); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// binaryLayer is a layer holding the binary at BinaryPath, owned by root
// and not writable by the image's user. go-containerregistry takes the
// layer as a tar stream; archive/tar writes its one entry.
func binaryLayer(binary []byte) (v1.Layer, error) {
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	if err := w.WriteHeader(&tar.Header{
		Name:     BinaryPath[1:],
		Typeflag: tar.TypeReg,
		Mode:     0o755,
		Size:     int64(len(binary)),
		Format:   tar.FormatPAX,
	}); err != nil {
		return nil, err
	}
	if _, err := w.Write(binary); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// WriteLayout writes the index as an OCI image layout directory (what
// `crane push DIR REF --index` and `skopeo copy --all oci:DIR ...` read).
func WriteLayout(dir string, idx v1.ImageIndex) error {
	_, err := layout.Write(dir, idx)
	return err
}

// File is a file of an image's filesystem.
type File struct {
	Mode    int64
	UID     int
	Content []byte
	// Dir is a directory entry (the -pkcs11 image's runtime layer has
	// them above its libraries).
	Dir bool
}

// ArchImage is what ReadIndex reports of one image of an index.
type ArchImage struct {
	Config *v1.ConfigFile
	Files  map[string]File
}

// ReadIndex reads back every image of an index (not its artefacts, see
// ReadSBOMs): its config and the files of its flattened filesystem. The
// tests check built images with it.
func ReadIndex(idx v1.ImageIndex) (map[string]ArchImage, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	out := map[string]ArchImage{}
	for _, d := range m.Manifests {
		if isArtifact(d) {
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		if d.Platform == nil || d.Platform.Architecture != cfg.Architecture {
			return nil, fmt.Errorf("index entry %s names platform %v, its config says %s", d.Digest, d.Platform, cfg.Architecture)
		}
		files := map[string]File{}
		rc := mutate.Extract(img)
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				_ = rc.Close()
				return nil, err
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				_ = rc.Close()
				return nil, err
			}
			files[h.Name] = File{Mode: h.Mode, UID: h.Uid, Content: b, Dir: h.Typeflag == tar.TypeDir}
		}
		_ = rc.Close()
		out[cfg.Architecture] = ArchImage{Config: cfg, Files: files}
	}
	return out, nil
}
