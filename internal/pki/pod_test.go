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
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/url"
	"testing"
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// podRequest is a PodCertificateRequest as the kubelet makes it: an empty
// stub CSR for key, pod "web-0" of service account "web" in "team-a" on
// node "node-1", maxExpirationSeconds 24h.
func podRequest(t testing.TB, key string) Request {
	t.Helper()
	return Request{
		CSR:       newCSR(t, testKey(t, key), x509.CertificateRequest{}),
		Name:      "web-0-abcde",
		Namespace: "team-a",
		Pod: &PodIdentity{
			PodName: "web-0", PodUID: "pod-uid", ServiceAccountName: "web", ServiceAccountUID: "sa-uid",
			NodeName: "node-1", NodeUID: "node-uid", MaxLifetime: 24 * time.Hour,
		},
	}
}

// podTemplate allows pod certificates under trust domain
// "{{ .Vars.Domain }}" with a DNS name and CN from the pod's identity.
func podTemplate(mods ...func(*v1alpha1.CertificateTemplate)) *v1alpha1.CertificateTemplate {
	base := func(t *v1alpha1.CertificateTemplate) {
		t.Kind = v1alpha1.PeerKind
		t.CN = "{{ .Request.ServiceAccountName }}"
		t.DNS = []string{"{{ .Request.PodName }}.{{ .Request.Namespace }}.pod"}
		t.PodCertificates = &v1alpha1.PodCertificates{TrustDomain: "{{ .Vars.Domain }}", AllowTemplateAnnotation: true}
	}
	return templ("pods", append([]func(*v1alpha1.CertificateTemplate){base}, mods...)...)
}

func issuePod(t *testing.T, tmpl *v1alpha1.CertificateTemplate, req Request) (*Issued, error) {
	t.Helper()
	data := RenderData{Vars: map[string]string{"Domain": "example.com"}, Issuer: IssuerData{Name: "ca", Kind: "NstanceClusterIssuer"}}
	return Issue(interCA(t), Policy{Template: tmpl}, req, data, testNow, rand.Reader)
}

func TestIssuePodCertificate(t *testing.T) {
	t.Parallel()
	issued, err := issuePod(t, podTemplate(), podRequest(t, "ecdsa256-pod"))
	if err != nil {
		t.Fatal(err)
	}
	c := issued.Cert
	wantURI := "spiffe://example.com/ns/team-a/sa/web"
	if len(c.URIs) != 1 || c.URIs[0].String() != wantURI {
		t.Errorf("URIs = %v, want [%s]", c.URIs, wantURI)
	}
	if len(c.DNSNames) != 1 || c.DNSNames[0] != "web-0.team-a.pod" {
		t.Errorf("DNS names = %v, want [web-0.team-a.pod]", c.DNSNames)
	}
	if c.Subject.CommonName != "web" {
		t.Errorf("CN = %q, want web", c.Subject.CommonName)
	}
	if got := c.NotAfter.Sub(c.NotBefore); got != 24*time.Hour {
		t.Errorf("lifetime NotBefore..NotAfter = %s, want exactly maxExpirationSeconds (24h)", got)
	}
	if !c.PublicKey.(interface{ Equal(x crypto.PublicKey) bool }).Equal(testKey(t, "ecdsa256-pod").Public()) {
		t.Error("the certificate does not certify the pod's key")
	}
	if err := c.CheckSignatureFrom(interCA(t).Cert); err != nil {
		t.Errorf("not signed by the CA: %v", err)
	}
}

