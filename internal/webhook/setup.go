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

package webhook

import (
	"crypto/tls"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/webhook/servingcert"
)

// Defaults of Options, as the chart and config/ name things.
const (
	DefaultPort                 = 9443
	DefaultServiceName          = "nstance-issuer-webhook"
	DefaultCASecretName         = "nstance-issuer-webhook-ca" //nolint:gosec // G101: a Secret's name, not a credential
	DefaultWebhookConfiguration = "nstance-issuer-webhook"
)

// Options configure the webhook server.
type Options struct {
	// Port serves the webhook (HTTPS); 0 serves no webhook.
	Port int
	// Host is the address to listen on; empty means every address.
	Host string
	// CertDir, when set, serves tls.crt and tls.key from this directory
	// (written by cert-manager, reloaded when they change) instead of the
	// manager's own CA.
	CertDir string
	// Namespace is the manager's namespace: where the webhook Service and
	// the CA Secret are.
	Namespace string
	// ServiceName is the webhook Service: the serving certificate's names.
	ServiceName string
	// CASecretName is the Secret of the manager's own CA.
	CASecretName string
	// WebhookConfiguration is the ValidatingWebhookConfiguration whose
	// caBundle the manager keeps; empty: the manager injects nothing.
	WebhookConfiguration string
	// Certificates are the lifetimes and delays of the manager's own CA
	// (zero values: servingcert's defaults).
	Certificates servingcert.Options
}

// Server is the webhook server of Options, ready to be given to the
// manager (ctrl.Options.WebhookServer) and then wired by Setup.
type Server struct {
	crwebhook.Server
	authority *servingcert.Authority
}

// NewServer builds the webhook server: its TLS certificate comes from
// CertDir or from the manager's own CA (servingcert.Authority).
func NewServer(o Options) *Server {
	s := &Server{}
	opts := crwebhook.Options{
		Port: o.Port, Host: o.Host,
		TLSOpts: []func(*tls.Config){func(c *tls.Config) {
			c.MinVersion = tls.VersionTLS12
			// HTTP/2 is not needed by the API server and has had
			// denial-of-service issues (CVE-2023-44487).
			c.NextProtos = []string{"http/1.1"}
		}},
	}
	if o.CertDir != "" {
		opts.CertDir = o.CertDir
	} else {
		certs := o.Certificates
		certs.Namespace, certs.SecretName = o.Namespace, o.CASecretName
		certs.DNSNames = servingcert.ServiceDNSNames(o.ServiceName, o.Namespace)
		certs.WebhookConfiguration = o.WebhookConfiguration
		s.authority = &servingcert.Authority{Options: certs}
		opts.TLSOpts = append(opts.TLSOpts, func(c *tls.Config) { c.GetCertificate = s.authority.GetCertificate })
	}
	s.Server = crwebhook.NewServer(opts)
	return s
}

// Setup registers the issuers' validating webhooks on the manager, whose
// WebhookServer is s, and the certificate authority that keeps s's
// serving certificate, and adds the readiness checks: the server answers
// TLS with a certificate.
func Setup(mgr ctrl.Manager, s *Server) error {
	if err := ctrl.NewWebhookManagedBy(mgr, &v1alpha1.NstanceIssuer{}).
		WithValidator(IssuerValidator{}).WithValidatorCustomPath(IssuerPath).RecoverPanic(true).Complete(); err != nil {
		return fmt.Errorf("failed to register the NstanceIssuer webhook: %w", err)
	}
	if err := ctrl.NewWebhookManagedBy(mgr, &v1alpha1.NstanceClusterIssuer{}).
		WithValidator(ClusterIssuerValidator{}).WithValidatorCustomPath(ClusterIssuerPath).RecoverPanic(true).Complete(); err != nil {
		return fmt.Errorf("failed to register the NstanceClusterIssuer webhook: %w", err)
	}
	if a := s.authority; a != nil {
		a.Reader, a.Writer = mgr.GetAPIReader(), mgr.GetClient()
		if err := mgr.Add(a); err != nil {
			return fmt.Errorf("failed to add the webhook's certificate authority: %w", err)
		}
		if err := mgr.AddReadyzCheck("webhook-certificate", a.Ready); err != nil {
			return fmt.Errorf("failed to add the webhook certificate check: %w", err)
		}
	}
	if err := mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
		return fmt.Errorf("failed to add the webhook check: %w", err)
	}
	return nil
}
