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
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/controller/trust"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/rotation"
)

// Reasons of the CARotation condition beyond rotation.Decide's.
const (
	// ReasonRotationStepFailed: a lifecycle step failed; it is retried.
	ReasonRotationStepFailed = "RotationStepFailed"
	// ReasonSecretWriteForbidden: the manager may not write Secrets where
	// the step needs to.
	ReasonSecretWriteForbidden = "SecretWriteForbidden"
	// ReasonTrustPublishFailed: a bundle only the controller writes (a
	// ClusterTrustBundle, the ConfigMap in the cluster resource namespace
	// or in a namespaced issuer's own) could not be written: a next CA is
	// not counted as published until it is.
	ReasonTrustPublishFailed = "TrustPublishFailed"
	// ReasonGenerationRecordInvalid: the generation record in the CA
	// Secret does not parse; no generation Secret is trusted.
	ReasonGenerationRecordInvalid = "GenerationRecordInvalid"
)

// problems is what kept the lifecycle from going on in one reconcile,
// beside what rotation.Decide reports.
type problems struct {
	// step: the step decided on failed.
	step error
	// pub: how publishing the live roots went.
	pub trust.Publication
}

// rotationCondition is the CARotation condition for what was read,
// decided and met, and the Warning Events to record when it changes.
func rotationCondition(v issuer.View, g *generations, d rotation.Decision, st v1alpha1.RotationStatus, p problems) (metav1.Condition, []warning) {
	cond := metav1.Condition{
		Type: v1alpha1.ConditionTypeCARotation, Status: metav1.ConditionTrue, Reason: string(st.Phase),
		Message: phaseMessage(st, g, d), ObservedGeneration: v.Obj.GetGeneration(),
	}
	var warnings []warning
	fail := func(reason, event, msg string) {
		if cond.Status == metav1.ConditionTrue {
			cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, reason, msg
		} else {
			cond.Message += "; " + msg
		}
		warnings = append(warnings, warning{reason: event, msg: msg})
	}
	note := func(event, msg string) {
		cond.Message += "; " + msg
		warnings = append(warnings, warning{reason: event, msg: msg})
	}
	if p.step != nil {
		reason, msg := stepProblem(p.step)
		fail(reason, v1alpha1.EventReasonRotationStepFailed, msg)
	}
	if p.pub.Gate != nil {
		fail(ReasonTrustPublishFailed, v1alpha1.EventReasonTrustPublishFailed,
			fmt.Sprintf("the live roots could not be published (a next CA is not counted as published until they are): %v", p.pub.Gate))
	}
	if g.recordProblem != "" {
		fail(ReasonGenerationRecordInvalid, v1alpha1.EventReasonGenerationSecretIgnored, g.recordProblem)
	}
	if d.Problem != "" {
		event := v1alpha1.EventReasonNextCAInvalid
		switch d.ProblemReason {
		case rotation.ReasonRenewalDue, rotation.ReasonGenerationRateLimited:
			event = v1alpha1.EventReasonCARenewalDue
		case rotation.ReasonCASecretNotGenerated:
			event = v1alpha1.EventReasonCASecretNotGenerated
		case rotation.ReasonGenerationSecretConflict:
			event = v1alpha1.EventReasonGenerationSecretIgnored
		}
		fail(d.ProblemReason, event, d.Problem)
	}
	if msg := publishFailureMessage(p.pub.Failed); msg != "" {
		note(v1alpha1.EventReasonTrustPublishFailed, msg)
	}
	if msg := lookAlikeMessage(v, g); msg != "" {
		note(v1alpha1.EventReasonGenerationSecretIgnored, msg)
	}
	for _, msg := range g.retiredProblems() {
		note(v1alpha1.EventReasonRetiredCAIgnored, "the root of a retired CA is not published: "+msg+"; restore the Secret from a backup, or remove its entry from the annotation "+issuer.AnnotationGenerations+" of the CA Secret once no certificate it signed is in use")
	}
	return cond, warnings
}

