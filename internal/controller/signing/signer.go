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

// Package signing is issuer-lib's Check and Sign for both issuer kinds:
// loading and caching each issuer's CA, deciding the policy and signing
// through internal/pki, the error kind of each failure (decided here,
// once), the Events and metrics of each signature, and the adapters that
// make issuer-lib write each request once and never sign it twice.
// Kubernetes CSRs are decided by internal/controller/kubecsr and signed
// here; pod certificates (internal/controller/podcert) reuse the Signer.
package signing

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	"github.com/cert-manager/issuer-lib/controllers/signer"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/cakey"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/controller/kubecsr"
	"github.com/nstance-dev/nstance-issuer/internal/keys"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
)

// Event reasons this controller records, beyond issuer-lib's own.
const (
	statusFieldOwner       = "nstance-issuer-ca-status"
	defaultCAExpiryWarning = 30 * 24 * time.Hour
	eventActionCheck       = "Check"
	eventActionGenerateCA  = "GenerateCA"
)

// CASecrets is where the signer reads CA Secrets and asks to be called
// back: the casecret.Watcher, or a fake in unit tests.
type CASecrets interface {
	// Get returns the Secret issuer ref reads its CA from, nil when absent.
	Get(ctx context.Context, ref issuer.Ref, secret types.NamespacedName) (*corev1.Secret, error)
	// GetSlot returns another Secret issuer ref reads (its CA key's
	// credentials: casecret.SlotCredentials), nil when absent; ForgetSlot
	// stops watching it.
	GetSlot(ctx context.Context, ref issuer.Ref, slot string, secret types.NamespacedName) (*corev1.Secret, error)
	ForgetSlot(ref issuer.Ref, slot string)
	// NotifyAt re-checks issuer ref at t.
	NotifyAt(ref issuer.Ref, t time.Time)
}

// Signer is the glue between issuer-lib and the PKI core: it implements
// issuer-lib's Check and Sign, reads each issuer's CA Secret through the
// casecret.Watcher, and decides once, here, which kind of error each
// failure is.
type Signer struct {
	// Client creates generated CA Secrets and patches status.ca.
	Client client.Client
	// Secrets reads CA Secrets with narrow watches (the casecret.Watcher).
	Secrets CASecrets
	// ClusterResourceNamespace is where NstanceClusterIssuers read Secrets.
	ClusterResourceNamespace string
	// Recorder records the audit and warning Events.
	Recorder events.EventRecorder
	// Announce, when set, is handed the Events that announce a signature,
	// to record once the certificate is delivered (resign.go); when nil
	// they are recorded at signing.
	Announce func(uid types.UID, events []func())
	// Clock is the time source (a fake in tests).
	Clock clock.PassiveClock
	// CAExpiryWarning is how long before the CA's NotAfter a warning Event
	// is recorded on the issuer. Zero means 30 days.
	CAExpiryWarning time.Duration
	// Rand is the randomness for keys and serials; nil means crypto/rand.
	Rand io.Reader
	// CSRs decides what a Kubernetes CSR is signed as (its template,
	// lifetime and isCA, from what its approver saw).
	CSRs kubecsr.Decider
	// Keys opens CA keys held in a KMS or an HSM (spec.ca.key); nil: such
	// issuers are not Ready.
	Keys *cakey.Resolver
	// KeyBackoff holds back the requests of an issuer whose CA key's
	// backend throttles or fails, without a worker waiting on it.
	KeyBackoff keys.Backoff[issuer.Ref]

	mu  sync.Mutex
	cas map[issuer.Ref]cachedCA
}

// announce records a signature's Events now, or hands them to Announce.
func (s *Signer) announce(uid types.UID, events []func()) {
	if s.Announce != nil {
		s.Announce(uid, events)
		return
	}
	for _, e := range events {
		e()
	}
}

// Now is the time on the Signer's clock.
func (s *Signer) Now() time.Time {
	if s.Clock == nil {
		return time.Now()
	}
	return s.Clock.Now()
}

// Random is the randomness for keys and serials: Rand, or crypto/rand.
func (s *Signer) Random() io.Reader {
	if s.Rand == nil {
		return rand.Reader
	}
	return s.Rand
}

// Check is issuer-lib's Check: it runs when an issuer changes, when its CA
// Secret changes (the casecret.Watcher enqueues it), and after a Sign reported
// an issuer error. An issuer pki.ValidateIssuer refuses (a broken template,
// incoherent rotation settings) is permanent until the issuer is edited;
// every CA problem is retryable, so the issuer turns Ready by itself once the
// Secret is fixed.
func (s *Signer) Check(ctx context.Context, obj issuerapi.Issuer) error {
	v, err := issuer.NewView(obj, s.ClusterResourceNamespace)
	if err != nil {
		return signer.PermanentError{Err: err}
	}
	// The one validation the admission webhook and explain run too.
	if err := pki.ValidateIssuer(v.Spec, v.Data).Err(v.String()); err != nil {
		return signer.PermanentError{Err: err}
	}
	ca, err := s.loadCA(ctx, v, true)
	if err != nil {
		// Still show which certificate is at fault, e.g. an expired CA.
		caErr := (*pki.CAError)(nil)
		if errors.As(err, &caErr) && caErr.Cert != nil {
			s.publishCAStatus(ctx, v, caErr.Cert, nil)
		}
		// A key in a KMS or an HSM that cannot be used says so by its own
		// reason, for alerts and kubectl describe.
		if kerr := (*keys.Error)(nil); errors.As(err, &kerr) || (cakey.Uses(v) && caErr != nil && caErr.Reason == pki.ReasonKeyMismatch) {
			s.Recorder.Eventf(v.Obj, nil, corev1.EventTypeWarning, v1alpha1.EventReasonCAKeyUnavailable, eventActionCheck, "%s", err)
		}
		return err
	}
	s.observeCA(ctx, v, ca)
	return nil
}

