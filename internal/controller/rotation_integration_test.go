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

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/trust"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/rotation"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

// rotatingIssuer is webIssuer with a generated CA, a short propagation
// delay and a ConfigMap bundle.
func rotatingIssuer(ns string) *v1alpha1.NstanceIssuer {
	i := webIssuer(ns, "ca")
	i.Spec.CA.Generate = &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "Rotating CA"}, TTL: 24 * 365}
	i.Spec.CA.Rotation = &v1alpha1.CARotation{PropagationDelay: &metav1.Duration{Duration: 3 * time.Second}}
	i.Spec.CA.TrustBundle = &v1alpha1.TrustBundle{ConfigMap: &v1alpha1.ConfigMapBundle{Name: "ca-bundle"}}
	return i
}

// recordOf reads the generation record of a CA Secret.
func recordOf(t *testing.T, ns, secret string) rotation.Record {
	t.Helper()
	rec, err := rotation.ParseRecord(getSecret(t, ns, secret).Annotations[framework.GenerationsAnnotation])
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// editRecord changes the generation record of a CA Secret as a test's
// stand-in for time passing or for a controller stopped mid-step: the
// record is the controller's own, kept in a Secret only those who hold the
// CA key may write.
func editRecord(t *testing.T, ns, secret string, edit func(*rotation.Record)) {
	t.Helper()
	if err := framework.EditGenerationRecord(context.Background(), k8s, client.ObjectKey{Namespace: ns, Name: secret}, func(r *rotation.Record) error {
		edit(r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// generationSecrets names the Secrets of namespace ns labelled as
// generations of CA Secret "ca" (label next-of or retired-from).
func generationSecrets(t *testing.T, ns, label string) []string {
	t.Helper()
	var list corev1.SecretList
	if err := k8s.List(context.Background(), &list, client.InNamespace(ns), client.MatchingLabels{"issuer.nstance.dev/" + label: "ca"}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range list.Items {
		names = append(names, s.Name)
	}
	return names
}

// optInCASecret annotates a CA Secret the user brought so that the
// rotation of NstanceIssuer ns/web may write into it.
func optInCASecret(t *testing.T, ns, secret string) {
	t.Helper()
	annotate(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: secret}}, v1alpha1.GeneratedForAnnotation, "NstanceIssuer "+ns+"/web")
}

// rotationStatus re-reads obj and returns its status.rotation.
func rotationStatus(ctx context.Context, obj client.Object) (*v1alpha1.IssuerStatus, error) {
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		return nil, err
	}
	return framework.IssuerStatus(obj)
}

// waitGenerations waits for the phase and the roles of the generations, in
// order, and returns them.
func waitGenerations(t *testing.T, obj client.Object, phase v1alpha1.CARotationPhase, roles ...v1alpha1.CAGenerationRole) []v1alpha1.CAGeneration {
	t.Helper()
	var gens []v1alpha1.CAGeneration
	eventually(t, fmt.Sprintf("phase %s with generations %v", phase, roles), framework.RotationReached(k8s, obj, &gens, phase, roles...))
	return gens
}

// bundleFingerprints reads a ConfigMap bundle; nil when absent.
func bundleFingerprints(ctx context.Context, ns, name string) ([]string, error) {
	var cm corev1.ConfigMap
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &cm); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	certs, err := testpki.ParseChain([]byte(cm.Data["ca.crt"]))
	if err != nil {
		return nil, err
	}
	var fps []string
	for _, c := range certs {
		fps = append(fps, pki.Fingerprint(c))
	}
	return fps, nil
}

// newestFirst is the order of roots in a ConfigMap bundle, as
// fingerprints: newest NotBefore first, roots of the same second in the
// order given (the issuing root first), so that promoting a next CA does
// not rewrite every bundle.
func newestFirst(roots ...*x509.Certificate) []string {
	roots = slices.Clone(roots)
	slices.SortStableFunc(roots, func(a, b *x509.Certificate) int { return b.NotBefore.Compare(a.NotBefore) })
	var fps []string
	for _, c := range roots {
		fps = append(fps, pki.Fingerprint(c))
	}
	return fps
}

func waitBundle(t *testing.T, ns, name string, fps ...string) {
	t.Helper()
	eventually(t, fmt.Sprintf("ConfigMap %s/%s holds %d roots", ns, name, len(fps)), func(ctx context.Context) error {
		have, err := bundleFingerprints(ctx, ns, name)
		if err != nil {
			return err
		}
		if strings.Join(have, ",") != strings.Join(fps, ",") {
			return fmt.Errorf("bundle holds %v", have)
		}
		return nil
	})
}

func annotate(t *testing.T, obj client.Object, key, value string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, key, value)
	if err := k8s.Patch(context.Background(), obj, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
}

func countEvents(t *testing.T, ns, name, reason string) int {
	n := 0
	for _, e := range eventsFor(t, ns, name) {
		if e.Reason == reason {
			n++
		}
	}
	return n
}

// signWeb signs a request with the web template and returns its leaf.
func signWeb(t *testing.T, ns string) *cmapi.CertificateRequest {
	t.Helper()
	cr := createCertificateRequest(t, ns, issuerRef("NstanceIssuer", "web"), csrPEM(t, "w", "w."+ns+".example.com"), time.Hour, nil)
	approve(t, cr)
	return waitCRReady(t, cr)
}

// TestRotateNowWalksEveryPhase rotates a generated CA with rotate-now and
// follows it through every phase: the next CA is published beside the
// issuing one, signs after the propagation delay, the previous root stays
// in the bundle (its key gone) until its last certificate expires, then
// leaves. Re-applying the same token rotates nothing.
func TestRotateNowWalksEveryPhase(t *testing.T) {
	ns := newNamespace(t)
	issuer := rotatingIssuer(ns)
	create(t, issuer)
	waitIssuer(t, issuer, metav1.ConditionTrue, "")
	first := waitGenerations(t, issuer, v1alpha1.CARotationStable, v1alpha1.CAGenerationIssuing)[0]
	waitBundle(t, ns, "ca-bundle", first.SHA256Fingerprint)
	oldRoot := parseChain(t, getSecret(t, ns, "ca").Data["tls.crt"])[0]
	verifyChain(t, signWeb(t, ns).Status.Certificate, oldRoot, x509.ExtKeyUsageServerAuth)

	annotate(t, issuer, v1alpha1.RotateNowAnnotation, "incident-1")
	gens := waitGenerations(t, issuer, v1alpha1.CARotationRetiring, v1alpha1.CAGenerationIssuing, v1alpha1.CAGenerationRetiring)
	if gens[1].SHA256Fingerprint != first.SHA256Fingerprint || gens[0].SHA256Fingerprint == first.SHA256Fingerprint {
		t.Fatalf("generations after the rotation: %+v, want a new issuing CA and %s retiring", gens, first.SHA256Fingerprint)
	}
	// Every template has a ttl (24h): the old root retires a day after the
	// switch, long before its own NotAfter.
	if until := gens[1].RetiringUntil; until == nil || until.After(time.Now().Add(25*time.Hour)) || until.Time.Before(time.Now().Add(23*time.Hour)) {
		t.Errorf("retiringUntil %v, want about 24h from now", until)
	}
	waitBundle(t, ns, "ca-bundle", gens[0].SHA256Fingerprint, first.SHA256Fingerprint)
	for _, reason := range []string{v1alpha1.EventReasonCAGenerated, v1alpha1.EventReasonNextCAPublished, v1alpha1.EventReasonCARotated} {
		note := waitEvent(t, ns, "web", reason)
		t.Logf("%s: %s", reason, note)
	}

	// The key of the retired CA is gone: its Secret holds certificates only;
	// the generated next Secret was removed once promoted.
	// Generation Secrets have names nobody can guess before they exist:
	// <secret>-retired-<fingerprint prefix>-<random>, <secret>-next-<random>.
	prefix := "ca-retired-" + strings.ToLower(strings.ReplaceAll(first.SHA256Fingerprint, ":", ""))[:16] + "-"
	if !strings.HasPrefix(gens[1].SecretName, prefix) || len(gens[1].SecretName) != len(prefix)+8 {
		t.Errorf("retired Secret %s, want %s<8 random hex>", gens[1].SecretName, prefix)
	}
	retired := getSecret(t, ns, gens[1].SecretName)
	if _, ok := retired.Data["tls.key"]; ok {
		t.Error("the retired CA Secret holds a private key")
	}
	eventually(t, "the next CA Secret deleted", func(context.Context) error {
		if names := generationSecrets(t, ns, "next-of"); len(names) != 0 {
			return fmt.Errorf("next CA Secrets %v", names)
		}
		return nil
	})

	// The new CA signs.
	newRoot := parseChain(t, getSecret(t, ns, "ca").Data["tls.crt"])[0]
	if pki.Fingerprint(newRoot) != gens[0].SHA256Fingerprint {
		t.Fatalf("Secret ca holds %s, status says %s", pki.Fingerprint(newRoot), gens[0].SHA256Fingerprint)
	}
	eventually(t, "a request signed by the new CA", func(ctx context.Context) error {
		leaf := parseChain(t, signWeb(t, ns).Status.Certificate)[0]
		return leaf.CheckSignatureFrom(newRoot)
	})

	// The same token again changes nothing.
	annotate(t, issuer, "touch", "1")
	consistently(t, "no second rotation for the same token", func(ctx context.Context) error {
		st, err := rotationStatus(ctx, issuer)
		if err != nil {
			return err
		}
		if len(st.Rotation.Generations) != 2 || st.Rotation.Generations[0].SHA256Fingerprint != gens[0].SHA256Fingerprint {
			return fmt.Errorf("generations %+v", st.Rotation.Generations)
		}
		return nil
	})
	if n := countEvents(t, ns, "web", v1alpha1.EventReasonCARotated); n != 1 {
		t.Errorf("%d CARotated Events, want 1", n)
	}

	// The record in the CA Secret, not the retired Secret, says until when
	// the root stays: moving the retired Secret's own annotation into the
	// past (as anyone allowed to patch it could) deletes nothing.
	retired.Annotations["issuer.nstance.dev/retiring-until"] = time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	if err := k8s.Update(context.Background(), retired); err != nil {
		t.Fatal(err)
	}
	annotate(t, issuer, "touch", "2")
	consistently(t, "the retired root stays published", func(ctx context.Context) error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(retired), &corev1.Secret{}); err != nil {
			return err
		}
		st, err := rotationStatus(ctx, issuer)
		if err != nil {
			return err
		}
		if len(st.Rotation.Generations) != 2 {
			return fmt.Errorf("generations %+v", st.Rotation.Generations)
		}
		return nil
	})

	// The last certificate of the old CA expires (the test moves the
	// recorded time into the past rather than wait a day): it leaves.
	editRecord(t, ns, "ca", func(rec *rotation.Record) {
		if len(rec.Retired) != 1 || rec.Retired[0].Fingerprint != first.SHA256Fingerprint {
			t.Fatalf("record %+v, want the first CA retired", rec)
		}
		rec.Retired[0].Until = time.Now().Add(-time.Minute)
	})
	annotate(t, issuer, "touch", "3")
	waitGenerations(t, issuer, v1alpha1.CARotationStable, v1alpha1.CAGenerationIssuing)
	eventually(t, "the retired Secret deleted", func(ctx context.Context) error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(retired), &corev1.Secret{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("retired Secret: %w", err)
		}
		return nil
	})
	if rec := recordOf(t, ns, "ca"); len(rec.Retired) != 0 || rec.Next != nil {
		t.Errorf("record after the drop: %+v", rec)
	}
	waitBundle(t, ns, "ca-bundle", gens[0].SHA256Fingerprint)
	waitEvent(t, ns, "web", v1alpha1.EventReasonRetiredCADropped)
}

