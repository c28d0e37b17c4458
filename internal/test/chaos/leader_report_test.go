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
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nstance-dev/nstance-issuer/internal/test/localstack"
)

// certWithSerial is a throwaway self-signed certificate (PEM) with serial.
func certWithSerial(t *testing.T, serial int64) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), NotBefore: time.Unix(0, 0), NotAfter: time.Unix(3600, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestAttribute checks that leader-kill's attribution can fail: each case
// is a story the replicas' logs, the requests' statuses and the Events
// could tell, and the counts it must produce.
func TestAttribute(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	sig := func(replica, inc, s int, name string, serial string) localstack.Signature {
		return localstack.Signature{Replica: replica, Incarnation: inc, At: at(s), Namespace: "ns", Name: name, Serial: serial}
	}
	twoTerms := []localstack.Term{{Replica: 0, Incarnation: 1, Acquired: at(0), Ended: at(10)}, {Replica: 1, Incarnation: 1, Acquired: at(20)}}
	// delivered: request -> serial in its status; overwritten: request ->
	// the serial its status held next; events: request -> serials in
	// Events.
	type story struct {
		terms       []localstack.Term
		sigs        []localstack.Signature
		delivered   map[string]int64
		overwritten map[string]int64
		events      map[string][]string
	}
	cases := []struct {
		name string
		story
		want leaderResult
	}{
		{
			name: "if each replica signs in its own term what it delivered, nothing is counted",
			story: story{terms: twoTerms,
				sigs:      []localstack.Signature{sig(0, 1, 1, "a", "A"), sig(0, 1, 5, "b", "B"), sig(1, 1, 21, "c", "C")},
				delivered: map[string]int64{"a": 0xA, "b": 0xB, "c": 0xC}, events: map[string][]string{"a": {"A"}, "c": {"C"}}},
			want: leaderResult{},
		},
		{
			name: "if two replicas sign in overlapping spans, that is an overlap",
			story: story{terms: twoTerms,
				sigs:      []localstack.Signature{sig(0, 1, 1, "a", "A"), sig(1, 1, 3, "b", "B"), sig(0, 1, 5, "c", "C")},
				delivered: map[string]int64{"a": 0xA, "b": 0xB, "c": 0xC}},
			want: leaderResult{Overlaps: 1},
		},
		{
			name: "if a request's status and its Event name certificates of two replicas, it is signed by both",
			story: story{terms: twoTerms,
				sigs:      []localstack.Signature{sig(0, 1, 1, "a", "A"), sig(1, 1, 21, "a", "A1")},
				delivered: map[string]int64{"a": 0xA}, events: map[string][]string{"a": {"A", "A1"}}},
			want: leaderResult{SignedByBoth: 1, Resigned: 1},
		},
		{
			name: "if a replica that never took the Lease signs, it signed outside a leadership",
			story: story{terms: twoTerms[:1],
				sigs:      []localstack.Signature{sig(0, 1, 1, "a", "A"), sig(1, 1, 21, "b", "B")},
				delivered: map[string]int64{"a": 0xA, "b": 0xB}},
			want: leaderResult{NotLeader: 1},
		},
		{
			name: "if a delivered certificate is in no replica's log, it is unattributed",
			story: story{terms: twoTerms,
				sigs:      []localstack.Signature{sig(0, 1, 1, "a", "A")},
				delivered: map[string]int64{"a": 0xA, "b": 0xB}},
			want: leaderResult{Unattributed: 1},
		},
		{
			name: "if a killed leader signed but never wrote, the next leader's signature is a re-sign, not signed by both",
			story: story{terms: twoTerms,
				sigs:      []localstack.Signature{sig(0, 1, 9, "a", "A"), sig(1, 1, 21, "a", "A1")},
				delivered: map[string]int64{"a": 0xA1}},
			want: leaderResult{Resigned: 1, Discarded: 1},
		},
		{
			name: "if a request's status held the old leader's certificate and then the new leader's, it is signed by both, Event or not",
			story: story{terms: twoTerms,
				sigs:        []localstack.Signature{sig(0, 1, 9, "a", "A"), sig(1, 1, 21, "a", "A1")},
				delivered:   map[string]int64{"a": 0xA},
				overwritten: map[string]int64{"a": 0xA1}},
			want: leaderResult{SignedByBoth: 1, Resigned: 1},
		},
		{
			name: "if a certificate that overwrote another is in no replica's log, it is unattributed",
			story: story{terms: twoTerms,
				sigs:        []localstack.Signature{sig(0, 1, 1, "a", "A")},
				delivered:   map[string]int64{"a": 0xA},
				overwritten: map[string]int64{"a": 0xB}},
			want: leaderResult{Unattributed: 1},
		},
		{
			name: "if one leader's last signature and the next one's first are at the same instant, their spans touch and do not overlap",
			story: story{terms: twoTerms,
				sigs:      []localstack.Signature{sig(0, 1, 1, "a", "A"), sig(0, 1, 10, "b", "B"), sig(1, 1, 10, "c", "C"), sig(1, 1, 25, "d", "D")},
				delivered: map[string]int64{"a": 0xA, "b": 0xB, "c": 0xC, "d": 0xD}},
			want: leaderResult{},
		},
		{
			name: "if a leader signs once inside another's span, that is an overlap",
			story: story{terms: twoTerms,
				sigs:      []localstack.Signature{sig(0, 1, 1, "a", "A"), sig(1, 1, 5, "b", "B"), sig(0, 1, 9, "c", "C")},
				delivered: map[string]int64{"a": 0xA, "b": 0xB, "c": 0xC}},
			want: leaderResult{Overlaps: 1},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The requests' statuses as a watch sees them, then the Events.
			obs := newObserver(len(tc.delivered))
			issued := map[string][]string{}
			for name, serial := range tc.delivered {
				cr := &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name),
					Annotations: map[string]string{cmapi.CertificateNameKey: "cert-" + name}}}
				cr.Status.Certificate = certWithSerial(t, serial)
				obs.observe(cr.DeepCopy(), t0)
				if next, ok := tc.overwritten[name]; ok {
					cr.Status.Certificate = certWithSerial(t, next)
					obs.observe(cr.DeepCopy(), t0.Add(time.Minute))
				}
				issued[requestKey(name, cr.UID)] = tc.events[name]
			}
			lr := &leaderResult{Replicas: 2}
			lr.attribute(tc.terms, tc.sigs, obs, issued)
			got := leaderResult{SignedByBoth: lr.SignedByBoth, Unattributed: lr.Unattributed, NotLeader: lr.NotLeader,
				Overlaps: lr.Overlaps, Resigned: lr.Resigned, Discarded: lr.Discarded}
			if got.SignedByBoth != tc.want.SignedByBoth || got.Unattributed != tc.want.Unattributed || got.NotLeader != tc.want.NotLeader ||
				got.Overlaps != tc.want.Overlaps || got.Resigned != tc.want.Resigned || got.Discarded != tc.want.Discarded {
				t.Errorf("counts: got %+v, want %+v; examples %v", got, tc.want, lr.Examples)
			}
		})
	}
}
