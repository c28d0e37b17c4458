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

	cmutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/controller/kubecsr"
)

// Two adjustments to issuer-lib (v0.11) halve the API writes each
// certificate costs: one status write instead of two, and one Event instead
// of two. The load harness (cmd/nstance-bench) counts both.

// issuer-lib's request controller handles an approved
// CertificateRequest without a Ready condition in two passes: the first only
// writes Ready=Unknown/Initializing and returns, the write's watch event
// starts the second, which signs and writes Ready=True. That first write is
// half of the API writes signing costs and doubles each request's latency,
// for a state cert-manager's own issuers never show (they go straight to
// Ready).
//
// SingleWriteManager removes it without forking issuer-lib: the controllers
// it sets up read CertificateRequests through a client that presents an
// approved request lacking a Ready condition as already Initializing, so the
// first pass goes on to sign and the request is written once. The condition
// exists only in the reconciler's copy (the cached client deep-copies on
// Get); it is never sent to the API server, because issuer-lib's status
// patch carries only the conditions it sets. Denied and unapproved requests
// are left exactly as read. TestRequestStatusIsWrittenOnce fails if an
// issuer-lib upgrade changes this.
//
// The first Ready condition a request gets still starts one more pass
// (issuer-lib's predicate reacts to the number of conditions): after
// Issued or Failed that pass ignores the request; after a Pending or
// retryable result it tries once more at once, repeating its Event, where
// issuer-lib alone would have tried once after Initializing. Its status
// patch is then identical and changes nothing.
//
// Its client also tells Delivered of every request object a status patch
// wrote (resign.go: a signature's Events are recorded once it is
// delivered).
type SingleWriteManager struct {
	ctrl.Manager
	// Delivered, when set, is told of every request object a status patch
	// wrote (SignedRecently.DeliveredObject).
	Delivered func(client.Object)
}

// GetClient is the manager's client, presenting requests as above.
func (m SingleWriteManager) GetClient() client.Client {
	return initializedRequestReader{Client: m.Manager.GetClient(), delivered: m.Delivered}
}

type initializedRequestReader struct {
	client.Client
	delivered func(client.Object)
}

func (c initializedRequestReader) Status() client.SubResourceWriter {
	w := c.Client.Status()
	if c.delivered == nil {
		return w
	}
	return deliveringStatusWriter{SubResourceWriter: w, delivered: c.delivered}
}

// deliveringStatusWriter calls delivered with the object a successful status
// patch returned (the API server's copy, with its UID and certificate).
type deliveringStatusWriter struct {
	client.SubResourceWriter
	delivered func(client.Object)
}

func (w deliveringStatusWriter) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	if err := w.SubResourceWriter.Patch(ctx, obj, patch, opts...); err != nil {
		return err
	}
	w.delivered(obj)
	return nil
}

func (c initializedRequestReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := c.Client.Get(ctx, key, obj, opts...); err != nil {
		return err
	}
	switch o := obj.(type) {
	case *cmapi.CertificateRequest:
		presentAsInitializing(o)
	case *certificatesv1.CertificateSigningRequest:
		kubecsr.PresentTemplatedSigner(o)
	}
	return nil
}

// presentAsInitializing adds Ready=Unknown/Initializing to an approved,
// undenied request that has no Ready condition yet, and reports whether it
// did.
func presentAsInitializing(cr *cmapi.CertificateRequest) bool {
	if !cmutil.CertificateRequestIsApproved(cr) || cmutil.CertificateRequestIsDenied(cr) {
		return false
	}
	if cmutil.GetCertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady) != nil {
		return false
	}
	now := metav1.Now()
	cr.Status.Conditions = append(cr.Status.Conditions, cmapi.CertificateRequestCondition{
		Type:               cmapi.CertificateRequestConditionReady,
		Status:             cmmeta.ConditionUnknown,
		Reason:             issuerapi.CertificateRequestConditionReasonInitializing,
		Message:            issuer.FieldOwner + " has started reconciling this CertificateRequest",
		LastTransitionTime: &now,
	})
	return true
}

// issuerLibIssuedReason is the reason of the Event issuer-lib records on
// every signed request ("Succeeded signing the CertificateRequest").
const issuerLibIssuedReason = "Issued"

// WithoutGenericIssuedEvent is the recorder issuer-lib's controllers get: it
// drops their "Issued" Event, because the Signer records CertificateIssued
// about the same request, naming the serial, template, NotAfter and issuer.
// A second Event per certificate would tell users nothing more and cost the
// API server a write. Every other Event passes.
type WithoutGenericIssuedEvent struct {
	events.EventRecorder
}

func (r WithoutGenericIssuedEvent) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	if reason == issuerLibIssuedReason {
		return
	}
	r.EventRecorder.Eventf(regarding, related, eventtype, reason, action, note, args...)
}