// TestRestartMidPromotionResumes leaves the world as a controller stopped
// inside a promotion would: the retired copy of the still-issuing CA
// written (step 1), or the next CA already written into the CA Secret but
// its generated Secret not yet deleted (step 2). The controller finishes
// the step without losing or duplicating a generation.
func TestRestartMidPromotionResumes(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	ca := validCA(t, "Restart Root CA")
	fp := pki.Fingerprint(ca.Cert)
	suffix := strings.ToLower(strings.ReplaceAll(fp, ":", ""))[:16]

	// The state is what the controller writes for a CA it generated: the
	// CA Secret names the issuer it was generated for, the generation
	// Secrets carry its labels and an owner reference to the issuer.
	issuer := webIssuer(ns, "ca")
	issuer.Spec.CA.Generate = &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "Restart CA"}}
	issuer.Spec.CA.Rotation = &v1alpha1.CARotation{}
	caSecret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ca", Annotations: map[string]string{
			v1alpha1.GeneratedForAnnotation: "NstanceIssuer " + ns + "/web", framework.GenerationsAnnotation: "",
		}},
		Type: corev1.SecretTypeTLS, Data: ca.SecretData(),
	}
	if err := k8s.Create(ctx, caSecret); err != nil {
		t.Fatal(err)
	}
	create(t, issuer)
	owner := []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "NstanceIssuer", Name: "web", UID: issuer.UID, Controller: new(true)}}

	// Step 1 done: a retired copy of the issuing CA, as if the controller
	// stopped before writing the next CA into Secret ca.
	half := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: "ca-retired-" + suffix + "-0a0b0c0d", OwnerReferences: owner,
			Labels:      map[string]string{"issuer.nstance.dev/retired-from": "ca", "app.kubernetes.io/managed-by": "nstance-issuer"},
			Annotations: map[string]string{"issuer.nstance.dev/ca-secret": "ca", "issuer.nstance.dev/retiring-until": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)},
		},
		Data: map[string][]byte{"tls.crt": ca.CertPEM},
	}
	if err := k8s.Create(ctx, half); err != nil {
		t.Fatal(err)
	}
	// Step 2 done: the generated next Secret still exists and holds the CA
	// that now signs.
	stale := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: "ca-next", OwnerReferences: owner,
			Labels:      map[string]string{"issuer.nstance.dev/next-of": "ca", "app.kubernetes.io/managed-by": "nstance-issuer"},
			Annotations: map[string]string{"issuer.nstance.dev/ca-secret": "ca"},
		},
		Data: ca.SecretData(),
	}
	if err := k8s.Create(ctx, stale); err != nil {
		t.Fatal(err)
	}
	// Step 2 also recorded the promoted Secret, by UID, in the CA Secret.
	editRecord(t, ns, "ca", func(rec *rotation.Record) {
		rec.Promoted = &rotation.RecordedSecret{Secret: "ca-next", UID: string(stale.UID)}
	})
	annotate(t, issuer, "touch", "1") // a reconcile that sees both

	// The retired copy of the issuing CA is not a second generation, and
	// the stale next Secret goes without a new CA being made.
	gens := waitGenerations(t, issuer, v1alpha1.CARotationStable, v1alpha1.CAGenerationIssuing)
	if gens[0].SHA256Fingerprint != fp {
		t.Fatalf("issuing %s, want %s", gens[0].SHA256Fingerprint, fp)
	}
	eventually(t, "stale ca-next deleted", func(ctx context.Context) error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(stale), &corev1.Secret{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("ca-next: %w", err)
		}
		return nil
	})
	if n := countEvents(t, ns, "web", v1alpha1.EventReasonCAGenerated); n != 0 {
		t.Errorf("%d CAGenerated Events, want none", n)
	}
	if got := getSecret(t, ns, "ca"); string(got.Data["tls.crt"]) != string(ca.CertPEM) {
		t.Error("Secret ca changed")
	}
}

