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
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

func TestNamesIssuerResolvesLikeIssuerLib(t *testing.T) {
	t.Parallel()
	ns := issuer.Ref{Kind: issuer.KindIssuer, NamespacedName: types.NamespacedName{Namespace: "team-a", Name: "web"}}
	cluster := issuer.Ref{Kind: issuer.KindClusterIssuer, NamespacedName: types.NamespacedName{Name: "web"}}
	crt := func(namespace, group, kind, name string) *cmapi.Certificate {
		c := &cmapi.Certificate{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "c"}}
		c.Spec.IssuerRef = cmmeta.IssuerReference{Group: group, Kind: kind, Name: name}
		return c
	}
	g := v1alpha1.GroupVersion.Group
	for _, tc := range []struct {
		name string
		crt  *cmapi.Certificate
		ref  issuer.Ref
		want bool
	}{
		{"an NstanceIssuer in the Certificate's namespace is named", crt("team-a", g, issuer.KindIssuer, "web"), ns, true},
		{"an empty kind is NstanceIssuer, the first kind issuer-lib registers", crt("team-a", g, "", "web"), ns, true},
		{"an empty kind is never the cluster issuer", crt("team-a", g, "", "web"), cluster, false},
		{"an NstanceIssuer of another namespace is not named", crt("team-b", g, issuer.KindIssuer, "web"), ns, false},
		{"an empty group is cert-manager.io, not ours", crt("team-a", "", issuer.KindIssuer, "web"), ns, false},
		{"cert-manager's own Issuer of the same name is not ours", crt("team-a", "cert-manager.io", "Issuer", "web"), ns, false},
		{"another name is not named", crt("team-a", g, issuer.KindIssuer, "api"), ns, false},
		{"an NstanceClusterIssuer is named from any namespace", crt("team-b", g, issuer.KindClusterIssuer, "web"), cluster, true},
		{"the cluster kind does not name the namespaced issuer", crt("team-a", g, issuer.KindClusterIssuer, "web"), ns, false},
	} {
		if got := namesIssuer(tc.crt, tc.ref); got != tc.want {
			t.Errorf("%s: got %v", tc.name, got)
		}
	}
}

// signedLeaf is a certificate signed by ca.
func signedLeaf(t *testing.T, ca *testpki.CA) *x509.Certificate {
	t.Helper()
	leaf, err := testpki.NewIntermediateCA(ca, "leaf")
	if err != nil {
		t.Fatal(err)
	}
	return leaf.Cert
}

func TestClassifyReissueDecidesOnTheSignature(t *testing.T) {
	t.Parallel()
	// Generated generations share their subject (and, from testpki, their
	// SubjectKeyId): only the signature tells them apart.
	cas, err := testpki.NewValidRootCAs("Same CA", "Same CA", "Other CA")
	if err != nil {
		t.Fatal(err)
	}
	oldCA, newCA, otherCA := cas[0], cas[1], cas[2]
	oldLeaf, newLeaf, otherLeaf := signedLeaf(t, oldCA), signedLeaf(t, newCA), signedLeaf(t, otherCA)
	switchAt := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	before := switchAt.Add(-24 * time.Hour)
	retired := []*x509.Certificate{oldCA.Cert}

	for _, tc := range []struct {
		name string
		f    reissueFacts
		want reissueClass
	}{
		{"if signed by the previous CA, should be pending", reissueFacts{Created: before, Leaf: oldLeaf}, reissuePending},
		{"if signed by the previous CA and created in the second of the switch, should be pending", reissueFacts{Created: switchAt, Leaf: oldLeaf}, reissuePending},
		{"if signed by the issuing CA, should be done", reissueFacts{Created: before, Leaf: newLeaf}, reissueDone},
		{"if signed by the previous CA and Issuing, should be in progress", reissueFacts{Created: before, Leaf: oldLeaf, Issuing: true}, reissueInProgress},
		{"if signed by the previous CA and failed after the switch, should be failed, not triggered again",
			reissueFacts{Created: before, Leaf: oldLeaf, LastFailure: switchAt.Add(time.Minute)}, reissueFailed},
		{"if it failed before the switch only, should be pending", reissueFacts{Created: before, Leaf: oldLeaf, LastFailure: before}, reissuePending},
		{"if signed by a CA not of this issuer, should be ignored", reissueFacts{Created: before, Leaf: otherLeaf}, reissueIgnore},
		{"if created after the switch, should be ignored", reissueFacts{Created: switchAt.Add(time.Second), Leaf: oldLeaf}, reissueIgnore},
		{"if it has no certificate yet, should be ignored", reissueFacts{Created: before}, reissueIgnore},
		{"if status.notBefore is well after the switch, should be done without reading the Secret",
			reissueFacts{Created: before, NotBefore: switchAt.Add(reissueSettle + time.Second)}, reissueDone},
	} {
		if got := classifyReissue(tc.f, switchAt, newCA.Cert, retired); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}

	// The Secret is read unless creation or status.notBefore decide.
	if !(reissueFacts{Created: before, NotBefore: switchAt.Add(time.Minute)}).needsLeaf(switchAt) {
		t.Error("a certificate issued just after the switch may still be the previous CA's: its Secret must be read")
	}
	if (reissueFacts{Created: before, NotBefore: switchAt.Add(time.Hour)}).needsLeaf(switchAt) {
		t.Error("a certificate issued an hour after the switch needs no Secret read")
	}
	if (reissueFacts{Created: switchAt.Add(time.Hour)}).needsLeaf(switchAt) {
		t.Error("a Certificate created after the switch needs no Secret read")
	}
}

