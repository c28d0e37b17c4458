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

package signing

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/cakey"
	"github.com/nstance-dev/nstance-issuer/internal/controller/casecret"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/keys"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
)

// cachedCA is an issuer's parsed CA and the Secret version it came from;
// for a key held in a KMS or an HSM, also spec.ca.key and the version of
// the credentials Secret it was opened with: the key's public key is
// checked against the certificate once per key, not per request.
type cachedCA struct {
	secret          types.NamespacedName
	resourceVersion string
	keyRef          string
	ca              *pki.CA
}

// LoadCA returns the issuer's parsed CA, valid now, as Sign loads it: a
// missing CA Secret is never generated here.
func (s *Signer) LoadCA(ctx context.Context, v issuer.View) (*pki.CA, error) {
	return s.loadCA(ctx, v, false)
}

// loadCA returns the issuer's parsed CA, reusing the parsed copy until the
// Secret's resourceVersion changes. With generate, a missing Secret is
// created from spec.ca.generate.
func (s *Signer) loadCA(ctx context.Context, v issuer.View, generate bool) (*pki.CA, error) {
	secret, err := s.Secrets.Get(ctx, v.Ref, v.SecretKey)
	if err != nil {
		return nil, err
	}
	if secret == nil {
		s.ForgetCA(v.Ref)
		if !generate || v.Spec.CA.Generate == nil {
			return nil, fmt.Errorf("CA Secret %s not found: create it with tls.crt and tls.key, or set spec.ca.generate to bootstrap a CA", v.SecretKey)
		}
		if secret, err = s.generateCA(ctx, v); err != nil {
			return nil, err
		}
	}
	ca, err := s.parseCA(ctx, v, secret)
	if err != nil {
		if _, ok := errors.AsType[*keys.Error](err); ok {
			return nil, err // it names the key; the Secret is not at fault
		}
		return nil, fmt.Errorf("CA Secret %s: %w", v.SecretKey, err)
	}
	if err := ca.CheckValid(s.Now()); err != nil {
		return nil, fmt.Errorf("CA Secret %s: %w", v.SecretKey, err)
	}
	return ca, nil
}

func (s *Signer) parseCA(ctx context.Context, v issuer.View, secret *corev1.Secret) (*pki.CA, error) {
	ref := v.Ref
	key := types.NamespacedName{Namespace: secret.Namespace, Name: secret.Name}
	keyRef, creds, err := s.keyIdentity(ctx, v)
	if err != nil {
		s.ForgetCA(ref)
		return nil, err
	}
	s.mu.Lock()
	cached, ok := s.cas[ref]
	s.mu.Unlock()
	if ok && cached.secret == key && cached.resourceVersion == secret.ResourceVersion && cached.keyRef == keyRef {
		return cached.ca, nil
	}
	// A value too large to keep in the Secret watch (casecret)
	// is reported as LoadCA reports it.
	if err := casecret.OversizedError(secret); err != nil {
		s.ForgetCA(ref)
		return nil, err
	}
	var ca *pki.CA
	if cakey.Uses(v) {
		ca, err = s.loadExternalCA(ctx, v, secret, creds)
	} else {
		// LoadCA reports a missing or empty tls.crt or tls.key itself.
		ca, err = pki.LoadCA(secret.Data[issuer.SecretKeyTLSCert], secret.Data[issuer.SecretKeyTLSKey], secret.Data[issuer.SecretKeyCA], s.Now())
		if _, named := secret.Data[issuer.SecretKeyKeyURI]; err != nil && named && len(secret.Data[issuer.SecretKeyTLSKey]) == 0 {
			err = fmt.Errorf("%w (the Secret's %s names a key in a KMS or an HSM: set spec.ca.key to sign with it)", err, issuer.SecretKeyKeyURI)
		}
	}
	if err != nil {
		s.ForgetCA(ref)
		return nil, err
	}
	s.mu.Lock()
	if s.cas == nil {
		s.cas = map[issuer.Ref]cachedCA{}
	}
	s.cas[ref] = cachedCA{secret: key, resourceVersion: secret.ResourceVersion, keyRef: keyRef, ca: ca}
	s.mu.Unlock()
	return ca, nil
}

// keyIdentity says which key settings a parsed CA was made with:
// spec.ca.key and the version of its credentials Secret, read through the
// Secret watch (so a changed Secret re-checks the issuer); "" for a CA
// whose key is in its Secret.
func (s *Signer) keyIdentity(ctx context.Context, v issuer.View) (string, *corev1.Secret, error) {
	if !cakey.Uses(v) {
		s.forgetCredentials(v.Ref)
		return "", nil, nil
	}
	id := v.Spec.CA.Key.URI
	nn, ok := cakey.CredentialsKey(v)
	if !ok {
		s.forgetCredentials(v.Ref)
		return id + "|ambient", nil, nil
	}
	creds, err := s.Secrets.GetSlot(ctx, v.Ref, casecret.SlotCredentials, nn)
	if err != nil {
		return "", nil, err
	}
	if creds == nil {
		return id + "|" + nn.String() + "@absent", nil, nil
	}
	return id + "|" + nn.String() + "@" + creds.ResourceVersion, creds, nil
}

