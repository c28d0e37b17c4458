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

package framework

import (
	"context"
	"errors"
	"fmt"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

// InstallCSRAnnotationPolicy creates the CSR annotation policy and its
// binding (kubecsr.CSRAnnotationPolicy; what the chart and config/
// install) and returns once the API server enforces it, probed with a CSR
// of probeSigner whose annotation change must be refused, and settle has
// passed since: from then on the controller takes it to have been in force
// when a CSR is approved.
func InstallCSRAnnotationPolicy(ctx context.Context, c client.Client, policy *admissionregistrationv1.ValidatingAdmissionPolicy,
	binding *admissionregistrationv1.ValidatingAdmissionPolicyBinding, probeSigner string, settle time.Duration) error {
	for _, o := range []client.Object{policy.DeepCopy(), binding.DeepCopy()} {
		if err := c.Create(ctx, o); err != nil {
			return fmt.Errorf("cannot create %T %s: %w", o, o.GetName(), err)
		}
	}
	installed := time.Now()
	request, err := testpki.CSR("policy-probe", "probe.example.com")
	if err != nil {
		return err
	}
	probe := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "csr-policy-probe-", Annotations: map[string]string{"issuer.nstance.dev/template": "a"}},
		Spec: certificatesv1.CertificateSigningRequestSpec{Request: request, SignerName: probeSigner,
			Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature}},
	}
	if err := c.Create(ctx, probe); err != nil {
		return fmt.Errorf("cannot create the policy probe CSR: %w", err)
	}
	defer func() { _ = c.Delete(context.Background(), probe) }()
	attempt := 0
	err = Eventually(ctx, "the CSR annotation policy enforced", func(ctx context.Context) error {
		var cur certificatesv1.CertificateSigningRequest
		if err := c.Get(ctx, client.ObjectKeyFromObject(probe), &cur); err != nil {
			return err
		}
		attempt++ // a new value each time: an unchanged one is no change
		cur.Annotations["issuer.nstance.dev/template"] = fmt.Sprint("b", attempt)
		switch err := c.Update(ctx, &cur); {
		case err == nil:
			return errors.New("an annotation change was let through")
		case apierrors.IsForbidden(err) || apierrors.IsInvalid(err):
			return nil
		default:
			return err
		}
	})
	if err != nil {
		return err
	}
	select {
	case <-time.After(time.Until(installed.Add(settle + time.Second))):
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
