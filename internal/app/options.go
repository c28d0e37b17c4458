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

package app

import (
	"flag"
	"os"
	"time"

	"github.com/nstance-dev/nstance-issuer/internal/controller"
	"github.com/nstance-dev/nstance-issuer/internal/controller/carotation"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/controller/kubecsr"
	"github.com/nstance-dev/nstance-issuer/internal/keys"
	"github.com/nstance-dev/nstance-issuer/internal/webhook"
)

// Defaults of the options, in one place: NewOptions applies them and
// AddFlags shows them as the flags' defaults.
const (
	// DefaultClusterResourceNamespace is used when $POD_NAMESPACE is unset.
	DefaultClusterResourceNamespace = "nstance-issuer"
	DefaultMaxRetryDuration         = 24 * time.Hour
	DefaultCAExpiryWarning          = 30 * 24 * time.Hour
	DefaultMetricsBindAddress       = ":8080"
	DefaultHealthProbeBindAddress   = ":8081"
	DefaultLeaderElectionID         = "nstance-issuer-leader"
	// Leader election: controller-runtime's lease duration and renew
	// deadline, and a retry period of 1 s instead of its 2 s. A standby
	// notices a renewal only at its next try and the Lease's expiry only at
	// the try after it, each up to 2.2 retry periods apart (client-go's
	// jitter): after a SIGKILL, the next leader takes over within about the
	// lease duration plus 4.4 retry periods. With 2 s that is lease + 8.8 s
	// (nstance-chaos leader-kill measured up to lease + 5.4 s); with 1 s the
	// bound is lease + 4.4 s, for one Lease read per replica per second.
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = time.Second
)

// NewOptions returns the options with every default set: what the binary
// runs with when given no flags. The local stack and the load harness
// start from it too and change only what they must.
func NewOptions() *Options {
	ns := os.Getenv("POD_NAMESPACE")
	if ns == "" {
		ns = DefaultClusterResourceNamespace
	}
	return &Options{
		Controller: controller.Options{
			ClusterResourceNamespace:  ns,
			SetCAOnCertificateRequest: true,
			MaxConcurrentReconciles:   controller.DefaultMaxConcurrentReconciles,
			MaxRetryDuration:          DefaultMaxRetryDuration,
			CAExpiryWarning:           DefaultCAExpiryWarning,
			CSRAnnotationPolicy:       kubecsr.DefaultCSRAnnotationPolicy,
			ReissueBatchSize:          carotation.DefaultReissueBatchSize,
			ReissueInterval:           carotation.DefaultReissueInterval,
			ReissueStalledAfter:       carotation.DefaultReissueStalledAfter,
			MinCAGenerationInterval:   controller.DefaultMinCAGenerationInterval,
			KeyTimeout:                keys.DefaultTimeout,
		},
		Webhook: webhook.Options{
			ServiceName:          webhook.DefaultServiceName,
			CASecretName:         webhook.DefaultCASecretName,
			WebhookConfiguration: webhook.DefaultWebhookConfiguration,
		},
		MetricsBindAddress:     DefaultMetricsBindAddress,
		HealthProbeBindAddress: DefaultHealthProbeBindAddress,
		PprofBindAddress:       "0",
		LeaderElect:            true,
		LeaderElectionID:       DefaultLeaderElectionID,
		LeaseDuration:          DefaultLeaseDuration,
		RenewDeadline:          DefaultRenewDeadline,
		RetryPeriod:            DefaultRetryPeriod,
	}
}

