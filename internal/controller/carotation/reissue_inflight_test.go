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
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

func TestKeepInFlight(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	stalledAfter := 10 * time.Minute
	asked := func(name, uid string, ago time.Duration) v1alpha1.ReissueAsked {
		return v1alpha1.ReissueAsked{Namespace: "t", Name: name, UID: types.UID(uid), AskedAt: metav1.NewTime(now.Add(-ago))}
	}
	key := func(name string) types.NamespacedName { return types.NamespacedName{Namespace: "t", Name: name} }
	for _, tc := range []struct {
		name        string
		listed      *listedAsked // nil: not listed (gone)
		ago         time.Duration
		kept        bool
		wantStalled int
	}{
		{name: "issuing, asked a minute ago", listed: &listedAsked{uid: "u", class: reissueInProgress}, ago: time.Minute, kept: true},
		{name: "issuing, asked just under stalledAfter ago", listed: &listedAsked{uid: "u", class: reissueInProgress}, ago: stalledAfter - time.Second, kept: true},
		{name: "issuing, asked stalledAfter ago", listed: &listedAsked{uid: "u", class: reissueInProgress}, ago: stalledAfter, wantStalled: 1},
		{name: "issuing, asked an hour ago", listed: &listedAsked{uid: "u", class: reissueInProgress}, ago: time.Hour, wantStalled: 1},
		{name: "done", listed: &listedAsked{uid: "u", class: reissueDone}, ago: time.Minute},
		{name: "failed", listed: &listedAsked{uid: "u", class: reissueFailed}, ago: time.Minute},
		{name: "pending again (stopped issuing, or the trigger was refused)", listed: &listedAsked{uid: "u", class: reissuePending}, ago: time.Minute},
		{name: "no longer counted", listed: &listedAsked{uid: "u", class: reissueIgnore}, ago: time.Minute},
		{name: "replaced by another of the same name, issuing", listed: &listedAsked{uid: "other", class: reissueInProgress}, ago: time.Minute},
		{name: "gone", ago: time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			listed := map[types.NamespacedName]listedAsked{}
			if tc.listed != nil {
				listed[key("c")] = *tc.listed
			}
			kept, stalled := keepInFlight([]v1alpha1.ReissueAsked{asked("c", "u", tc.ago)}, listed, now, stalledAfter)
			if (len(kept) == 1) != tc.kept || len(stalled) != tc.wantStalled {
				t.Errorf("kept %v, stalled %v; want kept %v, stalled %d", kept, stalled, tc.kept, tc.wantStalled)
			}
		})
	}

	// A listed Certificate that is not in the record never enters it.
	listed := map[types.NamespacedName]listedAsked{key("a"): {uid: "a", class: reissueInProgress}, key("b"): {uid: "b", class: reissueInProgress}}
	kept, _ := keepInFlight([]v1alpha1.ReissueAsked{asked("a", "a", time.Minute)}, listed, now, stalledAfter)
	if len(kept) != 1 || kept[0].Name != "a" {
		t.Errorf("kept %v, want only a", kept)
	}
}

func candidates(spec string) []reissueCandidate {
	var out []reissueCandidate
	for f := range strings.FieldsSeq(spec) {
		ns, name, _ := strings.Cut(f, "/")
		out = append(out, reissueCandidate{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}})
	}
	sortCandidates(out)
	return out
}

func names(cs []reissueCandidate) string {
	var s []string
	for _, c := range cs {
		s = append(s, c.String())
	}
	return strings.Join(s, " ")
}

func TestFairBatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		pending string
		busy    map[string]int
		n       int
		want    string
	}{
		{name: "one namespace: name order", pending: "a/3 a/1 a/2", n: 2, want: "a/1 a/2"},
		{name: "round robin across namespaces", pending: "a/1 a/2 a/3 b/1 b/2 c/1", n: 5, want: "a/1 b/1 c/1 a/2 b/2"},
		{name: "all of them when n is larger", pending: "b/1 a/1", n: 10, want: "a/1 b/1"},
		{name: "nothing asked for", pending: "a/1", n: 0, want: ""},
		{name: "nothing pending", pending: "", n: 3, want: ""},
		// A tenant ("a") whose Certificates stay issuing waits behind
		// every namespace with fewer issuing.
		{name: "a namespace with Certificates issuing goes last", pending: "a/1 a/2 a/3 b/1 b/2 c/1", busy: map[string]int{"a": 3}, n: 4, want: "b/1 c/1 b/2 a/1"},
		{name: "fewest issuing first", pending: "a/1 b/1 c/1", busy: map[string]int{"a": 2, "b": 1}, n: 2, want: "c/1 b/1"},
		{name: "busy namespaces without pending ones are ignored", pending: "b/1", busy: map[string]int{"a": 0, "z": 5}, n: 2, want: "b/1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := names(fairBatch(candidates(tc.pending), tc.busy, tc.n)); got != tc.want {
				t.Errorf("fairBatch = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestFairBatchGivesAStallingTenantItsShare plays the passes of a
// re-issue with the in-flight cap: namespace "a" (first in name order)
// keeps every Certificate it is asked to re-issue issuing, the four other
// namespaces finish theirs before the next pass. The tenant holds no more
// places than its share of the first batch (10 places, 5 namespaces: 2)
// and the others finish at 8 a pass, as if the tenant had only those 2.
func TestFairBatchGivesAStallingTenantItsShare(t *testing.T) {
	t.Parallel()
	const batch, stallPasses = 10, 10 // stalledAfter = 10 intervals
	var pending []reissueCandidate
	for _, ns := range []string{"a", "b", "c", "d", "e"} {
		for i := range 40 {
			pending = append(pending, reissueCandidate{NamespacedName: types.NamespacedName{Namespace: ns, Name: fmt.Sprintf("c%02d", i)}})
		}
	}
	sortCandidates(pending)
	var inFlight []int // the pass each of the tenant's places was taken
	issuing := 0       // the tenant's Certificates issuing, in flight or stalled
	others, passes := 0, 0
	for ; others < 160; passes++ {
		if passes == 100 {
			t.Fatalf("the other namespaces got %d of 160 in 100 passes", others)
		}
		// keepInFlight: the tenant's places stall after stallPasses; the
		// others' are done.
		inFlight = slices.DeleteFunc(inFlight, func(p int) bool { return passes-p >= stallPasses })
		picked := fairBatch(pending, map[string]int{"a": issuing}, batch-len(inFlight))
		for _, c := range picked {
			if c.Namespace == "a" {
				inFlight = append(inFlight, passes)
				issuing++
			} else {
				others++
			}
		}
		pending = slices.DeleteFunc(pending, func(c reissueCandidate) bool { return slices.Contains(picked, c) })
		if len(inFlight) > 2 {
			t.Fatalf("pass %d: the stalling tenant holds %d places of %d", passes, len(inFlight), batch)
		}
	}
	if passes > 20 {
		t.Errorf("the other namespaces' 160 took %d passes, want 20 (8 places a pass)", passes)
	}
	t.Logf("the others' 160 in %d passes; the tenant was asked %d", passes, issuing)
}

func TestReissuePolicyValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p    ReissuePolicy
		want string // "" valid
	}{
		{p: ReissuePolicy{BatchSize: DefaultReissueBatchSize, Interval: DefaultReissueInterval}},
		{p: ReissuePolicy{BatchSize: 0}},
		{p: ReissuePolicy{BatchSize: MaxReissueBatchSize, Interval: time.Second, StalledAfter: time.Hour}},
		{p: ReissuePolicy{BatchSize: MaxReissueBatchSize + 1, Interval: time.Second}, want: "--reissue-batch-size=1001"},
		{p: ReissuePolicy{BatchSize: -1, Interval: time.Second}, want: "--reissue-batch-size=-1"},
		{p: ReissuePolicy{BatchSize: 1}, want: "--reissue-interval=0s"},
		{p: ReissuePolicy{BatchSize: 1, Interval: time.Second, StalledAfter: -time.Second}, want: "--reissue-stalled-after=-1s"},
	} {
		err := tc.p.Validate()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.p, err, tc.want)
		}
	}
}

// issuingCount counts the Certificates of the world that are Issuing.
func (w *reissueWorld) issuingCount() int {
	w.t.Helper()
	n := 0
	for _, crt := range w.certificates() {
		if factsOf(crt).Issuing {
			n++
		}
	}
	return n
}

// replace deletes the Certificate name and makes another of the same name
// and spec with another UID, as its namespace's tenant can.
func (w *reissueWorld) replace(name, uid string) {
	w.t.Helper()
	ctx := context.Background()
	var crt cmapi.Certificate
	if err := w.c.Get(ctx, types.NamespacedName{Namespace: w.namespace, Name: name}, &crt); err != nil {
		w.t.Fatal(err)
	}
	if err := w.c.Delete(ctx, &crt); err != nil {
		w.t.Fatal(err)
	}
	crt.ResourceVersion, crt.UID = "", types.UID(uid)
	if err := w.c.Create(ctx, &crt); err != nil {
		w.t.Fatal(err)
	}
}

