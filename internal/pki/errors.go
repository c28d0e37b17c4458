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

import (
	"crypto/x509"
	"fmt"
	"strings"
)

// Reasons of a RequestError: the request can never succeed as it is.
const (
	// ReasonInvalidCSR: the CSR is malformed, too large or badly signed.
	ReasonInvalidCSR = "InvalidCSR"
	// ReasonWeakKey: the CSR's public key is too small for the policy.
	ReasonWeakKey = "WeakKey"
	// ReasonPolicyViolation: the request asks for something the template
	// (or the pass-through rules) does not allow.
	ReasonPolicyViolation = "PolicyViolation"
	// ReasonInvalidSAN: a requested subject alternative name is malformed.
	ReasonInvalidSAN = "InvalidSAN"
	// ReasonUnsupportedSAN: the CSR asks for a type of subject alternative
	// name the issuer does not sign (otherName, directoryName, ...).
	ReasonUnsupportedSAN = "UnsupportedSAN"
	// ReasonUnsupportedExtension: the CSR carries an extension or an
	// attribute the issuer does not evaluate.
	ReasonUnsupportedExtension = "UnsupportedExtension"
	// ReasonTooManySANs: more subject alternative names than MaxSANs.
	ReasonTooManySANs = "TooManySANs"
	// ReasonInvalidDuration: the requested lifetime is not positive.
	ReasonInvalidDuration = "InvalidDuration"
	// ReasonNotAfterPastCA: the certificate would outlive the CA and the
	// issuer's leafNotAfterBehavior is Error.
	ReasonNotAfterPastCA = "NotAfterPastCA"
	// ReasonTemplateRenderFailed: a template field could not be rendered with
	// this request's data, or rendered to an invalid value.
	ReasonTemplateRenderFailed = "TemplateRenderFailed"
	// ReasonInvalidSubject: the CSR's subject has a structure the policy
	// never signs (several CNs, an unknown attribute or string type, more
	// attributes than the limits, an encoding that is not DER).
	ReasonInvalidSubject = "InvalidSubject"
	// ReasonInvalidTemplateAnnotation: the template annotation is present
	// but empty.
	ReasonInvalidTemplateAnnotation = "InvalidTemplateAnnotation"
	// ReasonUnknownTemplate: the template annotation names no template of
	// the issuer.
	ReasonUnknownTemplate = "UnknownTemplate"
	// ReasonNoTemplate: the request selects no template and the issuer does
	// not allow pass-through.
	ReasonNoTemplate = "NoTemplate"
	// ReasonRequesterNotAllowed: the template is bound to other namespaces
	// or Kubernetes CSR users.
	ReasonRequesterNotAllowed = "RequesterNotAllowed"
)

// Reasons of a CAError: the CA Secret's content is unusable.
const (
	ReasonMissingKey         = "MissingKey"
	ReasonInvalidCertificate = "InvalidCertificate"
	ReasonInvalidKey         = "InvalidKey"
	ReasonKeyMismatch        = "KeyMismatch"
	ReasonNotACA             = "NotACA"
	ReasonExpired            = "Expired"
	ReasonNotYetValid        = "NotYetValid"
	ReasonTooLarge           = "TooLarge"
	ReasonNotLoaded          = "NotLoaded"
)

// RequestError means the request can never succeed as it is: a malformed
// CSR, a policy violation, a weak key, or a template that cannot be rendered
// with this request's data. The request should fail permanently.
type RequestError struct {
	// Reason is a short CamelCase reason, one of the Reason* constants above.
	Reason string
	// Msg says what is wrong and what to change.
	Msg string
}

func (e *RequestError) Error() string { return e.Msg }

func requestErrorf(reason, format string, args ...any) *RequestError {
	return &RequestError{Reason: reason, Msg: fmt.Sprintf(format, args...)}
}

// CAError means the CA Secret's content is unusable: missing keys, bad PEM,
// a key that does not match, a certificate that is not a CA, expired or too
// large. The issuer is not Ready until the Secret is fixed.
type CAError struct {
	// Reason is a short CamelCase reason, one of the Reason* constants above.
	Reason string
	// Msg says what is wrong and what to change.
	Msg string
	// Cert is the CA certificate (first of tls.crt) when it could be parsed,
	// so that a caller can still report its subject and NotAfter, e.g. for
	// an expired CA. Nil otherwise.
	Cert *x509.Certificate
}

func (e *CAError) Error() string { return e.Msg }

func caErrorf(reason, format string, args ...any) *CAError {
	return &CAError{Reason: reason, Msg: fmt.Sprintf(format, args...)}
}

// TemplateError means the issuer's templates or vars are broken: a parse
// error, a forbidden action, a render error on sample data, a bad CIDR. The
// issuer is misconfigured and is fixed by editing it.
type TemplateError struct {
	// Template is the template's name ("ca.generate" for the CA template,
	// or the name given to Render).
	Template string
	// Field is the template field, e.g. "cn" or "dns[1]"; empty when the
	// error concerns the whole template.
	Field string
	// Msg says what is wrong.
	Msg string
}

func (e *TemplateError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("template %q field %s: %s", e.Template, e.Field, e.Msg)
	}
	return fmt.Sprintf("template %q: %s", e.Template, e.Msg)
}

func templateErrorf(template, field, format string, args ...any) *TemplateError {
	return &TemplateError{Template: template, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// maxQuoted bounds how much of an untrusted value goes into a message.
const maxQuoted = 256

// quote quotes s for a message, shortened to maxQuoted bytes.
func quote(s string) string {
	if len(s) > maxQuoted {
		return fmt.Sprintf("%q...(%d bytes)", s[:maxQuoted], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// maxListed bounds how many patterns a message lists.
const maxListed = 10

// list joins patterns for a message, shortened to maxListed entries.
func list(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	shown := items
	if len(shown) > maxListed {
		shown = shown[:maxListed]
	}
	parts := make([]string, len(shown))
	for i, s := range shown {
		if len(s) > maxQuoted {
			s = s[:maxQuoted] + "..."
		}
		parts[i] = s
	}
	out := strings.Join(parts, ", ")
	if len(items) > len(shown) {
		out += fmt.Sprintf(" and %d more", len(items)-len(shown))
	}
	return out
}
