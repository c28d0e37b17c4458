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
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/cakey"
	"github.com/nstance-dev/nstance-issuer/internal/controller/casecret"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/controller/trust"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/rotation"
)

// Where CA generations live. Every generation is a Secret in the namespace
// of spec.ca.secretName (the issuer's own namespace for an NstanceIssuer,
// the cluster resource namespace for an NstanceClusterIssuer), so the
// rotation never reads or writes a Secret anywhere else:
//
//   - spec.ca.secretName holds the issuing CA, always: the signer reads
//     nothing else. A promotion overwrites its tls.crt, tls.key and ca.crt
//     with the next CA's. Its annotation issuer.AnnotationGenerations is the
//     generation record (owned.go).
//   - <secretName>-next-<random> holds a generated next CA (deleted once
//     promoted: its key then lives in spec.ca.secretName only). A next CA
//     you bring lives in spec.ca.rotation.nextSecretName and is never
//     modified or deleted by the issuer.
//   - <secretName>-retired-<fingerprint>-<random> holds a retiring CA's
//     certificates (tls.crt and ca.crt) and never its key, which the
//     promotion overwrote: a retired key is gone the moment its CA stops
//     signing and can never be used again. It is deleted when the record
//     says its last certificate has expired.
//
// The random parts are drawn when a Secret is made and the record names
// each Secret: nobody can take a generation's name first.
//
// Generated next and retired Secrets carry a controller owner reference to
// the issuer and are garbage-collected with it; spec.ca.secretName is never
// owned. Which Secrets count and which may be written: owned.go.
const (
	rotationFieldOwner = "nstance-issuer-rotation"

	// labelNextOf / labelRetiredFrom mark the generation Secrets of a CA
	// Secret (the value is secretLabelValue of spec.ca.secretName).
	labelNextOf      = "issuer.nstance.dev/next-of"
	labelRetiredFrom = "issuer.nstance.dev/retired-from"
	// annotationCASecret names the CA Secret a generation Secret belongs to.
	annotationCASecret = "issuer.nstance.dev/ca-secret" //nolint:gosec // G101: an annotation's name, not a credential
	// annotationRetiringUntil is when a retired root leaves the bundles.
	annotationRetiringUntil = "issuer.nstance.dev/retiring-until"
	// annotationRotateNowToken is the rotate-now token a generated CA
	// answered; it follows the CA into spec.ca.secretName when promoted.
	annotationRotateNowToken = "issuer.nstance.dev/rotate-now-token" //nolint:gosec // G101: an annotation's name, not a credential
	// annotationRotatedFrom, on spec.ca.secretName, is the fingerprint of
	// the CA a promotion replaced.
	annotationRotatedFrom = "issuer.nstance.dev/rotated-from"

	eventActionRotate = "Rotate"

	// defaultNextPoll is how often an issuer waiting for a next CA Secret
	// of the user's reads it again, a safety net beside the watch on it.
	defaultNextPoll = time.Minute
	// maxSteps bounds the lifecycle steps taken in one reconcile.
	maxSteps = 6
)

// +kubebuilder:rbac:groups="",resources=secrets,verbs=update;delete

// Reconciler runs the CA lifecycle of the issuers of one kind: it
// reads the generation Secrets, asks rotation.Decide for the next step,
// takes it, publishes the live roots and reports status, Events and
// metrics. Each step is idempotent, so a restart between any two resumes
// without losing a generation or making a second one.
type Reconciler struct {
	Kind string
	// Client reads and writes Secrets (never cached by the manager),
	// issuers and status.
	Client client.Client
	// Reader lists ConfigMaps and ClusterTrustBundles by label straight
	// from the API server, so they are never cached.
	Reader client.Reader
	// ClusterResourceNamespace is where NstanceClusterIssuers keep CAs.
	ClusterResourceNamespace string
	Recorder                 events.EventRecorder
	Clock                    clock.PassiveClock
	Rand                     io.Reader
	// Trust publishes the live roots.
	Trust *trust.Publisher
	// NextSecrets watches the next CA Secret of the user's that each issuer
	// names, so a new or fixed one is seen within seconds (nil: not
	// watched, only polled).
	NextSecrets *casecret.Watcher
	// NextPoll is how often an issuer waiting for a next CA of the user's
	// re-reads it (0: defaultNextPoll).
	NextPoll time.Duration
	// Reissue paces the re-issue of the Certificates a previous CA signed,
	// after a rotate-now switch (reissue.go).
	Reissue ReissuePolicy
	// MinGenerationInterval is the least time between two CA keys an
	// issuer generates (0: no bound).
	MinGenerationInterval time.Duration
	// Keys makes next CA keys off the workers (nil: on the worker).
	Keys *KeyGenerator
	// CAKeys opens and makes CA keys held in a KMS or an HSM (spec.ca.key);
	// nil: such issuers are not rotated.
	CAKeys *cakey.Resolver

	keysMu     sync.Mutex
	openedKeys map[issuer.Ref]openedKey
	// leaves remembers the re-issue's verdicts on Secrets already read
	// (reissuememo.go).
	leaves leafMemo
}

