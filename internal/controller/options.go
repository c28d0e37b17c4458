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
	"time"

	"k8s.io/utils/clock"

	"github.com/nstance-dev/nstance-issuer/internal/keys"
)

// DefaultMaxConcurrentReconciles is the default number of workers per
// controller. Signing takes well under a millisecond of CPU; a worker spends
// nearly all its time waiting for its status write, so signing a backlog
// scales with workers up to about this many (measured with nstance-bench at
// N=1000: with 16, a backlog signed at 139/s, 1.11x the signer floor of 16
// workers writing one status patch and one Event each; docs/performance.md),
// while the API server, with API Priority and Fairness, protects itself.
const DefaultMaxConcurrentReconciles = 16

// Options configures the controllers. Flags map one to one onto its fields.
type Options struct {
	// ClusterResourceNamespace is the namespace NstanceClusterIssuers read
	// their CA Secrets from (cert-manager's flag of the same name).
	ClusterResourceNamespace string
	// SetCAOnCertificateRequest fills CertificateRequest status.ca (and so
	// ca.crt in the Secret) with the CA's root.
	SetCAOnCertificateRequest bool
	// MaxConcurrentReconciles is the number of workers of each controller.
	MaxConcurrentReconciles int
	// MaxRetryDuration is how long an unexpected (not permanent) signing
	// error is retried before the request is failed.
	MaxRetryDuration time.Duration
	// CAExpiryWarning is how long before CA expiry a warning Event starts.
	CAExpiryWarning time.Duration
	// DisableKubernetesCSRs turns off signing of Kubernetes
	// CertificateSigningRequests.
	DisableKubernetesCSRs bool
	// DisablePodCertificates turns off signing of Kubernetes
	// PodCertificateRequests.
	DisablePodCertificates bool
	// CSRAnnotationPolicy names the ValidatingAdmissionPolicy (and its
	// binding) that keeps a Kubernetes CSR's template, duration and isCA
	// annotations as they were created (kubecsr.CSRAnnotationPolicy).
	// A CSR that selects its template by annotation is signed only if it
	// was in force when the CSR was approved. Empty: no such policy.
	CSRAnnotationPolicy string
	// AllowMutableCSRAnnotations signs such a CSR even without that
	// policy, with a warning Event: anyone allowed to update the CSR can
	// then change its template between approval and signing.
	AllowMutableCSRAnnotations bool
	// Clock is the time source of signing and of the CA lifecycle (nil:
	// the real clock): one clock, so that a CA the lifecycle generates is
	// valid when the signer loads it. Not a flag: tests inject a fake
	// clock to walk a rotation through its phases.
	Clock clock.PassiveClock
	// NextCAPollInterval is how often an issuer waiting for a next CA of
	// the user's (spec.ca.rotation.nextSecretName) re-reads it besides
	// watching it (0: one minute). Not a flag.
	NextCAPollInterval time.Duration
	// ReissueBatchSize is how many Certificates signed by a previous CA an
	// issuer asks to re-issue per ReissueInterval after a rotate-now; 0
	// turns that re-issue off.
	ReissueBatchSize int
	// ReissueInterval is the time between two such batches.
	ReissueInterval time.Duration
	// ReissueStalledAfter is how long a Certificate asked to re-issue
	// counts against the next batch while it is still issuing.
	ReissueStalledAfter time.Duration
	// MinCAGenerationInterval is the least time between two CA keys an
	// issuer generates for its rotation (rotate-now, scheduled renewal, a
	// generated next CA Secret deleted): it bounds what a stream of
	// rotate-now tokens costs. 0: no bound.
	MinCAGenerationInterval time.Duration
	// KeyPolicy is the operator's say on CA keys held in a KMS or an HSM
	// (spec.ca.key): the PKCS#11 modules, the controller's PIN file, which
	// namespaces may use which keys with the controller's identity, the
	// AWS KMS endpoint.
	KeyPolicy keys.Policy
	// KeyTimeout bounds one operation on such a key (0: keys.DefaultTimeout).
	KeyTimeout time.Duration
}

// DefaultMinCAGenerationInterval is the default MinCAGenerationInterval:
// long enough that an issuer cannot keep a core busy with key generation,
// short enough that a second rotate-now after a mistake waits minutes, not
// hours.
const DefaultMinCAGenerationInterval = 10 * time.Minute
