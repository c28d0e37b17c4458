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
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// SBOMMediaType is CycloneDX JSON's IANA media type: the SBOM blob's media
// type and the artefact's artifactType.
const SBOMMediaType = "application/vnd.cyclonedx+json"

// The SBOM of one binary is an OCI 1.1 artefact manifest (artifactType
// SBOMMediaType, the empty config, the SBOM as its one blob) whose subject
// is the image of that binary, listed in the image index itself:
//
//   - it travels with the image: `crane push --index`, `skopeo copy --all`
//     and `oras cp` copy every entry of an index, and the index digest
//     (what one signs and pins) covers the SBOMs;
//   - registries that serve the OCI 1.1 referrers API also list it among
//     the referrers of the image it describes (its subject);
//   - its index entry names the platform unknown/unknown, as BuildKit's
//     attestation manifests do, so that no runtime picks it as an image
//     (an entry without a platform could be taken for one that runs
//     anywhere).
var sbomPlatform = v1.Platform{OS: "unknown", Architecture: "unknown"}

// emptyConfig is the OCI empty descriptor's content.
var emptyConfig = []byte("{}")

// isArtifact tells an artefact's index entry from an image's (which
// go-containerregistry gives the artifactType of its config's media type).
func isArtifact(d v1.Descriptor) bool {
	switch types.MediaType(d.ArtifactType) {
	case "", types.OCIConfigJSON, types.DockerConfigJSON:
		return d.Platform != nil && d.Platform.Equals(sbomPlatform)
	default:
		return true
	}
}

// artifact is an OCI artefact manifest with the empty config and one blob.
type artifact struct {
	manifest []byte
	blob     v1.Layer
}

func (a *artifact) RawConfigFile() ([]byte, error)      { return emptyConfig, nil }
func (a *artifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (a *artifact) RawManifest() ([]byte, error)        { return a.manifest, nil }

func (a *artifact) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if d, err := a.blob.Digest(); err == nil && d == h {
		return a.blob, nil
	}
	return nil, fmt.Errorf("the SBOM artefact has no blob %s", h)
}

// sbomArtifact is the artefact holding sbom, the SBOM of the image img of
// architecture arch.
func sbomArtifact(sbom []byte, arch string, img v1.Image, m Metadata) (v1.Image, error) {
	subject, err := partial.Descriptor(img)
	if err != nil {
		return nil, err
	}
	subject.Platform = nil // the subject is the manifest, as the referrers API names it
	blob := static.NewLayer(sbom, SBOMMediaType)
	blobDigest, err := blob.Digest()
	if err != nil {
		return nil, err
	}
	configDigest, _, err := v1.SHA256(bytes.NewReader(emptyConfig))
	if err != nil {
		return nil, err
	}
	annotations := map[string]string{}
	if c := m.Labels()[LabelCreated]; c != "" {
		annotations[LabelCreated] = c
	}
	manifest, err := json.Marshal(v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  SBOMMediaType,
		Config: v1.Descriptor{
			MediaType: types.OCIEmptyJSON, Digest: configDigest, Size: int64(len(emptyConfig)), Data: emptyConfig,
		},
		Layers: []v1.Descriptor{{
			MediaType: SBOMMediaType, Digest: blobDigest, Size: int64(len(sbom)),
			Annotations: map[string]string{LabelTitle: "nstance-issuer-linux-" + arch + ".cdx.json"},
		}},
		Subject:     subject,
		Annotations: annotations,
	})
	if err != nil {
		return nil, err
	}
	return partial.CompressedToImage(&artifact{manifest: manifest, blob: blob})
}

