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

// Checks of the chart's files that need neither helm nor an API server:
// the README values table is generated from values.yaml, values.yaml and
// values.schema.json describe the same settings, and the chart's copies of
// generated manifests match their sources. `make chart-docs` regenerates the
// table (go test -run TestChartREADMEValuesTable -update).

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
	rbacv1 "k8s.io/api/rbac/v1"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
)

var update = flag.Bool("update", false, "rewrite the chart README's values table from values.yaml")

const (
	chartDir     = repoRoot + "/charts/nstance-issuer"
	configDir    = repoRoot + "/config"
	tableStart   = "<!-- values-table:start (generated from values.yaml by `make chart-docs`; do not edit) -->"
	tableEnd     = "<!-- values-table:end -->"
	docPrefix    = "-- "
	schemaPath   = chartDir + "/values.schema.json"
	valuesPath   = chartDir + "/values.yaml"
	readmePath   = chartDir + "/README.md"
	chartRBAC    = chartDir + "/files/rbac/role.yaml"
	chartCRDs    = chartDir + "/files/crds"
	configRBAC   = configDir + "/rbac/role.yaml"
	chartPolicy  = chartDir + "/files/csr-policy/policy.yaml"
	configPolicy = configDir + "/csr-policy/policy.yaml"
	configCRDs   = configDir + "/crd/bases"
	regenerateIt = "run `make chart` and commit"
)

// valueDoc is one documented setting of values.yaml.
type valueDoc struct {
	Key         string // dotted path, e.g. image.tag
	Default     string // the default as compact JSON
	Description string
}

// documentedValues walks values.yaml and returns every setting documented
// with a "# --" comment. A mapping without such a comment is a section and
// is walked into; any other value without one is an error, so a new setting
// cannot be added without documentation.
func documentedValues(src []byte) ([]valueDoc, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		return nil, fmt.Errorf("values.yaml: %w", err)
	}
	if len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("values.yaml: want one mapping document")
	}
	var docs []valueDoc
	var errs []string
	var walk func(prefix string, m *yaml.Node)
	walk = func(prefix string, m *yaml.Node) {
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			key := prefix + k.Value
			desc, ok := docComment(k.HeadComment)
			switch {
			case ok:
				var val any
				if err := v.Decode(&val); err != nil {
					errs = append(errs, fmt.Sprintf("%s: %v", key, err))
					continue
				}
				def, err := json.Marshal(val)
				if err != nil {
					errs = append(errs, fmt.Sprintf("%s: %v", key, err))
					continue
				}
				docs = append(docs, valueDoc{Key: key, Default: string(def), Description: desc})
			case v.Kind == yaml.MappingNode && len(v.Content) > 0:
				walk(key+".", v)
			default:
				errs = append(errs, key+": no \"# --\" comment documents it")
			}
		}
	}
	walk("", root.Content[0])
	if len(errs) > 0 {
		return nil, fmt.Errorf("values.yaml:\n  %s", strings.Join(errs, "\n  "))
	}
	return docs, nil
}

// docComment returns the text of a "# -- ..." head comment (the "# --"
// paragraph closest to the key, continued by the "#" lines after it).
func docComment(head string) (string, bool) {
	lines := strings.Split(head, "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimPrefix(strings.TrimSpace(l), "#"), " "+docPrefix) {
			start = i
		}
	}
	if start < 0 {
		return "", false
	}
	var words []string
	for i, l := range lines[start:] {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "#"))
		if i == 0 {
			l = strings.TrimSpace(strings.TrimPrefix(l, strings.TrimSpace(docPrefix)))
		}
		if l != "" {
			words = append(words, l)
		}
	}
	return strings.Join(words, " "), true
}

// schemaNode is the part of JSON schema values.schema.json uses.
type schemaNode struct {
	Ref                  string                 `json:"$ref"`
	Type                 any                    `json:"type"`
	Properties           map[string]*schemaNode `json:"properties"`
	AdditionalProperties any                    `json:"additionalProperties"`
	OneOf                []*schemaNode          `json:"oneOf"`
	Enum                 []any                  `json:"enum"`
	Definitions          map[string]*schemaNode `json:"definitions"`
}

func loadSchema(t *testing.T) *schemaNode {
	t.Helper()
	raw, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	var s schemaNode
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("values.schema.json: %v", err)
	}
	return &s
}

// resolve follows a local "#/definitions/x" reference.
func (s *schemaNode) resolve(root *schemaNode) *schemaNode {
	if s == nil || s.Ref == "" {
		return s
	}
	return root.Definitions[strings.TrimPrefix(s.Ref, "#/definitions/")]
}

// at returns the schema of a dotted values path, or nil.
func (s *schemaNode) at(root *schemaNode, key string) *schemaNode {
	n := s
	for part := range strings.SplitSeq(key, ".") {
		n = n.resolve(root)
		if n == nil || n.Properties[part] == nil {
			return nil
		}
		n = n.Properties[part]
	}
	return n.resolve(root)
}