// TestInvalidUserNextCAKeepsCurrentCASigning brings a next CA whose key
// does not match: a clear condition and Event, the current CA keeps
// signing; fixed, it is published and promoted, and the user's Secret is
// left as it was.
func TestInvalidUserNextCAKeepsCurrentCASigning(t *testing.T) {
	ns := newNamespace(t)
	cur := validCA(t, "Current Root CA")
	createSecret(t, ns, "ca", cur.SecretData())
	next := newTestCA(t, "Next Root CA", time.Now().Add(-time.Hour), time.Now().Add(2*365*24*time.Hour))
	other := validCA(t, "Other Root CA")
	createSecret(t, ns, "next-ca", map[string][]byte{"tls.crt": next.CertPEM, "tls.key": other.KeyPEM})
	optInCASecret(t, ns, "ca")

	issuer := webIssuer(ns, "ca")
	issuer.Spec.CA.Rotation = &v1alpha1.CARotation{NextSecretName: "next-ca", PropagationDelay: &metav1.Duration{Duration: 2 * time.Second}}
	issuer.Spec.CA.TrustBundle = &v1alpha1.TrustBundle{ConfigMap: &v1alpha1.ConfigMapBundle{Name: "ca-bundle"}}
	create(t, issuer)
	waitIssuer(t, issuer, metav1.ConditionTrue, "")

	eventually(t, "CARotation condition False NextCAInvalid", func(ctx context.Context) error {
		st, err := rotationStatus(ctx, issuer)
		if err != nil {
			return err
		}
		c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionTypeCARotation)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != "NextCAInvalid" || !strings.Contains(c.Message, "next CA Secret "+ns+"/next-ca") || !strings.Contains(c.Message, "does not match") {
			return fmt.Errorf("condition %+v", c)
		}
		return nil
	})
	t.Logf("Event: %s", waitEvent(t, ns, "web", v1alpha1.EventReasonNextCAInvalid))
	// Only the current root is published; the current CA keeps signing.
	waitBundle(t, ns, "ca-bundle", pki.Fingerprint(cur.Cert))
	verifyChain(t, signWeb(t, ns).Status.Certificate, cur.Cert, x509.ExtKeyUsageServerAuth)
	waitIssuer(t, issuer, metav1.ConditionTrue, "")

	// Fixed: published, then promoted after the delay.
	updateSecret(t, ns, "next-ca", next.SecretData())
	annotate(t, issuer, "touch", "1") // rather than wait for the one-minute re-read
	gens := waitGenerations(t, issuer, v1alpha1.CARotationRetiring, v1alpha1.CAGenerationIssuing, v1alpha1.CAGenerationRetiring)
	if gens[0].SHA256Fingerprint != pki.Fingerprint(next.Cert) {
		t.Fatalf("issuing %s, want the next CA", gens[0].Subject)
	}
	waitBundle(t, ns, "ca-bundle", pki.Fingerprint(next.Cert), pki.Fingerprint(cur.Cert))
	eventually(t, "a request signed by the next CA", func(ctx context.Context) error {
		leaf := parseChain(t, signWeb(t, ns).Status.Certificate)[0]
		return leaf.CheckSignatureFrom(next.Cert)
	})
	if got := getSecret(t, ns, "next-ca"); string(got.Data["tls.crt"]) != string(next.CertPEM) {
		t.Error("the user's next Secret was changed")
	}
}

