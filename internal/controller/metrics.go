package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// caExpiry exposes each issuer's CA NotAfter, so an alert can fire long
// before the CA, and with it every certificate it signed, expires.
var caExpiry = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "nstance_issuer_ca_expiration_timestamp_seconds",
	Help: "NotAfter of the CA certificate of each issuer, as a Unix timestamp.",
}, []string{"kind", "namespace", "name"})

func init() {
	metrics.Registry.MustRegister(caExpiry)
}
