//go:build integration

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

package controller_test

// The CA lifecycle as a boundary: what a tenant allowed to create
// ConfigMaps or Secrets in its own namespace, or an identity allowed to
// create Secrets beside a CA Secret it cannot read or write, can do to an
// issuer's rotation. Each test here failed before the generation record
// and the non-blocking publication (issue #21).

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

// generationLabels are the labels the controller puts on a generation
// Secret of CA Secret "ca": anyone may copy them.
func generationLabels(kind string) map[string]string {
	return map[string]string{"app.kubernetes.io/managed-by": "nstance-issuer", "issuer.nstance.dev/" + kind: "ca"}
}

// forgedOwner is an owner reference to the issuer, as anyone who reads its
// UID (public: it is in every published bundle's owner references) can
// write.
func forgedOwner(issuer *v1alpha1.NstanceIssuer) []metav1.OwnerReference {
	return []metav1.OwnerReference{{
		APIVersion: v1alpha1.GroupVersion.String(), Kind: "NstanceIssuer", Name: issuer.Name, UID: issuer.UID, Controller: new(true),
	}}
}

// waitRotationCondition waits for the CARotation condition to satisfy ok.
func waitRotationCondition(t *testing.T, issuer client.Object, what string, ok func(c *metav1.Condition) bool) *metav1.Condition {
	t.Helper()
	var got *metav1.Condition
	eventually(t, "CARotation "+what, func(ctx context.Context) error {
		st, err := rotationStatus(ctx, issuer)
		if err != nil {
			return err
		}
		got = meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionTypeCARotation)
		if got == nil || !ok(got) {
			return fmt.Errorf("condition %+v", got)
		}
		return nil
	})
	return got
}

// TestSquattedConfigMapDoesNotFreezeAClusterIssuersRotation: a ConfigMap of
// the bundle's name that a tenant made in one selected namespace is left
// alone and reported, and the rotation goes on: the next CA is published
// everywhere else, promoted, and the status says which namespace missed
// out and why.
func TestSquattedConfigMapDoesNotFreezeAClusterIssuersRotation(t *testing.T) {
	ctx := context.Background()
	name := "squat-" + strings.TrimPrefix(newNamespace(t), "it-")
	label := "trust-" + name
	tenant, other := newNamespace(t), newNamespace(t)
	for _, ns := range []string{tenant, other, clusterResourceNamespace} {
		patchLabels(t, ns, map[string]any{label: "yes"})
	}
	t.Cleanup(func() { patchLabels(t, clusterResourceNamespace, map[string]any{label: nil}) })
	squat := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: tenant, Name: "cluster-ca"}, Data: map[string]string{"ca.crt": "mine"}}
	create(t, squat)

	issuer := &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.IssuerSpec{CA: v1alpha1.CASpec{
			SecretName: name + "-ca",
			Generate:   &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "Squatted CA"}},
			Rotation:   &v1alpha1.CARotation{PropagationDelay: &metav1.Duration{Duration: time.Second}},
			TrustBundle: &v1alpha1.TrustBundle{ConfigMap: &v1alpha1.ConfigMapBundle{
				Name: "cluster-ca", NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{label: "yes"}},
			}},
		}},
	}
	create(t, issuer)
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), issuer) })
	waitIssuer(t, issuer, metav1.ConditionTrue, "")
	first := waitGenerations(t, issuer, v1alpha1.CARotationStable, v1alpha1.CAGenerationIssuing)[0]
	waitBundle(t, other, "cluster-ca", first.SHA256Fingerprint)

	annotate(t, issuer, v1alpha1.RotateNowAnnotation, "after-compromise")
	gens := waitGenerations(t, issuer, v1alpha1.CARotationRetiring, v1alpha1.CAGenerationIssuing, v1alpha1.CAGenerationRetiring)
	for _, ns := range []string{other, clusterResourceNamespace} {
		waitBundle(t, ns, "cluster-ca", gens[0].SHA256Fingerprint, first.SHA256Fingerprint)
	}
	c := waitRotationCondition(t, issuer, "names the squatted namespace", func(c *metav1.Condition) bool {
		return strings.Contains(c.Message, "not published in 1 namespace(s)") && strings.Contains(c.Message, tenant+"/cluster-ca was not published by this issuer")
	})
	if c.Status != metav1.ConditionTrue || c.Reason != string(v1alpha1.CARotationRetiring) {
		t.Errorf("condition %s/%s, want True/Retiring: a tenant's ConfigMap does not stop the rotation", c.Status, c.Reason)
	}
	waitEvent(t, "", name, v1alpha1.EventReasonTrustPublishFailed)
	if got := metricValue(t, "nstance_issuer_trust_bundle_publish_failures", map[string]string{"kind": "NstanceClusterIssuer", "name": name}); got != 1 {
		t.Errorf("publish failures metric %v, want 1", got)
	}
	var cur corev1.ConfigMap
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(squat), &cur); err != nil || cur.Data["ca.crt"] != "mine" || len(cur.OwnerReferences) != 0 {
		t.Errorf("the tenant's ConfigMap was touched: %v %+v", err, cur)
	}
}

