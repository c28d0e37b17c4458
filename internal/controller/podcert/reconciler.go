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

// Package podcert signs Kubernetes PodCertificateRequests whose signer is
// an NstanceClusterIssuer: it checks the pod identity a request names
// against the live objects, then signs through the same templates, policy
// and CA as every other request (internal/controller/signing), and writes
// the request's status once.
package podcert

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/controller/signing"
	"github.com/nstance-dev/nstance-issuer/internal/keys"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
)

// Condition types and reasons of a PodCertificateRequest (the API's).
const (
	podCertIssued = "Issued"
	podCertDenied = "Denied"
	podCertFailed = "Failed"
	// podCertPendingRetry is how often a request waiting for its issuer is
	// looked at again, besides when the issuer changes.
	podCertPendingRetry = time.Minute
	// refreshMargin is the API's margin around beginRefreshAt: at least
	// this long after notBefore and before notAfter.
	refreshMargin = 10 * time.Minute
)

// Reconciler signs Kubernetes PodCertificateRequests whose
// signer is an NstanceClusterIssuer, through the same templates and policy
// as every other request. There is no approval step: the API server has
// checked the key's proof of possession, and the pod's identity when a
// kubelet made the request (NodeRestriction); the controller checks that
// identity against the live Pod, ServiceAccount and Node itself, since any
// principal allowed to create requests could have made it. The status
// is written once: Issued with the chain, or Denied or Failed with a reason.
// A request whose issuer is missing, not Ready or cannot sign waits (an
// Event says why) and is retried when the issuer changes. A request for a
// namespaced issuer's signer name gets an Event and no status (see
// unanswered).
type Reconciler struct {
	client.Client
	// Signer holds the parsed CAs, the clock, the randomness and the
	// Event recorder shared with the other controllers.
	Signer *signing.Signer
	// API is the served version of the PodCertificateRequest API.
	API podCertAPI
	// Reader reads the Pod, ServiceAccount and Node a request names from
	// the API server itself (the manager's API reader): no cache, so no
	// watch of every Pod, and no request that outruns its Pod.
	Reader client.Reader
	// UIDs is the manager's metadata cache of ServiceAccounts and Nodes
	// (IdentityCache): a UID it holds as a request names it is not read
	// again (nil: every read is live).
	UIDs client.Reader
}

