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

package carotation

import (
	"crypto/x509"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/rotation"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

func TestGenerationNamesAreValidSecretNames(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 250)
	r := &Reconciler{}
	random, err := r.randomSuffix()
	if err != nil || len(random) != randomSuffixLen {
		t.Fatalf("random suffix %q: %v", random, err)
	}
	for _, n := range []string{nextSecretName("ca", random), nextSecretName(long, random), retiredSecretName(long, "AB:CD", random), retiredSecretName("ca", "AB:CD", random)} {
		if errs := validation.IsDNS1123Subdomain(n); len(errs) > 0 {
			t.Errorf("%s: %v", n, errs)
		}
	}
	if got := retiredSecretName("ca", "AB:CD:EF", "0123abcd"); got != "ca-retired-abcdef-0123abcd" {
		t.Errorf("retired name %s", got)
	}
	for _, secret := range []string{"ca", long} {
		if got, prefix := retiredSecretName(secret, "AB:CD:EF", random), retiredSecretPrefix(secret, "AB:CD:EF"); !strings.HasPrefix(got, prefix) || len(got) != len(prefix)+randomSuffixLen {
			t.Errorf("retired name %s does not extend its prefix %s by the random part", got, prefix)
		}
	}
	if other, _ := r.randomSuffix(); other == random {
		t.Errorf("two random suffixes are equal: %s", other)
	}
	if v := secretLabelValue(long); len(validation.IsValidLabelValue(v)) > 0 {
		t.Errorf("label value %s is invalid", v)
	}
}

func TestMaxLeafLifetime(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		spec v1alpha1.IssuerSpec
		want time.Duration
	}{
		{"no templates: unbounded", v1alpha1.IssuerSpec{}, 0},
		{"the longest ttl", v1alpha1.IssuerSpec{Templates: []v1alpha1.CertificateTemplate{{TTL: 24}, {TTL: 720}}}, 720 * time.Hour},
		{"a template without ttl: unbounded", v1alpha1.IssuerSpec{Templates: []v1alpha1.CertificateTemplate{{TTL: 24}, {}}}, 0},
		{"pass-through: unbounded", v1alpha1.IssuerSpec{AllowPassThrough: true, Templates: []v1alpha1.CertificateTemplate{{TTL: 24}}}, 0},
	} {
		if got := maxLeafLifetime(&tc.spec); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// liveRoots publishes each root once, issuing first, and leaves out a next
// CA that is invalid.
func TestLiveRoots(t *testing.T) {
	t.Parallel()
	cas, err := testpki.NewValidRootCAs("Live Root", "Next Root", "Old Root")
	if err != nil {
		t.Fatal(err)
	}
	root, next, old := cas[0], cas[1], cas[2]
	inter, err := testpki.NewIntermediateCA(root, "Live Intermediate")
	if err != nil {
		t.Fatal(err)
	}
	issuing := &pki.CA{Cert: inter.Cert, Root: root.Cert}
	g := &generations{
		issuingCA: issuing,
		next:      &rotation.Next{Cert: certOf(next.Cert)},
		nextRoot:  next.Cert,
		retiringRoots: map[string]*x509.Certificate{
			pki.Fingerprint(old.Cert):  old.Cert,
			pki.Fingerprint(root.Cert): root.Cert, // same root as the issuing CA
		},
	}
	published := rotation.Decision{Phase: rotation.PhaseNextPublished}
	got := g.liveRoots(published)
	if len(got) != 3 || got[0] != root.Cert || got[1] != next.Cert || got[2] != old.Cert {
		t.Fatalf("live roots: %d %v", len(got), got)
	}
	// A next CA is trusted only while it is published: not before (its
	// publication not yet recorded), not when it may never sign.
	for _, d := range []rotation.Decision{
		{Phase: rotation.PhaseRenewalDue, ProblemReason: rotation.ReasonCASecretNotGenerated},
		{Phase: rotation.PhaseStable, Action: rotation.PublishNext, PhaseNow: rotation.PhaseStable},
	} {
		if got := g.liveRoots(d); len(got) != 2 {
			t.Errorf("%+v: %d roots, want 2", d, len(got))
		}
	}
	g.next.Invalid = "broken"
	if got := g.liveRoots(published); len(got) != 2 {
		t.Fatalf("with an invalid next CA: %d roots, want 2", len(got))
	}
}

// The retiring bound uses the longest leaf lifetime seen while the issuing
// CA signed: lowering a ttl does not shorten it, a new CA starts afresh,
// and a template without ttl counts as the CA's whole lifetime.
func TestLeafLifetimeHighWater(t *testing.T) {
	t.Parallel()
	cas, err := testpki.NewValidRootCAs("High Water Root", "Other Root")
	if err != nil {
		t.Fatal(err)
	}
	ca, other := cas[0], cas[1]
	caLifetime := ca.Cert.NotAfter.Sub(ca.Cert.NotBefore)
	recorded := func(fp string, d time.Duration) *v1alpha1.RotationStatus {
		return &v1alpha1.RotationStatus{Generations: []v1alpha1.CAGeneration{{
			Role: v1alpha1.CAGenerationIssuing, SHA256Fingerprint: fp, LongestLeafLifetime: &metav1.Duration{Duration: d},
		}}}
	}
	for _, tc := range []struct {
		name   string
		ttls   []int32
		status *v1alpha1.RotationStatus
		want   time.Duration
	}{
		{"nothing recorded: the spec's", []int32{24}, nil, 24 * time.Hour},
		{"a ttl lowered after 720h was recorded: 720h", []int32{24}, recorded(pki.Fingerprint(ca.Cert), 720*time.Hour), 720 * time.Hour},
		{"a ttl raised: the spec's", []int32{720}, recorded(pki.Fingerprint(ca.Cert), 24*time.Hour), 720 * time.Hour},
		{"recorded for another CA (before a switch): the spec's", []int32{24}, recorded(pki.Fingerprint(other.Cert), 720*time.Hour), 24 * time.Hour},
		{"a template without ttl: the CA's lifetime", []int32{24, 0}, nil, caLifetime},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			iss := &v1alpha1.NstanceIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"}}
			iss.Spec.CA.SecretName = "ca"
			for _, ttl := range tc.ttls {
				iss.Spec.Templates = append(iss.Spec.Templates, v1alpha1.CertificateTemplate{Name: fmt.Sprint("t", ttl), TTL: ttl})
			}
			iss.Status.Rotation = tc.status
			v, err := issuer.NewView(iss, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := leafLifetimeHighWater(v, &generations{issuingCA: &pki.CA{Cert: ca.Cert}}); got != tc.want {
				t.Errorf("%s, want %s", got, tc.want)
			}
		})
	}
}
