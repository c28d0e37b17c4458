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

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	cmpki "github.com/cert-manager/cert-manager/pkg/util/pki"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/explain"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
	"github.com/nstance-dev/nstance-issuer/internal/test/localstack"
)

// TestExplainMatchesTheController signs a table of requests through the
// real manager and cert-manager on the local stack and asks explain
// (the command, reading the issuer --from-cluster) about each: the same
// decision, the same refusal message as the request's Ready condition,
// the same template as the issuance Event, and a certificate with the
// same subject, SANs, usages, lifetime, CA flag and NameConstraints.
func TestExplainMatchesTheController(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	stack, err := localstack.Start(ctx, localstack.Options{RepoRoot: "../..", CertManager: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stack.Stop() })
	c := stack.Client
	const ns = "team-a"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	iss := &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: "explained"},
		Spec: v1alpha1.IssuerSpec{
			CA:              v1alpha1.CASpec{SecretName: "explained-ca", Generate: &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "Explained CA"}}},
			DefaultTemplate: "web",
			Templates: []v1alpha1.CertificateTemplate{
				{Name: "web", AllowedDNSNames: []string{"*.{{ .Request.Namespace }}.example.com"}, TTL: 720},
				{Name: "client", Kind: v1alpha1.ClientKind, Subject: v1alpha1.Subject{CN: "{{ .Request.Name }}", Organization: []string{"Example"}},
					AllowedCommonNames: []string{"*"}},
				{Name: "sub-ca", AllowCA: true, AllowedDNSNames: []string{"*.{{ .Request.Namespace }}.internal"}, AllowedIPRanges: []string{"10.1.0.0/16"},
					Namespaces: &v1alpha1.NamespaceSelector{Names: []string{ns}}},
			},
		},
	}
	if err := c.Create(ctx, iss); err != nil {
		t.Fatal(err)
	}
	if err := framework.Eventually(ctx, "the issuer to be Ready with its CA", framework.IssuerReadyIs(c, iss, metav1.ConditionTrue, "")); err != nil {
		t.Fatal(err)
	}

	ref := cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "NstanceClusterIssuer", Name: iss.Name}
	certificate := func(name string, mod func(*cmapi.Certificate)) client.Object {
		crt := &cmapi.Certificate{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec:       cmapi.CertificateSpec{SecretName: name, IssuerRef: ref, DNSNames: []string{name + "." + ns + ".example.com"}},
		}
		if mod != nil {
			mod(crt)
		}
		return crt
	}
	request := func(name string, bits int, annotations map[string]string) client.Object {
		key, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		der, err := cmpki.EncodeCSR(&x509.CertificateRequest{Subject: pkix.Name{CommonName: name + "." + ns + ".example.com"},
			DNSNames: []string{name + "." + ns + ".example.com"}, SignatureAlgorithm: x509.SHA256WithRSA}, key)
		if err != nil {
			t.Fatal(err)
		}
		return &cmapi.CertificateRequest{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: annotations},
			Spec: cmapi.CertificateRequestSpec{IssuerRef: ref, Usages: []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageServerAuth},
				Request: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})},
		}
	}
	tests := []struct {
		name     string
		obj      client.Object
		decision string
	}{
		{"a name the default template allows", certificate("web", nil), explain.Issued},
		{"a name outside the allow-list", certificate("outside", func(c *cmapi.Certificate) { c.Spec.DNSNames = []string{"a.example.org"} }), explain.Refused},
		{"a client template that sets the subject", certificate("client", func(c *cmapi.Certificate) {
			c.Annotations = map[string]string{v1alpha1.TemplateAnnotation: "client"}
			c.Spec.DNSNames, c.Spec.CommonName = nil, "client"
		}), explain.Issued},
		{"an annotation that names no template", certificate("unknown", func(c *cmapi.Certificate) {
			c.Annotations = map[string]string{v1alpha1.TemplateAnnotation: "nope"}
		}), explain.Refused},
		{"a CA certificate with NameConstraints", certificate("sub", func(c *cmapi.Certificate) {
			c.Annotations = map[string]string{v1alpha1.TemplateAnnotation: "sub-ca"}
			c.Spec.IsCA, c.Spec.DNSNames, c.Spec.CommonName = true, []string{"sub." + ns + ".internal"}, "sub."+ns+".internal"
			c.Spec.IPAddresses = []string{"10.1.2.3"}
		}), explain.Issued},
		{"a lifetime longer than the template's ttl", certificate("long", func(c *cmapi.Certificate) {
			c.Spec.Duration = &metav1.Duration{Duration: 5000 * time.Hour}
		}), explain.Issued},
		{"a CertificateRequest with a weak key", request("weak", 1024, nil), explain.Refused},
		{"a CertificateRequest with an empty template annotation", request("empty", 2048, map[string]string{v1alpha1.TemplateAnnotation: ""}), explain.Refused},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// What explain says, before the controller sees the request.
			out, err := yaml.Marshal(tc.obj)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, tc.obj.GetName()+".yaml")
			kind := "Certificate"
			if _, ok := tc.obj.(*cmapi.CertificateRequest); ok {
				kind = "CertificateRequest"
			}
			out = append([]byte(fmt.Sprintf("apiVersion: cert-manager.io/v1\nkind: %s\n", kind)), out...)
			if err := os.WriteFile(file, out, 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := run(ctx, []string{"explain", "--from-cluster", "--kubeconfig", stack.Kubeconfig, "--request", file, "-o", "json"}, &stdout, &stderr)
			var said explain.Result
			if err := json.Unmarshal(stdout.Bytes(), &said); err != nil {
				t.Fatalf("exit %d, stderr %s, output %s", code, stderr.String(), stdout.String())
			}
			if said.Decision != tc.decision || code != said.ExitCode() {
				t.Fatalf("explain: %s (exit %d, %+v), want %s", said.Decision, code, said.Refusal, tc.decision)
			}

			// What the controller does.
			if err := c.Create(ctx, tc.obj); err != nil {
				t.Fatal(err)
			}
			cr := finishedRequest(ctx, t, c, tc.obj)
			ready := readyCondition(cr)
			switch tc.decision {
			case explain.Refused:
				if ready.Reason != cmapi.CertificateRequestReasonFailed || cmapi.CertificateRequestReasonFailed+": "+ready.Message != said.Refusal.Condition {
					t.Errorf("the controller wrote\n  %s: %s\nexplain said\n  %s", ready.Reason, ready.Message, said.Refusal.Condition)
				}
			case explain.Issued:
				if ready.Reason != cmapi.CertificateRequestReasonIssued {
					t.Fatalf("the controller did not issue: %s: %s", ready.Reason, ready.Message)
				}
				block, _ := pem.Decode(cr.Status.Certificate)
				cert, err := x509.ParseCertificate(block.Bytes)
				if err != nil {
					t.Fatal(err)
				}
				compareCertificate(t, cert, said.Certificate)
				if tmpl := issuedTemplate(ctx, t, c, cr); tmpl != said.Template {
					t.Errorf("the controller used template %q, explain said %q", tmpl, said.Template)
				}
			}
		})
	}
}