// TestReissueNeverHasMoreThanABatchIssuing: with cert-manager slower than
// the pace, a batch asks only as many as the batch size leaves free of
// those asked before; Certificates a tenant keeps issuing on its own take
// no place; one replaced by another of the same name frees its place; one
// asked StalledAfter ago and still issuing frees its place and is counted
// as stalled.
func TestReissueNeverHasMoreThanABatchIssuing(t *testing.T) {
	t.Parallel()
	cas, err := testpki.NewValidRootCAs("Cap CA", "Cap CA")
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 40)
	for i := range names {
		names[i] = fmt.Sprintf("c%02d", i)
	}
	interval, stalledAfter := 10*time.Second, time.Minute
	w := newReissueWorld(t, cas[0], cas[1], names, ReissuePolicy{BatchSize: 10, Interval: interval, StalledAfter: stalledAfter})
	ctx := context.Background()
	// A tenant keeps five of its own issuing (a request no approver
	// answers): they are in progress, and take none of the places.
	for _, n := range names[35:] {
		crt := &cmapi.Certificate{}
		if err := w.c.Get(ctx, types.NamespacedName{Namespace: w.namespace, Name: n}, crt); err != nil {
			t.Fatal(err)
		}
		setIssuing(crt, w.clock.Now(), "the tenant's own renew")
		w.updateStatus(crt)
	}

	st := w.pass()
	if st.Triggered != 10 || len(st.InFlight) != 10 || w.issuingCount() != 15 {
		t.Fatalf("first batch: triggered %d, in flight %d, issuing %d; want 10, 10, 15", st.Triggered, len(st.InFlight), w.issuingCount())
	}
	// cert-manager has not finished any: the next interval asks none.
	w.clock.Step(interval)
	if st = w.pass(); st.Triggered != 10 || len(st.InFlight) != 10 {
		t.Fatalf("with all places taken a batch asked more: triggered %d, in flight %d", st.Triggered, len(st.InFlight))
	}
	// cert-manager finishes all that issue (the tenant's five too, as
	// the test's cert-manager issues whatever is Issuing).
	if n := w.issue(); n != 15 {
		t.Fatalf("cert-manager issued %d, want the 10 asked and the tenant's 5", n)
	}
	w.clock.Step(interval)
	if st = w.pass(); st.Triggered != 20 || len(st.InFlight) != 10 || st.Reissued != 15 {
		t.Fatalf("after cert-manager caught up: %+v", *st)
	}

	// A tenant swaps one asked Certificate for another of the same name
	// that it keeps issuing: the record's UID no longer matches, so it
	// frees its place rather than holding it.
	w.replace(st.InFlight[0].Name, "uid-forged")
	w.clock.Step(interval)
	st = w.pass()
	if len(st.InFlight) != 10 || st.Triggered != 21 || slices.ContainsFunc(st.InFlight, func(a v1alpha1.ReissueAsked) bool { return a.UID == "uid-forged" }) {
		t.Fatalf("after the swap: triggered %d, in flight %v", st.Triggered, st.InFlight)
	}
	if got := w.issuingCount(); got != 11 {
		t.Fatalf("%d issuing, want the 10 in flight and the swapped one", got)
	}

	// None finishes for StalledAfter: they stall, and free their places.
	for st.Stalled == 0 {
		w.clock.Step(interval)
		if st = w.pass(); st.Stalled == 0 && st.Triggered != 21 {
			t.Fatalf("a batch asked more with every place taken: %+v", *st)
		}
	}
	if st.Stalled != 9 || len(st.InFlight) != 10 || st.Triggered != 30 {
		t.Fatalf("after stalledAfter: stalled %d, in flight %d, triggered %d; want 9 (the swapped one's place was freed before), 10, 30", st.Stalled, len(st.InFlight), st.Triggered)
	}
}

// TestReissueTriggerSkipsACertificateReplacedSincePlanned: a Certificate
// replaced by another of the same name between the pass that planned the
// batch and the trigger is not asked, and leaves the in-flight record.
func TestReissueTriggerSkipsACertificateReplacedSincePlanned(t *testing.T) {
	t.Parallel()
	cas, err := testpki.NewValidRootCAs("Swap CA", "Swap CA")
	if err != nil {
		t.Fatal(err)
	}
	w := newReissueWorld(t, cas[0], cas[1], []string{"a", "b"}, ReissuePolicy{BatchSize: 10, Interval: time.Minute})
	ctx := context.Background()
	batch, _, err := w.r.planReissue(ctx, w.v, w.g, w.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) != 2 || len(w.g.reissue.InFlight) != 2 {
		t.Fatalf("planned %v, in flight %v", batch, w.g.reissue.InFlight)
	}
	w.replace("a", "uid-forged")
	w.r.triggerReissue(ctx, w.v, w.g, batch)
	st := w.g.reissue
	if st.Triggered != 1 || len(st.InFlight) != 1 || st.InFlight[0].Name != "b" {
		t.Fatalf("triggered %d, in flight %v; want only b", st.Triggered, st.InFlight)
	}
	var crt cmapi.Certificate
	if err := w.c.Get(ctx, types.NamespacedName{Namespace: w.namespace, Name: "a"}, &crt); err != nil {
		t.Fatal(err)
	}
	if factsOf(&crt).Issuing {
		t.Error("the replacement Certificate was asked to re-issue")
	}
}
