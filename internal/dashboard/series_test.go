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

package dashboard

import (
	"strings"
	"testing"
)

const scrape = `# TYPE nstance_issuer_signing_requests_total counter
nstance_issuer_signing_requests_total{kind="NstanceClusterIssuer",name="ca",namespace="",outcome="issued",template="web"} 3
nstance_issuer_signing_requests_total{kind="NstanceClusterIssuer",name="ca",namespace="",outcome="refused",template="web"} 1
# TYPE nstance_issuer_signing_duration_seconds histogram
nstance_issuer_signing_duration_seconds_bucket{kind="NstanceClusterIssuer",outcome="issued",le="0.001"} 1
nstance_issuer_signing_duration_seconds_bucket{kind="NstanceClusterIssuer",outcome="issued",le="+Inf"} 3
nstance_issuer_signing_duration_seconds_sum{kind="NstanceClusterIssuer",outcome="issued"} 0.01
nstance_issuer_signing_duration_seconds_count{kind="NstanceClusterIssuer",outcome="issued"} 3
`

func TestSeriesCheck(t *testing.T) {
	t.Parallel()
	s, err := ParseSeries(strings.NewReader(scrape))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, expr, text string
		want             []string
	}{
		{name: "a query of existing series with their labels passes",
			expr: `sum by (outcome) (rate(nstance_issuer_signing_requests_total{kind=~"$kind", namespace=~"$namespace", outcome="issued"}[$__rate_interval]))`, text: "{{outcome}}"},
		{name: "a histogram's buckets carry le",
			expr: `histogram_quantile(0.99, sum by (le, outcome) (rate(nstance_issuer_signing_duration_seconds_bucket{kind=~"$kind"}[5m])))`},
		{name: "a metric without series fails", expr: `nstance_issuer_signing_refusals_total`, want: []string{"nstance_issuer_signing_refusals_total has no series"}},
		{name: "a matcher no series satisfies fails", expr: `nstance_issuer_signing_requests_total{outcome="error"}`, want: []string{`no series of nstance_issuer_signing_requests_total matches {outcome="error"}`}},
		{name: "a regex matcher needs its label, not its values", expr: `nstance_issuer_signing_requests_total{outcome=~"error|template_error"}`},
		{name: "a regex matcher on a label the series lack fails", expr: `nstance_issuer_signing_requests_total{reason=~".*"}`, want: []string{"no series of nstance_issuer_signing_requests_total matches"}},
		{name: "a grouping label the series lack fails", expr: `sum by (reason) (nstance_issuer_signing_requests_total)`, want: []string{"label reason is on no series"}},
		{name: "a legend label the series lack fails", expr: `nstance_issuer_signing_duration_seconds_count`, text: "{{name}}", want: []string{"label name is on no series"}},
		{name: "an alert's $labels are checked too", expr: `nstance_issuer_signing_requests_total > 0`, text: "CA of {{ $labels.kind }} {{ $labels.phase }}", want: []string{"label phase is on no series"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := s.Check(tc.expr, tc.text)
			if len(got) != len(tc.want) {
				t.Fatalf("problems %q, want %q", got, tc.want)
			}
			for i := range got {
				if !strings.Contains(got[i], tc.want[i]) {
					t.Errorf("problem %q, want %q", got[i], tc.want[i])
				}
			}
		})
	}
}