// TestClusterIssuerPublishesClusterTrustBundlesAndConfigMaps publishes one
// ClusterTrustBundle per live root with the issuer's signer name, and a
// ConfigMap into labelled namespaces only; both follow a rotation and a
// namespace leaving the selector.
func TestClusterIssuerPublishesClusterTrustBundlesAndConfigMaps(t *testing.T) {
	ctx := context.Background()
	name := "rot-" + strings.TrimPrefix(newNamespace(t), "it-")
	selected := newNamespace(t)
	unselected := newNamespace(t)
	label := "trust-" + name
	patchLabels(t, selected, map[string]any{label: "yes"})

	issuer := &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.IssuerSpec{
			CA: v1alpha1.CASpec{
				SecretName: name + "-ca",
				Generate:   &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "Cluster Rotating CA"}},
				Rotation:   &v1alpha1.CARotation{PropagationDelay: &metav1.Duration{}},
				TrustBundle: &v1alpha1.TrustBundle{
					ClusterTrustBundle: true,
					ConfigMap:          &v1alpha1.ConfigMapBundle{Name: "cluster-ca", NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{label: "yes"}}},
				},
			},
		},
	}
	create(t, issuer)
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), issuer) })
	waitIssuer(t, issuer, metav1.ConditionTrue, "")
	first := waitGenerations(t, issuer, v1alpha1.CARotationStable, v1alpha1.CAGenerationIssuing)[0]
	waitBundle(t, selected, "cluster-ca", first.SHA256Fingerprint)
	waitCTBs(t, name, first.SHA256Fingerprint)
	if fps, err := bundleFingerprints(ctx, unselected, "cluster-ca"); err != nil || fps != nil {
		t.Fatalf("unselected namespace: %v %v, want no bundle", fps, err)
	}

	annotate(t, issuer, v1alpha1.RotateNowAnnotation, "t1")
	gens := waitGenerations(t, issuer, v1alpha1.CARotationRetiring, v1alpha1.CAGenerationIssuing, v1alpha1.CAGenerationRetiring)
	waitBundle(t, selected, "cluster-ca", gens[0].SHA256Fingerprint, first.SHA256Fingerprint)
	waitCTBs(t, name, gens[0].SHA256Fingerprint, first.SHA256Fingerprint)

	// A namespace labelled later gets the bundle; one unlabelled loses it.
	patchLabels(t, unselected, map[string]any{label: "yes"})
	waitBundle(t, unselected, "cluster-ca", gens[0].SHA256Fingerprint, first.SHA256Fingerprint)
	patchLabels(t, selected, map[string]any{label: nil})
	waitBundle(t, selected, "cluster-ca")
}

