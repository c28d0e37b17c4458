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
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
)

// Re-issue after rotate-now. A rotate-now is asked for when the CA must go
// (a suspected compromise): once the new CA signs, every Certificate that
// names the issuer and still holds a certificate of a CA generation that no
// longer signs is asked to re-issue, the way `cmctl renew` asks
// cert-manager: its Issuing condition set True with reason
// ManuallyTriggered, through the status subresource. cert-manager then makes
// a new CertificateRequest, which the new CA signs.
//
// "Signed by a previous CA" is decided on the certificate itself: the
// tls.crt of the Certificate's Secret is verified against the retired CA
// certificates the rotation keeps (<secretName>-retired-<fingerprint>-<random>),
// not guessed from status.notBefore, which says when but not by whom (two
// generations of a generated CA usually share a subject, and a Certificate
// may have named another issuer before). status.notBefore only spares the
// Secret read of a Certificate issued well after the switch, which only the
// new CA can have signed.
//
// Everything is derived from the API server on each pass (the leaf memo,
// reissuememo.go, only spares reading again a Secret whose certificate a
// pass has verified and which nothing says has changed): the switch (its
// time and token) from annotations the promotion
// writes on the CA Secret; what is done, in progress, failed or pending
// from the Certificates and their Secrets; the pace from
// status.rotation.reissue.lastBatchAt, written before a batch is
// triggered. A restart resumes mid-way, never triggers a Certificate
// already issuing or already holding a certificate of the new CA, and
// never exceeds a batch per interval.
//
// A namespaced NstanceIssuer lists Certificates and reads Secrets in its
// own namespace only.
const (
	// annotationRotatedAt, on spec.ca.secretName, is when a promotion made
	// the CA in it sign.
	annotationRotatedAt = "issuer.nstance.dev/rotated-at"
	// annotationRotatedForToken, on spec.ca.secretName, is the rotate-now
	// token that promotion answered; absent after a scheduled rotation.
	annotationRotatedForToken = "issuer.nstance.dev/rotated-for-token" //nolint:gosec // G101: an annotation's name, not a credential

	// DefaultReissueBatchSize is how many Certificates an issuer asks to
	// re-issue per DefaultReissueInterval after a rotate-now.
	DefaultReissueBatchSize = 10
	// DefaultReissueInterval is the time between two batches.
	DefaultReissueInterval = time.Minute
	// DefaultReissueStalledAfter is how long a Certificate asked to
	// re-issue holds a place of the batch while it is issuing. cert-manager
	// re-issues one in seconds; the slowest batch the scale harness saw
	// took 175 s, with thousands queued at once.
	DefaultReissueStalledAfter = 10 * time.Minute
	// MaxReissueBatchSize bounds --reissue-batch-size: the Certificates in
	// flight are recorded in the issuer's status
	// (status.rotation.reissue.inFlight), a few hundred bytes each.
	MaxReissueBatchSize = 1000

	// reasonManuallyTriggered is the Issuing condition reason `cmctl renew`
	// writes.
	reasonManuallyTriggered = "ManuallyTriggered"
	// reissueSettle: a certificate whose NotBefore is this long after the
	// switch was signed by the new CA (NotBefore is backdated 30 s; the
	// signer reloads a changed CA Secret within seconds), so its Secret is
	// not read.
	reissueSettle = 5 * time.Minute
	// reissueListPage bounds the Certificates held in memory at once.
	reissueListPage = 500
	// maxReissueNames bounds the names listed in status and Events.
	maxReissueNames = 20

	eventActionReissue = "Reissue"
)

// +kubebuilder:rbac:groups=cert-manager.io,resources=certificates,verbs=get;list
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificates/status,verbs=patch

// ReissuePolicy is the pace of the re-issue after a rotate-now.
type ReissuePolicy struct {
	// BatchSize is how many Certificates are asked to re-issue per
	// Interval, and how many of those asked may be issuing at once; 0
	// turns the re-issue off.
	BatchSize int
	// Interval is the time between two batches.
	Interval time.Duration
	// StalledAfter is how long an asked Certificate that is still issuing
	// holds its place (0: DefaultReissueStalledAfter).
	StalledAfter time.Duration
}

