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
	"encoding/pem"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/rotation"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

func ownedTestView(t *testing.T) issuer.View {
	t.Helper()
	iss := &v1alpha1.NstanceIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "web", UID: "uid-web"}}
	iss.Spec.CA.SecretName = "ca"
	v, err := issuer.NewView(iss, "")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestLegacyOwnedByIssuer(t *testing.T) {
	t.Parallel()
	v := ownedTestView(t)
	managed := map[string]string{issuer.ManagedByLabel: issuer.ManagedByValue}
	legacy := v.OwnerRef() // written before the controller flag was set
	cases := []struct {
		name   string
		labels map[string]string
		owners []metav1.OwnerReference
		want   bool
	}{
		{"the controller reference and the managed-by label: owned", managed, []metav1.OwnerReference{controllerRef(v)}, true},
		{"an earlier version's reference without the controller flag: owned", managed, []metav1.OwnerReference{legacy}, true},
		{"no owner reference: not owned", managed, nil, false},
		{"no managed-by label: not owned", nil, []metav1.OwnerReference{controllerRef(v)}, false},
		{"another issuer's UID: not owned", managed, []metav1.OwnerReference{{APIVersion: legacy.APIVersion, Kind: legacy.Kind, Name: "web", UID: "uid-other"}}, false},
		{"the UID under another kind: not owned", managed, []metav1.OwnerReference{{APIVersion: legacy.APIVersion, Kind: issuer.KindClusterIssuer, Name: "web", UID: "uid-web"}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ca-retired-x", Namespace: "team-a", Labels: tc.labels, OwnerReferences: tc.owners}}
			if got := legacyOwnedByIssuer(s, v); got != tc.want {
				t.Errorf("owned %v, want %v", got, tc.want)
			}
		})
	}
	if r := controllerRef(v); r.Controller == nil || !*r.Controller || r.UID != "uid-web" {
		t.Errorf("controllerRef %+v", r)
	}
}

func TestGenerateRefused(t *testing.T) {
	t.Parallel()
	v := ownedTestView(t)
	mine := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "ca", Annotations: map[string]string{v1alpha1.GeneratedForAnnotation: v.String()}}}
	theirs := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "ca", Annotations: map[string]string{v1alpha1.GeneratedForAnnotation: "NstanceIssuer team-a/other"}}}
	plain := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "ca"}}
	if got := generateRefused(plain, v); got != "" {
		t.Errorf("without spec.ca.generate: %q", got)
	}
	if got := promoteRefused(mine, v); got != "" {
		t.Errorf("promotion into a Secret generated for the issuer: %q", got)
	}
	for _, s := range []*corev1.Secret{theirs, plain} {
		got := promoteRefused(s, v)
		for _, want := range []string{"Secret team-a/ca", "not generated for NstanceIssuer team-a/web", "opted it in", v1alpha1.GeneratedForAnnotation + `="NstanceIssuer team-a/web"`} {
			if !strings.Contains(got, want) {
				t.Errorf("promotion refusal %q lacks %q", got, want)
			}
		}
	}
	v.Spec.CA.Generate = &v1alpha1.CATemplate{}
	if got := generateRefused(mine, v); got != "" {
		t.Errorf("generated for the issuer: %q", got)
	}
	for _, s := range []*corev1.Secret{theirs, plain} {
		got := generateRefused(s, v)
		for _, want := range []string{"team-a/ca was not generated for NstanceIssuer team-a/web", "nextSecretName", "delete the Secret", v1alpha1.GeneratedForAnnotation} {
			if !strings.Contains(got, want) {
				t.Errorf("message %q lacks %q", got, want)
			}
		}
	}
}

func fakeSecretsClient(t *testing.T, objs ...client.Object) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
}

