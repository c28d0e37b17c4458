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

package trust

import "github.com/prometheus/client_golang/prometheus"

// publishFailures counts the namespaces where an issuer's trust bundle
// ConfigMap could not be written.
var publishFailures = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "nstance_issuer_trust_bundle_publish_failures",
	Help: "Namespaces where an issuer's trust bundle ConfigMap could not be written at its last reconcile (a ConfigMap of that name it did not make, a quota, a refused write); the other namespaces are written.",
}, []string{"kind", "namespace", "name"})

// Collectors are the metrics of trust publication, for the composition
// root to register.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{publishFailures}
}