// Validate says what is wrong with the flags that set p.
func (p ReissuePolicy) Validate() error {
	switch {
	case p.BatchSize < 0 || p.BatchSize > MaxReissueBatchSize:
		return fmt.Errorf("--reissue-batch-size=%d: want 0 (off) to %d; each Certificate issuing is recorded in its issuer's status", p.BatchSize, MaxReissueBatchSize)
	case p.BatchSize > 0 && p.Interval <= 0:
		return fmt.Errorf("--reissue-interval=%s: want a positive time between two batches", p.Interval)
	case p.StalledAfter < 0:
		return fmt.Errorf("--reissue-stalled-after=%s: want a positive time (0: %s)", p.StalledAfter, DefaultReissueStalledAfter)
	}
	return nil
}

func (p ReissuePolicy) stalledAfter() time.Duration {
	if p.StalledAfter > 0 {
		return p.StalledAfter
	}
	return DefaultReissueStalledAfter
}

// nextBatch says how many Certificates may be triggered now, given the
// last batch (zero: none yet), and when the following batch may start.
func (p ReissuePolicy) nextBatch(last, now time.Time) (int, time.Time) {
	if p.BatchSize <= 0 {
		return 0, time.Time{}
	}
	if last.After(now) {
		last = now // a clock that went back must not stall the re-issue
	}
	if last.IsZero() || !now.Before(last.Add(p.Interval)) {
		return p.BatchSize, now.Add(p.Interval)
	}
	return 0, last.Add(p.Interval)
}

// namesIssuer says whether a Certificate's issuerRef names the issuer,
// exactly as issuer-lib resolves the CertificateRequests cert-manager makes
// from it: the group must be issuer.nstance.dev (an empty group is
// cert-manager.io), an empty kind is the first registered kind,
// NstanceIssuer; an NstanceIssuer is looked up in the Certificate's
// namespace, an NstanceClusterIssuer from any namespace.
func namesIssuer(crt *cmapi.Certificate, ref issuer.Ref) bool {
	r := crt.Spec.IssuerRef
	if r.Group != v1alpha1.GroupVersion.Group || r.Name != ref.Name {
		return false
	}
	kind := r.Kind
	if kind == "" {
		kind = issuer.KindIssuer
	}
	if kind != ref.Kind {
		return false
	}
	return ref.Kind == issuer.KindClusterIssuer || crt.Namespace == ref.Namespace
}

// reissueClass is where a Certificate stands in a re-issue.
type reissueClass int

const (
	// reissueIgnore: not counted (created after the switch, no readable
	// certificate yet, or one no generation of this issuer signed).
	reissueIgnore reissueClass = iota
	// reissueDone: holds a certificate of the issuing CA.
	reissueDone
	// reissueInProgress: signed by a previous CA, Issuing now.
	reissueInProgress
	// reissueFailed: signed by a previous CA, its issuance failed since
	// the switch; not triggered again.
	reissueFailed
	// reissuePending: signed by a previous CA, waits for a batch.
	reissuePending
)

// reissueFacts is what decides a Certificate's class.
type reissueFacts struct {
	Created     time.Time
	Issuing     bool
	LastFailure time.Time // zero: none
	NotBefore   time.Time // status.notBefore; zero: none
	// Leaf is the first certificate of the Secret's tls.crt; nil when not
	// read or unreadable.
	Leaf *x509.Certificate
}

func factsOf(crt *cmapi.Certificate) reissueFacts {
	f := reissueFacts{Created: crt.CreationTimestamp.Time}
	for _, c := range crt.Status.Conditions {
		if c.Type == cmapi.CertificateConditionIssuing && c.Status == cmmeta.ConditionTrue {
			f.Issuing = true
		}
	}
	if t := crt.Status.LastFailureTime; t != nil {
		f.LastFailure = t.Time
	}
	if t := crt.Status.NotBefore; t != nil {
		f.NotBefore = t.Time
	}
	return f
}

// existedAt: the Certificate was created before the switch. Creation
// times have a one-second resolution: one created in the second of the
// switch counts.
func (f reissueFacts) existedAt(rotatedAt time.Time) bool {
	return !f.Created.After(rotatedAt)
}

// issuedWellAfter: status.notBefore proves the current certificate was
// signed after the switch had settled.
func (f reissueFacts) issuedWellAfter(rotatedAt time.Time) bool {
	return !f.NotBefore.IsZero() && f.NotBefore.After(rotatedAt.Add(reissueSettle))
}

