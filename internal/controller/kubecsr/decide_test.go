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

package kubecsr

import (
	"errors"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	experimentalapi "github.com/cert-manager/cert-manager/pkg/apis/experimental/v1alpha1"
	cmpki "github.com/cert-manager/cert-manager/pkg/util/pki"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
)

func TestParseCSRSigner(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, signer string
		want         csrSigner
		ours         bool
		wantErr      string
	}{
		{name: "the plain signer names its issuer and no template", signer: "nstanceclusterissuers.issuer.nstance.dev/cluster-ca",
			want: csrSigner{Issuer: "cluster-ca"}, ours: true},
		{name: "a plain signer's dots belong to the issuer name", signer: "nstanceclusterissuers.issuer.nstance.dev/ca.example.com",
			want: csrSigner{Issuer: "ca.example.com"}, ours: true},
		{name: "a templated signer names issuer and template", signer: "templates.nstanceclusterissuers.issuer.nstance.dev/cluster-ca.kubelet",
			want: csrSigner{Issuer: "cluster-ca", Template: "kubelet"}, ours: true},
		{name: "a templated signer's template is the last label, so dotted issuer names stay unambiguous",
			signer: "templates.nstanceclusterissuers.issuer.nstance.dev/ca.example.com.kubelet",
			want:   csrSigner{Issuer: "ca.example.com", Template: "kubelet"}, ours: true},
		{name: "a templated signer without a template is ours and refused", signer: "templates.nstanceclusterissuers.issuer.nstance.dev/cluster-ca",
			ours: true, wantErr: "names no template"},
		{name: "a templated signer with an empty issuer part is ours and refused", signer: "templates.nstanceclusterissuers.issuer.nstance.dev/.web",
			ours: true, wantErr: "the issuer name is empty"},
		{name: "a templated signer with an empty template part is ours and refused", signer: "templates.nstanceclusterissuers.issuer.nstance.dev/web.",
			ours: true, wantErr: "the template name is empty"},
		{name: "a templated signer of a lone dot is ours and refused", signer: "templates.nstanceclusterissuers.issuer.nstance.dev/.",
			ours: true, wantErr: "the issuer name is empty"},
		{name: "a templated signer whose issuer part is no issuer name is ours and refused", signer: "templates.nstanceclusterissuers.issuer.nstance.dev/Cluster_CA.web",
			ours: true, wantErr: `the issuer name "Cluster_CA" is not a valid NstanceClusterIssuer name`},
		{name: "a templated signer whose issuer part is longer than a name can be is ours and refused",
			signer: "templates.nstanceclusterissuers.issuer.nstance.dev/" + strings.Repeat("a", 200) + "." + strings.Repeat("b", 60) + ".web",
			ours:   true, wantErr: "must be no more than 253 characters"},
		{name: "a templated signer whose template part is longer than a template name can be is ours and refused",
			signer: "templates.nstanceclusterissuers.issuer.nstance.dev/cluster-ca." + strings.Repeat("t", 64),
			ours:   true, wantErr: "is not a valid template name: must be no more than 63 characters"},
		{name: "a plain signer with an empty issuer is ours and refused", signer: "nstanceclusterissuers.issuer.nstance.dev/",
			ours: true, wantErr: "the issuer name is empty"},
		{name: "a plain signer whose issuer part is no issuer name is ours and refused", signer: "nstanceclusterissuers.issuer.nstance.dev/ca..example",
			ours: true, wantErr: `the issuer name "ca..example" is not a valid NstanceClusterIssuer name`},
		{name: "a namespaced issuer's signer is not a cluster issuer's", signer: "nstanceissuers.issuer.nstance.dev/team-a.ca"},
		{name: "another domain ending like ours is not ours", signer: "evil-nstanceclusterissuers.issuer.nstance.dev/cluster-ca"},
		{name: "a Kubernetes signer is not ours", signer: "kubernetes.io/kube-apiserver-client"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ours, err := parseCSRSigner(tc.signer)
			if ours != tc.ours || got != tc.want || (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("parseCSRSigner(%q) = %+v, %v, %v; want %+v, %v, error %q", tc.signer, got, ours, err, tc.want, tc.ours, tc.wantErr)
			}
		})
	}
	if got := TemplatedSignerName("ca.example.com", "kubelet"); got != "templates.nstanceclusterissuers.issuer.nstance.dev/ca.example.com.kubelet" {
		t.Errorf("TemplatedSignerName = %q", got)
	}
}

