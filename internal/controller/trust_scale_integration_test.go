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
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/controller/trust"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

// requestCounts counts what a client sends to the API server.
type requestCounts struct {
	writes, reads atomic.Int64
}

// counting wraps c: every create, patch, update and delete counts as a
// write, every get and list as a read.
func (n *requestCounts) counting(c client.WithWatch) client.WithWatch {
	return interceptor.NewClient(c, interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			n.writes.Add(1)
			return c.Create(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
			n.writes.Add(1)
			return c.Patch(ctx, obj, p, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			n.writes.Add(1)
			return c.Update(ctx, obj, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			n.writes.Add(1)
			return c.Delete(ctx, obj, opts...)
		},
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			n.reads.Add(1)
			return c.Get(ctx, key, obj, opts...)
		},
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			n.reads.Add(1)
			return c.List(ctx, list, opts...)
		},
	})
}

func (n *requestCounts) reset() (writes, reads int64) {
	return n.writes.Swap(0), n.reads.Swap(0)
}

// bundleIssuer is a cluster issuer (never created: no controller acts on
// it) whose ConfigMap bundle goes to the namespaces labelled label=yes.
func bundleIssuer(t *testing.T, name, label string) issuer.View {
	t.Helper()
	obj := &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name)},
		Spec: v1alpha1.IssuerSpec{CA: v1alpha1.CASpec{TrustBundle: &v1alpha1.TrustBundle{
			ConfigMap: &v1alpha1.ConfigMapBundle{Name: "scale-ca", NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{label: "yes"}}},
		}}},
	}
	v, err := issuer.NewView(obj, clusterResourceNamespace)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestTrustPublicationWritesOnlyWhatDiffers publishes a cluster issuer's
