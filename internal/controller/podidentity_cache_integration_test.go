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
	"fmt"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/internal/controller/podcert"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
)

// TestPodIdentityReadsThePodLiveAndUIDsFromTheCache runs the pod identity
// check the reconciler runs, with the manager's own cache of
// ServiceAccount and Node UIDs, against the real API server, and counts
// its live reads: one per request (the Pod) once the cache holds the
// ServiceAccount and Node, where the check without the cache read three.
// A Node, ServiceAccount or Pod deleted and created again under the same
// name (a new UID) is still refused to a request naming the old UID. On
// the code before the cache every check read all three live.
func TestPodIdentityReadsThePodLiveAndUIDsFromTheCache(t *testing.T) {
	ctx := t.Context()
	ns := newNamespace(t)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "recreated-" + ns}}
	create(t, node)
	t.Cleanup(func() {
		_ = k8s.Delete(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node.Name}})
	})
	vol := framework.PodCertificateVolume{SignerName: "nstanceclusterissuers.issuer.nstance.dev/none", KeyType: "ECDSAP256"}
	pod, sa, err := framework.CreatePod(ctx, k8s, ns, "web-0", "app", node, vol)
	if err != nil {
		t.Fatal(err)
	}
	live, err := client.NewWithWatch(restConfig, client.Options{Scheme: k8s.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	var reads requestCounts
	reader := reads.counting(live)
	request := func(podUID, saUID, nodeUID types.UID) *certificatesv1.PodCertificateRequest {
		return &certificatesv1.PodCertificateRequest{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "req"},
			Spec: certificatesv1.PodCertificateRequestSpec{
				SignerName: vol.SignerName, PodName: pod.Name, PodUID: podUID,
				ServiceAccountName: sa.Name, ServiceAccountUID: saUID,
				NodeName: types.NodeName(node.Name), NodeUID: nodeUID,
			},
		}
	}
	check := func(pcr *certificatesv1.PodCertificateRequest) (reason string, liveReads int64) {
		t.Helper()
		reads.reset()
		refusal, err := podcert.CheckIdentityCached(ctx, reader, manager.GetClient(), pcr)
		if err != nil {
			t.Fatal(err)
		}
		_, r := reads.reset()
		if refusal != nil {
			return refusal.Reason, r
		}
		return "", r
	}
	exact := request(pod.UID, sa.UID, node.UID)

	// Without the cache: three live reads.
	reads.reset()
	if refusal, err := podcert.CheckIdentity(ctx, reader, exact); err != nil || refusal != nil {
		t.Fatalf("uncached check of the exact identity: refusal %+v, error %v", refusal, err)
	}
	_, uncached := reads.reset()
	t.Logf("uncached: %d live reads per request", uncached)

	eventually(t, "the exact identity to be checked with one live read", func(context.Context) error {
		reason, r := check(exact)
		if reason != "" {
			return fmt.Errorf("refused: %s", reason)
		}
		if r != 1 {
			return fmt.Errorf("%d live reads", r)
		}
		return nil
	})
	for i := range 3 {
		if reason, r := check(exact); reason != "" || r != 1 {
			t.Errorf("check %d of the exact identity: refusal %q, %d live reads; want none and 1 (the Pod)", i, reason, r)
		}
	}

	// The Node and the ServiceAccount deleted and created again under
	// their names: the old UIDs are refused, by a live read.
	if err := k8s.Delete(ctx, node); err != nil {
		t.Fatal(err)
	}
	node2 := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node.Name}}
	create(t, node2)
	if err := k8s.Delete(ctx, sa); err != nil {
		t.Fatal(err)
	}
	sa2 := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sa.Name}}
	create(t, sa2)
	// The window a stale cache leaves (podcert/uidcache.go) is the watch's
	// delay; the refusal is asserted once the cache has seen the new
	// objects, and holds at every check after.
	eventually(t, "the manager's cache to see the re-created Node and ServiceAccount", func(ctx context.Context) error {
		for _, o := range []struct {
			kind string
			key  client.ObjectKey
			uid  types.UID
		}{{"Node", client.ObjectKey{Name: node2.Name}, node2.UID}, {"ServiceAccount", client.ObjectKeyFromObject(sa2), sa2.UID}} {
			m := &metav1.PartialObjectMetadata{}
			m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(o.kind))
			if err := manager.GetClient().Get(ctx, o.key, m); err != nil {
				return err
			}
			if m.UID != o.uid {
				return fmt.Errorf("%s %s cached with UID %s", o.kind, o.key, m.UID)
			}
		}
		return nil
	})
	for _, tc := range []struct {
		name, reason string
		pcr          *certificatesv1.PodCertificateRequest
	}{
		{"the re-created node's old UID", podcert.ReasonNodeMismatch, request(pod.UID, sa2.UID, node.UID)},
		{"the re-created service account's old UID", podcert.ReasonServiceAccountMismatch, request(pod.UID, sa.UID, node2.UID)},
	} {
		if reason, _ := check(tc.pcr); reason != tc.reason {
			t.Errorf("%s: refusal %q, want %s", tc.name, reason, tc.reason)
		}
	}
	if reason, r := check(request(pod.UID, sa2.UID, node2.UID)); reason != "" || r != 1 {
		t.Errorf("the new UIDs: refusal %q, %d live reads; want none and 1", reason, r)
	}

	// The Pod is always read live: re-created, its old UID is refused at once.
	if err := k8s.Delete(ctx, pod, client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	pod2, _, err := framework.CreatePod(ctx, k8s, ns, pod.Name, sa.Name, node2, vol)
	if err != nil {
		t.Fatal(err)
	}
	if reason, _ := check(request(pod.UID, sa2.UID, node2.UID)); reason != podcert.ReasonPodUIDMismatch {
		t.Errorf("the re-created pod's old UID: refusal %q, want %s", reason, podcert.ReasonPodUIDMismatch)
	}
	if reason, r := check(request(pod2.UID, sa2.UID, node2.UID)); reason != "" || r != 1 {
		t.Errorf("the re-created pod's new UID: refusal %q, %d live reads; want none and 1", reason, r)
	}
}
