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
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

const countNS = "chaos-test-nstance"

// leaf is a server certificate (PEM) for dnsName with serial, signed by ca.
func leaf(t *testing.T, ca *testpki.CA, dnsName string, serial int64) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: dnsName}, DNSNames: []string{dnsName},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// story is what a run's watches, Events and Secrets could show.
type story struct {
	t       *testing.T
	ca      *testpki.CA
	obs     *observer
	events  []eventsv1.Event
	secrets map[string]*corev1.Secret
	clock   time.Time
}

func newStory(t *testing.T, ca *testpki.CA, n int) *story {
	return &story{t: t, ca: ca, obs: newObserver(n), secrets: map[string]*corev1.Secret{}, clock: time.Date(2026, 12, 6, 18, 0, 0, 0, time.UTC)}
}

func (s *story) tick() time.Time { s.clock = s.clock.Add(time.Second); return s.clock }

func certName(i int) string { return fmt.Sprintf("cert-%d", i) }

// ready: Certificate i turns Ready with a certificate from its CA in its
// Secret (serial 1000+i).
func (s *story) ready(i int) *story {
	s.secret(i, leaf(s.t, s.ca, dnsName(countNS, i), int64(1000+i)))
	crt := &cmapi.Certificate{ObjectMeta: metav1.ObjectMeta{Namespace: countNS, Name: certName(i)}}
	crt.Status.Conditions = []cmapi.CertificateCondition{{Type: cmapi.CertificateConditionReady, Status: cmmeta.ConditionTrue}}
	s.obs.observe(crt, s.tick())
	return s
}

// secret: Certificate i's Secret holds certPEM.
func (s *story) secret(i int, certPEM []byte) {
	s.secrets[certName(i)+"-tls"] = &corev1.Secret{Data: map[string][]byte{corev1.TLSCertKey: certPEM}}
}

func (s *story) issuingFailed(i int) *story {
	crt := &cmapi.Certificate{ObjectMeta: metav1.ObjectMeta{Namespace: countNS, Name: certName(i)}}
	crt.Status.Conditions = []cmapi.CertificateCondition{{Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionFalse, Reason: "Failed", Message: "boom"}}
	s.obs.observe(crt, s.tick())
	return s
}

// request: Certificate i's request rev (object uid) seen with each of
// certs in its status in turn (none: seen unsigned).
func (s *story) request(i, rev int, uid string, certs ...[]byte) *story {
	cr := &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: countNS, Name: fmt.Sprintf("%s-%d", certName(i), rev), UID: types.UID(uid),
		Annotations: map[string]string{cmapi.CertificateNameKey: certName(i)}}}
	s.obs.observe(cr.DeepCopy(), s.tick())
	for _, c := range certs {
		cr.Status.Certificate = c
		s.obs.observe(cr.DeepCopy(), s.tick())
	}
	return s
}

func (s *story) failedRequest(i, rev int, uid string) *story {
	cr := &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: countNS, Name: fmt.Sprintf("%s-%d", certName(i), rev), UID: types.UID(uid),
		Annotations: map[string]string{cmapi.CertificateNameKey: certName(i)}}}
	cr.Status.Conditions = []cmapi.CertificateRequestCondition{{Type: cmapi.CertificateRequestConditionReady, Status: cmmeta.ConditionFalse,
		Reason: cmapi.CertificateRequestReasonFailed, Message: "policy"}}
	s.obs.observe(cr, s.tick())
	return s
}

// issued: a CertificateIssued Event about request rev of Certificate i
// (object uid), with an aggregated count (core/v1) and a series count.
func (s *story) issued(i, rev int, uid string, count, series int32) *story {
	e := eventsv1.Event{Reason: "CertificateIssued", Note: "Issued certificate serial 1 from template web",
		Regarding:       corev1.ObjectReference{Kind: cmapi.CertificateRequestKind, Name: fmt.Sprintf("%s-%d", certName(i), rev), UID: types.UID(uid)},
		DeprecatedCount: count, EventTime: metav1.NewMicroTime(s.clock)}
	if series > 0 {
		e.Series = &eventsv1.EventSeries{Count: series}
	}
	s.events = append(s.events, e)
	return s
}

