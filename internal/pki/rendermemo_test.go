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
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// memoCall is one Issue call of a memo test: the template, the issuer's
// data and the request.
type memoCall struct {
	tmpl      *v1alpha1.CertificateTemplate
	vars      map[string]string
	issuer    IssuerData
	namespace string
	cn        string
	dns       []string
}

func (c memoCall) run(t *testing.T, memo *renderMemo) string {
	t.Helper()
	ns := c.namespace
	if ns == "" {
		ns = "team-a"
	}
	req := Request{CSR: csrFor(t, c.cn, c.dns...), Duration: 24 * 3600e9, Name: "api", Namespace: ns}
	out, err := issue(interCA(t), policyFor(c.tmpl), req, RenderData{Vars: c.vars, Issuer: c.issuer}, testNow, rand.Reader, memo)
	return outcome(out, err)
}

// outcome is what a template author sees of an Issue call: the error, or
// the certificate's subject and SANs.
func outcome(out *Issued, err error) string {
	if err != nil {
		return fmt.Sprintf("error %T: %v", err, err)
	}
	return fmt.Sprintf("subject %s, DNS %v", out.Cert.Subject, out.Cert.DNSNames)
}

var memoIssuer = IssuerData{Name: "ca", Namespace: "team-a", Kind: "NstanceIssuer"}

// memoTemplate is a template whose allow-list and organization use only
// the issuer's data, and whose DNS SAN uses the request's.
func memoTemplate(mods ...func(*v1alpha1.CertificateTemplate)) *v1alpha1.CertificateTemplate {
	return templ("web", append([]func(*v1alpha1.CertificateTemplate){func(t *v1alpha1.CertificateTemplate) {
		t.Subject.Organization = []string{"{{ .Vars.Org }} ({{ .Issuer.Name }})"}
		t.AllowedDNSNames = []string{"*.{{ .Request.Namespace }}.{{ .Vars.Zone }}", "*.{{ .Request.Namespace }}.svc"}
		t.DNS = []string{"{{ .Request.Name }}.{{ .Request.Namespace }}.svc"}
		t.AllowedCommonNames = []string{"{{ .Vars.CN }}"}
	}}, mods...)...)
}

func memoVars(kv ...string) map[string]string {
	v := map[string]string{"Org": "Example", "Zone": "example.com", "CN": "api"}
	for i := 0; i+1 < len(kv); i += 2 {
		v[kv[i]] = kv[i+1]
	}
	return v
}

// Each case runs its calls in order against one memo, and each call must
// give exactly what it gives without a memo: a rendering is served again
// only for the same text, vars, issuer and namespace.
func TestRenderMemoNeverServesAStaleRendering(t *testing.T) {
	base := memoCall{tmpl: memoTemplate(), vars: memoVars(), issuer: memoIssuer, cn: "api.team-a.example.com", dns: []string{"api.team-a.example.com"}}
	with := func(mod func(*memoCall)) memoCall {
		c := base
		c.vars = maps.Clone(base.vars)
		mod(&c)
		return c
	}
	if got := base.run(t, nil); strings.HasPrefix(got, "error") {
		t.Fatalf("the base call fails: %s", got)
	}
	cases := []struct {
		name  string
		calls []memoCall
	}{
		{"the same issuer and request twice gives the same certificate", []memoCall{base, base}},
		{"a changed var renders the organization anew", []memoCall{base, with(func(c *memoCall) { c.vars["Org"] = "Other" })}},
		{"a changed var renders the allow-list anew and refuses the name the old one allowed", []memoCall{base, with(func(c *memoCall) { c.vars["Zone"] = "example.org" })}},
		{"an added var that no text uses still renders correctly", []memoCall{base, with(func(c *memoCall) { c.vars["Unused"] = "x" })}},
		{"a removed var fails as it does without the memo", []memoCall{base, with(func(c *memoCall) { delete(c.vars, "Org") })}},
		{"an edited template text renders anew", []memoCall{base, with(func(c *memoCall) {
			c.tmpl = memoTemplate(func(t *v1alpha1.CertificateTemplate) { t.Subject.Organization = []string{"{{ .Vars.Org }} Ltd"} })
		})}},
		{"an edited allow-list renders anew", []memoCall{base, with(func(c *memoCall) {
			c.tmpl = memoTemplate(func(t *v1alpha1.CertificateTemplate) {
				t.AllowedDNSNames = []string{"*.{{ .Request.Namespace }}.{{ .Vars.Org }}.com"}
			})
		})}},
		{"another issuer with the same vars renders its own name", []memoCall{base, with(func(c *memoCall) { c.issuer.Name = "other-ca" })}},
		{"another issuer kind with the same name renders anew", []memoCall{base, with(func(c *memoCall) {
			c.issuer.Kind = "NstanceClusterIssuer"
			c.tmpl = memoTemplate(func(t *v1alpha1.CertificateTemplate) { t.Subject.Organization = []string{"{{ .Issuer.Kind }}"} })
		})}},
		{"another namespace gets its own allow-list and not the first one's", []memoCall{base, with(func(c *memoCall) { c.namespace = "team-b" })}},
		{"another namespace asking for its own name is allowed", []memoCall{base, with(func(c *memoCall) {
			c.namespace, c.cn, c.dns = "team-b", "api.team-b.example.com", []string{"api.team-b.example.com"}
		})}},
		{"back to the first data after a change gives the first certificate", []memoCall{base, with(func(c *memoCall) { c.vars["Org"] = "Other" }), base}},
		{"a var moved from one name to another renders anew", []memoCall{
			with(func(c *memoCall) {
				c.vars["A"], c.vars["B"] = "1", "2"
				c.tmpl = memoTemplate(orgFrom("{{ .Vars.A }}"))
			}),
			with(func(c *memoCall) {
				c.vars["A"], c.vars["B"] = "2", "1"
				c.tmpl = memoTemplate(orgFrom("{{ .Vars.A }}"))
			}),
		}},
		{"a requested common name checked against a changed allowedCommonNames", []memoCall{
			with(func(c *memoCall) { c.cn, c.vars["CN"] = "api", "api" }),
			with(func(c *memoCall) { c.cn, c.vars["CN"] = "api", "web" }),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			memo := newRenderMemo(1 << 20)
			for i, c := range tc.calls {
				want := c.run(t, nil)
				if got := c.run(t, memo); got != want {
					t.Fatalf("call %d with the memo:\n got %s\nwant %s", i+1, got, want)
				}
				// And again, now that the memo holds this call's renderings.
				if got := c.run(t, memo); got != want {
					t.Fatalf("call %d again with the memo:\n got %s\nwant %s", i+1, got, want)
				}
			}
			if memo.bytes() == 0 {
				t.Fatal("the memo kept nothing: the case does not test it")
			}
		})
	}
}

