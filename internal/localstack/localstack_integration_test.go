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

package localstack_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/localstack"
)

// stack is started once for the whole test binary: starting kube-apiserver,
// etcd and all controllers costs seconds.
var stack *localstack.Stack

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctrllog.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true)))
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	began := time.Now()
	stack, err = localstack.Start(context.Background(), localstack.Options{RepoRoot: root, CertManager: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "localstack.Start:", err)
		return 1
	}
	fmt.Printf("localstack.Start with cert-manager took %s\n", time.Since(began).Round(10*time.Millisecond))
	code := m.Run()

	host := stack.Config.Host
	kubeconfig := stack.Kubeconfig
	began = time.Now()
	if err := stack.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "Stop:", err)
		code = 1
	}
	fmt.Printf("Stop took %s\n", time.Since(began).Round(10*time.Millisecond))
	// Stop must leave nothing behind: the API server no longer answers and
	// the temporary kubeconfig is gone.
	if u, err := url.Parse(host); err == nil {
		if conn, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
			_ = conn.Close()
			fmt.Fprintln(os.Stderr, "the API server still answers after Stop")
			code = 1
		}
	}
	if _, err := os.Stat(kubeconfig); !os.IsNotExist(err) {
		fmt.Fprintln(os.Stderr, "the temporary kubeconfig survived Stop:", kubeconfig)
		code = 1
	}
	return code
}

func namespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: strings.ToLower(t.Name()) + "-"}}
	if err := stack.Client.Create(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := stack.Client.Create(t.Context(), obj); err != nil {
		t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
	}
}

// waitReady waits for a Certificate to be Ready and returns its Secret.
func waitReady(t *testing.T, ns, name string) *corev1.Secret {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cert := &cmapi.Certificate{}
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		if err := stack.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, cert); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		for _, c := range cert.Status.Conditions {
			if c.Type == cmapi.CertificateConditionReady && c.Status == cmmeta.ConditionTrue && c.ObservedGeneration == cert.Generation {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("Certificate %s/%s not Ready: %v; status: %+v", ns, name, err, cert.Status)
	}
	secret := &corev1.Secret{}
	if err := stack.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: cert.Spec.SecretName}, secret); err != nil {
		t.Fatal(err)
	}
	return secret
}

// verifyChain checks that tls.crt's leaf chains to ca.crt through the
// intermediates in tls.crt, and returns the leaf.
func verifyChain(t *testing.T, secret *corev1.Secret, dnsName string) *x509.Certificate {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(secret.Data["ca.crt"]) {
		t.Fatalf("Secret %s has no ca.crt", secret.Name)
	}
	var certs []*x509.Certificate
	for rest := secret.Data[corev1.TLSCertKey]; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		t.Fatalf("Secret %s has no certificate in tls.crt", secret.Name)
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{
		DNSName: dnsName, Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		t.Fatalf("tls.crt does not verify against ca.crt: %v", err)
	}
	if len(secret.Data[corev1.TLSPrivateKeyKey]) == 0 {
		t.Fatalf("Secret %s has no tls.key", secret.Name)
	}
	return certs[0]
}

// TestNstanceClusterIssuerThroughCertManager is the product's main path on
// the local stack: a Certificate for an NstanceClusterIssuer that generates
// its CA, approved by cert-manager's approver (nobody else approves here),
// signed by nstance-issuer, written to a Secret by cert-manager.
func TestNstanceClusterIssuerThroughCertManager(t *testing.T) {
	ns := namespace(t)
	issuer := &v1alpha1.NstanceClusterIssuer{}
	if err := yaml.UnmarshalStrict([]byte(`
apiVersion: issuer.nstance.dev/v1alpha1
kind: NstanceClusterIssuer
metadata: {name: localstack-ca}
spec:
  ca:
    secretName: localstack-ca
    generate:
      cn: "Local CA - {{ .Vars.ClusterSlug }}"
      ttl: 87600
      privateKey: {algorithm: ECDSA, size: 256}
  vars: {ClusterSlug: test}
  defaultTemplate: web
  templates:
  - name: web
    kind: server
    organization: ["Example Infra"]
    allowedDNSNames: ["*.example.com"]
    ttl: 2160
`), issuer); err != nil {
		t.Fatal(err)
	}
	create(t, issuer)
	create(t, &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web", Annotations: map[string]string{v1alpha1.TemplateAnnotation: "web"}},
		Spec: cmapi.CertificateSpec{
			SecretName: "web-tls",
			CommonName: "www.example.com",
			DNSNames:   []string{"www.example.com"},
			Duration:   &metav1.Duration{Duration: 720 * time.Hour},
			IssuerRef:  cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "NstanceClusterIssuer", Name: "localstack-ca"},
		},
	})

	leaf := verifyChain(t, waitReady(t, ns, "web"), "www.example.com")
	if got := leaf.Subject.Organization; len(got) != 1 || got[0] != "Example Infra" {
		t.Errorf("the web template's organization is not applied: %v", got)
	}
	if leaf.Issuer.CommonName != "Local CA - test" {
		t.Errorf("issuer = %q, want the generated CA", leaf.Issuer.CommonName)
	}

	// cert-manager's approver approved the request, and the requestmanager
	// copied the template annotation onto it.
	var crs cmapi.CertificateRequestList
	if err := stack.Client.List(t.Context(), &crs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(crs.Items) != 1 {
		t.Fatalf("want 1 CertificateRequest, got %d", len(crs.Items))
	}
	cr := crs.Items[0]
	if cr.Annotations[v1alpha1.TemplateAnnotation] != "web" {
		t.Errorf("template annotation not copied to the CertificateRequest: %v", cr.Annotations)
	}
	approved := false
	for _, c := range cr.Status.Conditions {
		if c.Type == cmapi.CertificateRequestConditionApproved && c.Status == cmmeta.ConditionTrue && c.Reason == "cert-manager.io" {
			approved = true
		}
	}
	if !approved {
		t.Errorf("CertificateRequest %s not approved by cert-manager's approver: %+v", cr.Name, cr.Status.Conditions)
	}
}

