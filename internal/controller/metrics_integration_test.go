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

	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// seriesOf counts the samples of metric name, in the in-process manager's
// registry, whose labels include want.
func seriesOf(t *testing.T, name string, want map[string]string) int {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			match := true
			for k, v := range want {
				match = match && have[k] == v
			}
			if match {
				n++
			}
		}
	}
	return n
}

// TestDeletedIssuerDropsItsMetricSeries: the series of an issuer that signed
// and publishes a bundle — its CA expiry, signing counters, lifecycle
// phase and bundle publication — are gone once it is deleted, whichever
// controller owns each, so no alert fires for an issuer that is gone.
func TestDeletedIssuerDropsItsMetricSeries(t *testing.T) {
	ns, _, iss := readyWebIssuer(t, "Metrics Root CA", func(i *v1alpha1.NstanceIssuer) {
		i.Spec.CA.TrustBundle = &v1alpha1.TrustBundle{ConfigMap: &v1alpha1.ConfigMapBundle{Name: "ca-bundle"}}
	})
	signWeb(t, ns)
	labels := map[string]string{"kind": "NstanceIssuer", "namespace": ns, "name": "web"}
	names := []string{
		"nstance_issuer_ca_expiration_timestamp_seconds",
		"nstance_issuer_signing_requests_total",
		"nstance_issuer_ca_rotation_phase",
		"nstance_issuer_trust_bundle_publish_failures",
	}
	for _, name := range names {
		eventually(t, name+" of the issuer exported", func(context.Context) error {
			if seriesOf(t, name, labels) == 0 {
				return fmt.Errorf("no series")
			}
			return nil
		})
	}
	if err := k8s.Delete(t.Context(), iss); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		eventually(t, name+" of the deleted issuer gone", func(context.Context) error {
			if n := seriesOf(t, name, labels); n > 0 {
				return fmt.Errorf("%d series left", n)
			}
			return nil
		})
	}
}
