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
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	certificatesv1beta1 "k8s.io/api/certificates/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/nstance-dev/nstance-issuer/internal/controller/podcert"
)

// The manager caches every CertificateRequest and Kubernetes CSR in the
// cluster (issuer-lib's controllers watch them all: no server-side filter
// selects an issuer), and most of them are finished. SlimFinishedRequests is
// the cache transform for both kinds: it drops managed fields from every
// object and, from a finished request, the PEM it will never read again —
// the CSR, a CertificateRequest's certificate and CA, and a
// PodCertificateRequest's stub CSR, key and chain — so the cache
// grows by a few hundred bytes per finished request instead of kilobytes.
//
// Finished means issuer-lib ignores the request for good: a
// CertificateRequest that is Ready, failed or denied; a Kubernetes CSR that
// has a certificate, or is failed or denied. A Kubernetes CSR keeps its
// certificate: issuer-lib tells an issued CSR by it. A PodCertificateRequest
// is finished once it has its Issued, Denied or Failed condition. The API server's
// objects are untouched; only the manager's copies are slimmed.
func SlimFinishedRequests() toolscache.TransformFunc {
	return func(in any) (any, error) {
		if obj, err := meta.Accessor(in); err == nil && obj.GetManagedFields() != nil {
			obj.SetManagedFields(nil)
		}
		switch r := in.(type) {
		case *cmapi.CertificateRequest:
			if certificateRequestFinished(r) {
				slimFinishedCertificateRequest(r)
			}
		case *certificatesv1.CertificateSigningRequest:
			if kubernetesCSRFinished(r) {
				r.Spec.Request = nil
			}
		case *certificatesv1.PodCertificateRequest:
			if podcert.Finished(r.Status.Conditions) {
				r.Spec.StubPKCS10Request = nil
				r.Status.CertificateChain = ""
			}
		case *certificatesv1beta1.PodCertificateRequest:
			if podcert.Finished(r.Status.Conditions) {
				r.Spec.StubPKCS10Request = nil
				// Deprecated fields that older clients may still set.
				r.Spec.PKIXPublicKey = nil     //nolint:staticcheck // see above
				r.Spec.ProofOfPossession = nil //nolint:staticcheck // see above
				r.Status.CertificateChain = ""
			}
		}
		return in, nil
	}
}

// slimFinishedCertificateRequest keeps of a finished CertificateRequest
// what issuer-lib reads to ignore it — its name, namespace, UID,
// resourceVersion, issuer reference and the type, status and reason of its
// conditions — and its labels and owner references, which a watch's event
// handlers may map. The rest is dropped: the PEM, the annotations (cert-
// manager's nine on every request), the requester's user info, usages,
// duration and condition messages. issuer-lib's update predicate compares
// annotations, so a request turning finished is reconciled once more
// (to be ignored), as it would be anyway.
func slimFinishedCertificateRequest(r *cmapi.CertificateRequest) {
	r.Annotations = nil
	r.Spec = cmapi.CertificateRequestSpec{IssuerRef: r.Spec.IssuerRef, IsCA: r.Spec.IsCA}
	r.Status.Certificate = nil
	r.Status.CA = nil
	r.Status.FailureTime = nil
	for i := range r.Status.Conditions {
		r.Status.Conditions[i].Message = ""
	}
}

func certificateRequestFinished(cr *cmapi.CertificateRequest) bool {
	for _, c := range cr.Status.Conditions {
		switch {
		case c.Type == cmapi.CertificateRequestConditionDenied && c.Status == cmmeta.ConditionTrue:
			return true
		case c.Type == cmapi.CertificateRequestConditionReady && c.Status == cmmeta.ConditionTrue:
			return true
		case c.Type == cmapi.CertificateRequestConditionReady && c.Status == cmmeta.ConditionFalse &&
			(c.Reason == cmapi.CertificateRequestReasonFailed || c.Reason == cmapi.CertificateRequestReasonDenied):
			return true
		}
	}
	return false
}

func kubernetesCSRFinished(csr *certificatesv1.CertificateSigningRequest) bool {
	if len(csr.Status.Certificate) > 0 {
		return true
	}
	for _, c := range csr.Status.Conditions {
		if (c.Type == certificatesv1.CertificateDenied || c.Type == certificatesv1.CertificateFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
