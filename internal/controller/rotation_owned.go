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
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/rotation"
)

// Which Secrets the rotation trusts and writes.
//
// Labels, owner references and UIDs are written by whoever creates an
// object, and an issuer's UID is public (it is in the owner references of
// everything the issuer publishes). So a generation Secret
// (<secretName>-next, <secretName>-retired-*) counts only when it matches
// the generation record (rotation.Record) kept in annotationGenerations of
// the issuing CA Secret, spec.ca.secretName: the one Secret whose writers
// already hold the CA key. The record names each generated next CA by
// Secret name and certificate fingerprint (written before the Secret is
// created) and each retired CA by Secret name, UID, certificate and root
// fingerprints and until when it stays trusted. A look-alike is ignored
// and reported: never published, promoted or deleted.
//
// The rotation writes only into a CA Secret made for the issuer: one that
// spec.ca.generate created (its generated-for annotation names the issuer)
// or one its owner annotated the same way to opt in. Any other CA Secret
// is used read-only: no next CA is generated into it or promoted into it,
// and no record is kept in it.
const (
	// annotationGenerations, on spec.ca.secretName, is the generation
	// record (rotation.Record as JSON).
	annotationGenerations = "issuer.nstance.dev/generations"
	// lookAlikeListPage is the page size of the metadata list that finds
	// look-alike retired Secrets to report. Metadata alone may carry 256
	// KiB of annotations per Secret, so a page is kept small.
	lookAlikeListPage = 25
	// maxLookAlikesNamed bounds the Secret names a message lists.
	maxLookAlikesNamed = 5
)

// controllerRef makes generation Secrets go with the issuer (garbage
// collection). It proves nothing: the record does.
func controllerRef(v issuerView) metav1.OwnerReference {
	ref := ownerRef(v)
	ref.Controller = new(true)
	return ref
}

// legacyOwnedByIssuer is how versions before the generation record told
// their Secrets: the managed-by label and an owner reference to the
// issuer's UID. It is used once, to carry the generations an earlier
// version made (and listed in the issuer's status) into the record.
func legacyOwnedByIssuer(obj metav1.Object, v issuerView) bool {
	if obj.GetLabels()[managedByLabel] != managedByValue || v.obj.GetUID() == "" {
		return false
	}
	return slices.ContainsFunc(obj.GetOwnerReferences(), func(o metav1.OwnerReference) bool {
		return o.UID == v.obj.GetUID() && o.Kind == v.ref.Kind && o.APIVersion == v1alpha1.GroupVersion.String()
	})
}

// generatedFor reports whether s is made for v: spec.ca.generate created
// it, or its owner opted it in, with the generated-for annotation naming v.
func generatedFor(s *corev1.Secret, v issuerView) bool {
	return s != nil && s.Annotations[v1alpha1.GeneratedForAnnotation] == v.String()
}

// generateRefused says why v may not generate into its CA Secret s, ""
// when it may (or does not ask to).
func generateRefused(s *corev1.Secret, v issuerView) string {
	if v.spec.CA.Generate == nil || generatedFor(s, v) {
		return ""
	}
	return fmt.Sprintf("the CA Secret %s/%s was not generated for %s (its annotation %s does not name it), so the issuer does not write a new CA into it; "+
		"bring the next CA in the Secret named by spec.ca.rotation.nextSecretName and annotate the CA Secret %s=%q, or delete the Secret (spec.ca.generate then creates a new one)",
		s.Namespace, s.Name, v, v1alpha1.GeneratedForAnnotation, v1alpha1.GeneratedForAnnotation, v.String())
}

// promoteRefused says why v may not write a next CA into its CA Secret s,
// "" when it may.
func promoteRefused(s *corev1.Secret, v issuerView) string {
	if generatedFor(s, v) {
		return ""
	}
	return fmt.Sprintf("the next CA cannot replace the CA in Secret %s/%s: that Secret was not generated for %s and its owner has not opted it in; "+
		"if the issuer may write into it, annotate it %s=%q",
		s.Namespace, s.Name, v, v1alpha1.GeneratedForAnnotation, v.String())
}

// retiredGeneration is a retired CA as the record lists it and as its
// Secret was found.
type retiredGeneration struct {
	entry rotation.RecordedRetired
	// secret, cert and root are set when the Secret matches the record;
	// only then is the root published.
	secret *corev1.Secret
	cert   *x509.Certificate
	root   *x509.Certificate
	// problem says why the Secret does not match ("" when it does).
	problem string
}

// readRetired reads the Secret of a recorded retired CA and checks it
// against the record, under LoadCA's size limits: the first certificate of
// tls.crt must have the recorded fingerprint, the first of ca.crt (or of
// tls.crt when ca.crt is empty) the recorded root's, and the UID must be
// the one the controller created.
func (r *RotationReconciler) readRetired(ctx context.Context, ns string, e rotation.RecordedRetired) (retiredGeneration, error) {
	g := retiredGeneration{entry: e}
	key := types.NamespacedName{Namespace: ns, Name: e.Secret}
	s, err := r.getSecret(ctx, key)
	if err != nil {
		return g, err
	}
	if s == nil {
		g.problem = fmt.Sprintf("Secret %s is missing", key)
		return g, nil
	}
	if string(s.UID) != e.UID {
		g.problem = fmt.Sprintf("Secret %s is not the one the issuer created (another UID)", key)
		return g, nil
	}
	certs, err := pki.ParseCACertificates(secretKeyTLSCert, s.Data[secretKeyTLSCert])
	if err != nil {
		g.problem = fmt.Sprintf("Secret %s: %v", key, err)
		return g, nil
	}
	root := certs[0]
	if len(s.Data[secretKeyCA]) > 0 {
		roots, err := pki.ParseCACertificates(secretKeyCA, s.Data[secretKeyCA])
		if err != nil {
			g.problem = fmt.Sprintf("Secret %s: %v", key, err)
			return g, nil
		}
		root = roots[0]
	}
	if pki.Fingerprint(certs[0]) != e.Fingerprint || pki.Fingerprint(root) != e.Root {
		g.problem = fmt.Sprintf("Secret %s no longer holds the certificates recorded for it", key)
		return g, nil
	}
	g.secret, g.cert, g.root = s, certs[0], root
	return g, nil
}

