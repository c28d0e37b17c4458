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
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/internal/test/localstack"
	"github.com/nstance-dev/nstance-issuer/internal/test/report"
)

// leaderResult is what leader-kill measures beyond the common counts.
type leaderResult struct {
	Replicas int `json:"replicas"`
	// The replicas' lease timings, in seconds.
	LeaseDuration float64 `json:"leaseDurationSeconds"`
	RenewDeadline float64 `json:"renewDeadlineSeconds"`
	RetryPeriod   float64 `json:"retryPeriodSeconds"`
	// Handovers, one per kill, in order.
	Handovers []handover `json:"handovers"`
	// LeaseTransitions is the Lease's own count at the end (the first
	// acquisition of a new Lease is not a transition).
	LeaseTransitions int `json:"leaseTransitions"`
	// Terms are the leaderships seen in the replicas' logs.
	Terms int `json:"terms"`
	// SignaturesByReplica are the signatures each replica logged.
	SignaturesByReplica []int `json:"signaturesByReplica"`
	// SignedByBoth: requests whose delivered certificates (in the
	// request's status or named by its CertificateIssued Events) were
	// signed by two different replica incarnations. Asserted 0.
	SignedByBoth int `json:"signedByBoth"`
	// Unattributed: delivered certificates no replica's log claims;
	// NotLeader: signatures logged by an incarnation that never logged
	// taking the Lease; Overlaps: pairs of leaderships whose signing
	// spans (first to last signature) overlap. All asserted 0.
	Unattributed int `json:"unattributed"`
	NotLeader    int `json:"notLeader"`
	Overlaps     int `json:"overlaps"`
	// Resigned: requests two incarnations signed, one of them a leader
	// killed before its certificate was written; Discarded: those lost
	// signatures (never in a status or an Event). Reported.
	Resigned  int      `json:"resigned"`
	Discarded int      `json:"discarded"`
	Examples  []string `json:"examples,omitempty"`
}

// handover is one kill of the leader and what followed.
type handover struct {
	Signal   string `json:"signal"`
	From, To int    `json:"-"`
	// Stopped: seconds the kill (SIGKILL) or graceful stop (SIGTERM) took
	// until the process was gone; Acquired: from the kill to the next
	// leader's log saying it took the Lease, as the harness read it;
	// LeaseAcquired: to the Lease's acquireTime, as that leader wrote it
	// (0 when unknown); NextSignature: to that
	// leader's first signature (its log's timestamp); NextSeen: to the
	// first request the harness saw signed after the kill.
	Stopped       float64 `json:"stoppedSeconds"`
	Acquired      float64 `json:"acquiredSeconds"`
	LeaseAcquired float64 `json:"leaseAcquiredSeconds"`
	NextSignature float64 `json:"nextSignatureSeconds"`
	NextSeen      float64 `json:"nextSeenSeconds"`
	killed        time.Time
}

var issuedSerial = regexp.MustCompile(`^Issued certificate serial ([0-9A-F]+) `)

// issuedSerials are the serials named by nstance-issuer's
// CertificateIssued Events in ns, by request object (requestKey).
func (h *chaosHarness) issuedSerials(ctx context.Context, ns string) (map[string][]string, error) {
	var events eventsv1.EventList
	if err := h.Client.List(ctx, &events, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing Events: %w", err)
	}
	out := map[string][]string{}
	for _, e := range events.Items {
		if e.Reason != "CertificateIssued" || e.Regarding.Kind != cmapi.CertificateRequestKind {
			continue
		}
		if m := issuedSerial.FindStringSubmatch(e.Note); m != nil {
			key := requestKey(e.Regarding.Name, e.Regarding.UID)
			out[key] = append(out[key], m[1])
		}
	}
	return out, nil
}

