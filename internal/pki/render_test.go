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
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"runtime"
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
		{"nested replace cannot blow up memory", `{{ $a := replace "" .Vars.ClusterSlug .Request.CommonName }}{{ $b := replace "" $a $a }}{{ $c := replace "" $b $b }}`, "rendering this field used more than 262144 bytes"},
		{"a printf star width after a bad index is rejected", `{{ printf "%[x]*s" 1000000 "a" }}`, "'*' width"},
		{"printf refuses a value it cannot bound", `{{ printf "%v" . }}`, "printf accepts strings, numbers, booleans, and lists or maps of strings, not pki.RenderData"},
		{"print refuses a value it cannot bound", `{{ print .Issuer }}`, "print accepts strings, numbers, booleans, and lists or maps of strings, not pki.IssuerData"},
		{"println refuses a value it cannot bound", `{{ println .Request }}`, "println accepts strings, numbers, booleans, and lists or maps of strings, not pki.RequestData"},
		{"printing a value goes through print", `{{ .Request }}`, "print accepts strings, numbers, booleans, and lists or maps of strings, not pki.RequestData"},
		{"printing the whole data goes through print", `{{ . }}`, "not pki.RenderData"},
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
		{"parentheses as deep as allowed parse", "{{ " + nestParens(MaxTemplateNesting-2, ".Vars.X") + " }}", ""},
		{"parentheses nested too deep are rejected before parsing", "{{ " + nestParens(MaxTemplateNesting+1, ".Vars.X") + " }}", "nests parentheses 33 deep, more than the 32 allowed"},
		{"8,000 nested parentheses are rejected", "{{ " + strings.Repeat("(", 8000) + "1" + strings.Repeat(")", 8000) + " }}", "nests parentheses 8000 deep"},
		{"parentheses in strings do not count", `{{ print "` + strings.Repeat("(", 100) + `" }}`, ""},
		{"parentheses in a comment do not count", `{{/* ` + strings.Repeat("(", 100) + ` */}}x`, ""},
		{"a quote in a comment does not hide later parentheses", `{{/* ' */}}{{ ` + nestParens(40, "1") + " }}", "nests parentheses 40 deep"},
		{"braces in a string do not end the action", `{{ print "}}" ` + nestParens(40, "1") + " }}", "nests parentheses 40 deep"},
		{"an escaped quote does not end a string", `{{ print "\"` + strings.Repeat("(", 40) + `" }}`, ""},
		{"blocks nested too deep are rejected", strings.Repeat("{{ if 1 }}", MaxTemplateNesting+1) + strings.Repeat("{{ end }}", MaxTemplateNesting+1), "nests blocks and pipelines"},
		{"an else-if chain nests too", "{{ if 0 }}" + strings.Repeat("{{ else if 0 }}", MaxTemplateNesting) + "{{ end }}", "nests blocks and pipelines"},
		{"blocks nested a few deep parse", strings.Repeat("{{ with .Vars.X }}", 8) + "{{ . }}" + strings.Repeat("{{ end }}", 8), ""},
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

