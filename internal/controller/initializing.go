package controller

import (
	"context"

	cmutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// issuer-lib's request controller (v0.11) handles an approved
// CertificateRequest without a Ready condition in two passes: the first only
// writes Ready=Unknown/Initializing and returns, the write's watch event
// starts the second, which signs and writes Ready=True. That first write is
// half of the API traffic signing costs, doubles each request's latency and
// shows users nothing cert-manager's own issuers do not (they go straight to
// Ready).
//
// singleWriteManager removes it without forking issuer-lib: the controllers
// it sets up read CertificateRequests through a client that presents an
// approved request lacking a Ready condition as already Initializing, so the
// first pass goes on to sign and the request is written once. The condition
// exists only in the reconciler's copy (the cached client deep-copies on
// Get); it is never sent to the API server, because issuer-lib's status
// patch carries only the conditions it sets. Denied and unapproved requests
// are left exactly as read. TestRequestStatusIsWrittenOnce fails if an
// issuer-lib upgrade changes this.
type singleWriteManager struct {
	ctrl.Manager
}

func (m singleWriteManager) GetClient() client.Client {
	return initializedRequestReader{Client: m.Manager.GetClient()}
}

type initializedRequestReader struct {
	client.Client
}

func (c initializedRequestReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := c.Client.Get(ctx, key, obj, opts...); err != nil {
		return err
	}
	if cr, ok := obj.(*cmapi.CertificateRequest); ok {
		presentAsInitializing(cr)
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
		Message:            FieldOwner + " has started reconciling this CertificateRequest",
		LastTransitionTime: &now,
	})
	return true
}
