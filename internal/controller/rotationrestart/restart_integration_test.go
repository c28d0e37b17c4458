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

package rotationrestart_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

const (
	propagationDelay = time.Hour
	templateTTL      = 24 * time.Hour
)

// Crash points: right after each write of a rotation, in order. Writes of
// one step that come before the step is recorded in status are the
// mid-step cases.
var crashPoints = []struct {
	name string
	at   crashPoint
}{
	{"first CA Secret generated, issuer status not yet written", secretWrite("POST", "ca")},
	{"next CA recorded in the CA Secret, ca-next not yet created", secretWrite("PUT", "ca")},
	{"next CA generated into ca-next-*, publication not yet recorded", nextWrite("POST")},
	{"next root written into the bundle, publication not yet recorded", afterFirst(nextWrite("POST"), bundleWrite)},
	{"publication of the next CA recorded in status", statusPhase(v1alpha1.CARotationNextPublished)},
	{"promotion: previous CA kept in its retired Secret, CA Secret not yet switched", retiredWrite("POST")},
	{"promotion: switch written into spec.ca.secretName, ca-next and status not yet updated", caSwitch},
	{"promotion: generated ca-next-* deleted, status not yet updated", nextWrite("DELETE")},
	{"Retiring recorded in status", statusPhase(v1alpha1.CARotationRetiring)},
	{"old root's retired Secret deleted, bundle and status not yet updated", retiredWrite("DELETE")},
	{"old root's entry dropped from the record, bundle and status not yet updated", afterFirst(retiredWrite("DELETE"), secretWrite("PUT", "ca"))},
	{"old root dropped from the bundle, status not yet updated", afterFirst(retiredWrite("DELETE"), bundleWrite)},
	{"Stable recorded after the drop", afterFirst(retiredWrite("DELETE"), statusPhase(v1alpha1.CARotationStable))},
}

func secretWrite(method, name string) crashPoint {
	return func(w write, _ []write) bool {
		return w.Resource == "secrets" && w.Method == method && w.Name == name
	}
}

// caSwitch matches the write of Secret ca that changes the CA it holds
// (the promotion), not the ones that only record generations.
func caSwitch(w write, before []write) bool {
	if w.Resource != "secrets" || w.Method != http.MethodPut || w.Name != "ca" {
		return false
	}
	for _, b := range slices.Backward(before) {
		if b.Resource == "secrets" && b.Name == "ca" && b.Body != nil {
			return b.stringAt("data", "tls.crt") != w.stringAt("data", "tls.crt")
		}
	}
	return false
}

func nextWrite(method string) crashPoint {
	return func(w write, _ []write) bool {
		return w.Resource == "secrets" && w.Method == method && strings.HasPrefix(w.Name, "ca-next-")
	}
}

func retiredWrite(method string) crashPoint {
	return func(w write, _ []write) bool {
		return w.Resource == "secrets" && w.Method == method && strings.HasPrefix(w.Name, "ca-retired-")
	}
}

func bundleWrite(w write, _ []write) bool {
	return w.Resource == "configmaps" && w.Name == "ca-bundle" && w.Method != http.MethodDelete
}

func statusPhase(phase v1alpha1.CARotationPhase) crashPoint {
	return func(w write, _ []write) bool {
		return w.Resource == "nstanceissuers/status" && w.stringAt("status", "rotation", "phase") == string(phase)
	}
}

// afterFirst matches the first write matching then after one matching first.
func afterFirst(first, then crashPoint) crashPoint {
	return func(w write, before []write) bool {
		for i, b := range before {
			if first(b, before[:i]) {
				return then(w, before)
			}
		}
		return false
	}
}

