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
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	experimentalapi "github.com/cert-manager/cert-manager/pkg/apis/experimental/v1alpha1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	cmpki "github.com/cert-manager/cert-manager/pkg/util/pki"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

// The field-by-field differential test of issue #26: every field a
// Certificate can carry is issued through cert-manager's CA issuer and
// through nstance-issuer with a permissive template on the same CA, and
// the two certificates must agree on the subject bytes, the SANs, the key
// usages, the extended key usages, the basic constraints and the name
// constraints, except for the documented differences each row names (the
// docs/what-gets-signed.md table), or nstance-issuer must refuse with a
// message naming the rule. Serials, key identifiers and validity bounds
// are not compared (the duration row checks the lifetimes). The same rows
// run as Kubernetes CertificateSigningRequests built by cert-manager's own
// CSR code, signed by a cluster issuer with the same templates, and are
// compared with the CA issuer's certificate of the row.
//
// Every object is created up front and the rows only wait for their own,
// so the table costs about as long as its slowest issuance.

// documented is a documented difference: why ours differs from the CA
// issuer's in a field, and a check of exactly how.
type documented struct {
	reason string
	holds  func(ours, theirs *x509.Certificate) error
}

// The documented differences (docs/what-gets-signed.md).
var (
	diffKindEKU = documented{"the template's kind sets the extended key usages (peer: server auth and client auth), also when the request asks for none or fewer",
		func(ours, _ *x509.Certificate) error {
			return expect(slices.Equal(ours.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}), "extended key usages %v", ours.ExtKeyUsage)
		}}
	diffDigitalSignature = documented{"a template's certificate always has digital signature, also when the request does not ask for it",
		func(ours, theirs *x509.Certificate) error {
			return expect(theirs.KeyUsage&x509.KeyUsageDigitalSignature == 0 && ours.KeyUsage == theirs.KeyUsage|x509.KeyUsageDigitalSignature, "ours key usage %b, theirs %b", ours.KeyUsage, theirs.KeyUsage)
		}}
	diffCAPathLen = documented{"a CA certificate gets pathLenConstraint 0: a sub-CA signs leaves only",
		func(ours, theirs *x509.Certificate) error {
			return expect(ours.IsCA && theirs.IsCA && ours.MaxPathLen == 0 && ours.MaxPathLenZero && theirs.MaxPathLen == -1, "ours pathLen %d, theirs %d", ours.MaxPathLen, theirs.MaxPathLen)
		}}
	diffCAKeyUsage = documented{"a CA certificate gets cRLSign besides certSign",
		func(ours, theirs *x509.Certificate) error {
			return expect(ours.KeyUsage == theirs.KeyUsage|x509.KeyUsageCRLSign, "ours key usage %b, theirs %b", ours.KeyUsage, theirs.KeyUsage)
		}}
	diffNCCritical = documented{"name constraints are always critical (RFC 5280 §4.2.1.10)",
		func(ours, theirs *x509.Certificate) error {
			return expect(ours.PermittedDNSDomainsCritical && !theirs.PermittedDNSDomainsCritical && constraintsOf(ours) == constraintsOf(theirs),
				"ours %s critical=%v, theirs %s critical=%v", constraintsOf(ours), ours.PermittedDNSDomainsCritical, constraintsOf(theirs), theirs.PermittedDNSDomainsCritical)
		}}
	diffNCFromPolicy = documented{"the name types the request leaves open get the template's constraints",
		func(ours, theirs *x509.Certificate) error {
			return expect(slices.Equal(ours.PermittedDNSDomains, theirs.PermittedDNSDomains) && slices.Equal(ours.PermittedURIDomains, []string{"invalid"}) &&
				slices.Equal(ours.PermittedEmailAddresses, []string{"invalid"}) && len(ours.ExcludedIPRanges) == 2, "ours %s, theirs %s", constraintsOf(ours), constraintsOf(theirs))
		}}
)

func expect(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, args...)
}

// Fields compared, and the templates of the table.
const (
	fieldSubject      = "subject"
	fieldSANs         = "SANs"
	fieldKeyUsage     = "keyUsage"
	fieldExtKeyUsage  = "extKeyUsage"
	fieldBasic        = "basicConstraints"
	fieldConstraints  = "nameConstraints"
	fieldPublicKey    = "publicKey"
	fieldExtensions   = "extensions"
	templatePermitted = "any"
	templateCAAny     = "ca-any"
	templateCATeam    = "ca-team"
)

