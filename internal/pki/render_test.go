package pki

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func renderData() RenderData {
	return RenderData{
		Vars:   map[string]string{"ClusterSlug": "prod-eu1", "Secret": "s3cr3t", "Empty": ""},
		Issuer: IssuerData{Name: "cluster-ca", Namespace: "", Kind: "NstanceClusterIssuer"},
		Request: RequestData{
			Name: "web", Namespace: "team-a", CommonName: "Web.Team-A.example.com",
			DNSNames: []string{"a.example.com", "b.example.com"}, IPAddresses: []string{"10.0.0.1"},
			Duration: 90 * 24 * time.Hour,
		},
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text, want string
	}{
		{"plain text renders as is", "kubelet", "kubelet"},
		{"vars render", "Cluster CA - {{ .Vars.ClusterSlug }}", "Cluster CA - prod-eu1"},
		{"request fields render", "{{ .Request.Name }}.{{ .Request.Namespace }}.svc", "web.team-a.svc"},
		{"issuer fields render", "{{ .Issuer.Kind }}/{{ .Issuer.Name }}", "NstanceClusterIssuer/cluster-ca"},
		{"the duration renders", "{{ .Request.Duration }}", "2160h0m0s"},
		{"lower lowers", "{{ lower .Request.CommonName }}", "web.team-a.example.com"},
		{"upper uppers", "{{ .Vars.ClusterSlug | upper }}", "PROD-EU1"},
		{"trim trims spaces", `{{ trim "  x  " }}`, "x"},
		{"trimPrefix trims a prefix", `{{ trimPrefix "prod-" .Vars.ClusterSlug }}`, "eu1"},
		{"trimSuffix trims a suffix", `{{ .Vars.ClusterSlug | trimSuffix "-eu1" }}`, "prod"},
		{"replace replaces every occurrence", `{{ replace "." "-" .Request.CommonName }}`, "Web-Team-A-example-com"},
		{"join joins a list", `{{ join "," .Request.DNSNames }}`, "a.example.com,b.example.com"},
		{"split splits a string", `{{ index (split "-" .Vars.ClusterSlug) 1 }}`, "eu1"},
		{"default fills an empty value", `{{ default "none" .Vars.Empty }}`, "none"},
		{"default keeps a non-empty value", `{{ .Vars.ClusterSlug | default "none" }}`, "prod-eu1"},
		{"default with index tolerates a missing var", `{{ default "none" (index .Vars "Missing") }}`, "none"},
		{"hasPrefix tests a prefix", `{{ if hasPrefix "prod" .Vars.ClusterSlug }}yes{{ end }}`, "yes"},
		{"hasSuffix tests a suffix", `{{ if hasSuffix "eu2" .Vars.ClusterSlug }}yes{{ else }}no{{ end }}`, "no"},
		{"first takes the first element", `{{ first .Request.DNSNames }}`, "a.example.com"},
		{"first of an empty list is empty", `{{ first .Request.URIs }}`, ""},
		{"truncate cuts to N characters", `{{ truncate 4 .Vars.ClusterSlug }}`, "prod"},
		{"truncate keeps a shorter string", `{{ truncate 40 .Vars.ClusterSlug }}`, "prod-eu1"},
		{"truncate counts characters, not bytes", `{{ truncate 2 "héllo" }}`, "hé"},
		{"printf formats", `{{ printf "%s-%03d" .Vars.ClusterSlug 7 }}`, "prod-eu1-007"},
		{"with and else work", `{{ with .Request.Namespace }}{{ . }}{{ else }}cluster{{ end }}`, "team-a"},
		{"len works", `{{ len .Request.DNSNames }}`, "2"},
		{"request text is data and is never executed", `{{ .Request.CommonName }}`, "Web.Team-A.example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Render("test", tc.text, renderData())
			wantErr(t, err, "")
			if got != tc.want {
				t.Errorf("Render(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestRenderNeverExecutesRequestData(t *testing.T) {
	t.Parallel()
	data := renderData()
	data.Request.CommonName = "{{ .Vars.Secret }}"
	data.Request.Name = `{{ printf "%s" "x" }}`
	got, err := Render("web.cn", "{{ .Request.CommonName }} {{ .Request.Name }}", data)
	wantErr(t, err, "")
	if want := `{{ .Vars.Secret }} {{ printf "%s" "x" }}`; got != want {
		t.Errorf("got %q, want the request text literally: %q", got, want)
	}
	if strings.Contains(got, "s3cr3t") {
		t.Errorf("request text was executed as a template")
	}
}

func TestRenderRejections(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", MaxRenderedSize)
	tests := []struct {
		name, text string
		want       string
	}{
		{"a missing var is an error", "{{ .Vars.Nope }}", `map has no entry for key "Nope"`},
		{"a parse error is reported", "{{ .Vars.ClusterSlug ", "unclosed action"},
		{"an unknown function is reported", "{{ env \"HOME\" }}", `function "env" not defined`},
		{"range is forbidden", "{{ range .Request.DNSNames }}{{ . }}{{ end }}", "range is not allowed"},
		{"define is forbidden", `{{ define "x" }}hi{{ end }}`, "define and block are not allowed"},
		{"template is forbidden", `{{ template "x" }}`, "template and block are not allowed"},
		{"block is forbidden", `{{ block "x" . }}hi{{ end }}`, "not allowed"},
		{"call is forbidden", `{{ call .Vars.X }}`, "function call is not allowed"},
		{"js is forbidden", `{{ js .Request.Name }}`, "function js is not allowed"},
		{"forbidden functions are found inside if", `{{ if true }}{{ html "x" }}{{ end }}`, "function html is not allowed"},
		{"forbidden functions are found in else branches", `{{ with .Vars.Empty }}x{{ else }}{{ urlquery "x" }}{{ end }}`, "function urlquery is not allowed"},
		{"plain text over the cap is rejected", big + "x", "rendered output exceeds 4096 bytes"},
		{"rendered output over the cap is rejected", big + "{{ .Vars.ClusterSlug }}", "rendered output exceeds 4096 bytes"},
		{"a printf width over the cap is rejected", `{{ printf "%99999999d" 1 }}`, "printf: width or precision 99999999 is larger than 4096"},
		{"a printf precision over the cap is rejected", `{{ printf "%.5000f" 1.0 }}`, "printf: width or precision 5000 is larger than 4096"},
		{"a printf star width is rejected", `{{ printf "%*d" 100 1 }}`, "'*' width"},
		{"nested replace cannot blow up memory", `{{ $a := replace "" .Vars.ClusterSlug .Request.CommonName }}{{ $b := replace "" $a $a }}{{ $c := replace "" $b $b }}`, "template functions produced more than"},
		{"a negative truncate is rejected", `{{ truncate -1 "x" }}`, "truncate needs a length of 0 or more"},
		{"an over-long template is rejected", "{{ .Vars.ClusterSlug }}" + strings.Repeat(" ", MaxTemplateSize), "more than the 16384 allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, err := Render("web.cn", tc.text, renderData())
			wantErr(t, err, "TemplateError", `template "web.cn": `, tc.want)
			if out != "" {
				t.Errorf("output %q returned with an error", out)
			}
		})
	}
}

func TestParseTemplate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text, want string
	}{
		{"a valid template parses", "{{ .Vars.X | lower }}", ""},
		{"plain text parses", "hello", ""},
		{"range is rejected at parse time", "{{ range .Vars }}{{ end }}", "range is not allowed"},
		{"break is rejected at parse time", "{{ with 1 }}{{ end }}{{ break }}", "break"},
		{"a syntax error is rejected", "{{ if }}", "missing value for if"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := ParseTemplate("web.cn", tc.text)
			if tc.want == "" {
				wantErr(t, err, "")
				return
			}
			wantErr(t, err, "TemplateError", tc.want)
			var te *TemplateError
			if errors.As(err, &te) && te.Template != "web.cn" {
				t.Errorf("Template = %q", te.Template)
			}
		})
	}
}

func TestCheckFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, format string
		ok           bool
	}{
		{"plain verbs pass", "%s %d %v %q %x %%", true},
		{"small widths pass", "%-10s|%08.3f", true},
		{"numbers in literal text pass", "port 123456 %s", true},
		{"argument indexes pass", "%[2]s %[1]s", true},
		{"a width of 4096 passes", "%4096d", true},
		{"a width of 4097 fails", "%4097d", false},
		{"a long run of zeros fails", "%000001d", false},
		{"a star precision fails", "%.*f", false},
		{"a trailing percent passes", "100%", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := checkFormat(tc.format); (err == nil) != tc.ok {
				t.Errorf("checkFormat(%q) = %v, want ok=%v", tc.format, err, tc.ok)
			}
		})
	}
}
