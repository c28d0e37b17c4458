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
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

func TestSelectPolicy(t *testing.T) {
	t.Parallel()
	templates := []v1alpha1.CertificateTemplate{{Name: "web"}, {Name: "client"}}
	withDefault := &v1alpha1.IssuerSpec{DefaultTemplate: "web", Templates: templates}
	noDefault := &v1alpha1.IssuerSpec{Templates: templates}
	passThrough := &v1alpha1.IssuerSpec{Templates: templates, AllowPassThrough: true}
	annotated := func(v string) map[string]string { return map[string]string{v1alpha1.TemplateAnnotation: v} }
	cases := []struct {
		name        string
		spec        *v1alpha1.IssuerSpec
		annotations map[string]string
		want        string // template name, "pass-through", or "" with wantErr
		wantErr     string
		wantMsg     []string
	}{
		{name: "the annotation wins over the default", spec: withDefault, annotations: annotated("client"), want: "client"},
		{name: "without annotation the default applies", spec: withDefault, want: "web"},
		{name: "an empty annotation is refused, not taken as no template", spec: withDefault, annotations: annotated(""),
			wantErr: "RequestError/" + ReasonInvalidTemplateAnnotation, wantMsg: []string{"present but empty", "web, client"}},
		{name: "an empty annotation is refused even where pass-through is allowed", spec: passThrough, annotations: annotated(""),
			wantErr: "RequestError/" + ReasonInvalidTemplateAnnotation},
		{name: "an unknown annotated template is named in the error", spec: withDefault, annotations: annotated("nope"),
			wantErr: "RequestError/" + ReasonUnknownTemplate, wantMsg: []string{`"nope"`, "NstanceIssuer a/b", "web, client"}},
		{name: "templates without a default are not advisory: an unannotated request fails", spec: noDefault,
			wantErr: "RequestError/" + ReasonNoTemplate, wantMsg: []string{"allowPassThrough", "web, client"}},
		{name: "an issuer without templates refuses by default", spec: &v1alpha1.IssuerSpec{},
			wantErr: "RequestError/" + ReasonNoTemplate},
		{name: "pass-through only when the issuer opts in", spec: passThrough, want: "pass-through"},
		{name: "an issuer that opts in still applies a named template", spec: passThrough, annotations: annotated("client"), want: "client"},
		{name: "a default naming no template is the issuer's mistake", spec: &v1alpha1.IssuerSpec{DefaultTemplate: "gone"},
			wantErr: "TemplateError", wantMsg: []string{"defaultTemplate"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := SelectPolicy(tc.spec, tc.annotations, "NstanceIssuer a/b")
			wantErr(t, err, tc.wantErr, tc.wantMsg...)
			if tc.wantErr != "" {
				return
			}
			got := "pass-through"
			if p.Template != nil {
				got = p.Template.Name
			} else if !p.PassThrough {
				got = "nothing"
			}
			if got != tc.want {
				t.Errorf("policy = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestIssueRefusesAPolicyOfNothing(t *testing.T) {
	t.Parallel()
	_, err := Issue(interCA(t), Policy{}, Request{CSR: csrFor(t, "x"), Duration: time.Hour}, RenderData{}, testNow, rand.Reader)
	wantErr(t, err, "RequestError/"+ReasonNoTemplate)
}

func TestCheckRequester(t *testing.T) {
	t.Parallel()
	bound := func(ns *v1alpha1.NamespaceSelector) func(*v1alpha1.CertificateTemplate) {
		return func(t *v1alpha1.CertificateTemplate) { t.Namespaces = ns }
	}
	csrs := func(k *v1alpha1.KubernetesCSRRequesters) func(*v1alpha1.CertificateTemplate) {
		return func(t *v1alpha1.CertificateTemplate) { t.KubernetesCSRs = k }
	}
	cases := []struct {
		name    string
		tmpl    *v1alpha1.CertificateTemplate
		req     Request
		wantErr string
		wantMsg []string
	}{
		{name: "an unbound template serves every namespace", tmpl: templ("web"), req: Request{Namespace: "team-b"}},
		{name: "a template bound by name serves that namespace", tmpl: templ("web", bound(&v1alpha1.NamespaceSelector{Names: []string{"team-a"}})),
			req: Request{Namespace: "team-a"}},
		{name: "a template bound by name refuses another namespace", tmpl: templ("web", bound(&v1alpha1.NamespaceSelector{Names: []string{"team-a"}})),
			req: Request{Namespace: "team-b"}, wantErr: "RequestError/" + ReasonRequesterNotAllowed, wantMsg: []string{`"team-b"`, `"web"`, "team-a"}},
		{name: "a label selector admits a namespace with the labels", tmpl: templ("web", bound(&v1alpha1.NamespaceSelector{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "prod"}}})),
			req: Request{Namespace: "shop", NamespaceLabels: map[string]string{"tier": "prod"}}},
		{name: "a label selector refuses a namespace without them", tmpl: templ("web", bound(&v1alpha1.NamespaceSelector{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "prod"}}})),
			req: Request{Namespace: "shop", NamespaceLabels: map[string]string{"tier": "dev"}}, wantErr: "RequestError/" + ReasonRequesterNotAllowed, wantMsg: []string{"tier=prod"}},
		{name: "an empty selector admits every namespace", tmpl: templ("web", bound(&v1alpha1.NamespaceSelector{Selector: &metav1.LabelSelector{}})),
			req: Request{Namespace: "any"}},
		{name: "a Kubernetes CSR may not use a template that does not allow CSRs", tmpl: templ("web"),
			req: Request{KubernetesCSR: true, Username: "alice"}, wantErr: "RequestError/" + ReasonRequesterNotAllowed, wantMsg: []string{"kubernetesCSRs"}},
		{name: "a Kubernetes CSR from an allowed user pattern may", tmpl: templ("node", csrs(&v1alpha1.KubernetesCSRRequesters{Usernames: []string{"system:node:*"}})),
			req: Request{KubernetesCSR: true, Username: "system:node:worker-1"}},
		{name: "a Kubernetes CSR from an allowed group may", tmpl: templ("node", csrs(&v1alpha1.KubernetesCSRRequesters{Groups: []string{"system:nodes"}})),
			req: Request{KubernetesCSR: true, Username: "x", Groups: []string{"system:authenticated", "system:nodes"}}},
		{name: "a Kubernetes CSR from another user is refused", tmpl: templ("node", csrs(&v1alpha1.KubernetesCSRRequesters{Usernames: []string{"system:node:*"}, Groups: []string{"system:nodes"}})),
			req: Request{KubernetesCSR: true, Username: "mallory", Groups: []string{"system:authenticated"}}, wantErr: "RequestError/" + ReasonRequesterNotAllowed, wantMsg: []string{`"mallory"`}},
		{name: "namespace binding does not let a Kubernetes CSR in", tmpl: templ("web", bound(&v1alpha1.NamespaceSelector{Selector: &metav1.LabelSelector{}})),
			req: Request{KubernetesCSR: true, Username: "alice"}, wantErr: "RequestError/" + ReasonRequesterNotAllowed},
		// A template for Kubernetes CSRs or pods (O=system:nodes, say)
		// serves a cert-manager CertificateRequest only from namespaces it
		// names: unbound, it would serve every tenant.
		{name: "a CSR template without namespaces refuses a CertificateRequest", tmpl: templ("kubelet-server", csrs(&v1alpha1.KubernetesCSRRequesters{Usernames: []string{"system:node:*"}})),
			req: Request{Namespace: "team-a"}, wantErr: "RequestError/" + ReasonRequesterNotAllowed, wantMsg: []string{`"kubelet-server"`, "Kubernetes CSRs", "namespaces"}},
		{name: "a pod template without namespaces refuses a CertificateRequest", tmpl: templ("pods", func(t *v1alpha1.CertificateTemplate) { t.PodCertificates = &v1alpha1.PodCertificates{} }),
			req: Request{Namespace: "team-a"}, wantErr: "RequestError/" + ReasonRequesterNotAllowed, wantMsg: []string{`"pods"`, "pod certificates"}},
		{name: "a CSR template serves the CertificateRequests of the namespaces it names", tmpl: templ("kubelet-server", csrs(&v1alpha1.KubernetesCSRRequesters{Usernames: []string{"system:node:*"}}), bound(&v1alpha1.NamespaceSelector{Names: []string{"kube-system"}})),
			req: Request{Namespace: "kube-system"}},
		{name: "a CSR template bound to namespaces refuses another", tmpl: templ("kubelet-server", csrs(&v1alpha1.KubernetesCSRRequesters{Usernames: []string{"system:node:*"}}), bound(&v1alpha1.NamespaceSelector{Names: []string{"kube-system"}})),
			req: Request{Namespace: "team-a"}, wantErr: "RequestError/" + ReasonRequesterNotAllowed, wantMsg: []string{`"team-a"`}},
		{name: "a CSR template without namespaces still serves its Kubernetes CSRs", tmpl: templ("kubelet-server", csrs(&v1alpha1.KubernetesCSRRequesters{Usernames: []string{"system:node:*"}})),
			req: Request{KubernetesCSR: true, Username: "system:node:worker-1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := checkRequester(&issuance{tmpl: tc.tmpl, req: tc.req})
			wantErr(t, err, tc.wantErr, tc.wantMsg...)
		})
	}
}

func TestSelectNamedTemplate(t *testing.T) {
	t.Parallel()
	spec := &v1alpha1.IssuerSpec{DefaultTemplate: "web", Templates: []v1alpha1.CertificateTemplate{{Name: "web"}, {Name: "kubelet"}},
		AllowPassThrough: true, LeafNotAfterBehavior: v1alpha1.LeafNotAfterError}
	t.Run("a named template is selected whatever the default", func(t *testing.T) {
		t.Parallel()
		p, err := SelectNamedTemplate(spec, "kubelet", "signer s/x.kubelet", "NstanceClusterIssuer x")
		wantErr(t, err, "")
		if p.Template == nil || p.Template.Name != "kubelet" || p.PassThrough || p.LeafNotAfterBehavior != v1alpha1.LeafNotAfterError {
			t.Errorf("policy %+v, want template kubelet with the issuer's leafNotAfterBehavior", p)
		}
	})
	t.Run("an unknown name fails naming where it came from, never falling back to the default or pass-through", func(t *testing.T) {
		t.Parallel()
		_, err := SelectNamedTemplate(spec, "admin", "signer s/x.admin", "NstanceClusterIssuer x")
		wantErr(t, err, "RequestError/"+ReasonUnknownTemplate, `"admin"`, "signer s/x.admin", "NstanceClusterIssuer x", "web, kubelet")
	})
}
