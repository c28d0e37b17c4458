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
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
)

// The integration suite runs no cert-manager controllers: the test plays
// cert-manager's part, writing each Certificate's Secret with a
// certificate the issuer really signed, and finishing or failing an
// issuance by hand. The manager runs with --reissue-batch-size=2 and
// --reissue-interval=1h (suite_integration_test.go).

// oldCACertificate creates a Certificate named name in ns with the given
// issuerRef and a Secret holding chain (nil: no Secret yet).
func oldCACertificate(t *testing.T, ns, name string, ref cmmeta.IssuerReference, chain []byte) {
	t.Helper()
	crt := &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: cmapi.CertificateSpec{
			SecretName: name + "-tls", IssuerRef: ref, DNSNames: []string{name + "." + ns + ".example.com"},
		},
	}
	create(t, crt)
	if chain != nil {
		createSecret(t, ns, name+"-tls", map[string][]byte{"tls.crt": chain, "tls.key": []byte("unused")})
	}
}

// setCertificateCondition sets (or with status "" removes) a condition of a
// Certificate, as cert-manager's controllers would.
func setCertificateCondition(t *testing.T, ns, name string, typ cmapi.CertificateConditionType, status cmmeta.ConditionStatus, reason string, failed bool) {
	t.Helper()
	var crt cmapi.Certificate
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &crt); err != nil {
		t.Fatal(err)
	}
	crt.Status.Conditions = slices.DeleteFunc(crt.Status.Conditions, func(c cmapi.CertificateCondition) bool { return c.Type == typ })
	if status != "" {
		now := metav1.Now()
		crt.Status.Conditions = append(crt.Status.Conditions, cmapi.CertificateCondition{Type: typ, Status: status, Reason: reason, Message: "set by the test", LastTransitionTime: &now})
	}
	if failed {
		now := metav1.Now()
		crt.Status.LastFailureTime = &now
	}
	if err := k8s.Status().Update(context.Background(), &crt); err != nil {
		t.Fatal(err)
	}
}

// issuingReasons maps each Certificate of ns to the reason of its Issuing
// condition ("" when it has none).
func issuingReasons(ctx context.Context, ns string) (map[string]string, error) {
	var list cmapi.CertificateList
	if err := k8s.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, c := range list.Items {
		out[c.Name] = ""
		for _, cond := range c.Status.Conditions {
			if cond.Type == cmapi.CertificateConditionIssuing && cond.Status == cmmeta.ConditionTrue {
				out[c.Name] = cond.Reason
			}
		}
	}
	return out, nil
}

