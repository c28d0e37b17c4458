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
	"encoding/asn1"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// refusalCase produces one refusal through the core's public functions and
// names what its message must say: the value, the rule (the template or
// the field), and the fix.
type refusalCase struct {
	name    string
	refuse  func(t *testing.T) error
	mention []string
}

// refusalReasons are the reasons the core refuses requests with: the first
// argument of every requestErrorf call in its sources.
func refusalReasons(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, e := range entries {
		if name := e.Name(); strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	seen := map[string]bool{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			if fn, ok := call.Fun.(*ast.Ident); ok && fn.Name == "requestErrorf" {
				if id, ok := call.Args[0].(*ast.Ident); ok {
					seen[id.Name] = true
				} else {
					t.Errorf("%s: requestErrorf with a reason that is not a constant", fset.Position(call.Pos()))
				}
			}
			return true
		})
	}
	var out []string
	for r := range seen {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// reasonValues maps the reason constants' names to their values.
var reasonValues = map[string]string{
	"ReasonInvalidCSR": ReasonInvalidCSR, "ReasonWeakKey": ReasonWeakKey, "ReasonPolicyViolation": ReasonPolicyViolation,
	"ReasonInvalidSAN": ReasonInvalidSAN, "ReasonUnsupportedSAN": ReasonUnsupportedSAN, "ReasonUnsupportedExtension": ReasonUnsupportedExtension,
	"ReasonTooManySANs": ReasonTooManySANs, "ReasonInvalidDuration": ReasonInvalidDuration, "ReasonNotAfterPastCA": ReasonNotAfterPastCA,
	"ReasonTemplateRenderFailed": ReasonTemplateRenderFailed, "ReasonInvalidSubject": ReasonInvalidSubject,
	"ReasonInvalidTemplateAnnotation": ReasonInvalidTemplateAnnotation, "ReasonUnknownTemplate": ReasonUnknownTemplate,
	"ReasonNoTemplate": ReasonNoTemplate, "ReasonRequesterNotAllowed": ReasonRequesterNotAllowed,
	"ReasonNotFIPSApproved": ReasonNotFIPSApproved, "ReasonUnsupportedKeyType": ReasonUnsupportedKeyType,
	"ReasonInvalidUnverifiedUserAnnotations": ReasonInvalidUnverifiedUserAnnotations,
	"ReasonPodCertificatesNotAllowed":        ReasonPodCertificatesNotAllowed, "ReasonLifetimeTooShort": ReasonLifetimeTooShort,
}

// coveredElsewhere are reasons whose message test cannot run here.
var coveredElsewhere = map[string]string{
	ReasonNotFIPSApproved: "TestIssueInFIPSMode, which TestFIPSMode runs in a child process in FIPS 140-3 mode",
}

func issueWith(t *testing.T, tmpl *v1alpha1.CertificateTemplate, req Request) error {
	t.Helper()
	if req.Duration == 0 && req.Pod == nil {
		req.Duration = 24 * time.Hour
	}
	if req.Namespace == "" {
		req.Name, req.Namespace = "web", "team-a"
	}
	_, err := Issue(interCA(t), policyFor(tmpl), req, RenderData{Vars: map[string]string{"Domain": "example.com"}}, testNow, rand.Reader)
	return err
}

func web(mods ...func(*v1alpha1.CertificateTemplate)) *v1alpha1.CertificateTemplate {
	return templ("web", append([]func(*v1alpha1.CertificateTemplate){func(t *v1alpha1.CertificateTemplate) {
		t.AllowedDNSNames = []string{"*.{{ .Request.Namespace }}.example.com"}
	}}, mods...)...)
}

func refusalCases() map[string]refusalCase {
	spec := &v1alpha1.IssuerSpec{Templates: []v1alpha1.CertificateTemplate{{Name: "web"}, {Name: "db"}}}
	return map[string]refusalCase{
		ReasonInvalidCSR: {name: "a CSR that is not PEM", mention: []string{"CSR", "PEM"},
			refuse: func(t *testing.T) error { return issueWith(t, web(), Request{CSR: []byte("not a CSR")}) }},
		ReasonWeakKey: {name: "an RSA key of 1024 bits", mention: []string{"1024", "2048"},
			refuse: func(t *testing.T) error {
				return issueWith(t, web(), Request{CSR: newCSR(t, testKey(t, "rsa1024"), x509.CertificateRequest{DNSNames: []string{"a.team-a.example.com"}})})
			}},
		ReasonPolicyViolation: {name: "a DNS name outside the allow-list", mention: []string{`"a.example.org"`, `template "web"`, "allowedDNSNames", "*.team-a.example.com"},
			refuse: func(t *testing.T) error { return issueWith(t, web(), Request{CSR: csrFor(t, "", "a.example.org")}) }},
		ReasonInvalidSAN: {name: "a DNS name that is not one", mention: []string{`"a..example.com"`, "not a valid DNS name"},
			refuse: func(t *testing.T) error { return issueWith(t, web(), Request{CSR: csrFor(t, "", "a..example.com")}) }},
		ReasonUnsupportedSAN: {name: "an otherName SAN", mention: []string{"otherName", "does not sign", "DNS names"},
			refuse: func(t *testing.T) error {
				csr := newCSR(t, testKey(t, "ecdsa256-leaf"), x509.CertificateRequest{ExtraExtensions: []pkix.Extension{
					sanExtension(t, otherName(t, asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}, "admin@example.com"))}})
				return issueWith(t, web(), Request{CSR: csr})
			}},
		ReasonUnsupportedExtension: {name: "an extension the issuer does not evaluate", mention: []string{"1.2.3.4.5", "extension"},
			refuse: func(t *testing.T) error {
				csr := newCSR(t, testKey(t, "ecdsa256-leaf"), x509.CertificateRequest{DNSNames: []string{"a.team-a.example.com"},
					ExtraExtensions: []pkix.Extension{extension(t, asn1.ObjectIdentifier{1, 2, 3, 4, 5}, false, "x")}})
				return issueWith(t, web(), Request{CSR: csr})
			}},
		ReasonTooManySANs: {name: "more SANs than allowed", mention: []string{fmt.Sprint(MaxSANs + 1), fmt.Sprint(MaxSANs), "split"},
			refuse: func(t *testing.T) error {
				var names []string
				for i := range MaxSANs + 1 {
					names = append(names, fmt.Sprintf("a%d.team-a.example.com", i))
				}
				return issueWith(t, web(), Request{CSR: csrFor(t, "", names...)})
			}},
		ReasonInvalidDuration: {name: "a negative lifetime", mention: []string{"-1h0m0s", "positive"},
			refuse: func(t *testing.T) error {
				return issueWith(t, web(), Request{CSR: csrFor(t, "", "a.team-a.example.com"), Duration: -time.Hour})
			}},
		ReasonNotAfterPastCA: {name: "a lifetime past the CA with leafNotAfterBehavior Error", mention: []string{"NotAfter", "leafNotAfterBehavior"},
			refuse: func(t *testing.T) error {
				p := policyFor(web())
				p.LeafNotAfterBehavior = v1alpha1.LeafNotAfterError
				_, err := Issue(interCA(t), p, Request{CSR: csrFor(t, "", "a.team-a.example.com"), Duration: 100 * 365 * 24 * time.Hour, Name: "web", Namespace: "team-a"},
					RenderData{}, testNow, rand.Reader)
				return err
			}},
		ReasonTemplateRenderFailed: {name: "a template field that renders an invalid name for this request", mention: []string{`template "web"`, "dns[0]", "fix the template or the request"},
			refuse: func(t *testing.T) error {
				return issueWith(t, web(func(t *v1alpha1.CertificateTemplate) { t.DNS = []string{"{{ .Request.CommonName }}"} }),
					Request{CSR: csrFor(t, "a b", "a.team-a.example.com")})
			}},
		ReasonInvalidSubject: {name: "a subject with two common names", mention: []string{"subject", "2 cn attributes", "at most 1"},
			refuse: func(t *testing.T) error {
				cn := asn1.ObjectIdentifier{2, 5, 4, 3}
				raw, err := asn1.Marshal(pkix.RDNSequence{{{Type: cn, Value: "a.team-a.example.com"}}, {{Type: cn, Value: "b.team-a.example.com"}}})
				if err != nil {
					t.Fatal(err)
				}
				return issueWith(t, web(), Request{CSR: newCSR(t, testKey(t, "ecdsa256-leaf"), x509.CertificateRequest{RawSubject: raw})})
			}},
		ReasonInvalidTemplateAnnotation: {name: "an empty template annotation", mention: []string{v1alpha1.TemplateAnnotation, "present but empty", "web, db"},
			refuse: func(*testing.T) error {
				_, err := SelectPolicy(spec, map[string]string{v1alpha1.TemplateAnnotation: ""}, "NstanceIssuer team-a/ca")
				return err
			}},
		ReasonUnknownTemplate: {name: "an annotation that names no template", mention: []string{`"api"`, "does not exist in NstanceIssuer team-a/ca", "web, db"},
			refuse: func(*testing.T) error {
				_, err := SelectPolicy(spec, map[string]string{v1alpha1.TemplateAnnotation: "api"}, "NstanceIssuer team-a/ca")
				return err
			}},
		ReasonNoTemplate: {name: "no template and no pass-through", mention: []string{"selects no template", "defaultTemplate", "allowPassThrough", v1alpha1.TemplateAnnotation},
			refuse: func(*testing.T) error {
				_, err := SelectPolicy(spec, nil, "NstanceIssuer team-a/ca")
				return err
			}},
		ReasonRequesterNotAllowed: {name: "a namespace the template is not bound to", mention: []string{`"team-a"`, `template "web"`, "team-b", "bound to this namespace"},
			refuse: func(t *testing.T) error {
				return issueWith(t, web(func(t *v1alpha1.CertificateTemplate) {
					t.Namespaces = &v1alpha1.NamespaceSelector{Names: []string{"team-b"}}
				}),
					Request{CSR: csrFor(t, "", "a.team-a.example.com")})
			}},
		ReasonUnsupportedKeyType: {name: "a pod key the template does not allow", mention: []string{"Ed25519", "ECDSA"},
			refuse: func(t *testing.T) error {
				req := podRequest(t, "ed25519-pod")
				return issueWith(t, podTemplate(func(t *v1alpha1.CertificateTemplate) {
					t.AllowedKeyAlgorithms = []v1alpha1.KeyAlgorithm{v1alpha1.ECDSAKeyAlgorithm}
				}), req)
			}},
		ReasonInvalidUnverifiedUserAnnotations: {name: "a userAnnotation the issuer does not read", mention: []string{"example.com/owner", "not recognized", v1alpha1.PodCertificateTemplateAnnotation},
			refuse: func(*testing.T) error {
				_, err := SelectPodPolicy(spec, map[string]string{"example.com/owner": "me"}, "NstanceClusterIssuer ca")
				return err
			}},
		ReasonPodCertificatesNotAllowed: {name: "a pod and a template without podCertificates", mention: []string{`template "web"`, "does not allow pod certificates", "podCertificates"},
			refuse: func(t *testing.T) error { return issueWith(t, templ("web"), podRequest(t, "ecdsa256-pod")) }},
		ReasonLifetimeTooShort: {name: "a CA too close to its end for the API's minimum lifetime", mention: []string{"less than the 1h0m0s", "rotate the CA"},
			refuse: func(t *testing.T) error {
				_, err := Issue(expiringCA(t), Policy{Template: podTemplate()}, podRequest(t, "ecdsa256-pod"),
					RenderData{Vars: map[string]string{"Domain": "example.com"}}, testNow, rand.Reader)
				return err
			}},
	}
}

// TestEveryRefusalHasAnActionableMessage: every reason the core refuses a
// request with has a case here, through the public functions, whose
// message names the value, the rule and the fix. A new reason without a
// case fails this test.
func TestEveryRefusalHasAnActionableMessage(t *testing.T) {
	t.Parallel()
	cases := refusalCases()
	for _, name := range refusalReasons(t) {
		reason, known := reasonValues[name]
		if !known {
			t.Errorf("refusal reason %s is not in reasonValues: add it and a case to refusalCases", name)
			continue
		}
		if where, ok := coveredElsewhere[reason]; ok {
			t.Logf("%s: its messages are tested by %s", reason, where)
			continue
		}
		tc, ok := cases[reason]
		if !ok {
			t.Errorf("refusal reason %s has no message test: add a case to refusalCases", reason)
			continue
		}
		t.Run(reason+": "+tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.refuse(t)
			var reqErr *RequestError
			if !errors.As(err, &reqErr) || reqErr.Reason != reason {
				t.Fatalf("got %T %v, want a RequestError with reason %s", err, err, reason)
			}
			for _, m := range tc.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message %q does not mention %q", err.Error(), m)
				}
			}
		})
	}
}