func TestPresentTemplatedSignerShowsIssuerLibThePlainName(t *testing.T) {
	t.Parallel()
	for signer, want := range map[string]string{
		TemplatedSignerName("ca.example.com", "kubelet"):         issuer.ClusterIssuerSignerPrefix + "ca.example.com",
		issuer.ClusterIssuerSignerPrefix + "cluster-ca":          issuer.ClusterIssuerSignerPrefix + "cluster-ca",
		TemplatedSignerPrefix + "no-template":                    TemplatedSignerPrefix + "no-template",
		"example.com/other":                                      "example.com/other",
		"nstanceissuers.issuer.nstance.dev/team-a.cluster-ca.xx": "nstanceissuers.issuer.nstance.dev/team-a.cluster-ca.xx",
	} {
		csr := &certificatesv1.CertificateSigningRequest{Spec: certificatesv1.CertificateSigningRequestSpec{SignerName: signer}}
		PresentTemplatedSigner(csr)
		if csr.Spec.SignerName != want {
			t.Errorf("%s is shown to issuer-lib as %s, want %s", signer, csr.Spec.SignerName, want)
		}
	}
}

func TestUnservedSigner(t *testing.T) {
	t.Parallel()
	for signer, want := range map[string]string{
		"nstanceissuers.issuer.nstance.dev/team-a.ca":   issuer.ReasonNamespacedIssuerNotSupported,
		TemplatedSignerPrefix + "cluster-ca":            ReasonInvalidSignerName,
		TemplatedSignerPrefix + ".web":                  ReasonInvalidSignerName,
		TemplatedSignerPrefix + "web.":                  ReasonInvalidSignerName,
		TemplatedSignerPrefix + ".":                     ReasonInvalidSignerName,
		issuer.ClusterIssuerSignerPrefix:                ReasonInvalidSignerName,
		TemplatedSignerName("cluster-ca", "web"):        "",
		issuer.ClusterIssuerSignerPrefix + "cluster-ca": "",
		"example.com/other":                             "",
	} {
		if got, _ := unservedSigner(signer); got != want {
			t.Errorf("unservedSigner(%q) = %q, want %q", signer, got, want)
		}
	}
}