func manuallyTriggered(reasons map[string]string) []string {
	var names []string
	for n, r := range reasons {
		if r == "ManuallyTriggered" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// waitReissue waits until status.rotation.reissue satisfies ok.
func waitReissue(t *testing.T, issuer client.Object, what string, ok func(*v1alpha1.ReissueStatus) bool) *v1alpha1.ReissueStatus {
	t.Helper()
	var got *v1alpha1.ReissueStatus
	eventually(t, "status.rotation.reissue "+what, func(ctx context.Context) error {
		st, err := rotationStatus(ctx, issuer)
		if err != nil {
			return err
		}
		if st.Rotation == nil || st.Rotation.Reissue == nil {
			return errors.New("no status.rotation.reissue")
		}
		got = st.Rotation.Reissue
		if !ok(got) {
			return fmt.Errorf("reissue %+v", *got)
		}
		return nil
	})
	return got
}

// reissueDone plays cert-manager finishing an issuance: the Secret gets a
// certificate of the issuing CA and the Issuing condition goes.
func reissueDone(t *testing.T, ns, name string, chain []byte) {
	t.Helper()
	updateSecret(t, ns, name+"-tls", map[string][]byte{"tls.crt": chain, "tls.key": []byte("unused")})
	setCertificateCondition(t, ns, name, cmapi.CertificateConditionIssuing, "", "", false)
}

// moveLastBatchBack makes the next batch due now rather than in an hour.
func moveLastBatchBack(t *testing.T, issuer client.Object) {
	t.Helper()
	patch := fmt.Sprintf(`{"status":{"rotation":{"reissue":{"lastBatchAt":%q}}}}`, time.Now().Add(-2*time.Hour).UTC().Format(time.RFC3339))
	if err := k8s.Status().Patch(context.Background(), issuer, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
}

// TestRotateNowReissuesCertificatesOfTheOldCA rotates a namespaced
// issuer's CA with rotate-now and checks that only the Certificates of
// this issuer whose Secret holds a certificate of the old CA are asked to
// re-issue (Issuing=True, ManuallyTriggered), two per interval, with the
// progress in status.rotation.reissue and Events, until it completes.
func TestRotateNowReissuesCertificatesOfTheOldCA(t *testing.T) {
	ns := newNamespace(t)
	other := newNamespace(t)
	issuer := rotatingIssuer(ns)
	create(t, issuer)
	waitIssuer(t, issuer, metav1.ConditionTrue, "")
	waitGenerations(t, issuer, v1alpha1.CARotationStable, v1alpha1.CAGenerationIssuing)
	oldRoot := parseChain(t, getSecret(t, ns, "ca").Data["tls.crt"])[0]

	ours := issuerRef("NstanceIssuer", "web")
	emptyKind := ours
	emptyKind.Kind = ""
	// Five of this issuer signed by the old CA (one naming it with an
	// empty kind, which issuer-lib resolves to NstanceIssuer).
	for _, n := range []string{"old-a", "old-b", "old-c", "old-d"} {
		oldCACertificate(t, ns, n, ours, signWeb(t, ns).Status.Certificate)
	}
	oldCACertificate(t, ns, "old-e", emptyKind, signWeb(t, ns).Status.Certificate)
	// Left alone: already issuing; another issuer of the same name (cert-manager's
	// own Issuer kind); another namespace; one with no certificate yet.
	oldCACertificate(t, ns, "busy", ours, signWeb(t, ns).Status.Certificate)
	setCertificateCondition(t, ns, "busy", cmapi.CertificateConditionIssuing, cmmeta.ConditionTrue, "Renewing", false)
	oldCACertificate(t, ns, "foreign", cmmeta.IssuerReference{Group: "cert-manager.io", Kind: "Issuer", Name: "web"}, signWeb(t, ns).Status.Certificate)
	oldCACertificate(t, other, "elsewhere", ours, signWeb(t, ns).Status.Certificate)
	oldCACertificate(t, ns, "fresh", ours, nil)
	for _, n := range []string{"old-a", "foreign"} {
		leaf := parseChain(t, getSecret(t, ns, n+"-tls").Data["tls.crt"])[0]
		if err := leaf.CheckSignatureFrom(oldRoot); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
	}

	annotate(t, issuer, v1alpha1.RotateNowAnnotation, "incident-r")
	waitGenerations(t, issuer, v1alpha1.CARotationRetiring, v1alpha1.CAGenerationIssuing, v1alpha1.CAGenerationRetiring)
	// The first batch: two, in name order.
	st := waitReissue(t, issuer, "first batch", func(r *v1alpha1.ReissueStatus) bool { return r.Triggered == 2 })
	if st.Token != "incident-r" || st.Total != 6 || st.InProgress != 3 || st.Pending != 3 || st.Reissued != 0 || st.Failed != 0 || st.LastBatchAt == nil || st.CompletedAt != nil {
		t.Fatalf("after the first batch: %+v", *st)
	}
	reasons, err := issuingReasons(t.Context(), ns)
	if err != nil {
		t.Fatal(err)
	}
	if got := manuallyTriggered(reasons); fmt.Sprint(got) != "[old-a old-b]" {
		t.Fatalf("ManuallyTriggered: %v, want [old-a old-b]", got)
	}
	if reasons["busy"] != "Renewing" || reasons["foreign"] != "" || reasons["fresh"] != "" {
		t.Fatalf("Certificates that are not to be re-issued were touched: %v", reasons)
	}
	// The rate limit holds: nothing more within the interval.
	consistently(t, "no more than two re-issues within the interval", func(ctx context.Context) error {
		r, err := issuingReasons(ctx, ns)
		if err != nil {
			return err
		}
		if got := manuallyTriggered(r); len(got) != 2 {
			return fmt.Errorf("ManuallyTriggered: %v", got)
		}
		return nil
	})
	if r, err := issuingReasons(t.Context(), other); err != nil || r["elsewhere"] != "" {
		t.Fatalf("a Certificate of another namespace was touched: %v %v", r, err)
	}
	note := waitEvent(t, ns, "web", v1alpha1.EventReasonReissueTriggered)
	if !strings.Contains(note, "Asked 2 Certificate(s)") || !strings.Contains(note, ns+"/old-a, "+ns+"/old-b") || !strings.Contains(note, "3 pending") {
		t.Errorf("issuer Event: %s", note)
	}
	t.Logf("issuer Event: %s", note)
	t.Logf("Certificate Event: %s", waitEvent(t, ns, "old-a", v1alpha1.EventReasonReissueTriggered))

	// cert-manager re-issues them with the new CA; "fresh" gets its first
	// certificate, from the new CA too.
	for _, n := range []string{"old-a", "old-b"} {
		reissueDone(t, ns, n, signWeb(t, ns).Status.Certificate)
	}
	createSecret(t, ns, "fresh-tls", map[string][]byte{"tls.crt": signWeb(t, ns).Status.Certificate})
	// The next interval (moved into the past rather than waited for).
	moveLastBatchBack(t, issuer)
	st = waitReissue(t, issuer, "second batch", func(r *v1alpha1.ReissueStatus) bool { return r.Triggered == 4 })
	if st.Total != 7 || st.Reissued != 3 || st.InProgress != 3 || st.Pending != 1 {
		t.Fatalf("after the second batch: %+v", *st)
	}
	if reasons, err = issuingReasons(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	if got := manuallyTriggered(reasons); fmt.Sprint(got) != "[old-c old-d]" {
		t.Fatalf("ManuallyTriggered: %v, want [old-c old-d] (old-a and old-b are done)", got)
	}

	// old-e fails on its own; the rest complete: nothing is left to do.
	setCertificateCondition(t, ns, "old-e", cmapi.CertificateConditionIssuing, cmmeta.ConditionFalse, "Failed", true)
	for _, n := range []string{"old-c", "old-d", "busy"} {
		reissueDone(t, ns, n, signWeb(t, ns).Status.Certificate)
	}
	annotate(t, issuer, "touch", "done")
	st = waitReissue(t, issuer, "completed", func(r *v1alpha1.ReissueStatus) bool { return r.CompletedAt != nil })
	if st.Total != 7 || st.Reissued != 6 || st.Failed != 1 || st.Pending != 0 || st.InProgress != 0 || st.Triggered != 4 ||
		fmt.Sprint(st.FailedCertificates) != "["+ns+"/old-e]" {
		t.Fatalf("completed: %+v", *st)
	}
	note = waitEvent(t, ns, "web", v1alpha1.EventReasonReissueIncomplete)
	if !strings.Contains(note, "6 of 7") || !strings.Contains(note, ns+"/old-e") {
		t.Errorf("ReissueIncomplete Event: %s", note)
	}
	t.Logf("final Event: %s", note)
	// The failed one is not triggered again, even when a batch is due.
	moveLastBatchBack(t, issuer)
	consistently(t, "a failed Certificate is not re-triggered", func(ctx context.Context) error {
		r, err := issuingReasons(ctx, ns)
		if err != nil {
			return err
		}
		if got := manuallyTriggered(r); len(got) != 0 {
			return fmt.Errorf("ManuallyTriggered: %v", got)
		}
		return nil
	})
	var untouched corev1.Secret
	if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: other, Name: "elsewhere-tls"}, &untouched); err != nil {
		t.Fatal(err)
	}
}

// TestClusterIssuerReissuesInEveryNamespace: an NstanceClusterIssuer's
// re-issue reaches its Certificates in any namespace, and leaves alone a
// Certificate naming an NstanceIssuer of the same name.
func TestClusterIssuerReissuesInEveryNamespace(t *testing.T) {
	a, b := newNamespace(t), newNamespace(t)
	name := "reissue-" + strings.TrimPrefix(a, "it-")
	spec := webIssuer(a, name+"-ca").Spec
	spec.CA.Generate = &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "Cluster Reissue CA"}}
	spec.CA.Rotation = &v1alpha1.CARotation{PropagationDelay: &metav1.Duration{}}
	issuer := &v1alpha1.NstanceClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
	create(t, issuer)
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), issuer) })
	waitIssuer(t, issuer, metav1.ConditionTrue, "")
	waitGenerations(t, issuer, v1alpha1.CARotationStable, v1alpha1.CAGenerationIssuing)

	ref := issuerRef("NstanceClusterIssuer", name)
	sign := func(ns string) []byte {
		cr := createCertificateRequest(t, ns, ref, csrPEM(t, "w", "w."+ns+".example.com"), time.Hour, nil)
		approve(t, cr)
		return waitCRReady(t, cr).Status.Certificate
	}
	oldCACertificate(t, a, "app", ref, sign(a))
	oldCACertificate(t, b, "app", ref, sign(b))
	oldCACertificate(t, b, "namespaced", issuerRef("NstanceIssuer", name), sign(b))

	annotate(t, issuer, v1alpha1.RotateNowAnnotation, "cluster-1")
	st := waitReissue(t, issuer, "both namespaces triggered", func(r *v1alpha1.ReissueStatus) bool { return r.Triggered == 2 })
	if st.Total != 2 || st.InProgress != 2 || st.Pending != 0 {
		t.Fatalf("reissue %+v", *st)
	}
	for _, ns := range []string{a, b} {
		reasons, err := issuingReasons(t.Context(), ns)
		if err != nil {
			t.Fatal(err)
		}
		if reasons["app"] != "ManuallyTriggered" || reasons["namespaced"] != "" {
			t.Errorf("%s: %v", ns, reasons)
		}
	}
}

