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
// architecture in an OCI image index, as an OCI image layout directory,
// from static binaries built beforehand (make image does both):
//
//	nstance-image -out bin/image/oci -version 0.1.0 \
//	  -binary amd64=bin/image/nstance-issuer-linux-amd64 -binary arm64=...
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/nstance-dev/nstance-issuer/internal/image"
)

type binaryFlags map[string]string

func (b binaryFlags) String() string { return fmt.Sprint(map[string]string(b)) }

func (b binaryFlags) Set(v string) error {
	arch, path, ok := strings.Cut(v, "=")
	if !ok || arch == "" || path == "" {
		return fmt.Errorf("want ARCH=PATH, e.g. amd64=bin/image/nstance-issuer-linux-amd64")
	}
	b[arch] = path
	return nil
}

func main() {
	binaries := binaryFlags{}
	flag.Var(binaries, "binary", "ARCH=PATH of a static linux binary of cmd/nstance-issuer; repeat per architecture.")
	out := flag.String("out", "bin/image/oci", "OCI image layout directory to write (replaced).")
	version := flag.String("version", "dev", "Version for the org.opencontainers.image.version label.")
	revision := flag.String("revision", "", "VCS revision for the org.opencontainers.image.revision label.")
	flag.Parse()
	if err := run(binaries, *out, *version, *revision); err != nil {
		fmt.Fprintln(os.Stderr, "nstance-image:", err)
		os.Exit(1)
	}
}

func run(binaries binaryFlags, out, version, revision string) error {
	o := image.Options{Binaries: map[string][]byte{}, Labels: image.Labels(version, revision)}
	for arch, path := range binaries {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		o.Binaries[arch] = b
	}
	idx, err := image.Build(o)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	if err := image.WriteLayout(out, idx); err != nil {
		return err
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s: OCI image index %s for %d architectures\npush it with: crane push --index %s REGISTRY/nstance-issuer:%s\n", out, digest, len(o.Binaries), out, version)
	return nil
}