func serialOf(certPEM []byte) string {
	b, _ := pem.Decode(certPEM)
	if b == nil {
		return ""
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%X", c.SerialNumber)
}

type incarnation struct{ replica, inc int }

func (i incarnation) String() string { return fmt.Sprintf("replica %d (start %d)", i.replica, i.inc) }

// attribute checks every signature against the leaderships and every
// delivered certificate against the signatures, and times the handovers.
func (lr *leaderResult) attribute(terms []localstack.Term, sigs []localstack.Signature, obs *observer, issued map[string][]string) {
	example := func(format string, args ...any) {
		lr.Examples = appendExample(lr.Examples, fmt.Sprintf(format, args...))
	}
	lr.Terms = len(terms)
	lr.SignaturesByReplica = make([]int, lr.Replicas)
	bySerial := map[string]localstack.Signature{}
	byName := map[string]map[incarnation]bool{}
	span := map[incarnation][2]time.Time{}
	for _, s := range sigs {
		lr.SignaturesByReplica[s.Replica]++
		bySerial[s.Serial] = s
		who := incarnation{s.Replica, s.Incarnation}
		name := s.Namespace + "/" + s.Name
		if byName[name] == nil {
			byName[name] = map[incarnation]bool{}
		}
		byName[name][who] = true
		sp, ok := span[who]
		if !ok || s.At.Before(sp[0]) {
			sp[0] = s.At
		}
		if s.At.After(sp[1]) {
			sp[1] = s.At
		}
		span[who] = sp
	}
	led := map[incarnation]bool{}
	for _, t := range terms {
		led[incarnation{t.Replica, t.Incarnation}] = true
	}
	for who := range span {
		if !led[who] {
			lr.NotLeader++
			example("%s signed without having taken the Lease", who)
		}
	}
	whos := slices.Collect(maps.Keys(span))
	for i, a := range whos {
		for _, b := range whos[i+1:] {
			sa, sb := span[a], span[b]
			if sa[0].Before(sb[1]) && sb[0].Before(sa[1]) {
				lr.Overlaps++
				example("%s signed from %s to %s and %s from %s to %s", a, sa[0].Format(time.StampMilli), sa[1].Format(time.StampMilli),
					b, sb[0].Format(time.StampMilli), sb[1].Format(time.StampMilli))
			}
		}
	}

	obs.mu.Lock()
	delivered := map[string]bool{}
	for key := range obs.signedAt {
		// Every certificate the request's status ever held, and every
		// one its Events named.
		var serials []string
		for _, c := range obs.certs[key] {
			serials = append(serials, serialOf(c))
		}
		serials = append(serials, issued[key]...)
		signers := map[incarnation]bool{}
		for _, serial := range serials {
			delivered[serial] = true
			s, ok := bySerial[serial]
			if !ok {
				lr.Unattributed++
				example("request %s: certificate serial %s is in no replica's log", key, serial)
				continue
			}
			signers[incarnation{s.Replica, s.Incarnation}] = true
		}
		if len(signers) > 1 {
			lr.SignedByBoth++
			example("request %s: delivered certificates signed by %v", key, slices.Collect(maps.Keys(signers)))
		}
	}
	obs.mu.Unlock()
	for name, who := range byName {
		if len(who) > 1 {
			lr.Resigned++
			example("request %s signed by %d incarnations (one died before its write)", name, len(who))
		}
	}
	for _, s := range sigs {
		if !delivered[s.Serial] {
			lr.Discarded++
		}
	}

	for i := range lr.Handovers {
		ho := &lr.Handovers[i]
		var next time.Time
		for _, s := range sigs {
			if s.Replica == ho.To && s.At.After(ho.killed) && (next.IsZero() || s.At.Before(next)) {
				next = s.At
			}
		}
		if !next.IsZero() {
			ho.NextSignature = next.Sub(ho.killed).Seconds()
		}
		if seen := obs.firstSignedAfter(ho.killed); !seen.IsZero() {
			ho.NextSeen = seen.Sub(ho.killed).Seconds()
		}
	}
}

// maxHandover is the longest kill → next signature of signal's handovers.
func (lr *leaderResult) maxHandover(signal string) float64 {
	var m float64
	for _, ho := range lr.Handovers {
		if ho.Signal == signal {
			m = max(m, ho.NextSignature)
		}
	}
	return m
}

// goals: who signed is a count, asserted; handover times are reported.
func (lr *leaderResult) goals() []goal {
	bound := report.AtMost(lr.LeaseDuration + 5)
	handoverOK := len(lr.Handovers) > 0
	for _, ho := range lr.Handovers {
		handoverOK = handoverOK && bound.Met(ho.NextSignature)
	}
	return []goal{
		{"0 signed by both replicas", lr.SignedByBoth == 0, true},
		{"0 signatures outside a leadership (every certificate in a replica's log, every signer a leader)", lr.Unattributed == 0 && lr.NotLeader == 0, true},
		{"0 overlapping signers (one replica signs at a time)", lr.Overlaps == 0, true},
		{Name: fmt.Sprintf("handover (kill→next signature) <= lease %gs + 5s", lr.LeaseDuration), Pass: handoverOK},
	}
}

func (lr *leaderResult) print(w *strings.Builder) {
	fmt.Fprintf(w, "    %d replicas, lease %gs / renew %gs / retry %gs; %d leaderships, %d Lease transitions; signatures per replica %v; re-signed after a kill %d, signatures lost with a killed leader %d\n",
		lr.Replicas, lr.LeaseDuration, lr.RenewDeadline, lr.RetryPeriod, lr.Terms, lr.LeaseTransitions, lr.SignaturesByReplica, lr.Resigned, lr.Discarded)
	for _, sig := range []string{"SIGKILL", "SIGTERM"} {
		var acq, next []float64
		for _, ho := range lr.Handovers {
			if ho.Signal == sig {
				acq, next = append(acq, ho.LeaseAcquired), append(next, ho.NextSignature)
			}
		}
		if len(acq) == 0 {
			continue
		}
		fmt.Fprintf(w, "    %d× %s: kill→Lease acquireTime %s s, kill→next signature %s s\n", len(acq), sig, spread(acq), spread(next))
	}
	for _, e := range lr.Examples {
		fmt.Fprintf(w, "    %s\n", e)
	}
}

// spread renders figures as "min / median / max (min / median / max)".
func spread(v []float64) string { return report.Spread(v) + " (min / median / max)" }