// TestRotateNowToAUserBroughtCAReissues: rotate-now on an issuer whose next
// CA the user brings (nextSecretName) re-issues what the previous CA signed
// too, though the controller never writes the user's Secret: the token is
// tied to the next CA's fingerprint in status when it is published.
func TestRotateNowToAUserBroughtCAReissues(t *testing.T) {
	ns, _, issuer := readyWebIssuer(t, "Current Root CA", func(i *v1alpha1.NstanceIssuer) {
		i.Spec.CA.Rotation = &v1alpha1.CARotation{NextSecretName: "next-ca", PropagationDelay: &metav1.Duration{}}
	})

	optInCASecret(t, ns, "ca")
	ours := issuerRef("NstanceIssuer", "web")
	oldCACertificate(t, ns, "old-a", ours, signWeb(t, ns).Status.Certificate)

	// The token first (nothing to rotate to yet), then the next CA.
	annotate(t, issuer, v1alpha1.RotateNowAnnotation, "incident-u")
	next := newTestCA(t, "Next Root CA", time.Now().Add(-time.Hour), time.Now().Add(2*365*24*time.Hour))
	createSecret(t, ns, "next-ca", next.SecretData())
	gens := waitGenerations(t, issuer, v1alpha1.CARotationRetiring, v1alpha1.CAGenerationIssuing, v1alpha1.CAGenerationRetiring)
	if gens[0].SHA256Fingerprint != pki.Fingerprint(next.Cert) {
		t.Fatalf("issuing %s, want the user's next CA", gens[0].Subject)
	}
	st := waitReissue(t, issuer, "old-a triggered", func(r *v1alpha1.ReissueStatus) bool { return r.Triggered == 1 })
	if st.Token != "incident-u" || st.Total != 1 {
		t.Fatalf("reissue %+v", *st)
	}
	reasons, err := issuingReasons(t.Context(), ns)
	if err != nil {
		t.Fatal(err)
	}
	if got := manuallyTriggered(reasons); fmt.Sprint(got) != "[old-a]" {
		t.Fatalf("ManuallyTriggered: %v, want [old-a]", got)
	}
	// One rotation for one token: the user's CA keeps signing, no
	// rotate-now problem is reported.
	rs, err := rotationStatus(t.Context(), issuer)
	if err != nil {
		t.Fatal(err)
	}
	if c := meta.FindStatusCondition(rs.Conditions, v1alpha1.ConditionTypeCARotation); c != nil && c.Status == metav1.ConditionFalse {
		t.Errorf("CARotation condition after the switch: %+v", c)
	}
	if got := getSecret(t, ns, "next-ca"); string(got.Data["tls.crt"]) != string(next.CertPEM) {
		t.Error("the user's next Secret was changed")
	}
}