// +kubebuilder:rbac:groups=certificates.k8s.io,resources=podcertificaterequests,verbs=get;list;watch
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=podcertificaterequests/status,verbs=patch
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=signers,verbs=sign,resourceNames=nstanceclusterissuers.issuer.nstance.dev/*
// +kubebuilder:rbac:groups="",resources=pods,verbs=get
// +kubebuilder:rbac:groups="",resources=serviceaccounts;nodes,verbs=get;list;watch

// Reconcile signs, denies or fails one PodCertificateRequest.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := r.API.newObject()
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	pcr := r.API.view(obj)
	if podCertFinished(pcr) {
		return ctrl.Result{}, nil
	}
	s := r.Signer
	if name, ok := strings.CutPrefix(pcr.signerName, issuer.NamespacedSignerPrefix); ok {
		return r.unanswered(ctx, obj, fmt.Sprintf("signer %q names an NstanceIssuer (%s), which is namespaced; pod certificates are signed by NstanceClusterIssuers: use signerName %s<name>. "+
			"This request stays unanswered (nstance-issuer may not sign for namespaced signer names, so it cannot write a Denied status) until the API server removes it",
			pcr.signerName, name, issuer.ClusterIssuerSignerPrefix))
	}
	name, ok := strings.CutPrefix(pcr.signerName, issuer.ClusterIssuerSignerPrefix)
	if !ok {
		return ctrl.Result{}, nil
	}
	iss := &v1alpha1.NstanceClusterIssuer{}
	if err := r.Get(ctx, types.NamespacedName{Name: name}, iss); err != nil {
		if apierrors.IsNotFound(err) {
			return r.pending(ctx, obj, nil, fmt.Sprintf("NstanceClusterIssuer %s named by signer %q does not exist; create it, or fix signerName in the pod's podCertificate volume", name, pcr.signerName))
		}
		return ctrl.Result{}, err
	}
	v, err := issuer.NewView(iss, s.ClusterResourceNamespace)
	if err != nil {
		return ctrl.Result{}, err
	}
	if c := apimeta.FindStatusCondition(iss.GetConditions(), issuerapi.IssuerConditionTypeReady); c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != iss.Generation {
		msg := "not checked yet"
		if c != nil {
			msg = c.Message
		}
		return r.pending(ctx, obj, iss, fmt.Sprintf("%s is not Ready (%s); the request waits for it", v, msg))
	}
	ca, err := s.LoadCA(ctx, v)
	if err != nil {
		return r.pending(ctx, obj, iss, fmt.Sprintf("%s cannot sign: %v; the request waits for it", v, err))
	}
	if pcr.hasPKIXPublicKey || len(pcr.stubPKCS10Request) == 0 {
		return r.finish(ctx, obj, iss, podCertFailed, "StubPKCS10RequestRequired",
			"the request carries no spec.stubPKCS10Request (only the deprecated pkixPublicKey); nstance-issuer needs the stub CSR that kubelets of Kubernetes 1.35 and later send")
	}
	if refusal, err := checkPodIdentity(ctx, r.Reader, r.UIDs, obj.GetNamespace(), pcr); err != nil {
		if errors.Is(err, ErrIdentityUnreadable) {
			return r.pending(ctx, obj, iss, fmt.Sprintf("%v; grant the controller get on pods, serviceaccounts and nodes (the shipped ClusterRole does); the request waits", err))
		}
		return ctrl.Result{}, fmt.Errorf("cannot check the pod identity of PodCertificateRequest %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	} else if refusal != nil {
		return r.finish(ctx, obj, iss, podCertDenied, refusal.Reason, refusal.Message)
	}
	policy, err := pki.SelectPodPolicy(v.Spec, pcr.unverifiedUserAnnotations, v.String())
	if err != nil {
		return r.refuse(ctx, obj, iss, v, err)
	}
	maxSeconds := int32(24 * 60 * 60) // the API server's default
	if pcr.maxExpirationSeconds != nil {
		maxSeconds = *pcr.maxExpirationSeconds
	}
	preq := pki.Request{
		CSR:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: pcr.stubPKCS10Request}),
		Name:      obj.GetName(),
		Namespace: obj.GetNamespace(),
		Pod: &pki.PodIdentity{
			PodName: pcr.podName, PodUID: pcr.podUID,
			ServiceAccountName: pcr.serviceAccountName, ServiceAccountUID: pcr.saUID,
			NodeName: pcr.nodeName, NodeUID: pcr.nodeUID,
			MaxLifetime: time.Duration(maxSeconds) * time.Second,
		},
	}
	if policy.NeedsNamespaceLabels() {
		if preq.NamespaceLabels, err = s.NamespaceLabels(ctx, preq.Namespace); err != nil {
			return ctrl.Result{}, err
		}
	}
	issued, err := pki.Issue(ca, policy, preq, pki.RenderData{Vars: v.Spec.Vars, Issuer: v.Data}, s.Now(), s.Random())
	if err != nil {
		return r.refuse(ctx, obj, iss, v, err)
	}
	return r.issue(ctx, obj, iss, v, issued)
}

// podCertFinished reports whether the request has its terminal condition
// (or, defensively, a chain).
func podCertFinished(pcr podCertView) bool {
	return Finished(pcr.conditions) || pcr.issuedChain
}

// Finished: a PodCertificateRequest with a terminal condition (Issued,
// Denied or Failed) is never read again for its stub CSR or chain (the
// manager's cache slims it); podCertFinished tells it by the condition
// alone.
func Finished(conditions []metav1.Condition) bool {
	for _, c := range conditions {
		if (c.Type == podCertIssued || c.Type == podCertDenied || c.Type == podCertFailed) && c.Status == metav1.ConditionTrue {
			return true
		}
	}
	return false
}

// refuse decides, once, what a failure to sign means for a pod: a request
// that can never succeed is Denied (Failed when only the CA's remaining
// lifetime is at fault); a broken template or CA makes it wait; anything
// else is retried.
func (r *Reconciler) refuse(ctx context.Context, obj client.Object, iss client.Object, v issuer.View, err error) (ctrl.Result, error) {
	var reqErr *pki.RequestError
	var tmplErr *pki.TemplateError
	var caErr *pki.CAError
	var keyErr *keys.Error
	switch {
	case errors.As(err, &keyErr):
		// The CA key in a KMS or an HSM failed: opened and checked again
		// at the issuer's next check, the request waits.
		r.Signer.ForgetCA(v.Ref)
		return r.pending(ctx, obj, iss, fmt.Sprintf("%s cannot sign: %v; the request waits for it", v, err))
	case errors.As(err, &reqErr) && reqErr.Reason == pki.ReasonLifetimeTooShort:
		return r.finish(ctx, obj, iss, podCertFailed, reqErr.Reason, reqErr.Msg)
	case errors.As(err, &reqErr):
		return r.finish(ctx, obj, iss, podCertDenied, reqErr.Reason, reqErr.Msg)
	case errors.As(err, &tmplErr), errors.As(err, &caErr):
		return r.pending(ctx, obj, iss, fmt.Sprintf("%s cannot sign: %v; the request waits for it", v, err))
	}
	return ctrl.Result{}, fmt.Errorf("cannot sign PodCertificateRequest %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
}

// issue writes the Issued status and records the audit Event.
func (r *Reconciler) issue(ctx context.Context, obj, iss client.Object, v issuer.View, issued *pki.Issued) (ctrl.Result, error) {
	s := r.Signer
	cert := issued.Cert
	msg := fmt.Sprintf("Issued certificate serial %s from template %s, valid until %s, signed by %s",
		pki.FormatSerial(cert), issued.Template, cert.NotAfter.UTC().Format(time.RFC3339), v)
	notBefore, notAfter := metav1.NewTime(cert.NotBefore), metav1.NewTime(cert.NotAfter)
	refresh := metav1.NewTime(BeginRefreshAt(cert.NotBefore, cert.NotAfter))
	st := podCertStatus{
		conditions: []metav1.Condition{r.condition(obj, podCertIssued, podCertIssued, msg)},
		chain:      string(issued.ChainPEM),
		notBefore:  &notBefore, notAfter: &notAfter, refreshStart: &refresh,
	}
	if res, err := r.writeStatus(ctx, obj, st); err != nil || !res.IsZero() {
		return res, err
	}
	s.Recorder.Eventf(obj, iss, corev1.EventTypeNormal, v1alpha1.EventReasonCertificateIssued, issuer.EventActionSign, "%s", msg)
	if issued.Truncated {
		s.Recorder.Eventf(obj, iss, corev1.EventTypeWarning, v1alpha1.EventReasonLifetimeTruncated, issuer.EventActionSign,
			"Lifetime cut to the CA's NotAfter %s (requested until %s); rotate the CA of %s",
			cert.NotAfter.UTC().Format(time.RFC3339), issued.RequestedNotAfter.UTC().Format(time.RFC3339), v)
	}
	for _, w := range issued.Warnings {
		s.Recorder.Eventf(obj, iss, corev1.EventTypeWarning, w.Reason, issuer.EventActionSign, "%s", w.Message)
	}
	log.FromContext(ctx).V(1).Info("signed pod certificate", "serial", pki.FormatSerial(cert), "template", issued.Template, "notAfter", cert.NotAfter)
	return ctrl.Result{}, nil
}

// BeginRefreshAt is when the kubelet should start refreshing a pod
// certificate: two thirds into its validity (cert-manager's default
// renewal point), kept at least 10 minutes after NotBefore and before
// NotAfter as the API requires; whole seconds.
func BeginRefreshAt(notBefore, notAfter time.Time) time.Time {
	t := notBefore.Add(notAfter.Sub(notBefore) * 2 / 3).Truncate(time.Second)
	if lo := notBefore.Add(refreshMargin); t.Before(lo) {
		t = lo
	}
	if hi := notAfter.Add(-refreshMargin); t.After(hi) {
		t = hi
	}
	return t
}

// finish writes a Denied or Failed status with an Event.
func (r *Reconciler) finish(ctx context.Context, obj, iss client.Object, condType, reason, msg string) (ctrl.Result, error) {
	st := podCertStatus{conditions: []metav1.Condition{r.condition(obj, condType, reason, msg)}}
	if res, err := r.writeStatus(ctx, obj, st); err != nil || !res.IsZero() {
		return res, err
	}
	eventReason := v1alpha1.EventReasonPodCertificateDenied
	if condType == podCertFailed {
		eventReason = v1alpha1.EventReasonPodCertificateFailed
	}
	r.Signer.Recorder.Eventf(obj, iss, corev1.EventTypeWarning, eventReason, issuer.EventActionSign, "%s: %s", reason, msg)
	log.FromContext(ctx).V(1).Info("pod certificate refused", "condition", condType, "reason", reason)
	return ctrl.Result{}, nil
}

// unanswered records why a request is left without a status and does not
// look at it again. The API server lets only a principal that may `sign`
// for a request's signer name write any of its status, Denied included
// (k8s.io/kubernetes pkg/registry/certificates/podcertificaterequest), and
// the shipped RBAC grants `sign` on NstanceClusterIssuer signer names
// only, so that the API server itself refuses a certificate for a
// namespaced signer name should the controller ever try. The kubelet waits
// for such a request until the API server's cleaner deletes it (15
// minutes) and then asks again: one Event per request, no retry loop.
func (r *Reconciler) unanswered(ctx context.Context, obj client.Object, msg string) (ctrl.Result, error) {
	r.Signer.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, issuer.ReasonNamespacedIssuerNotSupported, issuer.EventActionSign, "%s", msg)
	log.FromContext(ctx).V(1).Info("pod certificate left unanswered", "reason", issuer.ReasonNamespacedIssuerNotSupported)
	return ctrl.Result{}, nil
}

// pending records why the request waits and looks again later; the
// issuer watch brings it back sooner when the issuer changes.
func (r *Reconciler) pending(ctx context.Context, obj, iss client.Object, msg string) (ctrl.Result, error) {
	r.Signer.Recorder.Eventf(obj, iss, corev1.EventTypeWarning, v1alpha1.EventReasonPodCertificatePending, issuer.EventActionSign, "%s", msg)
	log.FromContext(ctx).V(1).Info("pod certificate pending", "reason", msg)
	return ctrl.Result{RequeueAfter: podCertPendingRetry}, nil
}

func (r *Reconciler) condition(obj client.Object, condType, reason, msg string) metav1.Condition {
	if len(msg) > maxConditionMessage {
		msg = msg[:maxConditionMessage]
	}
	return metav1.Condition{
		Type: condType, Status: metav1.ConditionTrue, Reason: reason, Message: msg,
		ObservedGeneration: obj.GetGeneration(), LastTransitionTime: metav1.NewTime(r.Signer.Now()),
	}
}

// maxConditionMessage is below the API's limit of 32768 bytes.
const maxConditionMessage = 32 << 10 / 2

// writeStatus writes the terminal status once: a merge patch that holds
// only if nobody wrote the request since it was read. A conflict (another
// replica, or a stale cache) is looked at again: the next read sees the
// terminal status and stops.
func (r *Reconciler) writeStatus(ctx context.Context, obj client.Object, st podCertStatus) (ctrl.Result, error) {
	orig := obj.DeepCopyObject().(client.Object)
	r.API.setStatus(obj, st)
	err := r.Status().Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
	switch {
	case apierrors.IsConflict(err):
		return ctrl.Result{RequeueAfter: time.Second}, nil
	case apierrors.IsNotFound(err):
		return ctrl.Result{}, nil
	case err != nil:
		return ctrl.Result{}, fmt.Errorf("cannot write the status of PodCertificateRequest %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	return ctrl.Result{}, nil
}

// ourSigner reports whether a signer name is one of nstance-issuer's.
func ourSigner(name string) bool {
	return strings.HasPrefix(name, issuer.ClusterIssuerSignerPrefix) || strings.HasPrefix(name, issuer.NamespacedSignerPrefix)
}

// SetupWithManager watches the PodCertificateRequests of our signers, and
// NstanceClusterIssuers to retry the requests that wait for one.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, workers int) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("podcertificaterequest").
		For(r.API.newObject(), builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			return ourSigner(r.API.view(o).signerName)
		}))).
		Watches(&v1alpha1.NstanceClusterIssuer{}, handler.EnqueueRequestsFromMapFunc(r.waitingFor)).
		WithOptions(crcontroller.Options{MaxConcurrentReconciles: workers}).
		Complete(r)
}

// waitingFor lists the unfinished requests that name an issuer.
func (r *Reconciler) waitingFor(ctx context.Context, iss client.Object) []reconcile.Request {
	list := r.API.newList()
	if err := r.List(ctx, list); err != nil {
		log.FromContext(ctx).Error(err, "cannot list PodCertificateRequests waiting for an issuer", "issuer", iss.GetName())
		return nil
	}
	signer := issuer.ClusterIssuerSignerPrefix + iss.GetName()
	var out []reconcile.Request
	for _, o := range r.API.items(list) {
		if v := r.API.view(o); v.signerName == signer && !podCertFinished(v) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(o)})
		}
	}
	return out
}

// ServedVersion finds which version of the PodCertificateRequest API the
// API server serves: "v1" where it has it, else "v1beta1", else "". An
// error means discovery itself failed.
func ServedVersion(cfg *rest.Config) (string, error) {
	api, ok, err := servedPodCertificateAPI(cfg)
	if !ok {
		return "", err
	}
	return api.version, nil
}

func servedPodCertificateAPI(cfg *rest.Config) (api podCertAPI, ok bool, err error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return podCertAPI{}, false, err
	}
	for _, a := range []podCertAPI{podCertV1, podCertV1beta1} {
		list, err := dc.ServerResourcesForGroupVersion("certificates.k8s.io/" + a.version)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return podCertAPI{}, false, fmt.Errorf("cannot discover certificates.k8s.io/%s: %w", a.version, err)
		}
		for _, res := range list.APIResources {
			if res.Name == "podcertificaterequests" {
				return a, true, nil
			}
		}
	}
	return podCertAPI{}, false, nil
}

// NewReconciler returns the reconciler of PodCertificateRequests of API
// version ("v1" or "v1beta1"), reading and writing them through c, the
// pod identity through reader (uncached), signing with s.
func NewReconciler(c client.Client, reader client.Reader, s *signing.Signer, version string) (*Reconciler, error) {
	for _, api := range []podCertAPI{podCertV1, podCertV1beta1} {
		if api.version == version {
			return &Reconciler{Client: c, Reader: reader, Signer: s, API: api}, nil
		}
	}
	return nil, fmt.Errorf("no PodCertificateRequest API of version %q", version)
}

// Setup starts the pod certificate controller for the served API version
// with workers workers, or logs why it does not.
func Setup(ctx context.Context, mgr ctrl.Manager, s *signing.Signer, workers int) error {
	logger := log.FromContext(ctx).WithName("pod-certificates")
	api, ok, err := servedPodCertificateAPI(mgr.GetConfig())
	if err != nil {
		return err
	}
	if !ok {
		logger.Info("the API server serves no PodCertificateRequest API (certificates.k8s.io v1 or v1beta1); pod certificates are off")
		return nil
	}
	logger.Info("signing PodCertificateRequests", "version", "certificates.k8s.io/"+api.version)
	return (&Reconciler{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), UIDs: mgr.GetClient(), Signer: s, API: api}).SetupWithManager(mgr, workers)
}
