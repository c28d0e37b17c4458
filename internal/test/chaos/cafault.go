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

package chaos

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
	"github.com/nstance-dev/nstance-issuer/internal/test/localstack"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

// caFault is what happens to the issuers' CA Secret in a ca-* scenario.
type caFault string

const (
	caDeleted     caFault = "deleted"      // the Secret deleted
	caBadPEM      caFault = "bad-pem"      // tls.crt is not PEM
	caKeyMismatch caFault = "key-mismatch" // tls.key is another CA's key
	caExpired     caFault = "expired"      // an expired CA with its key
	caReplaced    caFault = "replaced"     // a new valid CA: no fix follows
)

// faultCAs are the CAs the faults put in the Secret, made once.
type faultCAs struct {
	other, expired, replacement *testpki.CA
}

func newFaultCAs() (*faultCAs, error) {
	var f faultCAs
	var err error
	if f.other, err = testpki.NewValidRootCA("nstance-chaos other CA"); err != nil {
		return nil, err
	}
	now := time.Now()
	if f.expired, err = testpki.NewRootCA("nstance-chaos expired CA", now.Add(-48*time.Hour), now.Add(-24*time.Hour)); err != nil {
		return nil, err
	}
	if f.replacement, err = testpki.NewValidRootCA("nstance-chaos replacement CA"); err != nil {
		return nil, err
	}
	return &f, nil
}

// trustedRoots are the CAs whose certificates count as delivered: the
// original and the valid replacement (never the expired one).
func (h *chaosHarness) trustedRoots() []byte {
	return append(append([]byte{}, h.CA.CertPEM...), h.faults.replacement.CertPEM...)
}

// setCA makes the CA Secret hold data (nil deletes it).
func (h *chaosHarness) setCA(ctx context.Context, data map[string][]byte) error {
	key := client.ObjectKey{Namespace: localstack.ClusterResourceNamespace, Name: names.CASecret}
	return retry(ctx, func() error {
		var s corev1.Secret
		err := h.Client.Get(ctx, key, &s)
		switch {
		case apierrors.IsNotFound(err) && data == nil:
			return nil
		case apierrors.IsNotFound(err):
			return h.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}, Type: corev1.SecretTypeTLS, Data: data})
		case err != nil:
			return err
		case data == nil:
			return client.IgnoreNotFound(h.Client.Delete(ctx, &s))
		}
		s.Data = data
		return h.Client.Update(ctx, &s)
	})
}

// pollUntil calls cond every 50 ms until it is true or timeout; it returns
// when it became true, or the zero time.
func pollUntil(ctx context.Context, timeout time.Duration, cond func() bool) time.Time {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if cond() {
			return time.Now()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Time{}
}

// caFaultDriver: a third of the Certificates created and Ready on a Ready
// issuer; the fault; the second third created while it lasts
// (-ca-fault-hold); the fix (the original Secret back, except for a
// replacement, which stays); the last third. It measures when the issuer's
// Ready condition changed (for a replacement: when the first certificate
// from the new CA was seen), when it was Ready again and when the first
// request was signed after the fix.
func (h *chaosHarness) caFaultDriver(kind caFault, iss harness.Issuer) driver {
	return func(ctx context.Context, obs *observer, res *result, create func(lo, hi int) error) error {
		if err := h.setCA(ctx, h.CA.SecretData()); err != nil {
			return err
		}
		if err := h.IssuersReady(ctx, time.Minute); err != nil {
			return err
		}
		third := h.c.N / 3
		if err := create(0, third); err != nil {
			return err
		}
		if pollUntil(ctx, h.c.timeout, func() bool { return obs.readyCount() >= third }).IsZero() {
			return fmt.Errorf("the first %d Certificates did not turn Ready before the fault", third)
		}
		var data map[string][]byte
		switch kind {
		case caDeleted:
		case caBadPEM:
			data = h.CA.SecretData()
			data[corev1.TLSCertKey] = []byte("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")
		case caKeyMismatch:
			data = h.CA.SecretData()
			data[corev1.TLSPrivateKeyKey] = h.faults.other.KeyPEM
		case caExpired:
			data = h.faults.expired.SecretData()
		case caReplaced:
			data = h.faults.replacement.SecretData()
		default:
			return fmt.Errorf("unknown CA fault %q", kind)
		}
		res.Fault = "CA Secret " + string(kind)
		faultAt := time.Now()
		if err := h.setCA(ctx, data); err != nil {
			return err
		}
		created := make(chan error, 1)
		go func() { created <- create(third, 2*third) }()
		var detectedAt time.Time
		if kind == caReplaced {
			detectedAt = pollUntil(ctx, h.c.timeout, func() bool { return obs.signedBy(faultAt, h.faults.replacement.Cert) })
		} else {
			detectedAt = pollUntil(ctx, h.c.caFaultHold, func() bool {
				ready, reason, err := h.IssuerState(ctx, iss)
				if err == nil && !ready {
					res.FaultReason = reason
				}
				return err == nil && !ready
			})
		}
		if !detectedAt.IsZero() {
			res.DetectSeconds = detectedAt.Sub(faultAt).Seconds()
		}
		if d := time.Until(faultAt.Add(h.c.caFaultHold)); d > 0 {
			time.Sleep(d)
		}
		if err := <-created; err != nil {
			return err
		}
		if kind == caReplaced {
			return create(2*third, h.c.N)
		}
		fixAt := time.Now()
		if err := h.setCA(ctx, h.CA.SecretData()); err != nil {
			return err
		}
		// The last third from now on: when every request of the fault was
		// failed rather than kept waiting, they are the first to sign.
		go func() { created <- create(2*third, h.c.N) }()
		readyAt := pollUntil(ctx, h.c.timeout, func() bool { ready, _, err := h.IssuerState(ctx, iss); return err == nil && ready })
		if !readyAt.IsZero() {
			res.RecoverSeconds = readyAt.Sub(fixAt).Seconds()
		}
		if resumed := pollUntil(ctx, h.c.timeout, func() bool { return !obs.firstSignedAfter(fixAt).IsZero() }); !resumed.IsZero() {
			res.ResumeSeconds = obs.firstSignedAfter(fixAt).Sub(fixAt).Seconds()
		}
		return <-created
	}
}

// signedBy reports whether a request was first seen signed after t with a
// certificate issued by ca.
func (o *observer) signedBy(t time.Time, ca *x509.Certificate) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for cr, at := range o.signedAt {
		if !at.After(t) {
			continue
		}
		if leaves, err := testpki.ParseChain(o.certs[cr][0]); err == nil && len(leaves) > 0 && bytes.Equal(leaves[0].AuthorityKeyId, ca.SubjectKeyId) {
			return true
		}
	}
	return false
}