// TestReissueAsksOnlyWhatTheBatchLeavesFree: with cert-manager slower than
// the pace, a batch due asks only as many as the Certificates the issuer
// asked and still in flight (status.rotation.reissue.inFlight, with their
// UIDs) leave free of the batch size (2 in this suite); one asked longer
// than --reissue-stalled-after ago and still issuing frees its place and
// is counted as stalled.
func TestReissueAsksOnlyWhatTheBatchLeavesFree(t *testing.T) {
	ns := newNamespace(t)
	issuer := rotatingIssuer(ns)
	create(t, issuer)
	waitIssuer(t, issuer, metav1.ConditionTrue, "")
	waitGenerations(t, issuer, v1alpha1.CARotationStable, v1alpha1.CAGenerationIssuing)
	ours := issuerRef("NstanceIssuer", "web")
	for _, n := range []string{"c1", "c2", "c3", "c4", "c5"} {
		oldCACertificate(t, ns, n, ours, signWeb(t, ns).Status.Certificate)
	}

	annotate(t, issuer, v1alpha1.RotateNowAnnotation, "incident-cap")
	st := waitReissue(t, issuer, "first batch", func(r *v1alpha1.ReissueStatus) bool { return r.Triggered == 2 })
	if len(st.InFlight) != 2 || st.InFlight[0].Name != "c1" || st.InFlight[1].Name != "c2" {
		t.Fatalf("in flight after the first batch: %+v", st.InFlight)
	}
	var c1 cmapi.Certificate
	if err := k8s.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "c1"}, &c1); err != nil {
		t.Fatal(err)
	}
	if st.InFlight[0].UID != c1.UID {
		t.Fatalf("recorded UID %s, the Certificate's is %s", st.InFlight[0].UID, c1.UID)
	}

	// cert-manager finishes c1 only: the next batch has one place.
	reissueDone(t, ns, "c1", signWeb(t, ns).Status.Certificate)
	moveLastBatchBack(t, issuer)
	waitReissue(t, issuer, "second batch", func(r *v1alpha1.ReissueStatus) bool { return r.Triggered == 3 })
	consistently(t, "no more than two asked ones issuing at once", func(ctx context.Context) error {
		r, err := issuingReasons(ctx, ns)
		if err != nil {
			return err
		}
		if got := manuallyTriggered(r); fmt.Sprint(got) != "[c2 c3]" {
			return fmt.Errorf("ManuallyTriggered: %v, want [c2 c3]", got)
		}
		return nil
	})

	// c2 and c3 hang: once asked longer than --reissue-stalled-after ago
	// (moved back rather than waited for) they free their places.
	rs, err := rotationStatus(t.Context(), issuer)
	if err != nil {
		t.Fatal(err)
	}
	inFlight := rs.Rotation.Reissue.InFlight
	for i := range inFlight {
		inFlight[i].AskedAt = metav1.NewTime(time.Now().Add(-2 * time.Hour))
	}
	patch, err := json.Marshal(map[string]any{"status": map[string]any{"rotation": map[string]any{"reissue": map[string]any{
		"inFlight": inFlight, "lastBatchAt": time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339),
	}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := k8s.Status().Patch(t.Context(), issuer, client.RawPatch("application/merge-patch+json", patch)); err != nil {
		t.Fatal(err)
	}
	st = waitReissue(t, issuer, "the stalled ones free their places", func(r *v1alpha1.ReissueStatus) bool { return r.Triggered == 5 })
	if st.Stalled != 2 || len(st.InFlight) != 2 || st.InProgress != 4 || st.Pending != 0 {
		t.Fatalf("after the stall: %+v", *st)
	}
	note := waitEvent(t, ns, "web", v1alpha1.EventReasonReissueStalled)
	if !strings.Contains(note, "2 Certificate(s)") || !strings.Contains(note, ns+"/c2, "+ns+"/c3") {
		t.Errorf("ReissueStalled Event: %s", note)
	}
	t.Logf("ReissueStalled Event: %s", note)
}