// diffRow is one row of the table.
type diffRow struct {
	name string
	// spec changes the base Certificate spec (CN and DNS name
	// diff.example.com, usages digital signature, key encipherment, server
	// auth, client auth, ECDSA P-256).
	spec func(*cmapi.CertificateSpec)
	// template is our template for the row (templatePermitted when empty).
	template string
	// differs are the fields where ours differs from the CA issuer's, with
	// the documented difference.
	differs map[string]documented
	// refused is what our refusal message must contain; empty when ours
	// must issue.
	refused string
}

var usagesPeer = []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageKeyEncipherment, cmapi.UsageServerAuth, cmapi.UsageClientAuth}

var caDiffs = map[string]documented{fieldBasic: diffCAPathLen, fieldKeyUsage: diffCAKeyUsage}

// diffRows is the table: one row per field of a Certificate, with one and
// several values where a field takes several.
var diffRows = []diffRow{
	{name: "commonName alone", spec: func(s *cmapi.CertificateSpec) { s.DNSNames = nil; s.CommonName = "cn-only.example.com" }},
	{name: "dnsNames alone, an empty subject", spec: func(s *cmapi.CertificateSpec) {
		s.CommonName = ""
		s.DNSNames = []string{"a.example.com", "b.example.com"}
	}},
	{name: "a wildcard dnsName", spec: func(s *cmapi.CertificateSpec) {
		s.CommonName = "*.wild.example.com"
		s.DNSNames = []string{"*.wild.example.com"}
	}},
	{name: "an apex dnsName with www", spec: func(s *cmapi.CertificateSpec) {
		s.CommonName = "example.com"
		s.DNSNames = []string{"example.com", "www.example.com"}
	}},
	{name: "a long dnsName (63-character labels, 253 characters)", spec: func(s *cmapi.CertificateSpec) {
		l := strings.Repeat("a", 63)
		s.CommonName = ""
		s.DNSNames = []string{l + "." + l + "." + l + "." + strings.Repeat("b", 53) + ".example"}
	}},
	{name: "a dnsName longer than 253 characters", spec: func(s *cmapi.CertificateSpec) {
		l := strings.Repeat("a", 63)
		s.DNSNames = []string{"diff.example.com", l + "." + l + "." + l + "." + strings.Repeat("b", 54) + ".example"}
	}, refused: "is 254 characters long, more than the 253 a DNS name may have"},
	{name: "an IDN dnsName in A-label form", spec: func(s *cmapi.CertificateSpec) {
		s.CommonName = "xn--bcher-kva.example"
		s.DNSNames = []string{"xn--bcher-kva.example"}
	}},
	{name: "a dnsName with a trailing dot", spec: func(s *cmapi.CertificateSpec) { s.DNSNames = []string{"diff.example.com", "trailing.example.com."} },
		refused: `"trailing.example.com." is not a valid DNS name: it ends with a dot`},
	{name: "ipAddresses v4 and v6", spec: func(s *cmapi.CertificateSpec) {
		s.IPAddresses = []string{"10.0.0.1", "192.0.2.7", "2001:db8::1", "fd00::5"}
	}},
	{name: "an ipAddress as the commonName", spec: func(s *cmapi.CertificateSpec) {
		s.CommonName = "10.0.0.9"
		s.DNSNames = nil
		s.IPAddresses = []string{"10.0.0.9"}
	}},
	{name: "uris", spec: func(s *cmapi.CertificateSpec) {
		s.URIs = []string{"spiffe://cluster.local/ns/team-a/sa/web", "https://diff.example.com/path"}
	}},
	{name: "emailAddresses", spec: func(s *cmapi.CertificateSpec) { s.EmailAddresses = []string{"ops@example.com", "dev@example.org"} }},
	{name: "every subject field with one value", spec: func(s *cmapi.CertificateSpec) {
		s.Subject = &cmapi.X509Subject{Organizations: []string{"Acme"}, OrganizationalUnits: []string{"Web"}, Countries: []string{"DE"},
			Provinces: []string{"Berlin"}, Localities: []string{"Berlin"}, StreetAddresses: []string{"Unter den Linden 1"}, PostalCodes: []string{"10117"}, SerialNumber: "1234"}
	}},
	{name: "every subject field with several values (multi-valued RDNs)", spec: func(s *cmapi.CertificateSpec) {
		s.Subject = &cmapi.X509Subject{Organizations: []string{"Acme", "Acme Labs"}, OrganizationalUnits: []string{"Platform", "Security"}, Countries: []string{"DE", "AT"},
			Provinces: []string{"Berlin", "Wien"}, Localities: []string{"Berlin", "Wien"}, StreetAddresses: []string{"Unter den Linden 1", "Ring 2"}, PostalCodes: []string{"10117", "1010"}}
	}},
	{name: "a literalSubject, byte for byte", spec: func(s *cmapi.CertificateSpec) {
		s.CommonName = ""
		s.LiteralSubject = "CN=*.x.foo-long.bar.com,OU=FooLong,OU=Bar,OU=Baz,OU=Dept.,O=Corp."
		s.DNSNames = []string{"*.x.foo-long.bar.com"}
	}},
	{name: "a literalSubject with a multi-valued RDN", spec: func(s *cmapi.CertificateSpec) {
		s.CommonName = ""
		s.LiteralSubject = "CN=diff.example.com+OU=Ops,O=Corp.,C=DE"
	}},
	{name: "a literalSubject with a domainComponent", spec: func(s *cmapi.CertificateSpec) {
		s.CommonName = ""
		s.LiteralSubject = "CN=diff.example.com,DC=example,DC=com"
	}, refused: "0.9.2342.19200300.100.1.25 (domainComponent (DC)), which this issuer does not sign"},
	{name: "default usages", spec: func(s *cmapi.CertificateSpec) { s.Usages = nil }, differs: map[string]documented{fieldExtKeyUsage: diffKindEKU}},
	{name: "usages not encoded in the request", spec: func(s *cmapi.CertificateSpec) { s.EncodeUsagesInRequest = new(false) }},
	{name: "client auth only", spec: func(s *cmapi.CertificateSpec) {
		s.Usages = []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageClientAuth}
	}, differs: map[string]documented{fieldExtKeyUsage: diffKindEKU}},
	{name: "key encipherment without digital signature", spec: func(s *cmapi.CertificateSpec) {
		s.Usages = []cmapi.KeyUsage{cmapi.UsageKeyEncipherment, cmapi.UsageServerAuth, cmapi.UsageClientAuth}
	}, differs: map[string]documented{fieldKeyUsage: diffDigitalSignature}},
	{name: "encipher only, which no template kind gives", spec: func(s *cmapi.CertificateSpec) {
		s.Usages = append(slices.Clone(usagesPeer), cmapi.UsageKeyAgreement, cmapi.UsageEncipherOnly)
	}, refused: `requested usage encipher only is not allowed by template "any" (kind peer allows the key usages: digital signature, content commitment, key encipherment, data encipherment, key agreement)`},
	{name: "a usage outside the template's kind", spec: func(s *cmapi.CertificateSpec) {
		s.Usages = append(slices.Clone(usagesPeer), cmapi.UsageCodeSigning)
	}, refused: `requested usage code signing is not allowed by template "any" (kind peer allows: server auth, client auth)`},
	{name: "isCA with a template that does not allow it", spec: func(s *cmapi.CertificateSpec) { s.IsCA = true },
		refused: `which template "any" does not allow; use a template with allowCA: true`},
	{name: "isCA with a template that allows it", template: templateCAAny, spec: func(s *cmapi.CertificateSpec) { s.IsCA = true }, differs: caDiffs},
	{name: "duration and renewBefore", spec: func(s *cmapi.CertificateSpec) {
		s.Duration, s.RenewBefore = &metav1.Duration{Duration: 2 * time.Hour}, &metav1.Duration{Duration: time.Hour}
	}},
	{name: "an RSA 2048 key", spec: privateKey(cmapi.RSAKeyAlgorithm, 2048)},
	{name: "an RSA 3072 key", spec: privateKey(cmapi.RSAKeyAlgorithm, 3072)},
	{name: "an RSA 4096 key", spec: privateKey(cmapi.RSAKeyAlgorithm, 4096)},
	{name: "an ECDSA P-384 key", spec: privateKey(cmapi.ECDSAKeyAlgorithm, 384)},
	{name: "an ECDSA P-521 key", spec: privateKey(cmapi.ECDSAKeyAlgorithm, 521)},
	{name: "an Ed25519 key", spec: privateKey(cmapi.Ed25519KeyAlgorithm, 0)},
	{name: "nameConstraints on a CA, critical", template: templateCAAny, spec: func(s *cmapi.CertificateSpec) {
		s.IsCA = true
		s.NameConstraints = &cmapi.NameConstraints{Critical: true,
			Permitted: &cmapi.NameConstraintItem{DNSDomains: []string{"example.org"}, IPRanges: []string{"10.0.0.0/8"}, EmailAddresses: []string{"example.org"}, URIDomains: []string{".example.org"}},
			Excluded:  &cmapi.NameConstraintItem{DNSDomains: []string{"bad.example.org"}, IPRanges: []string{"10.9.0.0/16"}}}
	}, differs: caDiffs},
	{name: "nameConstraints on a CA, not critical", template: templateCAAny, spec: func(s *cmapi.CertificateSpec) {
		s.IsCA = true
		s.NameConstraints = &cmapi.NameConstraints{Permitted: &cmapi.NameConstraintItem{DNSDomains: []string{"example.org"}}}
	}, differs: map[string]documented{fieldBasic: diffCAPathLen, fieldKeyUsage: diffCAKeyUsage, fieldConstraints: diffNCCritical}},
	{name: "nameConstraints inside a constrained template's", template: templateCATeam, spec: func(s *cmapi.CertificateSpec) {
		s.IsCA, s.CommonName, s.DNSNames = true, "ca.team.example.com", []string{"ca.team.example.com"}
		s.NameConstraints = &cmapi.NameConstraints{Critical: true, Permitted: &cmapi.NameConstraintItem{DNSDomains: []string{"sub.team.example.com"}}}
	}, differs: map[string]documented{fieldBasic: diffCAPathLen, fieldKeyUsage: diffCAKeyUsage, fieldConstraints: diffNCFromPolicy}},
	{name: "nameConstraints wider than a constrained template's", template: templateCATeam, spec: func(s *cmapi.CertificateSpec) {
		s.IsCA, s.CommonName, s.DNSNames = true, "ca.team.example.com", []string{"ca.team.example.com"}
		s.NameConstraints = &cmapi.NameConstraints{Critical: true, Permitted: &cmapi.NameConstraintItem{DNSDomains: []string{"example.com"}}}
	}, refused: `requested name constraint permitted DNS domain "example.com" is not allowed by template "ca-team"`},
	{name: "otherNames", spec: func(s *cmapi.CertificateSpec) {
		s.OtherNames = []cmapi.OtherName{{OID: "1.3.6.1.4.1.311.20.2.3", UTF8Value: "alice@example.com"}}
	}, refused: "otherName of type 1.3.6.1.4.1.311.20.2.3 (userPrincipalName) subject alternative name, which this issuer does not sign"},
}

