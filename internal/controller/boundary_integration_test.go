//go:build integration

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

package controller_test

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// TestTemplatePolicyIsABoundary runs the ways around a template's policy
// (issue #9) through the real controller: an empty template annotation, a
// request that names no template, and a template bound to other
// namespaces by name or by label. Each must fail with its reason and never
// be signed; the control requests must be signed.
func TestTemplatePolicyIsABoundary(t *testing.T) {
	ca := validCA(t, "Boundary Root CA")
	createSecret(t, clusterResourceNamespace, "boundary-ca", ca.SecretData())
	teamA, teamB := newNamespace(t), newNamespace(t)
	labelNamespace(t, teamB, map[string]string{"tier": "prod"})
	issuer := &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: "boundary"},
		Spec: v1alpha1.IssuerSpec{
			CA: v1alpha1.CASpec{SecretName: "boundary-ca"},
			Templates: []v1alpha1.CertificateTemplate{{
				Name: "team-a-only", AllowedDNSNames: []string{"**.example.com"},
				Namespaces: &v1alpha1.NamespaceSelector{Names: []string{teamA}},
			}, {
				Name: "prod-only", AllowedDNSNames: []string{"**.example.com"},
				Namespaces: &v1alpha1.NamespaceSelector{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "prod"}}},
			}},
		},
	}
	create(t, issuer)
	waitIssuer(t, issuer, metav1.ConditionTrue, "")
	ref := issuerRef("NstanceClusterIssuer", "boundary")
	annotated := func(v string) map[string]string { return map[string]string{v1alpha1.TemplateAnnotation: v} }

	for _, tc := range []struct {
		name, ns    string
		annotations map[string]string
		want        string // "" means signed
	}{
		{"a namespace named by the template is served", teamA, annotated("team-a-only"), ""},
		{"a namespace with the selected labels is served", teamB, annotated("prod-only"), ""},
		{"another namespace may not borrow a template bound by name", teamB, annotated("team-a-only"), "may not use template"},
		{"a namespace without the labels may not use a template bound by label", teamA, annotated("prod-only"), "tier=prod"},
		{"an empty template annotation is refused, not signed as asked", teamA, annotated(""), "present but empty"},
		{"a request that names no template fails when the issuer has no default", teamA, nil, "selects no template"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := createCertificateRequest(t, tc.ns, ref, csrPEM(t, "", "app.example.com"), time.Hour, tc.annotations)
			approve(t, cr)
			if tc.want == "" {
				verifyChain(t, waitCRReady(t, cr).Status.Certificate, ca.Cert, x509.ExtKeyUsageServerAuth)
				return
			}
			if cond := waitCRFailed(t, cr); !strings.Contains(cond.Message, tc.want) {
				t.Errorf("failure message %q lacks %q", cond.Message, tc.want)
			}
		})
	}
}

func labelNamespace(t *testing.T, name string, labels map[string]string) {
	t.Helper()
	ns := &corev1.Namespace{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Name: name}, ns); err != nil {
		t.Fatal(err)
	}
	ns.Labels = labels
	if err := k8s.Update(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
}
