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
	"errors"
	"fmt"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	"github.com/cert-manager/issuer-lib/controllers/signer"
	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// A reconcile that reads a request from a cache that has not yet seen its
// signed status must not sign it again (found by the fault harness: one
// request, two certificates, two CertificateIssued Events).
func TestSignedRecentlyNeverSignsARequestTwiceFromAStaleCache(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	pending := func(name string) *cmapi.CertificateRequest {
		return &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID(name)}}
	}
	signedLive := pending("signed")
	signedLive.Status.Certificate = []byte("cert")
	csrLive := &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "csr", UID: "csr"}}
	csrLive.Status.Certificate = []byte("cert")
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{cmapi.AddToScheme, certificatesv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	reader := fake.NewClientBuilder().WithScheme(scheme).WithObjects(signedLive, pending("patch-failed"), csrLive).Build()
	r := NewSignedRecently(reader, clock)

	signs := 0
	sign := r.Sign(func(_ context.Context, cr signer.CertificateRequestObject, _ issuerapi.Issuer) (signer.PEMBundle, error) {
		signs++
		if cr.GetName() == "refused" {
			return signer.PEMBundle{}, errors.New("refused")
		}
		return signer.PEMBundle{ChainPEM: []byte("cert")}, nil
	})
	ignore := func(obj signer.CertificateRequestObject) bool {
		t.Helper()
		skip, err := r.Ignore(context.Background(), obj, schema.GroupVersionKind{}, types.NamespacedName{})
		if err != nil {
			t.Fatalf("ignore(%s): %v", obj.GetName(), err)
		}
		return skip
	}
	cached := func(name string) signer.CertificateRequestObject {
		return signer.CertificateRequestObjectFromCertificateRequest(pending(name))
	}

	// A request never signed is not read, whatever the API server holds.
	if ignore(cached("signed")) {
		t.Error("a request this process never signed was skipped")
	}
	for _, name := range []string{"signed", "patch-failed", "gone", "refused"} {
		_, _ = sign(context.Background(), cached(name), nil)
	}
	csr := signer.CertificateRequestObjectFromCertificateSigningRequest(&certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "csr", UID: "csr"}})
	_, _ = sign(context.Background(), csr, nil)
	if signs != 5 {
		t.Fatalf("signs = %d, want 5", signs)
	}
	for _, tc := range []struct {
		name string
		obj  signer.CertificateRequestObject
		skip bool
	}{
		{"signed, the live request holds the certificate: skipped", cached("signed"), true},
		{"signed, the live CSR holds the certificate: skipped", csr, true},
		{"signed but the status patch failed: reconciled again (and handed the same certificate)", cached("patch-failed"), false},
		{"signed and deleted since: skipped", cached("gone"), true},
		{"refused, not signed: reconciled as usual", cached("refused"), false},
	} {
		if got := ignore(tc.obj); got != tc.skip {
			t.Errorf("%s: ignore = %v, want %v", tc.name, got, tc.skip)
		}
	}

	// Forgotten after the TTL: a cache lags seconds, not minutes.
	now = now.Add(signedRecentlyTTL + time.Second)
	if ignore(cached("signed")) {
		t.Error("a request signed longer ago than the TTL was still read and skipped")
	}
	_, _ = sign(context.Background(), cached("other"), nil)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.at) != 1 {
		t.Errorf("remembered %d requests after the TTL, want only the one signed since", len(r.at))
	}
}

