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

package rotation

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

func cert(name string, from time.Time, life time.Duration) Cert {
	return Cert{Subject: "CN=" + name, NotBefore: from, NotAfter: from.Add(life), Fingerprint: "FP-" + name, PublicKey: []byte("key-" + name)}
}

// The issuing CA of most cases: 300 days from t0; with the default 33 %
// it is due at day 201.
var issuing = cert("gen1", t0, 300*day)

func TestDecide(t *testing.T) {
	t.Parallel()
	sched := Policy{Scheduled: true, CanGenerate: true, PropagationDelay: new(day)}
	next := cert("gen2", t0.Add(201*day), 300*day)
	published := &Next{Cert: next, Generated: true, PublishedAt: t0.Add(201 * day)}
	cases := []struct {
		name  string
		state State
		want  Decision
	}{
		{
			name:  "stable before renewAt sleeps until renewAt",
			state: State{Now: t0.Add(10 * day), Policy: sched, Issuing: issuing},
			want:  Decision{Action: None, Phase: PhaseStable, WakeAt: t0.Add(201 * day)},
		},
		{
			name:  "without a schedule nothing is ever due",
			state: State{Now: t0.Add(299 * day), Policy: Policy{CanGenerate: true}, Issuing: issuing},
			want:  Decision{Action: None, Phase: PhaseStable},
		},
		{
			name:  "at renewAt a generated CA creates the next",
			state: State{Now: t0.Add(201 * day), Policy: sched, Issuing: issuing},
			want:  Decision{Action: CreateNext, Phase: PhaseNextPublished, PhaseNow: PhaseRenewalDue},
		},
		{
			name:  "renewBefore wins over the percentage",
			state: State{Now: t0.Add(250 * day), Policy: Policy{Scheduled: true, CanGenerate: true, RenewBefore: 30 * day}, Issuing: issuing},
			want:  Decision{Action: None, Phase: PhaseStable, WakeAt: t0.Add(270 * day)},
		},
		{
			name:  "a user's CA due without a next CA says what to do",
			state: State{Now: t0.Add(201 * day), Policy: Policy{Scheduled: true}, Issuing: issuing},
			want:  Decision{Action: None, Phase: PhaseRenewalDue, ProblemReason: ReasonRenewalDue, Problem: "put the next CA in the Secret named by spec.ca.rotation.nextSecretName"},
		},
		{
			name:  "a next CA not yet published is published",
			state: State{Now: t0.Add(201 * day), Policy: sched, Issuing: issuing, Next: &Next{Cert: next, Generated: true}},
			want:  Decision{Action: PublishNext, Phase: PhaseNextPublished, PhaseNow: PhaseRenewalDue},
		},
		{
			name:  "a published next CA waits for the propagation delay",
			state: State{Now: t0.Add(201*day + time.Hour), Policy: sched, Issuing: issuing, Next: published},
			want:  Decision{Action: None, Phase: PhaseNextPublished, WakeAt: t0.Add(202 * day)},
		},
		{
			name:  "after the propagation delay the next CA is promoted; the old root retires at its NotAfter",
			state: State{Now: t0.Add(202 * day), Policy: sched, Issuing: issuing, Next: published},
			want:  Decision{Action: Promote, Phase: PhaseRetiring, PhaseNow: PhaseNextPublished, RetiringUntil: issuing.NotAfter},
		},
		{
			name: "templates bounding the lifetime retire the old root earlier",
			state: State{Now: t0.Add(202 * day), Policy: Policy{Scheduled: true, CanGenerate: true, PropagationDelay: new(day), MaxLeafLifetime: 30 * day},
				Issuing: issuing, Next: published},
			want: Decision{Action: Promote, Phase: PhaseRetiring, PhaseNow: PhaseNextPublished, RetiringUntil: t0.Add(232 * day)},
		},
		{
			name:  "a propagation delay of zero promotes at once after publication",
			state: State{Now: t0.Add(201 * day), Policy: Policy{Scheduled: true, CanGenerate: true, PropagationDelay: new(time.Duration(0))}, Issuing: issuing, Next: published},
			want:  Decision{Action: Promote, Phase: PhaseRetiring, PhaseNow: PhaseNextPublished, RetiringUntil: issuing.NotAfter},
		},
		{
			name: "a next CA not yet valid is not promoted before its NotBefore",
			state: State{Now: t0.Add(202 * day), Policy: sched, Issuing: issuing,
				Next: &Next{Cert: cert("later", t0.Add(210*day), 300*day), PublishedAt: t0.Add(201 * day)}},
			want: Decision{Action: None, Phase: PhaseNextPublished, WakeAt: t0.Add(210 * day)},
		},
		{
			name: "a retiring root stays until its last certificate expires",
			state: State{Now: t0.Add(210 * day), Policy: sched, Issuing: next,
				Retiring: []Retiring{{Cert: issuing, Until: t0.Add(300 * day)}}},
			want: Decision{Action: None, Phase: PhaseRetiring, WakeAt: t0.Add(300 * day)},
		},
		{
			name: "a retiring root is dropped when its last certificate has expired",
			state: State{Now: t0.Add(300 * day), Policy: sched, Issuing: next,
				Retiring: []Retiring{{Cert: issuing, Until: t0.Add(300 * day)}}},
			want: Decision{Action: DropRetiring, Phase: PhaseRetiring, PhaseNow: PhaseRetiring, Fingerprint: issuing.Fingerprint},
		},
		{
			name: "a retired copy of the issuing CA (promotion stopped half-way) is ignored",
			state: State{Now: t0.Add(100 * day), Policy: sched, Issuing: issuing,
				Retiring: []Retiring{{Cert: issuing, Until: t0.Add(50 * day)}}},
			want: Decision{Action: None, Phase: PhaseStable, WakeAt: t0.Add(201 * day)},
		},
		{
			name:  "a generated next CA that already signs is deleted",
			state: State{Now: t0.Add(210 * day), Policy: sched, Issuing: next, Next: &Next{Cert: next, Generated: true, PublishedAt: t0}},
			want:  Decision{Action: DeleteStaleNext, Phase: PhaseStable, PhaseNow: PhaseStable},
		},
		{
			name:  "a user's next Secret that already signs is left alone",
			state: State{Now: t0.Add(210 * day), Policy: Policy{Scheduled: true}, Issuing: next, Next: &Next{Cert: next}},
			want:  Decision{Action: None, Phase: PhaseStable, WakeAt: t0.Add(402 * day)},
		},
		{
			name: "an invalid user's next CA is reported and not promoted",
			state: State{Now: t0.Add(202 * day), Policy: Policy{Scheduled: true, PropagationDelay: new(time.Duration(0))}, Issuing: issuing,
				Next: &Next{Cert: next, Invalid: "tls.key does not match", PublishedAt: t0}},
			want: Decision{Action: None, Phase: PhaseRenewalDue, ProblemReason: ReasonNextCAInvalid, Problem: "tls.key does not match"},
		},
		{
			name: "an invalid next CA before renewAt is reported, the phase stays Stable",
			state: State{Now: t0.Add(10 * day), Policy: Policy{Scheduled: true}, Issuing: issuing,
				Next: &Next{Cert: next, Invalid: "not a CA"}},
			want: Decision{Action: None, Phase: PhaseStable, ProblemReason: ReasonNextCAInvalid, Problem: "not a CA", WakeAt: t0.Add(201 * day)},
		},
		{
			name: "a next CA with the issuing CA's key is refused",
			state: State{Now: t0.Add(202 * day), Policy: Policy{Scheduled: true}, Issuing: issuing,
				Next: &Next{Cert: Cert{Subject: "CN=same", NotAfter: t0.Add(500 * day), Fingerprint: "FP-same", PublicKey: issuing.PublicKey}}},
			want: Decision{Action: None, Phase: PhaseRenewalDue, ProblemReason: ReasonNextCAInvalid, Problem: "same key as the issuing CA"},
		},
		{
			name: "a next CA re-using a retired key is refused",
			state: State{Now: t0.Add(250 * day), Policy: Policy{Scheduled: true}, Issuing: next,
				Retiring: []Retiring{{Cert: issuing, Until: t0.Add(300 * day)}},
				Next:     &Next{Cert: Cert{Subject: "CN=old", NotAfter: t0.Add(900 * day), Fingerprint: "FP-old2", PublicKey: issuing.PublicKey}}},
			want: Decision{Action: None, Phase: PhaseRetiring, ProblemReason: ReasonNextCAInvalid, Problem: "re-uses the key of the retired CA", WakeAt: t0.Add(300 * day)},
		},
		{
			name: "a next CA expiring before the issuing one is refused",
			state: State{Now: t0.Add(202 * day), Policy: Policy{Scheduled: true}, Issuing: issuing,
				Next: &Next{Cert: cert("short", t0, 250*day)}},
			want: Decision{Action: None, Phase: PhaseRenewalDue, ProblemReason: ReasonNextCAInvalid, Problem: "before the issuing CA"},
		},
		{
			name: "a next CA expiring with the issuing one (made the same second) is accepted",
			state: State{Now: t0.Add(day), Policy: Policy{CanGenerate: true}, Issuing: issuing,
				Next: &Next{Cert: Cert{Subject: "CN=twin", NotBefore: t0, NotAfter: issuing.NotAfter, Fingerprint: "FP-twin", PublicKey: []byte("twin")}, Generated: true}},
			want: Decision{Action: PublishNext, Phase: PhaseNextPublished, PhaseNow: PhaseStable},
		},
		{
			name:  "rotate-now with a new token creates the next CA at once",
			state: State{Now: t0.Add(day), Policy: Policy{CanGenerate: true, RotateNowToken: "incident-7"}, Issuing: issuing, HandledToken: "incident-6"},
			want:  Decision{Action: CreateNext, Phase: PhaseNextPublished, PhaseNow: PhaseRenewalDue, Token: "incident-7"},
		},
		{
			name:  "rotate-now with a handled token does nothing",
			state: State{Now: t0.Add(day), Policy: Policy{CanGenerate: true, RotateNowToken: "incident-7"}, Issuing: issuing, HandledToken: "incident-7"},
			want:  Decision{Action: None, Phase: PhaseStable},
		},
		{
			name:  "rotate-now without spec.ca.generate says what to do",
			state: State{Now: t0.Add(day), Policy: Policy{RotateNowToken: "x"}, Issuing: issuing},
			want:  Decision{Action: None, Phase: PhaseRenewalDue, ProblemReason: ReasonRenewalDue, Problem: "rotate-now needs spec.ca.generate"},
		},
		{
			name:  "rotate-now into a CA Secret not generated for the issuer generates nothing and says why",
			state: State{Now: t0.Add(day), Policy: Policy{RotateNowToken: "x", GenerateRefused: "was not generated for NstanceIssuer a/b"}, Issuing: issuing},
			want:  Decision{Action: None, Phase: PhaseRenewalDue, ProblemReason: ReasonCASecretNotGenerated, Problem: "was not generated for NstanceIssuer a/b"},
		},
		{
			name:  "a CA Secret opted in by the user (not generated) takes a next CA the user brings",
			state: State{Now: t0.Add(201 * day), Policy: Policy{Scheduled: true, PropagationDelay: new(day)}, Issuing: issuing, Next: &Next{Cert: next}},
			want:  Decision{Action: PublishNext, Phase: PhaseNextPublished, PhaseNow: PhaseRenewalDue},
		},
		{
			name: "a next CA the user brings is neither published nor promoted into a CA Secret the issuer may not write",
			state: State{Now: t0.Add(201 * day), Policy: Policy{Scheduled: true, PropagationDelay: new(day), GenerateRefused: "not generated", PromoteRefused: "not generated for NstanceIssuer a/b"},
				Issuing: issuing, Next: &Next{Cert: next}},
			want: Decision{Action: None, Phase: PhaseRenewalDue, ProblemReason: ReasonCASecretNotGenerated, Problem: "not generated for NstanceIssuer a/b"},
		},
		{
			name: "a published next CA is not promoted once the CA Secret may no longer be written",
			state: State{Now: t0.Add(202 * day), Policy: Policy{Scheduled: true, PropagationDelay: new(day), PromoteRefused: "not generated"},
				Issuing: issuing, Next: published},
			want: Decision{Action: None, Phase: PhaseRenewalDue, ProblemReason: ReasonCASecretNotGenerated, Problem: "not generated"},
		},
		{
			name:  "a rotate-now token too long to record is ignored and reported",
			state: State{Now: t0.Add(day), Policy: Policy{CanGenerate: true, RotateNowToken: strings.Repeat("t", MaxTokenLength+1)}, Issuing: issuing},
			want:  Decision{Action: None, Phase: PhaseStable, ProblemReason: ReasonRotateNowTokenInvalid, Problem: "more than the 1024 allowed"},
		},
		{
			name:  "a rotate-now token of the largest length is acted on",
			state: State{Now: t0.Add(day), Policy: Policy{CanGenerate: true, RotateNowToken: strings.Repeat("t", MaxTokenLength)}, Issuing: issuing},
			want:  Decision{Action: CreateNext, Phase: PhaseNextPublished, PhaseNow: PhaseRenewalDue, Token: strings.Repeat("t", MaxTokenLength)},
		},
		{
			name: "a due next CA waits for the minimum interval since the last generated key",
			state: State{Now: t0.Add(201 * day), Policy: Policy{Scheduled: true, CanGenerate: true, MinGenerationInterval: time.Hour},
				Issuing: issuing, LastGenerated: t0.Add(201*day - 20*time.Minute)},
			want: Decision{Action: None, Phase: PhaseRenewalDue, ProblemReason: ReasonGenerationRateLimited, Problem: "at most one CA key per 1h0m0s",
				WakeAt: t0.Add(201*day + 40*time.Minute)},
		},
		{
			name: "a new rotate-now token within the minimum interval waits for it",
			state: State{Now: t0.Add(day), Policy: Policy{CanGenerate: true, RotateNowToken: "t2", MinGenerationInterval: time.Hour},
				Issuing: issuing, HandledToken: "t1", LastGenerated: t0.Add(day - time.Minute)},
			want: Decision{Action: None, Phase: PhaseRenewalDue, ProblemReason: ReasonGenerationRateLimited, Problem: "generates the next one at",
				WakeAt: t0.Add(day + 59*time.Minute)},
		},
		{
			name:  "a due next CA is generated once the minimum interval has passed",
			state: State{Now: t0.Add(201 * day), Policy: Policy{Scheduled: true, CanGenerate: true, MinGenerationInterval: time.Hour}, Issuing: issuing, LastGenerated: t0.Add(200 * day)},
			want:  Decision{Action: CreateNext, Phase: PhaseNextPublished, PhaseNow: PhaseRenewalDue},
		},
		{
			name:  "rotate-now while a next CA is published marks the token handled",
			state: State{Now: t0.Add(201*day + time.Hour), Policy: Policy{Scheduled: true, CanGenerate: true, PropagationDelay: new(day), RotateNowToken: "t"}, Issuing: issuing, Next: published},
			want:  Decision{Action: None, Phase: PhaseNextPublished, WakeAt: t0.Add(202 * day), Token: "t"},
		},
		{
			name: "an expired retiring root leaves before anything else happens",
			state: State{Now: t0.Add(300 * day), Policy: sched, Issuing: next, Next: &Next{Cert: cert("gen3", t0.Add(300*day), 300*day)},
				Retiring: []Retiring{{Cert: issuing, Until: t0.Add(250 * day)}}},
			want: Decision{Action: DropRetiring, Phase: PhaseRetiring, PhaseNow: PhaseRetiring, Fingerprint: issuing.Fingerprint},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Decide(tc.state)
			if !strings.Contains(got.Problem, tc.want.Problem) || (tc.want.Problem == "") != (got.Problem == "") {
				t.Errorf("problem %q, want it to contain %q", got.Problem, tc.want.Problem)
			}
			got.Problem, tc.want.Problem = "", ""
			got.RenewAt = time.Time{}
			if tc.want.Action == None && tc.want.PhaseNow == "" {
				tc.want.PhaseNow = tc.want.Phase // nothing to do: the phase is the one reported
			}
			if got != tc.want {
				t.Errorf("Decide:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestRenewAt(t *testing.T) {
	t.Parallel()
	c := cert("c", t0, 100*day)
	for _, tc := range []struct {
		p    Policy
		want time.Time
	}{
		{Policy{}, t0.Add(67 * day)},
		{Policy{RenewBeforePercentage: 50}, t0.Add(50 * day)},
		{Policy{RenewBefore: 10 * day, RenewBeforePercentage: 50}, t0.Add(90 * day)},
	} {
		if got := tc.p.RenewAt(c); !got.Equal(tc.want) {
			t.Errorf("RenewAt(%+v) = %s, want %s", tc.p, got, tc.want)
		}
	}
	// The default generated CA lives 87600h (10 years): lifetime * 33
	// overflows time.Duration, which put the renewal 2.5 years after the
	// CA's NotAfter, so it expired without a rotation.
	long := cert("c", t0, 3650*day)
	if got, want := (Policy{}).RenewAt(long), t0.Add(3650*day/100*67); !got.Equal(want) {
		t.Errorf("RenewAt of a 10-year CA = %s, want %s (67%% of its life)", got, want)
	}
}

// world is a fake of what the controller keeps in Secrets: applying each
// decision to it and calling Decide again walks a CA through its whole life
// on a fake clock.
type world struct {
	issuing  Cert
	next     *Next
	retiring []Retiring
	handled  string
	made     int
}

func (w *world) state(now time.Time, p Policy) State {
	var n *Next
	if w.next != nil {
		c := *w.next
		n = &c
	}
	return State{Now: now, Policy: p, Issuing: w.issuing, Next: n, Retiring: append([]Retiring(nil), w.retiring...), HandledToken: w.handled}
}

func (w *world) apply(now time.Time, d Decision) {
	if d.Token != "" {
		w.handled = d.Token
	}
	switch d.Action {
	case CreateNext:
		w.made++
		w.next = &Next{Cert: cert(fmt.Sprintf("gen%d", w.made+1), now, 300*day), Generated: true}
	case PublishNext:
		w.next.PublishedAt = now
	case Promote:
		w.retiring = append(w.retiring, Retiring{Cert: w.issuing, Until: d.RetiringUntil})
		w.issuing = w.next.Cert
		w.next = nil
	case DropRetiring:
		var keep []Retiring
		for _, r := range w.retiring {
			if r.Cert.Fingerprint != d.Fingerprint {
				keep = append(keep, r)
			}
		}
		w.retiring = keep
	case DeleteStaleNext:
		w.next = nil
	case None: // nothing to apply
	}
}

// TestLifecycle drives two full rotations on a fake clock, waking only when
// Decide asks to, and deciding twice at every step as a restarted
// controller would: the second decision must be the same step (nothing
// lost) and applying a step twice must not create a second generation.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	p := Policy{Scheduled: true, CanGenerate: true, PropagationDelay: new(2 * day), MaxLeafLifetime: 30 * day}
	w := &world{issuing: issuing}
	now := t0
	var steps []string
	for i := 0; i < 40 && len(steps) < 12; i++ {
		d := Decide(w.state(now, p))
		if again := Decide(w.state(now, p)); again != d {
			t.Fatalf("a restarted controller decided %+v, then %+v", d, again)
		}
		if d.Action == None {
			if d.WakeAt.IsZero() {
				t.Fatalf("stuck in %s at %s", d.Phase, now)
			}
			now = d.WakeAt
			continue
		}
		steps = append(steps, fmt.Sprintf("day %d: %s -> %s", int(now.Sub(t0)/day), d.Action, d.Phase))
		w.apply(now, d)
		if d.Action == CreateNext {
			// A restart right after the create reads the same world: it
			// must publish, not create again.
			if again := Decide(w.state(now, p)); again.Action == CreateNext {
				t.Fatal("a second next CA was created")
			}
		}
	}
	want := []string{
		"day 201: CreateNext -> NextPublished",
		"day 201: PublishNext -> NextPublished",
		"day 203: Promote -> Retiring",
		"day 233: DropRetiring -> Retiring",
		"day 402: CreateNext -> NextPublished",
		"day 402: PublishNext -> NextPublished",
		"day 404: Promote -> Retiring",
		"day 434: DropRetiring -> Retiring",
	}
	if got := strings.Join(steps[:len(want)], "\n"); got != strings.Join(want, "\n") {
		t.Errorf("steps:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	if w.made < 2 {
		t.Errorf("made %d generations, want at least 2", w.made)
	}
}