// TestRotationSurvivesARestartAfterEveryWrite walks a generated CA through
// a whole rotation (rotate-now; next published; switch after the
// propagation delay; old root retiring; old root dropped) once without a
// fault, then once per crash point: the manager dies right after that
// write lands (the controller never learns it did) and a new manager
// instance takes over after ten minutes of downtime. Every walk must end
// the same: exactly one next CA generated and switched to once, no key
// re-used or kept in a retired Secret, the bundle holding exactly the live
// roots at each phase, the right CA signing, the old root kept until the
// last certificate it can have signed expires, and the phase Stable.
func TestRotationSurvivesARestartAfterEveryWrite(t *testing.T) {
	t.Run("no crash", func(t *testing.T) {
		h := newHarness(t, nil)
		walkRotation(t, h)
		if h.restarts != 0 {
			t.Errorf("%d restarts without a crash point", h.restarts)
		}
	})
	for _, cp := range crashPoints {
		t.Run(cp.name, func(t *testing.T) {
			h := newHarness(t, cp.at)
			walkRotation(t, h)
			if h.restarts != 1 {
				t.Fatalf("%d restarts: the crash point was never reached", h.restarts)
			}
		})
	}
}

func walkRotation(t *testing.T, h *harness) {
	ctx := t.Context()
	h.start()
	issuer := webIssuer(h.ns)
	issuer.Spec.CA.Generate = &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "Restart CA"}, TTL: 24 * 365}
	issuer.Spec.CA.Rotation = &v1alpha1.CARotation{PropagationDelay: &metav1.Duration{Duration: propagationDelay}}
	issuer.Spec.CA.TrustBundle = &v1alpha1.TrustBundle{ConfigMap: &v1alpha1.ConfigMapBundle{Name: "ca-bundle"}}
	if err := k8s.Create(ctx, issuer); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), issuer) })

	// Stable: one generation, published, signing.
	gens := h.waitGenerations(t, issuer, v1alpha1.CARotationStable, v1alpha1.CAGenerationIssuing)
	first := gens[0].SHA256Fingerprint
	checkRotationMetrics(t, h, v1alpha1.CARotationStable, gens, nil)
	h.waitBundle(t, issuer, first)
	h.waitSignedBy(t, issuer, first)

	// rotate-now: the next CA is generated and published beside the
	// issuing one, which keeps signing.
	if err := annotate(ctx, issuer, v1alpha1.RotateNowAnnotation, "restart-1"); err != nil {
		t.Fatal(err)
	}
	gens = h.waitGenerations(t, issuer, v1alpha1.CARotationNextPublished, v1alpha1.CAGenerationIssuing, v1alpha1.CAGenerationNext)
	next := gens[1].SHA256Fingerprint
	if gens[0].SHA256Fingerprint != first || next == first {
		t.Fatalf("NextPublished generations %v, want %s issuing and a new next", fingerprints(gens), first)
	}
	publishedAt := gens[1].PublishedAt
	switchAt := publishedAt.Add(propagationDelay)
	checkRotationMetrics(t, h, v1alpha1.CARotationNextPublished, gens, &switchAt)
	h.waitBundle(t, issuer, first, next)
	h.waitSignedBy(t, issuer, first)

	// The propagation delay passes: the next CA signs, the old root is
	// retiring and stays published.
	h.clock.SetTime(publishedAt.Add(propagationDelay + time.Second))
	if err := poke(ctx, issuer); err != nil {
		t.Fatal(err)
	}
	gens = h.waitGenerations(t, issuer, v1alpha1.CARotationRetiring, v1alpha1.CAGenerationIssuing, v1alpha1.CAGenerationRetiring)
	if gens[0].SHA256Fingerprint != next || gens[1].SHA256Fingerprint != first {
		t.Fatalf("Retiring generations %v, want %s issuing and %s retiring", fingerprints(gens), next, first)
	}
	h.waitBundle(t, issuer, next, first)
	h.waitSignedBy(t, issuer, next)
	until := gens[1].RetiringUntil
	// The old CA signed until the switch landed: its root must stay until
	// a certificate signed then (template ttl 24h) expires.
	switchedAt := lastWrite(t, h.recorded(), caSwitch).At
	if until == nil || until.Time.Before(switchedAt.Add(templateTTL).Truncate(time.Second)) {
		t.Errorf("retiringUntil %v, want at least the switch (%s) + the template ttl %s: a certificate the old CA signed would outlive its root in the bundle",
			until, switchedAt.Format(time.RFC3339), templateTTL)
	}
	checkRotationMetrics(t, h, v1alpha1.CARotationRetiring, gens, &until.Time)

	// retiringUntil passes: the old root is dropped.
	h.clock.SetTime(until.Add(time.Second))
	if err := poke(ctx, issuer); err != nil {
		t.Fatal(err)
	}
	gens = h.waitGenerations(t, issuer, v1alpha1.CARotationStable, v1alpha1.CAGenerationIssuing)
	if gens[0].SHA256Fingerprint != next {
		t.Fatalf("issuing %s after the rotation, want %s", gens[0].SHA256Fingerprint, next)
	}
	checkRotationMetrics(t, h, v1alpha1.CARotationStable, gens, nil)
	h.waitBundle(t, issuer, next)
	h.waitSignedBy(t, issuer, next)
	// Four requests, each signed once, whatever restarts happened, except
	// that a crash can swallow the delivery of the one signature in flight
	// (the requests go one at a time): the certificate never left the
	// crashed process, and the next manager signs that request again.
	// Each restart therefore allows at most one signature more.
	issued := series(t, "nstance_issuer_signing_requests_total", map[string]string{"namespace": h.ns, "name": "web"})
	if n, extra := issued["kind=NstanceIssuer,outcome=issued,template=web"], float64(h.restarts); len(issued) != 1 || n < 4 || n > 4+extra {
		t.Errorf("signing outcomes %v: want 4 signatures of template web, at most %v more for the restarts", issued, extra)
	} else if n > 4 {
		t.Logf("%v signatures for 4 requests: a crash swallowed %v delivery", n, n-4)
	}

	checkWrites(t, h, first, next)
	// Nothing but the issuing CA Secret is left.
	var list corev1.SecretList
	if err := k8s.List(ctx, &list, client.InNamespace(h.ns)); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range list.Items {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, []string{"ca"}) {
		t.Errorf("Secrets left in the namespace: %v, want [ca]", names)
	}
}

