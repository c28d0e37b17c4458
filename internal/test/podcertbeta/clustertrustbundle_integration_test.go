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

package podcertbeta_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/trust"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
)

// TestClusterTrustBundlesAtV1beta1FollowARotation: on 1.36, with the
// ClusterTrustBundle gate on, the controller detects v1beta1 at start-up
// and a cluster issuer publishes one ClusterTrustBundle per live root
// there, named after and carrying its signer name; a rotation adds the
// next root, and once the old root's last certificate has expired its
// bundle is deleted.
func TestClusterTrustBundlesAtV1beta1FollowARotation(t *testing.T) {
	ctx := t.Context()
	version, err := trust.DetectClusterTrustBundle(discoveryClient(t))
	if err != nil {
		t.Fatal(err)
	}
	if version != "v1beta1" {
		t.Fatalf("ClusterTrustBundle served at %q, want v1beta1 only (1.36 assets with the ClusterTrustBundle gate)", version)
	}
	name := fmt.Sprintf("ctb-beta-%d", time.Now().UnixNano()%1_000_000)
	issuer := &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.IssuerSpec{CA: v1alpha1.CASpec{
			SecretName:  name + "-ca",
			Generate:    &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "Beta Rotating CA"}},
			Rotation:    &v1alpha1.CARotation{PropagationDelay: &metav1.Duration{}},
			TrustBundle: &v1alpha1.TrustBundle{ClusterTrustBundle: true},
		}},
	}
	if err := k8s.Create(ctx, issuer); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), issuer) })

	first := waitClusterGenerations(t, issuer, v1alpha1.CARotationStable, v1alpha1.CAGenerationIssuing)[0].SHA256Fingerprint
	waitBetaCTBs(t, name, first)

	if err := patchAnnotation(ctx, issuer, v1alpha1.RotateNowAnnotation, "beta-1"); err != nil {
		t.Fatal(err)
	}
	gens := waitClusterGenerations(t, issuer, v1alpha1.CARotationRetiring, v1alpha1.CAGenerationIssuing, v1alpha1.CAGenerationRetiring)
	next := gens[0].SHA256Fingerprint
	if gens[1].SHA256Fingerprint != first || next == first {
		t.Fatalf("generations after rotate-now: issuing %s, retiring %s; want a new CA and %s retiring", next, gens[1].SHA256Fingerprint, first)
	}
	waitBetaCTBs(t, name, next, first)

	// The last certificate of the old CA expires (the test moves the time
	// recorded in the CA Secret into the past rather than wait for it): its
	// bundle goes.
	if err := framework.ExpireRetired(ctx, k8s, client.ObjectKey{Namespace: clusterResourceNamespace, Name: name + "-ca"}, time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := patchAnnotation(ctx, issuer, "test/poke", "1"); err != nil {
		t.Fatal(err)
	}
	waitClusterGenerations(t, issuer, v1alpha1.CARotationStable, v1alpha1.CAGenerationIssuing)
	waitBetaCTBs(t, name, next)
}

func patchAnnotation(ctx context.Context, obj client.Object, key, value string) error {
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, key, value)
	return k8s.Patch(ctx, obj, client.RawPatch("application/merge-patch+json", []byte(patch)))
}

// waitClusterGenerations waits for the phase and the roles of the
// generations, in order, and returns them.
func waitClusterGenerations(t *testing.T, issuer *v1alpha1.NstanceClusterIssuer, phase v1alpha1.CARotationPhase, roles ...v1alpha1.CAGenerationRole) []v1alpha1.CAGeneration {
	t.Helper()
	var gens []v1alpha1.CAGeneration
	if err := framework.Eventually(t.Context(), fmt.Sprintf("phase %s with generations %v", phase, roles), framework.RotationReached(k8s, issuer, &gens, phase, roles...)); err != nil {
		t.Fatal(err)
	}
	return gens
}

// waitBetaCTBs waits until the v1beta1 ClusterTrustBundles of cluster
// issuer name hold exactly the roots fps, one each, named after and
// carrying its signer name.
func waitBetaCTBs(t *testing.T, name string, fps ...string) {
	t.Helper()
	signer := "nstanceclusterissuers.issuer.nstance.dev/" + name
	if err := framework.Eventually(t.Context(), fmt.Sprintf("%d v1beta1 ClusterTrustBundles of %s", len(fps), signer), framework.ClusterTrustBundlesHold(k8s, "v1beta1", signer, fps...)); err != nil {
		t.Fatal(err)
	}
}

func discoveryClient(t *testing.T) discovery.DiscoveryInterface {
	t.Helper()
	d, err := discovery.NewDiscoveryClientForConfig(restConfig)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
