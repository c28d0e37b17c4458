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
	"errors"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/cakey"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/rotation"
)

// generations is the world as read for one decision.
type generations struct {
	issuing   *corev1.Secret
	issuingCA *pki.CA
	// record is the generation record of the issuing Secret
	// (owned.go); recordProblem says why it could not be read
	// (then no generation is trusted).
	record        rotation.Record
	recordProblem string
	// legacy, when set, is the record to write first: the generations an
	// earlier version made, before the record existed.
	legacy *rotation.Record

	next       *rotation.Next
	nextSecret *corev1.Secret
	nextCA     *pki.CA
	nextRoot   *x509.Certificate
	// stale is the generated next CA Secret whose CA already signs from
	// the issuing Secret (a promotion that stopped before deleting it, or
	// one copied into it by hand): deleted by this UID.
	stale *rotation.RecordedSecret

	// retired are the recorded retired CAs, as found; retiring is what
	// rotation.Decide needs of them, in the same order.
	retired       []retiredGeneration
	retiring      []rotation.Retiring
	retiringRoots map[string]*x509.Certificate // trusted ones only, by fingerprint of the CA
	handled       string
	// generateRefused says why spec.ca.generate may not write into the
	// issuing Secret ("" when it may, or is not set); promoteRefused why
	// no next CA may be written into it.
	generateRefused string
	promoteRefused  string
	// lookAlikes names Secrets labelled as generations that the record
	// does not name; lookAlikeCount counts them all.
	lookAlikes     []string
	lookAlikeCount int
	// lookAlikesTruncated: there were more labelled Secrets than listed.
	lookAlikesTruncated bool
	// reissue is status.rotation.reissue as planReissue found it.
	reissue *v1alpha1.ReissueStatus
}

// lastGenerated is when the issuer last generated a CA key.
func (g *generations) lastGenerated() time.Time {
	if g.record.GeneratedAt == nil {
		return time.Time{}
	}
	return *g.record.GeneratedAt
}

// liveRoots lists the roots to publish, issuing first, each once.
func (g *generations) liveRoots(d rotation.Decision) []*x509.Certificate {
	var roots []*x509.Certificate
	seen := map[string]bool{}
	add := func(c *x509.Certificate) {
		if c == nil {
			return
		}
		if fp := pki.Fingerprint(c); !seen[fp] {
			seen[fp] = true
			roots = append(roots, c)
		}
	}
	add(rootOf(g.issuingCA))
	// A next root is trusted exactly while the next CA is published: not
	// while it is invalid, may never sign, or its publication is not yet
	// recorded.
	if g.next != nil && g.next.Invalid == "" && d.Phase == rotation.PhaseNextPublished {
		add(g.nextRoot)
	}
	fps := make([]string, 0, len(g.retiringRoots))
	for fp := range g.retiringRoots {
		fps = append(fps, fp)
	}
	sort.Strings(fps)
	for _, fp := range fps {
		if fp != pki.Fingerprint(g.issuingCA.Cert) {
			add(g.retiringRoots[fp])
		}
	}
	return roots
}

// retiredProblems lists the recorded retired CAs whose Secret does not
// match the record: their roots are not published.
func (g *generations) retiredProblems() []string {
	var out []string
	for _, rg := range g.retired {
		if rg.problem != "" {
			out = append(out, rg.problem)
		}
	}
	return out
}

