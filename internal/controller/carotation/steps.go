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
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/cakey"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/rotation"
)

// conflictError: a Secret the step would create exists and is not the
// issuer's; the step waits until it is deleted. It is reported with
// rotation.ReasonGenerationSecretConflict.
type conflictError struct{ msg string }

func (e *conflictError) Error() string { return e.msg }

// act performs one step.
func (r *Reconciler) act(ctx context.Context, v issuer.View, g *generations, d rotation.Decision, now time.Time) error {
	logger := log.FromContext(ctx)
	ns := v.SecretKey.Namespace
	switch d.Action {
	case rotation.CreateNext:
		return r.createNext(ctx, v, g, d, now)
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
		v.Status.Rotation = mergePublished(v.Status.Rotation, g.next, g.nextSecret.Name, publishedAt, d.Token)
		delay := rotation.DefaultPropagationDelay
		if p := rotationPolicy(v.Spec, "").PropagationDelay; p != nil {
			delay = *p
		}
		r.Recorder.Eventf(v.Obj, nil, corev1.EventTypeNormal, v1alpha1.EventReasonNextCAPublished, eventActionRotate,
			"Published the next CA %q (Secret %s) as trusted next to %q; it signs from %s",
			g.next.Cert.Subject, g.nextSecret.Name, g.issuingCA.Cert.Subject.String(), publishedAt.Add(delay).UTC().Format(time.RFC3339))
	case rotation.Promote:
		return r.promote(ctx, v, g, d, now)
	case rotation.DropRetiring:
		e, ok := g.record.RetiredEntry(d.Fingerprint)
		if !ok {
			return fmt.Errorf("the retired CA %s is not in the generation record of %s", d.Fingerprint, v)
		}
		// Deleted by the UID the controller created it with: a Secret
		// someone else put under that name since is left alone.
		uid := types.UID(e.UID)
		gone := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: e.Secret, Namespace: ns}}
		if err := r.Client.Delete(ctx, gone, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("cannot delete the retired CA Secret %s/%s: %w", ns, e.Secret, err)
		}
		if err := r.writeRecord(ctx, g, g.record.WithoutRetired(d.Fingerprint)); err != nil {
			return err
		}
		subject := d.Fingerprint
		for _, rg := range g.retired {
			if rg.entry.Fingerprint == d.Fingerprint && rg.cert != nil {
				subject = rg.cert.Subject.String()
			}
		}
		r.Recorder.Eventf(v.Obj, nil, corev1.EventTypeNormal, v1alpha1.EventReasonRetiredCADropped, eventActionRotate,
			"Dropped the retired CA %q from the trust bundles: every certificate it signed has expired", subject)
	case rotation.DeleteStaleNext:
		if g.stale == nil {
			return fmt.Errorf("no promoted next CA Secret of %s is recorded", v) // rotation.Decide is given one only with it
		}
		uid := types.UID(g.stale.UID)
		gone := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: g.stale.Secret, Namespace: ns}}
		if err := r.Client.Delete(ctx, gone, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("cannot delete the promoted next CA Secret %s/%s: %w", ns, g.stale.Secret, err)
		}
		if err := r.writeRecord(ctx, g, g.record.WithoutPromoted().WithoutNext()); err != nil {
			return err
		}
		logger.V(1).Info("deleted the promoted next CA Secret", "secret", g.nextSecret.Name)
	case rotation.None: // nothing to do until d.WakeAt
	}
	return nil
}