// finishedRequest waits for the CertificateRequest of obj (itself, or the
// one cert-manager made for a Certificate) to be issued or failed.
func finishedRequest(ctx context.Context, t *testing.T, c client.Client, obj client.Object) *cmapi.CertificateRequest {
	t.Helper()
	var cr *cmapi.CertificateRequest
	if err := framework.Eventually(ctx, "the request to finish", func(ctx context.Context) error {
		var list cmapi.CertificateRequestList
		if err := c.List(ctx, &list, client.InNamespace(obj.GetNamespace())); err != nil {
			return err
		}
		for i := range list.Items {
			r := &list.Items[i]
			mine := r.Name == obj.GetName()
			if _, isCrt := obj.(*cmapi.Certificate); isCrt {
				mine = r.Annotations[cmapi.CertificateNameKey] == obj.GetName()
			}
			if !mine {
				continue
			}
			if c := readyCondition(r); c.Reason == cmapi.CertificateRequestReasonIssued || c.Reason == cmapi.CertificateRequestReasonFailed {
				cr = r
				return nil
			}
		}
		return fmt.Errorf("no finished request for %s", obj.GetName())
	}); err != nil {
		t.Fatal(err)
	}
	return cr
}

func readyCondition(cr *cmapi.CertificateRequest) cmapi.CertificateRequestCondition {
	for _, c := range cr.Status.Conditions {
		if c.Type == cmapi.CertificateRequestConditionReady {
			return c
		}
	}
	return cmapi.CertificateRequestCondition{}
}

