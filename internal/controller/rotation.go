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

package controller

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
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
//     with the next CA's.
//   - <secretName>-next holds a generated next CA (owned by the issuer,
//     deleted once promoted: its key then lives in spec.ca.secretName only).
//     A next CA you bring lives in spec.ca.rotation.nextSecretName and is
//     never modified or deleted by the issuer.
//   - <secretName>-retired-<fingerprint> holds a retiring CA's certificates
//     (tls.crt and ca.crt) and never its key, which the promotion
//     overwrote: a retired key is gone the moment its CA stops signing and
//     can never be used again. It carries the retiring-until annotation
//     and is deleted when that time has passed.
//
// Generated next and retired Secrets carry a controller owner reference to
// the issuer and are garbage-collected with it; spec.ca.secretName is never
// owned. Which Secrets count and which may be written: rotation_owned.go.
const (
	rotationFieldOwner = "nstance-issuer-rotation"

	// labelNextOf / labelRetiredFrom mark the generation Secrets of a CA
	// Secret (the value is secretLabelValue of spec.ca.secretName).
	labelNextOf      = "issuer.nstance.dev/next-of"
	labelRetiredFrom = "issuer.nstance.dev/retired-from"
	// annotationCASecret names the CA Secret a generation Secret belongs to.
	annotationCASecret = "issuer.nstance.dev/ca-secret"
	// annotationRetiringUntil is when a retired root leaves the bundles.
	annotationRetiringUntil = "issuer.nstance.dev/retiring-until"
	// annotationRotateNowToken is the rotate-now token a generated CA
	// answered; it follows the CA into spec.ca.secretName when promoted.
	annotationRotateNowToken = "issuer.nstance.dev/rotate-now-token"
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
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;create;patch;delete
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=clustertrustbundles,verbs=get;list;create;patch;update;delete
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=signers,verbs=attest,resourceNames=nstanceclusterissuers.issuer.nstance.dev/*

// RotationReconciler runs the CA lifecycle of the issuers of one kind: it
// reads the generation Secrets, asks rotation.Decide for the next step,
// takes it, publishes the live roots and reports status, Events and
// metrics. Each step is idempotent, so a restart between any two resumes
// without losing a generation or making a second one.
type RotationReconciler struct {
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
	Trust *TrustPublisher
	// NextSecrets watches the next CA Secret of the user's that each issuer
	// names, so a new or fixed one is seen within seconds (nil: not
	// watched, only polled).
	NextSecrets *SecretWatcher
	// NextPoll is how often an issuer waiting for a next CA of the user's
	// re-reads it (0: defaultNextPoll).
	NextPoll time.Duration
	// Reissue paces the re-issue of the Certificates a previous CA signed,
	// after a rotate-now switch (rotation_reissue.go).
	Reissue ReissuePolicy
}

func (r *RotationReconciler) now() time.Time {
	if r.Clock == nil {
		return time.Now()
	}
	return r.Clock.Now()
}

func (r *RotationReconciler) rand() io.Reader {
	if r.Rand == nil {
		return rand.Reader
	}
	return r.Rand
}

// generations is the world as read for one decision.
type generations struct {
	issuing       *corev1.Secret
	issuingCA     *pki.CA
	next          *rotation.Next
	nextSecret    *corev1.Secret
	nextCA        *pki.CA
	nextRoot      *x509.Certificate
	retired       []*corev1.Secret
	retiring      []rotation.Retiring
	retiringRoots map[string]*x509.Certificate // by fingerprint of the CA
	handled       string
	// generateRefused says why spec.ca.generate may not write into the
	// issuing Secret ("" when it may, or is not set).
	generateRefused string
	// ignoredRetired is how many retired CA Secrets of this issuer were
	// not read, beyond maxRetiredGenerations.
	ignoredRetired int
	// reissue is status.rotation.reissue as planReissue found it.
	reissue *v1alpha1.ReissueStatus
}

// Reconcile takes lifecycle steps until none is due, then publishes and
// reports.
func (r *RotationReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	logger := log.FromContext(ctx)
	obj := newIssuerObject(r.Kind)
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			forgetRotationMetrics(issuerRef{Kind: r.Kind, NamespacedName: req.NamespacedName})
			forgetIssuanceMetrics(issuerRef{Kind: r.Kind, NamespacedName: req.NamespacedName})
			r.Trust.Forget(issuerRef{Kind: r.Kind, NamespacedName: req.NamespacedName})
			r.forgetNextSecret(issuerRef{Kind: r.Kind, NamespacedName: req.NamespacedName})
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	iss, ok := obj.(issuerapi.Issuer)
	if !ok {
		return reconcile.Result{}, fmt.Errorf("unexpected issuer type %T", obj)
	}
	v, err := viewIssuer(iss, r.ClusterResourceNamespace)
	if err != nil {
		return reconcile.Result{}, err
	}
	if !obj.GetDeletionTimestamp().IsZero() {
		r.forgetNextSecret(v.ref)
		return reconcile.Result{}, nil
	}
	if err := r.watchNextSecret(ctx, v); err != nil {
		return reconcile.Result{}, err
	}
	token := obj.GetAnnotations()[v1alpha1.RotateNowAnnotation]
	if v.spec.CA.Rotation == nil && v.spec.CA.TrustBundle == nil && token == "" && v.status.Rotation == nil {
		return reconcile.Result{}, nil // no lifecycle asked for: read nothing
	}
	policy := rotationPolicy(v.spec, token)

	var d rotation.Decision
	var g *generations
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
		// Promote keeps the previous root for the longest leaf lifetime
		// seen while it signed, not only the one in the spec now.
		policy.MaxLeafLifetime = leafLifetimeHighWater(v, g)
		if g.generateRefused != "" {
			policy.CanGenerate, policy.GenerateRefused = false, g.generateRefused
		}
		d = rotation.Decide(rotation.State{
			Now: now, Policy: policy, Issuing: certOf(g.issuingCA.Cert), HandledToken: g.handled,
			Next: g.next, Retiring: g.retiring,
		})
		logger.V(1).Info("rotation decision", "action", d.Action, "phase", d.Phase, "wakeAt", d.WakeAt)
		if d.Action == rotation.None || step >= maxSteps {
			break
		}
		if d.Action == rotation.PublishNext {
			// The next root must be in every bundle before it counts as
			// published.
			if err := r.publish(ctx, v, g, d); err != nil {
				return reconcile.Result{}, err
			}
		}
		if err := r.act(ctx, v, g, d, now); err != nil {
			return reconcile.Result{}, err
		}
	}

	if err := r.publish(ctx, v, g, d); err != nil {
		return reconcile.Result{}, err
	}
	batch, reissueAfter, err := r.planReissue(ctx, v, g)
	if err != nil {
		return reconcile.Result{}, err
	}
	// The batch's time is in status before any Certificate is asked, so a
	// restart mid-batch never starts another within the interval.
	if err := r.report(ctx, v, g, d); err != nil {
		return reconcile.Result{}, err
	}
	if len(batch) > 0 {
		r.triggerReissue(ctx, v, g, batch)
		if err := r.report(ctx, v, g, d); err != nil {
			return reconcile.Result{}, err
		}
	}
	after := r.requeueAfter(v, g, d)
	if reissueAfter > 0 && (after == 0 || reissueAfter < after) {
		after = reissueAfter
	}
	return reconcile.Result{RequeueAfter: after}, nil
}

func (r *RotationReconciler) requeueAfter(v issuerView, g *generations, d rotation.Decision) time.Duration {
	var after time.Duration
	if !d.WakeAt.IsZero() {
		after = d.WakeAt.Sub(r.now()) + time.Second
	}
	waitingForUser := v.spec.CA.Rotation != nil && v.spec.CA.Rotation.NextSecretName != "" &&
		(g.next == nil || g.next.Invalid != "" || d.Problem != "")
	poll := r.NextPoll
	if poll <= 0 {
		poll = defaultNextPoll
	}
	if waitingForUser && (after == 0 || after > poll) {
		after = poll
	}
	return after
}

// watchNextSecret watches the next CA Secret of the user's that v names,
// and stops watching one it no longer names.
func (r *RotationReconciler) watchNextSecret(ctx context.Context, v issuerView) error {
	if r.NextSecrets == nil {
		return nil
	}
	rot := v.spec.CA.Rotation
	if rot == nil || rot.NextSecretName == "" {
		r.NextSecrets.Forget(v.ref)
		return nil
	}
	return r.NextSecrets.Watch(ctx, v.ref, types.NamespacedName{Namespace: v.secretKey.Namespace, Name: rot.NextSecretName})
}

func (r *RotationReconciler) forgetNextSecret(ref issuerRef) {
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
func leafLifetimeHighWater(v issuerView, g *generations) time.Duration {
	c := g.issuingCA.Cert
	lifetime := maxLeafLifetime(v.spec)
	if lifetime <= 0 {
		lifetime = c.NotAfter.Sub(c.NotBefore)
	}
	if st := v.status.Rotation; st != nil {
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
	return "h-" + shortHash(name)
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:16]
}

// generationName is <secretName>-<suffix>, cut to a valid Secret name.
func generationName(secretName, suffix string) string {
	if max := 253 - len(suffix) - 1; len(secretName) > max {
		secretName = strings.TrimRight(secretName[:max], "-.")
	}
	return secretName + "-" + suffix
}

func nextSecretName(secretName string) string { return generationName(secretName, "next") }

// fingerprintSuffix is a short, name-safe form of a fingerprint.
func fingerprintSuffix(fp string) string {
	s := strings.ToLower(strings.ReplaceAll(fp, ":", ""))
	if len(s) > 16 {
		s = s[:16]
	}
	return s
}

func retiredSecretName(secretName, fp string) string {
	return generationName(secretName, "retired-"+fingerprintSuffix(fp))
}

// read gathers the generations of v's CA; nil when the issuing CA is
// missing or unusable (the signer reports that).
func (r *RotationReconciler) read(ctx context.Context, v issuerView) (*generations, error) {
	now := r.now()
	ns := v.secretKey.Namespace
	issuing, err := r.getSecret(ctx, v.secretKey)
	if err != nil || issuing == nil {
		return nil, err
	}
	ca, err := pki.LoadCA(issuing.Data[secretKeyTLSCert], issuing.Data[secretKeyTLSKey], issuing.Data[secretKeyCA], now)
	if err != nil {
		return nil, nil //nolint:nilerr // the signer reports an unusable CA on Ready
	}
	g := &generations{issuing: issuing, issuingCA: ca, retiringRoots: map[string]*x509.Certificate{}}
	g.handled = issuing.Annotations[annotationRotateNowToken]
	g.generateRefused = generateRefused(issuing, v)
	if v.status.Rotation != nil && v.status.Rotation.RotateNowToken != "" {
		g.handled = v.status.Rotation.RotateNowToken
	}
	issuingFP := pki.Fingerprint(ca.Cert)

	// A next CA of the user's wins over a generated one, unless it already
	// is the issuing CA.
	if rot := v.spec.CA.Rotation; rot != nil && rot.NextSecretName != "" {
		s, err := r.getSecret(ctx, types.NamespacedName{Namespace: ns, Name: rot.NextSecretName})
		if err != nil {
			return nil, err
		}
		if s != nil {
			g.loadNext(s, false, now)
		}
	}
	if g.next == nil || g.next.Cert.Fingerprint == issuingFP {
		s, err := r.getSecret(ctx, types.NamespacedName{Namespace: ns, Name: nextSecretName(v.spec.CA.SecretName)})
		if err != nil {
			return nil, err
		}
		// A generated next CA counts only when this issuer made it, for a
		// CA Secret it may write (rotation_owned.go).
		if s != nil && s.Annotations[annotationCASecret] == v.spec.CA.SecretName && ownedByIssuer(s, v) && generatedFor(issuing, v) {
			g.loadNext(s, true, now)
			if tok := s.Annotations[annotationRotateNowToken]; tok != "" && g.next.Cert.Fingerprint != issuingFP {
				g.handled = tok
			}
		}
	}
	if g.next != nil && v.status.Rotation != nil {
		for _, gen := range v.status.Rotation.Generations {
			if gen.Role == v1alpha1.CAGenerationNext && gen.SHA256Fingerprint == g.next.Cert.Fingerprint && gen.PublishedAt != nil {
				g.next.PublishedAt = gen.PublishedAt.Time
			}
		}
	}

	keys, ignored, err := r.retiredCandidates(ctx, v)
	if err != nil {
		return nil, err
	}
	g.ignoredRetired = ignored
	for _, key := range keys {
		s, err := r.getSecret(ctx, key)
		if err != nil {
			return nil, err
		}
		// Listed as metadata, read now: check again what was checked.
		if s == nil || s.Annotations[annotationCASecret] != v.spec.CA.SecretName || !ownedByIssuer(s, v) {
			continue
		}
		certs, err := parseCertificates(s.Data[secretKeyTLSCert])
		if err != nil || len(certs) == 0 {
			log.FromContext(ctx).Info("ignoring an unreadable retired CA Secret", "secret", s.Name)
			continue
		}
		until, err := time.Parse(time.RFC3339, s.Annotations[annotationRetiringUntil])
		if err != nil {
			until = certs[0].NotAfter // the safe bound: no leaf outlives its CA
		}
		root := certs[0]
		if roots, _ := parseCertificates(s.Data[secretKeyCA]); len(roots) > 0 {
			root = roots[0]
		}
		g.retired = append(g.retired, s)
		g.retiring = append(g.retiring, rotation.Retiring{Cert: certOf(certs[0]), Until: until})
		g.retiringRoots[pki.Fingerprint(certs[0])] = root
	}
	return g, nil
}

// loadNext validates a next CA Secret fully, as the signer would load it.
func (g *generations) loadNext(s *corev1.Secret, generated bool, now time.Time) {
	g.nextSecret, g.nextCA, g.nextRoot = s, nil, nil
	n := &rotation.Next{Generated: generated}
	ca, err := pki.LoadCA(s.Data[secretKeyTLSCert], s.Data[secretKeyTLSKey], s.Data[secretKeyCA], now)
	if err == nil {
		n.Cert = certOf(ca.Cert)
		g.nextCA, g.nextRoot = ca, rootOf(ca)
	} else {
		n.Invalid = fmt.Sprintf("next CA Secret %s/%s: %v", s.Namespace, s.Name, err)
		if caErr := (*pki.CAError)(nil); errors.As(err, &caErr) && caErr.Cert != nil {
			n.Cert = certOf(caErr.Cert)
		} else {
			n.Cert = rotation.Cert{Subject: "(unreadable)", Fingerprint: "invalid:" + s.Name}
		}
	}
	g.next = n
}

func (r *RotationReconciler) getSecret(ctx context.Context, key types.NamespacedName) (*corev1.Secret, error) {
	var s corev1.Secret
	if err := r.Client.Get(ctx, key, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("cannot read Secret %s: %w", key, err)
	}
	return &s, nil
}

// ownerRef makes generation Secrets and bundles go with the issuer.
func ownerRef(v issuerView) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion: v1alpha1.GroupVersion.String(), Kind: v.ref.Kind,
		Name: v.obj.GetName(), UID: v.obj.GetUID(),
	}
}

// act performs one step.
func (r *RotationReconciler) act(ctx context.Context, v issuerView, g *generations, d rotation.Decision, now time.Time) error {
	logger := log.FromContext(ctx)
	ns := v.secretKey.Namespace
	switch d.Action {
	case rotation.CreateNext:
		certPEM, keyPEM, err := pki.GenerateCA(*v.spec.CA.Generate, pki.RenderData{Vars: v.spec.Vars, Issuer: v.data}, now, r.rand())
		if err != nil {
			return fmt.Errorf("cannot generate the next CA of %s: %w", v, err)
		}
		name := nextSecretName(v.spec.CA.SecretName)
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Name: name, Namespace: ns,
				Labels: map[string]string{managedByLabel: managedByValue, labelNextOf: secretLabelValue(v.spec.CA.SecretName)},
				Annotations: map[string]string{
					v1alpha1.GeneratedForAnnotation: v.String(), annotationCASecret: v.spec.CA.SecretName,
					annotationRotateNowToken: d.Token,
				},
				OwnerReferences: []metav1.OwnerReference{controllerRef(v)},
			},
			Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{secretKeyTLSCert: certPEM, secretKeyTLSKey: keyPEM, secretKeyCA: certPEM},
		}
		if err := r.Client.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("cannot create the next CA Secret %s/%s: %w", ns, name, err)
		}
		why := "it is due for renewal"
		if d.Token != "" {
			why = fmt.Sprintf("%s=%s asked for it", v1alpha1.RotateNowAnnotation, d.Token)
		}
		r.Recorder.Eventf(v.obj, nil, corev1.EventTypeNormal, v1alpha1.EventReasonCAGenerated, eventActionRotate,
			"Generated the next CA in Secret %s/%s because %s", ns, name, why)
		logger.Info("generated the next CA", "secret", name)
	case rotation.PublishNext:
		publishedAt := metav1.NewTime(now.UTC().Truncate(time.Second))
		if err := r.patchRotationStatus(ctx, v, func(st *v1alpha1.RotationStatus) {
			st.Generations = append(st.Generations, v1alpha1.CAGeneration{
				Role: v1alpha1.CAGenerationNext, Subject: g.next.Cert.Subject, NotAfter: metav1.NewTime(g.next.Cert.NotAfter.UTC()),
				SHA256Fingerprint: g.next.Cert.Fingerprint, SecretName: g.nextSecret.Name, PublishedAt: &publishedAt,
			})
			st.Phase = v1alpha1.CARotationNextPublished
			if d.Token != "" {
				st.RotateNowToken, st.RotateNowFingerprint = d.Token, g.next.Cert.Fingerprint
			}
		}); err != nil {
			return err
		}
		// Decide reads PublishedAt from status: keep the in-memory issuer
		// in step with what was written.
		v.status.Rotation = mergePublished(v.status.Rotation, g.next, g.nextSecret.Name, publishedAt, d.Token)
		delay := rotation.DefaultPropagationDelay
		if p := rotationPolicy(v.spec, "").PropagationDelay; p != nil {
			delay = *p
		}
		r.Recorder.Eventf(v.obj, nil, corev1.EventTypeNormal, v1alpha1.EventReasonNextCAPublished, eventActionRotate,
			"Published the next CA %q (Secret %s) as trusted next to %q; it signs from %s",
			g.next.Cert.Subject, g.nextSecret.Name, g.issuingCA.Cert.Subject.String(), publishedAt.Add(delay).UTC().Format(time.RFC3339))
	case rotation.Promote:
		return r.promote(ctx, v, g, d, now)
	case rotation.DropRetiring:
		for _, s := range g.retired {
			certs, _ := parseCertificates(s.Data[secretKeyTLSCert])
			if len(certs) == 0 || pki.Fingerprint(certs[0]) != d.Fingerprint {
				continue
			}
			if err := r.Client.Delete(ctx, s, client.Preconditions{UID: &s.UID}); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("cannot delete the retired CA Secret %s/%s: %w", s.Namespace, s.Name, err)
			}
			r.Recorder.Eventf(v.obj, nil, corev1.EventTypeNormal, v1alpha1.EventReasonRetiredCADropped, eventActionRotate,
				"Dropped the retired CA %q from the trust bundles: every certificate it signed has expired", certs[0].Subject.String())
		}
	case rotation.DeleteStaleNext:
		if err := r.Client.Delete(ctx, g.nextSecret, client.Preconditions{UID: &g.nextSecret.UID}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("cannot delete the promoted next CA Secret %s/%s: %w", ns, g.nextSecret.Name, err)
		}
		logger.V(1).Info("deleted the promoted next CA Secret", "secret", g.nextSecret.Name)
	}
	return nil
}

// promote makes the next CA sign: (1) keep the issuing CA's certificates,
// without key, in its retired Secret; (2) write the next CA into
// spec.ca.secretName; (3) delete a generated next Secret. A restart after
// (1) finds the retired copy of the still-issuing CA and ignores it; after
// (2) finds the next CA already issuing and deletes it.
func (r *RotationReconciler) promote(ctx context.Context, v issuerView, g *generations, d rotation.Decision, now time.Time) error {
	ns := v.secretKey.Namespace
	oldFP := pki.Fingerprint(g.issuingCA.Cert)
	retiredName := retiredSecretName(v.spec.CA.SecretName, oldFP)
	retired := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: retiredName, Namespace: ns,
			Labels: map[string]string{managedByLabel: managedByValue, labelRetiredFrom: secretLabelValue(v.spec.CA.SecretName)},
			Annotations: map[string]string{
				annotationCASecret: v.spec.CA.SecretName, annotationRetiringUntil: d.RetiringUntil.UTC().Format(time.RFC3339),
			},
			OwnerReferences: []metav1.OwnerReference{controllerRef(v)},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{secretKeyTLSCert: g.issuing.Data[secretKeyTLSCert], secretKeyCA: pemOf(rootOf(g.issuingCA))},
	}
	if err := r.Client.Create(ctx, retired); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("cannot keep the previous CA in Secret %s/%s: %w", ns, retiredName, err)
		}
		// A promotion stopped after this step and resumes now: the
		// previous CA kept signing meanwhile, so its root must stay
		// published for longer than that first attempt recorded.
		if err := r.extendRetiring(ctx, v, types.NamespacedName{Namespace: ns, Name: retiredName}, d.RetiringUntil); err != nil {
			return err
		}
	}

	s := g.issuing.DeepCopy()
	s.Data = map[string][]byte{}
	for k, val := range g.issuing.Data {
		if k != secretKeyTLSCert && k != secretKeyTLSKey && k != secretKeyCA {
			s.Data[k] = val
		}
	}
	for _, k := range []string{secretKeyTLSCert, secretKeyTLSKey, secretKeyCA} {
		if val, ok := g.nextSecret.Data[k]; ok {
			s.Data[k] = val
		}
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[annotationRotatedFrom] = oldFP
	s.Annotations[annotationRotatedAt] = now.UTC().Format(time.RFC3339)
	delete(s.Annotations, annotationRotatedForToken)
	if tok := rotateNowTokenOf(v, g, d); tok != "" {
		s.Annotations[annotationRotateNowToken] = tok
		// The Certificates the previous CA signed are re-issued
		// (rotation_reissue.go).
		s.Annotations[annotationRotatedForToken] = tok
	}
	if d.Token != "" {
		// A token that came while the next CA was already published is
		// answered by this switch: recorded first, so that it does not
		// start another rotation once the switch is done.
		st := &v1alpha1.RotationStatus{}
		if v.status.Rotation != nil {
			st = v.status.Rotation.DeepCopy() // keeps the Next entry and its publishedAt
		}
		st.RotateNowToken, st.RotateNowFingerprint = d.Token, g.next.Cert.Fingerprint
		if err := r.applyStatus(ctx, v, st, nil); err != nil {
			return err
		}
	}
	if err := r.Client.Update(ctx, s); err != nil {
		return fmt.Errorf("cannot write the next CA into Secret %s/%s: %w", ns, s.Name, err)
	}
	r.Recorder.Eventf(v.obj, nil, corev1.EventTypeNormal, v1alpha1.EventReasonCARotated, eventActionRotate,
		"CA %q now signs (from Secret %s); the previous CA %q stays trusted until %s, when the last certificate it signed expires",
		g.next.Cert.Subject, g.nextSecret.Name, g.issuingCA.Cert.Subject.String(), d.RetiringUntil.UTC().Format(time.RFC3339))
	log.FromContext(ctx).Info("rotated the CA", "previous", oldFP, "issuing", g.next.Cert.Fingerprint, "retiringUntil", d.RetiringUntil, "at", now)
	if g.next.Generated {
		if err := r.Client.Delete(ctx, g.nextSecret, client.Preconditions{UID: &g.nextSecret.UID}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("cannot delete the promoted next CA Secret %s/%s: %w", ns, g.nextSecret.Name, err)
		}
	}
	return nil
}

// rotateNowTokenOf is the rotate-now token the next CA answers, "" when it
// takes over on schedule: for a generated next CA the token written on its
// Secret when it was made; for one the user brought (whose Secret is never
// written) the token status recorded with its fingerprint when it was
// published; for either, a token that arrived while it was already
// published.
func rotateNowTokenOf(v issuerView, g *generations, d rotation.Decision) string {
	if d.Token != "" {
		return d.Token
	}
	if g.next.Generated {
		return g.nextSecret.Annotations[annotationRotateNowToken]
	}
	if st := v.status.Rotation; st != nil && st.RotateNowToken != "" && st.RotateNowFingerprint == g.next.Cert.Fingerprint {
		return st.RotateNowToken
	}
	return ""
}

// extendRetiring moves the retiring-until of an existing retired Secret to
// until when that is later; it never brings it earlier. A Secret of that
// name that this issuer does not own is never written: the promotion
// waits until it is gone.
func (r *RotationReconciler) extendRetiring(ctx context.Context, v issuerView, key types.NamespacedName, until time.Time) error {
	s, err := r.getSecret(ctx, key)
	if err != nil || s == nil {
		return err
	}
	if !ownedByIssuer(s, v) {
		r.Recorder.Eventf(v.obj, nil, corev1.EventTypeWarning, v1alpha1.EventReasonRetiredCAIgnored, eventActionRotate,
			"Secret %s is named like the retired copy of the issuing CA but was not made by this issuer; the CA switch waits until it is deleted", key)
		return fmt.Errorf("cannot keep the previous CA in Secret %s: a Secret of that name exists and was not made by %s; delete it so that the rotation can go on", key, v)
	}
	if have, err := time.Parse(time.RFC3339, s.Annotations[annotationRetiringUntil]); err == nil && !have.Before(until.UTC().Truncate(time.Second)) {
		return nil
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[annotationRetiringUntil] = until.UTC().Format(time.RFC3339)
	if err := r.Client.Update(ctx, s); err != nil {
		return fmt.Errorf("cannot extend the retiring time of Secret %s: %w", key, err)
	}
	return nil
}

// mergePublished records a next generation's publication in a copy of st.
func mergePublished(st *v1alpha1.RotationStatus, n *rotation.Next, secret string, at metav1.Time, token string) *v1alpha1.RotationStatus {
	out := &v1alpha1.RotationStatus{}
	if st != nil {
		out = st.DeepCopy()
	}
	out.Generations = append(out.Generations, v1alpha1.CAGeneration{
		Role: v1alpha1.CAGenerationNext, SHA256Fingerprint: n.Cert.Fingerprint, SecretName: secret, PublishedAt: &at,
	})
	if token != "" {
		out.RotateNowToken, out.RotateNowFingerprint = token, n.Cert.Fingerprint
	}
	return out
}

// report writes status.rotation and the CARotation condition when they
// changed, records Events for problems, and sets the metrics.
func (r *RotationReconciler) report(ctx context.Context, v issuerView, g *generations, d rotation.Decision) error {
	want := r.statusOf(v, g, d)
	cond := metav1.Condition{
		Type: v1alpha1.ConditionTypeCARotation, Status: metav1.ConditionTrue, Reason: string(want.Phase),
		Message:            phaseMessage(want, g, d),
		ObservedGeneration: v.obj.GetGeneration(),
	}
	if d.Problem != "" {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, d.ProblemReason, d.Problem
	}
	ignoredMsg := ""
	if g.ignoredRetired > 0 {
		ignoredMsg = fmt.Sprintf("%d retired CA Secret(s) labelled %s=%s beyond the %d most recent were not read and their roots are not published; delete the ones no longer needed",
			g.ignoredRetired, labelRetiredFrom, secretLabelValue(v.spec.CA.SecretName), maxRetiredGenerations)
		cond.Message += "; " + ignoredMsg
	}
	have := meta.FindStatusCondition(v.status.Conditions, v1alpha1.ConditionTypeCARotation)
	cond.LastTransitionTime = metav1.NewTime(r.now().UTC().Truncate(time.Second))
	if have != nil && have.Status == cond.Status {
		cond.LastTransitionTime = have.LastTransitionTime
	}
	changedCond := have == nil || have.Status != cond.Status || have.Reason != cond.Reason || have.Message != cond.Message || have.ObservedGeneration != cond.ObservedGeneration
	if changedCond && cond.Status == metav1.ConditionFalse {
		reason := v1alpha1.EventReasonNextCAInvalid
		switch d.ProblemReason {
		case rotation.ReasonRenewalDue:
			reason = v1alpha1.EventReasonCARenewalDue
		case rotation.ReasonCASecretNotGenerated:
			reason = v1alpha1.EventReasonCASecretNotGenerated
		}
		r.Recorder.Eventf(v.obj, nil, corev1.EventTypeWarning, reason, eventActionRotate, "%s; the CA %q keeps signing", d.Problem, g.issuingCA.Cert.Subject.String())
	}
	if changedCond && ignoredMsg != "" {
		r.Recorder.Eventf(v.obj, nil, corev1.EventTypeWarning, v1alpha1.EventReasonRetiredCAIgnored, eventActionRotate, "%s", ignoredMsg)
	}
	setRotationMetrics(v.ref, want, d)
	if !changedCond && rotationStatusEqual(v.status.Rotation, &want) {
		return nil
	}
	if err := r.applyStatus(ctx, v, &want, &cond); err != nil {
		return err
	}
	// A second report in the same reconcile compares with what was written.
	v.status.Rotation = &want
	meta.SetStatusCondition(&v.status.Conditions, cond)
	return nil
}

func phaseMessage(st v1alpha1.RotationStatus, g *generations, d rotation.Decision) string {
	subject := g.issuingCA.Cert.Subject.String()
	switch st.Phase {
	case v1alpha1.CARotationNextPublished:
		return fmt.Sprintf("CA %q signs; the next CA %q is published and signs from %s", subject, g.next.Cert.Subject, d.WakeAt.UTC().Format(time.RFC3339))
	case v1alpha1.CARotationRetiring:
		return fmt.Sprintf("CA %q signs; %d previous root(s) stay published until the last certificate each signed expires", subject, len(g.retiring))
	}
	if st.RenewAt != nil && !d.WakeAt.IsZero() {
		return fmt.Sprintf("CA %q signs; it is renewed from %s", subject, st.RenewAt.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("CA %q signs; no renewal is scheduled (set spec.ca.rotation)", subject)
}

// statusOf is status.rotation as the world now is.
func (r *RotationReconciler) statusOf(v issuerView, g *generations, d rotation.Decision) v1alpha1.RotationStatus {
	st := v1alpha1.RotationStatus{Phase: v1alpha1.CARotationPhase(d.Phase), RotateNowToken: g.handled, Reissue: g.reissue.DeepCopy()}
	if d.Token != "" {
		st.RotateNowToken = d.Token
	}
	if v.spec.CA.Rotation != nil {
		at := metav1.NewTime(d.RenewAt.UTC().Truncate(time.Second))
		st.RenewAt = &at
	}
	c := g.issuingCA.Cert
	st.Generations = append(st.Generations, v1alpha1.CAGeneration{
		Role: v1alpha1.CAGenerationIssuing, Subject: c.Subject.String(), NotAfter: metav1.NewTime(c.NotAfter.UTC()),
		SHA256Fingerprint: pki.Fingerprint(c), SecretName: g.issuing.Name,
		LongestLeafLifetime: &metav1.Duration{Duration: leafLifetimeHighWater(v, g)},
	})
	if n := g.next; n != nil && n.Invalid == "" && d.Problem == "" && n.Cert.Fingerprint != st.Generations[0].SHA256Fingerprint {
		gen := v1alpha1.CAGeneration{
			Role: v1alpha1.CAGenerationNext, Subject: n.Cert.Subject, NotAfter: metav1.NewTime(n.Cert.NotAfter.UTC()),
			SHA256Fingerprint: n.Cert.Fingerprint, SecretName: g.nextSecret.Name,
		}
		if !n.PublishedAt.IsZero() {
			at := metav1.NewTime(n.PublishedAt.UTC())
			gen.PublishedAt = &at
		}
		st.Generations = append(st.Generations, gen)
	}
	for i, rt := range g.retiring {
		if rt.Cert.Fingerprint == st.Generations[0].SHA256Fingerprint {
			continue
		}
		until := metav1.NewTime(rt.Until.UTC())
		st.Generations = append(st.Generations, v1alpha1.CAGeneration{
			Role: v1alpha1.CAGenerationRetiring, Subject: rt.Cert.Subject, NotAfter: metav1.NewTime(rt.Cert.NotAfter.UTC()),
			SHA256Fingerprint: rt.Cert.Fingerprint, SecretName: g.retired[i].Name, RetiringUntil: &until,
		})
	}
	return st
}

func rotationStatusEqual(a, b *v1alpha1.RotationStatus) bool {
	if a == nil || b == nil {
		return a == b
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// patchRotationStatus applies a change to the current status.rotation.
func (r *RotationReconciler) patchRotationStatus(ctx context.Context, v issuerView, change func(*v1alpha1.RotationStatus)) error {
	st := &v1alpha1.RotationStatus{}
	if v.status.Rotation != nil {
		st = v.status.Rotation.DeepCopy()
	}
	// A Next entry replaces any earlier one.
	var keep []v1alpha1.CAGeneration
	for _, g := range st.Generations {
		if g.Role != v1alpha1.CAGenerationNext {
			keep = append(keep, g)
		}
	}
	st.Generations = keep
	change(st)
	return r.applyStatus(ctx, v, st, nil)
}

// applyStatus writes status.rotation (and the CARotation condition) with a
// server-side apply under the rotation's own field manager, beside
// issuer-lib's Ready condition and the signer's status.ca.
func (r *RotationReconciler) applyStatus(ctx context.Context, v issuerView, st *v1alpha1.RotationStatus, cond *metav1.Condition) error {
	meta := map[string]any{"name": v.ref.Name}
	if v.ref.Namespace != "" {
		meta["namespace"] = v.ref.Namespace
	}
	status := map[string]any{"rotation": st}
	if cond != nil {
		status["conditions"] = []metav1.Condition{*cond}
	} else if have := apimetaCondition(v); have != nil {
		status["conditions"] = []metav1.Condition{*have}
	}
	body, err := json.Marshal(map[string]any{
		"apiVersion": v1alpha1.GroupVersion.String(), "kind": v.ref.Kind, "metadata": meta, "status": status,
	})
	if err != nil {
		return err
	}
	obj := newIssuerObject(v.ref.Kind)
	obj.SetName(v.ref.Name)
	obj.SetNamespace(v.ref.Namespace)
	if err := r.Client.Status().Patch(ctx, obj, client.RawPatch(types.ApplyPatchType, body),
		&client.SubResourcePatchOptions{PatchOptions: client.PatchOptions{FieldManager: rotationFieldOwner, Force: new(true)}}); err != nil {
		return fmt.Errorf("cannot update status.rotation of %s: %w", v, err)
	}
	return nil
}

// apimetaCondition is the CARotation condition as it is, so a status
// apply that does not change it keeps owning it.
func apimetaCondition(v issuerView) *metav1.Condition {
	return meta.FindStatusCondition(v.status.Conditions, v1alpha1.ConditionTypeCARotation)
}
