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
	"debug/buildinfo"
	"fmt"
	"maps"
	"slices"
)

// BinaryInfo is what a Go binary records of its own build.
type BinaryInfo struct {
	// GoVersion is the toolchain that built it (go1.26.8).
	GoVersion string
	// Path is its main package's import path.
	Path string
	// FIPS140 is its GOFIPS140 build setting (v1.0.0-c2097c7c), empty
	// when it was built without a frozen Go Cryptographic Module.
	FIPS140 string
}

// ReadBinaryInfo reads the build information the Go linker embeds in a
// binary (what `go version -m` prints).
func ReadBinaryInfo(binary []byte) (BinaryInfo, error) {
	bi, err := buildinfo.Read(bytes.NewReader(binary))
	if err != nil {
		return BinaryInfo{}, fmt.Errorf("not a Go binary with build information: %w", err)
	}
	info := BinaryInfo{GoVersion: bi.GoVersion, Path: bi.Path}
	for _, s := range bi.Settings {
		if s.Key == "GOFIPS140" && s.Value != "off" {
			info.FIPS140 = s.Value
		}
	}
	return info, nil
}

// FIPS140Of is the GOFIPS140 setting shared by every binary of an image,
// or an error naming the architectures that differ: an index whose
// amd64 image is FIPS and arm64 image is not would carry a false label.
func FIPS140Of(binaries map[string][]byte) (string, error) {
	by := map[string][]string{}
	for _, arch := range slices.Sorted(maps.Keys(binaries)) {
		info, err := ReadBinaryInfo(binaries[arch])
		if err != nil {
			return "", fmt.Errorf("the %s binary: %w", arch, err)
		}
		by[info.FIPS140] = append(by[info.FIPS140], arch)
	}
	if len(by) > 1 {
		return "", fmt.Errorf("the binaries were built with different GOFIPS140 settings (%v): build every architecture the same way", by)
	}
	for v := range by {
		return v, nil
	}
	return "", nil
}
