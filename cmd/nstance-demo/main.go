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

// Command nstance-demo runs nstance-issuer's main job on this machine: it
// starts a local control plane (real kube-apiserver + etcd) with the
// nstance-issuer manager and cert-manager's own controllers, applies
// config/samples (issuers, a Certificate, an annotated Ingress), waits for
// cert-manager to get every Certificate signed, signs a Kubernetes CSR,
// prints the certificates, and stays up for kubectl until Ctrl-C.
//
// Logs are errors only; NSTANCE_DEMO_VERBOSE=1 (or a klog level such as 4)
// shows nstance-issuer's and cert-manager's info logs.
package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"go.uber.org/zap/zapcore"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/kubecsr"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
	"github.com/nstance-dev/nstance-issuer/internal/test/localstack"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

// samples are applied in this order: issuers first, then what uses them.
var samples = []string{
	"issuer_v1alpha1_nstanceclusterissuer.yaml",
	"issuer_v1alpha1_nstanceissuer.yaml",
	"certificate.yaml",
	"ingress.yaml",
	"nodeport-app.yaml",
}

func main() {
	setUpLogging(os.Getenv("NSTANCE_DEMO_VERBOSE"))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		if ctx.Err() != nil {
			// Ctrl-C before the stack was up: Start has already stopped
			// whatever it had started.
			fmt.Fprintln(os.Stderr, "==> interrupted:", context.Cause(ctx))
			stop()
			os.Exit(130) //nolint:gocritic // exitAfterDefer: stop() is called just before each os.Exit
		}
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		stop()
		os.Exit(1)
	}
}

// setUpLogging sends controller-runtime's and klog's logs (cert-manager and
// client-go log through klog) to one zap logger on stderr: errors only by
// default, info and klog verbosity `verbose` ("1" means 2, cert-manager's
// info level) when set.
func setUpLogging(verbose string) {
	level := zapcore.ErrorLevel
	if verbose != "" && verbose != "0" {
		v, err := strconv.Atoi(verbose)
		if err != nil || v < 2 {
			v = 2
		}
		// klog checks its own -v, then hands the entry to the logger at
		// logr level V(v), which zap shows at level -v and above.
		fs := flag.NewFlagSet("klog", flag.ContinueOnError)
		klog.InitFlags(fs)
		_ = fs.Set("v", strconv.Itoa(v))
		level = zapcore.Level(-v)
	}
	logger := zap.New(zap.WriteTo(os.Stderr), zap.ConsoleEncoder(), zap.Level(level))
	ctrllog.SetLogger(logger)
	klog.SetLogger(logger)
}

