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
	"crypto/x509"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// The README's first issuer and Certificate (docs/samples/first-*.yaml,
// shown verbatim there: internal/test/install checks it) work as the README
// says, applied as they are.
var _ = Describe("The README's first issuer and Certificate", func() {
	It("issue a server certificate for hello.example.com from a CA the issuer made", func() {
		ensureNamespace(clusterResourceNamespace)
		ensureNamespace("default")
		applyRepoFile("docs/samples/first-issuer.yaml")
		issuerReady(&v1alpha1.NstanceClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "first"}})
		applyRepoFile("docs/samples/first-certificate.yaml")
		certificateReady("default", "hello")
		leaf, secret := issuedCertificate("default", "hello-tls", x509.ExtKeyUsageServerAuth)
		Expect(leaf.DNSNames).To(Equal([]string{"hello.example.com"}))
		Expect(secret.Data).To(HaveKey("tls.key"))
		ca, _ := issuedCertificate(clusterResourceNamespace, "first-ca", x509.ExtKeyUsageAny)
		Expect(ca.IsCA).To(BeTrue())
		Expect(ca.Subject.CommonName).To(Equal("First CA"))
		Expect(leaf.CheckSignatureFrom(ca)).To(Succeed())
	})
})