// needsLeaf says whether classifying needs the Secret's certificate.
func (f reissueFacts) needsLeaf(rotatedAt time.Time) bool {
	return f.existedAt(rotatedAt) && !f.issuedWellAfter(rotatedAt)
}

// classifyReissue places a Certificate: done when the issuing CA signed its
// certificate, else — when a retired CA did — in progress, failed since
// the switch, or pending.
func classifyReissue(f reissueFacts, rotatedAt time.Time, issuing *x509.Certificate, retired []*x509.Certificate) reissueClass {
	return classifyVerdict(f, rotatedAt, judgeLeaf(f.Leaf, issuing, retired))
}

// judgeLeaf says which CA signed leaf, verified on its signature.
func judgeLeaf(leaf, issuing *x509.Certificate, retired []*x509.Certificate) leafVerdict {
	switch {
	case leaf == nil:
		return leafNone
	case signedBy(leaf, issuing):
		return leafOfIssuing
	case slices.ContainsFunc(retired, func(ca *x509.Certificate) bool { return signedBy(leaf, ca) }):
		return leafOfRetired
	}
	return leafOfOther
}

// classifyVerdict places a Certificate whose certificate v judged
// (f.Leaf is not looked at).
func classifyVerdict(f reissueFacts, rotatedAt time.Time, v leafVerdict) reissueClass {
	if !f.existedAt(rotatedAt) {
		return reissueIgnore
	}
	switch v {
	case leafNone:
		if f.issuedWellAfter(rotatedAt) {
			return reissueDone
		}
		return reissueIgnore
	case leafOfIssuing:
		return reissueDone
	case leafOfOther:
		return reissueIgnore
	case leafOfRetired:
	}
	switch {
	case f.Issuing:
		return reissueInProgress
	case !f.LastFailure.IsZero() && f.LastFailure.After(rotatedAt):
		return reissueFailed
	}
	return reissuePending
}

// signedBy verifies that ca signed leaf. The key identifiers, when both
// are set, rule out most CAs without a signature check.
func signedBy(leaf, ca *x509.Certificate) bool {
	if ca == nil {
		return false
	}
	if len(leaf.AuthorityKeyId) > 0 && len(ca.SubjectKeyId) > 0 && !bytes.Equal(leaf.AuthorityKeyId, ca.SubjectKeyId) {
		return false
	}
	return bytes.Equal(leaf.RawIssuer, ca.RawSubject) && leaf.CheckSignatureFrom(ca) == nil
}

// setIssuing sets the Issuing condition True with reason ManuallyTriggered,
// as `cmctl renew` does (cert-manager's apiutil.SetCertificateCondition),
// with the reconciler's clock.
func setIssuing(crt *cmapi.Certificate, now time.Time, message string) {
	at := metav1.NewTime(now)
	c := cmapi.CertificateCondition{
		Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionTrue, Reason: reasonManuallyTriggered,
		Message: message, LastTransitionTime: &at, ObservedGeneration: crt.Generation,
	}
	for i, have := range crt.Status.Conditions {
		if have.Type == c.Type {
			if have.Status == c.Status {
				c.LastTransitionTime = have.LastTransitionTime
			}
			crt.Status.Conditions[i] = c
			return
		}
	}
	crt.Status.Conditions = append(crt.Status.Conditions, c)
}

// reissueTally counts one pass over the Certificates.
type reissueTally struct {
	reissued, inProgress int32
	failed               []types.NamespacedName
	pending              []reissueCandidate
	// issuingIn counts per namespace the Certificates in progress.
	issuingIn map[string]int
}

// count adds a Certificate of class c.
func (t *reissueTally) count(crt *cmapi.Certificate, c reissueClass) {
	name := client.ObjectKeyFromObject(crt)
	switch c {
	case reissueDone:
		t.reissued++
	case reissueInProgress:
		t.inProgress++
		if t.issuingIn == nil {
			t.issuingIn = map[string]int{}
		}
		t.issuingIn[crt.Namespace]++
	case reissueFailed:
		t.failed = append(t.failed, name)
	case reissuePending:
		t.pending = append(t.pending, reissueCandidate{NamespacedName: name, UID: crt.UID})
	case reissueIgnore: // counted nowhere
	}
}