// nestParens wraps inner in n pairs of parentheses, each a call of print.
func nestParens(n int, inner string) string {
	return strings.Repeat("(print ", n) + inner + strings.Repeat(")", n)
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
		{"zeros before a width are flags and pass", "%000001d", true},
		{"zero flags do not hide a wide width", "%00004097d", false},
		{"a long run of digits fails", "%99999999d", false},
		{"a wide precision after an index fails", "%[1].4097d", false},
		{"a large argument index is not a width", "%[99999999]d", true},
		{"a star width fails", "%*d", false},
		{"a star after an index fails", "%[1]*d", false},
		{"a star after a bad index fails", "%[ab]*d", false},
		{"a star precision after an index fails", "%.[2]*d", false},
		{"a star in the text passes", "*.%s", true},
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

// printArgs are arguments at the edges of fmt's output: bytes that %q
// escapes as \x00 or \u2028, invalid UTF-8, the longest numbers.
var printArgs = []any{
	"é\x00\xff\"\\\u2028\U0001F600",
	[]string{"a.example.com", "é\x00\xff", ""},
	map[string]string{"A": "x\x01y", "Bé": "\U0001F600", "": ""},
	[]string{},
	true,
	int64(math.MinInt64),
	uint64(math.MaxUint64),
	int8(math.MinInt8),
	time.Duration(math.MinInt64),
	-math.MaxFloat64,
	math.SmallestNonzeroFloat64,
	float32(-math.MaxFloat32),
}

// printFormats are printf formats that pass checkFormat, the odd ones
// included: every verb, flags, the widest widths and precisions, argument
// indexes good and bad, verbs fmt reports as missing or bad.
var printFormats = []string{
	"%v", "%s", "%q", "%+q", "%#q", "%x", "% x", "% #x", "%X", "%#v", "%+v", "%d", "%+d",
	"%b", "%#b", "%o", "%#o", "%O", "%c", "%U", "%#U", "%e", "%E", "%f", "%F", "%g", "%#g",
	"%G", "%t", "%p", "%T", "%w", "%%", "%z", "%é",
	"%4096s", "%-4096q", "%04096d", "%.4096f", "%4096.4096f", "%#.4096g", "%.4096x",
	"%4096.4096v", "% #4096x", "%#4096v",
	"%[1]s%[1]s", "%[2]d", "%[3]4096v", "%4096[3]v", "%[0]s", "%[9]s", "%[1]4096s", "%4096[1]s%4096[1]q",
	"%4096.4096[2]x", "%.[1]4096d", "%[x]s", "%[1",
	"%[1][2]q", "%5.5.5d", "%", "%!", "%.", "%4096", "%-", "text %s and %d then %v, %%",
}

// The bound charged before printf runs is never below what fmt writes.
func TestPrintfBoundIsAnUpperBound(t *testing.T) {
	t.Parallel()
	for _, f := range printFormats {
		checkPrintfBound(t, f, nil)
		checkPrintfBound(t, f, printArgs)
		for _, a := range printArgs {
			checkPrintfBound(t, f, []any{a})
			checkPrintfBound(t, f, []any{a, a})
		}
	}
}

// The same, for formats made of random pieces that checkFormat accepts.
func TestPrintfBoundHoldsForRandomFormats(t *testing.T) {
	t.Parallel()
	pieces := []string{"%", "%", "%", "[", "]", "1", "2", "0", "4096", "4", ".", "#", "+", "-", " ", "*", "s", "q", "v", "x", "X", "d", "b", "U", "c", "é", "%%", "t"}
	r := rand.New(rand.NewPCG(1, 2))
	checked := 0
	for range 50000 {
		var b strings.Builder
		for range 1 + r.IntN(10) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		f := b.String()
		if checkFormat(f) != nil {
			continue
		}
		checked++
		args := make([]any, r.IntN(4))
		for i := range args {
			args[i] = printArgs[r.IntN(len(printArgs))]
		}
		checkPrintfBound(t, f, args)
	}
	if checked < 10000 {
		t.Fatalf("only %d formats passed checkFormat", checked)
	}
}

// checkPrintfBound checks printfBound against fmt. (args is a slice, so
// that vet does not take this for a printf wrapper.)
func checkPrintfBound(t *testing.T, format string, args []any) {
	t.Helper()
	bound, err := printfBound(format, args)
	if err != nil {
		t.Fatalf("printfBound(%q): %v", format, err)
	}
	if got := len(fmt.Sprintf(format, args...)); int64(got) > bound {
		t.Errorf("printf %q of %d args: %d bytes, more than the bound %d", format, len(args), got, bound)
	}
}

// The bound charged before print and println run is never below what
// fmt writes.
func TestPrintBoundIsAnUpperBound(t *testing.T) {
	t.Parallel()
	for i := range len(printArgs) + 1 {
		args := printArgs[:i]
		bound, err := printBound("print", args)
		if err != nil {
			t.Fatal(err)
		}
		for fn, got := range map[string]string{"print": fmt.Sprint(args...), "println": fmt.Sprintln(args...)} {
			if int64(len(got)) > bound {
				t.Errorf("%s of %d args: %d bytes, more than the bound %d", fn, i, len(got), bound)
			}
		}
	}
}

func TestPrintBoundRefusesOtherTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		arg  any
		want string
	}{
		{"nil is refused", nil, "not <nil>"},
		{"a struct is refused", RequestData{}, "not pki.RequestData"},
		{"a pointer is refused", &RenderData{}, "not *pki.RenderData"},
		{"a list of numbers is refused", []int{1}, "not []int"},
		{"a complex number is refused", 1i, "not complex128"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := printfBound("%v", []any{"ok", tc.arg})
			if err == nil || !strings.Contains(err.Error(), "printf accepts strings, numbers, booleans, and lists or maps of strings, "+tc.want) {
				t.Errorf("err = %v, want one ending %q", err, tc.want)
			}
		})
	}
}

