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
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

func issuerWith(dns ...string) *v1alpha1.NstanceIssuer {
	return &v1alpha1.NstanceIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team-a"},
		Spec: v1alpha1.IssuerSpec{CA: v1alpha1.CASpec{SecretName: "ca"}, DefaultTemplate: "web",
			Templates: []v1alpha1.CertificateTemplate{{Name: "web", DNS: dns, AllowedDNSNames: []string{"*.team-a.example.com"}}}},
	}
}

func TestValidator(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := IssuerValidator{}
	broken := issuerWith("{{")
	good := issuerWith()

	if w, err := v.ValidateCreate(ctx, good); err != nil || len(w) != 0 {
		t.Errorf("a valid issuer: warnings %q, error %v", w, err)
	}
	_, err := v.ValidateCreate(ctx, broken)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `NstanceIssuer.issuer.nstance.dev "web" is invalid: spec.templates[0].dns[0]: Invalid value: template "web" field dns[0]: `) {
		t.Errorf("a broken issuer at create: %v, want Invalid with the path and the controller's message", err)
	}
	if _, err := v.ValidateUpdate(ctx, good, broken); !apierrors.IsInvalid(err) {
		t.Errorf("breaking an issuer by update: %v, want Invalid", err)
	}
	relabelled := broken.DeepCopy()
	relabelled.Labels = map[string]string{"team": "a"}
	w, err := v.ValidateUpdate(ctx, broken, relabelled)
	if err != nil || len(w) != 1 || !strings.HasPrefix(w[0], "spec.templates[0].dns[0]: ") {
		t.Errorf("relabelling an invalid issuer: warnings %q, error %v; want allowed with its problem as a warning", w, err)
	}
	deleting := broken.DeepCopy()
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	deleting.Spec.Templates[0].DNS = []string{"{{ x"}
	if _, err := v.ValidateUpdate(ctx, broken, deleting); err != nil {
		t.Errorf("an update while deleting: %v, want allowed", err)
	}
	if _, err := v.ValidateDelete(ctx, broken); err != nil {
		t.Errorf("deleting: %v", err)
	}
	c := ClusterIssuerValidator{}
	ci := &v1alpha1.NstanceClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "ca"}, Spec: good.Spec}
	ci.Spec.AllowPassThrough, ci.Spec.DefaultTemplate = true, ""
	if w, err := c.ValidateCreate(ctx, ci); err != nil || len(w) != 1 || !strings.HasPrefix(w[0], "spec.allowPassThrough: ") {
		t.Errorf("pass-through on a cluster issuer: warnings %q, error %v", w, err)
	}
}

// An issuer with its CA key in a KMS or an HSM is refused and warned
// about by the webhook as by the controller: the key URI is checked
// statically (pki.ValidateIssuer), whether the issuer may use the key is
// the controller's (its flags), so a tenant's issuer without credentials
// is allowed with a warning.
func TestValidatorCAKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := IssuerValidator{}
	pin := issuerWith()
	pin.Spec.CA.Key = &v1alpha1.CAKey{URI: "pkcs11:token=ca;object=root?pin-source=/etc/shadow"}
	_, err := v.ValidateCreate(ctx, pin)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.ca.key.uri: ") || !strings.Contains(err.Error(), "never reads files named by a key URI") {
		t.Errorf("a key URI naming a PIN file: %v, want Invalid at spec.ca.key.uri", err)
	}
	ambient := issuerWith()
	ambient.Spec.CA.Key = &v1alpha1.CAKey{URI: "awskms:key-id=arn:aws:kms:eu-west-1:111122223333:key/k"}
	w, err := v.ValidateCreate(ctx, ambient)
	if err != nil || len(w) != 1 || !strings.HasPrefix(w[0], "spec.ca.key.credentialsSecretRef: ") {
		t.Errorf("a tenant's KMS key without credentials: warnings %q, error %v; want allowed with a warning", w, err)
	}
	own := ambient.DeepCopy()
	own.Spec.CA.Key.CredentialsSecretRef = &v1alpha1.SecretReference{Name: "aws"}
	if w, err := v.ValidateCreate(ctx, own); err != nil || len(w) != 0 {
		t.Errorf("a tenant's KMS key with its own credentials: warnings %q, error %v", w, err)
	}
}
