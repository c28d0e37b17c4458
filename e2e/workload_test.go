//go:build e2e

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

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
)

// serveSecretOverTLS mounts the Secret into a temporary folder as the
// kubelet would (secretVolume) and serves HTTPS on loopback with its
// tls.crt/tls.key, read again on every handshake, until the spec ends. It
// returns the server's address.
func serveSecretOverTLS(ns, secret string) string {
	dir := GinkgoT().TempDir()
	volumeCtx, stop := context.WithCancel(context.Background())
	DeferCleanup(stop)
	secretVolume(volumeCtx, ns, secret, dir)
	eventually("the Secret volume", func(context.Context) error { _, err := os.Stat(filepath.Join(dir, "tls.key")); return err })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	rc := &reloadingCertificate{dir: dir}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }),
		TLSConfig:         &tls.Config{GetCertificate: rc.get, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	DeferCleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// secretVolume mirrors a Secret into a directory the way the kubelet
// updates a mounted Secret volume: each key a file, replaced atomically.
func secretVolume(ctx context.Context, ns, name, dir string) {
	go func() {
		tick := time.NewTicker(framework.Interval)
		defer tick.Stop()
		var last string
		for {
			s := &corev1.Secret{}
			if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s); err == nil && s.ResourceVersion != last {
				for k, v := range s.Data {
					tmp := filepath.Join(dir, "."+k+".tmp")
					if os.WriteFile(tmp, v, 0o600) == nil {
						_ = os.Rename(tmp, filepath.Join(dir, k))
					}
				}
				last = s.ResourceVersion
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

// reloadingCertificate is what a NodePort workload that terminates TLS
// itself does: it reads tls.crt/tls.key from its mounted Secret and loads
// them again when they change.
type reloadingCertificate struct {
	dir     string
	mu      sync.Mutex
	certPEM []byte
	cert    *tls.Certificate
}

func (r *reloadingCertificate) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(filepath.Join(r.dir, "tls.crt"))
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cert != nil && bytes.Equal(certPEM, r.certPEM) {
		return r.cert, nil
	}
	keyPEM, err := os.ReadFile(filepath.Join(r.dir, "tls.key"))
	if err != nil {
		return nil, err
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return r.cert, nil // mid-update: keep serving the previous pair
	}
	r.cert, r.certPEM = &c, certPEM
	return r.cert, nil
}

// handshake connects trusting only caPEM and returns the served leaf.
func handshake(addr, serverName string, caPEM []byte) (*x509.Certificate, error) {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("no CA in ca.crt")
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{RootCAs: roots, ServerName: serverName, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close() }()
	return conn.ConnectionState().PeerCertificates[0], nil
}

var _ = Describe("A workload serving TLS from the Certificate's Secret (NodePort style)", func() {
	It("serves a certificate clients trusting only ca.crt accept, and the renewed one after cert-manager renews it", func(ctx SpecContext) {
		ns := newNamespace()
		createCASecret(ns, "app-ca", newCA("App Root CA"))
		issuer := &v1alpha1.NstanceIssuer{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
			Spec: v1alpha1.IssuerSpec{CA: v1alpha1.CASpec{SecretName: "app-ca"}, DefaultTemplate: "app",
				Templates: []v1alpha1.CertificateTemplate{{Name: "app", Kind: v1alpha1.ServerKind, AllowedDNSNames: []string{"*.{{ .Request.Namespace }}.svc"}}}},
		}
		Expect(k8s.Create(ctx, issuer)).To(Succeed())
		issuerReady(issuer)

		host := "app." + ns + ".svc"
		crt := certificate(ns, "app", nstanceIssuerRef("app"), host)
		// The shortest lifetime cert-manager's webhook accepts, renewed a
		// minute after issuance.
		crt.Spec.Duration = &metav1.Duration{Duration: time.Hour}
		crt.Spec.RenewBefore = &metav1.Duration{Duration: 59 * time.Minute}
		Expect(k8s.Create(ctx, crt)).To(Succeed())
		certificateReady(ns, "app")
		first, secret := issuedCertificate(ns, "app-tls", x509.ExtKeyUsageServerAuth)
		caPEM := secret.Data["ca.crt"]

		By("starting an HTTPS server on the mounted Secret")
		addr := serveSecretOverTLS(ns, "app-tls")

		served, err := handshake(addr, host, caPEM)
		Expect(err).NotTo(HaveOccurred())
		Expect(served.SerialNumber).To(Equal(first.SerialNumber))

		By("waiting for cert-manager to renew it")
		// Renewal is due a minute after issuance: wait longer than framework.Timeout.
		Expect(framework.EventuallyWithin(ctx, 3*time.Minute, "revision 2", expectations(func() {
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(crt), crt)).To(Succeed())
			Expect(crt.Status.Revision).NotTo(BeNil())
			Expect(*crt.Status.Revision).To(BeNumerically(">=", 2))
		}))).To(Succeed())
		certificateReady(ns, "app")
		renewed, _ := issuedCertificate(ns, "app-tls", x509.ExtKeyUsageServerAuth)
		Expect(renewed.SerialNumber).NotTo(Equal(first.SerialNumber))
		Expect(time.Now()).To(BeTemporally("<", renewed.NotAfter))

		By("seeing the server present the renewed certificate")
		eventually("the renewed certificate served", expectations(func() {
			served, err := handshake(addr, host, caPEM)
			Expect(err).NotTo(HaveOccurred())
			Expect(served.SerialNumber).To(Equal(renewed.SerialNumber))
		}))
	})

	It("renews at cert-manager's fallback point, without a loop, when the template ttl is below renewBefore", func(ctx SpecContext) {
		ns := newNamespace()
		createCASecret(ns, "ttl-ca", newCA("TTL Root CA"))
		issuer := &v1alpha1.NstanceIssuer{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "short"},
			Spec: v1alpha1.IssuerSpec{CA: v1alpha1.CASpec{SecretName: "ttl-ca"}, DefaultTemplate: "short",
				Templates: []v1alpha1.CertificateTemplate{{Name: "short", TTL: 1, AllowedDNSNames: []string{"*.{{ .Request.Namespace }}.svc"}}}},
		}
		Expect(k8s.Create(ctx, issuer)).To(Succeed())
		issuerReady(issuer)
		crt := certificate(ns, "short", nstanceIssuerRef("short"), "short."+ns+".svc")
		crt.Spec.Duration = &metav1.Duration{Duration: 2 * time.Hour}
		crt.Spec.RenewBefore = &metav1.Duration{Duration: 90 * time.Minute}
		Expect(k8s.Create(ctx, crt)).To(Succeed())
		crt = certificateReady(ns, "short")
		leaf, _ := issuedCertificate(ns, "short-tls", x509.ExtKeyUsageServerAuth)
		lifetime := leaf.NotAfter.Sub(leaf.NotBefore)
		Expect(lifetime).To(BeNumerically("<", 90*time.Minute), "the template ttl (1h) is below renewBefore (90m)")

		Expect(crt.Status.RenewalTime).NotTo(BeNil())
		fallback := leaf.NotAfter.Add(-lifetime / 3)
		Expect(crt.Status.RenewalTime.Time).To(BeTemporally("~", fallback, 2*time.Second), "cert-manager renews at 2/3 of the actual lifetime")
		// Ready can be observed before status.revision is written: wait for
		// it, so that the window below judges re-issues, not that race.
		Expect(framework.Eventually(ctx, "revision recorded", expectations(func() {
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(crt), crt)).To(Succeed())
			Expect(crt.Status.Revision).NotTo(BeNil())
		}))).To(Succeed())
		// A loop would re-issue within seconds: watch a window of 15s.
		Expect(framework.Consistently(ctx, 15*time.Second, "no re-issue loop", expectations(func() {
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(crt), crt)).To(Succeed())
			Expect(crt.Status.Revision).To(HaveValue(Equal(1)), "no re-issue loop")
			list := &cmapi.CertificateRequestList{}
			Expect(k8s.List(ctx, list, client.InNamespace(ns))).To(Succeed())
			Expect(list.Items).To(HaveLen(1))
		}))).To(Succeed())
	})
})