func patchLabels(t *testing.T, ns string, labels map[string]any) {
	t.Helper()
	body := fmt.Sprintf(`{"metadata":{"labels":%s}}`, mustJSON(t, labels))
	obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
	if err := k8s.Patch(context.Background(), obj, client.RawPatch("application/merge-patch+json", []byte(body))); err != nil {
		t.Fatal(err)
	}
}

// waitCTBs waits until the ClusterTrustBundles of cluster issuer name hold
// exactly the roots fps, one each, with the issuer's signer name.
func waitCTBs(t *testing.T, name string, fps ...string) {
	t.Helper()
	version, err := trust.DetectClusterTrustBundle(clientset.Discovery())
	if err != nil {
		t.Fatal(err)
	}
	if version != "v1" {
		// 1.36 serves it at v1beta1 behind a feature gate only; the
		// controller then publishes ConfigMaps alone (checked above).
		t.Logf("ClusterTrustBundle served at %q, not v1: not checking bundles", version)
		return
	}
	signer := "nstanceclusterissuers.issuer.nstance.dev/" + name
	eventually(t, fmt.Sprintf("%d ClusterTrustBundles of %s", len(fps), signer), framework.ClusterTrustBundlesHold(k8s, "v1", signer, fps...))
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// updateSecret replaces the data of a Secret.
func updateSecret(t *testing.T, ns, name string, data map[string][]byte) {
	t.Helper()
	s := getSecret(t, ns, name)
	s.Data = data
	if err := k8s.Update(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

// TestTrustBundleLeavesForeignConfigMapAlone names, as the bundle, a
// ConfigMap the issuer did not create (a user's, or another issuer's
// bundle): it is refused with an Event and left exactly as it was, with no
// owner reference that would garbage-collect it with the issuer.
func TestTrustBundleLeavesForeignConfigMapAlone(t *testing.T) {
	ns := newNamespace(t)
	foreign := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "team-bundle"},
		Data:       map[string]string{"ca.crt": "not ours", "other": "kept"},
	}
	if err := k8s.Create(t.Context(), foreign); err != nil {
		t.Fatal(err)
	}
	createSecret(t, ns, "ca", validCA(t, "Root CA").SecretData())
	issuer := webIssuer(ns, "ca")
	issuer.Spec.CA.TrustBundle = &v1alpha1.TrustBundle{ConfigMap: &v1alpha1.ConfigMapBundle{Name: "team-bundle"}}
	create(t, issuer)
	waitIssuer(t, issuer, metav1.ConditionTrue, "")

	note := waitEvent(t, ns, "web", v1alpha1.EventReasonTrustPublishFailed)
	if !strings.Contains(note, "was not published by") || !strings.Contains(note, ns+"/team-bundle") {
		t.Fatalf("Event note %q does not say which ConfigMap was left alone and why", note)
	}
	consistently(t, "the foreign ConfigMap unchanged", func(ctx context.Context) error {
		var cur corev1.ConfigMap
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(foreign), &cur); err != nil {
			return err
		}
		if cur.Data["ca.crt"] != "not ours" || cur.Data["other"] != "kept" || len(cur.OwnerReferences) != 0 || len(cur.Labels) != 0 {
			return fmt.Errorf("ConfigMap changed: data %v, owners %v, labels %v", cur.Data, cur.OwnerReferences, cur.Labels)
		}
		return nil
	})
}