// apply writes the counts into st.
func (t *reissueTally) apply(st *v1alpha1.ReissueStatus) {
	st.Reissued, st.InProgress = t.reissued, t.inProgress
	st.Failed, st.Pending = int32(len(t.failed)), int32(len(t.pending)) //nolint:gosec // G115: Certificates of one issuer listed from the API server, far below 2^31
	st.Total = st.Reissued + st.InProgress + st.Failed + st.Pending
	st.FailedCertificates = nil
	for _, n := range t.failed[:min(len(t.failed), maxReissueNames)] {
		st.FailedCertificates = append(st.FailedCertificates, n.String())
	}
}

func sortNames(names []types.NamespacedName) {
	slices.SortFunc(names, func(a, b types.NamespacedName) int { return strings.Compare(a.String(), b.String()) })
}

func sortCandidates(cs []reissueCandidate) {
	slices.SortFunc(cs, func(a, b reissueCandidate) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// listNames is up to maxReissueNames names, and how many more there are.
func listNames[T fmt.Stringer](names []T) string {
	var parts []string
	for _, n := range names[:min(len(names), maxReissueNames)] {
		parts = append(parts, n.String())
	}
	s := strings.Join(parts, ", ")
	if more := len(names) - maxReissueNames; more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}

// ---- glue ------------------------------------------------------------------

// planReissue works out, after a rotate-now switch, where the re-issue
// stands: it fills g.reissue (status.rotation.reissue) and returns the
// Certificates of the batch due now, whose time is then already recorded
// in g.reissue.LastBatchAt, and when to look again (zero: no need).
//
// The pace is kept from the pass's start (when the reconcile began): a
// batch is due when the pass starts at least an interval after the last
// one, lastBatchAt is the pass's start, and the next look is at
// lastBatchAt + interval, a time rather than a delay, so that neither
// the reconcile's reads, listing the Certificates and reading their
// Secrets (seconds with thousands) nor triggering the batch pushes every
// later batch back by that long.
func (r *Reconciler) planReissue(ctx context.Context, v issuer.View, g *generations, passStart time.Time) ([]types.NamespacedName, time.Time, error) {
	logger := log.FromContext(ctx)
	start := passStart.UTC().Truncate(time.Second)
	g.reissue = nil
	token := g.issuing.Annotations[annotationRotatedForToken]
	rotatedAt, err := time.Parse(time.RFC3339, g.issuing.Annotations[annotationRotatedAt])
	if token == "" || err != nil || r.Reissue.BatchSize <= 0 {
		// No readable rotated-at (promote writes it with the token): no
		// re-issue to follow, as without a token.
		r.leaves.forget(v.Ref)
		return nil, time.Time{}, nil
	}
	st := &v1alpha1.ReissueStatus{Token: token, RotatedAt: metav1.NewTime(rotatedAt.UTC())}
	if v.Status.Rotation != nil {
		if prev := v.Status.Rotation.Reissue; prev != nil && prev.Token == token && prev.RotatedAt.Equal(&st.RotatedAt) && prev.CompletedAt != nil {
			g.reissue = prev.DeepCopy() // done: nothing more to read
			r.leaves.forget(v.Ref)
			return nil, time.Time{}, nil
		}
	}
	// The progress so far is read from the API server, not the cache: a
	// cached issuer may predate the last batch's status write, and
	// counting on from it would lose the batch (or start another).
	status, err := r.freshStatus(ctx, v)
	if err != nil {
		return nil, time.Time{}, err
	}
	if status.Rotation != nil {
		if prev := status.Rotation.Reissue; prev != nil && prev.Token == token && prev.RotatedAt.Equal(&st.RotatedAt) {
			st = prev.DeepCopy()
		}
	}
	g.reissue = st
	if st.CompletedAt != nil {
		r.leaves.forget(v.Ref)
		return nil, time.Time{}, nil
	}
	issuing := g.issuingCA.Cert
	if status.CA == nil || status.CA.SHA256Fingerprint != pki.Fingerprint(issuing) {
		// The signer has not loaded the new CA yet: a certificate
		// re-issued now could still be signed by the previous one. Its
		// status.ca write brings the issuer back here.
		logger.V(1).Info("re-issue waits for the signer to load the new CA")
		return nil, r.now().Add(r.Reissue.Interval), nil
	}
	var retired []*x509.Certificate
	for _, rg := range g.retired {
		if rg.cert != nil && !rg.cert.Equal(issuing) {
			retired = append(retired, rg.cert)
		}
	}

	// Verdicts on Secrets already read are reused while they hold
	// (reissuememo.go).
	leaves := r.leaves.begin(v.Ref, rotationID(token, rotatedAt, issuing, retired))
	complete, completed := false, false
	defer func() {
		if completed {
			r.leaves.forget(v.Ref) // nothing more to read
			return
		}
		leaves.end(complete)
	}()
	var tally reissueTally
	// The Certificates the record says are in flight, as this pass finds
	// them (reissue_inflight.go).
	asked := askedUIDs(st.InFlight)
	listed := make(map[types.NamespacedName]listedAsked, len(st.InFlight))
	opts := []client.ListOption{client.Limit(reissueListPage)}
	if v.Ref.Kind == issuer.KindIssuer {
		opts = append(opts, client.InNamespace(v.Ref.Namespace))
	}
	for cont := ""; ; {
		var list cmapi.CertificateList
		if err := r.Reader.List(ctx, &list, append(opts, client.Continue(cont))...); err != nil {
			return nil, time.Time{}, fmt.Errorf("cannot list the Certificates that name %s: %w", v, err)
		}
		for i := range list.Items {
			crt := &list.Items[i]
			if !namesIssuer(crt, v.Ref) {
				continue
			}
			f := factsOf(crt)
			verdict := leafNone
			if f.needsLeaf(rotatedAt) {
				var known bool
				if verdict, known = leaves.lookup(crt, f.Issuing); !known {
					leaf, err := r.certificateLeaf(ctx, v, crt)
					if err != nil {
						return nil, time.Time{}, err
					}
					verdict = judgeLeaf(leaf, issuing, retired)
					leaves.read(crt, f.Issuing, verdict)
				}
			}
			class := classifyVerdict(f, rotatedAt, verdict)
			tally.count(crt, class)
			if name := client.ObjectKeyFromObject(crt); asked[name] != "" {
				listed[name] = listedAsked{uid: crt.UID, class: class}
			}
		}
		if cont = list.Continue; cont == "" {
			break
		}
	}
	complete = true
	sortNames(tally.failed)
	sortCandidates(tally.pending)
	tally.apply(st)
	var stalled []types.NamespacedName
	st.InFlight, stalled = keepInFlight(st.InFlight, listed, start, r.Reissue.stalledAfter())
	if len(stalled) > 0 {
		st.Stalled += int32(len(stalled)) //nolint:gosec // G115: at most a batch (MaxReissueBatchSize)
		r.Recorder.Eventf(v.Obj, nil, corev1.EventTypeWarning, v1alpha1.EventReasonReissueStalled, eventActionReissue,
			"%d Certificate(s) asked to re-issue after %s=%s are still issuing %s later: %s. They no longer hold back the next batches; see why with kubectl describe certificate",
			len(stalled), v1alpha1.RotateNowAnnotation, token, r.Reissue.stalledAfter(), listNames(stalled))
		logger.Info("Certificates asked to re-issue are still issuing; they no longer hold back the batches",
			"token", token, "stalled", len(stalled), "stalledAfter", r.Reissue.stalledAfter())
	}

	if len(tally.pending) == 0 && tally.inProgress == 0 {
		// Completed when this pass found it so: after its reads.
		at := metav1.NewTime(r.now().UTC().Truncate(time.Second))
		st.CompletedAt = &at
		completed = true
		r.recordReissueDone(v, g, st)
		logger.Info("re-issue after rotate-now completed", "token", token, "reissued", st.Reissued, "failed", st.Failed)
		return nil, time.Time{}, nil
	}
	var last time.Time
	if st.LastBatchAt != nil {
		last = st.LastBatchAt.Time
	}
	n, next := r.Reissue.nextBatch(last, start)
	// Only as many as the batch size leaves free of those still in flight.
	n = min(n, r.Reissue.BatchSize-len(st.InFlight))
	var batch []types.NamespacedName
	if n > 0 && len(tally.pending) > 0 {
		at := metav1.NewTime(start)
		for _, c := range fairBatch(tally.pending, tally.issuingIn, n) {
			batch = append(batch, c.NamespacedName)
			st.InFlight = append(st.InFlight, v1alpha1.ReissueAsked{Namespace: c.Namespace, Name: c.Name, UID: c.UID, AskedAt: at})
		}
		st.LastBatchAt = &at
	}
	if len(tally.pending) == 0 {
		// Only Certificates in progress: look again an interval later.
		// (With places taken, nextBatch's next look is an interval on.)
		next = start.Add(r.Reissue.Interval)
	}
	logger.V(1).Info("re-issue pass", "token", token, "total", st.Total, "reissued", st.Reissued,
		"inProgress", st.InProgress, "failed", st.Failed, "pending", st.Pending, "inFlight", len(st.InFlight),
		"stalled", st.Stalled, "batch", len(batch), "secretReads", leaves.Reads, "notRemembered", leaves.Full)
	return batch, next, nil
}

// rotationID identifies the rotation a leaf verdict was decided in: the
// rotate-now token, the switch and the CA certificates judged against.
func rotationID(token string, rotatedAt time.Time, issuing *x509.Certificate, retired []*x509.Certificate) string {
	fps := make([]string, 0, len(retired))
	for _, ca := range retired {
		fps = append(fps, pki.Fingerprint(ca))
	}
	slices.Sort(fps)
	return strings.Join([]string{token, rotatedAt.UTC().Format(time.RFC3339), pki.Fingerprint(issuing), strings.Join(fps, ",")}, "|")
}

// freshStatus reads the issuer's status from the API server.
func (r *Reconciler) freshStatus(ctx context.Context, v issuer.View) (*v1alpha1.IssuerStatus, error) {
	switch v.Ref.Kind {
	case issuer.KindIssuer:
		var i v1alpha1.NstanceIssuer
		if err := r.Reader.Get(ctx, v.Ref.NamespacedName, &i); err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", v, err)
		}
		return &i.Status, nil
	default:
		var i v1alpha1.NstanceClusterIssuer
		if err := r.Reader.Get(ctx, v.Ref.NamespacedName, &i); err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", v, err)
		}
		return &i.Status, nil
	}
}

