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
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DefaultCSRPolicySettle is how long after the annotation policy last
// changed it is taken to be in force: API servers reload admission policies
// every second.
const DefaultCSRPolicySettle = 5 * time.Second

// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingadmissionpolicies;validatingadmissionpolicybindings,verbs=get

// Guard tells whether the CSR annotation policy (policy.go) held
// when a CSR was approved. It reads the policy and binding live on every
// question: they are two small objects, asked about only for CSRs that
// select their template by annotation, and an answer from a stale cache
// could let through a CSR approved while the policy was gone.
//
// A policy that holds now and has not changed since the CSR was approved
// held all along, so the annotations the controller reads are the ones the
// approver saw: they could not change after approval. A policy installed
// or changed after the approval proves nothing about what happened before,
// and such a CSR can never be signed as approved.
type Guard struct {
	// Name is the ValidatingAdmissionPolicy's and its binding's.
	Name string
	// Reader reads them (the manager's API reader: no cache).
	Reader client.Reader
	// Settle is how long after its last change the policy is in force
	// (DefaultCSRPolicySettle when zero).
	Settle time.Duration
}

// problem says why the policy did not hold before approvedAt, or "" when it
// did. Only a failure to read the policy is an error (to retry).
func (g *Guard) problem(ctx context.Context, approvedAt time.Time) (string, error) {
	key := types.NamespacedName{Name: g.Name}
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{}
	if err := g.Reader.Get(ctx, key, policy); apierrors.IsNotFound(err) {
		policy = nil
	} else if err != nil {
		return "", fmt.Errorf("cannot read ValidatingAdmissionPolicy %s: %w", g.Name, err)
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
	if err := g.Reader.Get(ctx, key, binding); apierrors.IsNotFound(err) {
		binding = nil
	} else if err != nil {
		return "", fmt.Errorf("cannot read ValidatingAdmissionPolicyBinding %s: %w", g.Name, err)
	}
	return csrGuardProblem(g.Name, policy, binding, approvedAt, g.settle()), nil
}

func (g *Guard) settle() time.Duration {
	if g.Settle == 0 {
		return DefaultCSRPolicySettle
	}
	return g.Settle
}

// csrGuardProblem is problem over the objects read (nil when absent).
func csrGuardProblem(name string, policy *admissionregistrationv1.ValidatingAdmissionPolicy, binding *admissionregistrationv1.ValidatingAdmissionPolicyBinding,
	approvedAt time.Time, settle time.Duration) string {
	if p := csrPolicyProblem(name, policy, binding); p != "" {
		return p
	}
	if approvedAt.IsZero() {
		return "the CSR's Approved condition carries no time"
	}
	if since := csrPolicySince(policy, binding); approvedAt.Before(since.Add(settle)) {
		return fmt.Sprintf("the CSR was approved at %s, and policy %s was created or last changed at %s",
			approvedAt.UTC().Format(time.RFC3339), name, since.UTC().Format(time.RFC3339))
	}
	return ""
}
