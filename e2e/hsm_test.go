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
	"os"
	"path/filepath"

	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/app"
	"github.com/nstance-dev/nstance-issuer/internal/keys"
	"github.com/nstance-dev/nstance-issuer/internal/test/keystest"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

// pkcs11Token reports whether the nstance-issuer under test has a PKCS#11
// token labelled "nstance" (docs/samples/hsm-cluster-issuer.yaml's): on
// the local stack, one this suite initialises when built with PKCS#11; on
// a cluster (KUBECONFIG), when NSTANCE_E2E_PKCS11 is set, for a
// nstance-issuer running the -pkcs11 image with that token's module and
// PIN file (the spec is skipped otherwise).
var pkcs11Token = os.Getenv("NSTANCE_E2E_PKCS11") != ""

// softHSM prepares, for the local stack, the SoftHSM2 token "nstance" and
// the manager's key policy to use it: the PKCS#11 module and the
// controller's PIN file, as docs/keys.md's try-out does. Nothing in a
// binary built without PKCS#11 (make e2e builds with it).
func softHSM() func(*app.Options) {
	if !keys.PKCS11Compiled() {
		return nil
	}
	dir, err := os.MkdirTemp("", "nstance-e2e-hsm-")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { _ = os.RemoveAll(dir) })
	hsm, err := keystest.NewSoftHSM(dir)
	Expect(err).NotTo(HaveOccurred())
	Expect(hsm.InitToken("nstance", "1234")).To(Succeed())
	// SoftHSM reads its configuration when the manager loads the module.
	Expect(hsm.Setenv()).To(Succeed())
	pin := filepath.Join(dir, "pin")
	Expect(os.WriteFile(pin, []byte("1234"), 0o600)).To(Succeed())
	pkcs11Token = true
	return func(o *app.Options) {
		o.Controller.KeyPolicy.PKCS11Modules = []string{hsm.Module}
		o.Controller.KeyPolicy.PKCS11PINFile = pin
	}
}

// docs/keys.md's HSM-backed cluster issuer, applied as it is.
var _ = Describe("a CA key in an HSM", func() {
	It("issues a Certificate through the SoftHSM-backed cluster issuer of docs/keys.md, whose key never enters the cluster", func(ctx SpecContext) {
		if !pkcs11Token {
			Skip("no PKCS#11 token: on the local stack build with -tags pkcs11 (make e2e does); on a cluster set NSTANCE_E2E_PKCS11 for a -pkcs11 nstance-issuer with a token labelled nstance")
		}
		ensureNamespace(clusterResourceNamespace)
		applyRepoFile("docs/samples/hsm-cluster-issuer.yaml")
		iss := &v1alpha1.NstanceClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "hsm"}}
		DeferCleanup(func() { _ = k8s.Delete(context.Background(), iss) })
		issuerReady(iss)
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(iss), iss)).To(Succeed())
		Expect(iss.Status.CA).NotTo(BeNil())
		Expect(iss.Status.CA.Key).NotTo(BeNil(), "status.ca.key names the key")
		Expect(iss.Status.CA.Key.Backend).To(Equal("pkcs11"))

		var caSecret corev1.Secret
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: clusterResourceNamespace, Name: "hsm-ca"}, &caSecret)).To(Succeed())
		Expect(caSecret.Data).NotTo(HaveKey("tls.key"), "the CA key left the HSM")
		Expect(string(caSecret.Data["key-uri"])).To(HavePrefix("pkcs11:token=nstance;id="))
		Expect(string(caSecret.Data["key-uri"])).To(Equal(iss.Status.CA.Key.URI))

		ns := newNamespace()
		crt := certificate(ns, "hsm", cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "NstanceClusterIssuer", Name: "hsm"}, "hsm.example.com")
		Expect(k8s.Create(ctx, crt)).To(Succeed())
		certificateReady(ns, "hsm")
		leaf, secret := issuedCertificate(ns, "hsm-tls", x509.ExtKeyUsageServerAuth)
		ca, err := testpki.ParseChain(caSecret.Data["tls.crt"])
		Expect(err).NotTo(HaveOccurred())
		Expect(ca[0].Subject.CommonName).To(Equal("HSM CA"))
		Expect(ca[0].PublicKeyAlgorithm).To(Equal(x509.ECDSA))
		Expect(leaf.CheckSignatureFrom(ca[0])).To(Succeed(), "the certificate is not signed by the HSM's CA")
		Expect(secret.Data["ca.crt"]).To(Equal(caSecret.Data["ca.crt"]))
	})
})