// TestForgedNextSecretIsNeverPublishedOrPromoted: a Secret named
// <secret>-next with the issuer's labels and an owner reference to its UID,
// holding a CA of the attacker's, is not the issuer's next CA: it is
// reported, never published, promoted, written or deleted; a rotate-now
// then generates a next CA under a name nobody could guess and rotates to
// it, so the squatted name blocks nothing.
func TestForgedNextSecretIsNeverPublishedOrPromoted(t *testing.T) {
	ns := newNamespace(t)
	issuer := rotatingIssuer(ns)
	issuer.Spec.CA.Rotation.PropagationDelay = &metav1.Duration{}
	create(t, issuer)
	waitIssuer(t, issuer, metav1.ConditionTrue, "")
	first := waitGenerations(t, issuer, v1alpha1.CARotationStable, v1alpha1.CAGenerationIssuing)[0]

	attacker := validCA(t, "Attacker CA")
	forged := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ca-next", Labels: generationLabels("next-of"), OwnerReferences: forgedOwner(issuer),
			Annotations: map[string]string{v1alpha1.GeneratedForAnnotation: "NstanceIssuer " + ns + "/web", "issuer.nstance.dev/ca-secret": "ca"}},
		Type: corev1.SecretTypeTLS, Data: attacker.SecretData(),
	}
	create(t, forged)
	annotate(t, issuer, "touch", "1")
	waitRotationCondition(t, issuer, "reports the look-alike", func(c *metav1.Condition) bool {
		return c.Status == metav1.ConditionTrue && strings.Contains(c.Message, "ca-next") && strings.Contains(c.Message, "not in its generation record")
	})
	consistently(t, "the attacker's CA neither published nor signing", func(ctx context.Context) error {
		fps, err := bundleFingerprints(ctx, ns, "ca-bundle")
		if err != nil {
			return err
		}
		if len(fps) != 1 || fps[0] != first.SHA256Fingerprint {
			return fmt.Errorf("bundle %v", fps)
		}
		return nil
	})

	annotate(t, issuer, v1alpha1.RotateNowAnnotation, "t1")
	gens := waitGenerations(t, issuer, v1alpha1.CARotationRetiring, v1alpha1.CAGenerationIssuing, v1alpha1.CAGenerationRetiring)
	if gens[0].SHA256Fingerprint == pki.Fingerprint(attacker.Cert) || gens[1].SHA256Fingerprint != first.SHA256Fingerprint {
		t.Fatalf("generations %+v", gens)
	}
	if got := pki.Fingerprint(parseChain(t, getSecret(t, ns, "ca").Data["tls.crt"])[0]); got != gens[0].SHA256Fingerprint {
		t.Fatalf("Secret ca holds %s", got)
	}
	if got := getSecret(t, ns, "ca-next"); string(got.Data["tls.key"]) != string(attacker.KeyPEM) {
		t.Error("the look-alike Secret was written")
	}
	if n := countEvents(t, ns, "web", v1alpha1.EventReasonCAGenerated); n != 2 {
		t.Errorf("%d CAGenerated Events, want 2 (the first CA and the next)", n)
	}
}

