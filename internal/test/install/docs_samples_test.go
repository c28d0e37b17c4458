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

package install

// The documentation's YAML cannot drift: every YAML block of README.md and
// docs/**/*.md is a file, shown verbatim or as a contiguous excerpt, and
// those files are applied by tests (config/samples by the e2e suite, every
// file by docs_samples_integration_test.go against a real API server).
// These checks need no API server.

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
)

// repoRoot is the repository's root, seen from this package.
const repoRoot = "../../.."

// docPages returns README.md and every Markdown file under docs/, as paths
// relative to the repository's root, in a stable order.
func docPages(t *testing.T) []string {
	t.Helper()
	pages := []string{"README.md"}
	err := filepath.WalkDir(filepath.Join(repoRoot, "docs"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".md") {
			rel, err := filepath.Rel(repoRoot, path)
			if err != nil {
				return err
			}
			pages = append(pages, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(pages[1:])
	return pages
}

// A marker on the line before a fenced block says where the block comes
// from:
//
//	<!-- sample: config/samples/x.yaml -->   the block is the whole file
//	<!-- excerpt: docs/samples/y.yaml -->    the block is a run of its lines
var docMarker = regexp.MustCompile(`^\s*<!-- (sample|excerpt): (\S+) -->\s*$`)

// codeFence opens or closes a fenced code block, at any indentation (a
// block inside a list item is indented like the item's text).
var codeFence = regexp.MustCompile("^(\\s*)```\\s*([A-Za-z0-9_+-]*)\\s*$")

// docBlock is one fenced code block of a page.
type docBlock struct {
	page   string
	line   int    // of the opening fence, 1-based
	lang   string // the info string: yaml, sh, text ...
	text   string // the content, without the fence's indentation
	marker string // "sample", "excerpt" or ""
	path   string // the file the marker names
}

func (b docBlock) where() string { return fmt.Sprintf("%s:%d", b.page, b.line) }

// parseBlocks returns the fenced code blocks of a page with the marker on
// the line before each, and the markers that precede no block.
func parseBlocks(page, data string) (blocks []docBlock, dangling []string) {
	lines := strings.Split(data, "\n")
	for i := 0; i < len(lines); i++ {
		if m := docMarker.FindStringSubmatch(lines[i]); m != nil {
			if i+1 >= len(lines) || !codeFence.MatchString(lines[i+1]) {
				dangling = append(dangling, fmt.Sprintf("%s:%d", page, i+1))
			}
			continue
		}
		open := codeFence.FindStringSubmatch(lines[i])
		if open == nil {
			continue
		}
		b := docBlock{page: page, line: i + 1, lang: open[2]}
		if i > 0 {
			if m := docMarker.FindStringSubmatch(lines[i-1]); m != nil {
				b.marker, b.path = m[1], m[2]
			}
		}
		indent := open[1]
		var body []string
		for i++; i < len(lines); i++ {
			if end := codeFence.FindStringSubmatch(lines[i]); end != nil && end[1] == indent && end[2] == "" {
				break
			}
			body = append(body, strings.TrimPrefix(lines[i], indent))
		}
		if len(body) > 0 {
			b.text = strings.Join(body, "\n") + "\n"
		}
		blocks = append(blocks, b)
	}
	return blocks, dangling
}

// docBlocks parses every page.
func docBlocks(t *testing.T) []docBlock {
	t.Helper()
	var all []docBlock
	for _, page := range docPages(t) {
		data, err := os.ReadFile(filepath.Join(repoRoot, page))
		if err != nil {
			t.Fatal(err)
		}
		blocks, dangling := parseBlocks(page, string(data))
		for _, d := range dangling {
			t.Errorf("%s: a sample/excerpt marker must be the line right before a fenced YAML block", d)
		}
		all = append(all, blocks...)
	}
	return all
}

func isYAML(b docBlock) bool { return b.lang == "yaml" || b.lang == "yml" }

// docSampleFiles returns the files the pages' YAML blocks come from,
// relative to the repository's root, each once.
func docSampleFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, b := range docBlocks(t) {
		if isYAML(b) && b.path != "" && !slices.Contains(files, b.path) {
			files = append(files, b.path)
		}
	}
	slices.Sort(files)
	return files
}

// dedent removes the longest run of spaces every non-empty line starts with.
func dedent(lines []string) []string {
	n := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if k := len(l) - len(strings.TrimLeft(l, " ")); n < 0 || k < n {
			n = k
		}
	}
	out := slices.Clone(lines)
	if n <= 0 {
		return out
	}
	for i, l := range out {
		if strings.TrimSpace(l) == "" {
			out[i] = ""
		} else {
			out[i] = l[n:]
		}
	}
	return out
}

// isExcerpt reports whether the lines of excerpt, dedented, are a run of
// consecutive lines of file, dedented alike.
func isExcerpt(excerpt, file string) bool {
	want := dedent(strings.Split(strings.TrimSuffix(excerpt, "\n"), "\n"))
	lines := strings.Split(strings.TrimSuffix(file, "\n"), "\n")
	for i := 0; i+len(want) <= len(lines); i++ {
		if slices.Equal(dedent(lines[i:i+len(want)]), want) {
			return true
		}
	}
	return false
}

// TestDocsShowTheirSamplesVerbatim: every YAML block of the README and of
// docs/ names the file it shows, and is that file, or a run of its lines;
// so the documentation cannot rot while the files are applied by tests.
func TestDocsShowTheirSamplesVerbatim(t *testing.T) {
	shown := map[string][]string{} // file -> pages showing it whole
	for _, b := range docBlocks(t) {
		if b.marker == "" {
			if isYAML(b) {
				t.Errorf("%s: a YAML block without a marker; put it in a file a test applies and write <!-- sample: path --> (the whole file) or <!-- excerpt: path --> (a run of its lines) on the line before it", b.where())
			}
			continue
		}
		if !isYAML(b) {
			t.Errorf("%s: a %s marker before a block of %q: only YAML blocks are applied by tests", b.where(), b.marker, b.lang)
			continue
		}
		if filepath.IsAbs(b.path) || strings.HasPrefix(filepath.Clean(b.path), "..") {
			t.Errorf("%s: %s is not a path inside the repository", b.where(), b.path)
			continue
		}
		file, err := os.ReadFile(filepath.Join(repoRoot, b.path))
		if err != nil {
			t.Errorf("%s names %s: %v", b.where(), b.path, err)
			continue
		}
		switch b.marker {
		case "sample":
			if b.text != string(file) {
				t.Errorf("%s: the block for %s differs from the file:\n--- page\n%s--- %s\n%s", b.where(), b.path, b.text, b.path, file)
			}
			shown[b.path] = append(shown[b.path], b.page)
		case "excerpt":
			if !isExcerpt(b.text, string(file)) {
				t.Errorf("%s: the block is not a run of lines of %s (at any one indentation):\n--- page\n%s--- %s\n%s", b.where(), b.path, b.text, b.path, file)
			}
		}
	}
	for _, want := range []struct{ file, page string }{
		// The landing page's first issuer and Certificate (the e2e suite
		// applies them and waits for the Certificate).
		{"docs/samples/first-issuer.yaml", "README.md"},
		{"docs/samples/first-certificate.yaml", "README.md"},
		// The walkthrough of config/samples.
		{"config/samples/issuer_v1alpha1_nstanceclusterissuer.yaml", "docs/usage/issuers.md"},
		{"config/samples/certificate.yaml", "docs/usage/certificates.md"},
		{"config/samples/ingress.yaml", "docs/usage/certificates.md"},
		{"config/samples/nodeport-app.yaml", "docs/usage/certificates.md"},
		{"config/samples/pod-certificate.yaml", "docs/usage/pod-certificates.md"},
	} {
		if !slices.Contains(shown[want.file], want.page) {
			t.Errorf("%s must show %s verbatim", want.page, want.file)
		}
	}
}

// TestDocsIssuersPassTheControllersValidation: every issuer the docs show
// decodes strictly into the API types and passes the template validation
// the controller's Check runs, so a sample cannot name an undefined var,
// a missing defaultTemplate or an allow-list built from request data.
func TestDocsIssuersPassTheControllersValidation(t *testing.T) {
	issuers := 0
	for _, path := range docSampleFiles(t) {
		if filepath.Base(path) == "kustomization.yaml" {
			continue
		}
		objs, err := framework.ReadManifests(filepath.Join(repoRoot, path))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		for _, o := range objs {
			if o.GroupVersionKind().Group != v1alpha1.GroupVersion.Group {
				continue
			}
			issuers++
			var spec *v1alpha1.IssuerSpec
			switch o.GetKind() {
			case "NstanceIssuer":
				var iss v1alpha1.NstanceIssuer
				err = runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, &iss, true)
				spec = &iss.Spec
			case "NstanceClusterIssuer":
				var iss v1alpha1.NstanceClusterIssuer
				err = runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, &iss, true)
				spec = &iss.Spec
			default:
				t.Errorf("%s: unknown kind %s", path, o.GetKind())
				continue
			}
			name := fmt.Sprintf("%s %s (%s)", o.GetKind(), o.GetName(), path)
			if err != nil {
				t.Errorf("%s: does not decode strictly: %v", name, err)
				continue
			}
			data := pki.IssuerData{Name: o.GetName(), Namespace: o.GetNamespace(), Kind: o.GetKind()}
			// The validation the controller and the admission webhook run.
			if err := pki.ValidateIssuer(spec, data).Err(name); err != nil {
				t.Errorf("%v", err)
			}
		}
	}
	if issuers == 0 {
		t.Error("the docs show no issuer: the scan found nothing")
	}
}

