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

package framework

import (
	"bytes"
	"fmt"
	"os"
	"slices"
)

// SyncSection keeps a generated section of a file — the text between the
// start and end marker lines, e.g. a README table — equal to want. It
// returns the section as it was found; when it differs from want and
// update is set, it rewrites the file with want.
func SyncSection(path, start, end, want string, update bool) (string, error) {
	file, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	i, j := bytes.Index(file, []byte(start)), bytes.Index(file, []byte(end))
	if i < 0 || j < i {
		return "", fmt.Errorf("%s: markers %q and %q not found", path, start, end)
	}
	head := file[:i+len(start)]
	got := string(file[len(head):j])
	if got != want && update {
		if err := os.WriteFile(path, slices.Concat(head, []byte(want), file[j:]), 0o644); err != nil {
			return got, err
		}
	}
	return got, nil
}