// read gathers the generations of v's CA; nil when the issuing CA is
// missing or unusable (the signer reports that).
func (r *Reconciler) read(ctx context.Context, v issuer.View) (*generations, error) {
	now := r.now()
	ns := v.SecretKey.Namespace
	issuing, err := r.getSecret(ctx, v.SecretKey)
	if err != nil || issuing == nil {
		return nil, err
	}
	ca, err := loadIssuing(v, issuing, now)
	if err != nil {
		return nil, nil //nolint:nilerr // the signer reports an unusable CA on Ready
	}
	g := &generations{issuing: issuing, issuingCA: ca, retiringRoots: map[string]*x509.Certificate{}}
	g.handled = issuing.Annotations[annotationRotateNowToken]
	g.generateRefused = generateRefused(issuing, v)
	g.promoteRefused = promoteRefused(issuing, v)
	if v.Status.Rotation != nil && v.Status.Rotation.RotateNowToken != "" {
		g.handled = v.Status.Rotation.RotateNowToken
	}
	issuingFP := pki.Fingerprint(ca.Cert)
	writable := g.promoteRefused == ""

	// A record in a CA Secret the issuer may not write is not its own
	// (another issuer's, or one whose opt-in was withdrawn): it is not read.
	if raw, hasRecord := issuing.Annotations[issuer.AnnotationGenerations]; writable && hasRecord {
		if rec, err := rotation.ParseRecord(raw); err != nil {
			g.recordProblem = fmt.Sprintf("the CA Secret %s: annotation %s: %v; no generated next CA or retired CA is trusted, and the issuer takes no rotation step, until it is fixed or removed", v.SecretKey, issuer.AnnotationGenerations, err)
		} else {
			g.record = rec
		}
	} else if writable {
		legacy, err := r.legacyRecord(ctx, v, now)
		if err != nil {
			return nil, err
		}
		g.legacy = &legacy
	}

	// A next CA of the user's wins over a generated one, unless it already
	// is the issuing CA.
	if rot := v.Spec.CA.Rotation; rot != nil && rot.NextSecretName != "" {
		s, err := r.getSecret(ctx, types.NamespacedName{Namespace: ns, Name: rot.NextSecretName})
		if err != nil {
			return nil, err
		}
		if s != nil {
			r.loadNext(ctx, v, g, s, false, now)
		}
	}
	if g.next == nil || g.next.Cert.Fingerprint == issuingFP {
		if err := r.readGeneratedNext(ctx, v, g, issuingFP, now); err != nil {
			return nil, err
		}
	}
	if g.next != nil && v.Status.Rotation != nil {
		for _, gen := range v.Status.Rotation.Generations {
			if gen.Role == v1alpha1.CAGenerationNext && gen.SHA256Fingerprint == g.next.Cert.Fingerprint && gen.PublishedAt != nil {
				g.next.PublishedAt = gen.PublishedAt.Time
			}
		}
	}

	for _, e := range g.record.Retired {
		rg, err := r.readRetired(ctx, ns, e)
		if err != nil {
			return nil, err
		}
		c := rotation.Cert{Subject: "(not readable)", Fingerprint: e.Fingerprint}
		if rg.cert != nil {
			c = certOf(rg.cert)
			g.retiringRoots[e.Fingerprint] = rg.root
		}
		g.retired = append(g.retired, rg)
		g.retiring = append(g.retiring, rotation.Retiring{Cert: c, Until: e.Until})
	}
	return g, nil
}

// readGeneratedNext reads the generated next CA the record names: the next
// CA when its certificate is the recorded one; when that CA already signs
// from the issuing Secret (copied there by hand), or the Secret is the
// promoted one the record names by UID, it is left only to be deleted.
// A Secret of the recorded name holding another CA is a look-alike.
func (r *Reconciler) readGeneratedNext(ctx context.Context, v issuer.View, g *generations, issuingFP string, now time.Time) error {
	ns := v.SecretKey.Namespace
	if n := g.record.Next; n != nil {
		s, err := r.getSecret(ctx, types.NamespacedName{Namespace: ns, Name: n.Secret})
		if err != nil {
			return err
		}
		if s != nil {
			switch fp := firstCertFingerprint(s); {
			case fp != n.Fingerprint:
				// Patched since it was made: not the issuer's next CA.
				g.lookAlikes, g.lookAlikeCount = append(g.lookAlikes, s.Name), g.lookAlikeCount+1
			case fp == issuingFP:
				g.nextSecret, g.nextCA, g.nextRoot = s, nil, nil
				g.next = &rotation.Next{Cert: certOf(g.issuingCA.Cert), Generated: true}
				g.stale = &rotation.RecordedSecret{Secret: s.Name, UID: string(s.UID)}
				return nil
			default:
				r.loadNext(ctx, v, g, s, true, now)
				if n.Token != "" {
					g.handled = n.Token
				}
				return nil
			}
		}
	}
	if p := g.record.Promoted; p != nil {
		s, err := r.getSecret(ctx, types.NamespacedName{Namespace: ns, Name: p.Secret})
		if err != nil {
			return err
		}
		if s != nil && string(s.UID) == p.UID {
			g.nextSecret, g.nextCA, g.nextRoot = s, nil, nil
			g.next = &rotation.Next{Cert: certOf(g.issuingCA.Cert), Generated: true}
			g.stale = p
		}
	}
	return nil
}

