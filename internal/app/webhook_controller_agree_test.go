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

package app_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cert-manager/issuer-lib/controllers/signer"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/controller/signing"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/webhook"
)

// noSecrets is a CASecrets with no Secret: a valid issuer's Check stops at
// its (retryable) missing CA, after the validation this test is about.
type noSecrets struct{}

func (noSecrets) Get(context.Context, issuer.Ref, types.NamespacedName) (*corev1.Secret, error) {
	return nil, nil
}
func (noSecrets) GetSlot(context.Context, issuer.Ref, string, types.NamespacedName) (*corev1.Secret, error) {
	return nil, nil
}
func (noSecrets) ForgetSlot(issuer.Ref, string)  {}
func (noSecrets) NotifyAt(issuer.Ref, time.Time) {}

// Both doors, wired here where the manager wires both: for every spec, the webhook refuses exactly what the
// controller's Check refuses for good as an invalid issuer, with the same
// field paths and messages, for both kinds; and it admits what Check
// accepts. (Check of an accepted spec goes on to read the CA, which is
// missing here: a retryable error, not a refusal.)
func TestWebhookAndControllerRefuseTheSameIssuers(t *testing.T) {
	t.Parallel()
	base := func() v1alpha1.IssuerSpec {
		return v1alpha1.IssuerSpec{
			CA: v1alpha1.CASpec{SecretName: "ca"}, DefaultTemplate: "web",
			Templates: []v1alpha1.CertificateTemplate{
				{Name: "web", DNS: []string{"{{ .Request.Name }}.{{ .Request.Namespace }}.example.com"}, AllowedDNSNames: []string{"*.{{ .Request.Namespace }}.example.com"}},
				{Name: "nodes", AllowedIPRanges: []string{"10.0.0.0/8"}},
			},
		}
	}
	pct := func(p int32) *int32 { return &p }
	tests := []struct {
		name    string
		mod     func(*v1alpha1.IssuerSpec)
		refused bool
	}{
		{name: "a valid issuer is admitted by both", mod: func(*v1alpha1.IssuerSpec) {}},
		{name: "a valid issuer with rotation settings is admitted by both", mod: func(s *v1alpha1.IssuerSpec) {
			s.CA.Rotation = &v1alpha1.CARotation{RenewBeforePercentage: pct(20), NextSecretName: "ca-next"}
		}},
		{name: "a template that does not parse is refused by both", refused: true,
			mod: func(s *v1alpha1.IssuerSpec) { s.Templates[0].DNS = []string{"{{"} }},
		{name: "an allow-list built from request data is refused by both", refused: true,
			mod: func(s *v1alpha1.IssuerSpec) { s.Templates[0].AllowedDNSNames = []string{"{{ .Request.CommonName }}"} }},
		{name: "a var with a bad name is refused by both", refused: true,
			mod: func(s *v1alpha1.IssuerSpec) { s.Vars = map[string]string{"not-a-name": "x"} }},
		{name: "a defaultTemplate that names no template is refused by both", refused: true,
			mod: func(s *v1alpha1.IssuerSpec) { s.DefaultTemplate = "nope" }},
		{name: "a duplicate template name is refused by both", refused: true,
			mod: func(s *v1alpha1.IssuerSpec) { s.Templates[1].Name = "web" }},
		{name: "an allowCA template whose allow-lists make no NameConstraints is refused by both", refused: true,
			mod: func(s *v1alpha1.IssuerSpec) {
				s.Templates[0].AllowCA = true
				s.Templates[0].AllowedDNSNames = []string{"**"}
			}},
		{name: "both renewal points is refused by both", refused: true,
			mod: func(s *v1alpha1.IssuerSpec) {
				s.CA.Rotation = &v1alpha1.CARotation{RenewBeforePercentage: pct(20), RenewBefore: &metav1.Duration{Duration: time.Hour}}
			}},
		{name: "a propagation delay longer than the generated CA's renewal window is refused by both", refused: true,
			mod: func(s *v1alpha1.IssuerSpec) {
				s.CA.Generate = &v1alpha1.CATemplate{TTL: 10}
				s.CA.Rotation = &v1alpha1.CARotation{PropagationDelay: &metav1.Duration{Duration: 24 * time.Hour}}
			}},
		{name: "an unknown trust bundle content is refused by both", refused: true,
			mod: func(s *v1alpha1.IssuerSpec) { s.CA.TrustBundle = &v1alpha1.TrustBundle{CACrt: "everything"} }},
		{name: "a CA key URI that names a PIN file is refused by both", refused: true,
			mod: func(s *v1alpha1.IssuerSpec) {
				s.CA.Key = &v1alpha1.CAKey{URI: "pkcs11:token=ca;object=root?pin-source=/etc/shadow"}
			}},
		{name: "an Ed25519 CA key to be made in a KMS is refused by both", refused: true,
			mod: func(s *v1alpha1.IssuerSpec) {
				s.CA.Key = &v1alpha1.CAKey{URI: "awskms:key-id=arn:aws:kms:eu-west-1:111122223333:key/k"}
				s.CA.Generate = &v1alpha1.CATemplate{PrivateKey: v1alpha1.PrivateKeySpec{Algorithm: v1alpha1.Ed25519KeyAlgorithm}}
			}},
		{name: "more problems than are listed are refused by both with the same cut", refused: true,
			mod: func(s *v1alpha1.IssuerSpec) {
				for i := range 40 {
					s.Templates = append(s.Templates, v1alpha1.CertificateTemplate{Name: fmt.Sprintf("t%d", i), DNS: []string{"{{"}})
				}
			}},
	}
	ctx := context.Background()
	check := &signing.Signer{Secrets: noSecrets{}, ClusterResourceNamespace: "cert-manager"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := base()
			tc.mod(&spec)
			ns := &v1alpha1.NstanceIssuer{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team-a"}, Spec: spec}
			cl := &v1alpha1.NstanceClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: *spec.DeepCopy()}
			valid := &v1alpha1.NstanceIssuer{ObjectMeta: ns.ObjectMeta, Spec: base()}
			_, nsCreate := webhook.IssuerValidator{}.ValidateCreate(ctx, ns)
			_, nsUpdate := webhook.IssuerValidator{}.ValidateUpdate(ctx, valid, ns)
			_, clCreate := webhook.ClusterIssuerValidator{}.ValidateCreate(ctx, cl)
			for _, door := range []struct {
				what       string
				webhookErr error
				checkErr   error
			}{
				{"NstanceIssuer at create", nsCreate, check.Check(ctx, ns.DeepCopy())},
				{"NstanceIssuer at update", nsUpdate, check.Check(ctx, ns.DeepCopy())},
				{"NstanceClusterIssuer at create", clCreate, check.Check(ctx, cl.DeepCopy())},
			} {
				sameRefusal(t, door.what, tc.refused, door.webhookErr, door.checkErr)
			}
		})
	}
}