type warning struct{ reason, msg string }

// stepProblem is the condition reason and message for a failed step.
func stepProblem(err error) (string, string) {
	var conflict *conflictError
	switch {
	case errors.As(err, &conflict):
		return rotation.ReasonGenerationSecretConflict, conflict.msg
	case apierrors.IsForbidden(err):
		return ReasonSecretWriteForbidden, fmt.Sprintf("the rotation cannot go on: %v; %s", err, issuer.SecretWriteScopeHint)
	}
	return ReasonRotationStepFailed, fmt.Sprintf("the rotation step failed and is retried: %v", err)
}

// report writes status.rotation and the CARotation condition when they
// changed, records Events for problems, and sets the metrics.
func (r *Reconciler) report(ctx context.Context, v issuer.View, g *generations, d rotation.Decision, p problems) error {
	want := r.statusOf(v, g, d)
	cond, warnings := rotationCondition(v, g, d, want, p)
	have := meta.FindStatusCondition(v.Status.Conditions, v1alpha1.ConditionTypeCARotation)
	cond.LastTransitionTime = metav1.NewTime(r.now().UTC().Truncate(time.Second))
	if have != nil && have.Status == cond.Status {
		cond.LastTransitionTime = have.LastTransitionTime
	}
	changedCond := have == nil || have.Status != cond.Status || have.Reason != cond.Reason || have.Message != cond.Message || have.ObservedGeneration != cond.ObservedGeneration
	if changedCond {
		for _, w := range warnings {
			r.Recorder.Eventf(v.Obj, nil, corev1.EventTypeWarning, w.reason, eventActionRotate, "%s; the CA %q keeps signing", w.msg, g.issuingCA.Cert.Subject.String())
		}
	}
	setRotationMetrics(v.Ref, want, d, cond.Status == metav1.ConditionFalse)
	if !changedCond && rotationStatusEqual(v.Status.Rotation, &want) {
		return nil
	}
	if err := r.applyStatus(ctx, v, &want, &cond); err != nil {
		return err
	}
	// A second report in the same reconcile compares with what was written.
	v.Status.Rotation = &want
	meta.SetStatusCondition(&v.Status.Conditions, cond)
	return nil
}