// firstCertFingerprint is the fingerprint of the first certificate of a
// Secret's tls.crt, "" when it has none (within LoadCA's limits).
func firstCertFingerprint(s *corev1.Secret) string {
	certs, err := pki.ParseCACertificates(issuer.SecretKeyTLSCert, s.Data[issuer.SecretKeyTLSCert])
	if err != nil {
		return ""
	}
	return pki.Fingerprint(certs[0])
}

// loadIssuing validates the issuing CA's certificates; its key too when
// it is in the Secret. A key held in a KMS or an HSM is the signer's to
// open and check: the lifecycle can then rotate away from a key that no
// longer works (rotate-now after a lost or disabled key).
func loadIssuing(v issuer.View, s *corev1.Secret, now time.Time) (*pki.CA, error) {
	if cakey.Uses(v) {
		return pki.LoadCACertificates(s.Data[issuer.SecretKeyTLSCert], s.Data[issuer.SecretKeyCA], now)
	}
	return pki.LoadCA(s.Data[issuer.SecretKeyTLSCert], s.Data[issuer.SecretKeyTLSKey], s.Data[issuer.SecretKeyCA], now)
}

// loadCA validates a CA Secret fully, as the signer would load it: with
// spec.ca.key, its key is opened in the KMS or HSM with the issuer's
// credentials and checked against the certificate.
func (r *Reconciler) loadCA(ctx context.Context, v issuer.View, s *corev1.Secret, now time.Time) (*pki.CA, error) {
	if !cakey.Uses(v) {
		return pki.LoadCA(s.Data[issuer.SecretKeyTLSCert], s.Data[issuer.SecretKeyTLSKey], s.Data[issuer.SecretKeyCA], now)
	}
	if len(s.Data[issuer.SecretKeyTLSKey]) > 0 {
		return nil, &pki.CAError{Reason: pki.ReasonInvalidKey, Msg: fmt.Sprintf("the Secret holds %s although spec.ca.key holds the CA key in a KMS or an HSM: delete %s from it", issuer.SecretKeyTLSKey, issuer.SecretKeyTLSKey)}
	}
	if r.CAKeys == nil {
		return nil, errors.New("this controller was set up without CA keys in KMS or HSM")
	}
	uri, err := cakey.KeyURI(v, s)
	if err != nil {
		return nil, err
	}
	signer, err := r.openKey(ctx, v, s, uri)
	if err != nil {
		return nil, err
	}
	return pki.LoadCAWithSigner(s.Data[issuer.SecretKeyTLSCert], s.Data[issuer.SecretKeyCA], signer, uri.String(), now)
}

// loadNext validates a next CA Secret fully, as the signer would load it.
func (r *Reconciler) loadNext(ctx context.Context, v issuer.View, g *generations, s *corev1.Secret, generated bool, now time.Time) {
	g.nextSecret, g.nextCA, g.nextRoot = s, nil, nil
	n := &rotation.Next{Generated: generated}
	ca, err := r.loadCA(ctx, v, s, now)
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

func (r *Reconciler) getSecret(ctx context.Context, key types.NamespacedName) (*corev1.Secret, error) {
	var s corev1.Secret
	if err := r.Client.Get(ctx, key, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("cannot read Secret %s: %w", key, err)
	}
	return &s, nil
}