// TestCACrtAllLiveRootsDuringOverlap: while a next CA is published and not
// yet signing, caCrt AllLiveRoots gives issued certificates both roots in
// ca.crt (a workload trusting its own Secret's ca.crt keeps trusting peers
// across the switch); the default, IssuingRoot, gives the signing root only.
func TestCACrtAllLiveRootsDuringOverlap(t *testing.T) {
	for _, mode := range []v1alpha1.CACrtContent{v1alpha1.CACrtAllLiveRoots, v1alpha1.CACrtIssuingRoot} {
		t.Run(string(mode), func(t *testing.T) {
			ns := newNamespace(t)
			cur := validCA(t, "Current Root CA")
			next := newTestCA(t, "Next Root CA", time.Now().Add(-time.Hour), time.Now().Add(2*365*24*time.Hour))
			createSecret(t, ns, "ca", cur.SecretData())
			optInCASecret(t, ns, "ca")
			createSecret(t, ns, "next-ca", next.SecretData())
			issuer := webIssuer(ns, "ca")
			issuer.Spec.CA.Rotation = &v1alpha1.CARotation{NextSecretName: "next-ca", PropagationDelay: &metav1.Duration{Duration: time.Hour}}
			issuer.Spec.CA.TrustBundle = &v1alpha1.TrustBundle{CACrt: mode, ConfigMap: &v1alpha1.ConfigMapBundle{Name: "ca-bundle"}}
			create(t, issuer)
			waitIssuer(t, issuer, metav1.ConditionTrue, "")
			waitGenerations(t, issuer, v1alpha1.CARotationNextPublished, v1alpha1.CAGenerationIssuing, v1alpha1.CAGenerationNext)
			waitBundle(t, ns, "ca-bundle", newestFirst(cur.Cert, next.Cert)...)

			cr := signWeb(t, ns)
			verifyChain(t, cr.Status.Certificate, cur.Cert, x509.ExtKeyUsageServerAuth)
			var got []string
			for _, c := range parseChain(t, cr.Status.CA) {
				got = append(got, pki.Fingerprint(c))
			}
			want := []string{pki.Fingerprint(cur.Cert)}
			if mode == v1alpha1.CACrtAllLiveRoots {
				want = append(want, pki.Fingerprint(next.Cert))
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("ca.crt holds roots %v, want %v", got, want)
			}
		})
	}
}