// checkRotationMetrics checks the lifecycle metrics of the issuer against
// its status: one phase gauge at 1, the NotAfter of exactly the live
// generations, no problem, and when the lifecycle next moves (nil: not
// checked). The metrics are set when a reconcile ends, which can be just
// after the status of a step was written: they are waited for.
func checkRotationMetrics(t *testing.T, h *harness, phase v1alpha1.CARotationPhase, gens []v1alpha1.CAGeneration, nextStep *time.Time) {
	t.Helper()
	issuer := map[string]string{"kind": "NstanceIssuer", "namespace": h.ns, "name": "web"}
	phases := map[string]float64{}
	for _, p := range []v1alpha1.CARotationPhase{v1alpha1.CARotationStable, v1alpha1.CARotationRenewalDue, v1alpha1.CARotationNextPublished, v1alpha1.CARotationRetiring} {
		phases["phase="+string(p)] = 0
	}
	phases["phase="+string(phase)] = 1
	expiry := map[string]float64{}
	for _, g := range gens {
		fp := strings.ToLower(strings.ReplaceAll(g.SHA256Fingerprint, ":", ""))[:16]
		expiry["fingerprint="+fp+",role="+string(g.Role)] = float64(g.NotAfter.Unix())
	}
	eventually(t, "rotation metrics of phase "+string(phase), func(context.Context) error {
		return errors.Join(
			sameSeries(t, "nstance_issuer_ca_rotation_phase", issuer, phases),
			sameSeries(t, "nstance_issuer_ca_generation_expiration_timestamp_seconds", issuer, expiry),
			sameSeries(t, "nstance_issuer_ca_rotation_problem", issuer, map[string]float64{"": 0}),
			func() error {
				if nextStep == nil {
					return nil
				}
				return sameSeries(t, "nstance_issuer_ca_rotation_next_step_timestamp_seconds", issuer, map[string]float64{"": float64(nextStep.Unix())})
			}())
	})
}

