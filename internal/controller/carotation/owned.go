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
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/rotation"
)

// Which Secrets the rotation trusts and writes.
//
// Labels, owner references and UIDs are written by whoever creates an
// object, and an issuer's UID is public (it is in the owner references of
// everything the issuer publishes). So a generation Secret
// (<secretName>-next, <secretName>-retired-*) counts only when it matches
// the generation record (rotation.Record) kept in issuer.AnnotationGenerations of
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
	// lookAlikeListPage is the page size of the metadata list that finds
	// look-alike generation Secrets to report. Metadata alone may carry 256
	// KiB of annotations per Secret, so a page is kept small, and at most
	// maxLookAlikePages are read per reconcile.
	lookAlikeListPage = 25
	maxLookAlikePages = 8
	// maxLookAlikesNamed bounds the Secret names a message lists.
	maxLookAlikesNamed = 5
)

// controllerRef makes generation Secrets go with the issuer (garbage
// collection). It proves nothing: the record does.
func controllerRef(v issuer.View) metav1.OwnerReference {
	ref := v.OwnerRef()
	ref.Controller = new(true)
	return ref
}

// legacyOwnedByIssuer is how versions before the generation record told
// their Secrets: the managed-by label and an owner reference to the
// issuer's UID. It is used once, to carry the generations an earlier
// version made (and listed in the issuer's status) into the record.
func legacyOwnedByIssuer(obj metav1.Object, v issuer.View) bool {
	if obj.GetLabels()[issuer.ManagedByLabel] != issuer.ManagedByValue || v.Obj.GetUID() == "" {
		return false
	}
	return slices.ContainsFunc(obj.GetOwnerReferences(), func(o metav1.OwnerReference) bool {
		return o.UID == v.Obj.GetUID() && o.Kind == v.Ref.Kind && o.APIVersion == v1alpha1.GroupVersion.String()
	})
}

// generatedFor reports whether s is made for v: spec.ca.generate created
// it, or its owner opted it in, with the generated-for annotation naming v.
func generatedFor(s *corev1.Secret, v issuer.View) bool {
	return s != nil && s.Annotations[v1alpha1.GeneratedForAnnotation] == v.String()
}

// generateRefused says why v may not generate into its CA Secret s, ""
// when it may (or does not ask to).
func generateRefused(s *corev1.Secret, v issuer.View) string {
	if v.Spec.CA.Generate == nil || generatedFor(s, v) {
		return ""
	}
	return fmt.Sprintf("the CA Secret %s/%s was not generated for %s (its annotation %s does not name it), so the issuer does not write a new CA into it; "+
		"bring the next CA in the Secret named by spec.ca.rotation.nextSecretName and annotate the CA Secret %s=%q, or delete the Secret (spec.ca.generate then creates a new one)",
		s.Namespace, s.Name, v, v1alpha1.GeneratedForAnnotation, v1alpha1.GeneratedForAnnotation, v.String())
}