func orgFrom(text string) func(*v1alpha1.CertificateTemplate) {
	return func(t *v1alpha1.CertificateTemplate) { t.Subject.Organization = []string{text} }
}

// The memo keeps its own copy of the vars: a caller that changes its map
// after an Issue call (the controller hands in the issuer's spec) must
// not find the renderings of the old values under the new ones.
func TestRenderMemoCopiesTheVars(t *testing.T) {
	memo := newRenderMemo(1 << 20)
	vars := memoVars()
	c := memoCall{tmpl: memoTemplate(), vars: vars, issuer: memoIssuer, cn: "api.team-a.example.com", dns: []string{"api.team-a.example.com"}}
	c.run(t, memo)
	vars["Org"] = "Changed In Place"
	if got := c.run(t, memo); !strings.Contains(got, "O=Changed In Place (ca)") {
		t.Fatalf("after the caller changed its vars: %s", got)
	}
}

// Only texts that use nothing but the issuer's data and the request's
// namespace are kept: a text using other request data, even vouched data
// such as the Kubernetes CSR's username, is rendered for every request.
func TestRenderMemoKeepsOnlyIssuerData(t *testing.T) {
	cases := []struct {
		name, text string
		kept       bool
	}{
		{"a text of vars is kept", "{{ .Vars.Org }}", true},
		{"a text of the issuer's name is kept", "{{ .Issuer.Name }}", true},
		{"a text of the request's namespace is kept", "{{ .Request.Namespace }}", true},
		{"a text of the request's name is not kept", "{{ .Request.Name }}", false},
		{"a text of the requested common name is not kept", "{{ .Request.CommonName }}", false},
		{"a text of the Kubernetes CSR's username is not kept", "{{ .Request.Username }}", false},
		{"a text that only tests request data is not kept", "{{ if .Request.Name }}x{{ end }}", false},
		{"a text of a variable is not kept", "{{ $.Vars.Org }}", false},
		{"a text without actions needs no memo", "Example", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			memo := newRenderMemo(1 << 20)
			c := memoCall{tmpl: memoTemplate(orgFrom(tc.text)), vars: memoVars(), issuer: memoIssuer, cn: "api.team-a.example.com", dns: []string{"api.team-a.example.com"}}
			c.run(t, memo)
			kept := false
			for _, scopes := range memo.scopes {
				for _, s := range scopes {
					_, kept = s.vals[memoKey{text: tc.text}]
					if !kept {
						_, kept = s.vals[memoKey{text: tc.text, namespace: "team-a"}]
					}
				}
			}
			if kept != tc.kept {
				t.Fatalf("kept = %v, want %v", kept, tc.kept)
			}
		})
	}
}