func run(ctx context.Context) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(root, "bin", "demo", "kubeconfig")
	step("starting kube-apiserver, etcd, nstance-issuer and cert-manager's controllers")
	began := time.Now()
	stack, err := localstack.Start(ctx, localstack.Options{RepoRoot: root, KubeconfigPath: kubeconfig, CertManager: true})
	if err != nil {
		return err
	}
	defer func() {
		step("stopping cert-manager, nstance-issuer, kube-apiserver and etcd")
		if err := stack.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop:", err)
		}
	}()
	fmt.Printf("    up in %s; cert-manager controllers: %s\n", time.Since(began).Round(100*time.Millisecond), strings.Join(localstack.CertManagerControllers, ", "))
	c := stack.Client

	for _, name := range samples {
		path := filepath.Join("config", "samples", name)
		step("applying " + path)
		if err := apply(ctx, c, path); err != nil {
			return err
		}
	}

	cluster := &v1alpha1.NstanceClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "cluster-ca"}}
	if err := waitIssuerReady(ctx, c, "NstanceClusterIssuer cluster-ca", cluster, &cluster.Status); err != nil {
		return err
	}
	fmt.Printf("\nNstanceClusterIssuer cluster-ca is Ready; it generated its CA in Secret %s/cluster-ca:\n  subject     %s\n  notAfter    %s\n  sha256      %s\n",
		localstack.ClusterResourceNamespace, cluster.Status.CA.Subject, cluster.Status.CA.NotAfter.UTC().Format(time.RFC3339), cluster.Status.CA.SHA256Fingerprint)
	team := &v1alpha1.NstanceIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "team-ca"}}
	if err := waitIssuerReady(ctx, c, "NstanceIssuer default/team-ca", team, &team.Status); err != nil {
		return err
	}
	fmt.Printf("\nNstanceIssuer default/team-ca is Ready; it generated its CA in Secret default/team-ca:\n  subject     %s\n  notAfter    %s\n",
		team.Status.CA.Subject, team.Status.CA.NotAfter.UTC().Format(time.RFC3339))

	// A Certificate for the namespaced issuer, so both issuer kinds sign.
	step("creating Certificate default/orders for NstanceIssuer team-ca (template service)")
	if err := c.Create(ctx, &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "orders"},
		Spec: cmapi.CertificateSpec{
			SecretName: "orders-tls",
			DNSNames:   []string{"orders.default.svc"},
			Duration:   &metav1.Duration{Duration: 720 * time.Hour},
			PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256},
			IssuerRef:  cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "NstanceIssuer", Name: "team-ca"},
		},
	}); err != nil {
		return err
	}

	step("waiting for cert-manager: Certificate -> CertificateRequest -> approver -> nstance-issuer -> Secret")
	// shop-tls is the Certificate cert-manager's ingress-shim makes for the
	// Ingress default/shop, named after its TLS secretName.
	certs := []string{"web", "shop-tls", "echo", "orders"}
	for _, name := range certs {
		crt := &cmapi.Certificate{}
		if err := framework.Eventually(ctx, "Certificate default/"+name+" Ready", framework.CertificateReady(c, client.ObjectKey{Namespace: "default", Name: name}, crt)); err != nil {
			return err
		}
	}
	for _, name := range certs {
		if err := printCertificate(ctx, c, name); err != nil {
			return err
		}
	}

	step("Kubernetes CSR flow: create a CSR for signer templates.nstanceclusterissuers.issuer.nstance.dev/cluster-ca.kubelet-server (the signer name selects the template), approve it like `kubectl certificate approve`")
	csrCert, err := kubernetesCSR(ctx, c)
	if err != nil {
		return err
	}
	printCert("CertificateSigningRequest demo-kubelet (template kubelet-server)", csrCert, "")

	var crs cmapi.CertificateRequestList
	if err := c.List(ctx, &crs, client.InNamespace("default")); err != nil {
		return err
	}
	crName := "<name>"
	for _, cr := range crs.Items {
		if cr.Annotations[cmapi.CertificateNameKey] == "web" {
			crName = cr.Name
		}
	}

	fmt.Printf(`
The stack is up: kube-apiserver, etcd, nstance-issuer and cert-manager's
controllers (certificates, approver, ingress-shim, SelfSigned and CA issuers).
Explore it with kubectl:

  export KUBECONFIG=%s
  kubectl get nstanceclusterissuers,nstanceissuers -A -o wide
  kubectl describe nstanceclusterissuer cluster-ca
  kubectl get certificates -A                      # web, shop-tls (from the Ingress), orders
  kubectl describe certificate -n default web
  kubectl get certificaterequests -A -o wide
  kubectl describe certificaterequest -n default %s   # approved by cert-manager; the audit Event names serial, template, NotAfter, issuer
  kubectl describe ingress -n default shop         # the ingress-shim's "CreateCertificate" Event
  kubectl get secret -n default web-tls -o jsonpath='{.data.tls\.crt}' | base64 -d | openssl x509 -noout -text
  kubectl get csr
  kubectl get secret -n %s cluster-ca -o jsonpath='{.data.ca\.crt}' | base64 -d

Try your own: copy config/samples/certificate.yaml, change the name and dnsNames,
and kubectl apply it; a dnsName outside *.example.com fails with a message naming it.
Logs are errors only; NSTANCE_DEMO_VERBOSE=1 make demo shows the controllers' logs.
Press Ctrl-C to stop.
`, kubeconfig, crName, localstack.ClusterResourceNamespace)
	<-ctx.Done()
	return nil
}

