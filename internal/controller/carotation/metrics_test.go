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
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/rotation"
)

// TestReissueMetricMirrorsStatus: the re-issue gauge holds the counts of
// status.rotation.reissue per state, goes when the status has no re-issue
// or the issuer is forgotten, and never touches another issuer's series.
func TestReissueMetricMirrorsStatus(t *testing.T) {
	ref := issuer.Ref{Kind: issuer.KindClusterIssuer, NamespacedName: types.NamespacedName{Name: "reissue-metrics"}}
	other := issuer.Ref{Kind: issuer.KindIssuer, NamespacedName: types.NamespacedName{Namespace: "team-a", Name: "reissue-metrics"}}
	t.Cleanup(func() { forgetRotationMetrics(ref); forgetRotationMetrics(other) })

	setRotationMetrics(other, v1alpha1.RotationStatus{Phase: v1alpha1.CARotationStable, Reissue: &v1alpha1.ReissueStatus{Pending: 9}}, rotation.Decision{}, false)
	setRotationMetrics(ref, v1alpha1.RotationStatus{Phase: v1alpha1.CARotationRetiring,
		Reissue: &v1alpha1.ReissueStatus{Total: 10, Reissued: 4, InProgress: 3, Failed: 1, Pending: 2}}, rotation.Decision{}, false)
	want := map[string]float64{ReissueStateReissued: 4, ReissueStateInProgress: 3, ReissueStateFailed: 1, ReissueStatePending: 2}
	for state, v := range want {
		if got := testutil.ToFloat64(reissueCertificates.WithLabelValues(ref.Kind, ref.Namespace, ref.Name, state)); got != v {
			t.Errorf("state %s = %v, want %v", state, got, v)
		}
	}

	// A rotation status without a re-issue removes the issuer's series,
	// and only its own.
	setRotationMetrics(ref, v1alpha1.RotationStatus{Phase: v1alpha1.CARotationStable}, rotation.Decision{}, false)
	for state := range want {
		if reissueCertificates.DeleteLabelValues(ref.Kind, ref.Namespace, ref.Name, state) {
			t.Errorf("state %s still exported after the re-issue left the status", state)
		}
	}
	if got := testutil.ToFloat64(reissueCertificates.WithLabelValues(other.Kind, other.Namespace, other.Name, ReissueStatePending)); got != 9 {
		t.Errorf("another issuer's pending = %v, want 9", got)
	}
	forgetRotationMetrics(other)
	if reissueCertificates.DeleteLabelValues(other.Kind, other.Namespace, other.Name, ReissueStatePending) {
		t.Errorf("a forgotten issuer's re-issue series is still exported")
	}
}