func privateKey(alg cmapi.PrivateKeyAlgorithm, size int) func(*cmapi.CertificateSpec) {
	return func(s *cmapi.CertificateSpec) {
		s.PrivateKey = &cmapi.CertificatePrivateKey{Algorithm: alg, Size: size}
	}
}

// diffTemplates are the templates of both our issuers: permissive ones,
// so that only what a template always does shows.
func diffTemplates(csrs bool) []v1alpha1.CertificateTemplate {
	permissive := v1alpha1.CertificateTemplate{
		Name: templatePermitted, Kind: v1alpha1.PeerKind,
		AllowedDNSNames:       []string{"**"},
		AllowedIPRanges:       []string{"0.0.0.0/0", "::/0"},
		AllowedURIs:           []string{"spiffe://**/**", "https://**/**"},
		AllowedEmailAddresses: []string{"*@**"},
		AllowedCommonNames:    []string{"*"},
		AllowedSubject: &v1alpha1.SubjectPatterns{Organization: []string{"*"}, OrganizationalUnit: []string{"*"}, Country: []string{"*"},
			Province: []string{"*"}, Locality: []string{"*"}, Street: []string{"*"}, PostalCode: []string{"*"}, SerialNumber: []string{"*"}},
	}
	caAny := permissive
	caAny.Name, caAny.AllowCA, caAny.UnconstrainedCA = templateCAAny, true, true
	caTeam := v1alpha1.CertificateTemplate{Name: templateCATeam, Kind: v1alpha1.PeerKind, AllowCA: true,
		AllowedDNSNames: []string{"*.team.example.com"}, AllowedCommonNames: []string{"*"}}
	out := []v1alpha1.CertificateTemplate{permissive, caAny, caTeam}
	if csrs {
		for i := range out {
			out[i].KubernetesCSRs = &v1alpha1.KubernetesCSRRequesters{Usernames: []string{"*"}}
		}
	}
	return out
}

