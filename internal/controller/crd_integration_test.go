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
	"strings"
	"testing"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// TestCRDRejectsInvalidIssuers proves the schema's validation runs in the
// real API server: a mistake is refused at apply time with a message.
func TestCRDRejectsInvalidIssuers(t *testing.T) {
	ns := newNamespace(t)
	cases := []struct {
		name    string
		mutate  func(*v1alpha1.IssuerSpec)
		wantErr string
	}{
		{"a defaultTemplate naming no template", func(s *v1alpha1.IssuerSpec) { s.DefaultTemplate = "missing" },
			"defaultTemplate must name one of spec.templates"},
		{"two templates with the same name", func(s *v1alpha1.IssuerSpec) {
			s.Templates = append(s.Templates, v1alpha1.CertificateTemplate{Name: "web"})
		}, "Duplicate value"},
		{"an unknown template kind", func(s *v1alpha1.IssuerSpec) { s.Templates[0].Kind = "router" }, "Unsupported value"},
		{"a zero-hour ttl below the minimum", func(s *v1alpha1.IssuerSpec) { s.Templates[0].TTL = -1 }, "should be greater than or equal to 1"},
		{"an RSA CA key of 1024 bits", func(s *v1alpha1.IssuerSpec) {
			s.CA.Generate = &v1alpha1.CATemplate{PrivateKey: v1alpha1.PrivateKeySpec{Algorithm: v1alpha1.RSAKeyAlgorithm, Size: 1024}}
		}, "size must be 2048, 3072 or 4096 for RSA"},
		{"a minimum RSA size below 2048", func(s *v1alpha1.IssuerSpec) { s.Templates[0].MinRSAKeySize = 1024 }, "should be greater than or equal to 2048"},
		{"a Secret name that is not a DNS name", func(s *v1alpha1.IssuerSpec) { s.CA.SecretName = "Bad_Name" }, "spec.ca.secretName"},
		{"a var name that templates cannot use", func(s *v1alpha1.IssuerSpec) { s.Vars = map[string]string{"not-a-name": "x"} }, "var names must be"},
		{"a var value over 1024 characters", func(s *v1alpha1.IssuerSpec) { s.Vars = map[string]string{"Big": strings.Repeat("x", 1025)} }, "var values must be at most 1024"},
		{"a template text over its cap", func(s *v1alpha1.IssuerSpec) { s.Templates[0].DNS = []string{strings.Repeat("a", 1025)} }, "Too long"},
		{"unconstrainedCA without allowCA", func(s *v1alpha1.IssuerSpec) { s.Templates[0].UnconstrainedCA = true }, "unconstrainedCA needs allowCA"},
		{"a namespace binding that names nothing", func(s *v1alpha1.IssuerSpec) { s.Templates[0].Namespaces = &v1alpha1.NamespaceSelector{} }, "set names, selector or both"},
		{"a Kubernetes CSR binding that names nobody", func(s *v1alpha1.IssuerSpec) {
			s.Templates[0].KubernetesCSRs = &v1alpha1.KubernetesCSRRequesters{}
		}, "set usernames, groups or both"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			issuer := webIssuer(ns, "ca")
			issuer.Name = "invalid-" + string(rune('a'+i))
			tc.mutate(&issuer.Spec)
			err := k8s.Create(context.Background(), issuer)
			if err == nil {
				t.Fatalf("the API server accepted an issuer with %s", tc.name)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q lacks %q", err, tc.wantErr)
			}
		})
	}

	valid := webIssuer(ns, "ca")
	valid.Name = "valid"
	if err := k8s.Create(context.Background(), valid); err != nil {
		t.Fatalf("a valid issuer was refused: %v", err)
	}
	if valid.Spec.LeafNotAfterBehavior != v1alpha1.LeafNotAfterTruncate {
		t.Errorf("leafNotAfterBehavior defaulted to %q, want Truncate", valid.Spec.LeafNotAfterBehavior)
	}
}