// A text of vars only is kept once for every namespace; a text of the
// namespace once per namespace.
func TestRenderMemoKeysTheNamespaceOnlyWhenUsed(t *testing.T) {
	memo := newRenderMemo(1 << 20)
	for _, ns := range []string{"team-a", "team-b", "team-c"} {
		c := memoCall{tmpl: memoTemplate(), vars: memoVars(), issuer: memoIssuer, namespace: ns, cn: "api." + ns + ".example.com", dns: []string{"api." + ns + ".example.com"}}
		if got := c.run(t, memo); strings.HasPrefix(got, "error") {
			t.Fatal(got)
		}
	}
	var orgs, allows int
	for _, scopes := range memo.scopes {
		for _, s := range scopes {
			for k := range s.vals {
				switch k.text {
				case "{{ .Vars.Org }} ({{ .Issuer.Name }})":
					orgs++
					if k.namespace != "" {
						t.Errorf("the organization is kept under namespace %q", k.namespace)
					}
				case "*.{{ .Request.Namespace }}.{{ .Vars.Zone }}":
					allows++
				}
			}
		}
	}
	if orgs != 1 || allows != 3 {
		t.Fatalf("kept the organization %d times and the allow-list %d times, want 1 and 3", orgs, allows)
	}
}

// A rendering served from the memo costs the request's render budget what
// rendering it cost: a request that runs out of budget without the memo
// runs out at the same field, with the same error, with it.
func TestRenderMemoChargesTheRenderBudget(t *testing.T) {
	// Each entry spends about 152 KB of budget and renders a short number.
	var orgs []string
	for i := range 6 {
		orgs = append(orgs, fmt.Sprintf(`{{ len (replace "" .Vars.Fill (printf "%%%dd" 0)) }}`, 4000+i))
	}
	vars := memoVars("Fill", "abcdefghijklmnopqrstuvwxyz0123456789")
	heavy := memoTemplate(func(t *v1alpha1.CertificateTemplate) { t.Subject.Organization = orgs })
	// The same, plus a field of request data that spends as much again:
	// past the 1 MiB of one request.
	heavier := memoTemplate(func(t *v1alpha1.CertificateTemplate) {
		t.Subject.Organization = orgs
		t.Subject.OrganizationalUnit = []string{`{{ len (replace "" .Vars.Fill (printf "%4010d" .Request.Name)) }}`}
	})
	// A field of request data rendered before the kept ones (the CN comes
	// first): the last kept rendering no longer fits in what is left.
	first := memoTemplate(func(t *v1alpha1.CertificateTemplate) {
		t.Subject.CN = `{{ len (replace "" .Vars.Fill (printf "%4010d" .Request.Name)) }}`
		t.Subject.Organization = orgs
	})
	memo := newRenderMemo(1 << 20)
	for _, c := range []memoCall{
		{tmpl: heavy, vars: vars, issuer: memoIssuer, cn: "api.team-a.example.com", dns: []string{"api.team-a.example.com"}},
		{tmpl: heavier, vars: vars, issuer: memoIssuer, cn: "api.team-a.example.com", dns: []string{"api.team-a.example.com"}},
		{tmpl: first, vars: vars, issuer: memoIssuer, cn: "api.team-a.example.com", dns: []string{"api.team-a.example.com"}},
	} {
		want := c.run(t, nil)
		if got := c.run(t, memo); got != want {
			t.Fatalf("with the memo:\n got %s\nwant %s", got, want)
		}
	}
	if got := (memoCall{tmpl: heavier, vars: vars, issuer: memoIssuer, cn: "api.team-a.example.com", dns: []string{"api.team-a.example.com"}}).run(t, memo); !strings.Contains(got, "simplify the template") {
		t.Fatalf("the heavier template should run out of budget: %s", got)
	}
}