// promoteRefused says why v may not write a next CA into its CA Secret s,
// "" when it may.
func promoteRefused(s *corev1.Secret, v issuer.View) string {
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
func (r *Reconciler) readRetired(ctx context.Context, ns string, e rotation.RecordedRetired) (retiredGeneration, error) {
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
	certs, err := pki.ParseCACertificates(issuer.SecretKeyTLSCert, s.Data[issuer.SecretKeyTLSCert])
	if err != nil {
		g.problem = fmt.Sprintf("Secret %s: %v", key, err)
		return g, nil
	}
	root := certs[0]
	if len(s.Data[issuer.SecretKeyCA]) > 0 {
		roots, err := pki.ParseCACertificates(issuer.SecretKeyCA, s.Data[issuer.SecretKeyCA])
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

// findLookAlikes lists, as metadata only and in pages, the Secrets
// labelled as generations (next or retired) of v's CA Secret that the
// record does not name by name and UID (for a next CA, by name): someone
// else made them. A retired copy of the issuing CA (a promotion that
// stopped before its last step) is not counted. At most maxLookAlikePages
// pages are read; a failure to list is reported, never a reason to stop.
func (r *Reconciler) findLookAlikes(ctx context.Context, v issuer.View, g *generations) {
	rec := g.record
	ours := map[string]string{} // name -> UID ("" = any: a next CA, matched by content when read)
	for _, e := range rec.Retired {
		ours[e.Secret] = e.UID
	}
	if rec.Next != nil {
		ours[rec.Next.Secret] = ""
	}
	if rec.Promoted != nil {
		ours[rec.Promoted.Secret] = rec.Promoted.UID
	}
	leftover := retiredSecretPrefix(v.Spec.CA.SecretName, pki.Fingerprint(g.issuingCA.Cert))
	seen := map[string]bool{}
	for _, name := range g.lookAlikes {
		seen[name] = true
	}
	pages := 0
	for _, label := range []string{labelNextOf, labelRetiredFrom} {
		opts := []client.ListOption{
			client.InNamespace(v.SecretKey.Namespace),
			client.MatchingLabels{label: secretLabelValue(v.Spec.CA.SecretName)},
			client.Limit(lookAlikeListPage),
		}
		for cont := ""; ; {
			if pages == maxLookAlikePages {
				g.lookAlikesTruncated = true
				return
			}
			pages++
			list := &metav1.PartialObjectMetadataList{}
			list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
			if err := r.Reader.List(ctx, list, append(opts, client.Continue(cont))...); err != nil {
				log.FromContext(ctx).Error(err, "cannot list the generation Secrets to report look-alikes", "namespace", v.SecretKey.Namespace)
				return
			}
			for i := range list.Items {
				m := &list.Items[i]
				if uid, ok := ours[m.Name]; (ok && (uid == "" || uid == string(m.UID))) || strings.HasPrefix(m.Name, leftover) || seen[m.Name] {
					continue
				}
				seen[m.Name] = true
				g.lookAlikeCount++
				if len(g.lookAlikes) < maxLookAlikesNamed {
					g.lookAlikes = append(g.lookAlikes, m.Name)
				}
			}
			if cont = list.Continue; cont == "" {
				break
			}
		}
	}
}

// legacyRecord carries into a record the generations that a version
// before the record made and listed in the issuer's status (which only the
// controller's field manager writes), each checked as that version did
// (label and owner reference) and against the fingerprint in status.
func (r *Reconciler) legacyRecord(ctx context.Context, v issuer.View, now time.Time) (rotation.Record, error) {
	var rec rotation.Record
	st := v.Status.Rotation
	if st == nil {
		return rec, nil
	}
	ns := v.SecretKey.Namespace
	for _, gen := range st.Generations {
		// A next CA is never carried over: an earlier version may have
		// trusted a forged one. It is reported as a look-alike and a new
		// one is generated.
		if gen.Role != v1alpha1.CAGenerationRetiring || gen.SecretName == "" {
			continue
		}
		s, err := r.getSecret(ctx, types.NamespacedName{Namespace: ns, Name: gen.SecretName})
		if err != nil {
			return rec, err
		}
		if s == nil || !legacyOwnedByIssuer(s, v) {
			continue
		}
		certs, err := pki.ParseCACertificates(issuer.SecretKeyTLSCert, s.Data[issuer.SecretKeyTLSCert])
		if err != nil || pki.Fingerprint(certs[0]) != gen.SHA256Fingerprint {
			continue
		}
		root := certs[0]
		if roots, err := pki.ParseCACertificates(issuer.SecretKeyCA, s.Data[issuer.SecretKeyCA]); err == nil {
			root = roots[0]
		}
		// Status names the CA, not its root: the root must be self-signed
		// and have signed that CA itself (no intermediate taken from the
		// same Secret vouches for it).
		if !pki.IsSelfSigned(root) || (!certs[0].Equal(root) && certs[0].CheckSignatureFrom(root) != nil) {
			continue
		}
		e := rotation.RecordedRetired{Secret: s.Name, UID: string(s.UID), Fingerprint: gen.SHA256Fingerprint, Root: pki.Fingerprint(root), Until: certs[0].NotAfter}
		if gen.RetiringUntil != nil && gen.RetiringUntil.Before(&metav1.Time{Time: e.Until}) {
			e.Until = gen.RetiringUntil.Time // no leaf outlives its CA: never later than its NotAfter
		}
		if !e.Until.After(now) {
			continue
		}
		if next, err := rec.WithRetired(e); err == nil {
			rec = next
		}
	}
	return rec, nil
}

// lookAlikeMessage reports Secrets named like generations that are not
// the issuer's.
func lookAlikeMessage(v issuer.View, g *generations) string {
	if g.lookAlikeCount == 0 {
		return ""
	}
	more := ""
	if g.lookAlikeCount > len(g.lookAlikes) {
		more = fmt.Sprintf(" and %d more", g.lookAlikeCount-len(g.lookAlikes))
	}
	if g.lookAlikesTruncated {
		more += " (at least: not all were listed)"
	}
	return fmt.Sprintf("Secret(s) %s%s in %s are labelled or named as CA generations of %s but are not in its generation record; they are ignored (not trusted, published, promoted or deleted): delete them",
		strings.Join(g.lookAlikes, ", "), more, v.SecretKey.Namespace, v)
}
