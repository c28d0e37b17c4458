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

package signing

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/cert-manager/issuer-lib/controllers/signer"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/controller/kubecsr"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

// clusterFixture is a signer fixture with an NstanceClusterIssuer "web"
// (templates web, its default, for *.nodes.example.com and admin for any
// name, both for user system:node:node-1) and a Kubernetes CSR for it.
func clusterFixture(t *testing.T) (*signerFixture, *v1alpha1.NstanceClusterIssuer) {
	t.Helper()
	f := newSignerFixture(t, 365*24*time.Hour)
	cluster := &v1alpha1.NstanceClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: *f.issuer.Spec.DeepCopy()}
	cluster.Spec.Templates[0].AllowedDNSNames = []string{"*.nodes.example.com"}
	cluster.Spec.Templates[0].DNS = []string{"{{ .Request.Name }}.nodes.example.com"}
	admin := *cluster.Spec.Templates[0].DeepCopy()
	admin.Name, admin.AllowedDNSNames = "admin", []string{"**"}
	cluster.Spec.Templates = append(cluster.Spec.Templates, admin)
	f.secrets.secrets[types.NamespacedName{Namespace: "nstance-system", Name: "ca"}] = f.secrets.secrets[types.NamespacedName{Namespace: "team-a", Name: "ca"}]
	f.signer.ClusterResourceNamespace = "nstance-system"
	return f, cluster
}

func nodeCSR(t *testing.T, name, signerName string, annotations map[string]string, dns ...string) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	request, err := testpki.CSR("", dns...)
	if err != nil {
		t.Fatal(err)
	}
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name + "-uid"), Annotations: annotations},
		Spec: certificatesv1.CertificateSigningRequestSpec{Request: request, Username: "system:node:node-1", SignerName: signerName,
			Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}},
	}
}

// issuerLibView is the CSR as issuer-lib's reconciler reads it through the
// manager's client (issuerlib.go, kubecsr.PresentTemplatedSigner).
func issuerLibView(csr *certificatesv1.CertificateSigningRequest) signer.CertificateRequestObject {
	view := csr.DeepCopy()
	kubecsr.PresentTemplatedSigner(view)
	return signer.CertificateRequestObjectFromCertificateSigningRequest(view)
}

