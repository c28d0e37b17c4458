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
	"context"
	"crypto/x509"
	"fmt"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

// trustingClient handshakes in a loop, reading its trust only from the
// published ConfigMap bundle before each handshake, as a workload with
// the ConfigMap mounted does; it counts successes and keeps every failure.
type trustingClient struct {
	mu        sync.Mutex
	ok        int
	failures  []string
	lastRoots int
}

func (c *trustingClient) run(ctx context.Context, ns, bundle, addr, host string) {
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			cm := &corev1.ConfigMap{}
			err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: bundle}, cm)
			if err == nil {
				_, err = handshake(addr, host, []byte(cm.Data["ca.crt"]))
			}
			roots, _ := testpki.ParseChain([]byte(cm.Data["ca.crt"]))
			c.mu.Lock()
			if ctx.Err() == nil {
				if err != nil {
					c.failures = append(c.failures, err.Error())
				} else {
					c.ok++
					c.lastRoots = len(roots)
				}
			}
			c.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

func (c *trustingClient) counts() (int, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ok, append([]string(nil), c.failures...)
}

var _ = Describe("A CA rotated with rotate-now", func() {
	It("keeps a client that trusts only the published bundle handshaking with a server renewed across the rotation", func(ctx SpecContext) {
		ns := newNamespace()
		issuer := &v1alpha1.NstanceIssuer{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "rot"},
			Spec: v1alpha1.IssuerSpec{
				CA: v1alpha1.CASpec{
					SecretName:  "rot-ca",
					Generate:    &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "Rotating e2e CA"}, TTL: 24 * 30},
					Rotation:    &v1alpha1.CARotation{PropagationDelay: &metav1.Duration{Duration: 5 * time.Second}},
					TrustBundle: &v1alpha1.TrustBundle{ConfigMap: &v1alpha1.ConfigMapBundle{Name: "rot-trust"}},
				},
				DefaultTemplate: "app",
				Templates: []v1alpha1.CertificateTemplate{{Name: "app", Kind: v1alpha1.ServerKind, TTL: 1,
					AllowedDNSNames: []string{"*.{{ .Request.Namespace }}.svc"}}},
			},
		}
		Expect(k8s.Create(ctx, issuer)).To(Succeed())
		issuerReady(issuer)

		host := "app." + ns + ".svc"
		crt := certificate(ns, "app", nstanceIssuerRef("rot"), host)
		crt.Spec.Duration = &metav1.Duration{Duration: time.Hour}
		Expect(k8s.Create(ctx, crt)).To(Succeed())
		certificateReady(ns, "app")
		first, _ := issuedCertificate(ns, "app-tls", x509.ExtKeyUsageServerAuth)
		oldCA := parseFirst(getSecretData(ctx, ns, "rot-ca")["tls.crt"])
		Expect(first.CheckSignatureFrom(oldCA)).To(Succeed())

		By("serving the Certificate's Secret and handshaking in a loop with trust read only from the ConfigMap bundle")
		addr := serveSecretOverTLS(ns, "app-tls")
		loopCtx, stop := context.WithCancel(context.Background())
		DeferCleanup(stop)
		tc := &trustingClient{}
		tc.run(loopCtx, ns, "rot-trust", addr, host)
		eventually("first handshakes", func(context.Context) error {
			if ok, _ := tc.counts(); ok < 3 {
				return fmt.Errorf("%d handshakes", ok)
			}
			return nil
		})

		By("rotating now")
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"e2e-1"}}}`, v1alpha1.RotateNowAnnotation)
		Expect(k8s.Patch(ctx, issuer, client.RawPatch("application/merge-patch+json", []byte(patch)))).To(Succeed())
		var gens []v1alpha1.CAGeneration
		eventually("the next CA signs, the old one is retiring", expectations(func() {
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(issuer), issuer)).To(Succeed())
			Expect(issuer.Status.Rotation).NotTo(BeNil())
			Expect(issuer.Status.Rotation.Phase).To(Equal(v1alpha1.CARotationRetiring))
			gens = issuer.Status.Rotation.Generations
			Expect(gens).To(HaveLen(2))
		}))
		newCA := parseFirst(getSecretData(ctx, ns, "rot-ca")["tls.crt"])
		Expect(pki.Fingerprint(newCA)).To(Equal(gens[0].SHA256Fingerprint))
		Expect(gens[1].SHA256Fingerprint).To(Equal(pki.Fingerprint(oldCA)))
		// The old root is kept at least as long as the leaf it signed lives.
		Expect(gens[1].RetiringUntil).NotTo(BeNil())
		Expect(gens[1].RetiringUntil.Time).To(BeTemporally(">=", first.NotAfter))

		By("the controller re-issuing the Certificate the old CA signed, the way `cmctl renew` does (the Issuing condition)")
		eventually("revision 2", expectations(func() {
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(crt), crt)).To(Succeed())
			Expect(crt.Status.Revision).NotTo(BeNil())
			Expect(*crt.Status.Revision).To(BeNumerically(">=", 2))
		}))
		certificateReady(ns, "app")
		renewed, _ := issuedCertificate(ns, "app-tls", x509.ExtKeyUsageServerAuth)
		Expect(renewed.CheckSignatureFrom(newCA)).To(Succeed(), "the renewed certificate is signed by the new CA")
		eventually("status.rotation.reissue completed", expectations(func() {
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(issuer), issuer)).To(Succeed())
			Expect(issuer.Status.Rotation).NotTo(BeNil())
			r := issuer.Status.Rotation.Reissue
			Expect(r).NotTo(BeNil())
			Expect(r.Token).To(Equal("e2e-1"))
			Expect(r.CompletedAt).NotTo(BeNil())
			Expect(r.Total).To(BeEquivalentTo(1))
			Expect(r.Reissued).To(BeEquivalentTo(1))
			Expect(r.Triggered).To(BeEquivalentTo(1))
		}))
		eventually("the server presents the renewed certificate", expectations(func() {
			cm := &corev1.ConfigMap{}
			Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "rot-trust"}, cm)).To(Succeed())
			served, err := handshake(addr, host, []byte(cm.Data["ca.crt"]))
			Expect(err).NotTo(HaveOccurred())
			Expect(served.SerialNumber).To(Equal(renewed.SerialNumber))
		}))

		By("dropping the old root once its last certificate has expired")
		// Certificates live at least an hour (cert-manager's minimum), so
		// the test moves the expiry the controller recorded in the CA
		// Secret into the past rather than wait.
		Expect(framework.ExpireRetired(ctx, k8s, client.ObjectKey{Namespace: ns, Name: "rot-ca"}, time.Now().Add(-time.Second))).To(Succeed())
		Expect(k8s.Patch(ctx, issuer, client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"annotations":{"e2e-touch":"1"}}}`)))).To(Succeed())
		eventually("the bundle holds the new root only", expectations(func() {
			cm := &corev1.ConfigMap{}
			Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "rot-trust"}, cm)).To(Succeed())
			roots, err := testpki.ParseChain([]byte(cm.Data["ca.crt"]))
			Expect(err).NotTo(HaveOccurred())
			Expect(roots).To(HaveLen(1))
			Expect(pki.Fingerprint(roots[0])).To(Equal(pki.Fingerprint(newCA)))
		}))
		// A few more handshakes on the new root alone.
		ok0, _ := tc.counts()
		eventually("handshakes after the old root left", func(context.Context) error {
			if ok, _ := tc.counts(); ok < ok0+3 {
				return fmt.Errorf("%d handshakes", ok-ok0)
			}
			return nil
		})
		stop()
		ok, failures := tc.counts()
		GinkgoWriter.Printf("handshakes across the rotation: %d succeeded, %d failed\n", ok, len(failures))
		Expect(failures).To(BeEmpty(), "a client trusting the published bundle never failed a handshake")
	})
})

func getSecretData(ctx context.Context, ns, name string) map[string][]byte {
	GinkgoHelper()
	s := &corev1.Secret{}
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s)).To(Succeed())
	return s.Data
}

func parseFirst(pemData []byte) *x509.Certificate {
	GinkgoHelper()
	certs, err := testpki.ParseChain(pemData)
	Expect(err).NotTo(HaveOccurred())
	Expect(certs).NotTo(BeEmpty())
	return certs[0]
}
