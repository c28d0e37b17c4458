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

// Package rotation is the CA lifecycle of an issuer as a pure function: given
// the CA generations that exist, the policy and the time, Decide says which
// single step to take next. It knows nothing of Kubernetes; the controller
// reads the world, calls Decide, performs the step and calls again, so a
// restart between any two steps resumes where it stopped.
//
// Phases, in order:
//
//	Stable ──(renewAt reached, or rotate-now)──▶ CreateNext
//	       ──▶ PublishNext: next published as trusted beside the issuing CA
//	       ──(propagationDelay after publication)──▶ Promote: next signs,
//	           previous root kept published until retiringUntil
//	       ──(retiringUntil reached)──▶ DropRetiring ──▶ Stable
package rotation

import (
	"bytes"
	"fmt"
	"time"
)

// Default policy values.
const (
	DefaultRenewBeforePercentage = 33
	DefaultPropagationDelay      = 24 * time.Hour
)

// Cert is what the lifecycle needs to know of a CA certificate.
type Cert struct {
	Subject     string
	NotBefore   time.Time
	NotAfter    time.Time
	Fingerprint string
	// PublicKey is the DER SubjectPublicKeyInfo: two generations never
	// share a key.
	PublicKey []byte
}

// Policy is the issuer's rotation policy, defaults not yet applied.
type Policy struct {
	// Scheduled is true when spec.ca.rotation is set: renewal happens at
	// RenewAt. Without it only rotate-now rotates.
	Scheduled bool
	// RenewBefore, when non-zero, wins over RenewBeforePercentage.
	RenewBefore           time.Duration
	RenewBeforePercentage int32
	// PropagationDelay is how long a next CA is published before it signs;
	// nil means DefaultPropagationDelay.
	PropagationDelay *time.Duration
	// CanGenerate is true with spec.ca.generate: the issuer can make the
	// next CA itself.
	CanGenerate bool
	// GenerateRefused, when non-empty, says why spec.ca.generate is set but
	// the issuer may not generate into the CA Secret (it was not generated
	// for this issuer): a due rotation without a next CA then reports it
	// with ReasonCASecretNotGenerated. CanGenerate is false with it.
	GenerateRefused string
	// PromoteRefused, when non-empty, says why the issuer may not write a
	// next CA into its CA Secret (it was neither generated for the issuer
	// nor opted in): a valid next CA is then neither published nor
	// promoted, and this is reported with ReasonCASecretNotGenerated.
	PromoteRefused string
	// MinGenerationInterval is the least time between two CA keys the
	// issuer generates (0: no bound). It bounds what a stream of rotate-now
	// tokens, or a generated Secret deleted again and again, costs.
	MinGenerationInterval time.Duration
	// RotateNowToken is the value of the rotate-now annotation ("" = none).
	RotateNowToken string
	// MaxLeafLifetime bounds the lifetime of every certificate the issuer
	// signs (the longest template ttl), 0 when unbounded (a template
	// without ttl, or pass-through).
	MaxLeafLifetime time.Duration
}

func (p Policy) propagationDelay() time.Duration {
	if p.PropagationDelay == nil {
		return DefaultPropagationDelay
	}
	return *p.PropagationDelay
}

// Next is a next CA generation.
type Next struct {
	Cert Cert
	// Invalid, when non-empty, says why the next CA cannot be used (it did
	// not load, is not valid, ...). The controller fills it from the full
	// CA validation; Decide adds its own lifecycle checks.
	Invalid string
	// Generated is true for a next CA the issuer made (it may delete it).
	Generated bool
	// PublishedAt is when it was first published as trusted (zero: not yet).
	PublishedAt time.Time
}

// Retiring is a previous root still published.
type Retiring struct {
	Cert  Cert
	Until time.Time
}

// State is the world as the controller read it.
type State struct {
	Now     time.Time
	Policy  Policy
	Issuing Cert
	// HandledToken is the last rotate-now token acted upon.
	HandledToken string
	Next         *Next
	Retiring     []Retiring
	// LastGenerated is when the issuer last generated a CA key (zero:
	// never, or not known).
	LastGenerated time.Time
}

// Action is one step of the lifecycle.
type Action string

// Actions, at most one per Decide.
const (
	// None: nothing to do until Decision.WakeAt.
	None Action = "None"
	// CreateNext: generate a next CA (CanGenerate only).
	CreateNext Action = "CreateNext"
	// PublishNext: the next CA is in the bundles now; record PublishedAt = Now.
	PublishNext Action = "PublishNext"
	// Promote: the next CA signs from now on; keep the issuing one's
	// certificate as Retiring until Decision.RetiringUntil.
	Promote Action = "Promote"
	// DropRetiring: remove the retiring root Decision.Fingerprint.
	DropRetiring Action = "DropRetiring"
	// DeleteStaleNext: a generated next CA that already is the issuing one
	// (a promotion stopped before its clean-up): delete it.
	DeleteStaleNext Action = "DeleteStaleNext"
)

// Phase is the externally visible summary (status.rotation.phase).
type Phase string