// TestDocsMarkersAreParsed guards the parser the other tests rely on: a
// block in a list item, an excerpt at another indentation, a block without
// a marker and a marker without a block.
func TestDocsMarkersAreParsed(t *testing.T) {
	page := strings.Join([]string{
		"<!-- sample: a.yaml -->",
		"```yaml",
		"a: 1",
		"```",
		"- item:",
		"",
		"  <!-- excerpt: b.yaml -->",
		"  ```yaml",
		"  c:",
		"    d: 2",
		"  ```",
		"```yaml",
		"e: 3",
		"```",
		"<!-- sample: dangling.yaml -->",
		"text",
	}, "\n")
	blocks, dangling := parseBlocks("p.md", page)
	if len(blocks) != 3 {
		t.Fatalf("found %d blocks, want 3: %+v", len(blocks), blocks)
	}
	if b := blocks[0]; b.marker != "sample" || b.path != "a.yaml" || b.text != "a: 1\n" {
		t.Errorf("first block: %+v", b)
	}
	if b := blocks[1]; b.marker != "excerpt" || b.path != "b.yaml" || b.text != "c:\n  d: 2\n" {
		t.Errorf("indented block: %+v", b)
	}
	if b := blocks[2]; b.marker != "" || b.text != "e: 3\n" {
		t.Errorf("unmarked block: %+v", b)
	}
	if !slices.Equal(dangling, []string{"p.md:15"}) {
		t.Errorf("dangling markers %v, want [p.md:15]", dangling)
	}
	for _, tc := range []struct {
		name, excerpt string
		want          bool
	}{
		{"a run of lines at the file's indentation is an excerpt", "  c:\n    d: 2\n", true},
		{"a run of lines at another indentation is an excerpt", "c:\n  d: 2\n", true},
		{"lines that are not consecutive in the file are not", "x:\nc:\n", false},
		{"a changed value is not", "c:\n  d: 3\n", false},
		{"a changed relative indentation is not", "c:\nd: 2\n", false},
	} {
		if got := isExcerpt(tc.excerpt, "x:\n  y: 1\n  c:\n    d: 2\n"); got != tc.want {
			t.Errorf("%s: isExcerpt = %v", tc.name, got)
		}
	}
}