// createNext generates the next CA: its key is made off the worker
// (errKeyPending until then), its fingerprint is recorded in the issuing
// Secret, and only then is its Secret created, so that a Secret of that
// name with any other CA is known not to be the issuer's.
func (r *Reconciler) createNext(ctx context.Context, v issuer.View, g *generations, d rotation.Decision, now time.Time) error {
	ns := v.SecretKey.Namespace
	certPEM, keyPEM, err := r.nextKey(v, d, now) //nolint:contextcheck // the key is made off the worker by the key generator, under its own bounded context; the reconcile does not wait for it
	if err != nil {
		return err
	}
	certs, err := pki.ParseCACertificates(issuer.SecretKeyTLSCert, certPEM)
	if err != nil {
		return fmt.Errorf("the generated next CA of %s does not parse: %w", v, err)
	}
	fp := pki.Fingerprint(certs[0])
	// The name is drawn at random and recorded first: a Secret that holds
	// it with another CA can only be a guess's, and a new name is drawn.
	var name string
	for attempt := 0; ; attempt++ {
		random, err := r.randomSuffix()
		if err != nil {
			return err
		}
		name = nextSecretName(v.Spec.CA.SecretName, random)
		if err := r.writeRecord(ctx, g, g.record.WithNext(rotation.RecordedNext{Secret: name, Fingerprint: fp, Token: d.Token}, now)); err != nil {
			return err
		}
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{
				Name: name, Namespace: ns,
				Labels: map[string]string{issuer.ManagedByLabel: issuer.ManagedByValue, labelNextOf: secretLabelValue(v.Spec.CA.SecretName)},
				Annotations: map[string]string{
					v1alpha1.GeneratedForAnnotation: v.String(), annotationCASecret: v.Spec.CA.SecretName,
					annotationRotateNowToken: d.Token,
				},
				OwnerReferences: []metav1.OwnerReference{controllerRef(v)},
			},
			Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{issuer.SecretKeyTLSCert: certPEM, issuer.SecretKeyTLSKey: keyPEM, issuer.SecretKeyCA: certPEM},
		}
		if cakey.Uses(v) {
			// No key in the Secret: the URI of the key made for it, and so
			// no kubernetes.io/tls type (it needs tls.key).
			s.Type = corev1.SecretTypeOpaque
			s.Data = map[string][]byte{issuer.SecretKeyTLSCert: certPEM, issuer.SecretKeyCA: certPEM, issuer.SecretKeyKeyURI: keyPEM}
		}
		err = r.Client.Create(ctx, s)
		if err == nil {
			break
		}
		if !apierrors.IsAlreadyExists(err) || attempt == 2 {
			return fmt.Errorf("cannot create the next CA Secret %s/%s: %w", ns, name, err)
		}
	}
	if r.Keys != nil {
		r.Keys.Taken(v.Ref)
	}
	why := "it is due for renewal"
	if d.Token != "" {
		why = fmt.Sprintf("%s=%s asked for it", v1alpha1.RotateNowAnnotation, d.Token)
	}
	r.Recorder.Eventf(v.Obj, nil, corev1.EventTypeNormal, v1alpha1.EventReasonCAGenerated, eventActionRotate,
		"Generated the next CA in Secret %s/%s because %s", ns, name, why)
	log.FromContext(ctx).Info("generated the next CA", "secret", name, "fingerprint", fp)
	return nil
}

// nextKey makes the next CA of v: through the KeyGenerator when there is
// one (errKeyPending until it is ready), else here.
func (r *Reconciler) nextKey(v issuer.View, d rotation.Decision, now time.Time) ([]byte, []byte, error) {
	gen := func() ([]byte, []byte, error) {
		if cakey.Uses(v) {
			return r.generateExternal(v, now)
		}
		certPEM, keyPEM, err := pki.GenerateCA(*v.Spec.CA.Generate, pki.RenderData{Vars: v.Spec.Vars, Issuer: v.Data}, now, r.rand())
		if err != nil {
			return nil, nil, fmt.Errorf("cannot generate the next CA of %s: %w", v, err)
		}
		return certPEM, keyPEM, nil
	}
	if r.Keys == nil {
		return gen()
	}
	// A key is for the spec and token it was asked with: an edit while it
	// is being made asks for another.
	want, err := json.Marshal([]any{v.Spec.CA.Generate, v.Spec.Vars, d.Token, v.Spec.CA.Key})
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(want)
	return r.Keys.Key(v.Ref, hex.EncodeToString(sum[:]), gen)
}

func (r *Reconciler) forgetKey(ref issuer.Ref) {
	r.forgetOpenedKey(ref)
	if r.Keys != nil {
		r.Keys.Forget(ref)
	}
}

// writeRecord writes rec into the issuing Secret, with the resource
// version it was read at: a Secret changed since is not overwritten (the
// conflict requeues the issuer, which reads it again).
func (r *Reconciler) writeRecord(ctx context.Context, g *generations, rec rotation.Record) error {
	enc := rec.Encode()
	if have, ok := g.issuing.Annotations[issuer.AnnotationGenerations]; ok && have == enc {
		g.record = rec
		return nil
	}
	s := g.issuing.DeepCopy()
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[issuer.AnnotationGenerations] = enc
	if err := r.Client.Update(ctx, s); err != nil {
		return fmt.Errorf("cannot record the CA generations in Secret %s/%s: %w", s.Namespace, s.Name, err)
	}
	g.issuing, g.record, g.legacy = s, rec, nil
	return nil
}