// outcome is what an issuer did with a request: a leaf, or a failure.
type outcome struct {
	leaf    *x509.Certificate
	failure string
}

var _ = Describe("Field by field against cert-manager's CA issuer", Ordered, ContinueOnFailure, func() {
	var ns string
	var ca *testpki.CA
	// csrs are the Kubernetes CSRs of the rows, by row name.
	csrs := map[string]*certificatesv1.CertificateSigningRequest{}

	BeforeAll(func(ctx SpecContext) {
		ns = newNamespace()
		ca = newCA("Differential Root")
		createCASecret(ns, "diff-ca", ca)
		control := &cmapi.Issuer{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "builtin-ca"},
			Spec:       cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{CA: &cmapi.CAIssuer{SecretName: "diff-ca"}}},
		}
		Expect(k8s.Create(ctx, control)).To(Succeed())
		ours := &v1alpha1.NstanceIssuer{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "diff"},
			Spec:       v1alpha1.IssuerSpec{CA: v1alpha1.CASpec{SecretName: "diff-ca"}, DefaultTemplate: templatePermitted, Templates: diffTemplates(false)},
		}
		Expect(k8s.Create(ctx, ours)).To(Succeed())

		ensureNamespace(clusterResourceNamespace)
		clusterName := "diff-" + ns
		createCASecret(clusterResourceNamespace, clusterName, ca)
		cluster := &v1alpha1.NstanceClusterIssuer{
			ObjectMeta: metav1.ObjectMeta{Name: clusterName},
			Spec:       v1alpha1.IssuerSpec{CA: v1alpha1.CASpec{SecretName: clusterName}, Templates: diffTemplates(true)},
		}
		Expect(k8s.Create(ctx, cluster)).To(Succeed())
		DeferCleanup(func() {
			_ = k8s.Delete(context.Background(), cluster)
			_ = k8s.Delete(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: clusterResourceNamespace, Name: clusterName}})
		})
		issuerReady(ours)
		issuerReady(cluster)
		eventually("the CA Issuer Ready", expectations(func() {
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(control), control)).To(Succeed())
			Expect(control.Status.Conditions).To(ContainElement(SatisfyAll(HaveField("Type", cmapi.IssuerConditionReady), HaveField("Status", cmmeta.ConditionTrue))))
		}))

		By(fmt.Sprintf("creating %d rows at once: a Certificate for each issuer and a Kubernetes CSR", len(diffRows)))
		for i, row := range diffRows {
			theirs := diffCertificate(ns, fmt.Sprintf("row-%02d-cm", i), cmmeta.IssuerReference{Group: "cert-manager.io", Kind: "Issuer", Name: "builtin-ca"}, row)
			ours := diffCertificate(ns, fmt.Sprintf("row-%02d-ns", i), nstanceIssuerRef("diff"), row)
			ours.Annotations = map[string]string{v1alpha1.TemplateAnnotation: rowTemplate(row)}
			Expect(k8s.Create(ctx, theirs)).To(Succeed(), row.name)
			Expect(k8s.Create(ctx, ours)).To(Succeed(), row.name)
			csr := diffCSR(ctx, ours, clusterName, rowTemplate(row))
			DeferCleanup(func() { _ = k8s.Delete(context.Background(), csr) })
			csrs[row.name] = csr
		}
		for _, csr := range csrs {
			Expect(framework.ApproveCSR(ctx, k8s, csr)).To(Succeed())
		}
	}, NodeTimeout(3*time.Minute))

	It("refuses, by name, SAN types and extensions that cert-manager's CSR builder cannot write but a Kubernetes CSR can carry", func(ctx SpecContext) {
		// Hand-crafted, as a hostile requester would send them; Go's CSR
		// parser drops these SAN types and keeps the extensions aside.
		san := func(names ...asn1.RawValue) pkix.Extension {
			v, err := asn1.Marshal(append([]asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte("diff.example.com")}}, names...))
			Expect(err).NotTo(HaveOccurred())
			return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: v}
		}
		masters, err := asn1.Marshal(pkix.Name{CommonName: "admin", Organization: []string{"system:masters"}}.ToRDNSequence())
		Expect(err).NotTo(HaveOccurred())
		cases := map[string]pkix.Extension{
			"a directoryName subject alternative name":     san(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: masters}),
			"a registeredID (1.3.6.1.4.1.311)":             san(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 8, Bytes: []byte{0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37}}),
			"an x400Address subject alternative name":      san(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 3, IsCompound: true, Bytes: []byte{0x30, 0x00}}),
			"extension 1.3.6.1.5.5.7.1.24 (TLS feature":    {Id: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 24}, Value: []byte{0x30, 0x03, 0x02, 0x01, 0x05}},
			"extension 1.3.6.1.4.1.99999.1, which this is": {Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, Critical: true, Value: []byte{0x05, 0x00}},
		}
		var created []*certificatesv1.CertificateSigningRequest
		var wants []string
		for want, ext := range cases {
			key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			Expect(err).NotTo(HaveOccurred())
			der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "diff.example.com"}, ExtraExtensions: []pkix.Extension{ext}}, key)
			Expect(err).NotTo(HaveOccurred())
			csr := &certificatesv1.CertificateSigningRequest{
				ObjectMeta: metav1.ObjectMeta{GenerateName: "diff-hostile-", Annotations: map[string]string{v1alpha1.TemplateAnnotation: templatePermitted}},
				Spec: certificatesv1.CertificateSigningRequestSpec{
					Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
					SignerName: "nstanceclusterissuers.issuer.nstance.dev/diff-" + ns,
					Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth},
				},
			}
			Expect(k8s.Create(ctx, csr)).To(Succeed())
			DeferCleanup(func() { _ = k8s.Delete(context.Background(), csr) })
			Expect(framework.ApproveCSR(ctx, k8s, csr)).To(Succeed())
			created, wants = append(created, csr), append(wants, want)
		}
		for i, csr := range created {
			out := csrOutcome(csr)
			Expect(out.leaf).To(BeNil(), "a CSR with %s was signed", wants[i])
			Expect(out.failure).To(ContainSubstring(wants[i]))
		}
	})

	for i, row := range diffRows {
		It(row.name, func(ctx SpecContext) {
			theirs := requestOutcome(ns, fmt.Sprintf("row-%02d-cm", i))
			Expect(theirs.failure).To(BeEmpty(), "cert-manager's CA issuer signs every row")
			ours := requestOutcome(ns, fmt.Sprintf("row-%02d-ns", i))
			assertRow(row, ours, theirs, "the CertificateRequest")
			assertRow(row, csrOutcome(csrs[row.name]), theirs, "the Kubernetes CSR")
			if row.refused != "" {
				return
			}
			// Lifetimes: the CA issuer's is the duration, ours 30 s
			// longer (NotBefore backdated); renewal at renewBefore.
			crt := &cmapi.Certificate{}
			Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: fmt.Sprintf("row-%02d-ns", i)}, crt)).To(Succeed())
			want := cmapi.DefaultCertificateDuration
			if crt.Spec.Duration != nil {
				want = crt.Spec.Duration.Duration
			}
			Expect(theirs.leaf.NotAfter.Sub(theirs.leaf.NotBefore)).To(BeNumerically("~", want, 2*time.Second))
			Expect(ours.leaf.NotAfter.Sub(ours.leaf.NotBefore)).To(BeNumerically("~", want+30*time.Second, 2*time.Second))
			if crt.Spec.RenewBefore != nil {
				for _, name := range []string{fmt.Sprintf("row-%02d-ns", i), fmt.Sprintf("row-%02d-cm", i)} {
					ready := certificateReady(ns, name)
					leaf, _ := issuedCertificate(ns, name+"-tls", x509.ExtKeyUsageAny)
					Expect(ready.Status.RenewalTime).NotTo(BeNil())
					Expect(ready.Status.RenewalTime.Time).To(BeTemporally("~", leaf.NotAfter.Add(-crt.Spec.RenewBefore.Duration), time.Second), name)
				}
			}
		})
	}
})

