//go:build integration

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
	"context"
	"errors"

	certificatesv1 "k8s.io/api/certificates/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/internal/controller/signing"
)

// What the integration tests (package controller_test) reach inside.

// NewPodCertificateReconcilerV1 is the pod certificate reconciler of the
// certificates.k8s.io/v1 API over the given clients, for tests that run it
// under another identity than the suite's manager.
func NewPodCertificateReconcilerV1(c client.Client, reader client.Reader, s *signing.Signer) *PodCertificateReconciler {
	return &PodCertificateReconciler{Client: c, Reader: reader, Signer: s, API: podCertV1}
}

// CheckPodIdentity runs the reconciler's pod identity check on a request:
// the refusal's reason and message, or an error; unreadable tells that
// the read was Forbidden (the request would wait with an Event).
func CheckPodIdentity(ctx context.Context, reader client.Reader, pcr *certificatesv1.PodCertificateRequest) (reason, msg string, unreadable bool, err error) {
	refusal, err := checkPodIdentity(ctx, reader, pcr.Namespace, podCertV1.view(pcr))
	if err != nil {
		return "", "", errors.Is(err, errIdentityUnreadable), err
	}
	if refusal != nil {
		return refusal.Reason, refusal.Message, false, nil
	}
	return "", "", false, nil
}