// TestFindLookAlikes finds the Secrets labelled as generations that the
// record does not name (retired ones by name and UID), whoever owns them,
// and leaves out a retired copy of the issuing CA (a promotion that
// stopped half-way).
func TestFindLookAlikes(t *testing.T) {
	t.Parallel()
	v := ownedTestView(t)
	cas, err := testpki.NewValidRootCAs("issuing")
	if err != nil {
		t.Fatal(err)
	}
	issuing := &pki.CA{Cert: cas[0].Cert}
	issuingFP := pki.Fingerprint(issuing.Cert)
	gen := func(label, name, uid string) client.Object {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "team-a", UID: types.UID(uid), OwnerReferences: []metav1.OwnerReference{controllerRef(v)},
			Labels: map[string]string{issuer.ManagedByLabel: issuer.ManagedByValue, label: "ca"},
		}}
	}
	var objs []client.Object
	for i := range 8 {
		objs = append(objs, gen(labelRetiredFrom, fmt.Sprintf("ca-retired-forged-%d", i), fmt.Sprintf("uid-f%d", i)))
	}
	objs = append(objs, gen(labelRetiredFrom, "ca-retired-mine", "uid-mine"), gen(labelRetiredFrom, "ca-retired-reused-name", "uid-new"),
		gen(labelRetiredFrom, retiredSecretName("ca", issuingFP, "0a0b0c0d"), "uid-leftover"),
		gen(labelNextOf, "ca-next", "uid-legacy-next"), gen(labelNextOf, "ca-next-1234abcd", "uid-next"))
	r := &Reconciler{Reader: fakeSecretsClient(t, objs...)}
	g := &generations{issuingCA: issuing, record: rotation.Record{
		Next: &rotation.RecordedNext{Secret: "ca-next-1234abcd", Fingerprint: issuingFP},
		Retired: []rotation.RecordedRetired{
			{Secret: "ca-retired-mine", UID: "uid-mine"},
			{Secret: "ca-retired-reused-name", UID: "uid-old"}, // deleted and made again by someone else
		},
	}}
	r.findLookAlikes(context.Background(), v, g)
	if g.lookAlikeCount != 10 {
		t.Errorf("count %d, want 10 (8 forged, the re-used name, the legacy next)", g.lookAlikeCount)
	}
	if len(g.lookAlikes) != maxLookAlikesNamed || slices.Contains(g.lookAlikes, "ca-retired-mine") || slices.Contains(g.lookAlikes, "ca-next-1234abcd") {
		t.Errorf("names %v: want %d, not the recorded ones", g.lookAlikes, maxLookAlikesNamed)
	}
	msg := lookAlikeMessage(v, g)
	for _, want := range []string{"and 5 more", "not in its generation record", "delete them"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

// TestReadRetired trusts a retired Secret only when it is the one the
// controller created and holds the recorded certificates.
func TestReadRetired(t *testing.T) {
	t.Parallel()
	cas, err := testpki.NewValidRootCAs("old", "evil")
	if err != nil {
		t.Fatal(err)
	}
	old, evil := cas[0], cas[1]
	inter, err := testpki.NewIntermediateCA(old, "old-inter")
	if err != nil {
		t.Fatal(err)
	}
	entry := rotation.RecordedRetired{Secret: "ca-retired-1", UID: "uid-1", Fingerprint: pki.Fingerprint(old.Cert), Root: pki.Fingerprint(old.Cert), Until: time.Now().Add(time.Hour)}
	secret := func(uid string, data map[string][]byte) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ca-retired-1", Namespace: "team-a", UID: types.UID(uid)}, Data: data}
	}
	cases := []struct {
		name    string
		secret  *corev1.Secret
		entry   rotation.RecordedRetired
		problem string
	}{
		{"the Secret as the controller wrote it is trusted", secret("uid-1", map[string][]byte{"tls.crt": old.CertPEM, "ca.crt": old.CertPEM}), entry, ""},
		{"without ca.crt the CA is its own root", secret("uid-1", map[string][]byte{"tls.crt": old.CertPEM}), entry, ""},
		{"an intermediate with its recorded root is trusted", secret("uid-1", map[string][]byte{"tls.crt": inter.CertPEM, "ca.crt": old.CertPEM}),
			rotation.RecordedRetired{Secret: "ca-retired-1", UID: "uid-1", Fingerprint: pki.Fingerprint(inter.Cert), Root: pki.Fingerprint(old.Cert), Until: entry.Until}, ""},
		{"a missing Secret is reported", nil, entry, "is missing"},
		{"a Secret made again under the name (another UID) is not trusted", secret("uid-2", map[string][]byte{"tls.crt": old.CertPEM, "ca.crt": old.CertPEM}), entry, "another UID"},
		{"another root injected into ca.crt is not trusted", secret("uid-1", map[string][]byte{"tls.crt": old.CertPEM, "ca.crt": evil.CertPEM}), entry, "no longer holds the certificates recorded"},
		{"another CA in tls.crt is not trusted", secret("uid-1", map[string][]byte{"tls.crt": evil.CertPEM, "ca.crt": old.CertPEM}), entry, "no longer holds the certificates recorded"},
		{"an oversized tls.crt is not parsed", secret("uid-1", map[string][]byte{"tls.crt": make([]byte, pki.MaxCertChainPEMSize+1)}), entry, "more than the"},
		{"garbage is reported", secret("uid-1", map[string][]byte{"tls.crt": []byte("junk")}), entry, "no PEM CERTIFICATE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var objs []client.Object
			if tc.secret != nil {
				objs = append(objs, tc.secret)
			}
			r := &Reconciler{Client: fakeSecretsClient(t, objs...)}
			got, err := r.readRetired(context.Background(), "team-a", tc.entry)
			if err != nil {
				t.Fatal(err)
			}
			if tc.problem == "" {
				if got.problem != "" || got.cert == nil || got.root == nil {
					t.Fatalf("not trusted: %q", got.problem)
				}
				if pki.Fingerprint(got.root) != tc.entry.Root {
					t.Errorf("root %s, want %s", pki.Fingerprint(got.root), tc.entry.Root)
				}
				return
			}
			if got.cert != nil || got.root != nil || !strings.Contains(got.problem, tc.problem) {
				t.Errorf("got cert %v, problem %q; want no cert and a problem containing %q", got.cert != nil, got.problem, tc.problem)
			}
		})
	}
}