// promote makes the next CA sign: (1) keep the issuing CA's certificates,
// without key, in its retired Secret; (2) write the next CA into
// spec.ca.secretName, and in the same write record the retired CA (with
// the retired Secret's UID) and the promoted next Secret; (3) delete a
// generated next Secret. A restart after (1) finds the retired copy of the
// still-issuing CA, unrecorded, and takes it up again when its content is
// exactly what (1) writes; after (2) finds the promoted next Secret by its
// recorded UID and deletes it.
func (r *Reconciler) promote(ctx context.Context, v issuer.View, g *generations, d rotation.Decision, now time.Time) error {
	if g.promoteRefused != "" {
		return errors.New(g.promoteRefused) // rotation.Decide does not promote then
	}
	ns := v.SecretKey.Namespace
	oldFP := pki.Fingerprint(g.issuingCA.Cert)
	root := rootOf(g.issuingCA)
	random, err := r.randomSuffix()
	if err != nil {
		return err
	}
	retiredName := retiredSecretName(v.Spec.CA.SecretName, oldFP, random)
	retired := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: retiredName, Namespace: ns,
			Labels: map[string]string{issuer.ManagedByLabel: issuer.ManagedByValue, labelRetiredFrom: secretLabelValue(v.Spec.CA.SecretName)},
			Annotations: map[string]string{
				annotationCASecret: v.Spec.CA.SecretName, annotationRetiringUntil: d.RetiringUntil.UTC().Format(time.RFC3339),
			},
			OwnerReferences: []metav1.OwnerReference{controllerRef(v)},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{issuer.SecretKeyTLSCert: g.issuing.Data[issuer.SecretKeyTLSCert], issuer.SecretKeyCA: pki.EncodeCertificates(root)},
	}
	retiredKey := retiredKeyURI(v, g.issuing)
	if retiredKey != "" {
		retired.Annotations[annotationRetiredKeyURI] = retiredKey
	}
	uid, err := r.keepRetired(ctx, v, retired, oldFP, pki.Fingerprint(root))
	if err != nil {
		return err
	}
	retiredName = retired.Name // a copy a stopped promotion left is taken up
	var promoted *rotation.RecordedSecret
	if g.next.Generated {
		promoted = &rotation.RecordedSecret{Secret: g.nextSecret.Name, UID: string(g.nextSecret.UID)}
	}
	rec, err := g.record.AfterPromotion(rotation.RecordedRetired{
		Secret: retiredName, UID: string(uid), Fingerprint: oldFP, Root: pki.Fingerprint(root), Until: d.RetiringUntil,
	}, promoted)
	if err != nil {
		return err
	}

	s := g.issuing.DeepCopy()
	s.Data = map[string][]byte{}
	for k, val := range g.issuing.Data {
		if k != issuer.SecretKeyTLSCert && k != issuer.SecretKeyTLSKey && k != issuer.SecretKeyCA && k != issuer.SecretKeyKeyURI {
			s.Data[k] = val
		}
	}
	for _, k := range []string{issuer.SecretKeyTLSCert, issuer.SecretKeyTLSKey, issuer.SecretKeyCA, issuer.SecretKeyKeyURI} {
		if val, ok := g.nextSecret.Data[k]; ok {
			s.Data[k] = val
		}
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[issuer.AnnotationGenerations] = rec.Encode()
	s.Annotations[annotationRotatedFrom] = oldFP
	s.Annotations[annotationRotatedAt] = now.UTC().Format(time.RFC3339)
	delete(s.Annotations, annotationRotatedForToken)
	if tok := rotateNowTokenOf(v, g, d); tok != "" {
		s.Annotations[annotationRotateNowToken] = tok
		// The Certificates the previous CA signed are re-issued
		// (reissue.go).
		s.Annotations[annotationRotatedForToken] = tok
	}
	if d.Token != "" {
		// A token that came while the next CA was already published is
		// answered by this switch: recorded first, so that it does not
		// start another rotation once the switch is done.
		st := &v1alpha1.RotationStatus{}
		if v.Status.Rotation != nil {
			st = v.Status.Rotation.DeepCopy() // keeps the Next entry and its publishedAt
		}
		st.RotateNowToken, st.RotateNowFingerprint = d.Token, g.next.Cert.Fingerprint
		if err := r.applyStatus(ctx, v, st, nil); err != nil {
			return err
		}
	}
	if err := r.Client.Update(ctx, s); err != nil {
		return fmt.Errorf("cannot write the next CA into Secret %s/%s: %w", ns, s.Name, err)
	}
	g.issuing, g.record = s, rec
	keyNote := ""
	if retiredKey != "" {
		keyNote = fmt.Sprintf("; its key %s signs nothing any more and is never deleted by nstance-issuer: disable it or schedule its deletion once it is no longer trusted", retiredKey)
	}
	r.Recorder.Eventf(v.Obj, nil, corev1.EventTypeNormal, v1alpha1.EventReasonCARotated, eventActionRotate,
		"CA %q now signs (from Secret %s); the previous CA %q stays trusted until %s, when the last certificate it signed expires%s",
		g.next.Cert.Subject, g.nextSecret.Name, g.issuingCA.Cert.Subject.String(), d.RetiringUntil.UTC().Format(time.RFC3339), keyNote)
	log.FromContext(ctx).Info("rotated the CA", "previous", oldFP, "issuing", g.next.Cert.Fingerprint, "retiringUntil", d.RetiringUntil, "at", now)
	if promoted != nil {
		puid := types.UID(promoted.UID)
		if err := r.Client.Delete(ctx, g.nextSecret, client.Preconditions{UID: &puid}); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("cannot delete the promoted next CA Secret %s/%s: %w", ns, g.nextSecret.Name, err)
		}
	}
	return nil
}