func TestCSRPolicyProblem(t *testing.T) {
	t.Parallel()
	const name = DefaultCSRAnnotationPolicy
	mod := func(f func(*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding)) func() (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
		return func() (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			p, b := CSRAnnotationPolicy(name)
			f(p, b)
			return p, b
		}
	}
	ignore := admissionregistrationv1.Ignore
	cases := []struct {
		name    string
		objects func() (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding)
		want    string // "" when it holds
	}{
		{name: "the shipped policy and binding hold", objects: mod(func(*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
		})},
		{name: "other messages and labels do not matter", objects: mod(func(p *admissionregistrationv1.ValidatingAdmissionPolicy, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			p.Spec.Validations[0].MessageExpression, p.Spec.Validations[0].Message = "", "changed"
			p.Labels, b.Labels = map[string]string{"a": "b"}, map[string]string{"a": "b"}
		})},
		{name: "Deny with Audit still denies", objects: mod(func(_ *admissionregistrationv1.ValidatingAdmissionPolicy, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.ValidationActions = append(b.Spec.ValidationActions, admissionregistrationv1.Audit)
		})},
		{name: "a binding's matchResources as the API server defaults it narrows nothing", objects: mod(func(_ *admissionregistrationv1.ValidatingAdmissionPolicy, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.MatchResources = wideMatch()
		})},
		{name: "a missing policy does not hold", objects: func() (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			_, b := CSRAnnotationPolicy(name)
			return nil, b
		}, want: "ValidatingAdmissionPolicy " + name + " does not exist"},
		{name: "a missing binding does not hold", objects: func() (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			p, _ := CSRAnnotationPolicy(name)
			return p, nil
		}, want: "ValidatingAdmissionPolicyBinding " + name + " does not exist"},
		{name: "a binding of another policy does not hold", objects: mod(func(_ *admissionregistrationv1.ValidatingAdmissionPolicy, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.PolicyName = "other"
		}), want: `binds policy "other"`},
		{name: "a binding that only warns does not hold", objects: mod(func(_ *admissionregistrationv1.ValidatingAdmissionPolicy, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.ValidationActions = []admissionregistrationv1.ValidationAction{admissionregistrationv1.Warn, admissionregistrationv1.Audit}
		}), want: "does not Deny"},
		{name: "a binding with parameters does not hold", objects: mod(func(_ *admissionregistrationv1.ValidatingAdmissionPolicy, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.ParamRef = &admissionregistrationv1.ParamRef{Name: "x"}
		}), want: "paramRef"},
		{name: "a binding that spares labelled CSRs does not hold", objects: mod(func(_ *admissionregistrationv1.ValidatingAdmissionPolicy, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.MatchResources = wideMatch()
			b.Spec.MatchResources.ObjectSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"guarded": "yes"}}
		}), want: "narrows matchResources"},
		{name: "a policy that fails open does not hold", objects: mod(func(p *admissionregistrationv1.ValidatingAdmissionPolicy, _ *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			p.Spec.FailurePolicy = &ignore
		}), want: "failurePolicy Fail"},
		{name: "a policy that skips the approval subresource does not hold", objects: mod(func(p *admissionregistrationv1.ValidatingAdmissionPolicy, _ *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			r := &p.Spec.MatchConstraints.ResourceRules[0]
			r.Resources = r.Resources[:2]
		}), want: "matchConstraints"},
		{name: "a policy that spares labelled CSRs does not hold", objects: mod(func(p *admissionregistrationv1.ValidatingAdmissionPolicy, _ *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			p.Spec.MatchConstraints.ObjectSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"guarded": "yes"}}
		}), want: "matchConstraints"},
		{name: "a policy matching other signers does not hold", objects: mod(func(p *admissionregistrationv1.ValidatingAdmissionPolicy, _ *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			p.Spec.MatchConditions[0].Expression = "false"
		}), want: "matchConditions"},
		{name: "a policy guarding other annotations does not hold", objects: mod(func(p *admissionregistrationv1.ValidatingAdmissionPolicy, _ *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			p.Spec.Variables[0].Expression = "['issuer.nstance.dev/template']"
		}), want: "variables"},
		{name: "a policy that validates something else does not hold", objects: mod(func(p *admissionregistrationv1.ValidatingAdmissionPolicy, _ *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			p.Spec.Validations[0].Expression = "true"
		}), want: "validations"},
		{name: "a policy with parameters does not hold", objects: mod(func(p *admissionregistrationv1.ValidatingAdmissionPolicy, _ *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
			p.Spec.ParamKind = &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"}
		}), want: "paramKind"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, b := tc.objects()
			got := csrPolicyProblem(name, p, b)
			if (got == "") != (tc.want == "") || !strings.Contains(got, tc.want) {
				t.Errorf("problem = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCSRGuardProblemNeedsThePolicyBeforeTheApproval(t *testing.T) {
	t.Parallel()
	const name, settle = DefaultCSRAnnotationPolicy, 5 * time.Second
	created := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	objects := func(managed ...metav1.ManagedFieldsEntry) (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding) {
		p, b := CSRAnnotationPolicy(name)
		p.CreationTimestamp, b.CreationTimestamp = metav1.NewTime(created), metav1.NewTime(created)
		p.ManagedFields = managed
		return p, b
	}
	at := func(d time.Duration) *metav1.Time { t := metav1.NewTime(created.Add(d)); return &t }
	cases := []struct {
		name       string
		managed    []metav1.ManagedFieldsEntry
		approvedAt time.Time
		want       string
	}{
		{name: "approved well after the policy was created", approvedAt: created.Add(time.Hour)},
		{name: "approved before the policy existed", approvedAt: created.Add(-time.Hour), want: "was approved at 2026-06-01T11:00:00Z"},
		{name: "approved while the API servers were still loading it", approvedAt: created.Add(2 * time.Second), want: "created or last changed at 2026-06-01T12:00:00Z"},
		{name: "approved before the policy last changed", approvedAt: created.Add(time.Hour),
			managed: []metav1.ManagedFieldsEntry{{Manager: "helm", Time: at(2 * time.Hour)}}, want: "last changed at 2026-06-01T14:00:00Z"},
		{name: "the API server's own status writes are no change", approvedAt: created.Add(time.Hour),
			managed: []metav1.ManagedFieldsEntry{{Manager: "kube-apiserver", Subresource: "status", Time: at(2 * time.Hour)}}},
		{name: "an approval without a time proves nothing", want: "carries no time"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, b := objects(tc.managed...)
			got := csrGuardProblem(name, p, b, tc.approvedAt, settle)
			if (got == "") != (tc.want == "") || !strings.Contains(got, tc.want) {
				t.Errorf("problem = %q, want %q", got, tc.want)
			}
		})
	}
}

// cmctlCSRObject builds the CSR cmctl makes from a Certificate with spec
// (framework.CmctlCSR), named name.
func cmctlCSRObject(t *testing.T, name string, spec cmapi.CertificateSpec, opts ...cmpki.GenerateCSROption) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	csr, err := framework.CmctlCSR(spec, opts...)
	if err != nil {
		t.Fatal(err)
	}
	csr.Name, csr.UID = name, types.UID(name+"-uid")
	return csr
}