// allocatedBy returns the bytes the heap allocated while f ran.
func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Each template makes fmt allocate more than the request budget when it
// runs unbudgeted, as it did when the budget was charged after fmt had
// built the output (fmtAlone shows it). Render refuses them before fmt
// runs and allocates less than the budget.
func TestRenderAllocationStaysWithinBudget(t *testing.T) {
	// Not parallel: TotalAlloc counts every goroutine's allocations.
	names := make([]string, MaxSANs)
	for i := range names {
		names[i] = fmt.Sprintf("host-%03d.team-a.example.com", i)
	}
	data := renderData()
	data.Request.DNSNames = names
	spaces := func(n int) []string { return strings.Split(strings.Repeat(" ", n), "") }
	wide := fmt.Sprintf("%4000s", spaces(10))
	tests := []struct {
		name, text string
		fmtAlone   func() string
		want       string
	}{
		{
			"a width applies to every requested DNS name",
			`{{ printf "%4000s" .Request.DNSNames }}`,
			func() string { return fmt.Sprintf("%4000s", names) },
			"rendering this field used more than 262144 bytes",
		},
		{
			"quoting with a width applies to every requested DNS name",
			`{{ printf "%4096q" .Request.DNSNames }}`,
			func() string { return fmt.Sprintf("%4096q", names) },
			"rendering this field used more than 262144 bytes",
		},
		{
			"an argument index reuses the list",
			`{{ printf "%1000[1]s%1000[1]s%1000[1]s%1000[1]s" .Request.DNSNames }}`,
			func() string { return fmt.Sprintf("%1000[1]s%1000[1]s%1000[1]s%1000[1]s", names) },
			"rendering this field used more than 262144 bytes",
		},
		{
			"a width applies to every part of a nested split",
			`{{ printf "%4096s" (split "" (printf "%1000s" "")) }}`,
			func() string { return fmt.Sprintf("%4096s", spaces(1000)) },
			"rendering this field used more than 262144 bytes",
		},
		{
			"print repeats a nested printf's result",
			`{{ $a := printf "%4000s" (split "" (printf "%10s" "")) }}{{ print $a $a $a $a $a $a $a $a $a $a $a $a $a $a $a $a }}`,
			func() string {
				return fmt.Sprint(wide, wide, wide, wide, wide, wide, wide, wide, wide, wide, wide, wide, wide, wide, wide, wide)
			},
			"rendering this field used more than 262144 bytes",
		},
		{
			"printing a list goes through the budget",
			`{{ $a := split "" (printf "%1000s" "") }}{{ $a }}{{ $a }}{{ $a }}`,
			nil,
			"rendered output exceeds 4096 bytes",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fmtAlone != nil {
				if alone := allocatedBy(func() { _ = tc.fmtAlone() }); alone <= requestRenderBudget {
					t.Fatalf("fmt alone allocates %d bytes, within the budget: the case shows nothing", alone)
				}
			}
			var err error
			got := allocatedBy(func() { _, err = Render("web.cn", tc.text, data) })
			wantErr(t, err, "TemplateError", tc.want)
			t.Logf("Render allocated %d bytes", got)
			if got > requestRenderBudget {
				t.Errorf("Render allocated %d bytes, more than the request budget of %d", got, requestRenderBudget)
			}
		})
	}
}

// One budget covers every field of an issuance: fields that each fit
// their own share fail once together they spend the request's.
func TestRequestBudgetIsSharedAcrossFields(t *testing.T) {
	t.Parallel()
	// About 140 KiB a field: 124 KiB of replace, printf's bound.
	text := `{{ len (replace "" (printf "%30s" "") (printf "%4000s" "")) }}`
	rb := newRequestBudget()
	rendered := 0
	for i := range 20 {
		_, terr := renderField("web", fmt.Sprintf("dns[%d]", i), text, renderData(), rb)
		if terr != nil {
			wantErr(t, terr, "TemplateError", `template "web" field dns[`, "template rendering for this request used more than 1048576 bytes; simplify the template")
			break
		}
		rendered++
	}
	if rendered < 4 || rendered > 8 {
		t.Fatalf("%d fields rendered before the request budget ran out, want 4 to 8", rendered)
	}
	if rb.left != 0 {
		t.Errorf("%d bytes left after running out", rb.left)
	}
	if _, terr := renderField("web", "cn", "{{ .Request.Name }}", renderData(), rb); terr == nil {
		t.Errorf("a field rendered on a spent budget")
	}
	if out, terr := renderField("web", "ou", "plain", renderData(), rb); terr != nil || out != "plain" {
		t.Errorf("plain text on a spent budget: %q, %v", out, terr)
	}
	// A nil budget is a fresh one for every field.
	for i := range 20 {
		if _, terr := renderField("web", fmt.Sprintf("dns[%d]", i), text, renderData(), nil); terr != nil {
			t.Fatalf("field %d with a nil budget: %v", i, terr)
		}
	}
}