func (r *Reconciler) now() time.Time {
	if r.Clock == nil {
		return time.Now()
	}
	return r.Clock.Now()
}

func (r *Reconciler) rand() io.Reader {
	if r.Rand == nil {
		return rand.Reader
	}
	return r.Rand
}

// Reconcile takes lifecycle steps until none is due, then publishes and
// reports. The status is written whatever happened: a step that failed, a
// bundle that could not be published or a Secret that is not the
// issuer's is reported on the CARotation condition, never left unsaid.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	logger := log.FromContext(ctx)
	passStart := r.now() // the re-issue's pace counts from here (planReissue)
	obj := issuer.NewObject(r.Kind)
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			ref := issuer.Ref{Kind: r.Kind, NamespacedName: req.NamespacedName}
			forgetRotationMetrics(ref)
			r.Trust.Forget(ref)
			r.forgetNextSecret(ref)
			r.forgetKey(ref)
			r.leaves.forget(ref)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	iss, ok := obj.(issuerapi.Issuer)
	if !ok {
		return reconcile.Result{}, fmt.Errorf("unexpected issuer type %T", obj)
	}
	v, err := issuer.NewView(iss, r.ClusterResourceNamespace)
	if err != nil {
		return reconcile.Result{}, err
	}
	if !obj.GetDeletionTimestamp().IsZero() {
		r.forgetNextSecret(v.Ref)
		r.forgetKey(v.Ref)
		r.leaves.forget(v.Ref)
		return reconcile.Result{}, nil
	}
	if err := r.watchNextSecret(ctx, v); err != nil {
		return reconcile.Result{}, err
	}
	token := obj.GetAnnotations()[v1alpha1.RotateNowAnnotation]
	if v.Spec.CA.Rotation == nil && v.Spec.CA.TrustBundle == nil && token == "" && v.Status.Rotation == nil {
		r.leaves.forget(v.Ref)
		return reconcile.Result{}, nil // no lifecycle asked for: read nothing
	}
	policy := rotationPolicy(v.Spec, token)
	policy.MinGenerationInterval = r.MinGenerationInterval

	var (
		d           rotation.Decision
		g           *generations
		p           problems
		pending     bool                 // the next CA's key is being generated
		rateLimited *keyRateLimitedError // the issuer started a key too recently
	)
	for step := 0; ; step++ {
		now := r.now()
		if g, err = r.read(ctx, v); err != nil {
			return reconcile.Result{}, err
		}
		if g == nil {
			// No usable issuing CA: the signer reports it on Ready and its
			// status write brings the issuer back here.
			return reconcile.Result{}, nil
		}
		if g.legacy != nil && step < maxSteps {
			// Generations an earlier version made are recorded first.
			if p.step = r.writeRecord(ctx, g, *g.legacy); p.step != nil {
				break
			}
			logger.Info("recorded the CA generations made by an earlier version", "secret", v.SecretKey)
			continue
		}
		// Promote keeps the previous root for the longest leaf lifetime
		// seen while it signed, not only the one in the spec now.
		pol := policy
		pol.MaxLeafLifetime = leafLifetimeHighWater(v, g)
		if g.generateRefused != "" {
			pol.CanGenerate, pol.GenerateRefused = false, g.generateRefused
		}
		pol.PromoteRefused = g.promoteRefused
		d = rotation.Decide(rotation.State{
			Now: now, Policy: pol, Issuing: certOf(g.issuingCA.Cert), HandledToken: g.handled,
			Next: g.next, Retiring: g.retiring, LastGenerated: g.lastGenerated(),
		})
		logger.V(1).Info("rotation decision", "action", d.Action, "phase", d.Phase, "wakeAt", d.WakeAt)
		if d.Action == rotation.None || step >= maxSteps || g.recordProblem != "" {
			break // an unreadable record is never written over: no step
		}
		if d.Action == rotation.PublishNext {
			// The next root must be in every bundle only the controller
			// writes before it counts as published.
			if p.pub = r.Trust.Publish(ctx, v, g.liveRoots(d)); p.pub.Gate != nil {
				break
			}
		}
		if err := r.act(ctx, v, g, d, now); err != nil {
			var limited *keyRateLimitedError
			switch {
			case errors.Is(err, errKeyPending):
				pending = true
			case errors.As(err, &limited):
				rateLimited = limited
			default:
				p.step = err
			}
			break
		}
	}
	budgetSpent := false
	if d.Action != rotation.None {
		// The step was not taken: report the world as it is, and no
		// rotate-now token as answered.
		budgetSpent = p.step == nil && p.pub.Gate == nil && !pending && rateLimited == nil && g.recordProblem == ""
		d.Phase, d.Token = d.PhaseNow, ""
	}
	if rateLimited != nil {
		d.Problem, d.ProblemReason = fmt.Sprintf("a next CA is due, and %v", rateLimited), rotation.ReasonGenerationRateLimited
		if d.WakeAt.IsZero() || rateLimited.until.Before(d.WakeAt) {
			d.WakeAt = rateLimited.until
		}
	}

	p.pub = r.Trust.Publish(ctx, v, g.liveRoots(d))
	r.findLookAlikes(ctx, v, g)
	batch, reissueAt, err := r.planReissue(ctx, v, g, passStart)
	if err != nil && p.step == nil {
		p.step = err
	}
	// The batch's time is in status before any Certificate is asked, so a
	// restart mid-batch never starts another within the interval.
	if err := r.report(ctx, v, g, d, p); err != nil {
		return reconcile.Result{}, err
	}
	if len(batch) > 0 {
		r.triggerReissue(ctx, v, g, batch)
		if err := r.report(ctx, v, g, d, p); err != nil {
			return reconcile.Result{}, err
		}
	}
	switch {
	case p.step != nil && waitsForAPerson(p.step):
		return reconcile.Result{RequeueAfter: r.nextPoll()}, nil // reported above; polled for the fix
	case p.step != nil:
		return reconcile.Result{}, p.step // retried with back-off; reported above
	case p.pub.Gate != nil:
		return reconcile.Result{}, p.pub.Gate
	case budgetSpent:
		return reconcile.Result{RequeueAfter: time.Second}, nil
	}
	after := r.requeueAfter(v, g, d)
	// The re-issue's next look is a time: what the batch and the status
	// writes took since the pass planned it is not added to the interval.
	var reissueAfter time.Duration
	if !reissueAt.IsZero() {
		reissueAfter = max(reissueAt.Sub(r.now()), time.Second)
	}
	for _, also := range []time.Duration{reissueAfter, keyPoll(pending), publishRetry(p.pub)} {
		if also > 0 && (after == 0 || also < after) {
			after = also
		}
	}
	return reconcile.Result{RequeueAfter: after}, nil
}

