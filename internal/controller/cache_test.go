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

package controller

import (
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	certificatesv1beta1 "k8s.io/api/certificates/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nstance-dev/nstance-issuer/internal/controller/podcert"
)

// cond is a CertificateRequest condition.
func cond(typ cmapi.CertificateRequestConditionType, status cmmeta.ConditionStatus, reason string) cmapi.CertificateRequestCondition {
	return cmapi.CertificateRequestCondition{Type: typ, Status: status, Reason: reason}
}

func TestSlimFinishedCertificateRequests(t *testing.T) {
	approved := cond(cmapi.CertificateRequestConditionApproved, cmmeta.ConditionTrue, "Approved")
	tests := []struct {
		name       string
		conditions []cmapi.CertificateRequestCondition
		slim       bool
	}{
		{"new: kept whole", nil, false},
		{"approved, not signed: kept whole (it is about to be signed)", []cmapi.CertificateRequestCondition{approved}, false},
		{"waiting for its issuer: kept whole", []cmapi.CertificateRequestCondition{approved, cond(cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, cmapi.CertificateRequestReasonPending)}, false},
		{"Ready=Unknown: kept whole", []cmapi.CertificateRequestCondition{approved, cond(cmapi.CertificateRequestConditionReady, cmmeta.ConditionUnknown, "Initializing")}, false},
		{"issued: slimmed", []cmapi.CertificateRequestCondition{approved, cond(cmapi.CertificateRequestConditionReady, cmmeta.ConditionTrue, cmapi.CertificateRequestReasonIssued)}, true},
		{"failed: slimmed", []cmapi.CertificateRequestCondition{approved, cond(cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, cmapi.CertificateRequestReasonFailed)}, true},
		{"denied: slimmed", []cmapi.CertificateRequestCondition{cond(cmapi.CertificateRequestConditionDenied, cmmeta.ConditionTrue, "Denied")}, true},
		{"Ready=False Denied: slimmed", []cmapi.CertificateRequestCondition{cond(cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, cmapi.CertificateRequestReasonDenied)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conds := make([]cmapi.CertificateRequestCondition, len(tt.conditions))
			for i, c := range tt.conditions {
				c.Message = "message of " + string(c.Type)
				conds[i] = c
			}
			issuerRef := cmmeta.IssuerReference{Name: "ca", Kind: "NstanceIssuer", Group: "issuer.nstance.dev"}
			owner := metav1.OwnerReference{APIVersion: "cert-manager.io/v1", Kind: "Certificate", Name: "app", UID: "u"}
			cr := &cmapi.CertificateRequest{
				ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "ns", UID: "uid", ResourceVersion: "7", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "m"}},
					Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"cert-manager.io/certificate-name": "app"}, OwnerReferences: []metav1.OwnerReference{owner}},
				Spec: cmapi.CertificateRequestSpec{Request: []byte("csr"), IssuerRef: issuerRef, Username: "system:serviceaccount:cert-manager:cert-manager",
					Groups: []string{"system:authenticated"}, Usages: []cmapi.KeyUsage{cmapi.UsageServerAuth}},
				Status: cmapi.CertificateRequestStatus{Conditions: conds, Certificate: []byte("cert"), CA: []byte("ca")},
			}
			out, err := SlimFinishedRequests()(cr)
			if err != nil {
				t.Fatal(err)
			}
			got := out.(*cmapi.CertificateRequest)
			if got.ManagedFields != nil {
				t.Error("managed fields kept")
			}
			slimmed := got.Spec.Request == nil && got.Status.Certificate == nil && got.Status.CA == nil
			whole := string(got.Spec.Request) == "csr" && string(got.Status.Certificate) == "cert" && string(got.Status.CA) == "ca"
			if tt.slim && !slimmed || !tt.slim && !whole {
				t.Errorf("request %q, certificate %q, ca %q; want slimmed: %v", got.Spec.Request, got.Status.Certificate, got.Status.CA, tt.slim)
			}
			// What issuer-lib reads to ignore a request, and what event
			// handlers may map, is always kept.
			if got.Name != "r" || got.Namespace != "ns" || got.UID != "uid" || got.ResourceVersion != "7" || got.Spec.IssuerRef != issuerRef ||
				got.Labels["app"] != "web" || len(got.OwnerReferences) != 1 || got.OwnerReferences[0] != owner {
				t.Errorf("identity, issuer reference, labels or owner references changed: %+v %+v", got.ObjectMeta, got.Spec.IssuerRef)
			}
			if len(got.Status.Conditions) != len(tt.conditions) {
				t.Fatalf("%d conditions, want %d", len(got.Status.Conditions), len(tt.conditions))
			}
			for i, c := range got.Status.Conditions {
				if c.Type != tt.conditions[i].Type || c.Status != tt.conditions[i].Status || c.Reason != tt.conditions[i].Reason {
					t.Errorf("condition %d is %+v, want %+v", i, c, tt.conditions[i])
				}
			}
			// The rest only while the request is not finished.
			rest := got.Annotations != nil && got.Spec.Username != "" && got.Spec.Groups != nil && got.Spec.Usages != nil &&
				(len(got.Status.Conditions) == 0 || got.Status.Conditions[0].Message != "")
			restDropped := got.Annotations == nil && got.Spec.Username == "" && got.Spec.Groups == nil && got.Spec.Usages == nil &&
				(len(got.Status.Conditions) == 0 || got.Status.Conditions[0].Message == "")
			if tt.slim && !restDropped || !tt.slim && !rest {
				t.Errorf("annotations %v, user %q %v, usages %v, conditions %+v; want slimmed: %v", got.Annotations, got.Spec.Username, got.Spec.Groups, got.Spec.Usages, got.Status.Conditions, tt.slim)
			}
		})
	}
}