// typeName is the README's type column: the schema's types.
func (s *schemaNode) typeName(root *schemaNode) string {
	s = s.resolve(root)
	var types []string
	add := func(t any) {
		switch v := t.(type) {
		case string:
			types = append(types, v)
		case []any:
			for _, x := range v {
				types = append(types, fmt.Sprint(x))
			}
		}
	}
	add(s.Type)
	for _, o := range s.OneOf {
		add(o.resolve(root).Type)
	}
	if len(s.Enum) > 0 {
		var vals []string
		for _, e := range s.Enum {
			vals = append(vals, fmt.Sprint(e))
		}
		return strings.Join(types, " \\| ") + " (" + strings.Join(vals, ", ") + ")"
	}
	return strings.Join(types, " \\| ")
}

// documentedValuesAndSchema reads the documented settings of values.yaml
// and the chart's values schema.
func documentedValuesAndSchema(t *testing.T) ([]valueDoc, *schemaNode) {
	t.Helper()
	src, err := os.ReadFile(valuesPath)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := documentedValues(src)
	if err != nil {
		t.Fatal(err)
	}
	return docs, loadSchema(t)
}

func valuesTable(t *testing.T) string {
	t.Helper()
	docs, root := documentedValuesAndSchema(t)
	var b strings.Builder
	b.WriteString("| key | type | default | description |\n|---|---|---|---|\n")
	for _, d := range docs {
		s := root.at(root, d.Key)
		if s == nil {
			t.Fatalf("values.yaml documents %s, but values.schema.json has no such property", d.Key)
		}
		fmt.Fprintf(&b, "| `%s` | %s | `%s` | %s |\n", d.Key, s.typeName(root), mdEscape(d.Default), mdEscape(d.Description))
	}
	return b.String()
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

func TestChartREADMEValuesTable(t *testing.T) {
	want := "\n" + valuesTable(t)
	got, err := framework.SyncSection(readmePath, tableStart, tableEnd, want, *update)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case got == want:
	case *update:
		t.Logf("rewrote the values table of %s", readmePath)
	default:
		t.Errorf("the values table in %s is stale: run `make chart-docs` and commit\n--- want\n%s--- got\n%s", readmePath, want, got)
	}
}

// TestValuesSchemaIsStrict proves that the schema describes exactly the
// settings of values.yaml: every documented setting has a schema, every
// schema property is a setting, and every object with properties refuses
// unknown keys, so a typo in -f my-values.yaml fails instead of being
// ignored.
func TestValuesSchemaIsStrict(t *testing.T) {
	docs, root := documentedValuesAndSchema(t)
	documented := map[string]bool{}
	for _, d := range docs {
		documented[d.Key] = true
		if root.at(root, d.Key) == nil {
			t.Errorf("values.yaml documents %s, but values.schema.json has no such property", d.Key)
		}
	}
	var walk func(prefix string, n *schemaNode)
	walk = func(prefix string, n *schemaNode) {
		n = n.resolve(root)
		if len(n.Properties) > 0 && n.AdditionalProperties != false {
			t.Errorf("values.schema.json: %q has properties but not \"additionalProperties\": false", strings.TrimSuffix(prefix, "."))
		}
		keys := make([]string, 0, len(n.Properties))
		for k := range n.Properties {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			key := prefix + k
			if documented[key] {
				continue // documented as a whole: its inner schema is up to it
			}
			p := n.Properties[k].resolve(root)
			if len(p.Properties) == 0 {
				t.Errorf("values.schema.json allows %s, but values.yaml neither sets nor documents it", key)
				continue
			}
			walk(key+".", p)
		}
	}
	walk("", root)
}