// TestNamespacedIssuerPublishesInItsOwnNamespaceOnly: a tenant's
// NstanceIssuer that asks for every namespace ({} selector) still gets its
// ConfigMap bundle in its own namespace only.
func TestNamespacedIssuerPublishesInItsOwnNamespaceOnly(t *testing.T) {
	ns := newNamespace(t)
	other := newNamespace(t)
	root := validCA(t, "Tenant Root CA")
	createSecret(t, ns, "ca", root.SecretData())
	issuer := webIssuer(ns, "ca")
	issuer.Spec.CA.TrustBundle = &v1alpha1.TrustBundle{ConfigMap: &v1alpha1.ConfigMapBundle{Name: "tenant-bundle", NamespaceSelector: &metav1.LabelSelector{}}}
	create(t, issuer)
	waitIssuer(t, issuer, metav1.ConditionTrue, "")
	waitBundle(t, ns, "tenant-bundle", pki.Fingerprint(root.Cert))
	consistently(t, "no bundle outside the issuer's namespace", func(ctx context.Context) error {
		var cm corev1.ConfigMap
		err := k8s.Get(ctx, client.ObjectKey{Namespace: other, Name: "tenant-bundle"}, &cm)
		if err == nil {
			return fmt.Errorf("published into %s", other)
		}
		return client.IgnoreNotFound(err)
	})
}
