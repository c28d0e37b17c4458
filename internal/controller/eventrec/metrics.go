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

package eventrec

import "github.com/prometheus/client_golang/prometheus"

var (
	// dropped counts Events dropped because the queue was full or their
	// namespace's Events held half of it.
	dropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "nstance_issuer_events_dropped_total",
		Help: "Events not recorded because the queue of Events waiting to be written was full (the API server slower than the Events recorded, or away) or their namespace's Events held half of it.",
	})
	// failed counts Events given up after maxTries failed writes.
	failed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "nstance_issuer_events_failed_total",
		Help: "Events not written because the API server could not be reached in 5 attempts (refused Events are logged, not counted).",
	})
)

// Collectors are the metrics of Event recording, for the composition root
// to register.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{dropped, failed}
}