// TestNextCACopiedIntoTheCASecretByHandIsCleanedUp: an operator who copies
// the generated next CA into spec.ca.secretName (a promotion by hand) gets
// the next CA's Secret deleted, as a promotion would, and the lifecycle
// goes on: no panic, status written.
func TestNextCACopiedIntoTheCASecretByHandIsCleanedUp(t *testing.T) {
	ns := newNamespace(t)
	issuer := rotatingIssuer(ns)
	issuer.Spec.CA.Rotation.PropagationDelay = &metav1.Duration{Duration: time.Hour}
	create(t, issuer)
	waitIssuer(t, issuer, metav1.ConditionTrue, "")
	annotate(t, issuer, v1alpha1.RotateNowAnnotation, "t1")
	gens := waitGenerations(t, issuer, v1alpha1.CARotationNextPublished, v1alpha1.CAGenerationIssuing, v1alpha1.CAGenerationNext)

	next := getSecret(t, ns, gens[1].SecretName)
	ca := getSecret(t, ns, "ca")
	for _, k := range []string{"tls.crt", "tls.key", "ca.crt"} {
		ca.Data[k] = next.Data[k]
	}
	if err := k8s.Update(context.Background(), ca); err != nil {
		t.Fatal(err)
	}
	annotate(t, issuer, "touch", "1")
	eventually(t, "the next CA's Secret deleted", func(context.Context) error {
		if names := generationSecrets(t, ns, "next-of"); len(names) != 0 {
			return fmt.Errorf("next CA Secrets %v", names)
		}
		return nil
	})
	got := waitGenerations(t, issuer, v1alpha1.CARotationStable, v1alpha1.CAGenerationIssuing)
	if got[0].SHA256Fingerprint != gens[1].SHA256Fingerprint {
		t.Fatalf("issuing %s, want the copied next CA %s", got[0].SHA256Fingerprint, gens[1].SHA256Fingerprint)
	}
	if rec := recordOf(t, ns, "ca"); rec.Next != nil || rec.Promoted != nil {
		t.Errorf("record %+v", rec)
	}
}

// TestSecondIssuerOnTheSameCASecretWritesNothing: an issuer whose
// spec.ca.secretName names a CA Secret generated for another issuer reads
// neither its record nor writes it, and never deletes that issuer's
// retired Secret.
func TestSecondIssuerOnTheSameCASecretWritesNothing(t *testing.T) {
	ns := newNamespace(t)
	owner := rotatingIssuer(ns)
	owner.Spec.CA.Rotation.PropagationDelay = &metav1.Duration{}
	create(t, owner)
	waitIssuer(t, owner, metav1.ConditionTrue, "")
	annotate(t, owner, v1alpha1.RotateNowAnnotation, "t1")
	gens := waitGenerations(t, owner, v1alpha1.CARotationRetiring, v1alpha1.CAGenerationIssuing, v1alpha1.CAGenerationRetiring)
	before := getSecret(t, ns, "ca")

	other := webIssuer(ns, "ca")
	other.Name = "other"
	other.Spec.CA.Rotation = &v1alpha1.CARotation{}
	other.Spec.CA.TrustBundle = &v1alpha1.TrustBundle{ConfigMap: &v1alpha1.ConfigMapBundle{Name: "other-bundle"}}
	create(t, other)
	waitIssuer(t, other, metav1.ConditionTrue, "")
	waitBundle(t, ns, "other-bundle", gens[0].SHA256Fingerprint)
	annotate(t, other, "touch", "1")
	consistently(t, "the other issuer writes nothing", func(ctx context.Context) error {
		if got := getSecret(t, ns, "ca"); got.ResourceVersion != before.ResourceVersion {
			return fmt.Errorf("Secret ca written (resourceVersion %s -> %s)", before.ResourceVersion, got.ResourceVersion)
		}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: gens[1].SecretName}, &corev1.Secret{}); err != nil {
			return fmt.Errorf("the owner's retired Secret: %w", err)
		}
		return nil
	})
}

