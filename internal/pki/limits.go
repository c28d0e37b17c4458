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

package pki

import "time"

// Size limits on untrusted input, after cert-manager's (CVE-2024-12401).
const (
	// MaxCertChainPEMSize bounds tls.crt and ca.crt.
	MaxCertChainPEMSize = 95000
	// MaxCACertificates bounds the certificates of tls.crt and of ca.crt.
	MaxCACertificates = 10
	// MaxCACertificateDERSize bounds each certificate of tls.crt and ca.crt
	// before it is parsed: cert-manager's 6,500 PEM bytes for a CA
	// certificate, as DER.
	MaxCACertificateDERSize = 4800
	// MaxPrivateKeyPEMSize bounds tls.key.
	MaxPrivateKeyPEMSize = 13000
	// MaxCSRPEMSize bounds a PEM certificate request.
	MaxCSRPEMSize = 36500
	// MaxRenderedSize bounds the bytes of one rendered template field.
	MaxRenderedSize = 4096
	// MaxSANs bounds the subject alternative names of one certificate,
	// requested and template-added together.
	MaxSANs = 256
	// MaxSubjectAttributes bounds the attributes of a requested subject,
	// all RDNs together, and MaxRDNAttributes those of one RDN (a
	// multi-valued RDN such as OU=a+OU=b): both are counted as the
	// subject is read, so a hostile one costs no more than this.
	MaxSubjectAttributes = 64
	MaxRDNAttributes     = 16
	// MaxRSAKeySize is the largest RSA modulus accepted in a CSR.
	MaxRSAKeySize = 8192
	// DefaultMinRSAKeySize and DefaultMinECDSAKeySize apply when a template
	// sets no minimum, and to pass-through requests.
	DefaultMinRSAKeySize   = 2048
	DefaultMinECDSAKeySize = 256
	// Backdate is how far NotBefore is set before now, for clock skew.
	Backdate = 30 * time.Second
)