func step(msg string) { fmt.Printf("==> %s\n", msg) }

// apply creates every object of a YAML file.
func apply(ctx context.Context, c client.Client, path string) error {
	objs, err := framework.ReadManifests(path)
	if err != nil {
		return err
	}
	for _, obj := range objs {
		if err := c.Create(ctx, obj); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}

// waitIssuerReady waits for an issuer to be Ready with its CA in status.
func waitIssuerReady(ctx context.Context, c client.Client, what string, obj client.Object, status *v1alpha1.IssuerStatus) error {
	ready := framework.IssuerReady(c, obj)
	return framework.Eventually(ctx, what+" Ready", func(ctx context.Context) error {
		if err := ready(ctx); err != nil {
			return err
		}
		if status.CA == nil {
			return errors.New("no status.ca yet")
		}
		return nil
	})
}

func printCertificate(ctx context.Context, c client.Client, name string) error {
	cert := &cmapi.Certificate{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, cert); err != nil {
		return err
	}
	secret := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: cert.Spec.SecretName}, secret); err != nil {
		return err
	}
	title := fmt.Sprintf("Certificate default/%s -> Secret %s (%s %s", name, cert.Spec.SecretName, cert.Spec.IssuerRef.Kind, cert.Spec.IssuerRef.Name)
	if t := cert.Annotations[v1alpha1.TemplateAnnotation]; t != "" {
		title += ", template " + t
	} else {
		title += ", issuer's defaultTemplate"
	}
	if owner := metav1.GetControllerOf(cert); owner != nil {
		title += ", made by the ingress-shim for " + owner.Kind + " " + owner.Name
	}
	printCert(title+")", secret.Data[corev1.TLSCertKey], chainCheck(secret))
	return nil
}

// chainCheck verifies tls.crt against ca.crt the way a client trusting
// ca.crt would.
func chainCheck(secret *corev1.Secret) string {
	if _, err := testpki.VerifyChain(secret.Data[corev1.TLSCertKey], secret.Data["ca.crt"], x509.ExtKeyUsageAny); err != nil {
		return "does not verify: " + err.Error()
	}
	return "tls.crt verifies against ca.crt"
}

func kubernetesCSR(ctx context.Context, c client.Client) ([]byte, error) {
	req, err := testpki.CSR("node-1", "node-1.nodes.demo.internal")
	if err != nil {
		return nil, err
	}
	seconds := int32(24 * 3600)
	csr := &certificatesv1.CertificateSigningRequest{
		// The signer name selects the template: it is immutable, so the
		// template is the one `kubectl certificate approve` approved.
		ObjectMeta: metav1.ObjectMeta{Name: "demo-kubelet"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request: req, SignerName: kubecsr.TemplatedSignerName("cluster-ca", "kubelet-server"), ExpirationSeconds: &seconds,
			Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth},
		},
	}
	if err := c.Create(ctx, csr); err != nil {
		return nil, err
	}
	if err := framework.ApproveCSR(ctx, c, csr); err != nil {
		return nil, err
	}
	err = framework.Eventually(ctx, "the CSR's status.certificate", framework.CSRSigned(c, csr))
	return csr.Status.Certificate, err
}

func printCert(title string, chain []byte, check string) {
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
	sans := slices.Clone(cert.DNSNames)
	for _, ip := range cert.IPAddresses {
		sans = append(sans, ip.String())
	}
	for _, u := range cert.URIs {
		sans = append(sans, u.String())
	}
	fmt.Printf("\n%s\n  subject     %s\n  SANs        %s\n  valid       %s -> %s (%s)\n  issuer      %s\n  serial      %X\n",
		title, cert.Subject, strings.Join(sans, ", "),
		cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339), cert.NotAfter.Sub(cert.NotBefore).Round(time.Hour),
		cert.Issuer, cert.SerialNumber)
	if check != "" {
		fmt.Printf("  chain       %s\n", check)
	}
}
