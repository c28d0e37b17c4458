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

package keys

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	operationDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "nstance_issuer_ca_key_operation_duration_seconds",
		Help:    "Time of each operation on a CA key held in a KMS or an HSM (sign, public_key, create_key), by backend (awskms, pkcs11), failures included.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16), // 0.1 ms to 3.3 s
	}, []string{"backend", "operation"})
	operationErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nstance_issuer_ca_key_operation_errors_total",
		Help: "Failed operations on a CA key held in a KMS or an HSM, by backend, operation and reason (PermissionDenied, KeyNotFound, KeyDisabled, WrongKeyType, Throttled, Unavailable, ...).",
	}, []string{"backend", "operation", "reason"})
)

// Collectors are the metrics of CA keys, for the composition root to
// register.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{operationDuration, operationErrors}
}

// observe records one operation, failed with err when not nil.
func observe(backend, op string, start time.Time, err *Error) {
	operationDuration.WithLabelValues(backend, op).Observe(time.Since(start).Seconds())
	if err != nil {
		operationErrors.WithLabelValues(backend, op, err.Reason).Inc()
	}
}