func (s *Signer) forgetCredentials(ref issuer.Ref) {
	if s.Secrets != nil {
		s.Secrets.ForgetSlot(ref, casecret.SlotCredentials)
	}
}

// loadExternalCA loads a CA whose key is held in a KMS or an HSM: the
// certificates from the Secret, the key its key-uri (or spec.ca.key.uri)
// names, opened once with the issuer's credentials and checked against
// the certificate.
func (s *Signer) loadExternalCA(ctx context.Context, v issuer.View, secret *corev1.Secret, creds *corev1.Secret) (*pki.CA, error) {
	if len(secret.Data[issuer.SecretKeyTLSKey]) > 0 {
		return nil, &pki.CAError{Reason: pki.ReasonInvalidKey, Msg: fmt.Sprintf("the Secret holds %s although spec.ca.key holds the CA key in a KMS or an HSM: delete %s from the Secret (a CA key must not sit in a Secret and a KMS at once)",
			issuer.SecretKeyTLSKey, issuer.SecretKeyTLSKey)}
	}
	if s.Keys == nil {
		return nil, errors.New("this controller was set up without CA keys in KMS or HSM")
	}
	uri, err := cakey.KeyURI(v, secret)
	if err != nil {
		return nil, err
	}
	signer, err := s.Keys.Open(ctx, v, uri, func(context.Context, types.NamespacedName) (*corev1.Secret, error) { return creds, nil })
	if err != nil {
		return nil, err
	}
	return pki.LoadCAWithSigner(secret.Data[issuer.SecretKeyTLSCert], secret.Data[issuer.SecretKeyCA], signer, uri.String(), s.Now())
}

// ForgetCA drops an issuer's parsed CA, private key included: when the
// issuer is deleted, its Secret goes or no longer holds a usable CA.
func (s *Signer) ForgetCA(ref issuer.Ref) {
	s.mu.Lock()
	delete(s.cas, ref)
	s.mu.Unlock()
}

// ForgetIssuer drops what the signer keeps for a deleted issuer: its parsed
// CA, its CA-expiry metric series and its signing counters, so no alert
// fires for an issuer that is gone.
func (s *Signer) ForgetIssuer(ref issuer.Ref) {
	s.ForgetCA(ref)
	s.KeyBackoff.Forget(ref)
	caExpiry.DeleteLabelValues(ref.Kind, ref.Namespace, ref.Name)
	forgetIssuanceMetrics(ref)
}

// cachedCAs is the number of parsed CAs kept, for tests.
func (s *Signer) cachedCAs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.cas)
}

// +kubebuilder:rbac:groups="",resources=secrets,verbs=create

// generateCA creates the CA Secret from spec.ca.generate. It only ever
// creates: an existing Secret is never overwritten, and when two replicas
// race, the API server lets exactly one Create succeed.
func (s *Signer) generateCA(ctx context.Context, v issuer.View) (*corev1.Secret, error) {
	data, secretType, err := s.generateCAData(ctx, v)
	if err != nil {
		return nil, err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      v.SecretKey.Name,
			Namespace: v.SecretKey.Namespace,
			Labels:    map[string]string{issuer.ManagedByLabel: issuer.ManagedByValue},
			// An empty generation record: the rotation writes into it, and
			// nothing an earlier version made is looked for.
			Annotations: map[string]string{v1alpha1.GeneratedForAnnotation: v.String(), issuer.AnnotationGenerations: ""},
		},
		Type: secretType,
		Data: data,
	}
	if err := s.Client.Create(ctx, secret); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("CA Secret %s appeared while a CA was being generated; the existing Secret is kept and will be loaded", v.SecretKey)
		}
		if apierrors.IsForbidden(err) {
			return nil, fmt.Errorf("cannot create the generated CA Secret %s: %w; %s", v.SecretKey, err, issuer.SecretWriteScopeHint)
		}
		return nil, fmt.Errorf("cannot create the generated CA Secret %s: %w", v.SecretKey, err)
	}
	s.Recorder.Eventf(v.Obj, nil, corev1.EventTypeNormal, v1alpha1.EventReasonCAGenerated, eventActionGenerateCA,
		"Generated a self-signed CA in Secret %s", v.SecretKey)
	log.FromContext(ctx).Info("generated CA", "secret", v.SecretKey)
	return secret, nil
}

