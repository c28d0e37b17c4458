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
	"time"
)

// Label keys: the OCI pre-defined annotation keys, set as image config
// labels (what `docker inspect` and `crane config` show) and as
// annotations of the image index (what registries such as GHCR read to
// link an image to its repository).
const (
	LabelTitle       = "org.opencontainers.image.title"
	LabelDescription = "org.opencontainers.image.description"
	LabelSource      = "org.opencontainers.image.source"
	LabelLicenses    = "org.opencontainers.image.licenses"
	LabelVersion     = "org.opencontainers.image.version"
	LabelRevision    = "org.opencontainers.image.revision"
	LabelCreated     = "org.opencontainers.image.created"
	// LabelFIPS140 names the Go Cryptographic Module the binary was built
	// against (its GOFIPS140 build setting, e.g. v1.0.0-c2097c7c): set on
	// the FIPS 140-3 variant only.
	LabelFIPS140 = "dev.nstance.issuer.go-fips140"
	// LabelPKCS11 names the C runtime of the PKCS#11 variant (e.g.
	// "glibc 2.36"): its binary is built with cgo and the pkcs11 build
	// tag, and loads the HSM's module. Set on that variant only.
	LabelPKCS11 = "dev.nstance.issuer.pkcs11"
)

// Source is the repository the image is built from.
const Source = "https://github.com/nstance-dev/nstance-issuer"

// Metadata describes the release an image belongs to.
type Metadata struct {
	// Version is the released version (the chart's appVersion, v0.1.0).
	Version string
	// Revision is the git commit the image is built from; empty is left
	// out.
	Revision string
	// Created is when the image was made: the commit's time, so that a
	// rebuild of the same commit gives the same digests. Zero is left out.
	Created time.Time
	// FIPS140 is the GOFIPS140 build setting of the binaries (the frozen
	// Go Cryptographic Module, e.g. v1.0.0-c2097c7c); empty for the
	// default build.
	FIPS140 string
	// PKCS11 is the C runtime of the PKCS#11 variant ("glibc 2.36");
	// empty for the static builds.
	PKCS11 string
}

// Labels are the image's labels, also the index's annotations.
func (m Metadata) Labels() map[string]string {
	l := map[string]string{
		LabelTitle:       "nstance-issuer",
		LabelDescription: "cert-manager external issuer signing with your own CA, shaped by named templates",
		LabelSource:      Source,
		LabelLicenses:    "Apache-2.0",
		LabelVersion:     m.Version,
	}
	if m.Revision != "" {
		l[LabelRevision] = m.Revision
	}
	if !m.Created.IsZero() {
		l[LabelCreated] = m.Created.UTC().Format(time.RFC3339)
	}
	if m.FIPS140 != "" {
		l[LabelTitle] = "nstance-issuer (FIPS 140-3)"
		l[LabelDescription] += "; built with Go's FIPS 140-3 Cryptographic Module " + m.FIPS140 + ", running in FIPS 140-3 mode"
		l[LabelFIPS140] = m.FIPS140
	}
	if m.PKCS11 != "" {
		l[LabelTitle] = "nstance-issuer (PKCS#11)"
		l[LabelDescription] += "; with PKCS#11 (HSM) CA keys: built with cgo against " + m.PKCS11 + ", which it carries; mount the HSM's module and name it with --pkcs11-module"
		l[LabelPKCS11] = m.PKCS11
	}
	return l
}
