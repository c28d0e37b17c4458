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

package webhook

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// Webhook names in the ValidatingWebhookConfiguration.
const (
	IssuerWebhookName        = "nstanceissuers.issuer.nstance.dev"
	ClusterIssuerWebhookName = "nstanceclusterissuers.issuer.nstance.dev"
)

// Configuration is the ValidatingWebhookConfiguration the chart and
// config/ install (they write it as YAML; a test holds them to this): both
// issuer kinds, on CREATE and UPDATE of the object itself (never its
// status, which the controller writes), no side effects. clientConfig
// gives the client configuration of a webhook path.
func Configuration(name string, failurePolicy admissionregistrationv1.FailurePolicyType,
	clientConfig func(path string) admissionregistrationv1.WebhookClientConfig) *admissionregistrationv1.ValidatingWebhookConfiguration {
	none := admissionregistrationv1.SideEffectClassNone
	timeout := int32(10)
	hook := func(name, path, resource string, scope admissionregistrationv1.ScopeType) admissionregistrationv1.ValidatingWebhook {
		return admissionregistrationv1.ValidatingWebhook{
			Name:         name,
			ClientConfig: clientConfig(path),
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
				Rule: admissionregistrationv1.Rule{
					APIGroups: []string{v1alpha1.GroupVersion.Group}, APIVersions: []string{v1alpha1.GroupVersion.Version},
					Resources: []string{resource}, Scope: &scope,
				},
			}},
			FailurePolicy:           &failurePolicy,
			SideEffects:             &none,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
		}
	}
	return &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{
			hook(IssuerWebhookName, IssuerPath, "nstanceissuers", admissionregistrationv1.NamespacedScope),
			hook(ClusterIssuerWebhookName, ClusterIssuerPath, "nstanceclusterissuers", admissionregistrationv1.ClusterScope),
		},
	}
}
