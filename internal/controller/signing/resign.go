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
	"bytes"
	"context"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	"github.com/cert-manager/issuer-lib/controllers/signer"
	certificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// signedRecentlyTTL is how long a signed request is remembered: far longer
// than an informer lags behind the API server.
const signedRecentlyTTL = 10 * time.Minute

// sweepEvery is how often SignedRecently drops what is past the TTL. A
// sweep on every signature walked every entry each time, which is
// quadratic over a burst (10,000 signatures in ten minutes: 10^8 steps);
// between sweeps, every lookup treats an entry past the TTL as absent.
const sweepEvery = 30 * time.Second

// SignedRecently keeps this process from signing a request twice. issuer-lib
// decides from the informer cache whether a request still needs a
// certificate; right after it patched one in, a reconcile queued meanwhile
// can still read the request without it and sign again, overwriting the
// first certificate (the fault harness caught this: two certificates and
// two CertificateIssued Events for one request). So Sign remembers what it
// signed, and before signing a request it signed before, a live read (not
// the cache) decides: if the request already holds a certificate it is
// skipped; if it does not (the status patch failed), it is signed again.
// Only those few requests cost a read.
//
// A signature is also delivered at most once. Until the status patch that
// carries it succeeds, the certificate and the Events that announce it
// (CertificateIssued and its warnings) are held: a request signed again
// because that patch failed gets the same certificate back, not a second
// one, and the Events are recorded once, when the certificate is in the
// request (the patch succeeded, or a live read finds it there after a patch
// whose answer was lost). Before this, one apiserver-down run of the fault
// harness counted two CertificateIssued Events for one request: the Event
// went out at signing, and the patch after it was lost to the outage. A
// process that dies before the patch loses what it held, as it should:
// nothing of it reached anyone.
type SignedRecently struct {
	reader client.Reader
	now    func() time.Time

	mu      sync.Mutex
	at      map[types.UID]time.Time
	held    map[types.UID]*heldSignature
	sweptAt time.Time
}

// heldSignature is a signature not yet delivered.
type heldSignature struct {
	at       time.Time
	bundle   *signer.PEMBundle
	announce []func()
}

func NewSignedRecently(reader client.Reader, now func() time.Time) *SignedRecently {
	return &SignedRecently{reader: reader, now: now, at: map[types.UID]time.Time{}, held: map[types.UID]*heldSignature{}}
}

// sign wraps s so that every request it signs is remembered, and a request
// whose certificate was not delivered gets the same one again.
func (r *SignedRecently) Sign(s signer.Sign) signer.Sign {
	return func(ctx context.Context, cr signer.CertificateRequestObject, iss issuerapi.Issuer) (signer.PEMBundle, error) {
		if b, ok := r.heldBundle(cr.GetUID()); ok {
			return b, nil
		}
		b, err := s(ctx, cr, iss)
		if err == nil {
			r.mark(cr.GetUID())
			r.holdBundle(cr.GetUID(), b)
		}
		return b, err
	}
}

// sweep drops the entries past the TTL, at most once per sweepEvery; r.mu
// must be held.
func (r *SignedRecently) sweep(now time.Time) {
	if now.Sub(r.sweptAt) < sweepEvery {
		return
	}
	r.sweptAt = now
	for u, t := range r.at {
		if now.Sub(t) > signedRecentlyTTL {
			delete(r.at, u)
		}
	}
	for u, h := range r.held {
		if now.Sub(h.at) > signedRecentlyTTL {
			delete(r.held, u)
		}
	}
}

// entry is uid's held signature, made if needed; r.mu must be held. An
// entry older than the TTL is not reused: what was not delivered by then
// never will be, and its Events must not be recorded.
func (r *SignedRecently) entry(uid types.UID) *heldSignature {
	now := r.now()
	r.sweep(now)
	h, ok := r.held[uid]
	if !ok || now.Sub(h.at) > signedRecentlyTTL {
		h = &heldSignature{at: now}
		r.held[uid] = h
	}
	return h
}

func (r *SignedRecently) holdBundle(uid types.UID, b signer.PEMBundle) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entry(uid).bundle = &b
}

func (r *SignedRecently) heldBundle(uid types.UID) (signer.PEMBundle, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.held[uid]
	if !ok || h.bundle == nil || r.now().Sub(h.at) > signedRecentlyTTL {
		return signer.PEMBundle{}, false
	}
	return *h.bundle, true
}

// AnnounceOnDelivery holds the Events announcing uid's signature until it is
// delivered (Signer.Announce).
func (r *SignedRecently) AnnounceOnDelivery(uid types.UID, events []func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.entry(uid)
	h.announce = append(h.announce, events...)
}

// delivered is told that the request uid holds certificate: if it is the
// held one, its Events are recorded now, once, and it is let go.
func (r *SignedRecently) delivered(uid types.UID, certificate []byte) {
	if len(certificate) == 0 {
		return
	}
	r.mu.Lock()
	h, ok := r.held[uid]
	if !ok || h.bundle == nil || !bytes.Equal(h.bundle.ChainPEM, certificate) || r.now().Sub(h.at) > signedRecentlyTTL {
		r.mu.Unlock()
		return
	}
	delete(r.held, uid)
	r.mu.Unlock()
	for _, announce := range h.announce {
		announce()
	}
}

// DeliveredObject is delivered for a request object a status patch
// returned.
func (r *SignedRecently) DeliveredObject(obj client.Object) {
	switch o := obj.(type) {
	case *cmapi.CertificateRequest:
		r.delivered(o.UID, o.Status.Certificate)
	case *certificatesv1.CertificateSigningRequest:
		r.delivered(o.UID, o.Status.Certificate)
	}
}

func (r *SignedRecently) mark(uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	r.sweep(now)
	r.at[uid] = now
}

func (r *SignedRecently) signed(uid types.UID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.at[uid]
	return ok && r.now().Sub(t) <= signedRecentlyTTL
}

// ignore is issuer-lib's IgnoreCertificateRequest: true for a request this
// process signed whose live copy already holds a certificate (or is gone).
func (r *SignedRecently) Ignore(ctx context.Context, cr signer.CertificateRequestObject, _ schema.GroupVersionKind, _ types.NamespacedName) (bool, error) {
	if !r.signed(cr.GetUID()) {
		return false, nil
	}
	key := client.ObjectKey{Namespace: cr.GetNamespace(), Name: cr.GetName()}
	var certificate []byte
	if key.Namespace != "" {
		var live cmapi.CertificateRequest
		if err := r.reader.Get(ctx, key, &live); err != nil {
			return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
		}
		certificate = live.Status.Certificate
	} else {
		var live certificatesv1.CertificateSigningRequest
		if err := r.reader.Get(ctx, key, &live); err != nil {
			return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
		}
		certificate = live.Status.Certificate
	}
	// A patch that reached the API server but whose answer was lost.
	r.delivered(cr.GetUID(), certificate)
	return len(certificate) > 0, nil
}