// publishFailureMessage names the namespaces where a bundle could not be
// published (the first few) and why.
func publishFailureMessage(failed []trust.Failure) string {
	if len(failed) == 0 {
		return ""
	}
	const named = 5
	var parts []string
	for i, f := range failed {
		if i == named {
			parts = append(parts, fmt.Sprintf("and %d more namespace(s)", len(failed)-named))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", f.Namespace, f.Why))
	}
	return fmt.Sprintf("the trust bundle ConfigMap is not published in %d namespace(s), the others are: %s", len(failed), strings.Join(parts, ", "))
}

func phaseMessage(st v1alpha1.RotationStatus, g *generations, d rotation.Decision) string {
	subject := g.issuingCA.Cert.Subject.String()
	switch st.Phase {
	case v1alpha1.CARotationNextPublished:
		if g.next != nil {
			return fmt.Sprintf("CA %q signs; the next CA %q is published and signs from %s", subject, g.next.Cert.Subject, d.WakeAt.UTC().Format(time.RFC3339))
		}
	case v1alpha1.CARotationRetiring:
		return fmt.Sprintf("CA %q signs; %d previous root(s) stay published until the last certificate each signed expires", subject, len(g.retiring))
	case v1alpha1.CARotationRenewalDue:
		return fmt.Sprintf("CA %q signs; it is due for renewal", subject)
	case v1alpha1.CARotationStable: // the renewal schedule, below
	}
	if st.RenewAt != nil && !d.WakeAt.IsZero() {
		return fmt.Sprintf("CA %q signs; it is renewed from %s", subject, st.RenewAt.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("CA %q signs; no renewal is scheduled (set spec.ca.rotation)", subject)
}

// statusOf is status.rotation as the world now is.
func (r *Reconciler) statusOf(v issuer.View, g *generations, d rotation.Decision) v1alpha1.RotationStatus {
	st := v1alpha1.RotationStatus{Phase: v1alpha1.CARotationPhase(d.Phase), RotateNowToken: g.handled, Reissue: g.reissue.DeepCopy()}
	if prev := v.Status.Rotation; prev != nil && prev.RotateNowToken == st.RotateNowToken {
		st.RotateNowFingerprint = prev.RotateNowFingerprint
	}
	if d.Token != "" {
		// A token answered by a next CA already published (the switch to
		// it re-issues what the old CA signed): tied to that CA.
		st.RotateNowToken, st.RotateNowFingerprint = d.Token, ""
		if g.next != nil && d.Phase == rotation.PhaseNextPublished {
			st.RotateNowFingerprint = g.next.Cert.Fingerprint
		}
	}
	if v.Spec.CA.Rotation != nil {
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
		gen := v1alpha1.CAGeneration{
			Role: v1alpha1.CAGenerationRetiring, Subject: rt.Cert.Subject,
			SHA256Fingerprint: rt.Cert.Fingerprint, SecretName: g.retired[i].entry.Secret, RetiringUntil: &until,
		}
		gen.NotAfter = metav1.NewTime(rt.Cert.NotAfter.UTC())
		if rt.Cert.NotAfter.IsZero() {
			// Its Secret does not match the record: the certificate is not
			// known, its last leaf's NotAfter is.
			gen.NotAfter = until
		}
		st.Generations = append(st.Generations, gen)
	}
	return st
}

func rotationStatusEqual(a, b *v1alpha1.RotationStatus) bool {
	if a == nil || b == nil {
		return a == b
	}
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// patchRotationStatus applies a change to the current status.rotation.
func (r *Reconciler) patchRotationStatus(ctx context.Context, v issuer.View, change func(*v1alpha1.RotationStatus)) error {
	st := &v1alpha1.RotationStatus{}
	if v.Status.Rotation != nil {
		st = v.Status.Rotation.DeepCopy()
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
func (r *Reconciler) applyStatus(ctx context.Context, v issuer.View, st *v1alpha1.RotationStatus, cond *metav1.Condition) error {
	meta := map[string]any{"name": v.Ref.Name}
	if v.Ref.Namespace != "" {
		meta["namespace"] = v.Ref.Namespace
	}
	status := map[string]any{"rotation": st}
	if cond != nil {
		status["conditions"] = []metav1.Condition{*cond}
	} else if have := apimetaCondition(v); have != nil {
		status["conditions"] = []metav1.Condition{*have}
	}
	body, err := json.Marshal(map[string]any{
		"apiVersion": v1alpha1.GroupVersion.String(), "kind": v.Ref.Kind, "metadata": meta, "status": status,
	})
	if err != nil {
		return err
	}
	obj := issuer.NewObject(v.Ref.Kind)
	obj.SetName(v.Ref.Name)
	obj.SetNamespace(v.Ref.Namespace)
	if err := r.Client.Status().Patch(ctx, obj, client.RawPatch(types.ApplyPatchType, body),
		&client.SubResourcePatchOptions{PatchOptions: client.PatchOptions{FieldManager: rotationFieldOwner, Force: new(true)}}); err != nil {
		return fmt.Errorf("cannot update status.rotation of %s: %w", v, err)
	}
	return nil
}

// apimetaCondition is the CARotation condition as it is, so a status
// apply that does not change it keeps owning it.
func apimetaCondition(v issuer.View) *metav1.Condition {
	return meta.FindStatusCondition(v.Status.Conditions, v1alpha1.ConditionTypeCARotation)
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

// waitsForAPerson reports whether a failed step needs someone to act (grant
// a write, delete a Secret in the way) rather than time: it is then tried
// again every poll, not with a growing back-off.
func waitsForAPerson(err error) bool {
	var conflict *conflictError
	return apierrors.IsForbidden(err) || errors.As(err, &conflict)
}