// keyPoll is how soon an issuer whose key is being made looks again,
// besides the KeyGenerator's own wake-up.
func keyPoll(pending bool) time.Duration {
	if pending {
		return 2 * time.Second
	}
	return 0
}

// publishRetry is how soon the bundles are written again into the
// namespaces where they failed.
func publishRetry(p trust.Publication) time.Duration {
	if len(p.Failed) > 0 {
		return time.Minute
	}
	return 0
}

func (r *Reconciler) requeueAfter(v issuer.View, g *generations, d rotation.Decision) time.Duration {
	var after time.Duration
	if !d.WakeAt.IsZero() {
		after = d.WakeAt.Sub(r.now()) + time.Second
	}
	waitingForUser := v.Spec.CA.Rotation != nil && v.Spec.CA.Rotation.NextSecretName != "" &&
		(g.next == nil || g.next.Invalid != "" || d.Problem != "")
	// A Secret in the way, or a CA Secret to opt in: Secrets other than
	// the CA Secret are not watched, so their fix is polled for.
	switch d.ProblemReason {
	case rotation.ReasonGenerationSecretConflict, rotation.ReasonCASecretNotGenerated:
		waitingForUser = true
	}
	poll := r.nextPoll()
	if waitingForUser && (after == 0 || after > poll) {
		after = poll
	}
	return after
}

// nextPoll is how often an issuer waiting for someone to act looks again.
func (r *Reconciler) nextPoll() time.Duration {
	if r.NextPoll <= 0 {
		return defaultNextPoll
	}
	return r.NextPoll
}

// watchNextSecret watches the next CA Secret of the user's that v names,
// and stops watching one it no longer names.
func (r *Reconciler) watchNextSecret(ctx context.Context, v issuer.View) error {
	if r.NextSecrets == nil {
		return nil
	}
	rot := v.Spec.CA.Rotation
	if rot == nil || rot.NextSecretName == "" {
		r.NextSecrets.Forget(v.Ref)
		return nil
	}
	return r.NextSecrets.Watch(ctx, v.Ref, types.NamespacedName{Namespace: v.SecretKey.Namespace, Name: rot.NextSecretName})
}

func (r *Reconciler) forgetNextSecret(ref issuer.Ref) {
	if r.NextSecrets != nil {
		r.NextSecrets.Forget(ref)
	}
}