// Sign is issuer-lib's Sign. It is only called for approved, not denied,
// not yet signed requests whose issuer is Ready.
func (s *Signer) Sign(ctx context.Context, cr signer.CertificateRequestObject, obj issuerapi.Issuer) (signer.PEMBundle, error) {
	logger := log.FromContext(ctx)
	v, err := issuer.NewView(obj, s.ClusterResourceNamespace)
	if err != nil {
		return signer.PEMBundle{}, signer.PermanentError{Err: err}
	}
	if cakey.Uses(v) {
		if wait, last := s.KeyBackoff.Wait(v.Ref); wait > 0 {
			// The key's backend throttled or failed moments ago: put the
			// request back without calling it again.
			return signer.PEMBundle{}, signer.PendingError{Err: fmt.Errorf("signing with the CA key of %s is held back for %s: %w", v, wait.Round(time.Second), last), RequeueAfter: wait}
		}
	}
	ca, err := s.loadCA(ctx, v, false)
	if err != nil {
		if pending := s.keyFailure(v, err); pending != nil {
			return signer.PEMBundle{}, pending
		}
		// The issuer is reported not Ready; the request waits for it.
		return signer.PEMBundle{}, signer.IssuerError{Err: err}
	}
	regarding := requestObject(cr)
	csr, isCSR := regarding.(*certificatesv1.CertificateSigningRequest)
	var policy pki.Policy
	var kube kubecsr.Decision
	if isCSR {
		if kube, err = s.CSRs.Decide(ctx, csr, v); err != nil {
			return signer.PEMBundle{}, classifySignError(err)
		}
		policy = kube.Policy
	} else if policy, err = pki.SelectPolicy(v.Spec, cr.GetAnnotations(), v.String()); err != nil {
		return signer.PEMBundle{}, classifySignError(err)
	}
	req, err := NewRequest(cr)
	if err != nil {
		return signer.PEMBundle{}, signer.PermanentError{Err: err}
	}
	if isCSR {
		req.KubernetesCSR, req.Username, req.Groups = true, csr.Spec.Username, csr.Spec.Groups
		req.Duration, req.IsCA = kube.Duration, kube.IsCA
	} else if policy.NeedsNamespaceLabels() {
		if req.NamespaceLabels, err = s.NamespaceLabels(ctx, req.Namespace); err != nil {
			return signer.PEMBundle{}, err
		}
	}
	issued, err := pki.Issue(ca, policy, req, pki.RenderData{Vars: v.Spec.Vars, Issuer: v.Data}, s.Now(), s.Random())
	if kerr := (*keys.Error)(nil); errors.As(err, &kerr) {
		if pending := s.keyFailure(v, err); pending != nil {
			return signer.PEMBundle{}, pending
		}
		// Opened again, and checked, at the issuer's next Check: until
		// then it is not Ready and requests wait.
		s.ForgetCA(v.Ref)
		return signer.PEMBundle{}, signer.IssuerError{Err: fmt.Errorf("%s could not sign: %w", v, err)}
	}
	if err != nil {
		return signer.PEMBundle{}, classifySignError(err)
	}
	if cakey.Uses(v) {
		s.KeyBackoff.Success(v.Ref)
	}

	template := issued.Template
	if issued.PassThrough {
		template = "(none: pass-through)"
	}
	events := []func(){func() {
		s.Recorder.Eventf(regarding, v.Obj, corev1.EventTypeNormal, v1alpha1.EventReasonCertificateIssued, issuer.EventActionSign,
			"Issued certificate serial %s from template %s, valid until %s, signed by %s",
			pki.FormatSerial(issued.Cert), template, issued.Cert.NotAfter.UTC().Format(time.RFC3339), v)
	}}
	if issued.Truncated {
		events = append(events, func() {
			s.Recorder.Eventf(regarding, v.Obj, corev1.EventTypeWarning, v1alpha1.EventReasonLifetimeTruncated, issuer.EventActionSign,
				"Lifetime cut to the CA's NotAfter %s (requested until %s); rotate the CA of %s",
				issued.Cert.NotAfter.UTC().Format(time.RFC3339), issued.RequestedNotAfter.UTC().Format(time.RFC3339), v)
		})
	}
	if kube.Unguarded != "" {
		events = append(events, func() {
			s.Recorder.Eventf(regarding, v.Obj, corev1.EventTypeWarning, v1alpha1.EventReasonUnguardedCSRAnnotations, issuer.EventActionSign,
				"Signed with the template from annotation %s although it may have changed since approval (%s): --insecure-allow-mutable-csr-annotations is set; "+
					"use signerName %s<issuer>.<template> or install the CSR annotation policy", v1alpha1.TemplateAnnotation, kube.Unguarded, kubecsr.TemplatedSignerPrefix)
		})
	}
	for _, w := range issued.Warnings {
		events = append(events, func() {
			s.Recorder.Eventf(regarding, v.Obj, corev1.EventTypeWarning, w.Reason, issuer.EventActionSign, "%s", w.Message)
		})
	}
	s.announce(cr.GetUID(), events)
	logger.V(1).Info("signed", "serial", pki.FormatSerial(issued.Cert), "template", issued.Template, "notAfter", issued.Cert.NotAfter)
	return signer.PEMBundle{ChainPEM: issued.ChainPEM, CAPEM: issued.CAPEM}, nil
}

