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
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const (
	// installPage holds the table of common chart settings.
	installPage = "docs/install.md"
	// valuesTableHeader opens that table.
	valuesTableHeader = "| value | default | |"
)

// expandKeys turns a cell such as "`image.{repository,tag}`, `crds.keep`"
// into the dotted keys it names.
func expandKeys(cell string) []string {
	var keys []string
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(cell, -1) {
		k := m[1]
		from, to := strings.Index(k, "{"), strings.Index(k, "}")
		if from < 0 || to < from {
			keys = append(keys, k)
			continue
		}
		for alt := range strings.SplitSeq(k[from+1:to], ",") {
			keys = append(keys, k[:from]+strings.TrimSpace(alt)+k[to+1:])
		}
	}
	return keys
}

// defaultTokens splits a default cell into its values, separated by "," or
// "/" outside backticks: `x` is a literal default, bare words (such as
// "release namespace" or "appVersion") describe a default the chart
// computes.
func defaultTokens(cell string) (tokens []string, literal []bool) {
	for _, m := range regexp.MustCompile("`([^`]*)`|([^,/`]+)").FindAllStringSubmatch(cell, -1) {
		if m[2] != "" && strings.TrimSpace(m[2]) == "" {
			continue
		}
		if m[2] != "" {
			tokens, literal = append(tokens, strings.TrimSpace(m[2])), append(literal, false)
		} else {
			tokens, literal = append(tokens, m[1]), append(literal, true)
		}
	}
	return tokens, literal
}

// installValuesRows returns the rows of the common settings table: the
// value cell and the default cell of each.
func installValuesRows(page string) ([][2]string, error) {
	i := strings.Index(page, valuesTableHeader+"\n")
	if i < 0 {
		return nil, fmt.Errorf("%s: no table headed %q", installPage, valuesTableHeader)
	}
	var rows [][2]string
	for _, l := range strings.Split(page[i:], "\n")[2:] {
		if !strings.HasPrefix(l, "|") {
			break
		}
		cells := strings.Split(strings.Trim(l, "|"), " | ")
		if len(cells) < 2 {
			return nil, fmt.Errorf("%s: a row without a default: %s", installPage, l)
		}
		rows = append(rows, [2]string{cells[0], cells[1]})
	}
	return rows, nil
}

// checkDocumentedDefaults compares the rows with values.yaml's defaults
// (compact JSON by key) and returns what differs.
func checkDocumentedDefaults(rows [][2]string, defaults map[string]string) []string {
	var problems []string
	for _, r := range rows {
		keys := expandKeys(r[0])
		tokens, literal := defaultTokens(r[1])
		if len(keys) == 0 {
			problems = append(problems, fmt.Sprintf("row %q names no value", r[0]))
			continue
		}
		if len(tokens) > len(keys) {
			problems = append(problems, fmt.Sprintf("row %s: %d defaults for %d values", r[0], len(tokens), len(keys)))
			continue
		}
		for i, k := range keys {
			def, ok := defaults[k]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: no such value in charts/nstance-issuer/values.yaml (renamed? fix %s)", k, installPage))
				continue
			}
			computed := def == `""` || def == "null"
			switch {
			case i >= len(tokens) || !literal[i]:
				// No default given, or one the chart computes: values.yaml
				// must leave it empty.
				if !computed {
					problems = append(problems, fmt.Sprintf("%s: values.yaml's default is %s, but %s gives none or a computed one", k, def, installPage))
				}
			default:
				want := def
				if s, err := strconv.Unquote(def); err == nil {
					want = s
				}
				if tokens[i] != want {
					problems = append(problems, fmt.Sprintf("%s: %s says the default is `%s`, values.yaml has %s", k, installPage, tokens[i], def))
				}
			}
		}
	}
	return problems
}

// TestDocsChartValuesTable: every chart value the install page names
// exists in values.yaml with the default the page gives, so renaming a
// value or changing a default cannot leave the page behind. The chart's
// own README is generated from values.yaml (TestChartREADMEValuesTable).
func TestDocsChartValuesTable(t *testing.T) {
	page, err := os.ReadFile(repoRoot + "/" + installPage)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := installValuesRows(string(page))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatalf("%s: the values table has no rows", installPage)
	}
	docs, _ := documentedValuesAndSchema(t)
	defaults := map[string]string{}
	for _, d := range docs {
		defaults[d.Key] = d.Default
	}
	for _, p := range checkDocumentedDefaults(rows, defaults) {
		t.Error(p)
	}
}

// TestDocsChartValuesCheckFindsDrift proves the check on a made-up table.
func TestDocsChartValuesCheckFindsDrift(t *testing.T) {
	defaults := map[string]string{
		"image.repository": `"ghcr.io/x/y"`, "image.tag": `""`, "image.digest": `""`,
		"replicaCount": "1", "crds.keep": "true", "clusterResourceNamespace": `""`, "rbac.list": "[]",
	}
	for _, tc := range []struct {
		name string
		row  [2]string
		want string
	}{
		{"a matching row with a computed and an unstated default passes", [2]string{"`image.{repository,tag,digest}`", "`ghcr.io/x/y`, appVersion"}, ""},
		{"numbers, booleans and lists compare as JSON", [2]string{"`replicaCount`, `crds.keep`, `rbac.list`", "`1`, `true`, `[]`"}, ""},
		{"a prose default needs an empty value", [2]string{"`clusterResourceNamespace`", "release namespace"}, ""},
		{"a renamed value is found", [2]string{"`replicas`", "`1`"}, "replicas: no such value"},
		{"a changed default is found", [2]string{"`crds.keep`", "`false`"}, "crds.keep: docs/install.md says the default is `false`, values.yaml has true"},
		{"a prose default over a literal one is found", [2]string{"`replicaCount`", "one"}, "replicaCount: values.yaml's default is 1"},
		{"more defaults than values are found", [2]string{"`crds.keep`", "`true`, `false`"}, "2 defaults for 1 values"},
	} {
		got := strings.Join(checkDocumentedDefaults([][2]string{tc.row}, defaults), "\n")
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
