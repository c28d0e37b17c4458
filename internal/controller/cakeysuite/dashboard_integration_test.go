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

package cakeysuite

import (
	"bytes"
	"testing"

	"github.com/prometheus/common/expfmt"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/nstance-dev/nstance-issuer/internal/dashboard"
)

// checkKeyPanels holds the dashboard's CA key panels (those the plain
// stack's scrape test skips: dashboard.Query.NeedsKeyBackend) to the
// series of this suite's manager, once it has signed with a KMS key and
// failed on a disabled one: each query names metrics with series and
// labels they carry.
func checkKeyPanels(t *testing.T) {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	for _, f := range families {
		if _, err := expfmt.MetricFamilyToText(&text, f); err != nil {
			t.Fatal(err)
		}
	}
	series, err := dashboard.ParseSeries(&text)
	if err != nil {
		t.Fatal(err)
	}
	queries, err := dashboard.Queries()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, q := range queries {
		if !q.NeedsKeyBackend() {
			continue
		}
		checked++
		for _, p := range series.Check(q.Expr, q.Legend) {
			t.Errorf("%s: %s", q.Where, p)
		}
	}
	if checked == 0 {
		t.Error("the dashboard has no panel of CA keys in a KMS or HSM")
	}
}