func (s *story) count(n int) *result {
	res := &result{}
	secret := func(name string) (*corev1.Secret, error) {
		if sec, ok := s.secrets[name]; ok {
			return sec, nil
		}
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
	}
	countRun(res, s.obs, n, countNS, s.events, secret, s.ca.CertPEM)
	return res
}

// TestCountRun: the counts the fault harness asserts (lost, Failed, stuck,
// signed twice) and reports (requests, re-issued, late requests, signed
// without an Event), each from a story worked out by hand.
func TestCountRun(t *testing.T) {
	t.Parallel()
	cas, err := testpki.NewValidRootCAs("chaos test CA", "another CA")
	if err != nil {
		t.Fatal(err)
	}
	ca, other := cas[0], cas[1]
	mine := func(t *testing.T, i int, serial int64) []byte { return leaf(t, ca, dnsName(countNS, i), serial) }
	type counts struct {
		Ready, Failed, Stuck, Lost, Requests, Reissued, LateRequests, DoubleSigned, MaxSignatures, SignedWithoutEvent int
	}
	for _, tc := range []struct {
		name  string
		n     int
		story func(t *testing.T, s *story)
		want  counts
	}{
		{
			name: "if every Certificate is Ready with its certificate, signed once with its Event, nothing is counted",
			n:    2,
			story: func(t *testing.T, s *story) {
				s.request(0, 1, "u0", mine(t, 0, 1)).issued(0, 1, "u0", 0, 0).ready(0)
				s.request(1, 1, "u1", mine(t, 1, 2)).issued(1, 1, "u1", 0, 0).ready(1)
			},
			want: counts{Ready: 2, Requests: 2, MaxSignatures: 1},
		},
		{
			name: "if a Certificate is never Ready and nothing failed, it is stuck",
			n:    2,
			story: func(t *testing.T, s *story) {
				s.request(0, 1, "u0", mine(t, 0, 1)).issued(0, 1, "u0", 0, 0).ready(0)
				s.request(1, 1, "u1")
			},
			want: counts{Ready: 1, Stuck: 1, Requests: 2, MaxSignatures: 1},
		},
		{
			name: "if a Certificate's request failed, it is Failed, not stuck, even when a later request made it Ready",
			n:    2,
			story: func(t *testing.T, s *story) {
				s.failedRequest(1, 1, "u1").request(1, 2, "u1b", mine(t, 1, 2)).issued(1, 2, "u1b", 0, 0).ready(1)
				s.failedRequest(0, 1, "u0")
			},
			want: counts{Ready: 1, Failed: 2, Requests: 3, Reissued: 1, MaxSignatures: 1},
		},
		{
			name: "if a Certificate's Issuing condition failed, it is Failed",
			n:    1,
			story: func(t *testing.T, s *story) {
				s.request(0, 1, "u0").issuingFailed(0)
			},
			want: counts{Failed: 1, Requests: 1},
		},
		{
			name: "if a Ready Certificate's Secret is gone, it is lost",
			n:    1,
			story: func(t *testing.T, s *story) {
				s.request(0, 1, "u0", mine(t, 0, 1)).issued(0, 1, "u0", 0, 0).ready(0)
				delete(s.secrets, "cert-0-tls")
			},
			want: counts{Ready: 1, Lost: 1, Requests: 1, MaxSignatures: 1},
		},
		{
			name: "if a Ready Certificate's Secret holds a certificate of a CA the harness did not put in place, it is lost",
			n:    1,
			story: func(t *testing.T, s *story) {
				s.request(0, 1, "u0", mine(t, 0, 1)).issued(0, 1, "u0", 0, 0).ready(0).secret(0, leaf(t, other, dnsName(countNS, 0), 1))
			},
			want: counts{Ready: 1, Lost: 1, Requests: 1, MaxSignatures: 1},
		},
		{
			name: "if a Ready Certificate's Secret holds another Certificate's certificate, it is lost",
			n:    2,
			story: func(t *testing.T, s *story) {
				s.request(0, 1, "u0", mine(t, 0, 1)).issued(0, 1, "u0", 0, 0).ready(0)
				s.request(1, 1, "u1", mine(t, 1, 2)).issued(1, 1, "u1", 0, 0).ready(1).secret(1, mine(t, 0, 3))
			},
			want: counts{Ready: 2, Lost: 1, Requests: 2, MaxSignatures: 1},
		},
		{
			name: "if a request's status held two certificates (signed before a kill and again after the restart), it is signed twice",
			n:    1,
			story: func(t *testing.T, s *story) {
				s.request(0, 1, "u0", mine(t, 0, 1), mine(t, 0, 2)).issued(0, 1, "u0", 0, 0).ready(0)
			},
			want: counts{Ready: 1, Requests: 1, DoubleSigned: 1, MaxSignatures: 2},
		},
		{
			name: "if the same certificate is seen in a request's status again, it is signed once",
			n:    1,
			story: func(t *testing.T, s *story) {
				c := mine(t, 0, 1)
				s.request(0, 1, "u0", c, c).issued(0, 1, "u0", 0, 0).ready(0)
			},
			want: counts{Ready: 1, Requests: 1, MaxSignatures: 1},
		},
		{
			name: "if a request got two CertificateIssued Events, it is signed twice",
			n:    1,
			story: func(t *testing.T, s *story) {
				s.request(0, 1, "u0", mine(t, 0, 1)).issued(0, 1, "u0", 0, 0).issued(0, 1, "u0", 0, 0).ready(0)
			},
			want: counts{Ready: 1, Requests: 1, DoubleSigned: 1, MaxSignatures: 2},
		},
		{
			name: "if a core/v1 Event was aggregated to count 2, it is two signatures",
			n:    1,
			story: func(t *testing.T, s *story) {
				s.request(0, 1, "u0", mine(t, 0, 1)).issued(0, 1, "u0", 2, 0).ready(0)
			},
			want: counts{Ready: 1, Requests: 1, DoubleSigned: 1, MaxSignatures: 2},
		},
		{
			name: "if an events.k8s.io Event became a series of 3, it is three signatures",
			n:    1,
			story: func(t *testing.T, s *story) {
				s.request(0, 1, "u0", mine(t, 0, 1)).issued(0, 1, "u0", 0, 3).ready(0)
			},
			want: counts{Ready: 1, Requests: 1, DoubleSigned: 1, MaxSignatures: 3},
		},
		{
			name: "if cert-manager deleted a request and made another of the same name, each signed once, nothing is signed twice",
			n:    1,
			story: func(t *testing.T, s *story) {
				s.request(0, 1, "first", mine(t, 0, 1)).issued(0, 1, "first", 0, 0)
				s.request(0, 1, "second", mine(t, 0, 2)).issued(0, 1, "second", 0, 0).ready(0)
			},
			want: counts{Ready: 1, Requests: 1, MaxSignatures: 1},
		},
		{
			name: "if a request was signed without an Event (killed between the two), that is reported, not a double signature",
			n:    1,
			story: func(t *testing.T, s *story) {
				s.request(0, 1, "u0", mine(t, 0, 1)).ready(0)
			},
			want: counts{Ready: 1, Requests: 1, MaxSignatures: 1, SignedWithoutEvent: 1},
		},
		{
			name: "if a request was created after every Certificate was done, it is late: a re-issue loop",
			n:    1,
			story: func(t *testing.T, s *story) {
				s.request(0, 1, "u0", mine(t, 0, 1)).issued(0, 1, "u0", 0, 0).ready(0)
				s.request(0, 2, "u0b", mine(t, 0, 2)).issued(0, 2, "u0b", 0, 0)
			},
			want: counts{Ready: 1, Requests: 2, Reissued: 1, LateRequests: 1, MaxSignatures: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStory(t, ca, tc.n)
			tc.story(t, s)
			res := s.count(tc.n)
			got := counts{res.Ready, res.Failed, res.Stuck, res.Lost, res.Requests, res.Reissued, res.LateRequests, res.DoubleSigned, res.MaxSignatures, res.SignedWithoutEvent}
			if got != tc.want {
				t.Errorf("counts\n got %+v\nwant %+v\nexamples %q", got, tc.want, res.Examples)
			}
		})
	}
}
