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
	"testing"
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

func TestApplyValidity(t *testing.T) {
	t.Parallel()
	ca := interCA(t) // valid from testNow-24h to testNow+5y
	caEnd := ca.Cert.NotAfter
	day := 24 * time.Hour
	ttl := func(h int32) *v1alpha1.CertificateTemplate {
		return templ("web", func(t *v1alpha1.CertificateTemplate) { t.TTL = h })
	}
	tests := []struct {
		name          string
		tmpl          *v1alpha1.CertificateTemplate
		behavior      v1alpha1.LeafNotAfterBehavior
		now           time.Time
		duration      time.Duration
		wantNotBefore time.Time
		wantNotAfter  time.Time
		wantTruncated bool
		kind, msg     string
	}{
		{name: "the requested duration sets NotAfter and NotBefore is backdated 30s", duration: 90 * day, wantNotBefore: testNow.Add(-30 * time.Second), wantNotAfter: testNow.Add(90 * day)},
		{name: "a template ttl shorter than the request caps the lifetime", tmpl: ttl(720), duration: 90 * day, wantNotBefore: testNow.Add(-30 * time.Second), wantNotAfter: testNow.Add(720 * time.Hour)},
		{name: "a template ttl longer than the request keeps the request", tmpl: ttl(720), duration: time.Hour, wantNotBefore: testNow.Add(-30 * time.Second), wantNotAfter: testNow.Add(time.Hour)},
		{name: "sub-second now is truncated to whole seconds", now: testNow.Add(700 * time.Millisecond), duration: time.Hour, wantNotBefore: testNow.Add(-30 * time.Second), wantNotAfter: testNow.Add(time.Hour)},
		{name: "NotBefore is never before the CA's NotBefore", now: ca.Cert.NotBefore.Add(10 * time.Second), duration: time.Hour, wantNotBefore: ca.Cert.NotBefore, wantNotAfter: ca.Cert.NotBefore.Add(10*time.Second + time.Hour)},
		{name: "a lifetime past the CA is truncated by default", duration: 10 * 365 * day, wantNotBefore: testNow.Add(-30 * time.Second), wantNotAfter: caEnd, wantTruncated: true},
		{name: "a lifetime past the CA is truncated with Truncate", behavior: v1alpha1.LeafNotAfterTruncate, duration: 10 * 365 * day, wantNotBefore: testNow.Add(-30 * time.Second), wantNotAfter: caEnd, wantTruncated: true},
		{name: "a lifetime past the CA is refused with Error", behavior: v1alpha1.LeafNotAfterError, duration: 10 * 365 * day, kind: "RequestError/NotAfterPastCA", msg: `the certificate would be valid until 2036-05-29T12:00:00Z, after the CA certificate "Test Intermediate" expires at 2031-05-31T12:00:00Z`},
		{name: "a lifetime ending exactly at the CA's NotAfter is not truncated", behavior: v1alpha1.LeafNotAfterError, duration: caEnd.Sub(testNow), wantNotBefore: testNow.Add(-30 * time.Second), wantNotAfter: caEnd},
		{name: "a zero duration is rejected", duration: 0, kind: "RequestError/InvalidDuration", msg: "the requested duration 0s is not positive"},
		{name: "a negative duration is rejected", duration: -time.Hour, kind: "RequestError/InvalidDuration", msg: "the requested duration -1h0m0s is not positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			is := prepare(t, tc.tmpl, Request{CSR: csrFor(t, "x")})
			is.req.Duration = tc.duration
			is.policy.LeafNotAfterBehavior = tc.behavior
			if !tc.now.IsZero() {
				is.now = tc.now
			}
			err := applyValidity(is)
			wantErr(t, err, tc.kind, tc.msg)
			if err != nil {
				return
			}
			if !is.cert.NotBefore.Equal(tc.wantNotBefore) || !is.cert.NotAfter.Equal(tc.wantNotAfter) {
				t.Errorf("validity %s - %s, want %s - %s", is.cert.NotBefore, is.cert.NotAfter, tc.wantNotBefore, tc.wantNotAfter)
			}
			if is.out.Truncated != tc.wantTruncated {
				t.Errorf("Truncated = %v", is.out.Truncated)
			}
			if tc.wantTruncated && !is.out.RequestedNotAfter.Equal(is.now.Add(tc.duration)) {
				t.Errorf("RequestedNotAfter = %s", is.out.RequestedNotAfter)
			}
		})
	}
}
