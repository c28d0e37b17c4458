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

package controller

import (
	"regexp"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/nstance-dev/nstance-issuer/internal/controller/carotation"
	"github.com/nstance-dev/nstance-issuer/internal/controller/eventrec"
	"github.com/nstance-dev/nstance-issuer/internal/controller/signing"
	"github.com/nstance-dev/nstance-issuer/internal/controller/trust"
	"github.com/nstance-dev/nstance-issuer/internal/keys"
)

// Every metric the controllers export is registered here, once, from the
// list MetricNames reads: each package owns its metrics and lists them in
// its Collectors.
func init() {
	metrics.Registry.MustRegister(collectors()...)
}

// collectors are every metric the controllers export.
func collectors() []prometheus.Collector {
	var all []prometheus.Collector
	for _, c := range [][]prometheus.Collector{signing.Collectors(), trust.Collectors(), carotation.Collectors(), keys.Collectors(), eventrec.Collectors()} {
		all = append(all, c...)
	}
	return all
}

var fqNameRE = regexp.MustCompile(`fqName: "([^"]+)"`)

// MetricNames lists the name of every metric the controllers export, for
// the tests that hold the README and the chart's PrometheusRule to them.
func MetricNames() []string {
	var names []string
	for _, c := range collectors() {
		ch := make(chan *prometheus.Desc, 8)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			// Desc keeps its name private; its String form carries it.
			if m := fqNameRE.FindStringSubmatch(d.String()); m != nil {
				names = append(names, m[1])
			}
		}
	}
	sort.Strings(names)
	return names
}
