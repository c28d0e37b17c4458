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

package installtest

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// repoRoot is the repository's root, seen from this package.
const repoRoot = "../.."

// readmeSample is a README block that shows a file verbatim:
//
//	<!-- sample: config/samples/x.yaml -->
//	```yaml
//	...the file...
//	```
var readmeSample = regexp.MustCompile("(?s)<!-- sample: (\\S+) -->\\s*```yaml\\n(.*?)```")

// TestREADMEShowsTheSamplesVerbatim: the README's walkthrough shows the
// sample files the e2e suite applies; this keeps them identical, so the
// documentation cannot rot. It needs no API server.
func TestREADMEShowsTheSamplesVerbatim(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	shown := map[string]bool{}
	for _, b := range readmeSample.FindAllSubmatch(readme, -1) {
		path := string(b[1])
		file, err := os.ReadFile(filepath.Join(repoRoot, path))
		if err != nil {
			t.Errorf("README names %s: %v", path, err)
			continue
		}
		if string(b[2]) != string(file) {
			t.Errorf("README block for %s differs from the file:\n--- README\n%s--- %s\n%s", path, b[2], path, file)
		}
		shown[path] = true
	}
	for _, sample := range []string{
		"config/samples/issuer_v1alpha1_nstanceclusterissuer.yaml",
		"config/samples/certificate.yaml",
		"config/samples/ingress.yaml",
		"config/samples/nodeport-app.yaml",
	} {
		if !shown[sample] {
			t.Errorf("the README walkthrough must show %s", sample)
		}
	}
}