func TestIssuePodCertificateLifetime(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		ttl  int32
		max  time.Duration
		want time.Duration
	}{
		{name: "maxExpirationSeconds shorter than the ttl bounds the whole validity", ttl: 48, max: 2 * time.Hour, want: 2 * time.Hour},
		{name: "a ttl shorter than maxExpirationSeconds shortens the certificate", ttl: 1, max: 24 * time.Hour, want: time.Hour + Backdate},
		{name: "the API's minimum maxExpirationSeconds of one hour is met exactly", max: time.Hour, want: time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := podRequest(t, "ecdsa256-pod")
			req.Pod.MaxLifetime = tc.max
			issued, err := issuePod(t, podTemplate(func(t *v1alpha1.CertificateTemplate) { t.TTL = tc.ttl }), req)
			if err != nil {
				t.Fatal(err)
			}
			if got := issued.Cert.NotAfter.Sub(issued.Cert.NotBefore); got != tc.want {
				t.Errorf("lifetime = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestPodCertificateRefusals is point 4 of issue 13 at the core: each
// refusal has its own reason and nothing is signed.
func TestPodCertificateRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		tmpl    *v1alpha1.CertificateTemplate
		req     func(*Request)
		ca      func(testing.TB) *CA
		wantErr string
		wantMsg []string
	}{
		{name: "a template without podCertificates refuses pods",
			tmpl: templ("web"), wantErr: "RequestError/" + ReasonPodCertificatesNotAllowed, wantMsg: []string{`template "web" does not allow pod certificates`}},
		{name: "a pod in a namespace the template is not bound to is refused",
			tmpl: podTemplate(func(t *v1alpha1.CertificateTemplate) {
				t.Namespaces = &v1alpha1.NamespaceSelector{Names: []string{"team-b"}}
			}),
			wantErr: "RequestError/" + ReasonRequesterNotAllowed, wantMsg: []string{`namespace "team-a" may not use template "pods"`}},
		{name: "a key type the template does not allow is UnsupportedKeyType",
			tmpl: podTemplate(func(t *v1alpha1.CertificateTemplate) {
				t.AllowedKeyAlgorithms = []v1alpha1.KeyAlgorithm{v1alpha1.ECDSAKeyAlgorithm}
			}),
			req:     func(r *Request) { r.CSR = newCSR(t, testKey(t, "ed25519-pod"), x509.CertificateRequest{}) },
			wantErr: "RequestError/" + ReasonUnsupportedKeyType, wantMsg: []string{"Ed25519", "keyType", "ECDSAP256"}},
		{name: "a key weaker than the template's minimum is UnsupportedKeyType",
			tmpl:    podTemplate(func(t *v1alpha1.CertificateTemplate) { t.MinECDSAKeySize = 384 }),
			wantErr: "RequestError/" + ReasonUnsupportedKeyType, wantMsg: []string{"P-256"}},
		{name: "a stub CSR that asks for names is refused: pods get their identity only",
			tmpl: podTemplate(),
			req: func(r *Request) {
				r.CSR = newCSR(t, testKey(t, "ecdsa256-pod"), x509.CertificateRequest{Subject: pkix.Name{CommonName: "admin"}, DNSNames: []string{"bank.example.com"}})
			},
			wantErr: "RequestError/" + ReasonPolicyViolation, wantMsg: []string{"stub CSR"}},
		{name: "a stub CSR that asks for an extension is refused: pods get their identity only",
			tmpl: podTemplate(),
			req: func(r *Request) {
				r.CSR = newCSR(t, testKey(t, "ecdsa256-pod"), x509.CertificateRequest{ExtraExtensions: []pkix.Extension{keyUsageExtension(t, x509.KeyUsageCertSign)}})
			},
			wantErr: "RequestError/" + ReasonPolicyViolation, wantMsg: []string{"stub CSR", "extensions"}},
		{name: "a CA that expires within the hour cannot give the API's minimum lifetime",
			tmpl: podTemplate(), ca: expiringCA,
			wantErr: "RequestError/" + ReasonLifetimeTooShort, wantMsg: []string{"less than the 1h0m0s", "rotate the CA"}},
		{name: "a trust domain that renders request data a pod chooses is the template's mistake",
			tmpl:    podTemplate(func(t *v1alpha1.CertificateTemplate) { t.PodCertificates.TrustDomain = "{{ .Request.CommonName }}" }),
			wantErr: "TemplateError", wantMsg: []string{"podCertificates.trustDomain"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := podRequest(t, "ecdsa256-pod")
			if tc.req != nil {
				tc.req(&req)
			}
			ca := interCA(t)
			if tc.ca != nil {
				ca = tc.ca(t)
			}
			data := RenderData{Vars: map[string]string{"Domain": "example.com"}}
			issued, err := Issue(ca, Policy{Template: tc.tmpl}, req, data, testNow, rand.Reader)
			wantErr(t, err, tc.wantErr, tc.wantMsg...)
			if issued != nil {
				t.Errorf("a refused request was signed: serial %X", issued.Cert.SerialNumber)
			}
		})
	}
}

// expiringCA is a root CA valid for 30 more minutes after testNow.
func expiringCA(t testing.TB) *CA {
	t.Helper()
	key := testKey(t, "ecdsa256-expiring")
	cert := makeCert(t, certSpec{cn: "Expiring Root", key: key, notAfter: testNow.Add(30 * time.Minute)}, nil, nil)
	ca, err := LoadCA(pemCerts(cert), pemPKCS8(t, key), nil, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestSelectPodPolicy(t *testing.T) {
	t.Parallel()
	pods := v1alpha1.CertificateTemplate{Name: "pods", PodCertificates: &v1alpha1.PodCertificates{AllowTemplateAnnotation: true}}
	fixed := v1alpha1.CertificateTemplate{Name: "fixed", PodCertificates: &v1alpha1.PodCertificates{}}
	web := v1alpha1.CertificateTemplate{Name: "web"}
	templates := []v1alpha1.CertificateTemplate{web, pods, fixed}
	spec := func(def string) *v1alpha1.IssuerSpec {
		return &v1alpha1.IssuerSpec{DefaultTemplate: def, Templates: templates, AllowPassThrough: true}
	}
	annotated := func(v string) map[string]string {
		return map[string]string{v1alpha1.PodCertificateTemplateAnnotation: v}
	}
	cases := []struct {
		name        string
		spec        *v1alpha1.IssuerSpec
		annotations map[string]string
		want        string
		wantErr     string
		wantMsg     []string
	}{
		{name: "the annotation selects a template that allows it", spec: spec("web"), annotations: annotated("pods"), want: "pods"},
		{name: "without annotation the default serves pods when it allows them", spec: spec("fixed"), want: "fixed"},
		{name: "a default that does not allow pods is refused, never pass-through", spec: spec("web"),
			wantErr: "RequestError/" + ReasonPodCertificatesNotAllowed, wantMsg: []string{`default template "web"`, "pods, fixed"}},
		{name: "no default and no annotation is refused", spec: spec(""),
			wantErr: "RequestError/" + ReasonPodCertificatesNotAllowed, wantMsg: []string{"names no template"}},
		{name: "an annotation naming a template without podCertificates is refused", spec: spec("fixed"), annotations: annotated("web"),
			wantErr: "RequestError/" + ReasonPodCertificatesNotAllowed, wantMsg: []string{`template "web"`}},
		{name: "an annotation is honoured only where the template allows it", spec: spec("pods"), annotations: annotated("fixed"),
			wantErr: "RequestError/" + ReasonInvalidUnverifiedUserAnnotations, wantMsg: []string{"allowTemplateAnnotation"}},
		{name: "an annotation naming no template is refused", spec: spec("fixed"), annotations: annotated("nope"),
			wantErr: "RequestError/" + ReasonInvalidUnverifiedUserAnnotations, wantMsg: []string{`"nope"`}},
		{name: "an empty annotation is refused, not taken as absent", spec: spec("fixed"), annotations: annotated(""),
			wantErr: "RequestError/" + ReasonInvalidUnverifiedUserAnnotations, wantMsg: []string{"present but empty"}},
		{name: "an unknown key of ours is refused", spec: spec("fixed"), annotations: map[string]string{"issuer.nstance.dev/ttl": "1h"},
			wantErr: "RequestError/" + ReasonInvalidUnverifiedUserAnnotations, wantMsg: []string{"issuer.nstance.dev/ttl", "remove"}},
		{name: "an unknown key of anyone's is refused, as the API asks of signers", spec: spec("fixed"),
			annotations: map[string]string{v1alpha1.PodCertificateTemplateAnnotation: "pods", "example.com/x": "y"},
			wantErr:     "RequestError/" + ReasonInvalidUnverifiedUserAnnotations, wantMsg: []string{"example.com/x"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := SelectPodPolicy(tc.spec, tc.annotations, "NstanceClusterIssuer ca")
			wantErr(t, err, tc.wantErr, tc.wantMsg...)
			if tc.wantErr != "" {
				return
			}
			if p.Template == nil || p.Template.Name != tc.want || p.PassThrough {
				t.Errorf("policy = %+v, want template %s", p, tc.want)
			}
		})
	}
}

func TestPodIdentityIsTrustedInTemplates(t *testing.T) {
	t.Parallel()
	for _, f := range []string{"PodName", "PodUID", "ServiceAccountName", "ServiceAccountUID", "NodeName", "NodeUID"} {
		if ok, err := templateTrusted("{{ .Request." + f + " }}"); !ok || err != nil {
			t.Errorf(".Request.%s is not trusted (err %v): the API server vouches for it", f, err)
		}
		if ok, _ := patternTrusted("{{ .Request." + f + " }}"); ok {
			t.Errorf(".Request.%s may be used in allow-lists; only .Request.Namespace may", f)
		}
	}
}

func TestValidatePodCertificates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, td, wantErr string
	}{
		{name: "a trust domain from vars is fine", td: "{{ .Vars.Domain }}"},
		{name: "a trust domain from request data is refused", td: "{{ .Request.Name }}.example.com", wantErr: "TemplateError"},
		{name: "a trust domain with upper case is refused", td: "Example.com", wantErr: "TemplateError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tmpl := v1alpha1.CertificateTemplate{Name: "pods", PodCertificates: &v1alpha1.PodCertificates{TrustDomain: tc.td}}
			err := ValidateTemplates([]v1alpha1.CertificateTemplate{tmpl}, nil, map[string]string{"Domain": "example.com"}, IssuerData{Name: "ca", Kind: "NstanceClusterIssuer"})
			wantErr(t, err, tc.wantErr)
		})
	}
}

func TestSPIFFEURL(t *testing.T) {
	t.Parallel()
	u := spiffeURL("example.com", "team-a", "web")
	back, err := url.Parse(u.String())
	if err != nil || back.String() != "spiffe://example.com/ns/team-a/sa/web" {
		t.Errorf("SPIFFE ID = %s (%v)", u, err)
	}
}
