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

// Command nstance-image writes the controller's OCI image, one image per
// architecture and the CycloneDX SBOM of each binary in one OCI image
// index, as an OCI image layout directory (and, with -archive, as an OCI
// archive), from static binaries and SBOMs made beforehand
// (hack/build-image.sh, run by make image and make image-fips, does all):
//
//	nstance-image -out bin/image/oci -version v0.1.0 -revision $(git rev-parse HEAD) \
//	  -created $(git log -1 --format=%ct) \
//	  -binary amd64=bin/image/nstance-issuer-linux-amd64 -sbom amd64=bin/image/nstance-issuer-linux-amd64.cdx.json ...
//
// The labels name a binary's Go Cryptographic Module when it was built
// with GOFIPS140, read from the binaries themselves.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nstance-dev/nstance-issuer/internal/image"
)

// archFiles is a repeated ARCH=PATH flag.
type archFiles map[string]string

func (b archFiles) String() string { return fmt.Sprint(map[string]string(b)) }

func (b archFiles) Set(v string) error {
	arch, path, ok := strings.Cut(v, "=")
	if !ok || arch == "" || path == "" {
		return fmt.Errorf("want ARCH=PATH, e.g. amd64=bin/image/nstance-issuer-linux-amd64")
	}
	if _, dup := b[arch]; dup {
		return fmt.Errorf("%s is given twice", arch)
	}
	b[arch] = path
	return nil
}

// runtimeFiles is the repeated -runtime ARCH=PATH flag: host files copied
// into that architecture's image at the same path.
type runtimeFiles map[string][]string

func (r runtimeFiles) String() string { return fmt.Sprint(map[string][]string(r)) }

func (r runtimeFiles) Set(v string) error {
	arch, path, ok := strings.Cut(v, "=")
	if !ok || arch == "" || !filepath.IsAbs(path) {
		return fmt.Errorf("want ARCH=/ABSOLUTE/PATH, e.g. amd64=/lib/x86_64-linux-gnu/libc.so.6")
	}
	r[arch] = append(r[arch], path)
	return nil
}

type options struct {
	binaries, sboms archFiles
	runtime         runtimeFiles
	pkcs11          string
	out, archive    string
	version         string
	revision        string
	created         string
}

func main() {
	o := options{binaries: archFiles{}, sboms: archFiles{}, runtime: runtimeFiles{}}
	flag.Var(o.binaries, "binary", "ARCH=PATH of a static linux binary of cmd/nstance-issuer; repeat per architecture.")
	flag.Var(o.sboms, "sbom", "ARCH=PATH of the CycloneDX JSON SBOM of that architecture's binary (cyclonedx-gomod bin); one per binary, or none.")
	flag.Var(o.runtime, "runtime", "ARCH=PATH of a host file (the binary's C runtime: its loader, libc) to copy into that architecture's image at the same path, for the PKCS#11 variant; repeat per file.")
	flag.StringVar(&o.pkcs11, "pkcs11", "", "The C runtime of a PKCS#11 variant (e.g. \"glibc 2.36\") for its labels; empty for the static images.")
	flag.StringVar(&o.out, "out", "bin/image/oci", "OCI image layout directory to write (replaced).")
	flag.StringVar(&o.archive, "archive", "", "Also write the layout as this OCI archive (a tar; skopeo's oci-archive:).")
	flag.StringVar(&o.version, "version", "dev", "Version for the org.opencontainers.image.version label.")
	flag.StringVar(&o.revision, "revision", "", "VCS revision for the org.opencontainers.image.revision label.")
	flag.StringVar(&o.created, "created", "", "Unix seconds of the commit, for the org.opencontainers.image.created label and the archive's file times (empty: no label).")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "nstance-image:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	m := image.Metadata{Version: o.version, Revision: o.revision, PKCS11: o.pkcs11}
	if o.created != "" {
		sec, err := strconv.ParseInt(o.created, 10, 64)
		if err != nil {
			return fmt.Errorf("-created %q: want the commit's Unix seconds (git log -1 --format=%%ct)", o.created)
		}
		m.Created = time.Unix(sec, 0).UTC()
	}
	opts := image.Options{Binaries: map[string][]byte{}, SBOMs: map[string][]byte{}, Runtime: map[string]map[string][]byte{}}
	for arch, paths := range o.runtime {
		opts.Runtime[arch] = map[string][]byte{}
		for _, p := range paths {
			b, err := os.ReadFile(p) //nolint:gosec // G304: the build machine's C runtime, named by hack/build-image.sh
			if err != nil {
				return err
			}
			opts.Runtime[arch][strings.TrimPrefix(p, "/")] = b
		}
	}
	for arch, path := range o.binaries {
		b, err := os.ReadFile(path) //nolint:gosec // G304: the binaries its -binary flags name
		if err != nil {
			return err
		}
		opts.Binaries[arch] = b
	}
	for arch, path := range o.sboms {
		b, err := os.ReadFile(path) //nolint:gosec // G304: the SBOMs its -sbom flags name
		if err != nil {
			return err
		}
		opts.SBOMs[arch] = b
	}
	fips, err := image.FIPS140Of(opts.Binaries)
	if err != nil {
		return err
	}
	m.FIPS140 = fips
	opts.Metadata = m
	idx, err := image.Build(opts)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(o.out); err != nil {
		return err
	}
	if err := image.WriteLayout(o.out, idx); err != nil {
		return err
	}
	if o.archive != "" {
		if err := writeArchive(o.out, o.archive, m.Created); err != nil {
			return err
		}
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	variant := ""
	if fips != "" {
		variant = " (FIPS 140-3, Go Cryptographic Module " + fips + ")"
	}
	if o.pkcs11 != "" {
		variant = " (PKCS#11, " + o.pkcs11 + ")"
	}
	fmt.Printf("wrote %s: OCI image index %s%s for %d architectures with %d SBOMs\n", o.out, digest, variant, len(opts.Binaries), len(opts.SBOMs))
	return nil
}

// writeArchive writes the layout dir as an OCI archive at path, atomically.
func writeArchive(dir, path string, mtime time.Time) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".nstance-image-*.tar")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(f.Name()) }()
	if err := image.WriteArchive(dir, f, mtime); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil { //nolint:gosec // G302: a release archive, published to be read
		return err
	}
	return os.Rename(f.Name(), path)
}
