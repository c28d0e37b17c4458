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
	"context"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/cert-manager/issuer-lib/api/v1alpha1"
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

// signedRecently keeps this process from signing a request twice. issuer-lib
// decides from the informer cache whether a request still needs a
// certificate; right after it patched one in, a reconcile queued meanwhile
// can still read the request without it and sign again, overwriting the
// first certificate (the fault harness caught this: two certificates and
// two CertificateIssued Events for one request). So Sign remembers what it
// signed, and before signing a request it signed before, a live read (not
// the cache) decides: if the request already holds a certificate it is
// skipped; if it does not (the status patch failed), it is signed again.
// Only those few requests cost a read.
type signedRecently struct {
	reader client.Reader
	now    func() time.Time

	mu sync.Mutex
	at map[types.UID]time.Time
}

func newSignedRecently(reader client.Reader, now func() time.Time) *signedRecently {
	return &signedRecently{reader: reader, now: now, at: map[types.UID]time.Time{}}
}

// sign wraps s so that every request it signs is remembered.
func (r *signedRecently) sign(s signer.Sign) signer.Sign {
	return func(ctx context.Context, cr signer.CertificateRequestObject, issuer v1alpha1.Issuer) (signer.PEMBundle, error) {
		b, err := s(ctx, cr, issuer)
		if err == nil {
			r.mark(cr.GetUID())
		}
		return b, err
	}
}

func (r *signedRecently) mark(uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	for u, t := range r.at {
		if now.Sub(t) > signedRecentlyTTL {
			delete(r.at, u)
		}
	}
	r.at[uid] = now
}

func (r *signedRecently) signed(uid types.UID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.at[uid]
	return ok && r.now().Sub(t) <= signedRecentlyTTL
}

// ignore is issuer-lib's IgnoreCertificateRequest: true for a request this
// process signed whose live copy already holds a certificate (or is gone).
func (r *signedRecently) ignore(ctx context.Context, cr signer.CertificateRequestObject, _ schema.GroupVersionKind, _ types.NamespacedName) (bool, error) {
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
	return len(certificate) > 0, nil
}
