//go:build e2e

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