// The rendered output counts too: a printed value is charged for the
// copy text/template makes, and the bytes written for the output.
func TestRenderedOutputIsChargedToTheRequestBudget(t *testing.T) {
	t.Parallel()
	data := renderData()
	data.Vars["V"] = strings.Repeat("v", 60)
	rb := &requestBudget{left: 1000}
	if _, terr := renderField("web", "cn", "x{{ .Vars.V }}", data, rb); terr != nil {
		t.Fatal(terr)
	}
	if want := 1000 - 1 - 60 - 60; rb.left != want {
		t.Errorf("%d bytes left, want %d (1 of text, 60 printed, 60 written)", rb.left, want)
	}
	rb = &requestBudget{left: 100}
	_, terr := renderField("web", "cn", "x{{ .Vars.V }}", data, rb)
	if terr == nil {
		t.Fatal("a field larger than the budget left rendered")
	}
	wantErr(t, terr, "TemplateError", "template rendering for this request used more than")
}

func TestCheckVars(t *testing.T) {
	t.Parallel()
	many := map[string]string{}
	for i := range MaxVars + 1 {
		many[fmt.Sprintf("V%d", i)] = "x"
	}
	full := map[string]string{}
	for i := range MaxVars {
		full[fmt.Sprintf("V%d", i)] = strings.Repeat("é", MaxVarValueSize/2)
	}
	tests := []struct {
		name       string
		vars       map[string]string
		field, msg string
	}{
		{"no vars pass", nil, "", ""},
		{"the largest vars pass", full, "", ""},
		{"identifiers of up to 63 bytes pass", map[string]string{"_": "", "a_B9": "", strings.Repeat("k", 63): ""}, "", ""},
		{"more than 64 vars fail", many, "", "65 vars are set, more than the 64 allowed"},
		{"a name with a dash fails", map[string]string{"a-b": "x"}, `"a-b"`, "a var name must be a letter or underscore"},
		{"a name starting with a digit fails", map[string]string{"1a": "x"}, `"1a"`, "a var name must be"},
		{"an empty name fails", map[string]string{"": "x"}, `""`, "a var name must be"},
		{"a name of 64 bytes fails", map[string]string{strings.Repeat("k", 64): "x"}, `"` + strings.Repeat("k", 64) + `"`, "at most 62"},
		{"a long name is quoted short", map[string]string{strings.Repeat("k", 1000): "x"}, `"` + strings.Repeat("k", 256) + `"...(1000 bytes)`, "a var name must be"},
		{"a value over 1024 bytes fails", map[string]string{"A": strings.Repeat("x", MaxVarValueSize+1)}, "A", "the value is 1025 bytes, more than the 1024 allowed"},
		{"a value of invalid UTF-8 fails", map[string]string{"A": "\xff"}, "A", "the value is not valid UTF-8"},
		{"the first bad key in order is reported", map[string]string{"B": "\xff", "A": "\xff"}, "A", "not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			terr := checkVars(tc.vars)
			if tc.msg == "" {
				if terr != nil {
					t.Fatalf("unexpected error: %v", terr)
				}
				return
			}
			if terr == nil {
				t.Fatalf("no error, want %q", tc.msg)
			}
			if terr.Template != "vars" || terr.Field != tc.field || !strings.Contains(terr.Msg, tc.msg) {
				t.Errorf("got Template=%q Field=%q Msg=%q; want vars, %q, %q", terr.Template, terr.Field, terr.Msg, tc.field, tc.msg)
			}
		})
	}
}

// validVarName accepts exactly what the regular expression it replaces
// matched.
func TestValidVarNameIsTheRegexp(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)
	names := []string{"", "_", "a", "Z", "0", "9a", "a9", "_9", "a-b", "a.b", "a b", "é", "aé", "a\n", "\na", "a\x00",
		strings.Repeat("k", 62), strings.Repeat("k", 63), strings.Repeat("k", 64), "_" + strings.Repeat("9", 62), "_" + strings.Repeat("9", 63),
		"ClusterSlug", "cluster_slug_2", "Ａ", "a\u200b"}
	for c := range 256 {
		names = append(names, string(rune(c)), "a"+string(rune(c)), string([]byte{byte(c)}), "a"+string([]byte{byte(c)}))
	}
	for _, n := range names {
		if got, want := validVarName(n), re.MatchString(n); got != want {
			t.Errorf("validVarName(%q) = %v, the regexp says %v", n, got, want)
		}
	}
}
