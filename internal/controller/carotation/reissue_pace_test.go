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

package carotation

import (
	"context"
	"encoding/pem"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

// slowReader is an API server on which listing takes step: each List
// moves the clock on, as listing thousands of Certificates does.
type slowReader struct {
	client.Reader
	clock *clocktesting.FakeClock
	step  time.Duration
}

func (s slowReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	s.clock.Step(s.step)
	return s.Reader.List(ctx, list, opts...)
}

// TestReissuePaceIsKeptFromThePassStart: a pass that starts when the next
// batch is due triggers it, records the pass's start as lastBatchAt and
// looks again at lastBatchAt + interval, however long its reads took.
// Before, lastBatchAt was the time after the reads and the next look an
// interval after that, so every batch came an interval plus a pass after
// the previous one (12 s instead of 10 s with 1,000 Certificates in the
// harness, more with more).
func TestReissuePaceIsKeptFromThePassStart(t *testing.T) {
	t.Parallel()
	oldCA, err := testpki.NewValidRootCA("old")
	if err != nil {
		t.Fatal(err)
	}
	newCA, err := testpki.NewValidRootCA("new")
	if err != nil {
		t.Fatal(err)
	}
	interval := 10 * time.Second
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	rotatedAt := t0.Add(-time.Hour)
	lastBatch := metav1.NewTime(t0.Add(-interval)) // the next batch is due at t0
	iss := &v1alpha1.NstanceIssuer{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "web"},
		Spec:       v1alpha1.IssuerSpec{CA: v1alpha1.CASpec{SecretName: "ca"}},
		Status: v1alpha1.IssuerStatus{
			CA: &v1alpha1.CAStatus{SHA256Fingerprint: pki.Fingerprint(newCA.Cert)},
			Rotation: &v1alpha1.RotationStatus{Reissue: &v1alpha1.ReissueStatus{
				Token: "incident", RotatedAt: metav1.NewTime(rotatedAt), LastBatchAt: &lastBatch,
			}},
		},
	}
	objs := []client.Object{iss}
	for _, name := range []string{"a", "b", "c"} {
		objs = append(objs, &cmapi.Certificate{
			ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: name, CreationTimestamp: metav1.NewTime(rotatedAt.Add(-time.Hour))},
			Spec: cmapi.CertificateSpec{SecretName: name + "-tls", IssuerRef: cmmeta.IssuerReference{
				Group: v1alpha1.GroupVersion.Group, Kind: issuer.KindIssuer, Name: "web",
			}},
		}, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: name + "-tls"},
			Data:       map[string][]byte{"tls.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: signedLeaf(t, oldCA).Raw})},
		})
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, cmapi.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).WithStatusSubresource(iss).Build()
	clock := clocktesting.NewFakeClock(t0)
	r := &Reconciler{
		Kind: issuer.KindIssuer, Client: c, Reader: slowReader{Reader: c, clock: clock, step: 3 * time.Second},
		Clock: clock, Reissue: ReissuePolicy{BatchSize: 1, Interval: interval},
	}
	v, err := issuer.NewView(iss, "")
	if err != nil {
		t.Fatal(err)
	}
	g := &generations{
		issuing: &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "ca", Annotations: map[string]string{
			annotationRotatedAt: rotatedAt.Format(time.RFC3339), annotationRotatedForToken: "incident",
		}}},
		issuingCA: &pki.CA{Cert: newCA.Cert},
		retired:   []retiredGeneration{{cert: oldCA.Cert}},
	}
	batch, next, err := r.planReissue(context.Background(), v, g, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) != 1 {
		t.Fatalf("a pass that starts when the batch is due triggers it: batch %v", batch)
	}
	if got := g.reissue.LastBatchAt; got == nil || !got.Time.Equal(t0) {
		t.Errorf("lastBatchAt is %v, want the pass's start %s, not the end of its 3 s of reads", got, t0)
	}
	if want := t0.Add(interval); !next.Equal(want) {
		t.Errorf("the next look is at %s, want lastBatchAt + interval = %s", next, want)
	}
}