// AddFlags registers every option as a flag on fs, with the option's
// current value as the default: call it on NewOptions(). The logging flags
// are zap's (--zap-*), bound to o.Zap.
func (o *Options) AddFlags(fs *flag.FlagSet) {
	c := &o.Controller
	fs.StringVar(&c.ClusterResourceNamespace, "cluster-resource-namespace", c.ClusterResourceNamespace,
		"Namespace NstanceClusterIssuers read their CA Secrets from (default: $POD_NAMESPACE, else "+DefaultClusterResourceNamespace+").")
	fs.BoolVar(&c.SetCAOnCertificateRequest, "set-ca-on-certificate-request", c.SetCAOnCertificateRequest,
		"Fill CertificateRequest status.ca, and so ca.crt in the Certificate's Secret, with the CA's root.")
	fs.IntVar(&c.MaxConcurrentReconciles, "max-concurrent-reconciles", c.MaxConcurrentReconciles,
		"Workers per controller (issuers, CertificateRequests, Kubernetes CSRs); signing a backlog scales with workers up to about 16, each mostly waiting for its status write.")
	fs.DurationVar(&c.MaxRetryDuration, "max-retry-duration", c.MaxRetryDuration,
		"How long an unexpected signing error is retried before the request is failed. CA problems never fail requests: they wait.")
	fs.DurationVar(&c.CAExpiryWarning, "ca-expiry-warning", c.CAExpiryWarning,
		"How long before a CA expires its issuer records a warning Event.")
	fs.BoolVar(&c.DisableKubernetesCSRs, "disable-kubernetes-csrs", c.DisableKubernetesCSRs,
		"Do not sign Kubernetes CertificateSigningRequests.")
	fs.BoolVar(&c.DisablePodCertificates, "disable-pod-certificates", c.DisablePodCertificates,
		"Do not sign Kubernetes PodCertificateRequests (certificates.k8s.io v1, or v1beta1 where only that is served).")
	fs.StringVar(&c.CSRAnnotationPolicy, "csr-annotation-policy", c.CSRAnnotationPolicy,
		"Name of the ValidatingAdmissionPolicy and binding (installed by the chart and config/) that keep a Kubernetes CSR's template, duration and isCA annotations as they were created. "+
			"A CSR of signer "+issuer.ClusterIssuerSignerPrefix+"<issuer>, whose template comes from its annotation, is signed only if this policy was in force when it was approved; "+
			kubecsr.TemplatedSignerPrefix+"<issuer>.<template> needs no policy.")
	fs.BoolVar(&c.AllowMutableCSRAnnotations, "insecure-allow-mutable-csr-annotations", c.AllowMutableCSRAnnotations,
		"Sign such a CSR even when that policy was not in force, with a warning Event: anyone allowed to update the CSR can then change its template between approval and signing.")
	fs.IntVar(&c.ReissueBatchSize, "reissue-batch-size", c.ReissueBatchSize,
		"After a rotate-now switch, how many Certificates still signed by a previous CA each issuer asks to re-issue (as `cmctl renew` does) per --reissue-interval, and at most have issuing at once (up to 1000); 0 turns this off.")
	fs.DurationVar(&c.ReissueInterval, "reissue-interval", c.ReissueInterval,
		"Time between two batches of --reissue-batch-size re-issues after a rotate-now.")
	fs.DurationVar(&c.ReissueStalledAfter, "reissue-stalled-after", c.ReissueStalledAfter,
		"How long a Certificate asked to re-issue after a rotate-now holds a place of --reissue-batch-size while cert-manager has not finished it: a batch asks only as many as are free, so at most a batch is issuing at once. Past this it counts as stalled and frees its place.")
	fs.DurationVar(&c.MinCAGenerationInterval, "ca-generation-min-interval", c.MinCAGenerationInterval,
		"Least time between two CA keys one issuer generates for its rotation (rotate-now, scheduled renewal, a deleted next CA Secret); a rotation due sooner waits and says so in the CARotation condition. 0: no bound.")
	addKeyFlags(fs, &c.KeyPolicy, &c.KeyTimeout)
	w := &o.Webhook
	fs.IntVar(&w.Port, "webhook-port", w.Port,
		"Port of the validating admission webhook of NstanceIssuers and NstanceClusterIssuers (HTTPS, served by every replica); 0 serves none. The chart and config/ set 9443.")
	fs.StringVar(&w.CertDir, "webhook-cert-dir", w.CertDir,
		"Directory with the webhook's tls.crt and tls.key (e.g. written by cert-manager, whose CA injector fills the caBundle), reloaded when they change. Empty: the manager keeps its own CA in --webhook-ca-secret and injects it into --webhook-configuration.")
	fs.StringVar(&w.ServiceName, "webhook-service", w.ServiceName,
		"Service of the webhook in the manager's namespace ($POD_NAMESPACE): the names of the serving certificate the manager makes.")
	fs.StringVar(&w.CASecretName, "webhook-ca-secret", w.CASecretName,
		"Secret in the manager's namespace where the manager keeps the webhook's CA (certificates and keys; renewed a third before expiry).")
	fs.StringVar(&w.WebhookConfiguration, "webhook-configuration", w.WebhookConfiguration,
		"ValidatingWebhookConfiguration whose caBundle the manager keeps filled with its webhook CAs; empty: inject nothing.")
	fs.StringVar(&o.MetricsBindAddress, "metrics-bind-address", o.MetricsBindAddress, "Address of the Prometheus metrics endpoint; 0 disables it.")
	fs.StringVar(&o.HealthProbeBindAddress, "health-probe-bind-address", o.HealthProbeBindAddress, "Address of the /healthz and /readyz endpoints; 0 disables it.")
	fs.StringVar(&o.PprofBindAddress, "pprof-bind-address", o.PprofBindAddress,
		"Address of Go's /debug/pprof profiling endpoints, e.g. 127.0.0.1:6060 with kubectl port-forward; 0 disables them (the default: they expose memory contents to whoever can reach them).")
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "Elect a leader so that only one replica signs at a time; the process exits if it loses the lease.")
	fs.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", o.LeaderElectionNamespace, "Namespace of the leader election Lease (default: the cluster resource namespace).")
	fs.StringVar(&o.LeaderElectionID, "leader-election-id", o.LeaderElectionID, "Name of the leader election Lease.")
	fs.DurationVar(&o.LeaseDuration, "leader-election-lease-duration", o.LeaseDuration,
		"How long standby replicas wait after the leader's last renewal before taking the Lease over: when a leader dies without releasing it, signing pauses this long plus up to about 4 retry periods (a stopped leader releases it at once).")
	fs.DurationVar(&o.RenewDeadline, "leader-election-renew-deadline", o.RenewDeadline,
		"How long the leader keeps retrying to renew its Lease before it gives up and exits; shorter than the lease duration.")
	fs.DurationVar(&o.RetryPeriod, "leader-election-retry-period", o.RetryPeriod, "How often replicas try to acquire or renew the Lease.")
	fs.Float64Var(&o.KubeAPIQPS, "kube-api-qps", o.KubeAPIQPS,
		"Client-side limit of queries per second to the API server. 0: automatic, none when the API server has API Priority and Fairness (a HEAD of /livez/ping at start-up; the log says which), else 50 (cert-manager's controller probes the same way since v1.21, falling back to 20). A positive value always applies. < 0: none.")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", o.KubeAPIBurst, "Burst of queries above --kube-api-qps. 0: twice the QPS (100 with the automatic 50). Unused when there is no client-side limit.")
	o.Zap.BindFlags(fs)
}

// ParseArgs returns the options a command line sets, starting from
// NewOptions: how the load harness reads back the settings it starts the
// manager with.
func ParseArgs(args []string) (*Options, error) {
	o := NewOptions()
	fs := flag.NewFlagSet("nstance-issuer", flag.ContinueOnError)
	o.AddFlags(fs)
	// controller-runtime registers --kubeconfig on the default FlagSet.
	fs.String("kubeconfig", "", "")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return o, nil
}

// Args renders the options as the command line that sets them: a flag for
// each option that differs from NewOptions. The local stack starts the
// manager process with it.
func (o *Options) Args() []string {
	set := flag.NewFlagSet("set", flag.ContinueOnError)
	o.AddFlags(set)
	defaults := flag.NewFlagSet("defaults", flag.ContinueOnError)
	NewOptions().AddFlags(defaults)
	var args []string
	set.VisitAll(func(f *flag.Flag) {
		if d := defaults.Lookup(f.Name); d == nil || d.DefValue != f.DefValue {
			args = append(args, "--"+f.Name+"="+f.Value.String())
		}
	})
	return args
}