// SelectedTemplate names the template a request selects by its signer
// name or its annotation (ok false: neither; the default applies), for
// the metrics' template label.
func (s *Signer) SelectedTemplate(ctx context.Context, cr signer.CertificateRequestObject) (string, bool) {
	if csr, ok := requestObject(cr).(*certificatesv1.CertificateSigningRequest); ok {
		if name, ok := s.CSRs.SignerTemplate(ctx, csr); ok {
			return name, true
		}
	}
	return annotatedTemplate(ctx, cr)
}

// keyFailure records a transient failure of an issuer's CA key (an
// outage, throttling) in KeyBackoff, and returns the PendingError that
// puts a throttled request back after the back-off, issuer still Ready;
// nil for any other failure, which makes the issuer not Ready.
func (s *Signer) keyFailure(v issuer.View, err error) error {
	var kerr *keys.Error
	if !errors.As(err, &kerr) || !kerr.Transient() {
		return nil
	}
	wait := s.KeyBackoff.Failure(v.Ref, kerr)
	if kerr.Reason == keys.ReasonThrottled {
		return signer.PendingError{Err: fmt.Errorf("%s: %w", v, err), RequeueAfter: wait}
	}
	return nil
}

// classifySignError decides, once, how issuer-lib treats a failure of Issue.
func classifySignError(err error) error {
	var reqErr *pki.RequestError
	var tmplErr *pki.TemplateError
	var caErr *pki.CAError
	switch {
	case errors.As(err, &reqErr), errors.As(err, &tmplErr):
		return signer.PermanentError{Err: err}
	case errors.As(err, &caErr):
		return signer.IssuerError{Err: err}
	}
	return err
}

// NamespaceLabels reads the labels of a namespace, for templates bound to
// namespaces by label. The manager caches namespaces' metadata only.
func (s *Signer) NamespaceLabels(ctx context.Context, name string) (map[string]string, error) {
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	if err := s.Client.Get(ctx, types.NamespacedName{Name: name}, ns); err != nil {
		return nil, fmt.Errorf("cannot read the labels of namespace %s: %w", name, err)
	}
	return ns.GetLabels(), nil
}

// NewRequest is what the signer reads of a CertificateRequest or a
// Kubernetes CSR for the PKI core: the CSR, lifetime, isCA and usages as
// issuer-lib details them, the name templates see and the namespace. For
// a Kubernetes CSR, Sign then sets what kubecsr.Decider decided. The
// explain command builds its requests with it too.
func NewRequest(cr signer.CertificateRequestObject) (pki.Request, error) {
	details, err := cr.GetCertificateDetails()
	if err != nil {
		return pki.Request{}, fmt.Errorf("malformed request: %w", err)
	}
	return pki.Request{
		CSR:         details.CSR,
		Duration:    details.Duration,
		IsCA:        details.IsCA,
		KeyUsage:    details.KeyUsage,
		ExtKeyUsage: details.ExtKeyUsage,
		Name:        requestName(cr),
		Namespace:   cr.GetNamespace(),
	}, nil
}

// requestName is what templates see as .Request.Name: the Certificate's
// name when cert-manager made a CertificateRequest for one (they are named
// <certificate>-<revision>), else the request's own name. A Kubernetes
// CSR's is always its own: an annotation could change after approval.
func requestName(cr signer.CertificateRequestObject) string {
	if _, isCSR := requestObject(cr).(*certificatesv1.CertificateSigningRequest); isCSR {
		return cr.GetName()
	}
	if name := cr.GetAnnotations()[cmapi.CertificateNameKey]; name != "" {
		return name
	}
	return cr.GetName()
}

// requestObject returns the CertificateRequest or CertificateSigningRequest
// behind issuer-lib's wrapper, for recording Events on it.
func requestObject(cr signer.CertificateRequestObject) runtime.Object {
	if o, ok := cr.(runtime.Object); ok {
		return o.DeepCopyObject()
	}
	return nil
}
