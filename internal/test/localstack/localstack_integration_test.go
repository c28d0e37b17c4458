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
	"errors"
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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
	"github.com/nstance-dev/nstance-issuer/internal/test/localstack"
)

// stack is started once for the whole test binary: starting kube-apiserver,
// etcd and all controllers costs seconds.
var stack *localstack.Stack

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctrllog.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true)))
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
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

// eventually fails the test unless cond is met within framework.Timeout.
func eventually(t *testing.T, what string, cond framework.Condition) {
	t.Helper()
	if err := framework.Eventually(t.Context(), what, cond); err != nil {
		t.Fatal(err)
	}
}

// waitReady waits for a Certificate to be Ready and returns its leaf,
// verified against the Secret's ca.crt for dnsName.
func waitReady(t *testing.T, ns, name, dnsName string) *x509.Certificate {
	t.Helper()
	crt := &cmapi.Certificate{}
	eventually(t, "Certificate "+ns+"/"+name+" Ready", framework.CertificateReady(stack.Client, client.ObjectKey{Namespace: ns, Name: name}, crt))
	leaf, _, err := framework.IssuedSecret(t.Context(), stack.Client, client.ObjectKey{Namespace: ns, Name: crt.Spec.SecretName}, x509.ExtKeyUsageAny)
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname(dnsName); err != nil {
		t.Fatal(err)
	}
	return leaf
}

// TestManagerIsUp: the stack's nstance-issuer manager reconciles (an
// NstanceClusterIssuer generates its CA in the cluster resource namespace
// and turns Ready). What it then signs, through cert-manager, is the e2e
// suite's to prove.
func TestManagerIsUp(t *testing.T) {
	issuer := &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: "localstack-ca"},
		Spec: v1alpha1.IssuerSpec{
			CA: v1alpha1.CASpec{SecretName: "localstack-ca", Generate: &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "Local CA"}, TTL: 8760}},
		},
	}
	create(t, issuer)
	eventually(t, "NstanceClusterIssuer localstack-ca Ready", framework.IssuerReady(stack.Client, issuer))
	var secret corev1.Secret
	if err := stack.Client.Get(t.Context(), client.ObjectKey{Namespace: localstack.ClusterResourceNamespace, Name: "localstack-ca"}, &secret); err != nil {
		t.Fatalf("the generated CA is not in the cluster resource namespace: %v", err)
	}
}

// caIssuer makes, with cert-manager's built-in issuers only, a SelfSigned
// ClusterIssuer, a root CA Certificate from it and a CA Issuer "ca" on it
// in ns.
func caIssuer(t *testing.T, ns string) {
	t.Helper()
	create(t, &cmapi.ClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: "selfsigned-" + ns},
		Spec:       cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{SelfSigned: &cmapi.SelfSignedIssuer{}}},
	})
	create(t, &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "root"},
		Spec: cmapi.CertificateSpec{
			IsCA: true, CommonName: "control root", SecretName: "root-ca",
			PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256},
			IssuerRef:  cmmeta.IssuerReference{Kind: cmapi.ClusterIssuerKind, Name: "selfsigned-" + ns},
		},
	})
	crt := &cmapi.Certificate{}
	eventually(t, "the root CA Ready", framework.CertificateReady(stack.Client, client.ObjectKey{Namespace: ns, Name: "root"}, crt))
	create(t, &cmapi.Issuer{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ca"},
		Spec:       cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{CA: &cmapi.CAIssuer{SecretName: "root-ca"}}},
	})
}

func leafCertificate(ns, name string) *cmapi.Certificate {
	return &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: cmapi.CertificateSpec{
			DNSNames: []string{name + ".example.com"}, SecretName: name + "-tls",
			IssuerRef: cmmeta.IssuerReference{Kind: cmapi.IssuerKind, Name: "ca"},
		},
	}
}

// TestBuiltInIssuersControl: cert-manager's controllers are up. Its own
// SelfSigned ClusterIssuer -> CA Certificate -> CA Issuer -> leaf, with no
// nstance-issuer involved. If this fails, the stack (not the product) is
// broken.
func TestBuiltInIssuersControl(t *testing.T) {
	ns := namespace(t)
	caIssuer(t, ns)
	create(t, leafCertificate(ns, "leaf"))
	leaf := waitReady(t, ns, "leaf", "leaf.example.com")
	if leaf.Issuer.CommonName != "control root" {
		t.Errorf("issuer = %q, want the SelfSigned root", leaf.Issuer.CommonName)
	}
}

// TestPauseAndResumeACertManagerController: a paused controller leaves its
// work undone for the window watched, and picks it up when resumed, as a
// restarted controller would.
func TestPauseAndResumeACertManagerController(t *testing.T) {
	ns := namespace(t)
	caIssuer(t, ns)
	if err := stack.PauseCertManagerController(localstack.CAIssuerController); err != nil {
		t.Fatal(err)
	}
	resumed := false
	defer func() {
		if !resumed {
			_ = stack.ResumeCertManagerController(context.Background(), localstack.CAIssuerController)
		}
	}()
	if err := stack.PauseCertManagerController(localstack.CAIssuerController); err == nil {
		t.Error("pausing a paused controller succeeded")
	}
	create(t, leafCertificate(ns, "paused"))
	// The control: the Certificate's request exists and is approved, so
	// every controller but the paused one has done its part.
	request := func(ctx context.Context) (*cmapi.CertificateRequest, error) {
		var crs cmapi.CertificateRequestList
		if err := stack.Client.List(ctx, &crs, client.InNamespace(ns)); err != nil {
			return nil, err
		}
		for i := range crs.Items {
			if crs.Items[i].Annotations[cmapi.CertificateNameKey] == "paused" {
				return &crs.Items[i], nil
			}
		}
		return nil, errors.New("no CertificateRequest for Certificate paused yet")
	}
	eventually(t, "an approved CertificateRequest for Certificate paused", func(ctx context.Context) error {
		cr, err := request(ctx)
		if err != nil {
			return err
		}
		for _, c := range cr.Status.Conditions {
			if c.Type == cmapi.CertificateRequestConditionApproved && c.Status == cmmeta.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("request %s not approved yet", cr.Name)
	})
	if err := framework.Consistently(t.Context(), framework.Window, "the paused CA issuer controller signs nothing", func(ctx context.Context) error {
		cr, err := request(ctx)
		if err != nil {
			return err
		}
		if len(cr.Status.Certificate) > 0 || framework.RequestReady(cr) != nil {
			return fmt.Errorf("request %s handled: %+v", cr.Name, framework.RequestReady(cr))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	resumed = true
	if err := stack.ResumeCertManagerController(t.Context(), localstack.CAIssuerController); err != nil {
		t.Fatal(err)
	}
	waitReady(t, ns, "paused", "paused.example.com")
}
