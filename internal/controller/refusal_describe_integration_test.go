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
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/kubecsr"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
)

// TestRefusalsShowWhereKubectlDescribeLooks refuses a CertificateRequest,
// a Kubernetes CSR and a PodCertificateRequest and checks that what
// `kubectl describe` prints of each, its conditions and its Events, carries
// the PKI core's message: the value, the template and the rule.
func TestRefusalsShowWhereKubectlDescribeLooks(t *testing.T) {
	ns, other := newNamespace(t), newNamespace(t)
	const name = "describe-ca"
	signer := podIssuer(t, name, validCA(t, "Describe Root CA"), "web",
		v1alpha1.CertificateTemplate{Name: "web", AllowedDNSNames: []string{"*.example.com"}},
		v1alpha1.CertificateTemplate{Name: "nodes", KubernetesCSRs: &v1alpha1.KubernetesCSRRequesters{Usernames: []string{"*"}}, AllowedDNSNames: []string{"*.nodes.internal"}},
		podsTemplate(ns))

	// describe shows a request's Events (any namespace: a CSR's are in
	// default) and its conditions.
	described := func(t *testing.T, what, objName, want string, conditions func() []string) {
		t.Helper()
		eventually(t, what+" described with the refusal", func(context.Context) error {
			var notes []string
			for _, e := range eventsFor(t, "", objName) {
				notes = append(notes, e.Reason+": "+e.Note)
			}
			for _, where := range [][]string{conditions(), notes} {
				if !containsSubstring(where, want) {
					return fmt.Errorf("%q does not show %q", where, want)
				}
			}
			return nil
		})
	}

	t.Run("CertificateRequest", func(t *testing.T) {
		cr := createCertificateRequest(t, ns, issuerRef("NstanceClusterIssuer", name), csrPEM(t, "", "a.example.org"), time.Hour, nil)
		approve(t, cr)
		cond := waitCRFailed(t, cr)
		want := `requested DNS name "a.example.org" is not allowed by template "web" (allowedDNSNames: *.example.com)`
		described(t, "CertificateRequest "+cr.Name, cr.Name, want, func() []string { return []string{cond.Reason + ": " + cond.Message} })
	})
	t.Run("CertificateSigningRequest", func(t *testing.T) {
		csr := createCSR(t, kubecsr.TemplatedSignerPrefix+name+".nodes", csrPEM(t, "", "x.example.org"), nil, nil)
		approveCSR(t, csr)
		msg := waitCSRFailed(t, csr)
		want := `requested DNS name "x.example.org" is not allowed by template "nodes" (allowedDNSNames: *.nodes.internal)`
		described(t, "CSR "+csr.Name, csr.Name, want, func() []string { return []string{msg} })
	})
	t.Run("PodCertificateRequest", func(t *testing.T) {
		pcr := requestPodCertificate(t, other, "describe", framework.PodCertificateVolume{SignerName: signer, KeyType: "ECDSAP256",
			UserAnnotations: map[string]string{v1alpha1.PodCertificateTemplateAnnotation: "pods"}})
		cond := waitPodCertificate(t, pcr)
		if cond.Type != "Denied" {
			t.Fatalf("condition %s/%s: %s, want Denied", cond.Type, cond.Reason, cond.Message)
		}
		want := fmt.Sprintf(`namespace %q may not use template "pods" (names: %s)`, other, ns)
		described(t, "PodCertificateRequest "+pcr.Name, pcr.Name, want, func() []string {
			var out []string
			for _, c := range pcr.Status.Conditions {
				out = append(out, fmt.Sprintf("%s %s: %s", c.Type, c.Reason, c.Message))
			}
			return out
		})
	})
}

func containsSubstring(list []string, want string) bool {
	for _, s := range list {
		if strings.Contains(s, want) {
			return true
		}
	}
	return false
}
