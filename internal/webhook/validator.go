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

// Package webhook is the validating admission webhook of NstanceIssuer and
// NstanceClusterIssuer: it refuses at kubectl apply what the controller
// would otherwise report only on the issuer's Ready condition, with the
// same messages and their field paths, and returns warnings for what is
// legal but likely wrong. Both come from pki.ValidateIssuer, the one
// validation the controller and the explain command call too. The
// webhook's serving certificate is kept by servingcert (a small CA of the
// manager's own) or read from files cert-manager writes.
package webhook

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
)

// Paths the webhook server serves; the chart's and config/'s
// ValidatingWebhookConfiguration name them.
const (
	IssuerPath        = "/validate-issuer-nstance-dev-v1alpha1-nstanceissuer"
	ClusterIssuerPath = "/validate-issuer-nstance-dev-v1alpha1-nstanceclusterissuer"
)

// Kinds of issuer, as pki.IssuerData names them.
const (
	kindIssuer        = "NstanceIssuer"
	kindClusterIssuer = "NstanceClusterIssuer"
)

// IssuerValidator validates NstanceIssuers.
type IssuerValidator struct{}

// ClusterIssuerValidator validates NstanceClusterIssuers.
type ClusterIssuerValidator struct{}

var (
	_ admission.Validator[*v1alpha1.NstanceIssuer]        = IssuerValidator{}
	_ admission.Validator[*v1alpha1.NstanceClusterIssuer] = ClusterIssuerValidator{}
)

// ValidateCreate refuses an NstanceIssuer pki.ValidateIssuer refuses.
func (IssuerValidator) ValidateCreate(_ context.Context, obj *v1alpha1.NstanceIssuer) (admission.Warnings, error) {
	return validate(obj, &obj.Spec, nil, pki.IssuerData{Name: obj.Name, Namespace: obj.Namespace, Kind: kindIssuer})
}

// ValidateUpdate refuses an update of an NstanceIssuer's spec that
// pki.ValidateIssuer refuses.
func (IssuerValidator) ValidateUpdate(_ context.Context, oldObj, obj *v1alpha1.NstanceIssuer) (admission.Warnings, error) {
	return validate(obj, &obj.Spec, &oldObj.Spec, pki.IssuerData{Name: obj.Name, Namespace: obj.Namespace, Kind: kindIssuer})
}

// ValidateDelete allows every deletion.
func (IssuerValidator) ValidateDelete(context.Context, *v1alpha1.NstanceIssuer) (admission.Warnings, error) {
	return nil, nil
}

// ValidateCreate refuses an NstanceClusterIssuer pki.ValidateIssuer refuses.
func (ClusterIssuerValidator) ValidateCreate(_ context.Context, obj *v1alpha1.NstanceClusterIssuer) (admission.Warnings, error) {
	return validate(obj, &obj.Spec, nil, pki.IssuerData{Name: obj.Name, Kind: kindClusterIssuer})
}

// ValidateUpdate refuses an update of an NstanceClusterIssuer's spec that
// pki.ValidateIssuer refuses.
func (ClusterIssuerValidator) ValidateUpdate(_ context.Context, oldObj, obj *v1alpha1.NstanceClusterIssuer) (admission.Warnings, error) {
	return validate(obj, &obj.Spec, &oldObj.Spec, pki.IssuerData{Name: obj.Name, Kind: kindClusterIssuer})
}

// ValidateDelete allows every deletion.
func (ClusterIssuerValidator) ValidateDelete(context.Context, *v1alpha1.NstanceClusterIssuer) (admission.Warnings, error) {
	return nil, nil
}

// validate runs pki.ValidateIssuer. An update that leaves the spec as it
// was (labels, annotations such as rotate-now, finalizers) or that comes
// while the issuer is being deleted is allowed, with the warnings and the
// problems as warnings: an issuer that a newer version finds invalid must
// still be annotated, relabelled and deleted.
func validate(obj client.Object, spec, oldSpec *v1alpha1.IssuerSpec, issuer pki.IssuerData) (admission.Warnings, error) {
	v := pki.ValidateIssuer(spec, issuer)
	warnings := admission.Warnings(v.Warnings)
	if len(v.Errors) == 0 {
		return warnings, nil
	}
	if (oldSpec != nil && equality.Semantic.DeepEqual(spec, oldSpec)) || !obj.GetDeletionTimestamp().IsZero() {
		for _, e := range v.Errors {
			warnings = append(warnings, e.Error())
		}
		return warnings, nil
	}
	return warnings, apierrors.NewInvalid(v1alpha1.GroupVersion.WithKind(issuer.Kind).GroupKind(), obj.GetName(), v.Errors)
}
