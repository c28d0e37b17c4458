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

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// mdLink is an inline Markdown link or image: [text](target) or
// [text](target "title"). Targets with spaces or parentheses are not used
// in these docs.
var mdLink = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

// codeSpan is inline code, whose brackets are not links.
var codeSpan = regexp.MustCompile("`+[^`]*`+")

// htmlAnchor is an explicit anchor: <a id="x"> or <a name="x">.
var htmlAnchor = regexp.MustCompile(`<a\s+(?:id|name)="([^"]+)"`)

// atxHeading is a Markdown heading line.
var atxHeading = regexp.MustCompile(`^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$`)

// proseLine is a line outside fenced code blocks, with its 1-based number.
type proseLine struct {
	n    int
	text string
}

// proseLines returns the lines of a page outside fenced code blocks.
func proseLines(data string) []proseLine {
	var out []proseLine
	fence := ""
	for i, l := range strings.Split(data, "\n") {
		t := strings.TrimSpace(l)
		if fence != "" {
			if strings.HasPrefix(t, fence) && strings.Trim(t, "`~") == "" {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") {
			fence = t[:3]
			continue
		}
		out = append(out, proseLine{i + 1, l})
	}
	return out
}

// headingText is what a heading renders to: inline code without its
// backticks, links as their text, no emphasis markers.
func headingText(h string) string {
	h = mdLink.ReplaceAllStringFunc(h, func(l string) string {
		return l[strings.Index(l, "[")+1 : strings.Index(l, "](")]
	})
	return strings.NewReplacer("`", "", "**", "", "__", "").Replace(h)
}

// slug is GitHub's anchor for a heading text: lower case, every character
// that is not a letter, digit, space, hyphen or underscore dropped, spaces
// turned into hyphens.
func slug(text string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

// anchors returns the anchors of a Markdown page: its headings' slugs
// (a repeated slug gets -1, -2, ... as on GitHub) and explicit <a> anchors.
func anchors(data string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, pl := range proseLines(data) {
		l := pl.text
		for _, m := range htmlAnchor.FindAllStringSubmatch(l, -1) {
			out[m[1]] = true
		}
		m := atxHeading.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		s := slug(headingText(m[1]))
		if k := seen[s]; k > 0 {
			out[fmt.Sprintf("%s-%d", s, k)] = true
		} else {
			out[s] = true
		}
		seen[s]++
	}
	return out
}

// brokenLinks returns a message for every relative link of page (a path
// relative to root) whose file does not exist or whose #anchor is no
// heading of the Markdown page it names.
func brokenLinks(root, page string, read func(string) (string, error), pending map[string]bool) []string {
	data, err := read(page)
	if err != nil {
		return []string{err.Error()}
	}
	var broken []string
	for _, pl := range proseLines(data) {
		n, l := pl.n, codeSpan.ReplaceAllString(pl.text, "")
		for _, m := range mdLink.FindAllStringSubmatch(l, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			where := fmt.Sprintf("%s:%d: link %s", page, n, target)
			file, anchor, _ := strings.Cut(target, "#")
			dest := page
			if file != "" {
				dest = path.Join(path.Dir(page), file)
			}
			if dest == ".." || strings.HasPrefix(dest, "../") {
				broken = append(broken, where+": leaves the repository")
				continue
			}
			if _, err := os.Stat(filepath.Join(root, dest)); err != nil && pending[dest] {
				continue
			} else if err != nil {
				broken = append(broken, fmt.Sprintf("%s: %s does not exist", where, dest))
				continue
			}
			if anchor == "" {
				continue
			}
			if !strings.HasSuffix(dest, ".md") {
				broken = append(broken, fmt.Sprintf("%s: an anchor into %s, which is not a Markdown page", where, dest))
				continue
			}
			destData, err := read(dest)
			if err != nil {
				broken = append(broken, fmt.Sprintf("%s: %v", where, err))
				continue
			}
			if !anchors(destData)[anchor] {
				broken = append(broken, fmt.Sprintf("%s: %s has no heading with anchor #%s", where, dest, anchor))
			}
		}
	}
	return broken
}

// pendingPages are pages written on other branches (release artefacts; the
// package layout) that the index links to already: a link to one is
// checked once the page exists. Remove an entry once its page has landed.
var pendingPages = map[string]bool{}

// TestDocsLinksResolve: every relative link of the README and of docs/
// reaches an existing file and, with a #anchor, a heading of that page, so
// moving a section cannot leave a link behind. No network.
func TestDocsLinksResolve(t *testing.T) {
	read := func(p string) (string, error) {
		b, err := os.ReadFile(filepath.Join(repoRoot, p))
		return string(b), err
	}
	for _, page := range docPages(t) {
		for _, msg := range brokenLinks(repoRoot, page, read, pendingPages) {
			t.Error(msg)
		}
	}
}

// TestLinkCheckerFindsBrokenLinks proves the checker on a small tree.
func TestLinkCheckerFindsBrokenLinks(t *testing.T) {
	pages := map[string]string{
		"README.md": strings.Join([]string{
			"# Title",
			"[ok](docs/a.md) [ok](docs/a.md#ttl-duration-and-renewbefore) [ok](#title) [ok](https://example.com/x.md)",
			"[missing file](docs/none.md) [missing anchor](docs/a.md#nope) [pending](docs/later.md)",
			"`[not a link](docs/none.md)`",
			"```",
			"[in code](docs/none.md)",
			"```",
		}, "\n"),
		"docs/a.md": strings.Join([]string{
			"# A",
			"## `ttl`, `duration` and `renewBefore`",
			"## Where this differs from cert-manager's CA issuer",
			"## A",
			"[ok](../README.md#title) [ok](#where-this-differs-from-cert-managers-ca-issuer) [ok](#a-1)",
			"[outside](../../x.md) [self](#a-2)",
		}, "\n"),
	}
	root := t.TempDir()
	for p, data := range pages {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	read := func(p string) (string, error) {
		b, err := os.ReadFile(filepath.Join(root, p))
		return string(b), err
	}
	got := append(brokenLinks(root, "README.md", read, map[string]bool{"docs/later.md": true}), brokenLinks(root, "docs/a.md", read, nil)...)
	want := []string{
		"README.md:3: link docs/none.md: docs/none.md does not exist",
		"README.md:3: link docs/a.md#nope: docs/a.md has no heading with anchor #nope",
		"docs/a.md:6: link ../../x.md: leaves the repository",
		"docs/a.md:6: link #a-2: docs/a.md has no heading with anchor #a-2",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("broken links:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