// TestLegacyRecord carries into the record only what an earlier version
// made and listed as retiring, with roots that signed their CA themselves
// and until never past the CA's NotAfter; it never carries a next CA (an
// earlier version may have trusted a forged one).
func TestLegacyRecord(t *testing.T) {
	t.Parallel()
	cas, err := testpki.NewValidRootCAs("Real Root", "Evil Root")
	if err != nil {
		t.Fatal(err)
	}
	genuine, evil := cas[0], cas[1]
	inter, err := testpki.NewIntermediateCA(genuine, "Retired Intermediate")
	if err != nil {
		t.Fatal(err)
	}
	// A certificate with the real root's subject and key, signed by the
	// attacker's root: a chain through it ends at the attacker's root.
	cross := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: genuine.Cert.Subject, NotBefore: genuine.Cert.NotBefore, NotAfter: genuine.Cert.NotAfter,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, SubjectKeyId: genuine.Cert.SubjectKeyId,
	}
	crossDER, err := x509.CreateCertificate(rand.Reader, cross, evil.Cert, genuine.Cert.PublicKey, evil.Key)
	if err != nil {
		t.Fatal(err)
	}
	crossPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: crossDER})

	v := ownedTestView(t)
	far := metav1.NewTime(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
	owned := func(name string, data map[string][]byte) client.Object {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "team-a", UID: types.UID("uid-" + name), OwnerReferences: []metav1.OwnerReference{v.OwnerRef()},
			Labels: map[string]string{issuer.ManagedByLabel: issuer.ManagedByValue},
		}, Data: data}
	}
	v.Status.Rotation = &v1alpha1.RotationStatus{Generations: []v1alpha1.CAGeneration{
		{Role: v1alpha1.CAGenerationIssuing, SecretName: "ca"},
		{Role: v1alpha1.CAGenerationNext, SecretName: "ca-next", SHA256Fingerprint: pki.Fingerprint(evil.Cert)},
		{Role: v1alpha1.CAGenerationRetiring, SecretName: "ca-retired-good", SHA256Fingerprint: pki.Fingerprint(inter.Cert), RetiringUntil: &far},
		{Role: v1alpha1.CAGenerationRetiring, SecretName: "ca-retired-cross", SHA256Fingerprint: pki.Fingerprint(inter.Cert), RetiringUntil: &far},
		{Role: v1alpha1.CAGenerationRetiring, SecretName: "ca-retired-unowned", SHA256Fingerprint: pki.Fingerprint(genuine.Cert)},
	}}
	unowned := owned("ca-retired-unowned", map[string][]byte{"tls.crt": genuine.CertPEM})
	unowned.SetOwnerReferences(nil)
	r := &Reconciler{Client: fakeSecretsClient(t,
		owned("ca-next", evil.SecretData()),
		owned("ca-retired-good", map[string][]byte{"tls.crt": inter.CertPEM, "ca.crt": genuine.CertPEM}),
		owned("ca-retired-cross", map[string][]byte{"tls.crt": append(append([]byte{}, inter.CertPEM...), crossPEM...), "ca.crt": evil.CertPEM}),
		unowned,
	)}
	rec, err := r.legacyRecord(context.Background(), v, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rec.Next != nil {
		t.Errorf("a next CA was carried over: %+v", rec.Next)
	}
	if len(rec.Retired) != 1 {
		t.Fatalf("retired %+v, want only ca-retired-good", rec.Retired)
	}
	e := rec.Retired[0]
	if e.Secret != "ca-retired-good" || e.UID != "uid-ca-retired-good" || e.Root != pki.Fingerprint(genuine.Cert) {
		t.Errorf("entry %+v", e)
	}
	if !e.Until.Equal(inter.Cert.NotAfter) {
		t.Errorf("until %s, want the retired CA's NotAfter %s (status said 9999)", e.Until, inter.Cert.NotAfter)
	}
}
