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
	"math/big"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// TestCANameConstraintsRefuseWidening: a template that signs CAs may only
// have allow-lists whose NameConstraints permit no name the template
// itself refuses, beyond the depth below a domain and a URI's scheme and
// port, which constraints cannot carry.
func TestCANameConstraintsRefuseWidening(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		dns          []string
		uris, emails []string
		want         string // "" for accepted
	}{
		{name: "leading wildcards are accepted", dns: []string{"*.team-a.example.com", "**.svc.cluster.local", "*.*.example.org", "api.example.net"}},
		{name: "a fixed label left of a wildcard is refused", dns: []string{"*.team-a.example.com", "web.*.example.com"}, want: `DNS pattern "web.*.example.com" has a fixed label left of a wildcard`},
		{name: "a fixed label between wildcards is refused", dns: []string{"*.web.*.example.com"}, want: "fixed label left of a wildcard"},
		{name: "a URI host pattern without a path is accepted", uris: []string{"spiffe://*.mesh.example.com", "spiffe://cluster.local/**"}},
		{name: "a URI pattern with a path is refused", uris: []string{"spiffe://cluster.local/ns/team-a/**"}, want: `limits the path`},
		{name: "a URI pattern with one wildcard segment is refused", uris: []string{"spiffe://cluster.local/*"}, want: `limits the path`},
		{name: "a URI host with a fixed label left of a wildcard is refused", uris: []string{"spiffe://web.*.example.com/**"}, want: "fixed host label left of a wildcard"},
		{name: "email domains and mailboxes are accepted", emails: []string{"*@example.com", "*@*.corp.example.com", "alice@example.com"}},
		{name: "a mailbox in a wildcard domain is refused", emails: []string{"alice@*.example.com"}, want: "names a mailbox in a wildcard domain"},
		{name: "an email domain with a fixed label left of a wildcard is refused", emails: []string{"*@mail.*.example.com"}, want: "fixed domain label left of a wildcard"},
		{name: "what deriveNameConstraints refuses is still refused", dns: []string{"**"}, want: "no fixed labels"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, problem := caNameConstraints(tc.dns, nil, tc.uris, tc.emails)
			if tc.want == "" {
				if problem != "" {
					t.Fatalf("problem %q, want none", problem)
				}
				want, _ := deriveNameConstraints(tc.dns, nil, tc.uris, tc.emails)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("constraints %+v, want deriveNameConstraints' %+v", got, want)
				}
				return
			}
			if !strings.Contains(problem, tc.want) {
				t.Errorf("problem = %q, want one containing %q", problem, tc.want)
			}
			if !reflect.DeepEqual(got, nameConstraints{}) {
				t.Errorf("constraints = %+v alongside a problem, want none", got)
			}
		})
	}
}

// TestSubCACannotMintAnotherNamespacesSPIFFEID is the attack the check
// stops: a per-namespace SPIFFE allow-list on a template that signs CAs
// derived a URI constraint of the bare host, and the tenant's sub-CA then
// signed spiffe://cluster.local/ns/kube-system/... that verified up to
// the issuer's root. The template is now refused when validated and when
// it signs; the path-free form is signed, and its leaves stay on its host.
func TestSubCACannotMintAnotherNamespacesSPIFFEID(t *testing.T) {
	t.Parallel()
	issuer := IssuerData{Name: "mesh", Kind: "NstanceClusterIssuer"}
	perNamespace := templ("mesh-ca", func(c *v1alpha1.CertificateTemplate) {
		c.Kind = v1alpha1.PeerKind
		c.AllowCA = true
		c.AllowedURIs = []string{"spiffe://cluster.local/ns/{{ .Request.Namespace }}/**"}
		c.AllowedCommonNames = []string{"team-a-ca"}
	})
	err := ValidateTemplates([]v1alpha1.CertificateTemplate{*perNamespace}, nil, nil, issuer)
	wantErr(t, err, "TemplateError", `field allowCA`, "limits the path", "unconstrainedCA")

	subKey := testKey(t, "ecdsa256-sub")
	csr := newCSR(t, subKey, x509.CertificateRequest{Subject: pkix.Name{CommonName: "team-a-ca"}})
	req := Request{CSR: csr, Duration: 24 * time.Hour, IsCA: true, Name: "x", Namespace: "team-a"}
	_, err = Issue(interCA(t), Policy{Template: perNamespace}, req, RenderData{Issuer: issuer}, testNow, rand.Reader)
	wantErr(t, err, "TemplateError", "limits the path")

	// Whoever accepts the widening says so.
	unconstrained := perNamespace.DeepCopy()
	unconstrained.UnconstrainedCA = true
	if err := ValidateTemplates([]v1alpha1.CertificateTemplate{*unconstrained}, nil, nil, issuer); err != nil {
		t.Errorf("an unconstrainedCA template is refused: %v", err)
	}

	hostOnly := perNamespace.DeepCopy()
	hostOnly.AllowedURIs = []string{"spiffe://cluster.local/**"}
	if err := ValidateTemplates([]v1alpha1.CertificateTemplate{*hostOnly}, nil, nil, issuer); err != nil {
		t.Fatalf("the host-only template is refused: %v", err)
	}
	out, err := Issue(interCA(t), Policy{Template: hostOnly}, req, RenderData{Issuer: issuer}, testNow, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := newPKI(t)
	verify := func(uri string) error {
		u, err := url.Parse(uri)
		if err != nil {
			t.Fatal(err)
		}
		leafKey := testKey(t, "ecdsa256-subleaf")
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), URIs: []*url.URL{u},
			NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, out.Cert, leafKey.Public(), subKey)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		roots, inters := x509.NewCertPool(), x509.NewCertPool()
		roots.AddCert(p.root)
		inters.AddCert(p.inter)
		inters.AddCert(out.Cert)
		_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, CurrentTime: testNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		return err
	}
	if err := verify("spiffe://cluster.local/ns/team-a/sa/web"); err != nil {
		t.Errorf("a leaf on the permitted host does not verify: %v", err)
	}
	if err := verify("spiffe://other.example/ns/team-a/sa/web"); err == nil || !strings.Contains(err.Error(), "constraint") {
		t.Errorf("a leaf on another host verified (err %v)", err)
	}
}