// certificateLeaf reads the certificate in a Certificate's Secret; nil
// when there is none yet. An NstanceIssuer never reads outside its own
// namespace.
func (r *Reconciler) certificateLeaf(ctx context.Context, v issuer.View, crt *cmapi.Certificate) (*x509.Certificate, error) {
	if crt.Spec.SecretName == "" || (v.Ref.Kind == issuer.KindIssuer && crt.Namespace != v.Ref.Namespace) {
		return nil, nil
	}
	s, err := r.getSecret(ctx, types.NamespacedName{Namespace: crt.Namespace, Name: crt.Spec.SecretName})
	if err != nil || s == nil {
		return nil, err
	}
	return pki.FirstCertificate(s.Data[issuer.SecretKeyTLSCert]), nil
}

// triggerReissue asks the Certificates of a batch to re-issue and counts
// the ones asked in g.reissue. A Certificate that changed since the pass
// (now issuing, re-issued, gone, replaced by another of the same name, or
// a write conflict) is left for the next pass to judge again, and leaves
// the in-flight record.
func (r *Reconciler) triggerReissue(ctx context.Context, v issuer.View, g *generations, batch []types.NamespacedName) {
	logger := log.FromContext(ctx)
	st := g.reissue
	previous := "the previous CA"
	for _, rt := range g.retiring {
		if rt.Cert.Fingerprint == g.issuing.Annotations[annotationRotatedFrom] {
			previous = fmt.Sprintf("the previous CA %q", rt.Cert.Subject)
		}
	}
	message := fmt.Sprintf("Certificate re-issuance triggered by %s: %s=%s replaced the CA that signed it", v, v1alpha1.RotateNowAnnotation, st.Token)
	uids := askedUIDs(st.InFlight)
	skipped := map[types.NamespacedName]bool{} // of the batch, not asked
	var asked []types.NamespacedName
	var failed error
	for _, name := range batch {
		skipped[name] = true // until asked
		var crt cmapi.Certificate
		if err := r.Reader.Get(ctx, name, &crt); err != nil {
			if !apierrors.IsNotFound(err) {
				failed = fmt.Errorf("cannot read Certificate %s: %w", name, err)
				logger.Error(err, "cannot read a Certificate to re-issue", "certificate", name)
			}
			continue
		}
		if crt.UID != uids[name] || !namesIssuer(&crt, v.Ref) || factsOf(&crt).Issuing {
			continue
		}
		orig := crt.DeepCopy()
		setIssuing(&crt, r.now(), message)
		if err := r.Client.Status().Patch(ctx, &crt, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
				failed = fmt.Errorf("cannot set the Issuing condition of Certificate %s: %w", name, err)
				logger.Error(err, "cannot mark a Certificate for re-issue", "certificate", name)
			}
			continue
		}
		r.Recorder.Eventf(&crt, v.Obj, corev1.EventTypeNormal, v1alpha1.EventReasonReissueTriggered, eventActionReissue,
			"Re-issue asked by %s: this certificate was signed by %s, which %s=%s replaced", v, previous, v1alpha1.RotateNowAnnotation, st.Token)
		asked = append(asked, name)
		delete(skipped, name)
	}
	if failed != nil {
		r.Recorder.Eventf(v.Obj, nil, corev1.EventTypeWarning, v1alpha1.EventReasonReissueTriggerFailed, eventActionReissue,
			"%v; it stays pending for the next batch (the controller needs get and list on certificates and patch on certificates/status)", failed)
	}
	st.InFlight = slices.DeleteFunc(st.InFlight, func(a v1alpha1.ReissueAsked) bool { return skipped[askedName(a)] })
	if len(asked) == 0 {
		return
	}
	n := int32(len(asked)) //nolint:gosec // G115: at most one batch (ReissueBatchSize)
	st.Triggered += n
	st.InProgress += n
	st.Pending -= n
	next := "no more pending"
	if st.Pending > 0 && st.LastBatchAt != nil {
		next = fmt.Sprintf("%d pending, next batch from %s for as many as finish of the %d in flight (at most %d at once)",
			st.Pending, st.LastBatchAt.Add(r.Reissue.Interval).UTC().Format(time.RFC3339), len(st.InFlight), r.Reissue.BatchSize)
	}
	r.Recorder.Eventf(v.Obj, nil, corev1.EventTypeNormal, v1alpha1.EventReasonReissueTriggered, eventActionReissue,
		"Asked %d Certificate(s) signed by %s to re-issue after %s=%s: %s; %s",
		n, previous, v1alpha1.RotateNowAnnotation, st.Token, listNames(asked), next)
	logger.Info("asked Certificates to re-issue", "token", st.Token, "count", n, "pending", st.Pending)
}