func TestSignerTakesAKubernetesCSRsTemplateFromItsSignerName(t *testing.T) {
	t.Parallel()
	f, cluster := clusterFixture(t)
	// No admission policy: a templated signer name needs none.
	csr := nodeCSR(t, "node-1", kubecsr.TemplatedSignerName("web", "admin"), nil, "anything.example.org")
	f.addApprovedCSR(t, csr, f.clock.Now())
	bundle, err := f.signer.Sign(context.Background(), issuerLibView(csr), cluster)
	if err != nil {
		t.Fatalf("Sign = %v", err)
	}
	leaf, err := testpki.VerifyChain(bundle.ChainPEM, bundle.CAPEM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !containsString(leaf.DNSNames, "anything.example.org") {
		t.Errorf("DNS names %v, want template admin's", leaf.DNSNames)
	}
	if evs := f.events(); len(evs) != 1 || !strings.Contains(evs[0], "from template admin") {
		t.Errorf("events %q, want one naming template admin", evs)
	}
	if name, ok := f.signer.SelectedTemplate(context.Background(), issuerLibView(csr)); name != "admin" || !ok {
		t.Errorf("metrics label template %q, %v; want admin", name, ok)
	}

	conflicting := nodeCSR(t, "node-2", kubecsr.TemplatedSignerName("web", "web"), map[string]string{v1alpha1.TemplateAnnotation: "admin"}, "node-2.nodes.example.com")
	f.addApprovedCSR(t, conflicting, f.clock.Now())
	_, err = f.signer.Sign(context.Background(), issuerLibView(conflicting), cluster)
	if !errors.As(err, &signer.PermanentError{}) || !strings.Contains(err.Error(), `is "admin" but signer `+kubecsr.TemplatedSignerName("web", "web")+` selects template "web"`) {
		t.Errorf("Sign with a conflicting annotation = %v, want a permanent error naming both", err)
	}

	replaced := nodeCSR(t, "node-1", kubecsr.TemplatedSignerName("web", "admin"), nil, "anything.example.org")
	replaced.UID = "another-uid"
	if _, err := f.signer.Sign(context.Background(), issuerLibView(replaced), cluster); err == nil || errors.As(err, &signer.PermanentError{}) || !strings.Contains(err.Error(), "replaced") {
		t.Errorf("Sign of a CSR the cache holds under another UID = %v, want a retry", err)
	}
}

func TestSignerRefusesAnAnnotationSelectedTemplateWithoutThePolicy(t *testing.T) {
	t.Parallel()
	f, cluster := clusterFixture(t)
	csr := nodeCSR(t, "node-1", issuer.ClusterIssuerSignerPrefix+"web", map[string]string{v1alpha1.TemplateAnnotation: "admin"}, "anything.example.org")
	f.addApprovedCSR(t, csr, f.clock.Now())
	_, err := f.signer.Sign(context.Background(), issuerLibView(csr), cluster)
	if !errors.As(err, &signer.PermanentError{}) {
		t.Fatalf("Sign without a policy configured = %v, want a permanent error", err)
	}
	for _, want := range []string{"not in force", "--csr-annotation-policy is empty", kubecsr.TemplatedSignerName("web", "admin")} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}

	// The policy installed after the approval does not vouch for it.
	f.withCSRPolicy(t, f.clock.Now().Add(time.Minute))
	if _, err := f.signer.Sign(context.Background(), issuerLibView(csr), cluster); !errors.As(err, &signer.PermanentError{}) || !strings.Contains(err.Error(), "was approved at") {
		t.Errorf("Sign of a CSR approved before the policy = %v, want a permanent error", err)
	}

	// Whoever accepts the risk gets it signed, with a warning Event.
	f.signer.CSRs.AllowMutableAnnotations = true
	if _, err := f.signer.Sign(context.Background(), issuerLibView(csr), cluster); err != nil {
		t.Fatalf("Sign with --insecure-allow-mutable-csr-annotations = %v", err)
	}
	evs := f.events()
	if len(evs) != 2 || !strings.Contains(evs[1], "Warning "+v1alpha1.EventReasonUnguardedCSRAnnotations) || !strings.Contains(evs[1], "was approved at") {
		t.Errorf("events %q, want CertificateIssued and an UnguardedCSRAnnotations warning", evs)
	}
}

func TestSignerWaitsWhenThePolicyCannotBeRead(t *testing.T) {
	t.Parallel()
	f, cluster := clusterFixture(t)
	csr := nodeCSR(t, "node-1", issuer.ClusterIssuerSignerPrefix+"web", nil, "node-1.nodes.example.com")
	f.addApprovedCSR(t, csr, f.clock.Now())
	failing := interceptor.NewClient(f.signer.Client.(client.WithWatch), interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if _, ok := obj.(*admissionregistrationv1.ValidatingAdmissionPolicy); ok {
				return errors.New("connection refused")
			}
			return c.Get(ctx, key, obj, opts...)
		},
	})
	f.signer.CSRs.Guard = &kubecsr.Guard{Name: kubecsr.DefaultCSRAnnotationPolicy, Reader: failing}
	_, err := f.signer.Sign(context.Background(), issuerLibView(csr), cluster)
	if err == nil || errors.As(err, &signer.PermanentError{}) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Sign when the policy cannot be read = %v, want an error to retry", err)
	}
}

// A Kubernetes CSR's .Request.Name is its own name: cert-manager's
// certificate-name annotation, which could change after approval, does not
// rename it.
func TestSignerNamesAKubernetesCSRByItsOwnName(t *testing.T) {
	t.Parallel()
	f, cluster := clusterFixture(t)
	csr := nodeCSR(t, "node-1", kubecsr.TemplatedSignerName("web", "web"), map[string]string{cmapi.CertificateNameKey: "node-2"})
	f.addApprovedCSR(t, csr, f.clock.Now())
	bundle, err := f.signer.Sign(context.Background(), issuerLibView(csr), cluster)
	if err != nil {
		t.Fatalf("Sign = %v", err)
	}
	leaf, err := testpki.VerifyChain(bundle.ChainPEM, bundle.CAPEM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "node-1.nodes.example.com" {
		t.Errorf("DNS names %v, want the CSR's own name rendered: node-1.nodes.example.com", leaf.DNSNames)
	}
}

func containsString(have []string, want string) bool {
	return slices.Contains(have, want)
}
