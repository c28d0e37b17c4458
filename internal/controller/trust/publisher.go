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

// Package trust publishes an issuer's live roots where workloads read
// them: ConfigMaps, ClusterTrustBundles and ca.crt of issued certificates.
// The CA lifecycle (internal/controller/carotation) says which roots are
// live; the Publisher owns what it writes and what it remembers, under its
// own lock.
package trust

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
)

// The live roots of an issuer (issuing, next and retiring generations, each
// once) go to:
//   - a ConfigMap (key ca.crt) per selected namespace, spec.ca.trustBundle.configMap;
//   - one ClusterTrustBundle per live root of an NstanceClusterIssuer,
//     spec.ca.trustBundle.clusterTrustBundle, named
//     nstanceclusterissuers.issuer.nstance.dev:<issuer>:<fingerprint prefix>
//     with spec.signerName nstanceclusterissuers.issuer.nstance.dev/<issuer>;
//   - ca.crt of issued certificates with caCrt: AllLiveRoots.
//
// Every published object carries the label trustOfLabel (a hash naming the
// issuer) and an owner reference to the issuer: what the issuer no longer
// publishes is deleted, and everything goes when the issuer is deleted
// (Kubernetes garbage collection; delete with --cascade=orphan to keep
// them).
const (
	trustOfLabel     = "issuer.nstance.dev/trust-of"
	trustIssuerAnnot = "issuer.nstance.dev/issuer"
	trustFieldOwner  = "nstance-issuer-trust"
	ctbGroup         = "certificates.k8s.io"
	ctbKind          = "ClusterTrustBundle"
	ctbResource      = "clustertrustbundles"
)

// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=clustertrustbundles,verbs=get;list;create;patch;update;delete
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=signers,verbs=attest,resourceNames=nstanceclusterissuers.issuer.nstance.dev/*

// Publisher writes the bundles and remembers each issuer's live roots for
// ca.crt.
type Publisher struct {
	// Client writes bundles and reads namespaces (cached, metadata).
	Client client.Client
	// Reader reads live (uncached): the ClusterTrustBundles, and a
	// ConfigMap of the bundle's name that Cache lacks.
	Reader client.Reader
	// Cache reads the ConfigMap bundles the manager caches (BundleCache:
	// the ones with the trust-of label, slimmed).
	Cache client.Reader
	// ClusterResourceNamespace is where a cluster issuer's ConfigMap goes
	// without a namespaceSelector.
	ClusterResourceNamespace string
	// CTBVersion is the served certificates.k8s.io version of
	// ClusterTrustBundle ("v1", "v1beta1"), "" when not served.
	CTBVersion string

	mu    sync.Mutex
	roots map[issuer.Ref][]byte
}

// NewPublisher returns the Publisher of the manager's issuers, with
// ClusterTrustBundle support detected once: v1, else v1beta1, else none
// (logged; the rest works without it).
func NewPublisher(mgr ctrl.Manager, clusterResourceNamespace string) (*Publisher, error) {
	logger := ctrl.Log.WithName("setup")
	dc, err := discovery.NewDiscoveryClientForConfig(mgr.GetConfig())
	if err != nil {
		return nil, fmt.Errorf("failed to build a discovery client: %w", err)
	}
	version, err := DetectClusterTrustBundle(dc)
	if err != nil {
		// Not fatal: run without ClusterTrustBundles rather than not at all.
		logger.Error(err, "cannot tell whether ClusterTrustBundle is served; not publishing ClusterTrustBundles")
		version = ""
	}
	if version == "" {
		logger.Info("ClusterTrustBundle is not served by the API server; trust is published in ConfigMaps only")
	} else {
		logger.Info("publishing ClusterTrustBundles", "apiVersion", ctbGroup+"/"+version)
	}
	return &Publisher{
		Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Cache: mgr.GetClient(),
		ClusterResourceNamespace: clusterResourceNamespace, CTBVersion: version,
	}, nil
}

// DetectClusterTrustBundle returns the version of certificates.k8s.io that
// serves ClusterTrustBundle, v1 preferred, "" when none does.
func DetectClusterTrustBundle(d discovery.DiscoveryInterface) (string, error) {
	for _, version := range []string{"v1", "v1beta1"} {
		list, err := d.ServerResourcesForGroupVersion(ctbGroup + "/" + version)
		if err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return "", fmt.Errorf("cannot discover %s/%s: %w", ctbGroup, version, err)
		}
		for _, r := range list.APIResources {
			if r.Name == ctbResource {
				return version, nil
			}
		}
	}
	return "", nil
}

// LiveRoots returns the PEM of every live root of issuer ref, nil when not
// (yet) known.
func (t *Publisher) LiveRoots(ref issuer.Ref) []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.roots[ref]
}

// Forget drops what is kept for a deleted issuer: its live roots and its
// metric series.
func (t *Publisher) Forget(ref issuer.Ref) {
	t.mu.Lock()
	delete(t.roots, ref)
	t.mu.Unlock()
	publishFailures.DeletePartialMatch(ref.MetricLabels())
}

// signerName is the Kubernetes signer name of a cluster issuer.
func signerName(name string) string { return issuer.ClusterIssuerSignerPrefix + name }

func trustOf(ref issuer.Ref) string {
	return issuer.ShortHash(ref.Kind + "/" + ref.Namespace + "/" + ref.Name)
}

// Publication is how publishing an issuer's live roots went.
type Publication struct {
	// Gate: a bundle only the controller writes could not be written: a
	// ClusterTrustBundle, the ConfigMap in the cluster resource namespace
	// (a cluster issuer's) or in the issuer's own namespace (a namespaced
	// issuer's), or the namespaces to publish into could not be listed.
	// A next CA is not counted as published until the gate is clear.
	Gate error
	// Failed: the other namespaces where the ConfigMap bundle could not be
	// written (a ConfigMap of that name the issuer did not make, a full
	// quota, a refused write). They never hold the lifecycle back: the
	// rest are written and the failures reported.
	Failed []Failure
}

// Failure is a namespace where a ConfigMap bundle was not written.
type Failure struct {
	Namespace string
	Why       string
}

// Publish remembers roots as the live roots of v (for ca.crt: LiveRoots),
// writes every bundle of v and removes what v no longer publishes.
func (t *Publisher) Publish(ctx context.Context, v issuer.View, roots []*x509.Certificate) Publication {
	t.mu.Lock()
	if t.roots == nil {
		t.roots = map[issuer.Ref][]byte{}
	}
	t.roots[v.Ref] = pki.EncodeCertificates(roots...)
	t.mu.Unlock()
	tb := v.Spec.CA.TrustBundle
	if tb == nil {
		tb = &v1alpha1.TrustBundle{}
	}
	var pub Publication
	var gates []error
	if err := t.publishConfigMaps(ctx, v, tb.ConfigMap, roots, &pub); err != nil {
		gates = append(gates, err)
	}
	if v.Ref.Kind == issuer.KindClusterIssuer {
		if tb.ClusterTrustBundle && t.CTBVersion == "" {
			log.FromContext(ctx).V(1).Info("ClusterTrustBundle is not served by this API server; not publishing one")
		}
		if err := t.publishClusterTrustBundles(ctx, v, tb.ClusterTrustBundle, roots); err != nil {
			gates = append(gates, err)
		}
	}
	pub.Gate = errors.Join(gates...)
	publishFailures.With(v.Ref.MetricLabels()).Set(float64(len(pub.Failed)))
	return pub
}

// publishConfigMaps writes the ConfigMap bundle into every selected
// namespace and deletes the ones no longer selected. A namespace that
// fails is noted in pub and the others go on; the returned error is the
// gate (see Publication).
func (t *Publisher) publishConfigMaps(ctx context.Context, v issuer.View, spec *v1alpha1.ConfigMapBundle, roots []*x509.Certificate, pub *Publication) error {
	want := map[types.NamespacedName]bool{}
	var gates []error
	// gating is the one namespace whose bundle only the controller
	// writes: the cluster resource namespace, or a namespaced issuer's own.
	gating := t.ClusterResourceNamespace
	if v.Ref.Kind == issuer.KindIssuer {
		gating = v.Ref.Namespace
	}
	// What the issuer published before, from the cache: written again
	// only where it differs; what is no longer selected is deleted.
	ours := &corev1.ConfigMapList{}
	opts := []client.ListOption{client.MatchingLabels{trustOfLabel: trustOf(v.Ref)}}
	if v.Ref.Kind == issuer.KindIssuer {
		opts = append(opts, client.InNamespace(v.Ref.Namespace))
	}
	if err := t.Cache.List(ctx, ours, opts...); err != nil {
		return fmt.Errorf("cannot list the trust bundle ConfigMaps of %s: %w", v, err)
	}
	cached := make(map[types.NamespacedName]*corev1.ConfigMap, len(ours.Items))
	for i := range ours.Items {
		cached[client.ObjectKeyFromObject(&ours.Items[i])] = &ours.Items[i]
	}
	if spec != nil {
		namespaces, err := t.bundleNamespaces(ctx, v, spec)
		if err != nil {
			return err
		}
		data := string(pki.EncodeCertificates(bundleOrder(roots)...))
		for _, ns := range namespaces {
			key := types.NamespacedName{Namespace: ns, Name: spec.Name}
			want[key] = true
			err := t.publishConfigMap(ctx, v, key, data, cached[key])
			switch {
			case err == nil:
			case ns == gating && !errors.Is(err, errForeignConfigMap):
				gates = append(gates, err)
			default:
				// A tenant's namespace (or a ConfigMap of that name someone
				// else made): reported, never a reason to stop.
				pub.Failed = append(pub.Failed, Failure{Namespace: ns, Why: publishWhy(err)})
			}
		}
	}
	// Remove what is no longer selected. A namespaced issuer looks in its
	// own namespace only. The cached UID is a precondition: a ConfigMap
	// made since under that name is not deleted.
	for key, item := range cached {
		if want[key] {
			continue
		}
		err := t.Client.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}},
			client.Preconditions{UID: &item.UID})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			pub.Failed = append(pub.Failed, Failure{Namespace: key.Namespace,
				Why: publishWhy(fmt.Errorf("cannot delete the stale trust bundle ConfigMap %s: %w", key, err))})
		}
	}
	return errors.Join(gates...)
}

// bundleOrder is the order of the roots in a ConfigMap bundle: newest
// NotBefore first, whatever their roles (roots of the same second keep
// their order, the issuing root first). A rotation then changes the
// bundle's bytes only when it changes its set of roots (a next root
// published, a retired one dropped): promoting the next CA writes nothing.
func bundleOrder(roots []*x509.Certificate) []*x509.Certificate {
	out := slices.Clone(roots)
	slices.SortStableFunc(out, func(a, b *x509.Certificate) int { return b.NotBefore.Compare(a.NotBefore) })
	return out
}

// errForeignConfigMap: a ConfigMap of the bundle's name exists that the
// issuer did not publish.
var errForeignConfigMap = errors.New("was not published by this issuer")

// publishConfigMap writes one ConfigMap bundle, never over a ConfigMap the
// issuer did not create: it may be another issuer's bundle (a tenant's
// issuer must not replace the roots a cluster issuer publishes in its
// namespace) or a user's, which the owner reference would have
// garbage-collected with the issuer.
//
// cached is the issuer's bundle as the cache holds it, nil when the cache
// lacks it. A bundle the cache holds as wanted is not written; one it holds
// otherwise is applied with the cached UID as a precondition (a stale
// entry fails the write instead of overwriting what replaced it). A name
// the cache lacks is read live: absent, the bundle is created (a
// ConfigMap made meanwhile fails the create); present, it is applied
// only when it carries the issuer's trust-of label, with the UID read.
func (t *Publisher) publishConfigMap(ctx context.Context, v issuer.View, key types.NamespacedName, data string, cached *corev1.ConfigMap) error {
	want := &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name: key.Name, Namespace: key.Namespace,
			Labels:          map[string]string{trustOfLabel: trustOf(v.Ref), issuer.ManagedByLabel: issuer.ManagedByValue},
			Annotations:     map[string]string{trustIssuerAnnot: v.String()},
			OwnerReferences: []metav1.OwnerReference{v.OwnerRef()},
		},
		Data: map[string]string{issuer.SecretKeyCA: data},
	}
	if cached != nil {
		if upToDate(cached, want) {
			return nil
		}
		err := t.applyConfigMap(ctx, v, want, cached.UID)
		if !apierrors.IsConflict(err) && !apierrors.IsInvalid(err) {
			return err
		}
		// The cache was stale: decide from the live object.
	}
	uid, err := t.checkConfigMapOwner(ctx, key, v)
	if err != nil {
		return err
	}
	if uid == "" {
		if err := t.Client.Create(ctx, want.DeepCopy(), client.FieldOwner(trustFieldOwner)); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("ConfigMap %s %w (it was created while the bundle was being published) and is left alone: choose another spec.ca.trustBundle.configMap.name or delete that ConfigMap", key, errForeignConfigMap)
			}
			return fmt.Errorf("cannot publish the trust bundle ConfigMap %s of %s: %w", key, v, err)
		}
		return nil
	}
	return t.applyConfigMap(ctx, v, want, uid)
}

// applyConfigMap applies want under the trust field owner, to the object
// of UID uid only.
func (t *Publisher) applyConfigMap(ctx context.Context, v issuer.View, want *corev1.ConfigMap, uid types.UID) error {
	obj := want.DeepCopy()
	obj.UID = uid
	body, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: want.Name, Namespace: want.Namespace}}
	if err := t.Client.Patch(ctx, cm, client.RawPatch(types.ApplyPatchType, body), client.FieldOwner(trustFieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("cannot publish the trust bundle ConfigMap %s/%s of %s: %w", want.Namespace, want.Name, v, err)
	}
	return nil
}

// publishWhy is a short reason for a namespace that failed.
func publishWhy(err error) string {
	switch {
	case errors.Is(err, errForeignConfigMap):
		return err.Error()
	case apierrors.IsForbidden(err):
		return "forbidden: " + apiMessage(err)
	}
	return apiMessage(err)
}

// apiMessage is the API server's own message of err, or err.
func apiMessage(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Message != "" {
		return status.Status().Message
	}
	return err.Error()
}

// checkConfigMapOwner refuses a ConfigMap key that exists without v's
// trust-of label (read live, not from a cache); it returns the UID of the
// issuer's ConfigMap, "" when there is none.
func (t *Publisher) checkConfigMapOwner(ctx context.Context, key types.NamespacedName, v issuer.View) (types.UID, error) {
	existing := &metav1.PartialObjectMetadata{}
	existing.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
	if err := t.Reader.Get(ctx, key, existing); err != nil {
		if apierrors.IsNotFound(err) {
			return "", nil
		}
		return "", fmt.Errorf("cannot read the trust bundle ConfigMap %s of %s: %w", key, v, err)
	}
	if existing.Labels[trustOfLabel] == trustOf(v.Ref) {
		return existing.UID, nil
	}
	return "", fmt.Errorf("ConfigMap %s %w and is left alone: choose another spec.ca.trustBundle.configMap.name or delete that ConfigMap", key, errForeignConfigMap)
}

// bundleNamespaces is where a ConfigMap bundle goes: an NstanceIssuer's own
// namespace; for a cluster issuer the selected namespaces, or the cluster
// resource namespace without a selector.
func (t *Publisher) bundleNamespaces(ctx context.Context, v issuer.View, spec *v1alpha1.ConfigMapBundle) ([]string, error) {
	if v.Ref.Kind == issuer.KindIssuer {
		return []string{v.Ref.Namespace}, nil
	}
	if spec.NamespaceSelector == nil {
		return []string{t.ClusterResourceNamespace}, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(spec.NamespaceSelector)
	if err != nil {
		return nil, fmt.Errorf("spec.ca.trustBundle.configMap.namespaceSelector of %s: %w", v, err)
	}
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NamespaceList"))
	if err := t.Client.List(ctx, list, client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, fmt.Errorf("cannot list namespaces for the trust bundle of %s: %w", v, err)
	}
	var out []string
	for _, ns := range list.Items {
		if ns.DeletionTimestamp.IsZero() {
			out = append(out, ns.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// ctbName is the name the API requires for a bundle of signerName:
// "<signerName with / as :>:<suffix>".
func ctbName(issuer, fingerprint string) string {
	return strings.ReplaceAll(signerName(issuer), "/", ":") + ":" + pki.ShortFingerprint(fingerprint)
}

// publishClusterTrustBundles applies the ClusterTrustBundle of each live
// root that is missing or differs (listed live, by label: one read per
// reconcile, no write at steady state) and deletes the issuer's others.
func (t *Publisher) publishClusterTrustBundles(ctx context.Context, v issuer.View, enabled bool, roots []*x509.Certificate) error {
	if t.CTBVersion == "" {
		return nil
	}
	gv := schema.GroupVersion{Group: ctbGroup, Version: t.CTBVersion}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gv.WithKind(ctbKind + "List"))
	if err := t.Reader.List(ctx, list, client.MatchingLabelsSelector{Selector: labels.SelectorFromSet(labels.Set{trustOfLabel: trustOf(v.Ref)})}); err != nil {
		return fmt.Errorf("cannot list the ClusterTrustBundles of %s: %w", v, err)
	}
	existing := map[string]*unstructured.Unstructured{}
	for i := range list.Items {
		existing[list.Items[i].GetName()] = &list.Items[i]
	}
	want := map[string]bool{}
	if enabled {
		for _, root := range roots {
			name := ctbName(v.Ref.Name, pki.Fingerprint(root))
			want[name] = true
			bundle := string(pki.EncodeCertificates(root))
			if cur := existing[name]; cur != nil && ctbUpToDate(cur, v, bundle) {
				continue
			}
			body, err := json.Marshal(map[string]any{
				"apiVersion": gv.String(), "kind": ctbKind,
				"metadata": map[string]any{
					"name":            name,
					"labels":          map[string]string{trustOfLabel: trustOf(v.Ref), issuer.ManagedByLabel: issuer.ManagedByValue},
					"annotations":     map[string]string{trustIssuerAnnot: v.String()},
					"ownerReferences": []metav1.OwnerReference{v.OwnerRef()},
				},
				"spec": map[string]any{"signerName": signerName(v.Ref.Name), "trustBundle": bundle},
			})
			if err != nil {
				return err
			}
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(gv.WithKind(ctbKind))
			u.SetName(name)
			if err := t.Client.Patch(ctx, u, client.RawPatch(types.ApplyPatchType, body), client.FieldOwner(trustFieldOwner), client.ForceOwnership); err != nil {
				return fmt.Errorf("cannot publish ClusterTrustBundle %s of %s: %w", name, v, err)
			}
		}
	}
	for name, item := range existing {
		if want[name] {
			continue
		}
		if err := t.Client.Delete(ctx, item); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("cannot delete the stale ClusterTrustBundle %s: %w", name, err)
		}
	}
	return nil
}

// ctbUpToDate tells whether the ClusterTrustBundle cur holds what
// publishClusterTrustBundles would apply for v with bundle.
func ctbUpToDate(cur *unstructured.Unstructured, v issuer.View, bundle string) bool {
	signer, _, _ := unstructured.NestedString(cur.Object, "spec", "signerName")
	got, _, _ := unstructured.NestedString(cur.Object, "spec", "trustBundle")
	return signer == signerName(v.Ref.Name) && got == bundle &&
		holds(cur.GetLabels(), map[string]string{trustOfLabel: trustOf(v.Ref), issuer.ManagedByLabel: issuer.ManagedByValue}) &&
		holds(cur.GetAnnotations(), map[string]string{trustIssuerAnnot: v.String()}) &&
		holdsOwners(cur.GetOwnerReferences(), []metav1.OwnerReference{v.OwnerRef()})
}