// rowTemplate is the template of our issuers a row uses.
func rowTemplate(row diffRow) string {
	if row.template == "" {
		return templatePermitted
	}
	return row.template
}

// diffCertificate is the row's Certificate for an issuer.
func diffCertificate(ns, name string, ref cmmeta.IssuerReference, row diffRow) *cmapi.Certificate {
	crt := &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: cmapi.CertificateSpec{
			SecretName: name + "-tls",
			IssuerRef:  ref,
			CommonName: "diff.example.com",
			DNSNames:   []string{"diff.example.com"},
			Usages:     slices.Clone(usagesPeer),
			PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256},
		},
	}
	if row.spec != nil {
		row.spec(&crt.Spec)
	}
	return crt
}

// diffCSR makes the row's Kubernetes CSR the way cert-manager makes a
// CertificateRequest's: its own CSR builder with the features a v1.21
// installation has on (literal subjects, name constraints, otherNames),
// a key of the Certificate's kind, the usages and isCA as cert-manager's
// CSR annotations and spec.usages carry them.
func diffCSR(ctx context.Context, crt *cmapi.Certificate, signer, template string) *certificatesv1.CertificateSigningRequest {
	GinkgoHelper()
	key, err := cmpki.GeneratePrivateKeyForCertificate(crt)
	Expect(err).NotTo(HaveOccurred())
	tmpl, err := cmpki.GenerateCSR(crt, cmpki.WithUseLiteralSubject(true), cmpki.WithNameConstraints(true), cmpki.WithOtherNames(true))
	Expect(err).NotTo(HaveOccurred())
	der, err := cmpki.EncodeCSR(tmpl, key)
	Expect(err).NotTo(HaveOccurred())
	usages := crt.Spec.Usages
	if len(usages) == 0 {
		usages = cmapi.DefaultKeyUsages()
	}
	if crt.Spec.IsCA {
		usages = append(slices.Clone(usages), cmapi.UsageCertSign)
	}
	var kubeUsages []certificatesv1.KeyUsage
	for _, u := range usages {
		kubeUsages = append(kubeUsages, certificatesv1.KeyUsage(u))
	}
	seconds := int32(cmapi.DefaultCertificateDuration / time.Second)
	if crt.Spec.Duration != nil {
		seconds = int32(crt.Spec.Duration.Duration / time.Second)
	}
	annotations := map[string]string{v1alpha1.TemplateAnnotation: template}
	if crt.Spec.IsCA {
		annotations[experimentalapi.CertificateSigningRequestIsCAAnnotationKey] = "true"
	}
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "diff-", Annotations: annotations},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:           pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName:        "nstanceclusterissuers.issuer.nstance.dev/" + signer,
			ExpirationSeconds: &seconds,
			Usages:            kubeUsages,
		},
	}
	Expect(k8s.Create(ctx, csr)).To(Succeed())
	return csr
}