// rotationPolicy maps the spec to the pure core's policy.
func rotationPolicy(spec *v1alpha1.IssuerSpec, token string) rotation.Policy {
	p := rotation.Policy{CanGenerate: spec.CA.Generate != nil, RotateNowToken: token, MaxLeafLifetime: maxLeafLifetime(spec)}
	if rot := spec.CA.Rotation; rot != nil {
		p.Scheduled = true
		if rot.RenewBefore != nil {
			p.RenewBefore = rot.RenewBefore.Duration
		}
		if rot.RenewBeforePercentage != nil {
			p.RenewBeforePercentage = *rot.RenewBeforePercentage
		}
		if rot.PropagationDelay != nil {
			d := rot.PropagationDelay.Duration
			p.PropagationDelay = &d
		}
	}
	return p
}

// maxLeafLifetime is the longest lifetime any certificate of the issuer can
// have, 0 when unbounded (pass-through, a template without ttl, no
// templates).
func maxLeafLifetime(spec *v1alpha1.IssuerSpec) time.Duration {
	if spec.AllowPassThrough || len(spec.Templates) == 0 {
		return 0
	}
	var longest time.Duration
	for _, t := range spec.Templates {
		if t.TTL <= 0 {
			return 0
		}
		longest = max(longest, time.Duration(t.TTL)*time.Hour)
	}
	return longest
}

// leafLifetimeHighWater is the longest leaf lifetime the issuing CA of g
// may have signed with: the longer of the spec's now and the one recorded
// in status for this CA. An unbounded lifetime counts as the CA's own
// lifetime (its leaves then end at its NotAfter at the latest).
func leafLifetimeHighWater(v issuer.View, g *generations) time.Duration {
	c := g.issuingCA.Cert
	lifetime := maxLeafLifetime(v.Spec)
	if lifetime <= 0 {
		lifetime = c.NotAfter.Sub(c.NotBefore)
	}
	if st := v.Status.Rotation; st != nil {
		fp := pki.Fingerprint(c)
		for _, gen := range st.Generations {
			if gen.Role == v1alpha1.CAGenerationIssuing && gen.SHA256Fingerprint == fp && gen.LongestLeafLifetime != nil {
				lifetime = max(lifetime, gen.LongestLeafLifetime.Duration)
			}
		}
	}
	return lifetime
}

// certOf is what the pure core needs of a CA certificate.
func certOf(c *x509.Certificate) rotation.Cert {
	return rotation.Cert{
		Subject: c.Subject.String(), NotBefore: c.NotBefore, NotAfter: c.NotAfter,
		Fingerprint: pki.Fingerprint(c), PublicKey: c.RawSubjectPublicKeyInfo,
	}
}

// rootOf is the trust anchor to publish for a CA.
func rootOf(ca *pki.CA) *x509.Certificate {
	if ca.Root != nil {
		return ca.Root
	}
	return ca.Cert
}

// secretLabelValue is a label value naming a CA Secret (names may exceed
// the 63 characters of a label value).
func secretLabelValue(name string) string {
	if len(name) <= 63 {
		return name
	}
	return "h-" + issuer.ShortHash(name)
}

// generationName is <secretName>-<suffix>, cut to a valid Secret name.
func generationName(secretName, suffix string) string {
	if limit := 253 - len(suffix) - 1; len(secretName) > limit {
		secretName = strings.TrimRight(secretName[:limit], "-.")
	}
	return secretName + "-" + suffix
}

// randomSuffixLen is the length of the random part of a generation
// Secret's name: the record names each generation Secret, so its name need
// not be predictable, and one that cannot be predicted cannot be taken
// first by someone allowed to create Secrets beside the CA Secret.
const randomSuffixLen = 8

// randomSuffix is randomSuffixLen lower-case hex characters.
func (r *Reconciler) randomSuffix() (string, error) {
	b := make([]byte, randomSuffixLen/2)
	if _, err := io.ReadFull(r.rand(), b); err != nil {
		return "", fmt.Errorf("cannot draw a Secret name: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// nextSecretName is the Secret of a generated next CA: <secretName>-next-<random>.
func nextSecretName(secretName, random string) string {
	return generationName(secretName, "next-"+random)
}

// retiredSecretName is the Secret of a retired CA:
// <secretName>-retired-<fingerprint prefix>-<random>.
func retiredSecretName(secretName, fp, random string) string {
	return generationName(secretName, "retired-"+pki.ShortFingerprint(fp)+"-"+random)
}

// retiredSecretPrefix is what every retired Secret of the CA fp starts with.
func retiredSecretPrefix(secretName, fp string) string {
	n := retiredSecretName(secretName, fp, strings.Repeat("0", randomSuffixLen))
	return n[:len(n)-randomSuffixLen]
}