func TestSlimFinishedKubernetesCSRs(t *testing.T) {
	csrCond := func(typ certificatesv1.RequestConditionType) certificatesv1.CertificateSigningRequestCondition {
		return certificatesv1.CertificateSigningRequestCondition{Type: typ, Status: corev1.ConditionTrue}
	}
	tests := []struct {
		name       string
		conditions []certificatesv1.CertificateSigningRequestCondition
		cert       []byte
		slim       bool
	}{
		{"pending: kept whole", nil, nil, false},
		{"approved, not signed: kept whole", []certificatesv1.CertificateSigningRequestCondition{csrCond(certificatesv1.CertificateApproved)}, nil, false},
		{"issued: request dropped, certificate kept", []certificatesv1.CertificateSigningRequestCondition{csrCond(certificatesv1.CertificateApproved)}, []byte("cert"), true},
		{"denied: request dropped", []certificatesv1.CertificateSigningRequestCondition{csrCond(certificatesv1.CertificateDenied)}, nil, true},
		{"failed: request dropped", []certificatesv1.CertificateSigningRequestCondition{csrCond(certificatesv1.CertificateApproved), csrCond(certificatesv1.CertificateFailed)}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			csr := &certificatesv1.CertificateSigningRequest{
				Spec:   certificatesv1.CertificateSigningRequestSpec{Request: []byte("csr"), SignerName: "s"},
				Status: certificatesv1.CertificateSigningRequestStatus{Conditions: tt.conditions, Certificate: tt.cert},
			}
			out, _ := SlimFinishedRequests()(csr)
			got := out.(*certificatesv1.CertificateSigningRequest)
			if (got.Spec.Request == nil) != tt.slim {
				t.Errorf("request %q; want dropped: %v", got.Spec.Request, tt.slim)
			}
			if string(got.Status.Certificate) != string(tt.cert) || got.Spec.SignerName != "s" {
				t.Error("the certificate or signer changed: issuer-lib tells an issued CSR by its certificate")
			}
		})
	}
}

func TestSlimFinishedPodCertificateRequests(t *testing.T) {
	c := func(typ string, status metav1.ConditionStatus) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Reason: "R"}
	}
	tests := []struct {
		name       string
		conditions []metav1.Condition
		slim       bool
	}{
		{"new: kept whole (it is about to be signed)", nil, false},
		{"a non-terminal condition: kept whole", []metav1.Condition{c("Pending", metav1.ConditionTrue)}, false},
		{"Issued=False: kept whole", []metav1.Condition{c(certificatesv1.PodCertificateRequestConditionTypeIssued, metav1.ConditionFalse)}, false},
		{"issued: slimmed", []metav1.Condition{c(certificatesv1.PodCertificateRequestConditionTypeIssued, metav1.ConditionTrue)}, true},
		{"denied: slimmed", []metav1.Condition{c(certificatesv1.PodCertificateRequestConditionTypeDenied, metav1.ConditionTrue)}, true},
		{"failed: slimmed", []metav1.Condition{c(certificatesv1.PodCertificateRequestConditionTypeFailed, metav1.ConditionTrue)}, true},
	}
	for _, tt := range tests {
		t.Run("v1 "+tt.name, func(t *testing.T) {
			in := &certificatesv1.PodCertificateRequest{
				Spec:   certificatesv1.PodCertificateRequestSpec{StubPKCS10Request: []byte("csr")},
				Status: certificatesv1.PodCertificateRequestStatus{Conditions: tt.conditions, CertificateChain: "chain"},
			}
			out, err := SlimFinishedRequests()(in)
			if err != nil {
				t.Fatal(err)
			}
			got := out.(*certificatesv1.PodCertificateRequest)
			if slimmed := got.Spec.StubPKCS10Request == nil && got.Status.CertificateChain == ""; slimmed != tt.slim {
				t.Errorf("slimmed = %v, want %v", slimmed, tt.slim)
			}
			if len(got.Status.Conditions) != len(tt.conditions) {
				t.Error("conditions dropped: the controller tells a finished request by them")
			}
			if tt.slim && !podcert.Finished(got.Status.Conditions) {
				t.Error("a slimmed request no longer reads as finished: it would be signed again")
			}
		})
		t.Run("v1beta1 "+tt.name, func(t *testing.T) {
			in := &certificatesv1beta1.PodCertificateRequest{
				Spec: certificatesv1beta1.PodCertificateRequestSpec{
					StubPKCS10Request: []byte("csr"), PKIXPublicKey: []byte("key"), ProofOfPossession: []byte("pop"), //nolint:staticcheck // the deprecated fields are slimmed too
				},
				Status: certificatesv1beta1.PodCertificateRequestStatus{Conditions: tt.conditions, CertificateChain: "chain"},
			}
			out, err := SlimFinishedRequests()(in)
			if err != nil {
				t.Fatal(err)
			}
			got := out.(*certificatesv1beta1.PodCertificateRequest)
			slimmed := got.Spec.StubPKCS10Request == nil && got.Spec.PKIXPublicKey == nil && got.Spec.ProofOfPossession == nil && got.Status.CertificateChain == "" //nolint:staticcheck // the deprecated fields are slimmed too
			if slimmed != tt.slim {
				t.Errorf("slimmed = %v, want %v", slimmed, tt.slim)
			}
		})
	}
}
