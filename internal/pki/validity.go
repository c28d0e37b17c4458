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

package pki

import (
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// applyValidity sets NotBefore and NotAfter. The lifetime is the requested
// duration, capped by the template's ttl; NotBefore is backdated by
// Backdate but never before the CA's NotBefore; a NotAfter past the CA's is
// truncated to it, or refused when behavior is Error.
func applyValidity(is *issuance) error {
	d := is.req.Duration
	if is.req.Pod != nil {
		// The whole validity, backdate included, must fit in
		// maxExpirationSeconds.
		d = is.req.Pod.MaxLifetime - Backdate
	}
	if is.tmpl != nil && is.tmpl.TTL > 0 {
		if ttl := time.Duration(is.tmpl.TTL) * time.Hour; d > ttl {
			d = ttl
		}
	}
	if d <= 0 {
		return requestErrorf(ReasonInvalidDuration, "the requested duration %s is not positive; request a positive lifetime", is.req.Duration)
	}
	now := is.now.UTC().Truncate(time.Second)
	ca := is.ca.Cert
	notBefore := now.Add(-Backdate)
	if notBefore.Before(ca.NotBefore) {
		notBefore = ca.NotBefore
	}
	notAfter := now.Add(d)
	if notAfter.After(ca.NotAfter) {
		if is.policy.LeafNotAfterBehavior == v1alpha1.LeafNotAfterError {
			return requestErrorf(ReasonNotAfterPastCA, "the certificate would be valid until %s, after the CA certificate %q expires at %s; request a shorter duration, rotate the CA, or set leafNotAfterBehavior: Truncate", formatTime(notAfter), certName(ca), formatTime(ca.NotAfter))
		}
		is.out.Truncated = true
		is.out.RequestedNotAfter = notAfter
		notAfter = ca.NotAfter
	}
	is.cert.NotBefore = notBefore
	is.cert.NotAfter = notAfter
	if is.req.Pod != nil && notAfter.Sub(notBefore) < MinPodCertificateLifetime {
		return requestErrorf(ReasonLifetimeTooShort, "the certificate would be valid for %s only (until %s, when the CA certificate %q expires), less than the %s the API requires of a pod certificate; rotate the CA", notAfter.Sub(notBefore), formatTime(notAfter), certName(ca), MinPodCertificateLifetime)
	}
	return nil
}