// checkWrites asserts on every write the controllers made over the walk.
func checkWrites(t *testing.T, h *harness, first, next string) {
	t.Helper()
	writes := h.recorded()
	var trace []string
	keys := map[string]string{} // private key PEM -> fingerprint of its CA
	created := map[string]int{}
	// A switch is a write of spec.ca.secretName that changes its CA; the
	// other writes of it record generations.
	switches, issuingCA := 0, ""
	for _, w := range writes {
		trace = append(trace, w.String())
		if w.Resource != "secrets" || w.Body == nil {
			continue
		}
		if w.Method == http.MethodPost {
			created[w.Name]++
		}
		data, _ := w.Body["data"].(map[string]any)
		if w.Name == "ca" {
			if crt, _ := data["tls.crt"].(string); crt != "" {
				if fp := fingerprintOfB64(t, crt); fp != issuingCA {
					if issuingCA != "" {
						switches++
					}
					issuingCA = fp
				}
			}
		}
		if strings.HasPrefix(w.Name, "ca-retired-") {
			if _, ok := data["tls.key"]; ok {
				t.Errorf("%s wrote a private key into a retired CA Secret", w)
			}
			continue
		}
		key, _ := data["tls.key"].(string)
		crt, _ := data["tls.crt"].(string)
		if key == "" || crt == "" {
			continue
		}
		fp := fingerprintOfB64(t, crt)
		if had, ok := keys[key]; ok && had != fp {
			t.Errorf("%s re-uses the key of CA %s for CA %s", w, had, fp)
		}
		keys[key] = fp
	}
	t.Logf("%d rotation writes: %s", len(writes), strings.Join(trace, ", "))
	var cas []string
	for _, fp := range keys {
		cas = append(cas, fp)
	}
	slices.Sort(cas)
	want := []string{first, next}
	slices.Sort(want)
	if !slices.Equal(cas, want) {
		t.Errorf("CA keys written for CAs %v, want exactly the first and the next CA %v", cas, want)
	}
	nexts := 0
	for name, n := range created {
		if strings.HasPrefix(name, "ca-next-") {
			nexts += n
		}
	}
	if created["ca"] != 1 || nexts != 1 {
		t.Errorf("Secret ca created %d times, a ca-next-* Secret %d times; want once each (one generation each)", created["ca"], nexts)
	}
	if switches != 1 {
		t.Errorf("spec.ca.secretName switched %d times, want once", switches)
	}
}

func fingerprintOfB64(t *testing.T, b64 string) string {
	t.Helper()
	pemData, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := testpki.ParseChain(pemData)
	if err != nil || len(certs) == 0 {
		t.Fatalf("a CA Secret write holds no certificate: %v", err)
	}
	return pki.Fingerprint(certs[0])
}

func lastWrite(t *testing.T, writes []write, match crashPoint) write {
	t.Helper()
	for i, write := range slices.Backward(writes) {
		if match(write, writes[:i]) {
			return write
		}
	}
	t.Fatal("no such write")
	return write{}
}

func fingerprints(gens []v1alpha1.CAGeneration) []string {
	var out []string
	for _, g := range gens {
		out = append(out, string(g.Role)+"="+g.SHA256Fingerprint)
	}
	return out
}

