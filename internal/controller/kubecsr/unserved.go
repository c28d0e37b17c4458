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
	"context"
	"fmt"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
)

// ReasonInvalidSignerName: a Kubernetes CSR's signer name has our templated
// signer prefix but names no template.
const ReasonInvalidSignerName = "InvalidSignerName"

// UnservedSignerReconciler fails approved Kubernetes CSRs that issuer-lib
// ignores although their signer name is ours: those that name an
// NstanceIssuer, and templated signer names without a template. The
// requester learns why nothing happens instead of waiting forever. It never
// signs anything.
type UnservedSignerReconciler struct {
	client.Client
	Recorder events.EventRecorder
}

// +kubebuilder:rbac:groups=certificates.k8s.io,resources=certificatesigningrequests,verbs=get;list;watch
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=certificatesigningrequests/status,verbs=patch

// Reconcile marks one such CSR Failed.
func (r *UnservedSignerReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var csr certificatesv1.CertificateSigningRequest
	if err := r.Get(ctx, req.NamespacedName, &csr); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	reason, msg := unservedSigner(csr.Spec.SignerName)
	if reason == "" || !csrHas(&csr, certificatesv1.CertificateApproved) ||
		csrHas(&csr, certificatesv1.CertificateDenied) || csrHas(&csr, certificatesv1.CertificateFailed) || len(csr.Status.Certificate) > 0 {
		return ctrl.Result{}, nil
	}
	orig := csr.DeepCopy()
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type:               certificatesv1.CertificateFailed,
		Status:             corev1.ConditionTrue,
		Reason:             reason,
		Message:            msg,
		LastUpdateTime:     metav1.Now(),
		LastTransitionTime: metav1.Now(),
	})
	if err := r.Status().Patch(ctx, &csr, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return ctrl.Result{}, err
	}
	r.Recorder.Eventf(&csr, nil, corev1.EventTypeWarning, reason, "Sign", "%s", msg)
	return ctrl.Result{}, nil
}

// unservedSigner says why a CSR of signer name is ours but not served, or
// returns an empty reason.
func unservedSigner(signerName string) (reason, msg string) {
	if strings.HasPrefix(signerName, issuer.NamespacedSignerPrefix) {
		return issuer.ReasonNamespacedIssuerNotSupported, fmt.Sprintf("signer %q names an NstanceIssuer, which is namespaced; Kubernetes CSRs are cluster-scoped, "+
			"so use an NstanceClusterIssuer: signerName nstanceclusterissuers.issuer.nstance.dev/<name>", signerName)
	}
	if _, ours, err := parseCSRSigner(signerName); ours && err != nil {
		return ReasonInvalidSignerName, err.Error()
	}
	return "", ""
}

func csrHas(csr *certificatesv1.CertificateSigningRequest, t certificatesv1.RequestConditionType) bool {
	for _, c := range csr.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// SetupWithManager watches only CSRs of such signer names.
func (r *UnservedSignerReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("namespaced-csr").
		For(&certificatesv1.CertificateSigningRequest{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			csr, ok := o.(*certificatesv1.CertificateSigningRequest)
			if !ok {
				return false
			}
			reason, _ := unservedSigner(csr.Spec.SignerName)
			return reason != ""
		}))).
		Complete(r)
}