// Phases.
const (
	PhaseStable        Phase = "Stable"
	PhaseRenewalDue    Phase = "RenewalDue"
	PhaseNextPublished Phase = "NextPublished"
	PhaseRetiring      Phase = "Retiring"
)

// Decision is the step to take.
type Decision struct {
	Action Action
	// Phase is the phase after the step.
	Phase Phase
	// PhaseNow is the phase before the step: what is reported when the
	// step is not taken (it failed, or waits for a key being generated).
	PhaseNow Phase
	// Fingerprint names the retiring root of DropRetiring.
	Fingerprint string
	// RetiringUntil is, for Promote, when the previous root may go.
	RetiringUntil time.Time
	// RenewAt is when the issuing CA is due for renewal.
	RenewAt time.Time
	// WakeAt is the next time anything changes without outside input
	// (zero: never).
	WakeAt time.Time
	// Problem, when non-empty, is a condition message a person can act on;
	// the issuing CA keeps signing regardless.
	Problem string
	// ProblemReason is the condition reason for Problem.
	ProblemReason string
	// Token is the rotate-now token this decision handles ("" = none).
	Token string
}

// Problem reasons.
const (
	ReasonNextCAInvalid = "NextCAInvalid"
	ReasonRenewalDue    = "RenewalDue"
	// ReasonCASecretNotGenerated: the CA Secret was not generated for this
	// issuer (nor opted in), so it is used read-only: no next CA is
	// generated into it or promoted into it.
	ReasonCASecretNotGenerated = "CASecretNotGenerated"
	// ReasonGenerationRateLimited: a next CA is due but the last one was
	// generated less than MinGenerationInterval ago.
	ReasonGenerationRateLimited = "GenerationRateLimited"
	// ReasonGenerationSecretConflict: a Secret a step would create exists
	// and was not made by the issuer; the step waits until it is deleted.
	ReasonGenerationSecretConflict = "GenerationSecretConflict"
	// ReasonRotateNowTokenInvalid: the rotate-now token is longer than
	// MaxTokenLength; it is ignored.
	ReasonRotateNowTokenInvalid = "RotateNowTokenInvalid"
)

// RenewAt is when a CA valid from notBefore to notAfter is due for renewal.
func (p Policy) RenewAt(c Cert) time.Time {
	if p.RenewBefore > 0 {
		return c.NotAfter.Add(-p.RenewBefore)
	}
	pct := p.RenewBeforePercentage
	if pct <= 0 || pct >= 100 {
		pct = DefaultRenewBeforePercentage
	}
	lifetime := c.NotAfter.Sub(c.NotBefore)
	return c.NotAfter.Add(-lifetime / 100 * time.Duration(pct)) // lifetime * pct overflows past ~8 years
}

// RetiringUntil is the latest NotAfter a certificate signed by issuing up to
// now can have: issuing's own NotAfter (leaves never outlive their CA),
// earlier when every template bounds the lifetime.
func (p Policy) RetiringUntil(issuing Cert, now time.Time) time.Time {
	until := issuing.NotAfter
	if p.MaxLeafLifetime > 0 {
		if b := now.Add(p.MaxLeafLifetime); b.Before(until) {
			until = b
		}
	}
	return until
}

