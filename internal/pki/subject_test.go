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
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

func TestApplySubject(t *testing.T) {
	t.Parallel()
	reqSubject := pkix.Name{
		CommonName: "web.team-a.example.com", Organization: []string{"Req Org"}, OrganizationalUnit: []string{"Req OU"},
		Country: []string{"DE"}, Province: []string{"Berlin"}, Locality: []string{"Berlin"},
		StreetAddress: []string{"Req Street 1"}, PostalCode: []string{"10115"},
	}
	tests := []struct {
		name string
		tmpl *v1alpha1.CertificateTemplate
		want pkix.Name
		kind string
		msg  string
	}{
		{
			name: "pass-through keeps the request's subject",
			want: reqSubject,
		},
		{
			name: "a template without subject fields keeps the request's subject",
			tmpl: templ("web"),
			want: reqSubject,
		},
		{
			name: "a template CN replaces the request's CN and keeps the rest",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) { t.CN = "{{ .Request.Name }}.{{ .Request.Namespace }}" }),
			want: func() pkix.Name { n := reqSubject; n.CommonName = "web.team-a"; return n }(),
		},
		{
			name: "every template subject field replaces the request's",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) {
				t.CN, t.Organization, t.OrganizationalUnit = "kubelet", []string{"Example Infra", "{{ .Issuer.Name }}"}, []string{"ops"}
				t.Country, t.Province, t.Locality = []string{"US"}, []string{"California"}, []string{"San Francisco"}
				t.Street, t.PostalCode = []string{"1 Market St"}, []string{"94105"}
			}),
			// The two organizations form one RDN, a SET whose values DER
			// sorts by their encoding (the shorter "ca" first), as Go's
			// parser reads them back from the certificate.
			want: pkix.Name{
				CommonName: "kubelet", Organization: []string{"ca", "Example Infra"}, OrganizationalUnit: []string{"ops"},
				Country: []string{"US"}, Province: []string{"California"}, Locality: []string{"San Francisco"},
				StreetAddress: []string{"1 Market St"}, PostalCode: []string{"94105"},
			},
		},
		{
			name: "a template field that renders empty keeps the request's",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) {
				t.CN = `{{ index .Vars "Unset" }}`
				t.Organization = []string{" ", `{{ index .Vars "Unset" }}`}
			}),
			want: reqSubject,
		},
		{
			name: "empty entries of a template list are dropped",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) { t.Country = []string{"", "US", "  "} }),
			want: func() pkix.Name { n := reqSubject; n.Country = []string{"US"}; return n }(),
		},
		{
			name: "a render failure for this request fails the request",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) { t.CN = "{{ index .Request.URIs 3 }}" }),
			kind: "RequestError/TemplateRenderFailed",
			msg:  `template "web" field cn: `,
		},
		{
			name: "a rendered value that is not UTF-8 fails the request",
			tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) { t.Organization = []string{`{{ slice "é" 0 1 }}`} }),
			kind: "RequestError/TemplateRenderFailed",
			msg:  "which is not valid UTF-8",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			is := prepare(t, tc.tmpl, Request{CSR: newCSR(t, testKey(t, "ecdsa256"), x509.CertificateRequest{Subject: reqSubject})})
			err := applySubject(is)
			wantErr(t, err, tc.kind, tc.msg)
			if err != nil {
				return
			}
			got := is.cert.Subject
			if got.CommonName != tc.want.CommonName ||
				!slices.Equal(got.Organization, tc.want.Organization) ||
				!slices.Equal(got.OrganizationalUnit, tc.want.OrganizationalUnit) ||
				!slices.Equal(got.Country, tc.want.Country) ||
				!slices.Equal(got.Province, tc.want.Province) ||
				!slices.Equal(got.Locality, tc.want.Locality) ||
				!slices.Equal(got.StreetAddress, tc.want.StreetAddress) ||
				!slices.Equal(got.PostalCode, tc.want.PostalCode) {
				t.Errorf("subject = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSubjectAttributesThisIssuerDoesNotSignAreRefused(t *testing.T) {
	t.Parallel()
	uid := asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
	subject := pkix.Name{CommonName: "alice", ExtraNames: []pkix.AttributeTypeAndValue{{Type: uid, Value: "alice01"}}}
	csrPEM := newCSR(t, testKey(t, "ecdsa256"), x509.CertificateRequest{Subject: subject})
	for _, tmpl := range []*v1alpha1.CertificateTemplate{nil, templ("users", func(t *v1alpha1.CertificateTemplate) { t.Organization = []string{"Users"} })} {
		_, err := Issue(interCA(t), policyFor(tmpl), Request{CSR: csrPEM, Duration: time.Hour}, RenderData{}, testNow, rand.Reader)
		wantErr(t, err, "RequestError/"+ReasonInvalidSubject, "0.9.2342.19200300.100.1.1")
	}
}

// A CA whose Cert is replaced after LoadCA is compared by the new
// certificate's subject, not by the one LoadCA kept.
func TestCheckSubjectNotCAFollowsTheCert(t *testing.T) {
	t.Parallel()
	root := newPKI(t).root
	// The root's subject in lower case: not byte for byte the root's, so
	// only the comparison of the subjects' strings can catch it.
	subject := pkix.Name{CommonName: strings.ToLower(root.Subject.CommonName)}
	for _, o := range root.Subject.Organization {
		subject.Organization = append(subject.Organization, strings.ToLower(o))
	}
	is := prepare(t, nil, Request{CSR: newCSR(t, testKey(t, "ecdsa256"), x509.CertificateRequest{Subject: subject})})
	is.ca.Cert = root
	wantErr(t, runSteps(is, applySubject, checkSubjectNotCA), "RequestError/PolicyViolation", "is the CA's own subject")
}

func TestCheckSubjectNotCA(t *testing.T) {
	t.Parallel()
	ca := interCA(t)
	tests := []struct {
		name    string
		tmpl    *v1alpha1.CertificateTemplate
		subject pkix.Name
		kind    string
		msg     string
	}{
		{name: "a different subject passes", subject: pkix.Name{CommonName: "web"}},
		{name: "an empty subject passes", subject: pkix.Name{}},
		{name: "the CA's subject requested unchanged is rejected", subject: ca.Cert.Subject, kind: "RequestError/PolicyViolation", msg: `the certificate's subject "CN=Test Intermediate,O=Test" is the CA's own subject`},
		{name: "the CA's subject in other case is rejected", subject: pkix.Name{CommonName: "test intermediate", Organization: []string{"TEST"}}, kind: "RequestError/PolicyViolation", msg: `the certificate's subject "CN=test intermediate,O=TEST" is the CA's own subject`},
		{name: "the CA's subject made by a template is rejected", tmpl: templ("web", func(t *v1alpha1.CertificateTemplate) {
			t.CN = "Test Intermediate"
			t.Organization = []string{"Test"}
		}), kind: "RequestError/PolicyViolation", msg: "is the CA's own subject"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			is := prepare(t, tc.tmpl, Request{CSR: newCSR(t, testKey(t, "ecdsa256"), x509.CertificateRequest{Subject: tc.subject})})
			wantErr(t, runSteps(is, applySubject, checkSubjectNotCA), tc.kind, tc.msg)
		})
	}
}