// cycloneDX is what CheckSBOM reads of a CycloneDX document.
type cycloneDX struct {
	BOMFormat string `json:"bomFormat"`
	Metadata  struct {
		Properties []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"properties"`
	} `json:"metadata"`
}

// binaryHashProperty is where cyclonedx-gomod's bin mode records the
// SHA-256 of the binary it describes.
const binaryHashProperty = "cdx:gomod:binary:hash:SHA-256"

// CheckSBOM fails unless sbom is a CycloneDX document of binary: one that
// records binary's SHA-256, as cyclonedx-gomod's bin mode does. An SBOM
// of another build (a stale file, the other architecture) is refused.
func CheckSBOM(sbom, binary []byte) error {
	var doc cycloneDX
	if err := json.Unmarshal(sbom, &doc); err != nil {
		return fmt.Errorf("not CycloneDX JSON: %w", err)
	}
	if doc.BOMFormat != "CycloneDX" {
		return fmt.Errorf("bomFormat is %q, want CycloneDX", doc.BOMFormat)
	}
	sum := sha256.Sum256(binary)
	want := hex.EncodeToString(sum[:])
	for _, p := range doc.Metadata.Properties {
		if p.Name != binaryHashProperty {
			continue
		}
		if p.Value != want {
			return fmt.Errorf("it describes a binary of SHA-256 %s, not this one (%s): generate it from this binary (cyclonedx-gomod bin)", p.Value, want)
		}
		return nil
	}
	return fmt.Errorf("it names no binary (no %s property): generate it with cyclonedx-gomod bin", binaryHashProperty)
}

// SBOM is an SBOM artefact read back from an image index.
type SBOM struct {
	// Entry is the artefact's descriptor in the index.
	Entry v1.Descriptor
	// Manifest is the artefact's manifest.
	Manifest *v1.Manifest
	// Arch is the architecture of the image its subject names.
	Arch string
	// Content is the SBOM document.
	Content []byte
}

// ReadSBOMs reads back the SBOM artefacts of an index, checking that each
// one's subject is an image of the same index.
func ReadSBOMs(idx v1.ImageIndex) ([]SBOM, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	arches := map[v1.Hash]string{}
	for _, d := range m.Manifests {
		if !isArtifact(d) && d.Platform != nil {
			arches[d.Digest] = d.Platform.Architecture
		}
	}
	var out []SBOM
	for _, d := range m.Manifests {
		if !isArtifact(d) {
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		mf, err := img.Manifest()
		if err != nil {
			return nil, err
		}
		if mf.Subject == nil {
			return nil, fmt.Errorf("artefact %s has no subject", d.Digest)
		}
		arch, ok := arches[mf.Subject.Digest]
		if !ok {
			return nil, fmt.Errorf("artefact %s describes %s, which is no image of this index", d.Digest, mf.Subject.Digest)
		}
		if len(mf.Layers) != 1 {
			return nil, fmt.Errorf("artefact %s has %d blobs, want the SBOM only", d.Digest, len(mf.Layers))
		}
		l, err := img.LayerByDigest(mf.Layers[0].Digest)
		if err != nil {
			return nil, err
		}
		rc, err := l.Compressed()
		if err != nil {
			return nil, err
		}
		content, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, SBOM{Entry: d, Manifest: mf, Arch: arch, Content: content})
	}
	return out, nil
}

// SBOMComponents lists the components of a CycloneDX document by name
// (Go module path, or "std" for the standard library) with their versions.
func SBOMComponents(sbom []byte) (map[string]string, error) {
	var doc struct {
		Components []struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"components"`
	}
	if err := json.Unmarshal(sbom, &doc); err != nil {
		return nil, fmt.Errorf("not CycloneDX JSON: %w", err)
	}
	out := map[string]string{}
	for _, c := range doc.Components {
		out[c.Name] = c.Version
	}
	return out, nil
}

// SBOMProperties lists the metadata properties of a CycloneDX document
// (cyclonedx-gomod records the build settings there); a repeated name
// keeps every value.
func SBOMProperties(sbom []byte) (map[string][]string, error) {
	var doc cycloneDX
	if err := json.Unmarshal(sbom, &doc); err != nil {
		return nil, fmt.Errorf("not CycloneDX JSON: %w", err)
	}
	out := map[string][]string{}
	for _, p := range doc.Metadata.Properties {
		out[p.Name] = append(out[p.Name], p.Value)
	}
	return out, nil
}