// A signature is delivered at most once: a request signed again because the
// status patch carrying its certificate failed gets the same certificate,
// and the Events announcing it are recorded once, when the certificate is in
// the request (found by the fault harness: two CertificateIssued Events for
// one request after an API server outage).
func TestSignedRecentlyDeliversASignatureOnce(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	scheme := runtime.NewScheme()
	if err := cmapi.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	request := func(name string, certificate []byte) *cmapi.CertificateRequest {
		cr := &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID(name)}}
		cr.Status.Certificate = certificate
		return cr
	}
	// "answer-lost": the patch reached the API server, its answer did not.
	reader := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		request("patch-failed", nil), request("answer-lost", []byte("cert-answer-lost-1"))).Build()
	r := NewSignedRecently(reader, clock)

	minted := map[string]int{}
	announced := map[string]int{}
	sign := r.Sign(func(_ context.Context, cr signer.CertificateRequestObject, _ issuerapi.Issuer) (signer.PEMBundle, error) {
		name := cr.GetName()
		minted[name]++
		r.AnnounceOnDelivery(cr.GetUID(), []func(){func() { announced[name]++ }})
		return signer.PEMBundle{ChainPEM: fmt.Appendf(nil, "cert-%s-%d", name, minted[name])}, nil
	})
	signAs := func(name string) []byte {
		t.Helper()
		b, err := sign(context.Background(), signer.CertificateRequestObjectFromCertificateRequest(request(name, nil)), nil)
		if err != nil {
			t.Fatal(err)
		}
		return b.ChainPEM
	}

	// Delivered by the status patch: announced then, once.
	first := signAs("delivered")
	if announced["delivered"] != 0 {
		t.Fatal("the Events were recorded before the certificate was delivered")
	}
	r.DeliveredObject(request("delivered", first))
	r.DeliveredObject(request("delivered", first))
	if announced["delivered"] != 1 {
		t.Errorf("announced %d times after delivery, want 1", announced["delivered"])
	}

	// The patch failed: signed again, the same certificate comes back and
	// nothing new is minted or announced until it is delivered.
	first = signAs("patch-failed")
	if skip, err := r.Ignore(context.Background(), signer.CertificateRequestObjectFromCertificateRequest(request("patch-failed", nil)), schema.GroupVersionKind{}, types.NamespacedName{}); err != nil || skip {
		t.Fatalf("ignore = %v, %v; want the request reconciled again", skip, err)
	}
	if again := signAs("patch-failed"); string(again) != string(first) || minted["patch-failed"] != 1 {
		t.Errorf("signed again after a failed patch: got %q (minted %d), want %q minted once", again, minted["patch-failed"], first)
	}
	if announced["patch-failed"] != 0 {
		t.Error("announced a certificate that was never delivered")
	}
	r.DeliveredObject(request("patch-failed", first))
	if announced["patch-failed"] != 1 {
		t.Errorf("announced %d times, want 1", announced["patch-failed"])
	}

	// The patch reached the API server but its answer was lost: the live
	// read of the next reconcile delivers it.
	signAs("answer-lost")
	if skip, err := r.Ignore(context.Background(), signer.CertificateRequestObjectFromCertificateRequest(request("answer-lost", nil)), schema.GroupVersionKind{}, types.NamespacedName{}); err != nil || !skip {
		t.Fatalf("ignore = %v, %v; want the request skipped", skip, err)
	}
	if announced["answer-lost"] != 1 {
		t.Errorf("announced %d times, want 1", announced["answer-lost"])
	}

	// A certificate that is not the held one (another writer's) announces
	// nothing; after the TTL nothing held is announced or handed out again.
	signAs("overwritten")
	r.DeliveredObject(request("overwritten", []byte("someone else's")))
	now = now.Add(signedRecentlyTTL + time.Second)
	signAs("later") // prunes
	r.DeliveredObject(request("overwritten", []byte("cert-overwritten-1")))
	if announced["overwritten"] != 0 {
		t.Errorf("announced a certificate that was not delivered within the TTL (%d)", announced["overwritten"])
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.held) != 1 {
		t.Errorf("holding %d signatures after the TTL, want only the one signed since", len(r.held))
	}
}

// SignedRecently sweeps what is past its TTL once per sweepEvery, not on
// every signature (a walk of every entry per signature is quadratic over a
// burst); between sweeps an entry past the TTL counts as absent: it is not
// "signed recently", its bundle is not handed out, and its delivery
// announces nothing.
func TestSignedRecentlySweepsPeriodicallyAndIgnoresWhatIsPastTheTTL(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	now := start
	r := NewSignedRecently(nil, func() time.Time { return now })
	announced := 0
	sign := r.Sign(func(_ context.Context, cr signer.CertificateRequestObject, _ issuerapi.Issuer) (signer.PEMBundle, error) {
		r.AnnounceOnDelivery(cr.GetUID(), []func(){func() { announced++ }})
		return signer.PEMBundle{ChainPEM: []byte("cert-" + cr.GetName())}, nil
	})
	signAs := func(name string) {
		t.Helper()
		cr := &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID(name)}}
		if _, err := sign(context.Background(), signer.CertificateRequestObjectFromCertificateRequest(cr), nil); err != nil {
			t.Fatal(err)
		}
	}
	delivered := func(name string) *cmapi.CertificateRequest {
		cr := &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID(name)}}
		cr.Status.Certificate = []byte("cert-" + name)
		return cr
	}

	signAs("old") // the first signature sweeps (nothing yet)
	now = start.Add(signedRecentlyTTL - time.Second)
	signAs("recent") // sweeps: "old" is not past the TTL yet
	now = start.Add(signedRecentlyTTL + time.Second)
	signAs("new") // within sweepEvery of the last sweep: no sweep

	r.mu.Lock()
	entries := len(r.at)
	r.mu.Unlock()
	if entries != 3 {
		t.Errorf("%d signatures remembered, want 3: a sweep ran within %v of the last", entries, sweepEvery)
	}
	if r.signed("old") {
		t.Error(`"old" is past the TTL but counts as signed recently`)
	}
	if _, ok := r.heldBundle("old"); ok {
		t.Error(`the bundle of "old" is handed out past the TTL`)
	}
	r.DeliveredObject(delivered("old"))
	if announced != 0 {
		t.Errorf("a signature delivered past the TTL was announced (%d)", announced)
	}
	r.DeliveredObject(delivered("new"))
	if announced != 1 {
		t.Errorf("announced %d, want 1 for the signature delivered in time", announced)
	}

	now = now.Add(sweepEvery)
	signAs("later") // sweeps: "old" goes
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.at["old"]; ok || len(r.at) != 3 {
		t.Errorf("after the sweep: %d remembered (old kept: %v), want recent, new and later", len(r.at), ok)
	}
}
