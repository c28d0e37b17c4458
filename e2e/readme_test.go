//go:build e2e

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

package e2e

import (
	"os"
	"path/filepath"
	"regexp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The README's walkthrough shows the sample files this suite applies; this
// spec keeps them identical, so the documentation cannot rot.
var _ = Describe("The README walkthrough", func() {
	It("shows, verbatim, every sample the suite applies", func() {
		readme, err := os.ReadFile(filepath.Join("..", "README.md"))
		Expect(err).NotTo(HaveOccurred())
		blocks := regexp.MustCompile("(?s)<!-- sample: (\\S+) -->\\s*```yaml\\n(.*?)```").FindAllSubmatch(readme, -1)
		shown := map[string]bool{}
		for _, b := range blocks {
			path := string(b[1])
			file, err := os.ReadFile(filepath.Join("..", path))
			Expect(err).NotTo(HaveOccurred(), "README names %s", path)
			Expect(string(b[2])).To(Equal(string(file)), "README block for %s differs from the file", path)
			shown[path] = true
		}
		for _, sample := range []string{
			"config/samples/issuer_v1alpha1_nstanceclusterissuer.yaml",
			"config/samples/certificate.yaml",
			"config/samples/ingress.yaml",
			"config/samples/nodeport-app.yaml",
		} {
			Expect(shown).To(HaveKey(sample), "the README walkthrough must show %s", sample)
		}
	})
})
