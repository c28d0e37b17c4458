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
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

// IssuerReady is met when an NstanceIssuer or NstanceClusterIssuer is
// Ready for its current generation; obj is refreshed on every poll.
func IssuerReady(c client.Client, obj client.Object) Condition {
	return IssuerReadyIs(c, obj, metav1.ConditionTrue, "")
}

// IssuerReadyIs is met when the issuer's Ready condition, for its current
// generation, has status and a message containing msg.
func IssuerReadyIs(c client.Client, obj client.Object, status metav1.ConditionStatus, msg string) Condition {
	return func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		cond, err := IssuerCondition(obj)
		if err != nil {
			return Stop(err)
		}
		if cond == nil {
			return errors.New("no Ready condition")
		}
		if cond.Status == status && cond.ObservedGeneration == obj.GetGeneration() && strings.Contains(cond.Message, msg) {
			return nil
		}
		return fmt.Errorf("condition Ready=%s %s: %s (generation %d, observed %d)", cond.Status, cond.Reason, cond.Message, obj.GetGeneration(), cond.ObservedGeneration)
	}
}

// IssuerCondition returns the Ready condition of an NstanceIssuer or
// NstanceClusterIssuer, or nil when it has none.
func IssuerCondition(obj client.Object) (*metav1.Condition, error) {
	st, err := IssuerStatus(obj)
	if err != nil {
		return nil, err
	}
	conds := st.Conditions
	for i := range conds {
		if conds[i].Type == "Ready" {
			return &conds[i], nil
		}
	}
	return nil, nil
}

// RequestReady returns a CertificateRequest's Ready condition, or nil.
func RequestReady(cr *cmapi.CertificateRequest) *cmapi.CertificateRequestCondition {
	for i := range cr.Status.Conditions {
		if cr.Status.Conditions[i].Type == cmapi.CertificateRequestConditionReady {
			return &cr.Status.Conditions[i]
		}
	}
	return nil
}

// CertificateRequestSigned is met when the request is Ready with a
// certificate; a Failed request stops the wait. cr is refreshed.
func CertificateRequestSigned(c client.Client, cr *cmapi.CertificateRequest) Condition {
	return func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(cr), cr); err != nil {
			return err
		}
		ready := RequestReady(cr)
		switch {
		case ready == nil:
			return errors.New("no Ready condition")
		case ready.Reason == cmapi.CertificateRequestReasonFailed:
			return Stop(fmt.Errorf("request %s failed: %s", cr.Name, ready.Message))
		case ready.Status != cmmeta.ConditionTrue || len(cr.Status.Certificate) == 0:
			return fmt.Errorf("condition Ready=%s %s: %s", ready.Status, ready.Reason, ready.Message)
		}
		return nil
	}
}

// CertificateRequestFailed is met when the request has failed for good
// (Ready reason Failed and a failure time); a signed request stops the
// wait. cr is refreshed.
func CertificateRequestFailed(c client.Client, cr *cmapi.CertificateRequest) Condition {
	return func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(cr), cr); err != nil {
			return err
		}
		if len(cr.Status.Certificate) > 0 {
			return Stop(fmt.Errorf("request %s was signed, want a failure", cr.Name))
		}
		ready := RequestReady(cr)
		if ready == nil {
			return errors.New("no Ready condition")
		}
		if ready.Reason != cmapi.CertificateRequestReasonFailed || cr.Status.FailureTime == nil {
			return fmt.Errorf("condition Ready=%s %s: %s", ready.Status, ready.Reason, ready.Message)
		}
		return nil
	}
}

// CertificateReady is met when the Certificate key names exists (the
// ingress-shim may not have made it yet) and is Ready for its current
// generation; a failed issuance stops the wait. crt is refreshed.
func CertificateReady(c client.Client, key client.ObjectKey, crt *cmapi.Certificate) Condition {
	return func(ctx context.Context) error {
		if err := c.Get(ctx, key, crt); err != nil {
			return err
		}
		for _, cond := range crt.Status.Conditions {
			if cond.Type != cmapi.CertificateConditionReady {
				continue
			}
			if cond.Status == cmmeta.ConditionTrue && cond.ObservedGeneration == crt.Generation {
				return nil
			}
			err := fmt.Errorf("condition Ready=%s %s: %s", cond.Status, cond.Reason, cond.Message)
			if crt.Status.LastFailureTime != nil {
				return Stop(fmt.Errorf("certificate %s failed to issue: %w", key, err))
			}
			return err
		}
		return errors.New("no Ready condition")
	}
}

// CSRSigned is met when a Kubernetes CertificateSigningRequest has a
// certificate; a Failed condition stops the wait. csr is refreshed.
func CSRSigned(c client.Client, csr *certificatesv1.CertificateSigningRequest) Condition {
	return func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(csr), csr); err != nil {
			return err
		}
		for _, cond := range csr.Status.Conditions {
			if cond.Type == certificatesv1.CertificateFailed && cond.Status == corev1.ConditionTrue {
				return Stop(fmt.Errorf("CSR %s failed: %s", csr.Name, cond.Message))
			}
		}
		if len(csr.Status.Certificate) == 0 {
			return errors.New("no status.certificate")
		}
		return nil
	}
}

// ApproveCSR does what `kubectl certificate approve` does: it appends an
// Approved condition through the approval subresource.
func ApproveCSR(ctx context.Context, c client.Client, csr *certificatesv1.CertificateSigningRequest) error {
	if err := c.Get(ctx, client.ObjectKeyFromObject(csr), csr); err != nil {
		return err
	}
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "KubectlApprove",
		Message: "This CSR was approved by kubectl certificate approve.", LastUpdateTime: metav1.Now(),
	})
	if err := c.SubResource("approval").Update(ctx, csr); err != nil {
		return fmt.Errorf("approving CSR %s: %w", csr.Name, err)
	}
	return nil
}

// IssuedSecret reads the Secret a Certificate was issued to, checks that it
// has a private key and that tls.crt chains to its ca.crt for usage, and
// returns the leaf and the Secret.
func IssuedSecret(ctx context.Context, c client.Client, key client.ObjectKey, usage x509.ExtKeyUsage) (*x509.Certificate, *corev1.Secret, error) {
	secret := &corev1.Secret{}
	if err := c.Get(ctx, key, secret); err != nil {
		return nil, nil, err
	}
	if len(secret.Data[corev1.TLSPrivateKeyKey]) == 0 {
		return nil, secret, fmt.Errorf("secret %s has no tls.key", key)
	}
	if len(secret.Data[cmmeta.TLSCAKey]) == 0 {
		return nil, secret, fmt.Errorf("secret %s has no ca.crt", key)
	}
	leaf, err := testpki.VerifyChain(secret.Data[corev1.TLSCertKey], secret.Data[cmmeta.TLSCAKey], usage)
	if err != nil {
		return nil, secret, fmt.Errorf("secret %s: %w", key, err)
	}
	return leaf, secret, nil
}

// IgnoreAlreadyExists makes creating what exists a success.
func IgnoreAlreadyExists(err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// ReadManifests decodes every object of a multi-document YAML file, such
// as a file of config/samples, skipping documents of comments only.
func ReadManifests(path string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var objs []*unstructured.Unstructured
	for doc := range bytes.SplitSeq(data, []byte("\n---")) {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		objs = append(objs, obj)
	}
	return objs, nil
}