// sameRefusal checks that the webhook refused (with an Invalid whose
// causes are the controller's errors, path and message) exactly when the
// controller's Check refused for good as an invalid issuer.
func sameRefusal(t *testing.T, what string, wantRefused bool, webhookErr, checkErr error) {
	t.Helper()
	var invalid *pki.InvalidIssuerError
	checkRefused := errors.As(checkErr, new(signer.PermanentError)) && errors.As(checkErr, &invalid)
	if checkRefused != wantRefused {
		t.Fatalf("%s: the controller's Check returned %v; want refused %v", what, checkErr, wantRefused)
	}
	if !wantRefused {
		if webhookErr != nil {
			t.Errorf("%s: the webhook refused what the controller accepts: %v", what, webhookErr)
		}
		return
	}
	if !apierrors.IsInvalid(webhookErr) {
		t.Fatalf("%s: the webhook answered %v to what the controller refuses (%v)", what, webhookErr, checkErr)
	}
	var status apierrors.APIStatus
	if !errors.As(webhookErr, &status) || status.Status().Details == nil {
		t.Fatalf("%s: the webhook's refusal carries no causes: %v", what, webhookErr)
	}
	causes := status.Status().Details.Causes
	if len(causes) != len(invalid.Errors) {
		t.Fatalf("%s: the webhook gives %d causes, the controller %d errors:\n%v\n%v", what, len(causes), len(invalid.Errors), causes, invalid.Errors)
	}
	for i, e := range invalid.Errors {
		if causes[i].Field != e.Field || !strings.Contains(causes[i].Message, e.Detail) {
			t.Errorf("%s: cause %d is %s: %q; the controller says %s: %q", what, i, causes[i].Field, causes[i].Message, e.Field, e.Detail)
		}
		if !strings.Contains(checkErr.Error(), e.Field+": "+e.Detail) && !strings.Contains(checkErr.Error(), "more (kubectl nstance explain lists them all)") {
			t.Errorf("%s: the controller's message %q does not name %s", what, checkErr, e.Field)
		}
	}
}