// generateCAData makes the CA spec.ca.generate describes: its key in the
// Secret, or in the KMS or HSM of spec.ca.key (the Secret then holds its
// certificate and key-uri, and is Opaque: kubernetes.io/tls needs tls.key).
func (s *Signer) generateCAData(ctx context.Context, v issuer.View) (map[string][]byte, corev1.SecretType, error) {
	if !cakey.Uses(v) {
		certPEM, keyPEM, err := pki.GenerateCA(*v.Spec.CA.Generate, pki.RenderData{Vars: v.Spec.Vars, Issuer: v.Data}, s.Now(), s.Random())
		if err != nil {
			return nil, "", fmt.Errorf("cannot generate the CA for Secret %s: %w", v.SecretKey, err)
		}
		return map[string][]byte{issuer.SecretKeyTLSCert: certPEM, issuer.SecretKeyTLSKey: keyPEM, issuer.SecretKeyCA: certPEM}, corev1.SecretTypeTLS, nil
	}
	if s.Keys == nil {
		return nil, "", errors.New("this controller was set up without CA keys in KMS or HSM")
	}
	read := func(ctx context.Context, key types.NamespacedName) (*corev1.Secret, error) {
		return s.Secrets.GetSlot(ctx, v.Ref, casecret.SlotCredentials, key)
	}
	g, err := s.Keys.GenerateCA(ctx, v, read, true, s.Now(), s.Random())
	if g.Created {
		// Said before the Secret is written: a key made for a CA whose
		// Secret then cannot be written is never deleted, and is named here.
		s.Recorder.Eventf(v.Obj, nil, corev1.EventTypeNormal, v1alpha1.EventReasonCAKeyCreated, eventActionGenerateCA,
			"Made the CA key %s for Secret %s; nstance-issuer never deletes it", g.Key, v.SecretKey)
	}
	if err != nil {
		return nil, "", fmt.Errorf("cannot generate the CA for Secret %s: %w", v.SecretKey, err)
	}
	return g.Data(), corev1.SecretTypeOpaque, nil
}

// observeCA publishes what an operator wants to see about the CA: status.ca,
// the expiry metric, a warning Event ahead of expiry, and a timer that
// re-checks the issuer when the warning window opens and when the CA expires.
func (s *Signer) observeCA(ctx context.Context, v issuer.View, ca *pki.CA) {
	notAfter := ca.Cert.NotAfter
	caExpiry.WithLabelValues(v.Ref.Kind, v.Ref.Namespace, v.Ref.Name).Set(float64(notAfter.Unix()))

	warn := s.CAExpiryWarning
	if warn == 0 {
		warn = defaultCAExpiryWarning
	}
	now := s.Now()
	if warnAt := notAfter.Add(-warn); now.Before(warnAt) {
		s.Secrets.NotifyAt(v.Ref, warnAt)
	} else {
		s.Recorder.Eventf(v.Obj, nil, corev1.EventTypeWarning, v1alpha1.EventReasonCAExpiringSoon, eventActionCheck,
			"CA certificate %q expires at %s; put a renewed CA in Secret %s", ca.Cert.Subject.String(), notAfter.UTC().Format(time.RFC3339), v.SecretKey)
		s.Secrets.NotifyAt(v.Ref, notAfter.Add(time.Second))
	}

	var key *v1alpha1.CAKeyStatus
	if ks, ok := ca.Signer.(*keys.Signer); ok {
		key = cakey.Status(ks)
	}
	s.publishCAStatus(ctx, v, ca.Cert, key)
}

// publishCAStatus writes status.ca for cert (and its key held in a KMS or
// an HSM, nil otherwise) unless it already says so.
func (s *Signer) publishCAStatus(ctx context.Context, v issuer.View, cert *x509.Certificate, key *v1alpha1.CAKeyStatus) {
	want := v1alpha1.CAStatus{
		Subject:           cert.Subject.String(),
		NotAfter:          &metav1.Time{Time: cert.NotAfter.UTC().Truncate(time.Second)},
		SHA256Fingerprint: pki.Fingerprint(cert),
		Key:               key,
	}
	if have := v.Status.CA; have != nil && have.Subject == want.Subject && have.SHA256Fingerprint == want.SHA256Fingerprint &&
		have.NotAfter != nil && have.NotAfter.Equal(want.NotAfter) && equality.Semantic.DeepEqual(have.Key, want.Key) {
		return
	}
	if err := s.patchCAStatus(ctx, v, want); err != nil {
		// Status is informational: a failed patch must not make the issuer
		// unready. It is retried at the next Check.
		log.FromContext(ctx).Error(err, "cannot update status.ca")
	}
}

func (s *Signer) patchCAStatus(ctx context.Context, v issuer.View, ca v1alpha1.CAStatus) error {
	meta := map[string]any{"name": v.Ref.Name}
	if v.Ref.Namespace != "" {
		meta["namespace"] = v.Ref.Namespace
	}
	body, err := json.Marshal(map[string]any{
		"apiVersion": v1alpha1.GroupVersion.String(),
		"kind":       v.Ref.Kind,
		"metadata":   meta,
		"status":     map[string]any{"ca": ca},
	})
	if err != nil {
		return err
	}
	obj := issuer.NewObject(v.Ref.Kind)
	obj.SetName(v.Ref.Name)
	obj.SetNamespace(v.Ref.Namespace)
	return s.Client.Status().Patch(ctx, obj, client.RawPatch(types.ApplyPatchType, body),
		&client.SubResourcePatchOptions{PatchOptions: client.PatchOptions{FieldManager: statusFieldOwner, Force: new(true)}})
}