// waitGenerations waits for the phase and the roles of the generations, in
// order, replacing a crashed manager meanwhile, and returns them.
func (h *harness) waitGenerations(t *testing.T, issuer *v1alpha1.NstanceIssuer, phase v1alpha1.CARotationPhase, roles ...v1alpha1.CAGenerationRole) []v1alpha1.CAGeneration {
	t.Helper()
	var gens []v1alpha1.CAGeneration
	reached := framework.RotationReached(k8s, issuer.DeepCopy(), &gens, phase, roles...)
	eventually(t, fmt.Sprintf("phase %s with generations %v", phase, roles), func(ctx context.Context) error {
		if err := h.recover(ctx, issuer); err != nil {
			return err
		}
		return reached(ctx)
	})
	return gens
}

// waitBundle waits until the ConfigMap bundle holds exactly the roots fps.
func (h *harness) waitBundle(t *testing.T, issuer *v1alpha1.NstanceIssuer, fps ...string) {
	t.Helper()
	eventually(t, fmt.Sprintf("the bundle holds exactly %d roots", len(fps)), func(ctx context.Context) error {
		if err := h.recover(ctx, issuer); err != nil {
			return err
		}
		var cm corev1.ConfigMap
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: h.ns, Name: "ca-bundle"}, &cm); err != nil {
			return err
		}
		certs, err := testpki.ParseChain([]byte(cm.Data["ca.crt"]))
		if err != nil {
			return err
		}
		var have []string
		notBefore := map[string]time.Time{}
		for _, c := range certs {
			have = append(have, pki.Fingerprint(c))
			notBefore[pki.Fingerprint(c)] = c.NotBefore
		}
		// A bundle lists its roots newest first (roots of the same second
		// in the order given, the issuing root first), so that promoting
		// the next CA does not rewrite it.
		want := slices.Clone(fps)
		slices.SortStableFunc(want, func(a, b string) int { return notBefore[b].Compare(notBefore[a]) })
		if !slices.Equal(have, want) {
			return fmt.Errorf("bundle holds %v, want %v", have, want)
		}
		return nil
	})
}

// waitSignedBy has a request signed and checks the CA that signed it.
func (h *harness) waitSignedBy(t *testing.T, issuer *v1alpha1.NstanceIssuer, fp string) {
	t.Helper()
	var root *x509.Certificate
	eventually(t, "the issuing CA Secret holds "+fp, func(ctx context.Context) error {
		s, err := getSecret(ctx, h.ns, "ca")
		if err != nil {
			return err
		}
		certs, err := testpki.ParseChain(s.Data["tls.crt"])
		if err != nil || len(certs) == 0 {
			return fmt.Errorf("Secret ca: %d certificates, %w", len(certs), err)
		}
		if pki.Fingerprint(certs[0]) != fp {
			return fmt.Errorf("Secret ca holds %s", pki.Fingerprint(certs[0]))
		}
		root = certs[0]
		return nil
	})
	cr := createRequest(t, h.ns, "w."+h.ns+".example.com")
	eventually(t, "request "+cr.Name+" signed by "+fp, func(ctx context.Context) error {
		if err := h.recover(ctx, issuer); err != nil {
			return err
		}
		var cur cmapi.CertificateRequest
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(cr), &cur); err != nil {
			return err
		}
		for _, c := range cur.Status.Conditions {
			if c.Type == cmapi.CertificateRequestConditionReady && c.Reason == cmapi.CertificateRequestReasonFailed {
				return stopf("request failed: %s", c.Message)
			}
		}
		if len(cur.Status.Certificate) == 0 {
			return errors.New("not signed")
		}
		leaf, err := testpki.ParseChain(cur.Status.Certificate)
		if err != nil {
			return err
		}
		if err := leaf[0].CheckSignatureFrom(root); err != nil {
			return stopf("signed, but not by %s: %v", fp, err)
		}
		return nil
	})
}

func stopf(format string, args ...any) error {
	return framework.Stop(fmt.Errorf(format, args...))
}

// ---- a next CA of the user's: watched, not polled ---------------------------