func TestReissueBatchesAreRateLimited(t *testing.T) {
	t.Parallel()
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	p := ReissuePolicy{BatchSize: 3, Interval: time.Minute}
	pending := 10
	var last time.Time
	var batches []int
	// Reconciles every 10 s for 5 minutes: 3 per minute, never more.
	for range 30 {
		n, next := p.nextBatch(last, clk.Now())
		if n > 0 && pending > 0 {
			take := min(n, pending)
			pending -= take
			batches = append(batches, take)
			last = clk.Now()
			if !next.Equal(last.Add(time.Minute)) {
				t.Fatalf("next batch at %v, want a minute after %v", next, last)
			}
		} else if pending > 0 && next.Sub(clk.Now()) > time.Minute {
			t.Fatalf("waits until %v, longer than an interval", next)
		}
		clk.SetTime(clk.Now().Add(10 * time.Second))
	}
	if fmt.Sprint(batches) != "[3 3 3 1]" {
		t.Errorf("batches %v, want [3 3 3 1]", batches)
	}

	// Resumed after a restart: the last batch time comes from status.
	now := clk.Now()
	if n, next := p.nextBatch(now.Add(-30*time.Second), now); n != 0 || !next.Equal(now.Add(30*time.Second)) {
		t.Errorf("30 s after a batch: %d now, next at %v", n, next)
	}
	// A clock that went back does not stall the re-issue for longer than
	// an interval.
	if n, next := p.nextBatch(now.Add(time.Hour), now); n != 0 || !next.Equal(now.Add(time.Minute)) {
		t.Errorf("batch recorded in the future: %d now, next at %v", n, next)
	}
	if n, _ := (ReissuePolicy{BatchSize: 0, Interval: time.Minute}).nextBatch(time.Time{}, now); n != 0 {
		t.Errorf("batch size 0 triggered %d", n)
	}
}

func TestSetIssuingIsWhatCmctlRenewWrites(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	earlier := metav1.NewTime(now.Add(-time.Hour))
	crt := &cmapi.Certificate{ObjectMeta: metav1.ObjectMeta{Generation: 4}}
	crt.Status.Conditions = []cmapi.CertificateCondition{
		{Type: cmapi.CertificateConditionReady, Status: cmmeta.ConditionTrue, LastTransitionTime: &earlier},
		{Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionFalse, Reason: "Failed", LastTransitionTime: &earlier},
	}
	setIssuing(crt, now, "why")
	if len(crt.Status.Conditions) != 2 {
		t.Fatalf("conditions %+v", crt.Status.Conditions)
	}
	c := crt.Status.Conditions[1]
	if c.Type != cmapi.CertificateConditionIssuing || c.Status != cmmeta.ConditionTrue || c.Reason != "ManuallyTriggered" ||
		c.Message != "why" || c.ObservedGeneration != 4 || !c.LastTransitionTime.Time.Equal(now) {
		t.Errorf("Issuing condition %+v", c)
	}

	fresh := &cmapi.Certificate{}
	setIssuing(fresh, now, "why")
	if len(fresh.Status.Conditions) != 1 || fresh.Status.Conditions[0].Reason != "ManuallyTriggered" {
		t.Errorf("conditions %+v", fresh.Status.Conditions)
	}
}

func TestReissueTallyCountsAndNames(t *testing.T) {
	t.Parallel()
	var tally reissueTally
	tally.reissued, tally.inProgress = 5, 2
	for i := range 25 {
		tally.failed = append(tally.failed, types.NamespacedName{Namespace: "a", Name: fmt.Sprintf("c%02d", i)})
	}
	tally.pending = []reissueCandidate{{NamespacedName: types.NamespacedName{Namespace: "b", Name: "x"}}}
	st := &v1alpha1.ReissueStatus{Triggered: 9}
	tally.apply(st)
	if st.Total != 33 || st.Reissued != 5 || st.InProgress != 2 || st.Failed != 25 || st.Pending != 1 || st.Triggered != 9 {
		t.Errorf("status %+v", st)
	}
	if len(st.FailedCertificates) != maxReissueNames || st.FailedCertificates[0] != "a/c00" {
		t.Errorf("failed names %v", st.FailedCertificates)
	}
	if got := listNames(tally.failed); len(got) == 0 || got[len(got)-len("and 5 more"):] != "and 5 more" {
		t.Errorf("listNames: %s", got)
	}
}
