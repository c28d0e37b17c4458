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

	"github.com/cert-manager/issuer-lib/controllers"
	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
)

// issuer-lib (v0.11) serves a Kubernetes CSR whose signer name is
// "<plural>.<group>/<issuer name>" and ignores every other: it would ignore
// templates.nstanceclusterissuers.issuer.nstance.dev/<issuer>.<template>
// (TemplatedSignerPrefix). internal/controller/signing's reader presents such a CSR to it as one of
// nstanceclusterissuers.issuer.nstance.dev/<issuer>, so that issuer-lib's
// request controller handles it exactly like the others: approval, issuer
// readiness, error kinds, status patch. Only the reconciler's copy is
// changed: issuer-lib's status patch carries no spec, and the Signer reads
// the signer name again from the cache (Decider) to take the
// template from it. issuer-lib's own index, which wakes CSRs when their
// issuer turns Ready, reads the cache and does not know these names:
// WatchTemplatedSigners does that for them.
// TestKubernetesCSRWithATemplatedSignerChangedAfterApproval fails if an
// issuer-lib upgrade changes this.

// PresentTemplatedSigner rewrites a templated signer name to its issuer's
// plain one.
func PresentTemplatedSigner(csr *certificatesv1.CertificateSigningRequest) {
	if sig, ours, err := parseCSRSigner(csr.Spec.SignerName); ours && err == nil && sig.Template != "" {
		csr.Spec.SignerName = issuer.ClusterIssuerSignerPrefix + sig.Issuer
	}
}

// templatedSignerIssuerField indexes CSRs of templated signer names by
// their issuer's name.
const templatedSignerIssuerField = "nstance.templatedSignerIssuer"

// IndexTemplatedSigners indexes the cached CSRs of templated signer names by
// their issuer, for WatchTemplatedSigners.
func IndexTemplatedSigners(ctx context.Context, mgr ctrl.Manager) error {
	return mgr.GetFieldIndexer().IndexField(ctx, &certificatesv1.CertificateSigningRequest{}, templatedSignerIssuerField, func(o client.Object) []string {
		csr, ok := o.(*certificatesv1.CertificateSigningRequest)
		if !ok {
			return nil
		}
		if sig, ours, err := parseCSRSigner(csr.Spec.SignerName); ours && err == nil && sig.Template != "" {
			return []string{sig.Issuer}
		}
		return nil
	})
}

// WatchTemplatedSigners, on the builder of issuer-lib's CSR controller, wakes the CSRs of templated signer names of an
// NstanceClusterIssuer when its Ready condition changes, as issuer-lib
// does for the CSRs it knows.
func WatchTemplatedSigners(b *builder.Builder, mgr ctrl.Manager) {
	b.Watches(&v1alpha1.NstanceClusterIssuer{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, issuer client.Object) []reconcile.Request {
		var csrs certificatesv1.CertificateSigningRequestList
		if err := mgr.GetCache().List(ctx, &csrs, client.MatchingFields{templatedSignerIssuerField: issuer.GetName()}); err != nil {
			log.FromContext(ctx).Error(err, "cannot list the CSRs of an issuer", "issuer", issuer.GetName())
			return nil
		}
		reqs := make([]reconcile.Request, 0, len(csrs.Items))
		for _, csr := range csrs.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: csr.Name}})
		}
		return reqs
	}), builder.WithPredicates(predicate.ResourceVersionChangedPredicate{}, controllers.LinkedIssuerPredicate{}))
}
