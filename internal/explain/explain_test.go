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

package explain

import (
	"bytes"
	"context"
	"crypto/x509/pkix"
	"errors"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func clusterIssuer() *v1alpha1.NstanceClusterIssuer {
	notAfter := metav1.NewTime(now.Add(365 * 24 * time.Hour))
	return &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: "ca"},
		Spec: v1alpha1.IssuerSpec{
			CA:              v1alpha1.CASpec{SecretName: "ca"},
			DefaultTemplate: "web",
			Templates: []v1alpha1.CertificateTemplate{
				{Name: "web", AllowedDNSNames: []string{"*.{{ .Request.Namespace }}.example.com"}, TTL: 720},
				{Name: "sub-ca", AllowCA: true, AllowedDNSNames: []string{"*.{{ .Request.Namespace }}.internal"}, Namespaces: &v1alpha1.NamespaceSelector{
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "team-a"}}}},
			},
		},
		Status: v1alpha1.IssuerStatus{CA: &v1alpha1.CAStatus{Subject: "CN=Cluster CA,O=Example", NotAfter: &notAfter}},
	}
}

func certificate(mod func(*cmapi.Certificate)) *cmapi.CertificateRequest {
	crt := &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team-a"},
		Spec:       cmapi.CertificateSpec{DNSNames: []string{"a.team-a.example.com"}, SecretName: "web"},
	}
	if mod != nil {
		mod(crt)
	}
	cr, err := RequestFromCertificate(crt)
	if err != nil {
		panic(err)
	}
	return cr
}