// requestOutcome waits for the CertificateRequest of a Certificate to be
// signed or to fail.
func requestOutcome(ns, name string) outcome {
	GinkgoHelper()
	var out outcome
	eventually("the request of Certificate "+ns+"/"+name+" signed or failed", func(ctx context.Context) error {
		crt := &cmapi.Certificate{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, crt); err != nil {
			return err
		}
		list := &cmapi.CertificateRequestList{}
		if err := k8s.List(ctx, list, client.InNamespace(ns)); err != nil {
			return err
		}
		for _, cr := range list.Items {
			if !slices.ContainsFunc(cr.OwnerReferences, func(o metav1.OwnerReference) bool { return o.Name == name }) {
				continue
			}
			ready := framework.RequestReady(&cr)
			switch {
			case ready == nil:
			case ready.Status == cmmeta.ConditionTrue && len(cr.Status.Certificate) > 0:
				leaf, err := firstCertificate(cr.Status.Certificate)
				out = outcome{leaf: leaf}
				return err
			case ready.Reason == cmapi.CertificateRequestReasonFailed:
				out = outcome{failure: ready.Message}
				return nil
			}
		}
		return fmt.Errorf("Certificate %s: no signed or failed request yet", name)
	})
	return out
}

// csrOutcome waits for a Kubernetes CSR to be signed or to fail.
func csrOutcome(csr *certificatesv1.CertificateSigningRequest) outcome {
	GinkgoHelper()
	var out outcome
	eventually("CSR "+csr.Name+" signed or failed", func(ctx context.Context) error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(csr), csr); err != nil {
			return err
		}
		for _, c := range csr.Status.Conditions {
			if c.Type == certificatesv1.CertificateFailed && c.Status == corev1.ConditionTrue {
				out = outcome{failure: c.Message}
				return nil
			}
		}
		if len(csr.Status.Certificate) == 0 {
			return fmt.Errorf("CSR %s: no certificate yet", csr.Name)
		}
		leaf, err := firstCertificate(csr.Status.Certificate)
		out = outcome{leaf: leaf}
		return err
	})
	return out
}

