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

package pki

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

var (
	clusterIssuer    = IssuerData{Name: "ca", Kind: "NstanceClusterIssuer"}
	namespacedIssuer = IssuerData{Name: "ca", Namespace: "team-a", Kind: "NstanceIssuer"}
)

// validSpec is an issuer that ValidateIssuer accepts without a warning.
func validSpec() *v1alpha1.IssuerSpec {
	return &v1alpha1.IssuerSpec{
		CA:              v1alpha1.CASpec{SecretName: "ca", Generate: &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "CA {{ .Vars.Cluster }}"}, TTL: 87600}},
		Vars:            map[string]string{"Cluster": "prod"},
		DefaultTemplate: "web",
		Templates: []v1alpha1.CertificateTemplate{
			{Name: "web", AllowedDNSNames: []string{"*.{{ .Request.Namespace }}.example.com"}, TTL: 2160},
			{Name: "nodes", KubernetesCSRs: &v1alpha1.KubernetesCSRRequesters{Groups: []string{"system:nodes"}}, AllowedDNSNames: []string{"*.nodes.internal"}},
		},
	}
}

func TestValidateIssuerErrors(t *testing.T) {
	t.Parallel()
	dur := func(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }
	pct := func(p int32) *int32 { return &p }
	tests := []struct {
		name   string
		issuer IssuerData
		mod    func(*v1alpha1.IssuerSpec)
		// want are "<path>: <part of the message>", in order.
		want []string
	}{
		{name: "a valid issuer has no errors", mod: func(*v1alpha1.IssuerSpec) {}},
		{name: "a broken template field is reported at its path with the controller's message",
			mod:  func(s *v1alpha1.IssuerSpec) { s.Templates[1].DNS = []string{"ok.example.com", "{{ .Request.Name "} },
			want: []string{`spec.templates[1].dns[1]: template "nodes" field dns[1]: `}},
		{name: "every broken field of every template is reported, not only the first",
			mod: func(s *v1alpha1.IssuerSpec) {
				s.Templates[0].AllowedDNSNames = []string{"web-*.example.com"}
				s.Templates[0].AllowedIPRanges = []string{"10.0.0.1"}
				s.Templates[1].MinECDSAKeySize = 224
			},
			want: []string{
				`spec.templates[0].allowedDNSNames[0]: template "web" field allowedDNSNames[0]: pattern "web-*.example.com" is not valid`,
				`spec.templates[0].allowedIPRanges[0]: template "web" field allowedIPRanges[0]: "10.0.0.1" is not a CIDR range`,
				`spec.templates[1].minECDSAKeySize: template "nodes" field minECDSAKeySize: 224 is not 256, 384 or 521`,
			}},
		{name: "a duplicate template name is reported at the second template's name",
			mod:  func(s *v1alpha1.IssuerSpec) { s.Templates[1].Name = "web" },
			want: []string{`spec.templates[1].name: template "web" field name: the name is used by two templates`}},
		{name: "an allowCA template without NameConstraints is reported at allowCA",
			mod: func(s *v1alpha1.IssuerSpec) {
				s.Templates[0].AllowCA = true
				s.Templates[0].AllowedDNSNames = []string{"**"}
			},
			want: []string{`spec.templates[0].allowCA: template "web" field allowCA: cannot derive NameConstraints`}},
		{name: "unconstrainedCA without allowCA is refused",
			mod:  func(s *v1alpha1.IssuerSpec) { s.Templates[0].UnconstrainedCA = true },
			want: []string{`spec.templates[0].unconstrainedCA: template "web" field unconstrainedCA: unconstrainedCA needs allowCA`}},
		{name: "namespaces that select nothing are refused",
			mod:  func(s *v1alpha1.IssuerSpec) { s.Templates[0].Namespaces = &v1alpha1.NamespaceSelector{} },
			want: []string{`spec.templates[0].namespaces: template "web" field namespaces: namespaces selects nothing`}},
		{name: "kubernetesCSRs that allow nobody are refused",
			mod:  func(s *v1alpha1.IssuerSpec) { s.Templates[1].KubernetesCSRs = &v1alpha1.KubernetesCSRRequesters{} },
			want: []string{`spec.templates[1].kubernetesCSRs: template "nodes" field kubernetesCSRs: kubernetesCSRs allows nobody`}},
		{name: "a bad var is reported at its key",
			mod:  func(s *v1alpha1.IssuerSpec) { s.Vars["Cluster"] = strings.Repeat("x", MaxVarValueSize+1) },
			want: []string{`spec.vars[Cluster]: template "vars" field Cluster: the value is 1025 bytes`}},
		{name: "a CA template problem is reported under spec.ca.generate",
			mod: func(s *v1alpha1.IssuerSpec) {
				s.CA.Generate.PrivateKey = v1alpha1.PrivateKeySpec{Algorithm: v1alpha1.RSAKeyAlgorithm, Size: 1000}
			},
			want: []string{`spec.ca.generate.privateKey.size: template "ca.generate" field privateKey.size: RSA size 1000 is not supported`}},
		{name: "a defaultTemplate that names no template is refused with the templates it could name",
			mod:  func(s *v1alpha1.IssuerSpec) { s.DefaultTemplate = "api" },
			want: []string{`spec.defaultTemplate: Invalid value: "api": defaultTemplate names no template of NstanceClusterIssuer ca (templates: web, nodes)`}},
		{name: "renewBefore and renewBeforePercentage together are refused",
			mod: func(s *v1alpha1.IssuerSpec) {
				s.CA.Rotation = &v1alpha1.CARotation{RenewBefore: dur(time.Hour), RenewBeforePercentage: pct(10)}
			},
			want: []string{`spec.ca.rotation: renewBefore and renewBeforePercentage are both set`}},
		{name: "a negative renewBefore is refused",
			mod:  func(s *v1alpha1.IssuerSpec) { s.CA.Rotation = &v1alpha1.CARotation{RenewBefore: dur(-time.Hour)} },
			want: []string{`spec.ca.rotation.renewBefore: Invalid value: "-1h0m0s": renewBefore must be positive`}},
		{name: "a renewBeforePercentage out of range is refused",
			mod:  func(s *v1alpha1.IssuerSpec) { s.CA.Rotation = &v1alpha1.CARotation{RenewBeforePercentage: pct(100)} },
			want: []string{`spec.ca.rotation.renewBeforePercentage: Invalid value: 100: renewBeforePercentage must be between 1 and 99`}},
		{name: "a negative propagationDelay is refused",
			mod: func(s *v1alpha1.IssuerSpec) {
				s.CA.Rotation = &v1alpha1.CARotation{PropagationDelay: dur(-time.Second)}
			},
			want: []string{`spec.ca.rotation.propagationDelay: Invalid value: "-1s": propagationDelay must not be negative`}},
		{name: "a next CA Secret that is the CA Secret is refused",
			mod:  func(s *v1alpha1.IssuerSpec) { s.CA.Rotation = &v1alpha1.CARotation{NextSecretName: "ca"} },
			want: []string{`spec.ca.rotation.nextSecretName: Invalid value: "ca": nextSecretName is the CA Secret itself`}},
		{name: "a renewBefore as long as the generated CA's lifetime is refused",
			mod: func(s *v1alpha1.IssuerSpec) {
				s.CA.Generate.TTL = 24
				s.CA.Rotation = &v1alpha1.CARotation{RenewBefore: dur(24 * time.Hour)}
			},
			want: []string{`spec.ca.rotation.renewBefore: Invalid value: "24h0m0s": renewBefore is not shorter than the generated CA's lifetime (ca.generate.ttl 24h)`}},
		{name: "a propagationDelay that outlasts the renewal window is refused",
			mod: func(s *v1alpha1.IssuerSpec) {
				s.CA.Generate.TTL = 48
				s.CA.Rotation = &v1alpha1.CARotation{RenewBeforePercentage: pct(25)}
			},
			want: []string{`spec.ca.rotation.propagationDelay: Invalid value: "24h0m0s": propagationDelay 24h0m0s is not shorter than the renewal window (renewBeforePercentage 25: 12h0m0s before the CA expires)`}},
		{name: "the default rotation of a default generated CA is coherent",
			mod: func(s *v1alpha1.IssuerSpec) { s.CA.Generate.TTL = 0; s.CA.Rotation = &v1alpha1.CARotation{} }},
		{name: "a trust bundle namespace selector that does not parse is refused",
			mod: func(s *v1alpha1.IssuerSpec) {
				s.CA.TrustBundle = &v1alpha1.TrustBundle{ConfigMap: &v1alpha1.ConfigMapBundle{Name: "b", NamespaceSelector: &metav1.LabelSelector{
					MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Near"}}}}}
			},
			want: []string{`spec.ca.trustBundle.configMap.namespaceSelector: Invalid value: "Near" is not a valid label selector operator`}},
		{name: "a CA key in AWS KMS named by ARN is valid",
			mod: func(s *v1alpha1.IssuerSpec) {
				s.CA.Key = &v1alpha1.CAKey{URI: "awskms:key-id=arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}
			}},
		{name: "a CA key URI with a PIN is refused at spec.ca.key.uri saying where the PIN goes and what each backend needs",
			mod: func(s *v1alpha1.IssuerSpec) {
				s.CA.Key = &v1alpha1.CAKey{URI: "pkcs11:token=ca;object=root?pin-value=1234"}
			},
			want: []string{`spec.ca.key.uri: "pkcs11:token=ca;object=root?pin-value=1234": attribute pin-value is not allowed: never put a PIN in a key URI`}},
		{name: "a CA key URI of another scheme is refused naming the two backends",
			mod: func(s *v1alpha1.IssuerSpec) {
				s.CA.Key = &v1alpha1.CAKey{URI: "gcpkms:projects/p/locations/l/keyRings/r/cryptoKeys/k"}
			},
			want: []string{"spec.ca.key.uri: \"gcpkms:projects/p/locations/l/keyRings/r/cryptoKeys/k\": it must start with awskms: (AWS KMS) or pkcs11:"}},
		{name: "a PKCS#11 key URI naming no token is refused with what a token URI needs",
			mod:  func(s *v1alpha1.IssuerSpec) { s.CA.Key = &v1alpha1.CAKey{URI: "pkcs11:object=root"} },
			want: []string{"spec.ca.key.uri: \"pkcs11:object=root\": name the token with exactly one of token= (its label), serial= or slot-id=; AWS KMS needs awskms:key-id="}},
		{name: "an Ed25519 CA key to make in an HSM is refused at its algorithm",
			mod: func(s *v1alpha1.IssuerSpec) {
				s.CA.Key = &v1alpha1.CAKey{URI: "pkcs11:token=ca"}
				s.CA.Generate.PrivateKey = v1alpha1.PrivateKeySpec{Algorithm: v1alpha1.Ed25519KeyAlgorithm}
			},
			want: []string{"spec.ca.generate.privateKey.algorithm: \"Ed25519\": a CA key made in a PKCS#11 token (spec.ca.key) cannot be Ed25519"}},
		{name: "an ECDSA P-384 key to make in AWS KMS is valid",
			mod: func(s *v1alpha1.IssuerSpec) {
				s.CA.Key = &v1alpha1.CAKey{URI: "awskms:region=eu-west-1"}
				s.CA.Generate.PrivateKey = v1alpha1.PrivateKeySpec{Algorithm: v1alpha1.ECDSAKeyAlgorithm, Size: 384}
			}},
		{name: "an unknown caCrt is refused",
			mod:  func(s *v1alpha1.IssuerSpec) { s.CA.TrustBundle = &v1alpha1.TrustBundle{CACrt: "Everything"} },
			want: []string{`spec.ca.trustBundle.caCrt: Unsupported value: "Everything"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := validSpec()
			tc.mod(spec)
			issuer := tc.issuer
			if issuer.Kind == "" {
				issuer = clusterIssuer
			}
			v := ValidateIssuer(spec, issuer)
			if len(v.Errors) != len(tc.want) {
				t.Fatalf("%d errors, want %d: %v", len(v.Errors), len(tc.want), v.Errors)
			}
			for i, w := range tc.want {
				if got := v.Errors[i].Error(); !strings.Contains(strings.ReplaceAll(got, "Invalid value: ", ""), strings.ReplaceAll(w, "Invalid value: ", "")) {
					t.Errorf("error %d is %q, want it to contain %q", i, got, w)
				}
				if path, _, _ := strings.Cut(w, ": "); v.Errors[i].Field != path {
					t.Errorf("error %d is at %s, want %s", i, v.Errors[i].Field, path)
				}
			}
		})
	}
}

func TestValidateIssuerErrIsTheReadyMessage(t *testing.T) {
	t.Parallel()
	spec := validSpec()
	if err := ValidateIssuer(spec, clusterIssuer).Err("NstanceClusterIssuer ca"); err != nil {
		t.Fatalf("a valid issuer: %v", err)
	}
	spec.Templates[0].DNS = []string{"{{ .Request.Name }} svc"}
	spec.CA.Rotation = &v1alpha1.CARotation{NextSecretName: "ca"}
	err := ValidateIssuer(spec, clusterIssuer).Err("NstanceClusterIssuer ca")
	if _, ok := errors.AsType[*InvalidIssuerError](err); !ok {
		t.Fatalf("error %T %v is not an *InvalidIssuerError", err, err)
	}
	want := `NstanceClusterIssuer ca is invalid: spec.templates[0].dns[0]: template "web" field dns[0]: renders "example svc" on sample data, which is not a valid DNS name: ` +
		`label "example svc" has a character other than a letter, digit or hyphen (write internationalized names in their xn-- form); spec.ca.rotation.nextSecretName: nextSecretName is the CA Secret itself (spec.ca.secretName); name another Secret that holds the next CA`
	if err.Error() != want {
		t.Errorf("message\n%s\nwant\n%s", err, want)
	}
}

func TestValidateIssuerBoundsWhatItReports(t *testing.T) {
	t.Parallel()
	spec := validSpec()
	spec.Templates = nil
	for i := range 40 {
		spec.Templates = append(spec.Templates, v1alpha1.CertificateTemplate{
			Name: fmt.Sprintf("t%d", i), AllowedIPRanges: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}})
	}
	spec.DefaultTemplate = ""
	v := ValidateIssuer(spec, clusterIssuer)
	if len(v.Errors) != maxIssuerErrors+1 {
		t.Fatalf("%d errors, want %d and one that counts the rest", len(v.Errors), maxIssuerErrors)
	}
	if last := v.Errors[maxIssuerErrors].Error(); !strings.Contains(last, "8 more problems are not listed") {
		t.Errorf("last error %q does not count the rest (40 templates, 1 problem each)", last)
	}
	if msg := v.Err("x").Error(); len(msg) > maxInvalidIssuerMessage+100 {
		t.Errorf("the Ready message is %d bytes, more than %d", len(msg), maxInvalidIssuerMessage)
	}
}

func TestValidateIssuerWarnings(t *testing.T) {
	t.Parallel()
	unbound := func(mod func(*v1alpha1.CertificateTemplate)) func(*v1alpha1.IssuerSpec) {
		return func(s *v1alpha1.IssuerSpec) { mod(&s.Templates[0]) }
	}
	tests := []struct {
		name   string
		issuer IssuerData
		mod    func(*v1alpha1.IssuerSpec)
		want   []string
	}{
		{name: "a valid issuer has no warnings", mod: func(*v1alpha1.IssuerSpec) {}},
		{name: "pass-through on a cluster issuer is a warning",
			mod:  func(s *v1alpha1.IssuerSpec) { s.AllowPassThrough, s.DefaultTemplate = true, "" },
			want: []string{"spec.allowPassThrough: any namespace may have any name signed"}},
		{name: "pass-through on a namespaced issuer is not a warning", issuer: namespacedIssuer,
			mod: func(s *v1alpha1.IssuerSpec) {
				s.AllowPassThrough, s.DefaultTemplate = true, ""
				s.Templates = s.Templates[:1]
			}},
		{name: "pass-through beside a defaultTemplate has no effect",
			mod:  func(s *v1alpha1.IssuerSpec) { s.AllowPassThrough = true },
			want: []string{`spec.allowPassThrough: has no effect: every request without a template annotation uses defaultTemplate "web"`}},
		{name: "an unbound cluster template that allows any DNS name is a warning",
			mod:  unbound(func(t *v1alpha1.CertificateTemplate) { t.AllowedDNSNames = []string{"a.example.com", "**"} }),
			want: []string{`spec.templates[0].allowedDNSNames[1]: "**" lets every namespace get any DNS name`}},
		{name: "a template whose selector is {} counts as unbound",
			mod: unbound(func(t *v1alpha1.CertificateTemplate) {
				t.AllowedIPRanges = []string{"::/0"}
				t.Namespaces = &v1alpha1.NamespaceSelector{Selector: &metav1.LabelSelector{}}
			}),
			want: []string{`spec.templates[0].allowedIPRanges[0]: ::/0 lets every namespace get any IP address`}},
		{name: "a cluster template bound to named namespaces may allow any DNS name",
			mod: unbound(func(t *v1alpha1.CertificateTemplate) {
				t.AllowedDNSNames = []string{"**"}
				t.Namespaces = &v1alpha1.NamespaceSelector{Names: []string{"platform"}}
			})},
		{name: "a namespaced issuer's template may allow any DNS name", issuer: namespacedIssuer,
			mod: func(s *v1alpha1.IssuerSpec) {
				s.Templates = s.Templates[:1]
				s.Templates[0].AllowedDNSNames = []string{"**"}
			}},
		{name: "a namespace selector on labels tenants can set is a warning",
			mod: unbound(func(t *v1alpha1.CertificateTemplate) {
				t.Namespaces = &v1alpha1.NamespaceSelector{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "web", namespaceNameLabel: "x"}}}
			}),
			want: []string{"spec.templates[0].namespaces.selector: selects by label tier, which whoever may label a namespace can set"}},
		{name: "a namespace selector on the namespace's name label is not a warning",
			mod: unbound(func(t *v1alpha1.CertificateTemplate) {
				t.Namespaces = &v1alpha1.NamespaceSelector{Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: namespaceNameLabel, Operator: metav1.LabelSelectorOpIn, Values: []string{"a", "b"}}}}}
			})},
		{name: "Kubernetes CSRs from every user is a warning",
			mod:  func(s *v1alpha1.IssuerSpec) { s.Templates[1].KubernetesCSRs.Usernames = []string{"*"} },
			want: []string{"spec.templates[1].kubernetesCSRs: allows every authenticated user"}},
		{name: "an unconstrained CA template is a warning",
			mod: unbound(func(t *v1alpha1.CertificateTemplate) {
				t.AllowCA, t.UnconstrainedCA = true, true
				t.Namespaces = &v1alpha1.NamespaceSelector{Names: []string{"platform"}}
			}),
			want: []string{"spec.templates[0].unconstrainedCA: CA certificates of this template carry no NameConstraints"}},
		{name: "a key location without a key and without generate is a warning",
			mod: func(s *v1alpha1.IssuerSpec) {
				s.CA.Generate = nil
				s.CA.Key = &v1alpha1.CAKey{URI: "pkcs11:token=ca"}
			},
			want: []string{"spec.ca.key.uri: names where keys live (pkcs11:token=ca) but no key, and spec.ca.generate is unset"}},
		{name: "a namespaced issuer using the controller's KMS identity is told it needs the operator's allow-list", issuer: namespacedIssuer,
			mod: func(s *v1alpha1.IssuerSpec) {
				s.Templates = s.Templates[:1]
				s.CA.Key = &v1alpha1.CAKey{URI: "awskms:region=eu-west-1"}
			},
			want: []string{"spec.ca.key.credentialsSecretRef: unset: the controller's own AWS KMS identity serves an NstanceIssuer only for keys the operator allows its namespace (--namespace-key-uri)"}},
		{name: "a namespaced issuer with its own credentials is not a warning", issuer: namespacedIssuer,
			mod: func(s *v1alpha1.IssuerSpec) {
				s.Templates = s.Templates[:1]
				s.CA.Key = &v1alpha1.CAKey{URI: "awskms:region=eu-west-1", CredentialsSecretRef: &v1alpha1.SecretReference{Name: "aws"}}
			}},
		{name: "a template ttl past the generated CA's lifetime is a warning",
			mod:  func(s *v1alpha1.IssuerSpec) { s.CA.Generate.TTL = 100 },
			want: []string{"spec.templates[0].ttl: 2160h is longer than the generated CA's lifetime (100h)"}},
		{name: "what an NstanceIssuer ignores is a warning", issuer: namespacedIssuer,
			mod: func(s *v1alpha1.IssuerSpec) {
				s.Templates[0].Namespaces = &v1alpha1.NamespaceSelector{Names: []string{"team-b"}}
				s.CA.TrustBundle = &v1alpha1.TrustBundle{ClusterTrustBundle: true, ConfigMap: &v1alpha1.ConfigMapBundle{Name: "b", NamespaceSelector: &metav1.LabelSelector{}}}
			},
			want: []string{
				`spec.templates[0].namespaces.names: does not name "team-a", the only namespace an NstanceIssuer serves`,
				"spec.templates[1].kubernetesCSRs: is ignored: Kubernetes CSRs are signed by NstanceClusterIssuers only",
				"spec.ca.trustBundle.clusterTrustBundle: is ignored",
				"spec.ca.trustBundle.configMap.namespaceSelector: is ignored",
			}},
		{name: "a rotation that cannot make a next CA is a warning",
			mod:  func(s *v1alpha1.IssuerSpec) { s.CA.Generate = nil; s.CA.Rotation = &v1alpha1.CARotation{} },
			want: []string{"spec.ca.rotation: without ca.generate or nextSecretName the issuer cannot make the next CA"}},
		{name: "a defaultTemplate that serves no CertificateRequest is a warning",
			mod:  func(s *v1alpha1.IssuerSpec) { s.DefaultTemplate = "nodes" },
			want: []string{`spec.defaultTemplate: names template "nodes", which names no namespaces and so serves no CertificateRequest`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := validSpec()
			tc.mod(spec)
			issuer := tc.issuer
			if issuer.Kind == "" {
				issuer = clusterIssuer
			}
			v := ValidateIssuer(spec, issuer)
			if len(v.Errors) > 0 {
				t.Fatalf("errors: %v", v.Errors)
			}
			if len(v.Warnings) != len(tc.want) {
				t.Fatalf("%d warnings, want %d: %q", len(v.Warnings), len(tc.want), v.Warnings)
			}
			for i, w := range tc.want {
				if !strings.Contains(v.Warnings[i], w) {
					t.Errorf("warning %d is %q, want it to contain %q", i, v.Warnings[i], w)
				}
				if len(v.Warnings[i]) > 256 {
					t.Errorf("warning %d is %d characters: the API server may cut it at 256", i, len(v.Warnings[i]))
				}
			}
		})
	}
}