// keepRetired keeps the issuing CA's certificates in retired and returns
// the UID of the Secret that holds them. A promotion that stopped after
// this step left such a copy, unrecorded: it is found by name prefix (the
// CA's fingerprint) and taken up when it holds exactly the certificates
// this step writes and no key, whoever made it; retired then names it.
// Otherwise retired is created under its fresh random name.
func (r *Reconciler) keepRetired(ctx context.Context, v issuer.View, retired *corev1.Secret, fp, rootFP string) (types.UID, error) {
	prefix := retiredSecretPrefix(v.Spec.CA.SecretName, fp)
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	if err := r.Reader.List(ctx, list, client.InNamespace(retired.Namespace),
		client.MatchingLabels{labelRetiredFrom: secretLabelValue(v.Spec.CA.SecretName)}, client.Limit(lookAlikeListPage)); err != nil {
		return "", fmt.Errorf("cannot list the retired CA Secrets in %s: %w", retired.Namespace, err)
	}
	for i := range list.Items {
		if !strings.HasPrefix(list.Items[i].Name, prefix) {
			continue
		}
		s, err := r.getSecret(ctx, types.NamespacedName{Namespace: retired.Namespace, Name: list.Items[i].Name})
		if err != nil {
			return "", err
		}
		if s == nil {
			continue
		}
		_, hasKey := s.Data[issuer.SecretKeyTLSKey]
		rootOK := false
		if roots, err := pki.ParseCACertificates(issuer.SecretKeyCA, s.Data[issuer.SecretKeyCA]); err == nil {
			rootOK = pki.Fingerprint(roots[0]) == rootFP
		}
		if !hasKey && rootOK && firstCertFingerprint(s) == fp {
			retired.Name = s.Name
			return s.UID, nil
		}
	}
	if err := r.Client.Create(ctx, retired); err != nil {
		return "", fmt.Errorf("cannot keep the previous CA in Secret %s/%s: %w", retired.Namespace, retired.Name, err)
	}
	return retired.UID, nil
}

// retiredKeyURI names the key in a KMS or an HSM of the issuing CA being
// retired, "" when its key is in the Secret or unknown.
func retiredKeyURI(v issuer.View, issuing *corev1.Secret) string {
	if !cakey.Uses(v) {
		return ""
	}
	u, err := cakey.KeyURI(v, issuing)
	if err != nil {
		return ""
	}
	return u.String()
}

// rotateNowTokenOf is the rotate-now token the next CA answers, "" when it
// takes over on schedule: a token this switch answers itself; else the
// token status tied to this next CA's fingerprint (a token that came while
// it was published, or one the user's next CA answered: the user's Secret
// is never written); else the token recorded with a generated next CA when
// it was made.
func rotateNowTokenOf(v issuer.View, g *generations, d rotation.Decision) string {
	if d.Token != "" {
		return d.Token
	}
	if st := v.Status.Rotation; st != nil && st.RotateNowToken != "" && st.RotateNowFingerprint == g.next.Cert.Fingerprint {
		return st.RotateNowToken
	}
	if g.next.Generated && g.record.Next != nil && g.record.Next.Fingerprint == g.next.Cert.Fingerprint {
		return g.record.Next.Token
	}
	return ""
}
