package controller

import (
	"errors"
	"strings"
	"testing"

	"github.com/cert-manager/issuer-lib/controllers/signer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
)

func TestViewIssuerReadsSecretsOnlyFromTheAllowedNamespace(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		obj  interface {
			GetName() string
		}
		want types.NamespacedName
	}{
		{
			name: "a namespaced issuer reads its own namespace",
			obj: &v1alpha1.NstanceIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "web"},
				Spec: v1alpha1.IssuerSpec{CA: v1alpha1.CASpec{SecretName: "ca"}}},
			want: types.NamespacedName{Namespace: "team-a", Name: "ca"},
		},
		{
			name: "a cluster issuer reads the cluster resource namespace",
			obj: &v1alpha1.NstanceClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "root"},
				Spec: v1alpha1.IssuerSpec{CA: v1alpha1.CASpec{SecretName: "root-ca"}}},
			want: types.NamespacedName{Namespace: "nstance-system", Name: "root-ca"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var v issuerView
			var err error
			switch o := tc.obj.(type) {
			case *v1alpha1.NstanceIssuer:
				v, err = viewIssuer(o, "nstance-system")
			case *v1alpha1.NstanceClusterIssuer:
				v, err = viewIssuer(o, "nstance-system")
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.secretKey != tc.want {
				t.Errorf("secret = %s, want %s", v.secretKey, tc.want)
			}
		})
	}
}

func TestSelectTemplate(t *testing.T) {
	t.Parallel()
	spec := &v1alpha1.IssuerSpec{
		DefaultTemplate: "web",
		Templates:       []v1alpha1.CertificateTemplate{{Name: "web"}, {Name: "client"}},
	}
	cases := []struct {
		name        string
		spec        *v1alpha1.IssuerSpec
		annotations map[string]string
		want        string
		wantErr     string
	}{
		{name: "the annotation wins over the default", spec: spec, annotations: map[string]string{v1alpha1.TemplateAnnotation: "client"}, want: "client"},
		{name: "without annotation the default applies", spec: spec, want: "web"},
		{name: "without annotation nor default it is pass-through", spec: &v1alpha1.IssuerSpec{Templates: spec.Templates}, want: ""},
		{name: "an unknown annotated template is named in the error", spec: spec, annotations: map[string]string{v1alpha1.TemplateAnnotation: "nope"},
			wantErr: `template "nope" named by annotation issuer.nstance.dev/template does not exist in NstanceIssuer a/b (templates: [web client])`},
		{name: "an unknown default template is named in the error", spec: &v1alpha1.IssuerSpec{DefaultTemplate: "gone"},
			wantErr: `defaultTemplate "gone" does not exist`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := selectTemplate(tc.spec, tc.annotations, "NstanceIssuer a/b")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			name := ""
			if got != nil {
				name = got.Name
			}
			if name != tc.want {
				t.Errorf("template = %q, want %q", name, tc.want)
			}
		})
	}
}

func TestClassifySignError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		err  error
		is   func(error) bool
	}{
		{"a policy violation fails the request permanently", &pki.RequestError{Reason: "PolicyViolation", Msg: "no"},
			func(e error) bool { return errors.As(e, &signer.PermanentError{}) }},
		{"a template render error fails the request permanently", &pki.TemplateError{Template: "web", Msg: "no"},
			func(e error) bool { return errors.As(e, &signer.PermanentError{}) }},
		{"a CA problem is the issuer's, and the request waits", &pki.CAError{Reason: "Expired", Msg: "no"},
			func(e error) bool { return errors.As(e, &signer.IssuerError{}) }},
		{"anything else is retried", errors.New("boom"),
			func(e error) bool {
				return !errors.As(e, &signer.PermanentError{}) && !errors.As(e, &signer.IssuerError{})
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := classifySignError(tc.err); !tc.is(got) {
				t.Errorf("classifySignError(%v) = %#v", tc.err, got)
			}
		})
	}
}
