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
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// fakeSBOM is a CycloneDX document naming binary's SHA-256 as
// cyclonedx-gomod's bin mode does.
func fakeSBOM(binary []byte) []byte {
	sum := sha256.Sum256(binary)
	b, _ := json.Marshal(map[string]any{ //nolint:errchkjson // strings, maps and slices of strings only: it cannot fail
		"bomFormat": "CycloneDX", "specVersion": "1.6",
		"metadata": map[string]any{"properties": []map[string]string{
			{"name": "cdx:gomod:binary:name", "value": "nstance-issuer"},
			{"name": binaryHashProperty, "value": hex.EncodeToString(sum[:])},
		}},
	})
	return b
}

func twoArchOptions() Options {
	bins := map[string][]byte{"amd64": []byte("amd64 binary"), "arm64": []byte("arm64 binary")}
	return Options{
		Binaries: bins,
		SBOMs:    map[string][]byte{"amd64": fakeSBOM(bins["amd64"]), "arm64": fakeSBOM(bins["arm64"])},
		Metadata: Metadata{Version: "v1.2.3", Revision: "0123abc", Created: time.Unix(1796577177, 0)},
	}
}

func TestBuildAttachesOneSBOMArtefactPerImageToTheIndex(t *testing.T) {
	t.Parallel()
	o := twoArchOptions()
	idx, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteLayout(dir, idx); err != nil {
		t.Fatal(err)
	}
	back, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := back.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 4 {
		t.Fatalf("the index lists %d manifests, want 2 images and 2 SBOMs", len(m.Manifests))
	}
	images := map[v1.Hash]string{}
	for _, d := range m.Manifests[:2] {
		if d.ArtifactType == SBOMMediaType || d.Platform == nil || d.Platform.OS != "linux" {
			t.Errorf("image entry %+v: want an image for a linux platform", d)
			continue
		}
		images[d.Digest] = d.Platform.Architecture
	}
	for _, d := range m.Manifests[2:] {
		if d.ArtifactType != SBOMMediaType || d.MediaType != types.OCIManifestSchema1 {
			t.Errorf("SBOM entry %+v: want an OCI manifest of artifactType %s", d, SBOMMediaType)
		}
		if d.Platform == nil || d.Platform.OS != "unknown" || d.Platform.Architecture != "unknown" {
			t.Errorf("SBOM entry platform %+v: want unknown/unknown, which no runtime selects", d.Platform)
		}
	}

	sboms, err := ReadSBOMs(back)
	if err != nil {
		t.Fatal(err)
	}
	if len(sboms) != 2 {
		t.Fatalf("read %d SBOMs, want 2", len(sboms))
	}
	for _, s := range sboms {
		if images[s.Manifest.Subject.Digest] != s.Arch {
			t.Errorf("the %s SBOM's subject %s is not the %s image", s.Arch, s.Manifest.Subject.Digest, s.Arch)
		}
		if !bytes.Equal(s.Content, o.SBOMs[s.Arch]) {
			t.Errorf("the %s SBOM reads back as %s", s.Arch, s.Content)
		}
		if err := CheckSBOM(s.Content, o.Binaries[s.Arch]); err != nil {
			t.Errorf("the %s SBOM does not describe the %s binary: %v", s.Arch, s.Arch, err)
		}
		mf := s.Manifest
		if mf.ArtifactType != SBOMMediaType || mf.Config.MediaType != types.OCIEmptyJSON || mf.Config.Size != 2 ||
			mf.Config.Digest.String() != "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" {
			t.Errorf("the %s SBOM manifest is not an OCI 1.1 artefact with the empty config: %+v", s.Arch, mf)
		}
		if len(mf.Layers) != 1 || mf.Layers[0].MediaType != SBOMMediaType || mf.Layers[0].Annotations[LabelTitle] != "nstance-issuer-linux-"+s.Arch+".cdx.json" {
			t.Errorf("the %s SBOM manifest's blob: %+v", s.Arch, mf.Layers)
		}
		if mf.Annotations[LabelCreated] != "2026-12-06T17:12:57Z" {
			t.Errorf("the %s SBOM manifest's annotations %v: want created from the commit time", s.Arch, mf.Annotations)
		}
		img, err := back.Image(s.Entry.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if cfg, err := img.RawConfigFile(); err != nil || string(cfg) != "{}" {
			t.Errorf("the %s SBOM's config blob is %q (%v), want {}", s.Arch, cfg, err)
		}
		if at, err := partial.ArtifactType(img); err != nil || at != SBOMMediaType {
			t.Errorf("the %s SBOM's artifactType %q (%v)", s.Arch, at, err)
		}
	}
	if got, err := ReadIndex(back); err != nil || len(got) != 2 {
		t.Errorf("ReadIndex, which reads images only, gave %d images (%v), want 2", len(got), err)
	}

	again, err := Build(twoArchOptions())
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := idx.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("the same inputs gave index digests %s and %s: not reproducible", d1, d2)
	}
}