// TestForgedRetiredSecretInjectsNoRoot: a Secret made like a retired
// generation of the issuer (labels, annotations, owner reference to its
// UID) with a root of the attacker's is not trusted: its root is in no
// bundle and in no ca.crt, even with AllLiveRoots; a foreign Secret
// labelled as retired with a past retiring-until is never deleted.
func TestForgedRetiredSecretInjectsNoRoot(t *testing.T) {
	ns := newNamespace(t)
	issuer := rotatingIssuer(ns)
	issuer.Spec.CA.TrustBundle.CACrt = v1alpha1.CACrtAllLiveRoots
	create(t, issuer)
	waitIssuer(t, issuer, metav1.ConditionTrue, "")
	first := waitGenerations(t, issuer, v1alpha1.CARotationStable, v1alpha1.CAGenerationIssuing)[0]

	attacker := validCA(t, "Injected Root")
	retired := func(name string, until time.Time, data map[string][]byte) *corev1.Secret {
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: generationLabels("retired-from"), OwnerReferences: forgedOwner(issuer),
				Annotations: map[string]string{"issuer.nstance.dev/ca-secret": "ca", "issuer.nstance.dev/retiring-until": until.UTC().Format(time.RFC3339)}},
			Data: data,
		}
	}
	injected := retired("ca-retired-0123456789abcdef", time.Now().Add(24*time.Hour), map[string][]byte{"tls.crt": attacker.CertPEM, "ca.crt": attacker.CertPEM})
	create(t, injected)
	// Someone else's TLS Secret, labelled as retired long ago.
	victimCA := validCA(t, "Victim")
	victim := retired("app-tls", time.Now().Add(-time.Hour), victimCA.SecretData())
	create(t, victim)
	annotate(t, issuer, "touch", "1")

	waitRotationCondition(t, issuer, "reports both look-alikes", func(c *metav1.Condition) bool {
		return strings.Contains(c.Message, "app-tls, ca-retired-0123456789abcdef") && strings.Contains(c.Message, "not in its generation record")
	})
	waitEvent(t, ns, "web", v1alpha1.EventReasonGenerationSecretIgnored)
	consistently(t, "no injected root, no deletion", func(ctx context.Context) error {
		fps, err := bundleFingerprints(ctx, ns, "ca-bundle")
		if err != nil {
			return err
		}
		if len(fps) != 1 || fps[0] != first.SHA256Fingerprint {
			return fmt.Errorf("bundle %v", fps)
		}
		for _, s := range []*corev1.Secret{injected, victim} {
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(s), &corev1.Secret{}); err != nil {
				return fmt.Errorf("Secret %s: %w", s.Name, err)
			}
		}
		return nil
	})
	for _, c := range parseChain(t, signWeb(t, ns).Status.CA) {
		if c.Equal(attacker.Cert) {
			t.Fatal("the injected root is in an issued certificate's ca.crt")
		}
	}
}

// TestNextCAIsNotPromotedIntoACASecretNotMadeForTheIssuer: spec.ca.secretName
// names a CA Secret the issuer's editor may not write (not generated for
// the issuer, not opted in), nextSecretName one of their own: the next CA
// is neither published nor written into that Secret, and the condition
// says how the Secret's owner opts in.
func TestNextCAIsNotPromotedIntoACASecretNotMadeForTheIssuer(t *testing.T) {
	ns := newNamespace(t)
	theirs := validCA(t, "Another Team's CA")
	createSecret(t, ns, "team-ca", theirs.SecretData())
	mine := newTestCA(t, "My CA", time.Now().Add(-time.Hour), time.Now().Add(2*365*24*time.Hour))
	createSecret(t, ns, "my-ca", mine.SecretData())

	issuer := webIssuer(ns, "team-ca")
	issuer.Spec.CA.Rotation = &v1alpha1.CARotation{NextSecretName: "my-ca", PropagationDelay: &metav1.Duration{}}
	issuer.Spec.CA.TrustBundle = &v1alpha1.TrustBundle{ConfigMap: &v1alpha1.ConfigMapBundle{Name: "ca-bundle"}}
	create(t, issuer)
	waitIssuer(t, issuer, metav1.ConditionTrue, "")
	waitRotationCondition(t, issuer, "CASecretNotGenerated", func(c *metav1.Condition) bool {
		return c.Status == metav1.ConditionFalse && c.Reason == "CASecretNotGenerated" && strings.Contains(c.Message, ns+"/team-ca") &&
			strings.Contains(c.Message, v1alpha1.GeneratedForAnnotation)
	})
	consistently(t, "the team's CA Secret unchanged, the next CA not published", func(ctx context.Context) error {
		if got := getSecret(t, ns, "team-ca"); string(got.Data["tls.key"]) != string(theirs.KeyPEM) {
			return fmt.Errorf("Secret team-ca was overwritten")
		}
		fps, err := bundleFingerprints(ctx, ns, "ca-bundle")
		if err != nil {
			return err
		}
		if len(fps) != 1 || fps[0] != pki.Fingerprint(theirs.Cert) {
			return fmt.Errorf("bundle %v", fps)
		}
		return nil
	})

	// The Secret's owner opts in: the rotation goes on.
	optInCASecret(t, ns, "team-ca")
	gens := waitGenerations(t, issuer, v1alpha1.CARotationRetiring, v1alpha1.CAGenerationIssuing, v1alpha1.CAGenerationRetiring)
	if gens[0].SHA256Fingerprint != pki.Fingerprint(mine.Cert) {
		t.Fatalf("issuing %s, want the next CA", gens[0].Subject)
	}
}

