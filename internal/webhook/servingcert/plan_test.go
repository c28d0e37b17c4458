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

package servingcert

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func mustCA(t *testing.T, at time.Time, validity time.Duration) CA {
	t.Helper()
	ca, err := newCA(at, validity)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestCALifecycle(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	old := mustCA(t, t0, 90*day)
	next := mustCA(t, t0.Add(61*day), 90*day)
	tests := []struct {
		name      string
		cas       []CA
		now       time.Time
		wantLive  int
		wantNewCA bool
	}{
		{name: "no CA: a new one is due", now: t0, wantNewCA: true},
		{name: "a fresh CA is kept and nothing is due", cas: []CA{old}, now: t0.Add(day), wantLive: 1},
		{name: "a CA with a third of its life left is renewed", cas: []CA{old}, now: t0.Add(61 * day), wantLive: 1, wantNewCA: true},
		{name: "the next CA keeps the old one live until it expires", cas: []CA{next, old}, now: t0.Add(62 * day), wantLive: 2},
		{name: "an expired CA is dropped", cas: []CA{old, next}, now: t0.Add(91 * day), wantLive: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			live := liveCAs(tc.cas, tc.now)
			if len(live) != tc.wantLive {
				t.Fatalf("%d live CAs, want %d", len(live), tc.wantLive)
			}
			for i := 1; i < len(live); i++ {
				if live[i].Cert.NotBefore.Before(live[i-1].Cert.NotBefore) {
					t.Errorf("live CAs are not oldest first")
				}
			}
			if got := needNewCA(live, tc.now); got != tc.wantNewCA {
				t.Errorf("needNewCA = %v, want %v", got, tc.wantNewCA)
			}
		})
	}
}

func TestSigningCAWaitsForTheNextCAToBeTrusted(t *testing.T) {
	t.Parallel()
	old := mustCA(t, t0, time.Hour)
	next := mustCA(t, t0.Add(40*time.Minute), time.Hour)
	live := []CA{old, next}
	delay := 5 * time.Minute
	seenAt := t0.Add(41 * time.Minute)
	tests := []struct {
		name string
		seen map[string]time.Time
		now  time.Time
		want CA
	}{
		{name: "nothing injected yet (first install): the newest signs", seen: nil, now: t0, want: next},
		{name: "a fresh start sees both: the oldest signs until the delay passed", seen: map[string]time.Time{old.fingerprint(): seenAt, next.fingerprint(): seenAt}, now: seenAt, want: old},
		{name: "the next CA signs once trusted for the delay", seen: map[string]time.Time{old.fingerprint(): t0, next.fingerprint(): seenAt}, now: seenAt.Add(delay), want: next},
		{name: "the next CA does not sign before the delay", seen: map[string]time.Time{old.fingerprint(): t0, next.fingerprint(): seenAt}, now: seenAt.Add(delay - time.Second), want: old},
		{name: "a CA not in the caBundle never signs while one in it can", seen: map[string]time.Time{old.fingerprint(): t0}, now: t0.Add(50 * time.Minute), want: old},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := signingCA(live, tc.seen, delay, tc.now)
			if !ok || got.fingerprint() != tc.want.fingerprint() {
				t.Errorf("signing CA %s, want %s", got.Cert.Subject, tc.want.Cert.Subject)
			}
		})
	}
	if _, ok := signingCA(nil, nil, delay, t0); ok {
		t.Error("a signing CA without any CA")
	}
}

func TestLeafIsRenewedWhenDue(t *testing.T) {
	t.Parallel()
	ca := mustCA(t, t0, 10*24*time.Hour)
	other := mustCA(t, t0, 10*24*time.Hour)
	names := ServiceDNSNames("webhook", "system")
	leaf, _, err := newLeaf(ca, names, t0, 3*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.CheckSignatureFrom(ca.Cert); err != nil {
		t.Fatalf("the leaf is not signed by its CA: %v", err)
	}
	if leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth || leaf.IsCA {
		t.Errorf("the leaf is not a server certificate: %v, CA %v", leaf.ExtKeyUsage, leaf.IsCA)
	}
	tests := []struct {
		name  string
		ca    CA
		names []string
		now   time.Time
		want  bool
	}{
		{name: "a fresh leaf of the signing CA is kept", ca: ca, names: names, now: t0.Add(time.Hour), want: false},
		{name: "a leaf with a third of its life left is renewed", ca: ca, names: names, now: t0.Add(49 * time.Hour), want: true},
		{name: "a leaf of another CA is renewed", ca: other, names: names, now: t0.Add(time.Hour), want: true},
		{name: "a leaf for other names is renewed", ca: ca, names: ServiceDNSNames("webhook", "other"), now: t0.Add(time.Hour), want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := leafDue(leaf, tc.ca, tc.names, tc.now); got != tc.want {
				t.Errorf("leafDue = %v, want %v", got, tc.want)
			}
		})
	}
	if !leafDue(nil, ca, names, t0) {
		t.Error("no leaf is not due")
	}
	short, _, err := newLeaf(ca, names, t0.Add(9*24*time.Hour), 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !short.NotAfter.Equal(ca.Cert.NotAfter) {
		t.Errorf("a leaf outlives its CA: %s after %s", short.NotAfter, ca.Cert.NotAfter)
	}
}

func TestCASecretRoundTrip(t *testing.T) {
	t.Parallel()
	a, b := mustCA(t, t0, time.Hour), mustCA(t, t0, time.Hour)
	data, err := encodeCAs([]CA{a, b})
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeCAs(data)
	if err != nil || len(got) != 2 || got[0].fingerprint() != a.fingerprint() || got[1].fingerprint() != b.fingerprint() {
		t.Fatalf("decoded %d CAs, %v", len(got), err)
	}
	swapped := map[string][]byte{secretKeyCerts: data[secretKeyCerts], secretKeyKeys: append(append([]byte{}, data[secretKeyKeys][len(data[secretKeyKeys])/2:]...), data[secretKeyKeys][:len(data[secretKeyKeys])/2]...)}
	for name, tc := range map[string]struct {
		data map[string][]byte
		want string
	}{
		"keys in another order are refused": {swapped, "does not match"},
		"a missing key is refused":          {map[string][]byte{secretKeyCerts: data[secretKeyCerts]}, "2 certificates and 0 keys"},
		"too many CAs are refused":          {map[string][]byte{secretKeyCerts: []byte(strings.Repeat(string(data[secretKeyCerts]), 3))}, "more than 4 CAs"},
	} {
		if _, err := decodeCAs(tc.data); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
	if cas, err := decodeCAs(nil); err != nil || len(cas) != 0 {
		t.Errorf("an empty Secret: %d CAs, %v", len(cas), err)
	}
}
