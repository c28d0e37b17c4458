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
	"strings"
	"testing"
)

func TestTemplateTrusted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		trusted    bool
	}{
		// Trusted: only the author's data.
		{"plain text is trusted", "kubelet", true},
		{"an empty text is trusted", "", true},
		{"a text with only a comment is trusted", "{{/* note */}}x", true},
		{"a var is trusted", "{{ .Vars.X }}", true},
		{"all the vars are trusted", "{{ .Vars }}", true},
		{"an optional var read with index is trusted", `{{ index .Vars "X" }}`, true},
		{"issuer fields are trusted", "{{ .Issuer.Kind }}/{{ .Issuer.Name }}", true},
		{"the request namespace is vouched for", "{{ .Request.Namespace }}", true},
		{"a vouched field through a function is trusted", "{{ .Request.Namespace | upper }}", true},
		{"the CSR username is vouched for", "system:node:{{ trimPrefix \"system:node:\" .Request.Username }}", true},
		{"the CSR groups are vouched for", `{{ join "," .Request.Groups }}`, true},
		{"literals and functions are trusted", `{{ printf "%s-%d" "a" 7 | upper }}`, true},
		{"if on trusted data is trusted", `{{ if eq .Vars.Env "prod" }}p{{ else }}{{ .Issuer.Name }}{{ end }}`, true},
		{"dot inside with over trusted data is trusted", `{{ with .Request.Namespace }}{{ . }}{{ else }}cluster{{ end }}`, true},
		{"fields of dot inside with over trusted data are trusted", `{{ with .Vars }}{{ .A }}{{ end }}`, true},
		{"a declaration from trusted data is trusted while unused", `{{ $x := .Vars.A }}{{ .Vars.B }}`, true},
		{"functions nest over trusted data", `{{ default (lower .Issuer.Name) (index .Vars "X") }}`, true},

		// Untrusted: the requester chooses it.
		{"the request name is untrusted", "{{ .Request.Name }}", false},
		{"the common name is untrusted", "{{ .Request.CommonName }}", false},
		{"a requested DNS name through index is untrusted", "{{ index .Request.DNSNames 0 }}", false},
		{"the requested duration is untrusted", "{{ .Request.Duration }}", false},
		{"a method of a requested value is untrusted", "{{ .Request.Duration.Hours }}", false},
		{"the whole request is untrusted", "{{ .Request }}", false},
		{"the request as an argument of index is untrusted", `{{ index .Request "Name" }}`, false},
		{"an unknown top-level field is untrusted", "{{ .Other }}", false},
		{"a bare dot is untrusted", "{{ . }}", false},
		{"a bare dot printed with printf is untrusted", `{{ printf "%s" . }}`, false},
		{"a bare dot printed with %v is untrusted", `{{ printf "%v" . }}`, false},
		{"the root variable is untrusted", "{{ $.Vars.X }}", false},
		{"a variable is untrusted even from trusted data", "{{ $x := .Vars.A }}{{ $x }}", false},
		{"a declaration from requested data is untrusted though unused", "{{ $x := .Request.CommonName }}{{ .Vars.A }}", false},
		{"an assignment from requested data is untrusted", "{{ $x := .Vars.A }}{{ $x = .Request.Name }}{{ .Vars.B }}", false},
		{"a field of a parenthesized value is untrusted", "{{ (.Issuer).Name }}", false},
		{"with over the request rebinds dot to untrusted data", "{{ with .Request }}{{ .Namespace }}{{ end }}", false},
		{"dot inside with over requested data is untrusted", "{{ with .Request.CommonName }}{{ . }}{{ end }}", false},
		{"a with variable is untrusted", "{{ with $x := .Vars.A }}{{ $x }}{{ end }}", false},
		{"the else branch of a with sees the root", "{{ with .Vars.A }}{{ . }}{{ else }}{{ .Request.Name }}{{ end }}", false},
		{"an if on requested data influences the output", "{{ if .Request.CommonName }}a{{ end }}", false},
		{"a comparison with requested data influences the output", `{{ if eq .Request.Name "web" }}a{{ else }}b{{ end }}`, false},
		{"requested data in a nested function is untrusted", `{{ upper (default .Request.Name .Vars.A) }}`, false},
		{"requested data in an else branch is untrusted", "{{ if .Vars.A }}x{{ else }}{{ .Request.Name }}{{ end }}", false},
		{"a key of index from requested data is untrusted", "{{ index .Vars .Request.Name }}", false},
		{"one untrusted field among trusted ones is enough", "{{ .Vars.A }}.{{ .Request.Name }}.{{ .Issuer.Name }}", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := templateTrusted(tc.text)
			if err != nil {
				t.Fatalf("templateTrusted(%q): %v", tc.text, err)
			}
			if got != tc.trusted {
				t.Errorf("templateTrusted(%q) = %v, want %v", tc.text, got, tc.trusted)
			}
		})
	}
}

func TestTemplateTrustedReturnsParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, text, want string }{
		{"an unclosed action is an error", "{{ .Vars.X ", "unclosed action"},
		{"an unknown function is an error", "{{ env .Vars.X }}", `function "env" not defined`},
		{"range is an error", "{{ range .Request.DNSNames }}{{ end }}", "range is not allowed"},
		{"a forbidden function is an error", "{{ js .Vars.X }}", "function js is not allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := templateTrusted(tc.text)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("templateTrusted(%q) = %v, %v; want an error containing %q", tc.text, got, err, tc.want)
			}
			if got {
				t.Errorf("a text that does not parse is trusted")
			}
		})
	}
}

// The vouched request fields are fields of RequestData, so that a
// renamed field cannot leave a stale entry that trusts nothing, or worse.
func TestVouchedRequestFieldsExist(t *testing.T) {
	t.Parallel()
	for f := range vouchedRequestFields {
		text := "{{ .Request." + f + " }}"
		if _, err := Render("vouched", text, renderData()); err != nil {
			t.Errorf("vouched field %s: %v", f, err)
		}
	}
}