func firstCertificate(chain []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(chain)
	if block == nil {
		return nil, fmt.Errorf("no PEM certificate in the chain")
	}
	return x509.ParseCertificate(block.Bytes)
}

// assertRow checks ours against theirs as the row says.
func assertRow(row diffRow, ours, theirs outcome, what string) {
	GinkgoHelper()
	if row.refused != "" {
		Expect(ours.leaf).To(BeNil(), "%s was signed; it must be refused with %q", what, row.refused)
		Expect(ours.failure).To(ContainSubstring(row.refused), what)
		return
	}
	Expect(ours.failure).To(BeEmpty(), "%s was refused", what)
	got := differences(ours.leaf, theirs.leaf)
	want := map[string]bool{}
	for f := range row.differs {
		want[f] = true
	}
	Expect(slices.Sorted(maps.Keys(got))).To(Equal(slices.Sorted(maps.Keys(want))),
		"%s: the fields where ours differs from the CA issuer's (%v) are not the documented ones (%v)", what, got, row.differs)
	for field, d := range row.differs {
		Expect(d.holds(ours.leaf, theirs.leaf)).To(Succeed(), "%s: %s differs otherwise than documented (%s)", what, field, d.reason)
	}
}

// constraintsOf is a certificate's name constraints but their criticality.
func constraintsOf(c *x509.Certificate) string {
	return fmt.Sprintf("permitted %q %v %q %q excluded %q %v %q %q",
		c.PermittedDNSDomains, c.PermittedIPRanges, c.PermittedEmailAddresses, c.PermittedURIDomains,
		c.ExcludedDNSDomains, c.ExcludedIPRanges, c.ExcludedEmailAddresses, c.ExcludedURIDomains)
}