// TestChartCopiesOfGeneratedManifests proves that the chart ships exactly
// the CRDs, manager RBAC rules and CSR annotation policy `make manifests`
// generates (the chart reads them from files/; `make chart` copies them).
func TestChartCopiesOfGeneratedManifests(t *testing.T) {
	sameFile(t, configRBAC, chartRBAC)
	sameFile(t, configPolicy, chartPolicy)
	src, err := filepath.Glob(filepath.Join(configCRDs, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dst, err := filepath.Glob(filepath.Join(chartCRDs, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	base := func(paths []string) []string {
		out := make([]string, len(paths))
		for i, p := range paths {
			out[i] = filepath.Base(p)
		}
		return out
	}
	if len(src) == 0 || !slices.Equal(base(src), base(dst)) {
		t.Fatalf("chart CRDs %v differ from generated %v: %s", base(dst), base(src), regenerateIt)
	}
	for _, p := range src {
		sameFile(t, p, filepath.Join(chartCRDs, filepath.Base(p)))
	}
}

func sameFile(t *testing.T, src, dst string) {
	t.Helper()
	a, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("%s is not a copy of the generated %s: %s", dst, src, regenerateIt)
	}
}

const (
	rbacTableStart = "<!-- rbac-table:start"
	rbacTableEnd   = "<!-- rbac-table:end -->"
)

// generatedRoles reads the ClusterRole and Role of a role.yaml written by
// controller-gen.
func generatedRoles(t *testing.T, path string) (cluster, lease []rbacv1.PolicyRule) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := k8syaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for {
		var obj struct {
			Kind  string              `json:"kind"`
			Rules []rbacv1.PolicyRule `json:"rules"`
		}
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		switch obj.Kind {
		case "ClusterRole":
			cluster = append(cluster, obj.Rules...)
		case "Role":
			lease = append(lease, obj.Rules...)
		case "":
		default:
			t.Fatalf("%s: unexpected kind %s", path, obj.Kind)
		}
	}
	return cluster, lease
}

// ruleRows flattens rules into "scope|group|resource|verbs|names" rows, one
// per group and resource, verbs and names sorted.
func ruleRows(scope string, rules []rbacv1.PolicyRule) []string {
	var rows []string
	for _, r := range rules {
		verbs := slices.Sorted(slices.Values(r.Verbs))
		names := slices.Sorted(slices.Values(r.ResourceNames))
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				rows = append(rows, strings.Join([]string{scope, g, res, strings.Join(verbs, ","), strings.Join(names, ",")}, "|"))
			}
		}
	}
	return rows
}

// TestChartREADMERBACTable proves that the chart README's RBAC table lists
// exactly the generated rules, so the explanation of what the controller
// may read and write cannot drift from what it is granted.
func TestChartREADMERBACTable(t *testing.T) {
	cluster, lease := generatedRoles(t, chartRBAC)
	want := append(ruleRows("cluster", cluster), ruleRows("Lease namespace", lease)...)
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	start, end := strings.Index(s, rbacTableStart), strings.Index(s, rbacTableEnd)
	if start < 0 || end < start {
		t.Fatalf("%s: RBAC table markers not found", readmePath)
	}
	var got []string
	for _, line := range strings.Split(s[start:end], "\n")[1:] {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		if len(cells) < 6 || strings.HasPrefix(strings.TrimSpace(cells[0]), "---") || strings.TrimSpace(cells[0]) == "scope" {
			continue
		}
		clean := func(c string) string {
			c = strings.Trim(strings.TrimSpace(c), "`")
			if c == `""` {
				return ""
			}
			return strings.ReplaceAll(c, ", ", ",")
		}
		if strings.TrimSpace(cells[5]) == "" {
			t.Errorf("%s: RBAC row %q does not say why", readmePath, line)
		}
		got = append(got, strings.Join([]string{clean(cells[0]), clean(cells[1]), clean(cells[2]), clean(cells[3]), clean(cells[4])}, "|"))
	}
	slices.Sort(want)
	slices.Sort(got)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s: the RBAC table lacks the generated rule %s: add a row that says why", readmePath, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("%s: the RBAC table lists %s, which the generated rules do not grant", readmePath, g)
		}
	}
}

func TestDocumentedValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		src     string
		want    []valueDoc
		wantErr string
	}{{
		name: "a documented scalar, list and map are one row each, sections are walked into",
		src: "# -- Replicas.\nreplicaCount: 1\nimage:\n  # -- Tag,\n  # defaulting to appVersion.\n  tag: \"\"\n" +
			"# -- Tolerations.\ntolerations: []\n# -- Resources.\nresources:\n  limits: {memory: 1Mi}\n",
		want: []valueDoc{
			{Key: "replicaCount", Default: "1", Description: "Replicas."},
			{Key: "image.tag", Default: `""`, Description: "Tag, defaulting to appVersion."},
			{Key: "tolerations", Default: "[]", Description: "Tolerations."},
			{Key: "resources", Default: `{"limits":{"memory":"1Mi"}}`, Description: "Resources."},
		},
	}, {
		name:    "a plain comment does not document a setting",
		src:     "# Replicas.\nreplicaCount: 1\n",
		wantErr: "replicaCount: no \"# --\" comment",
	}, {
		name:    "an undocumented empty map is an error, not a section",
		src:     "podLabels: {}\n",
		wantErr: "podLabels: no",
	}, {
		name:    "an undocumented key inside a section is named by its path",
		src:     "image:\n  # -- Repo.\n  repository: x\n  tag: v1\n",
		wantErr: "image.tag: no",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := documentedValues([]byte(tc.src))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// specDiff returns "" when a and b are equal as JSON, else both.
func specDiff(a, b any) string {
	ja, jb := mustJSON(a), mustJSON(b)
	if ja == jb {
		return ""
	}
	return fmt.Sprintf("\n  %s\n  %s", ja, jb)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