func TestBuildRefusesSBOMsThatDoNotMatchTheBinaries(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"an architecture without its SBOM is refused", func(o *Options) { delete(o.SBOMs, "arm64") }, "no SBOM for the arm64 binary"},
		{"an SBOM without its binary is refused", func(o *Options) { o.SBOMs["s390x"] = o.SBOMs["amd64"] }, "an SBOM for s390x, which has no binary"},
		{"the other architecture's SBOM is refused", func(o *Options) { o.SBOMs["arm64"] = o.SBOMs["amd64"] }, "SBOM for arm64: it describes a binary of SHA-256"},
		{"a stale SBOM of an older build is refused", func(o *Options) { o.Binaries["amd64"] = []byte("rebuilt") }, "SBOM for amd64: it describes a binary of SHA-256"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			o := twoArchOptions()
			c.edit(&o)
			_, err := Build(o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Build: %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestCheckSBOM(t *testing.T) {
	t.Parallel()
	bin := []byte("binary")
	cases := []struct {
		name string
		sbom []byte
		want string // "" accepts
	}{
		{"the SBOM of this binary is accepted", fakeSBOM(bin), ""},
		{"the SBOM of another binary is refused naming both digests", fakeSBOM([]byte("other")), "not this one"},
		{"a document that is not JSON is refused", []byte("<bom/>"), "not CycloneDX JSON"},
		{"a JSON document that is not CycloneDX is refused", []byte(`{"spdxVersion":"SPDX-2.3"}`), `bomFormat is "", want CycloneDX`},
		{"a CycloneDX document that names no binary is refused", []byte(`{"bomFormat":"CycloneDX","metadata":{}}`), "names no binary"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := CheckSBOM(c.sbom, bin)
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Errorf("CheckSBOM: %v, want %q", err, c.want)
			}
		})
	}
}

func TestMetadataLabels(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 12, 6, 18, 12, 57, 0, time.FixedZone("CET", 3600))
	cases := []struct {
		name   string
		m      Metadata
		want   map[string]string
		absent []string
	}{
		{"a release carries source, licenses, version, revision and the commit time in UTC",
			Metadata{Version: "v0.1.0", Revision: "bc57b74", Created: created},
			map[string]string{LabelSource: Source, LabelLicenses: "Apache-2.0", LabelVersion: "v0.1.0", LabelRevision: "bc57b74", LabelCreated: "2026-12-06T17:12:57Z", LabelTitle: "nstance-issuer"},
			[]string{LabelFIPS140}},
		{"a build outside git leaves revision and created out",
			Metadata{Version: "dev"},
			map[string]string{LabelVersion: "dev"},
			[]string{LabelRevision, LabelCreated, LabelFIPS140}},
		{"the FIPS variant names its Go Cryptographic Module",
			Metadata{Version: "v0.1.0", FIPS140: "v1.0.0-c2097c7c"},
			map[string]string{LabelFIPS140: "v1.0.0-c2097c7c", LabelTitle: "nstance-issuer (FIPS 140-3)", LabelVersion: "v0.1.0"},
			nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l := c.m.Labels()
			for k, v := range c.want {
				if l[k] != v {
					t.Errorf("label %s = %q, want %q", k, l[k], v)
				}
			}
			for _, k := range c.absent {
				if _, ok := l[k]; ok {
					t.Errorf("label %s = %q, want none", k, l[k])
				}
			}
		})
	}
}

func TestBuildLabelsTheImagesAndAnnotatesTheIndex(t *testing.T) {
	t.Parallel()
	o := twoArchOptions()
	idx, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	want := o.Metadata.Labels()
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range want {
		if m.Annotations[k] != v {
			t.Errorf("index annotation %s = %q, want %q", k, m.Annotations[k], v)
		}
	}
	images, err := ReadIndex(idx)
	if err != nil {
		t.Fatal(err)
	}
	for arch, img := range images {
		for k, v := range want {
			if img.Config.Config.Labels[k] != v {
				t.Errorf("%s label %s = %q, want %q", arch, k, img.Config.Config.Labels[k], v)
			}
		}
	}
}

func TestWriteArchiveIsReproducibleAndReadable(t *testing.T) {
	t.Parallel()
	idx, err := Build(twoArchOptions())
	if err != nil {
		t.Fatal(err)
	}
	mtime := time.Unix(1796577177, 0)
	var archives [2][]byte
	for i := range archives {
		dir := t.TempDir() // a fresh layout, files written at a new time
		if err := WriteLayout(dir, idx); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := WriteArchive(dir, &buf, mtime); err != nil {
			t.Fatal(err)
		}
		archives[i] = buf.Bytes()
	}
	if !bytes.Equal(archives[0], archives[1]) {
		t.Fatal("the same layout gave two different archives")
	}

	out := t.TempDir()
	tr := tar.NewReader(bytes.NewReader(archives[0]))
	names := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names++
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(mtime) || strings.HasPrefix(h.Name, "/") || strings.Contains(h.Name, "..") {
			t.Errorf("entry %s: uid %d gid %d mtime %s", h.Name, h.Uid, h.Gid, h.ModTime)
		}
		p := filepath.Join(out, h.Name)
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	back, err := layout.ImageIndexFromPath(out)
	if err != nil {
		t.Fatalf("the archive does not unpack to an OCI layout: %v", err)
	}
	d1, _ := idx.Digest()
	d2, _ := back.Digest()
	if d1 != d2 || names == 0 {
		t.Errorf("the archive holds index %s, want %s", d2, d1)
	}
}

func TestReadBinaryInfo(t *testing.T) {
	t.Parallel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	info, err := ReadBinaryInfo(b)
	if err != nil || !strings.HasPrefix(info.GoVersion, "go1.") || info.FIPS140 != "" {
		t.Errorf("the test binary's build info: %+v, %v: want a Go version and no GOFIPS140", info, err)
	}
	if v, err := FIPS140Of(map[string][]byte{"amd64": b}); err != nil || v != "" {
		t.Errorf("FIPS140Of the test binary: %q, %v", v, err)
	}
	if _, err := ReadBinaryInfo([]byte("#!/bin/sh\n")); err == nil {
		t.Error("a shell script passed for a Go binary")
	}
}