// TestIngressShim: an Ingress annotated for an NstanceClusterIssuer gets a
// Certificate from cert-manager's ingress-shim, signed by nstance-issuer.
func TestIngressShim(t *testing.T) {
	ns := namespace(t)
	create(t, &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: "ingress-ca"},
		Spec: v1alpha1.IssuerSpec{
			CA: v1alpha1.CASpec{SecretName: "ingress-ca", Generate: &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "Ingress CA"}, TTL: 8760}},
			// ingress-shim copies no template annotation: the default applies.
			DefaultTemplate: "web",
			Templates:       []v1alpha1.CertificateTemplate{{Name: "web", AllowedDNSNames: []string{"*.example.com"}}},
		},
	})
	pathType := networkingv1.PathTypePrefix
	create(t, &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop", Annotations: map[string]string{
			"cert-manager.io/issuer":       "ingress-ca",
			"cert-manager.io/issuer-kind":  "NstanceClusterIssuer",
			"cert-manager.io/issuer-group": v1alpha1.GroupVersion.Group,
		}},
		Spec: networkingv1.IngressSpec{
			Rules: []networkingv1.IngressRule{{Host: "shop.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &pathType, Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: "shop", Port: networkingv1.ServiceBackendPort{Number: 443}},
				}}},
			}}}},
			TLS: []networkingv1.IngressTLS{{Hosts: []string{"shop.example.com"}, SecretName: "shop-tls"}},
		},
	})
	verifyChain(t, waitReady(t, ns, "shop-tls"), "shop.example.com")
}

// TestBuiltInIssuersControl is the control: cert-manager's own SelfSigned
// ClusterIssuer -> CA Certificate -> CA Issuer -> leaf, with no
// nstance-issuer involved. If this fails, the stack (not the product) is
// broken.
func TestBuiltInIssuersControl(t *testing.T) {
	ns := namespace(t)
	create(t, &cmapi.ClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: "selfsigned"},
		Spec:       cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{SelfSigned: &cmapi.SelfSignedIssuer{}}},
	})
	create(t, &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "root"},
		Spec: cmapi.CertificateSpec{
			IsCA: true, CommonName: "control root", SecretName: "root-ca",
			PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256},
			IssuerRef:  cmmeta.IssuerReference{Kind: cmapi.ClusterIssuerKind, Name: "selfsigned"},
		},
	})
	waitReady(t, ns, "root")
	create(t, &cmapi.Issuer{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ca"},
		Spec:       cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{CA: &cmapi.CAIssuer{SecretName: "root-ca"}}},
	})
	create(t, &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "leaf"},
		Spec: cmapi.CertificateSpec{
			DNSNames: []string{"leaf.example.com"}, SecretName: "leaf-tls",
			IssuerRef: cmmeta.IssuerReference{Kind: cmapi.IssuerKind, Name: "ca"},
		},
	})
	leaf := verifyChain(t, waitReady(t, ns, "leaf"), "leaf.example.com")
	if leaf.Issuer.CommonName != "control root" {
		t.Errorf("issuer = %q, want the SelfSigned root", leaf.Issuer.CommonName)
	}
}