func TestExplain(t *testing.T) {
	t.Parallel()
	teamA := func(context.Context, string) (map[string]string, error) {
		return map[string]string{"kubernetes.io/metadata.name": "team-a"}, nil
	}
	tests := []struct {
		name     string
		issuer   func(*v1alpha1.NstanceClusterIssuer)
		request  *cmapi.CertificateRequest
		labels   func(context.Context, string) (map[string]string, error)
		decision string
		check    func(t *testing.T, r Result)
	}{
		{name: "a request without annotation gets the defaultTemplate and its lifetime", request: certificate(nil), decision: Issued,
			check: func(t *testing.T, r Result) {
				if r.Template != "web" || !strings.Contains(r.TemplateReason, "defaultTemplate") {
					t.Errorf("template %q because %q", r.Template, r.TemplateReason)
				}
				c := r.Certificate
				if c.Lifetime != (720*time.Hour+pki.Backdate).String() || c.IsCA || len(c.DNSNames) != 1 || c.ExtKeyUsages[0] != "server auth" {
					t.Errorf("certificate %+v", c)
				}
			}},
		{name: "a name outside the allow-list is refused with the controller's message and condition",
			request: certificate(func(c *cmapi.Certificate) { c.Spec.DNSNames = []string{"a.team-b.example.com"} }), decision: Refused,
			check: func(t *testing.T, r Result) {
				want := `requested DNS name "a.team-b.example.com" is not allowed by template "web" (allowedDNSNames: *.team-a.example.com)`
				if r.Refusal.Reason != pki.ReasonPolicyViolation || r.Refusal.Message != want ||
					r.Refusal.Condition != "Failed: Failed permanently to sign CertificateRequest: "+want {
					t.Errorf("refusal %+v", r.Refusal)
				}
			}},
		{name: "an annotation naming no template is refused",
			request: certificate(func(c *cmapi.Certificate) { c.Annotations = map[string]string{v1alpha1.TemplateAnnotation: "api"} }), decision: Refused,
			check: func(t *testing.T, r Result) {
				if r.Refusal.Reason != pki.ReasonUnknownTemplate || r.Template != "" {
					t.Errorf("refusal %+v template %q", r.Refusal, r.Template)
				}
			}},
		{name: "a CA request gets pathLen 0 and NameConstraints from the allow-lists", labels: teamA,
			request: certificate(func(c *cmapi.Certificate) {
				c.Annotations = map[string]string{v1alpha1.TemplateAnnotation: "sub-ca"}
				c.Spec.IsCA, c.Spec.DNSNames, c.Spec.CommonName = true, nil, "x.team-a.internal"
			}), decision: Issued,
			check: func(t *testing.T, r Result) {
				c := r.Certificate
				if !c.IsCA || c.MaxPathLen == nil || *c.MaxPathLen != 0 || c.NameConstraints == nil || !c.NameConstraints.Critical ||
					strings.Join(c.NameConstraints.PermittedDNSDomains, ",") != "team-a.internal" {
					t.Errorf("CA certificate %+v constraints %+v", c, c.NameConstraints)
				}
				if !strings.Contains(r.TemplateReason, "annotation") {
					t.Errorf("template reason %q", r.TemplateReason)
				}
			}},
		{name: "pass-through is said to be pass-through", issuer: func(i *v1alpha1.NstanceClusterIssuer) {
			i.Spec.DefaultTemplate, i.Spec.AllowPassThrough = "", true
		}, request: certificate(func(c *cmapi.Certificate) { c.Spec.DNSNames = []string{"anything.example.org"} }), decision: Issued,
			check: func(t *testing.T, r Result) {
				if !r.PassThrough || r.Template != "" || len(r.Warnings) != 1 {
					t.Errorf("pass-through %v template %q warnings %q", r.PassThrough, r.Template, r.Warnings)
				}
			}},
		{name: "an invalid issuer is reported with its Ready message, not a decision on the request",
			issuer: func(i *v1alpha1.NstanceClusterIssuer) { i.Spec.Templates[0].DNS = []string{"{{"} }, request: certificate(nil), decision: InvalidIssuer,
			check: func(t *testing.T, r Result) {
				if len(r.IssuerErrors) != 1 || !strings.HasPrefix(r.IssuerErrors[0], "spec.templates[0].dns[0]: ") ||
					!strings.HasPrefix(r.IssuerMessage, "NstanceClusterIssuer ca is invalid: spec.templates[0].dns[0]: ") {
					t.Errorf("errors %q message %q", r.IssuerErrors, r.IssuerMessage)
				}
			}},
		{name: "an expired CA makes the request wait", issuer: func(i *v1alpha1.NstanceClusterIssuer) {
			past := metav1.NewTime(now.Add(-time.Hour))
			i.Status.CA.NotAfter = &past
		}, request: certificate(nil), decision: Waits,
			check: func(t *testing.T, r Result) {
				if r.Refusal.Reason != pki.ReasonExpired || !strings.HasPrefix(r.Refusal.Condition, "Pending: the issuer is not Ready") {
					t.Errorf("refusal %+v", r.Refusal)
				}
			}},
		{name: "a lifetime past the CA is cut with the controller's warning Event", issuer: func(i *v1alpha1.NstanceClusterIssuer) {
			soon := metav1.NewTime(now.Add(24 * time.Hour))
			i.Status.CA.NotAfter = &soon
		}, request: certificate(nil), decision: Issued,
			check: func(t *testing.T, r Result) {
				if !r.Certificate.Truncated || !r.Certificate.NotAfter.Equal(now.Add(24*time.Hour)) || len(r.Events) != 1 || !strings.HasPrefix(r.Events[0], "LifetimeTruncated: ") {
					t.Errorf("certificate %+v events %q", r.Certificate, r.Events)
				}
			}},
		{name: "a CA key in an HSM is said to be out of explain's reach, and a stand-in key signs",
			issuer: func(i *v1alpha1.NstanceClusterIssuer) {
				i.Spec.CA.Key = &v1alpha1.CAKey{URI: "pkcs11:token=ca"}
				i.Status.CA.Key = &v1alpha1.CAKeyStatus{URI: "pkcs11:token=ca;id=%01;object=root", Backend: "pkcs11", PublicKeySHA256: "ab12"}
			}, request: certificate(nil), decision: Issued,
			check: func(t *testing.T, r Result) {
				if len(r.Notes) == 0 || !strings.HasPrefix(r.Notes[0], "the CA key is held outside Kubernetes, at pkcs11:token=ca;id=%01;object=root (public key SHA-256 ab12): explain cannot reach it") {
					t.Errorf("notes %q", r.Notes)
				}
			}},
		{name: "a CA key in a KMS with no CA reported yet stands in the CA spec.ca.generate would make",
			issuer: func(i *v1alpha1.NstanceClusterIssuer) {
				i.Spec.CA.Key = &v1alpha1.CAKey{URI: "awskms:region=eu-west-1"}
				i.Spec.CA.Generate = &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "KMS CA"}}
				i.Status.CA = nil
			}, request: certificate(nil), decision: Issued,
			check: func(t *testing.T, r Result) {
				if len(r.Notes) != 2 || !strings.Contains(r.Notes[0], `at spec.ca.key.uri "awskms:region=eu-west-1": explain cannot reach it`) {
					t.Errorf("notes %q", r.Notes)
				}
			}},
		{name: "a CA key URI with a PIN makes the issuer invalid, at spec.ca.key.uri",
			issuer: func(i *v1alpha1.NstanceClusterIssuer) {
				i.Spec.CA.Key = &v1alpha1.CAKey{URI: "pkcs11:token=ca;object=root?pin-value=1"}
			}, request: certificate(nil), decision: InvalidIssuer,
			check: func(t *testing.T, r Result) {
				if len(r.IssuerErrors) != 1 || !strings.HasPrefix(r.IssuerErrors[0], "spec.ca.key.uri: ") {
					t.Errorf("errors %q", r.IssuerErrors)
				}
			}},
		{name: "a subject equal to the CA's is refused, as by the controller (status.ca's subject is the stand-in's)",
			request: certificate(func(c *cmapi.Certificate) {
				c.Spec.Subject = &cmapi.X509Subject{Organizations: []string{"Example"}}
				c.Spec.CommonName = "Cluster CA"
			}), decision: Refused, issuer: func(i *v1alpha1.NstanceClusterIssuer) {
				i.Spec.Templates[0].AllowedSubject = &v1alpha1.SubjectPatterns{Organization: []string{"*"}}
				i.Spec.Templates[0].AllowedCommonNames = []string{"*"}
			},
			check: func(t *testing.T, r Result) {
				if !strings.Contains(r.Refusal.Message, "is the CA's own subject") {
					t.Errorf("refusal %+v", r.Refusal)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			iss := clusterIssuer()
			if tc.issuer != nil {
				tc.issuer(iss)
			}
			r, err := Explain(context.Background(), Input{Issuer: iss, Request: tc.request, RequestName: "Certificate team-a/web", NamespaceLabels: tc.labels, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if r.Decision != tc.decision {
				t.Fatalf("decision %s (%+v), want %s", r.Decision, r.Refusal, tc.decision)
			}
			tc.check(t, r)
			for _, format := range []string{"text", "json", "yaml"} {
				var b bytes.Buffer
				if err := Write(&b, r, format); err != nil || b.Len() == 0 {
					t.Errorf("%s output: %v", format, err)
				}
			}
		})
	}
}

func TestExplainNeedsTheNamespaceLabelsASelectorReads(t *testing.T) {
	t.Parallel()
	cr := certificate(func(c *cmapi.Certificate) { c.Annotations = map[string]string{v1alpha1.TemplateAnnotation: "sub-ca"} })
	_, err := Explain(context.Background(), Input{Issuer: clusterIssuer(), Request: cr, Now: now})
	if !errors.Is(err, ErrNamespaceLabels) {
		t.Errorf("error %v, want ErrNamespaceLabels", err)
	}
}

func TestSubjectOfReadsBackWhatStatusCAHolds(t *testing.T) {
	t.Parallel()
	for _, want := range []pkix.Name{
		{CommonName: "Cluster CA"},
		{CommonName: "CA, with comma", Organization: []string{"Example+Co"}, Country: []string{"DE"}},
		{CommonName: `back\slash "quoted"`, OrganizationalUnit: []string{"a", "b"}},
	} {
		s := want.String()
		got := subjectOf(s)
		ca, err := selfSigned(got, now, now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if ca.Cert.Subject.String() != s {
			t.Errorf("subject %q read back as %q", s, ca.Cert.Subject.String())
		}
	}
	if got := subjectOf("1.2.3.4=#0403616263"); got.String() != "CN=1.2.3.4=#0403616263" {
		t.Errorf("an unknown attribute: %+v, want the whole string as CN", got)
	}
}

func TestParseRefusesWhatItDoesNotRead(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ in, want string }{
		"a misspelt field":  {"apiVersion: issuer.nstance.dev/v1alpha1\nkind: NstanceClusterIssuer\nmetadata: {name: a}\nspec: {ca: {secretName: x}, defaultTemplat: web}\n", `unknown field "defaultTemplat"`},
		"another kind":      {"apiVersion: v1\nkind: Secret\nmetadata: {name: a}\n", "document 1 is v1 Secret"},
		"a certificate PEM": {"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not a CERTIFICATE REQUEST"},
		"nothing":           {"---\n", "no document"},
	} {
		if _, err := Parse([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
}