// lookAlikeRetired lists, as metadata only and in pages, the Secrets
// labelled as retired generations of v's CA Secret that the record does
// not name (by name and UID): someone else made them. A retired copy of
// the issuing CA itself is a promotion that stopped before its last step
// and is not counted. It returns up to maxLookAlikesNamed names and the
// count.
func (r *RotationReconciler) lookAlikeRetired(ctx context.Context, v issuerView, rec rotation.Record, issuingFP string) (names []string, count int, err error) {
	recorded := map[string]string{}
	for _, e := range rec.Retired {
		recorded[e.Secret] = e.UID
	}
	leftover := retiredSecretName(v.spec.CA.SecretName, issuingFP)
	opts := []client.ListOption{
		client.InNamespace(v.secretKey.Namespace),
		client.MatchingLabels{labelRetiredFrom: secretLabelValue(v.spec.CA.SecretName)},
		client.Limit(lookAlikeListPage),
	}
	for cont := ""; ; {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
		if err := r.Reader.List(ctx, list, append(opts, client.Continue(cont))...); err != nil {
			return nil, 0, fmt.Errorf("cannot list the retired CA Secrets in %s: %w", v.secretKey.Namespace, err)
		}
		for i := range list.Items {
			m := &list.Items[i]
			if uid, ok := recorded[m.Name]; (ok && uid == string(m.UID)) || m.Name == leftover {
				continue
			}
			count++
			if len(names) < maxLookAlikesNamed {
				names = append(names, m.Name)
			}
		}
		if cont = list.Continue; cont == "" {
			break
		}
	}
	slices.Sort(names)
	return names, count, nil
}

// legacyRecord carries into a record the generations that a version
// before the record made and listed in the issuer's status (which only the
// controller's field manager writes), each checked as that version did
// (label and owner reference) and against the fingerprint in status.
func (r *RotationReconciler) legacyRecord(ctx context.Context, v issuerView, now time.Time) (rotation.Record, error) {
	var rec rotation.Record
	st := v.status.Rotation
	if st == nil {
		return rec, nil
	}
	ns := v.secretKey.Namespace
	for _, gen := range st.Generations {
		if gen.SecretName == "" {
			continue
		}
		switch gen.Role {
		case v1alpha1.CAGenerationNext:
			if gen.SecretName != nextSecretName(v.spec.CA.SecretName) {
				continue // a next CA of the user's needs no record
			}
			s, err := r.getSecret(ctx, types.NamespacedName{Namespace: ns, Name: gen.SecretName})
			if err != nil {
				return rec, err
			}
			if s == nil || !legacyOwnedByIssuer(s, v) {
				continue
			}
			if certs, err := pki.ParseCACertificates(secretKeyTLSCert, s.Data[secretKeyTLSCert]); err == nil && pki.Fingerprint(certs[0]) == gen.SHA256Fingerprint {
				rec.Next = &rotation.RecordedNext{Secret: s.Name, Fingerprint: gen.SHA256Fingerprint}
			}
		case v1alpha1.CAGenerationRetiring:
			s, err := r.getSecret(ctx, types.NamespacedName{Namespace: ns, Name: gen.SecretName})
			if err != nil {
				return rec, err
			}
			if s == nil || !legacyOwnedByIssuer(s, v) {
				continue
			}
			e := rotation.RecordedRetired{Secret: s.Name, UID: string(s.UID), Fingerprint: gen.SHA256Fingerprint}
			certs, err := pki.ParseCACertificates(secretKeyTLSCert, s.Data[secretKeyTLSCert])
			if err != nil || pki.Fingerprint(certs[0]) != gen.SHA256Fingerprint {
				continue
			}
			root := certs[0]
			if roots, err := pki.ParseCACertificates(secretKeyCA, s.Data[secretKeyCA]); err == nil {
				root = roots[0]
			}
			if !chainsTo(certs, root) {
				continue // status names the CA, not its root: the root must have signed it
			}
			e.Root = pki.Fingerprint(root)
			switch {
			case gen.RetiringUntil != nil:
				e.Until = gen.RetiringUntil.Time
			default:
				e.Until = certs[0].NotAfter // the safe bound: no leaf outlives its CA
			}
			if !e.Until.After(now) {
				continue
			}
			if next, err := rec.WithRetired(e); err == nil {
				rec = next
			}
		}
	}
	return rec, nil
}

// lookAlikeMessage reports Secrets named like generations that are not
// the issuer's.
func lookAlikeMessage(v issuerView, names []string, count int) string {
	if count == 0 {
		return ""
	}
	more := ""
	if count > len(names) {
		more = fmt.Sprintf(" and %d more", count-len(names))
	}
	return fmt.Sprintf("Secret(s) %s%s in %s are labelled as CA generations of %s but are not in its generation record; they are ignored (not trusted, published, promoted or deleted): delete them",
		strings.Join(names, ", "), more, v.secretKey.Namespace, v)
}

// chainsTo reports whether the CA certificate certs[0] (with the
// intermediates after it) was signed up to root, as of its own NotBefore.
func chainsTo(certs []*x509.Certificate, root *x509.Certificate) bool {
	if certs[0].Equal(root) {
		return true
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root)
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, CurrentTime: certs[0].NotBefore.Add(time.Second),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	return err == nil
}