// bundle into selected namespaces through the Publisher the manager uses,
// with the manager's own cache of bundles, against the real API server,
// and counts its requests: one write per namespace when the roots change
// (first publication, rotation), none at steady state, and no live read
// but for the one name the cache cannot hold (a tenant's squatted
// ConfigMap, which is reported and never overwritten). On the code before
// the cache, every Publish wrote every namespace again (and read each one
// live first).
func TestTrustPublicationWritesOnlyWhatDiffers(t *testing.T) {
	ctx := t.Context()
	label := "scale-" + strings.TrimPrefix(newNamespace(t), "it-")
	var namespaces []string
	for range 5 {
		ns := newNamespace(t)
		patchLabels(t, ns, map[string]any{label: "yes"})
		namespaces = append(namespaces, ns)
	}
	squatted := namespaces[4]
	squat := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: squatted, Name: "scale-ca"}, Data: map[string]string{"ca.crt": "a tenant's"}}
	create(t, squat)
	v := bundleIssuer(t, "scale-"+label, label)

	live, err := client.NewWithWatch(restConfig, client.Options{Scheme: k8s.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	var writes, reads requestCounts
	pub := &trust.Publisher{
		Client:                   writes.counting(live),
		Reader:                   reads.counting(live),
		Cache:                    manager.GetClient(),
		ClusterResourceNamespace: clusterResourceNamespace,
	}
	publish := func(what string, roots ...*x509.Certificate) (int64, int64) {
		t.Helper()
		p := pub.Publish(ctx, v, roots)
		if p.Gate != nil {
			t.Fatalf("%s: gate %v", what, p.Gate)
		}
		if len(p.Failed) != 1 || p.Failed[0].Namespace != squatted || !strings.Contains(p.Failed[0].Why, "was not published by this issuer") {
			t.Fatalf("%s: failures %+v, want the squatted namespace %s alone", what, p.Failed, squatted)
		}
		w, r := writes.reset()
		_, rr := reads.reset()
		t.Logf("%s: %d writes, %d live reads (namespace list: %d)", what, w, rr, r)
		return w, rr
	}
	// cached waits until the manager's cache holds the issuer's bundles
	// with the roots of pem.
	cached := func(pem string) {
		t.Helper()
		eventually(t, "the manager's cache to hold the published bundles", func(ctx context.Context) error {
			var list corev1.ConfigMapList
			if err := manager.GetClient().List(ctx, &list, client.MatchingLabels{"issuer.nstance.dev/trust-of": issuer.ShortHash(v.Ref.Kind + "/" + v.Ref.Namespace + "/" + v.Ref.Name)}); err != nil {
				return err
			}
			if len(list.Items) != 4 {
				return fmt.Errorf("%d bundles cached, want 4", len(list.Items))
			}
			for _, cm := range list.Items {
				if _, ok := cm.Data["ca.crt"]; ok || cm.Data["ca.crt.sha256"] != sha256Hex(pem) {
					return fmt.Errorf("cached %s/%s holds %v, want only the digest of the roots", cm.Namespace, cm.Name, cm.Data)
				}
			}
			return nil
		})
	}
	// The next root is newer, as a generated next CA always is.
	first, second := validCA(t, "Scale Root 1"), newTestCA(t, "Scale Root 2", time.Now().Add(-30*time.Minute), time.Now().Add(365*24*time.Hour))

	if w, _ := publish("first publication", first.Cert); w != 4 {
		t.Errorf("first publication: %d writes, want 4 (one per selected namespace but the squatted one)", w)
	}
	cached(string(first.CertPEM))
	for i := range 3 {
		w, r := publish(fmt.Sprintf("steady state %d", i+1), first.Cert)
		if w != 0 {
			t.Errorf("steady state: %d writes, want 0", w)
		}
		if r != 1 {
			t.Errorf("steady state: %d live reads, want 1 (the squatted name, which the cache of the issuer's bundles cannot hold)", r)
		}
	}
	var both string
	for _, c := range []*testpki.CA{first, second} {
		if pki.Fingerprint(c.Cert) == newestFirst(first.Cert, second.Cert)[0] {
			both = string(c.CertPEM) + both
		} else {
			both += string(c.CertPEM)
		}
	}
	if w, _ := publish("rotation", first.Cert, second.Cert); w != 4 {
		t.Errorf("rotation: %d writes, want 4 (exactly one per namespace)", w)
	}
	for _, ns := range namespaces[:4] {
		waitBundle(t, ns, "scale-ca", newestFirst(first.Cert, second.Cert)...)
	}
	cached(both)
	if w, _ := publish("steady state after the rotation", first.Cert, second.Cert); w != 0 {
		t.Errorf("steady state after the rotation: %d writes, want 0", w)
	}
	// The next CA promoted: the live roots are the same set, the issuing
	// one now the second; no bundle is written again.
	if w, _ := publish("the next CA promoted", second.Cert, first.Cert); w != 0 {
		t.Errorf("the next CA promoted: %d writes, want 0 (the same roots)", w)
	}

	// A stale cache: the bundle in namespaces[0] is deleted and a tenant
	// makes a ConfigMap of its name before the cache sees it. Publishing
	// from a cache frozen before that (new roots, so the cache says
	// "ours, outdated") must not write over the tenant's.
	var frozen corev1.ConfigMapList
	if err := manager.GetClient().List(ctx, &frozen, client.MatchingLabels{"issuer.nstance.dev/trust-of": issuer.ShortHash(v.Ref.Kind + "/" + v.Ref.Namespace + "/" + v.Ref.Name)}); err != nil {
		t.Fatal(err)
	}
	var objs []client.Object
	for i := range frozen.Items {
		objs = append(objs, &frozen.Items[i])
	}
	pub.Cache = fake.NewClientBuilder().WithObjects(objs...).Build()
	victim := client.ObjectKey{Namespace: namespaces[0], Name: "scale-ca"}
	if err := k8s.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: victim.Namespace, Name: victim.Name}}); err != nil {
		t.Fatal(err)
	}
	create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: victim.Namespace, Name: victim.Name}, Data: map[string]string{"ca.crt": "the tenant's now"}})
	p := pub.Publish(ctx, v, []*x509.Certificate{second.Cert})
	var failedIn []string
	for _, f := range p.Failed {
		failedIn = append(failedIn, f.Namespace)
	}
	if p.Gate != nil || len(p.Failed) != 2 || !strings.Contains(strings.Join(failedIn, " "), victim.Namespace) {
		t.Errorf("publishing from a stale cache: gate %v, failures %+v; want the tenant's new ConfigMap and the squatted one reported", p.Gate, p.Failed)
	}
	for _, key := range []client.ObjectKey{victim, client.ObjectKeyFromObject(squat)} {
		var cur corev1.ConfigMap
		if err := k8s.Get(ctx, key, &cur); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(cur.Data["ca.crt"], "BEGIN CERTIFICATE") || len(cur.OwnerReferences) != 0 || len(cur.Labels) != 0 {
			t.Errorf("the tenant's ConfigMap %s was written over: data %v, owners %v, labels %v", key, cur.Data, cur.OwnerReferences, cur.Labels)
		}
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