func TestKubernetesCSRIsCA(t *testing.T) {
	t.Parallel()
	const key = experimentalapi.CertificateSigningRequestIsCAAnnotationKey
	ca := cmapi.CertificateSpec{CommonName: "sub.ca.internal", IsCA: true}
	leaf := cmapi.CertificateSpec{DNSNames: []string{"leaf.internal"}, Usages: []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageServerAuth}}
	withBC := cmpki.WithEncodeBasicConstraintsInRequest(true)
	annotate := func(v string) func(*certificatesv1.CertificateSigningRequest) {
		return func(c *certificatesv1.CertificateSigningRequest) { c.Annotations[key] = v }
	}
	unannotated := func(c *certificatesv1.CertificateSigningRequest) { delete(c.Annotations, key) }
	dropCertSign := func(c *certificatesv1.CertificateSigningRequest) {
		c.Spec.Usages = framework.KeyUsagesWithout(c.Spec.Usages, certificatesv1.UsageCertSign)
	}
	cases := []struct {
		name    string
		spec    cmapi.CertificateSpec
		opts    []cmpki.GenerateCSROption
		mods    []func(*certificatesv1.CertificateSigningRequest)
		want    bool
		wantErr string
	}{
		{name: "a leaf as cmctl builds it is no CA", spec: leaf},
		{name: "a CA as cmctl builds it is a CA", spec: ca, want: true},
		{name: "a CA with basicConstraints in its CSR is a CA", spec: ca, opts: []cmpki.GenerateCSROption{withBC}, want: true},
		{name: "a leaf with basicConstraints cA false is no CA", spec: leaf, opts: []cmpki.GenerateCSROption{withBC}},
		{name: "cert sign in the usages asks for a CA without the annotation", spec: ca, mods: []func(*certificatesv1.CertificateSigningRequest){unannotated}, want: true},
		{name: "no annotation and no cert sign is no CA", spec: leaf, mods: []func(*certificatesv1.CertificateSigningRequest){unannotated}},
		{name: "the annotation alone does not make a CA", spec: leaf, mods: []func(*certificatesv1.CertificateSigningRequest){annotate("true")},
			wantErr: `is "true" but spec.usages does not list "cert sign"`},
		{name: "cert sign with the annotation false is refused", spec: ca, mods: []func(*certificatesv1.CertificateSigningRequest){annotate("false")},
			wantErr: `spec.usages lists "cert sign"`},
		{name: "an annotation that is not a boolean is refused", spec: leaf, mods: []func(*certificatesv1.CertificateSigningRequest){annotate("yes")},
			wantErr: `is "yes"; write true or false`},
		{name: "a CSR asking for cA without cert sign is refused, not signed as a leaf", spec: ca, opts: []cmpki.GenerateCSROption{withBC},
			mods: []func(*certificatesv1.CertificateSigningRequest){unannotated, dropCertSign}, wantErr: "basicConstraints extension asks for cA true"},
		{name: "a CSR asking for cA false with cert sign is refused", spec: leaf, opts: []cmpki.GenerateCSROption{withBC},
			mods: []func(*certificatesv1.CertificateSigningRequest){unannotated, func(c *certificatesv1.CertificateSigningRequest) {
				c.Spec.Usages = append(c.Spec.Usages, certificatesv1.UsageCertSign)
			}}, wantErr: "basicConstraints extension asks for cA false"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			csr := cmctlCSRObject(t, "x", tc.spec, tc.opts...)
			for _, m := range tc.mods {
				m(csr)
			}
			got, err := kubernetesCSRIsCA(csr)
			if tc.wantErr != "" {
				var reqErr *pki.RequestError
				if !errors.As(err, &reqErr) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want a RequestError with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("isCA = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestApprovedAtIsTheEarliestTimeTheConditionGives(t *testing.T) {
	t.Parallel()
	server := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name               string
		update, transition time.Time
		want               time.Time
	}{
		{name: "kubectl's own lastUpdateTime, ahead of the API server's clock, does not postpone it",
			update: server.Add(time.Hour), transition: server, want: server},
		{name: "a lastUpdateTime behind the API server's clock counts",
			update: server.Add(-time.Hour), transition: server, want: server.Add(-time.Hour)},
		{name: "one time alone is that time", transition: server, want: server},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			csr := &certificatesv1.CertificateSigningRequest{Status: certificatesv1.CertificateSigningRequestStatus{Conditions: []certificatesv1.CertificateSigningRequestCondition{
				{Type: certificatesv1.CertificateDenied, Status: corev1.ConditionFalse, LastTransitionTime: metav1.NewTime(server.Add(-48 * time.Hour))},
				{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, LastUpdateTime: metav1.NewTime(tc.update), LastTransitionTime: metav1.NewTime(tc.transition)},
			}}}
			if got := approvedAt(csr); !got.Equal(tc.want) {
				t.Errorf("approvedAt = %s, want %s", got, tc.want)
			}
		})
	}
	if got := approvedAt(&certificatesv1.CertificateSigningRequest{}); !got.IsZero() {
		t.Errorf("approvedAt of an unapproved CSR = %s, want zero", got)
	}
}

