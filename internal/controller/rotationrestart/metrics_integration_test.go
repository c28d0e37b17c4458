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

package rotationrestart_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// series gathers the registry the manager serves on /metrics and returns
// the samples of family name whose labels include match, keyed by their
// other labels ("k=v,k=v", sorted).
func series(t *testing.T, name string, match map[string]string) map[string]float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range match {
				if labels[k] != v {
					continue next
				}
				delete(labels, k)
			}
			var key []string
			for _, k := range slices.Sorted(maps.Keys(labels)) {
				key = append(key, k+"="+labels[k])
			}
			out[strings.Join(key, ",")] = value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetHistogram() != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return 0
}

// gaugeValue is the one sample of name matching labels; the test fails
// when there is not exactly one.
func gaugeValue(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	s := series(t, name, labels)
	if len(s) != 1 {
		t.Fatalf("%s%v: %d samples %v, want 1", name, labels, len(s), s)
	}
	for _, v := range s {
		return v
	}
	return 0
}

// wantSeries fails unless the samples of name matching labels are exactly want.
func wantSeries(t *testing.T, name string, labels map[string]string, want map[string]float64) {
	t.Helper()
	if err := sameSeries(t, name, labels, want); err != nil {
		t.Error(err)
	}
}

// sameSeries says how the samples of name matching labels differ from want.
func sameSeries(t *testing.T, name string, labels map[string]string, want map[string]float64) error {
	t.Helper()
	if have := series(t, name, labels); !maps.Equal(have, want) {
		return fmt.Errorf("%s%v = %v, want %v", name, labels, have, want)
	}
	return nil
}
