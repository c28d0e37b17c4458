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

package pki

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// A reused template starts every execution with the whole budget of a
// field: this text spends more than half of it, so a second render would
// fail if the budget carried over.
func TestReusedTemplateGetsAFreshBudget(t *testing.T) {
	text := `{{ len (replace "" "abcdefghijklmnopqrstuvwxyz0123456789" (printf "%4000d" 0)) }}`
	for i := range 4 {
		got, err := Render("budget", text, renderData())
		if err != nil {
			t.Fatalf("render %d: %v", i+1, err)
		}
		if got != "148036" {
			t.Fatalf("render %d = %q, want 148036", i+1, got)
		}
	}
	// And the budget still stops a text that spends more than all of it.
	over := `{{ len (replace "" (printf "%80d" 0) (printf "%4000d" 0)) }}`
	if _, err := Render("budget", over, renderData()); err == nil || !strings.Contains(err.Error(), "simplify the template") {
		t.Fatalf("over-budget render: err = %v, want the budget error", err)
	}
}

// Parallel renders of one text with different data each get their own
// result (run with -race).
func TestReusedTemplateIsSafeInParallel(t *testing.T) {
	text := `{{ .Request.Name | upper }}.{{ .Vars.ClusterSlug }}`
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				data := renderData()
				data.Request.Name = fmt.Sprintf("svc%d-%d", g, i)
				got, err := Render("parallel", text, data)
				if want := strings.ToUpper(data.Request.Name) + ".prod-eu1"; err != nil || got != want {
					errs <- fmt.Errorf("got %q, %w; want %q", got, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// The cache is keyed by field name and text, and starts afresh past its
// bound in bytes rather than growing with every edited issuer.
func TestTemplateCacheIsKeyedAndBounded(t *testing.T) {
	keys := []string{"a\x00{{ .Request.Name }}", "a\x00{{ .Request.Namespace }}", "b\x00{{ .Request.Name }}"}
	var three int64
	for _, k := range keys {
		three += int64(len(k))
	}
	c := &templateCache{max: three + 1} // three texts fit, a fourth does not
	render := func(name, text string) string {
		rb := newRequestBudget()
		bt, err := c.get(name, text, rb)
		if err != nil {
			t.Fatal(err)
		}
		defer c.put(bt, rb)
		var b strings.Builder
		if err := bt.Execute(&b, renderData()); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	if got := render("a", "{{ .Request.Name }}"); got != "web" {
		t.Fatalf("got %q", got)
	}
	if got := render("a", "{{ .Request.Namespace }}"); got != "team-a" {
		t.Fatalf("same name, other text: got %q, want team-a", got)
	}
	render("b", "{{ .Request.Name }}")
	if n := c.size.Load(); n != three {
		t.Fatalf("cache holds %d bytes of texts, want %d (three texts)", n, three)
	}
	render("c", "{{ .Request.Name }}") // the fourth: starts afresh
	if n := c.size.Load(); n != 0 {
		t.Fatalf("cache holds %d bytes past its bound, want a fresh start", n)
	}
	if got := render("a", "{{ .Request.Namespace }}"); got != "team-a" {
		t.Fatalf("after the fresh start: got %q", got)
	}
	// A text that does not parse is never cached and fails every time.
	for range 2 {
		if _, err := c.get("bad", "{{ .Request.Name ", newRequestBudget()); err == nil {
			t.Fatal("a broken text parsed")
		}
	}
}