// TestFixedUserNextCAIsSeenWithoutPolling brings an invalid next CA (its
// key does not match), then fixes the Secret and touches nothing else. The
// poll of the user's next Secret is set to a day: only the watch on that
// Secret can make the controller notice. The CARotation condition clears,
// the next CA is published and the problem metric falls to 0.
func TestFixedUserNextCAIsSeenWithoutPolling(t *testing.T) {
	ctx := t.Context()
	h := newHarness(t, nil)
	h.opts.NextCAPollInterval = 24 * time.Hour
	h.start()

	cur, err := testpki.NewRootCA("Current Root CA", time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	next, err := testpki.NewRootCA("Next Root CA", time.Now().Add(-time.Hour), time.Now().Add(2*365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	other, err := testpki.NewRootCA("Other Root CA", time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// The user's CA Secret, opted in to receive the next CA.
	mustCreate(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "ca",
		Annotations: map[string]string{v1alpha1.GeneratedForAnnotation: "NstanceIssuer " + h.ns + "/web"}}, Data: cur.SecretData()})
	issuer := webIssuer(h.ns)
	issuer.Spec.CA.Rotation = &v1alpha1.CARotation{NextSecretName: "next-ca", PropagationDelay: &metav1.Duration{Duration: propagationDelay}}
	issuer.Spec.CA.TrustBundle = &v1alpha1.TrustBundle{ConfigMap: &v1alpha1.ConfigMapBundle{Name: "ca-bundle"}}
	mustCreate(t, issuer)
	// Stable first: the watch on next-ca starts while it does not exist.
	h.waitGenerations(t, issuer, v1alpha1.CARotationStable, v1alpha1.CAGenerationIssuing)

	// Created invalid: seen through the watch.
	mustCreate(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "next-ca"},
		Data: map[string][]byte{"tls.crt": next.CertPEM, "tls.key": other.KeyPEM}})
	eventually(t, "CARotation False NextCAInvalid", rotationCondition(issuer, metav1.ConditionFalse, "NextCAInvalid"))
	if v := gaugeValue(t, "nstance_issuer_ca_rotation_problem", map[string]string{"namespace": h.ns, "name": "web"}); v != 1 {
		t.Errorf("nstance_issuer_ca_rotation_problem = %v with an invalid next CA, want 1", v)
	}

	// Fixed: the issuer is not touched, the poll is a day away.
	s, err := getSecret(ctx, h.ns, "next-ca")
	if err != nil {
		t.Fatal(err)
	}
	s.Data = next.SecretData()
	if err := k8s.Update(ctx, s); err != nil {
		t.Fatal(err)
	}
	eventually(t, "CARotation True NextPublished", rotationCondition(issuer, metav1.ConditionTrue, string(v1alpha1.CARotationNextPublished)))
	h.waitGenerations(t, issuer, v1alpha1.CARotationNextPublished, v1alpha1.CAGenerationIssuing, v1alpha1.CAGenerationNext)
	h.waitBundle(t, issuer, pki.Fingerprint(cur.Cert), pki.Fingerprint(next.Cert))
	if v := gaugeValue(t, "nstance_issuer_ca_rotation_problem", map[string]string{"namespace": h.ns, "name": "web"}); v != 0 {
		t.Errorf("nstance_issuer_ca_rotation_problem = %v once the next CA is fixed, want 0", v)
	}
	var iss v1alpha1.NstanceIssuer
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(issuer), &iss); err != nil {
		t.Fatal(err)
	}
	if _, ok := iss.Annotations["test/poke"]; ok {
		t.Fatal("the issuer was poked: the test proves nothing about the watch")
	}
}

func mustCreate(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8s.Create(t.Context(), obj); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

func rotationCondition(issuer *v1alpha1.NstanceIssuer, status metav1.ConditionStatus, reason string) func(context.Context) error {
	return func(ctx context.Context) error {
		var cur v1alpha1.NstanceIssuer
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(issuer), &cur); err != nil {
			return err
		}
		for _, c := range cur.Status.Conditions {
			if c.Type == v1alpha1.ConditionTypeCARotation {
				if c.Status == status && c.Reason == reason {
					return nil
				}
				return fmt.Errorf("CARotation %s %s: %s", c.Status, c.Reason, c.Message)
			}
		}
		return errors.New("no CARotation condition")
	}
}