// Decide returns the single next step.
func Decide(s State) (d Decision) {
	d = Decision{Action: None, Phase: PhaseStable, RenewAt: s.Policy.RenewAt(s.Issuing)}
	wake := func(t time.Time) {
		if t.After(s.Now) && (d.WakeAt.IsZero() || t.Before(d.WakeAt)) {
			d.WakeAt = t
		}
	}

	// Retiring roots whose last certificate has expired leave first: a
	// compromised or expired root must not stay trusted a moment longer.
	retiring := 0
	for _, r := range s.Retiring {
		if r.Cert.Fingerprint == s.Issuing.Fingerprint {
			continue // a promotion stopped half-way: this is the issuing CA
		}
		if !s.Now.Before(r.Until) {
			d.Action, d.Fingerprint = DropRetiring, r.Cert.Fingerprint
			d.Phase, d.PhaseNow = PhaseRetiring, PhaseRetiring
			return d
		}
		retiring++
		wake(r.Until)
	}
	if retiring > 0 {
		d.Phase = PhaseRetiring
	}
	d.PhaseNow = d.Phase

	tokenTooLong := len(s.Policy.RotateNowToken) > MaxTokenLength
	tokenPending := s.Policy.RotateNowToken != "" && s.Policy.RotateNowToken != s.HandledToken && !tokenTooLong
	defer func() {
		if tokenTooLong && d.Problem == "" {
			d.Problem, d.ProblemReason = fmt.Sprintf("the value of the rotate-now annotation is %d bytes, more than the %d allowed; it is ignored: use a shorter token (a date, a ticket number)",
				len(s.Policy.RotateNowToken), MaxTokenLength), ReasonRotateNowTokenInvalid
		}
	}()
	due := tokenPending || (s.Policy.Scheduled && !s.Now.Before(d.RenewAt))

	if n := s.Next; n != nil {
		if n.Cert.Fingerprint == s.Issuing.Fingerprint {
			if n.Generated {
				d.Action = DeleteStaleNext
				return d
			}
			// A user's next Secret that already is the issuing CA: it was
			// promoted; it is the user's to remove.
		} else if why := nextProblem(s, n); why != "" {
			d.Problem, d.ProblemReason = why, ReasonNextCAInvalid
		} else if s.Policy.PromoteRefused != "" {
			// Never published: a root that can never sign is not trusted.
			d.Problem, d.ProblemReason = s.Policy.PromoteRefused, ReasonCASecretNotGenerated
			if due {
				d.Phase, d.PhaseNow = PhaseRenewalDue, PhaseRenewalDue
			}
			return d
		} else {
			if n.PublishedAt.IsZero() {
				if due {
					d.PhaseNow = PhaseRenewalDue
				}
			} else {
				d.PhaseNow = PhaseNextPublished
			}
			d.Phase = PhaseNextPublished
			if tokenPending {
				d.Token = s.Policy.RotateNowToken
			}
			if n.PublishedAt.IsZero() {
				d.Action = PublishNext
				return d
			}
			switchAt := n.PublishedAt.Add(s.Policy.propagationDelay())
			if n.Cert.NotBefore.After(switchAt) {
				switchAt = n.Cert.NotBefore
			}
			if !s.Now.Before(switchAt) {
				d.Action = Promote
				d.RetiringUntil = s.Policy.RetiringUntil(s.Issuing, s.Now)
				d.Phase = PhaseRetiring
				return d
			}
			wake(switchAt)
			return d
		}
	}

	if !due {
		if s.Policy.Scheduled {
			wake(d.RenewAt)
		}
		return d
	}
	// Here a next CA is absent, already the issuing one, or invalid (and
	// then reported): only in the first two cases is a new one generated.
	if s.Policy.CanGenerate && (s.Next == nil || s.Next.Cert.Fingerprint == s.Issuing.Fingerprint) {
		d.Phase, d.PhaseNow = PhaseRenewalDue, PhaseRenewalDue
		if at := s.LastGenerated.Add(s.Policy.MinGenerationInterval); !s.LastGenerated.IsZero() && s.Now.Before(at) {
			d.Problem, d.ProblemReason = fmt.Sprintf("a next CA is due, and the issuer generates at most one CA key per %s (the last at %s): it generates the next one at %s",
				s.Policy.MinGenerationInterval, s.LastGenerated.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339)), ReasonGenerationRateLimited
			wake(at)
			return d
		}
		d.Action, d.Phase = CreateNext, PhaseNextPublished
		if tokenPending {
			d.Token = s.Policy.RotateNowToken
		}
		return d
	}
	if d.Problem == "" {
		d.Phase = PhaseRenewalDue
		d.ProblemReason = ReasonRenewalDue
		switch {
		case s.Policy.GenerateRefused != "":
			d.ProblemReason = ReasonCASecretNotGenerated
			d.Problem = s.Policy.GenerateRefused
		case tokenPending && !s.Policy.CanGenerate:
			d.Problem = "rotate-now needs spec.ca.generate; bring the next CA in the Secret named by spec.ca.rotation.nextSecretName instead"
		default:
			d.Problem = fmt.Sprintf("the CA %q is due for renewal since %s (it expires at %s); put the next CA in the Secret named by spec.ca.rotation.nextSecretName",
				s.Issuing.Subject, d.RenewAt.UTC().Format(time.RFC3339), s.Issuing.NotAfter.UTC().Format(time.RFC3339))
		}
	} else if d.Phase == PhaseStable {
		d.Phase = PhaseRenewalDue
	}
	d.PhaseNow = d.Phase
	return d
}

// nextProblem is why a next CA cannot take over, or "".
func nextProblem(s State, n *Next) string {
	if n.Invalid != "" {
		return n.Invalid
	}
	if bytes.Equal(n.Cert.PublicKey, s.Issuing.PublicKey) {
		return fmt.Sprintf("the next CA %q uses the same key as the issuing CA; a rotation needs a new key", n.Cert.Subject)
	}
	for _, r := range s.Retiring {
		if bytes.Equal(n.Cert.PublicKey, r.Cert.PublicKey) {
			return fmt.Sprintf("the next CA %q re-uses the key of the retired CA %q; a rotation needs a new key", n.Cert.Subject, r.Cert.Subject)
		}
	}
	// Equal is fine: a generated CA made within a second of the issuing one
	// (rotate-now right after start-up) has the same NotAfter.
	if n.Cert.NotAfter.Before(s.Issuing.NotAfter) {
		return fmt.Sprintf("the next CA %q expires at %s, before the issuing CA (%s); it would shorten the issuer's life",
			n.Cert.Subject, n.Cert.NotAfter.UTC().Format(time.RFC3339), s.Issuing.NotAfter.UTC().Format(time.RFC3339))
	}
	if !s.Now.Before(n.Cert.NotAfter) {
		return fmt.Sprintf("the next CA %q expired at %s", n.Cert.Subject, n.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return ""
}