// recordReissueDone records the Event that ends a re-issue.
func (r *Reconciler) recordReissueDone(v issuer.View, g *generations, st *v1alpha1.ReissueStatus) {
	subject := g.issuingCA.Cert.Subject.String()
	if st.Failed > 0 {
		r.Recorder.Eventf(v.Obj, nil, corev1.EventTypeWarning, v1alpha1.EventReasonReissueIncomplete, eventActionReissue,
			"Re-issue after %s=%s ended: %d of %d Certificate(s) signed by a previous CA now hold a certificate of %q; %d failed to issue: %s. Fix the cause (kubectl describe certificate) and run `cmctl renew`",
			v1alpha1.RotateNowAnnotation, st.Token, st.Reissued, st.Total, subject, st.Failed, strings.Join(st.FailedCertificates, ", "))
		return
	}
	if st.Total == 0 {
		r.Recorder.Eventf(v.Obj, nil, corev1.EventTypeNormal, v1alpha1.EventReasonReissueCompleted, eventActionReissue,
			"Re-issue after %s=%s completed: no Certificate that names %s holds a certificate of a previous CA",
			v1alpha1.RotateNowAnnotation, st.Token, v)
		return
	}
	r.Recorder.Eventf(v.Obj, nil, corev1.EventTypeNormal, v1alpha1.EventReasonReissueCompleted, eventActionReissue,
		"Re-issue after %s=%s completed: all %d Certificate(s) signed by a previous CA now hold a certificate of %q (%d asked by this issuer)",
		v1alpha1.RotateNowAnnotation, st.Token, st.Total, subject, st.Triggered)
}