// TestAlteredRetiredSecretIsReportedNotPublished: the retired Secret the
// controller made, patched afterwards by someone allowed to patch Secrets
// (another root in ca.crt), no longer matches the record: its root leaves
// the bundles (never the injected one) and the condition says why.
func TestAlteredRetiredSecretIsReportedNotPublished(t *testing.T) {
	ns := newNamespace(t)
	issuer := rotatingIssuer(ns)
	issuer.Spec.CA.Rotation.PropagationDelay = &metav1.Duration{}
	create(t, issuer)
	waitIssuer(t, issuer, metav1.ConditionTrue, "")
	first := waitGenerations(t, issuer, v1alpha1.CARotationStable, v1alpha1.CAGenerationIssuing)[0]
	annotate(t, issuer, v1alpha1.RotateNowAnnotation, "t1")
	gens := waitGenerations(t, issuer, v1alpha1.CARotationRetiring, v1alpha1.CAGenerationIssuing, v1alpha1.CAGenerationRetiring)
	waitBundle(t, ns, "ca-bundle", gens[0].SHA256Fingerprint, first.SHA256Fingerprint)

	rec := recordOf(t, ns, "ca")
	if len(rec.Retired) != 1 || rec.Retired[0].Fingerprint != first.SHA256Fingerprint || rec.Retired[0].Secret != gens[1].SecretName {
		t.Fatalf("record %+v", rec)
	}
	attacker, err := testpki.NewValidRootCA("Injected Root")
	if err != nil {
		t.Fatal(err)
	}
	s := getSecret(t, ns, gens[1].SecretName)
	s.Data["ca.crt"] = attacker.CertPEM
	if err := k8s.Update(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	annotate(t, issuer, "touch", "1")
	waitRotationCondition(t, issuer, "names the altered retired Secret", func(c *metav1.Condition) bool {
		return strings.Contains(c.Message, gens[1].SecretName+" no longer holds the certificates recorded for it")
	})
	waitBundle(t, ns, "ca-bundle", gens[0].SHA256Fingerprint)
	waitEvent(t, ns, "web", v1alpha1.EventReasonRetiredCAIgnored)
}

// metricValue is the value of the one sample of a gauge of the in-process
// manager whose labels include want.
func metricValue(t *testing.T, name string, want map[string]string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var found []*dto.Metric
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			match := true
			for k, v := range want {
				match = match && have[k] == v
			}
			if match {
				found = append(found, m)
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s%v: %d samples, want 1", name, want, len(found))
	}
	return found[0].GetGauge().GetValue()
}

// TestRotateNowWhileANextCAIsPublishedReissues: a rotate-now that arrives
// while a scheduled next CA is already published is answered by the
// switch to it, and that switch re-issues what the old CA signed.
func TestRotateNowWhileANextCAIsPublishedReissues(t *testing.T) {
	ns, _, issuer := readyWebIssuer(t, "Scheduled Root CA", func(i *v1alpha1.NstanceIssuer) {
		i.Spec.CA.Rotation = &v1alpha1.CARotation{NextSecretName: "next-ca", PropagationDelay: &metav1.Duration{Duration: 15 * time.Second}}
	})
	optInCASecret(t, ns, "ca")
	oldCACertificate(t, ns, "old-a", issuerRef("NstanceIssuer", "web"), signWeb(t, ns).Status.Certificate)
	next := newTestCA(t, "Next Root CA", time.Now().Add(-time.Hour), time.Now().Add(2*365*24*time.Hour))
	createSecret(t, ns, "next-ca", next.SecretData())
	annotate(t, issuer, "touch", "1")
	waitGenerations(t, issuer, v1alpha1.CARotationNextPublished, v1alpha1.CAGenerationIssuing, v1alpha1.CAGenerationNext)

	annotate(t, issuer, v1alpha1.RotateNowAnnotation, "while-published")
	waitGenerations(t, issuer, v1alpha1.CARotationRetiring, v1alpha1.CAGenerationIssuing, v1alpha1.CAGenerationRetiring)
	st := waitReissue(t, issuer, "old-a triggered", func(r *v1alpha1.ReissueStatus) bool { return r.Triggered == 1 })
	if st.Token != "while-published" {
		t.Fatalf("reissue %+v", *st)
	}
}