// TestLoweredTTLKeepsTheOldRootLonger: the template ttl is 720h while the
// first CA signs and is lowered to 24h just before a rotation. The old root
// must stay published for 720h after the switch (certificates it signed
// under the old ttl are valid that long), not 24h; the new CA's own
// high-water mark starts at 24h.
func TestLoweredTTLKeepsTheOldRootLonger(t *testing.T) {
	ctx := t.Context()
	h := newHarness(t, nil)
	h.start()
	issuer := webIssuer(h.ns)
	issuer.Spec.Templates[0].TTL = 720
	issuer.Spec.CA.Generate = &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "High Water CA"}, TTL: 24 * 365}
	issuer.Spec.CA.Rotation = &v1alpha1.CARotation{PropagationDelay: &metav1.Duration{Duration: propagationDelay}}
	issuer.Spec.CA.TrustBundle = &v1alpha1.TrustBundle{ConfigMap: &v1alpha1.ConfigMapBundle{Name: "ca-bundle"}}
	mustCreate(t, issuer)
	gens := h.waitGenerations(t, issuer, v1alpha1.CARotationStable, v1alpha1.CAGenerationIssuing)
	if l := gens[0].LongestLeafLifetime; l == nil || l.Duration != 720*time.Hour {
		t.Fatalf("longestLeafLifetime %v, want 720h", l)
	}

	// The ttl is lowered; the lifecycle has seen the new spec.
	var cur v1alpha1.NstanceIssuer
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(issuer), &cur); err != nil {
		t.Fatal(err)
	}
	cur.Spec.Templates[0].TTL = 24
	if err := k8s.Update(ctx, &cur); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the CARotation condition observes the lowered ttl", func(ctx context.Context) error {
		var got v1alpha1.NstanceIssuer
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(issuer), &got); err != nil {
			return err
		}
		for _, c := range got.Status.Conditions {
			if c.Type == v1alpha1.ConditionTypeCARotation && c.ObservedGeneration == got.Generation {
				return nil
			}
		}
		return errors.New("not observed yet")
	})

	if err := annotate(ctx, issuer, v1alpha1.RotateNowAnnotation, "lowered-ttl"); err != nil {
		t.Fatal(err)
	}
	gens = h.waitGenerations(t, issuer, v1alpha1.CARotationNextPublished, v1alpha1.CAGenerationIssuing, v1alpha1.CAGenerationNext)
	if l := gens[0].LongestLeafLifetime; l == nil || l.Duration != 720*time.Hour {
		t.Fatalf("longestLeafLifetime after lowering the ttl: %v, want still 720h", l)
	}
	h.clock.SetTime(gens[1].PublishedAt.Add(propagationDelay + time.Second))
	if err := poke(ctx, issuer); err != nil {
		t.Fatal(err)
	}
	gens = h.waitGenerations(t, issuer, v1alpha1.CARotationRetiring, v1alpha1.CAGenerationIssuing, v1alpha1.CAGenerationRetiring)
	switchedAt := lastWrite(t, h.recorded(), caSwitch).At
	if until := gens[1].RetiringUntil; until == nil || until.Time.Before(switchedAt.Add(720*time.Hour).Truncate(time.Second)) {
		t.Errorf("retiringUntil %v, want at least the switch (%s) + 720h, the ttl in effect while the old CA signed", until, switchedAt.Format(time.RFC3339))
	}
	if l := gens[0].LongestLeafLifetime; l == nil || l.Duration != 24*time.Hour {
		t.Errorf("the new CA's longestLeafLifetime %v, want 24h", l)
	}
}
