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

package signing

import (
	"context"
	"fmt"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

func cond(typ cmapi.CertificateRequestConditionType, status cmmeta.ConditionStatus, reason string) cmapi.CertificateRequestCondition {
	return cmapi.CertificateRequestCondition{Type: typ, Status: status, Reason: reason}
}

func TestPresentAsInitializing(t *testing.T) {
	approved := cond(cmapi.CertificateRequestConditionApproved, cmmeta.ConditionTrue, "Approved")
	denied := cond(cmapi.CertificateRequestConditionDenied, cmmeta.ConditionTrue, "Denied")
	pending := cond(cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, cmapi.CertificateRequestReasonPending)
	tests := []struct {
		name       string
		conditions []cmapi.CertificateRequestCondition
		want       bool
	}{
		{"approved, no Ready: presented as Initializing", []cmapi.CertificateRequestCondition{approved}, true},
		{"not yet approved: as read", nil, false},
		{"denied: as read (issuer-lib records the denial)", []cmapi.CertificateRequestCondition{denied}, false},
		{"approved with a Ready condition: as read", []cmapi.CertificateRequestCondition{approved, pending}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cr := &cmapi.CertificateRequest{Status: cmapi.CertificateRequestStatus{Conditions: tt.conditions}}
			before := len(cr.Status.Conditions)
			if got := presentAsInitializing(cr); got != tt.want {
				t.Fatalf("presentAsInitializing = %v, want %v", got, tt.want)
			}
			if !tt.want {
				if len(cr.Status.Conditions) != before {
					t.Errorf("conditions changed: %+v", cr.Status.Conditions)
				}
				return
			}
			var ready *cmapi.CertificateRequestCondition
			for i := range cr.Status.Conditions {
				if cr.Status.Conditions[i].Type == cmapi.CertificateRequestConditionReady {
					ready = &cr.Status.Conditions[i]
				}
			}
			if ready == nil || ready.Status != cmmeta.ConditionUnknown || ready.Reason != issuerapi.CertificateRequestConditionReasonInitializing || ready.LastTransitionTime == nil {
				t.Errorf("Ready = %+v, want Unknown/Initializing with a transition time", ready)
			}
		})
	}
}

// The reader changes only the caller's copy, only for CertificateRequests.
func TestInitializedRequestReaderLeavesTheStoreAlone(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = cmapi.AddToScheme(scheme)
	_ = corev1.AddToScheme(scheme)
	stored := &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "cr"},
		Status:     cmapi.CertificateRequestStatus{Conditions: []cmapi.CertificateRequestCondition{cond(cmapi.CertificateRequestConditionApproved, cmmeta.ConditionTrue, "Approved")}},
	}
	inner := fake.NewClientBuilder().WithScheme(scheme).WithObjects(stored, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "cm"}}).Build()
	reader := initializedRequestReader{Client: inner}
	ctx := context.Background()

	var got cmapi.CertificateRequest
	if err := reader.Get(ctx, client.ObjectKeyFromObject(stored), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Status.Conditions) != 2 {
		t.Fatalf("reader's copy has %d conditions, want Approved + Initializing", len(got.Status.Conditions))
	}
	var again cmapi.CertificateRequest
	if err := inner.Get(ctx, client.ObjectKeyFromObject(stored), &again); err != nil {
		t.Fatal(err)
	}
	if len(again.Status.Conditions) != 1 {
		t.Errorf("the stored object changed: %+v", again.Status.Conditions)
	}
	var cm corev1.ConfigMap
	if err := reader.Get(ctx, client.ObjectKey{Namespace: "ns", Name: "cm"}, &cm); err != nil {
		t.Errorf("other kinds pass through: %v", err)
	}
	if err := reader.Get(ctx, client.ObjectKey{Namespace: "ns", Name: "absent"}, &got); err == nil {
		t.Error("a missing object's error must pass through")
	}
}

type recordedEvent struct{ reason, note string }

type listRecorder struct{ got *[]recordedEvent }

func (r listRecorder) Eventf(_, _ runtime.Object, _, reason, _, note string, args ...any) {
	*r.got = append(*r.got, recordedEvent{reason, fmt.Sprintf(note, args...)})
}

func TestWithoutGenericIssuedEvent(t *testing.T) {
	var got []recordedEvent
	r := WithoutGenericIssuedEvent{EventRecorder: listRecorder{&got}}
	cr := &cmapi.CertificateRequest{}
	r.Eventf(cr, nil, corev1.EventTypeNormal, "Issued", "Synced", "Succeeded signing the CertificateRequest")
	r.Eventf(cr, nil, corev1.EventTypeWarning, "PermanentError", "SyncFailed", "bad %s", "csr")
	r.Eventf(cr, nil, corev1.EventTypeNormal, v1alpha1.EventReasonCertificateIssued, "Sign", "serial %X", 10)
	want := []recordedEvent{{"PermanentError", "bad csr"}, {v1alpha1.EventReasonCertificateIssued, "serial A"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("recorded %v, want %v", got, want)
	}
}