// The memo holds at most its bound in bytes, whatever tenants write: past
// it, it starts afresh.
func TestRenderMemoIsBounded(t *testing.T) {
	const bound = 8 << 10
	memo := newRenderMemo(bound)
	for i := range 200 {
		c := memoCall{tmpl: memoTemplate(), vars: memoVars("Org", fmt.Sprintf("Org %d", i), "Pad", strings.Repeat("x", 200)), issuer: memoIssuer, cn: "api.team-a.example.com", dns: []string{"api.team-a.example.com"}}
		if got := c.run(t, memo); strings.HasPrefix(got, "error") {
			t.Fatal(got)
		}
		if n := memo.bytes(); n > bound || n <= 0 {
			t.Fatalf("after %d issuers the memo holds %d bytes, bound %d", i+1, n, bound)
		}
	}
	// An entry larger than the whole bound is not kept at all.
	tiny := newRenderMemo(100)
	c := memoCall{tmpl: memoTemplate(), vars: memoVars("Pad", strings.Repeat("x", 200)), issuer: memoIssuer, cn: "api.team-a.example.com", dns: []string{"api.team-a.example.com"}}
	if got, want := c.run(t, tiny), c.run(t, nil); got != want {
		t.Fatalf("with a memo too small for anything:\n got %s\nwant %s", got, want)
	}
	if n := tiny.bytes(); n != 0 {
		t.Fatalf("a memo of 100 bytes holds %d", n)
	}
	// Nor does it push out what the memo holds.
	held := memo.bytes()
	huge := memoCall{tmpl: memoTemplate(), vars: memoVars("Pad", strings.Repeat("x", MaxVarValueSize)), issuer: memoIssuer, cn: "api.team-a.example.com", dns: []string{"api.team-a.example.com"}}
	for i := range 8 {
		huge.vars[fmt.Sprintf("Pad%d", i)] = strings.Repeat("x", MaxVarValueSize)
	}
	huge.run(t, memo)
	if n := memo.bytes(); n != held {
		t.Fatalf("an issuer too large to keep changed what the memo holds from %d to %d bytes", held, n)
	}
}

// Parallel issuances for many issuers share one memo and each gets its
// own issuer's renderings (run with -race).
func TestRenderMemoIsSafeInParallel(t *testing.T) {
	memo := newRenderMemo(16 << 10) // small enough to start afresh meanwhile
	ca := interCA(t)
	csr := newCSR(t, testKey(t, "ecdsa256-leaf"), x509.CertificateRequest{Subject: pkix.Name{CommonName: "api.team-a.example.com"}, DNSNames: []string{"api.team-a.example.com"}})
	tmpl := memoTemplate()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				org := fmt.Sprintf("Org %d", (g*7+i)%11)
				data := RenderData{Vars: memoVars("Org", org), Issuer: memoIssuer}
				req := Request{CSR: csr, Duration: 24 * 3600e9, Name: "api", Namespace: "team-a"}
				out, err := issue(ca, policyFor(tmpl), req, data, testNow, rand.Reader, memo)
				if err != nil {
					errs <- err
					return
				}
				if got := out.Cert.Subject.Organization; len(got) != 1 || got[0] != org+" (ca)" {
					errs <- fmt.Errorf("goroutine %d: organization %v, want %q", g, got, org+" (ca)")
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

// Scopes are told apart by their data, not only by its hash: under one
// hash, other vars or another issuer find nothing, and the scope keeps
// the vars it was made with even when the caller's map changes.
func TestRenderMemoComparesTheDataBehindAHash(t *testing.T) {
	vars := map[string]string{"Org": "Example", "Zone": "example.com"}
	kept := RenderData{Vars: vars, Issuer: memoIssuer}
	original := RenderData{Vars: maps.Clone(vars), Issuer: memoIssuer}
	memo := newRenderMemo(1 << 20)
	memo.put(1, &kept, memoKey{text: "{{ .Vars.Org }}"}, memoVal{value: "Example"})
	vars["Org"] = "Changed"
	cases := []struct {
		name  string
		data  RenderData
		found bool
	}{
		{"the same data finds the scope", original, true},
		{"the caller's changed map does not find the scope", kept, false},
		{"another var value finds nothing", RenderData{Vars: map[string]string{"Org": "Other", "Zone": "example.com"}, Issuer: memoIssuer}, false},
		{"one var fewer finds nothing", RenderData{Vars: map[string]string{"Org": "Example"}, Issuer: memoIssuer}, false},
		{"one var more finds nothing", RenderData{Vars: map[string]string{"Org": "Example", "Zone": "example.com", "X": ""}, Issuer: memoIssuer}, false},
		{"no vars find nothing", RenderData{Issuer: memoIssuer}, false},
		{"another issuer name finds nothing", RenderData{Vars: original.Vars, Issuer: IssuerData{Name: "other", Namespace: "team-a", Kind: "NstanceIssuer"}}, false},
		{"another issuer namespace finds nothing", RenderData{Vars: original.Vars, Issuer: IssuerData{Name: "ca", Namespace: "team-b", Kind: "NstanceIssuer"}}, false},
		{"another issuer kind finds nothing", RenderData{Vars: original.Vars, Issuer: IssuerData{Name: "ca", Namespace: "team-a", Kind: "NstanceClusterIssuer"}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if found := memo.lookup(1, &tc.data) != nil; found != tc.found {
				t.Fatalf("found = %v, want %v", found, tc.found)
			}
		})
	}
}
