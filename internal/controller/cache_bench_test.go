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
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
)

// finishedCertificateRequestJSON is a CertificateRequest as cert-manager's
// certificates controller makes it and the API server serves it once an
// issuer signed it: its annotations, owner reference, the service
// account's user info, approval and Ready conditions, PEM of about the
// harness's size (an ECDSA P-256 CSR and certificate, a CA).
func finishedCertificateRequestJSON(i int) []byte {
	now := metav1.NewTime(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	pem := make([]byte, 1100)
	cr := &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("app-%d-1", i), Namespace: fmt.Sprintf("team-%d", i%100), UID: types.UID(fmt.Sprintf("6f1c2e4a-0000-4000-8000-%012d", i)),
			ResourceVersion: fmt.Sprint(100000 + i), Generation: 1, CreationTimestamp: now,
			Annotations: map[string]string{
				"cert-manager.io/certificate-name":         fmt.Sprintf("app-%d", i),
				"cert-manager.io/certificate-revision":     "1",
				"cert-manager.io/private-key-secret-name":  fmt.Sprintf("app-%d-x7k2p", i),
				"cert-manager.io/alt-names":                fmt.Sprintf("app-%d.team.svc.cluster.local", i),
				"cert-manager.io/common-name":              fmt.Sprintf("app-%d", i),
				"cert-manager.io/issuer-name":              "team-ca",
				"cert-manager.io/issuer-kind":              "NstanceIssuer",
				"cert-manager.io/issuer-group":             "issuer.nstance.dev",
				"cert-manager.io/certificate-ip-addresses": "",
			},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "cert-manager.io/v1", Kind: "Certificate", Name: fmt.Sprintf("app-%d", i),
				UID: types.UID(fmt.Sprintf("9a1c2e4a-0000-4000-8000-%012d", i)), Controller: new(true), BlockOwnerDeletion: new(true)}},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "cert-manager-certificates-request-manager", Operation: metav1.ManagedFieldsOperationApply, APIVersion: "cert-manager.io/v1", Time: &now}},
		},
		Spec: cmapi.CertificateRequestSpec{
			Request:   pem,
			IssuerRef: cmmeta.IssuerReference{Name: "team-ca", Kind: "NstanceIssuer", Group: "issuer.nstance.dev"},
			Duration:  &metav1.Duration{Duration: 90 * 24 * time.Hour},
			Usages:    []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageKeyEncipherment, cmapi.UsageServerAuth},
			Username:  "system:serviceaccount:cert-manager:cert-manager",
			UID:       "0b6f4a0e-1111-4000-8000-000000000001",
			Groups:    []string{"system:serviceaccounts", "system:serviceaccounts:cert-manager", "system:authenticated"},
			Extra:     map[string][]string{"authentication.kubernetes.io/pod-name": {"cert-manager-7d9f8b6c5d-abcde"}, "authentication.kubernetes.io/pod-uid": {"3c2b1a00-2222-4000-8000-000000000002"}},
		},
		Status: cmapi.CertificateRequestStatus{
			Conditions: []cmapi.CertificateRequestCondition{
				{Type: cmapi.CertificateRequestConditionApproved, Status: cmmeta.ConditionTrue, Reason: "cert-manager.io", Message: "Certificate request has been approved by cert-manager.io", LastTransitionTime: &now},
				{Type: cmapi.CertificateRequestConditionReady, Status: cmmeta.ConditionTrue, Reason: cmapi.CertificateRequestReasonIssued, Message: "issued by nstance-issuer with template \"web\"", LastTransitionTime: &now},
			},
			Certificate: pem, CA: pem,
		},
	}
	b, err := json.Marshal(cr)
	if err != nil {
		panic(err)
	}
	return b
}

// BenchmarkCachedFinishedRequest reports what the manager's cache holds
// per finished CertificateRequest: the object as decoded from the API
// server's JSON and transformed, stored in a client-go indexer with the
// namespace index controller-runtime's cache adds. The figure is the Go
// heap growth per object (B/cached-request), not a time.
func BenchmarkCachedFinishedRequest(b *testing.B) {
	const n = 5000
	docs := make([][]byte, n)
	for i := range docs {
		docs[i] = finishedCertificateRequestJSON(i)
	}
	transform := SlimFinishedRequests()
	b.ResetTimer()
	for range b.N {
		indexer := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{toolscache.NamespaceIndex: toolscache.MetaNamespaceIndexFunc})
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for _, d := range docs {
			cr := &cmapi.CertificateRequest{}
			if err := json.Unmarshal(d, cr); err != nil {
				b.Fatal(err)
			}
			obj, err := transform(cr)
			if err != nil {
				b.Fatal(err)
			}
			if err := indexer.Add(obj); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/cached-request")
		runtime.KeepAlive(indexer)
	}
}