// differences compares two certificates field by field and returns the
// fields that differ, each with both values.
func differences(ours, theirs *x509.Certificate) map[string]string {
	out := map[string]string{}
	note := func(field string, a, b any) {
		if fmt.Sprint(a) != fmt.Sprint(b) {
			out[field] = fmt.Sprintf("ours %v, theirs %v", a, b)
		}
	}
	if !bytes.Equal(ours.RawSubject, theirs.RawSubject) {
		out[fieldSubject] = fmt.Sprintf("ours %s (% x), theirs %s (% x)", ours.Subject, ours.RawSubject, theirs.Subject, theirs.RawSubject)
	}
	sanOf := func(c *x509.Certificate) string {
		for _, e := range c.Extensions {
			if e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 17}) {
				return fmt.Sprintf("critical=%v % x", e.Critical, e.Value)
			}
		}
		return "none"
	}
	note(fieldSANs, sanOf(ours), sanOf(theirs))
	note(fieldKeyUsage, ours.KeyUsage, theirs.KeyUsage)
	note(fieldExtKeyUsage, []any{ours.ExtKeyUsage, ours.UnknownExtKeyUsage}, []any{theirs.ExtKeyUsage, theirs.UnknownExtKeyUsage})
	basic := func(c *x509.Certificate) string {
		return fmt.Sprintf("valid=%v ca=%v pathLen=%d zero=%v", c.BasicConstraintsValid, c.IsCA, c.MaxPathLen, c.MaxPathLenZero)
	}
	note(fieldBasic, basic(ours), basic(theirs))
	nc := func(c *x509.Certificate) string {
		return fmt.Sprintf("critical=%v %s", c.PermittedDNSDomainsCritical, constraintsOf(c))
	}
	note(fieldConstraints, nc(ours), nc(theirs))
	note(fieldPublicKey, keyKind(ours), keyKind(theirs))
	exts := func(c *x509.Certificate) []string {
		var ids []string
		for _, e := range c.Extensions {
			// Key identifiers are excepted (ours always has both); the
			// other known extensions are compared above.
			if id := e.Id.String(); !slices.Contains([]string{"2.5.29.14", "2.5.29.35", "2.5.29.15", "2.5.29.17", "2.5.29.19", "2.5.29.30", "2.5.29.37"}, id) {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		return ids
	}
	note(fieldExtensions, exts(ours), exts(theirs))
	return out
}

// keyKind is a public key's algorithm and size.
func keyKind(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", c.PublicKey)
}