// issuedTemplate reads the template from the controller's issuance Event.
func issuedTemplate(ctx context.Context, t *testing.T, c client.Client, cr *cmapi.CertificateRequest) string {
	t.Helper()
	var found string
	if err := framework.Eventually(ctx, "the issuance Event", func(ctx context.Context) error {
		var events corev1.EventList
		if err := c.List(ctx, &events, client.InNamespace(cr.Namespace), client.MatchingFields{"involvedObject.name": cr.Name}); err != nil {
			return err
		}
		for _, e := range events.Items {
			if e.Reason != v1alpha1.EventReasonCertificateIssued {
				continue
			}
			_, rest, ok := strings.Cut(e.Message, " from template ")
			if ok {
				found, _, _ = strings.Cut(rest, ",")
				return nil
			}
		}
		return fmt.Errorf("no %s Event on %s", v1alpha1.EventReasonCertificateIssued, cr.Name)
	}); err != nil {
		t.Fatal(err)
	}
	return found
}

// compareCertificate holds what explain said to the certificate the
// controller signed.
func compareCertificate(t *testing.T, got *x509.Certificate, said *explain.Certificate) {
	t.Helper()
	if said == nil {
		t.Fatal("explain described no certificate")
	}
	want := *said
	var ips, uris []string
	for _, ip := range got.IPAddresses {
		ips = append(ips, ip.String())
	}
	for _, u := range got.URIs {
		uris = append(uris, u.String())
	}
	for _, f := range []struct {
		what      string
		got, said []string
	}{
		{"subject", []string{got.Subject.String()}, []string{want.Subject}},
		{"DNS names", got.DNSNames, want.DNSNames},
		{"IP addresses", ips, want.IPAddresses},
		{"URIs", uris, want.URIs},
		{"email addresses", got.EmailAddresses, want.EmailAddresses},
		{"lifetime", []string{got.NotAfter.Sub(got.NotBefore).String()}, []string{want.Lifetime}},
	} {
		if !slices.Equal(f.got, f.said) {
			t.Errorf("%s: the controller signed %q, explain said %q", f.what, f.got, f.said)
		}
	}
	if got.IsCA != want.IsCA {
		t.Errorf("isCA: the controller signed %v, explain said %v", got.IsCA, want.IsCA)
	}
	if got.IsCA {
		if want.MaxPathLen == nil || (got.MaxPathLenZero && *want.MaxPathLen != 0) || (!got.MaxPathLenZero && *want.MaxPathLen != got.MaxPathLen) {
			t.Errorf("pathLen: the controller signed %d (zero %v), explain said %v", got.MaxPathLen, got.MaxPathLenZero, want.MaxPathLen)
		}
		if nc := want.NameConstraints; nc == nil || !slices.Equal(got.PermittedDNSDomains, nc.PermittedDNSDomains) || got.PermittedDNSDomainsCritical != nc.Critical {
			t.Errorf("NameConstraints: the controller signed %v (critical %v), explain said %+v", got.PermittedDNSDomains, got.PermittedDNSDomainsCritical, nc)
		}
	}
	if k, e := explain.KeyUsages(got.KeyUsage), explain.ExtKeyUsages(got.ExtKeyUsage); !slices.Equal(k, want.KeyUsages) || !slices.Equal(e, want.ExtKeyUsages) {
		t.Errorf("usages: the controller signed %v %v, explain said %v %v", k, e, want.KeyUsages, want.ExtKeyUsages)
	}
}