func TestKubernetesCSRDurationIsTheShortestAsked(t *testing.T) {
	t.Parallel()
	secs := func(s int32) *int32 { return &s }
	annotated := func(v string) map[string]string {
		return map[string]string{experimentalapi.CertificateSigningRequestDurationAnnotationKey: v}
	}
	cases := []struct {
		name        string
		expiration  *int32
		annotations map[string]string
		want        time.Duration
		wantErr     string
	}{
		{name: "neither set gives cert-manager's default", want: 90 * 24 * time.Hour},
		{name: "expirationSeconds alone applies", expiration: secs(3600), want: time.Hour},
		{name: "the annotation alone applies", annotations: annotated("2h"), want: 2 * time.Hour},
		{name: "a longer annotation cannot outlive what approvers saw", expiration: secs(3600), annotations: annotated("8760h"), want: time.Hour},
		{name: "a longer annotation alone cannot outlive the default approvers of no expirationSeconds saw", annotations: annotated("8760h"), want: 90 * 24 * time.Hour},
		{name: "a shorter annotation wins", expiration: secs(86400), annotations: annotated("1h"), want: time.Hour},
		{name: "a malformed annotation is refused", annotations: annotated("forever"), wantErr: "not a positive duration"},
		{name: "a negative annotation is refused", annotations: annotated("-1h"), wantErr: "not a positive duration"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			csr := &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Annotations: tc.annotations}}
			csr.Spec.ExpirationSeconds = tc.expiration
			got, err := kubernetesCSRDuration(csr)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("duration = %s, %v; want %s", got, err, tc.want)
			}
		})
	}
}
