// Command nstance-demo runs nstance-issuer's main job on this machine: it
// starts a local control plane (real kube-apiserver + etcd) with the
// nstance-issuer manager, applies the sample NstanceClusterIssuer, has it
// sign a Kubernetes CSR and a cert-manager CertificateRequest, prints the
// certificates, and stays up for kubectl until Ctrl-C.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"go.uber.org/zap/zapcore"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/localstack"
)

func main() {
	ctrllog.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(root, "bin", "demo", "kubeconfig")
	step("starting kube-apiserver, etcd and nstance-issuer")
	stack, err := localstack.Start(ctx, localstack.Options{RepoRoot: root, KubeconfigPath: kubeconfig})
	if err != nil {
		return err
	}
	defer func() {
		step("stopping")
		if err := stack.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop:", err)
		}
	}()
	c := stack.Client

	sample := filepath.Join("config", "samples", "issuer_v1alpha1_nstanceclusterissuer.yaml")
	step("applying " + sample)
	if err := apply(ctx, c, sample); err != nil {
		return err
	}
	issuer := &v1alpha1.NstanceClusterIssuer{}
	if err := waitFor(ctx, "NstanceClusterIssuer cluster-ca Ready", func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKey{Name: "cluster-ca"}, issuer); err != nil {
			return false, err
		}
		for _, cond := range issuer.Status.Conditions {
			if cond.Type == "Ready" && cond.Status == metav1.ConditionTrue && cond.ObservedGeneration == issuer.Generation && issuer.Status.CA != nil {
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		return err
	}
	fmt.Printf("\nNstanceClusterIssuer cluster-ca is Ready; it generated its CA in Secret %s/cluster-ca:\n  subject     %s\n  notAfter    %s\n  sha256      %s\n",
		localstack.ClusterResourceNamespace, issuer.Status.CA.Subject, issuer.Status.CA.NotAfter.UTC().Format(time.RFC3339), issuer.Status.CA.SHA256Fingerprint)

	step("Kubernetes CSR flow: create a CSR for signer nstanceclusterissuers.issuer.nstance.dev/cluster-ca, approve it like `kubectl certificate approve`")
	csrCert, err := kubernetesCSR(ctx, c)
	if err != nil {
		return err
	}
	printCert("CertificateSigningRequest demo-kubelet (template kubelet-server)", csrCert)

	step("cert-manager CertificateRequest flow (template web), approved by the demo")
	crCert, err := certificateRequest(ctx, c)
	if err != nil {
		return err
	}
	printCert("CertificateRequest default/demo-web (template web)", crCert)

	fmt.Printf(`
The stack is up. Explore it with kubectl:

  export KUBECONFIG=%s
  kubectl get nstanceclusterissuers -o wide
  kubectl describe nstanceclusterissuer cluster-ca
  kubectl get csr
  kubectl get certificaterequests -n default
  kubectl describe certificaterequest -n default demo-web      # the audit Event names serial, template, NotAfter, issuer
  kubectl get secret -n %s cluster-ca -o jsonpath='{.data.ca\.crt}' | base64 -d

This local stack runs the API server and nstance-issuer only; the cert-manager
controllers (Certificate, Ingress) join it in the end-to-end stack.
Press Ctrl-C to stop.
`, kubeconfig, localstack.ClusterResourceNamespace)
	<-ctx.Done()
	return nil
}

func step(msg string) { fmt.Printf("==> %s\n", msg) }

// apply creates every object of a YAML file.
func apply(ctx context.Context, c client.Client, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for _, doc := range bytes.Split(data, []byte("\n---")) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := c.Create(ctx, obj); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}

func waitFor(ctx context.Context, what string, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(context.Context) (bool, error) { return cond() }); err != nil {
		return fmt.Errorf("waiting for %s: %w", what, err)
	}
	return nil
}

func newCSR(cn string, dns ...string) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: dns}, key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

func kubernetesCSR(ctx context.Context, c client.Client) ([]byte, error) {
	req, err := newCSR("node-1", "node-1.example.internal")
	if err != nil {
		return nil, err
	}
	seconds := int32(24 * 3600)
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "demo-kubelet", Annotations: map[string]string{v1alpha1.TemplateAnnotation: "kubelet-server"}},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request: req, SignerName: "nstanceclusterissuers.issuer.nstance.dev/cluster-ca", ExpirationSeconds: &seconds,
			Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth},
		},
	}
	if err := c.Create(ctx, csr); err != nil {
		return nil, err
	}
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "KubectlApprove",
		Message: "This CSR was approved by the demo.", LastUpdateTime: metav1.Now(),
	})
	if err := c.SubResource("approval").Update(ctx, csr); err != nil {
		return nil, fmt.Errorf("approving the CSR: %w", err)
	}
	err = waitFor(ctx, "the CSR's status.certificate", func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(csr), csr); err != nil {
			return false, err
		}
		return len(csr.Status.Certificate) > 0, nil
	})
	return csr.Status.Certificate, err
}

func certificateRequest(ctx context.Context, c client.Client) ([]byte, error) {
	req, err := newCSR("www.example.com", "www.example.com")
	if err != nil {
		return nil, err
	}
	cr := &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "demo-web", Annotations: map[string]string{v1alpha1.TemplateAnnotation: "web"}},
		Spec: cmapi.CertificateRequestSpec{
			Request:   req,
			Duration:  &metav1.Duration{Duration: 30 * 24 * time.Hour},
			IssuerRef: cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "NstanceClusterIssuer", Name: "cluster-ca"},
		},
	}
	if err := c.Create(ctx, cr); err != nil {
		return nil, err
	}
	now := metav1.Now()
	cr.Status.Conditions = append(cr.Status.Conditions, cmapi.CertificateRequestCondition{
		Type: cmapi.CertificateRequestConditionApproved, Status: cmmeta.ConditionTrue, Reason: "DemoApproved",
		Message: "approved by the demo", LastTransitionTime: &now,
	})
	if err := c.Status().Update(ctx, cr); err != nil {
		return nil, fmt.Errorf("approving the CertificateRequest: %w", err)
	}
	err = waitFor(ctx, "the CertificateRequest's certificate", func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(cr), cr); err != nil {
			return false, err
		}
		for _, cond := range cr.Status.Conditions {
			if cond.Type == cmapi.CertificateRequestConditionReady && cond.Reason == cmapi.CertificateRequestReasonFailed {
				return false, errors.New(cond.Message)
			}
		}
		return len(cr.Status.Certificate) > 0, nil
	})
	return cr.Status.Certificate, err
}

func printCert(title string, chain []byte) {
	block, _ := pem.Decode(chain)
	if block == nil {
		fmt.Printf("\n%s: no certificate\n", title)
		return
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		fmt.Printf("\n%s: %v\n", title, err)
		return
	}
	var ips []string
	for _, ip := range cert.IPAddresses {
		ips = append(ips, ip.String())
	}
	fmt.Printf("\n%s\n  subject     %s\n  DNS SANs    %s\n  IP SANs     %s\n  valid       %s -> %s\n  issuer      %s\n  serial      %X\n",
		title, cert.Subject, strings.Join(cert.DNSNames, ", "), strings.Join(ips, ", "),
		cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339), cert.Issuer, cert.SerialNumber)
}
