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
	"fmt"
	"strings"
)

// Reasons of an Error: why a CA key cannot be used, in words a KMS or HSM
// administrator knows. They are the reason label of the key error metric.
const (
	// ReasonInvalidURI: the key URI does not parse or says something this
	// issuer never takes from a URI.
	ReasonInvalidURI = "InvalidKeyURI"
	// ReasonNotAllowed: the controller's policy does not let this issuer
	// use this key or module (a namespaced issuer and the controller's own
	// identity, a PKCS#11 token or module not allowed).
	ReasonNotAllowed = "KeyNotAllowed"
	// ReasonNotCompiled: this binary was built without the backend
	// (PKCS#11 needs the -pkcs11 image).
	ReasonNotCompiled = "BackendNotCompiled"
	// ReasonCredentialsMissing: no credentials where they were expected
	// (a Secret without its keys, a controller without an identity).
	ReasonCredentialsMissing = "CredentialsMissing"
	// ReasonCredentialsRefused: the backend refused the credentials (an
	// unknown access key, a wrong or locked PIN).
	ReasonCredentialsRefused = "CredentialsRefused"
	// ReasonPermissionDenied: the credentials are valid but may not use
	// the key (the key policy or IAM policy lacks kms:Sign, ...).
	ReasonPermissionDenied = "PermissionDenied"
	// ReasonKeyNotFound: no such key (or token).
	ReasonKeyNotFound = "KeyNotFound"
	// ReasonKeyDisabled: the key exists but is disabled or pending
	// deletion.
	ReasonKeyDisabled = "KeyDisabled"
	// ReasonWrongKeyType: the key cannot sign certificates (an encryption
	// key, a symmetric key, a key without CKA_SIGN, an unsupported type).
	ReasonWrongKeyType = "WrongKeyType"
	// ReasonThrottled: the backend throttled the request; it is retried
	// after a back-off.
	ReasonThrottled = "Throttled"
	// ReasonUnavailable: the backend could not be reached or failed
	// (timeout, network, internal error); it is retried.
	ReasonUnavailable = "Unavailable"
)

// Operations on a key, the operation label of the metrics.
const (
	OpSign      = "sign"
	OpPublicKey = "public_key"
	OpCreateKey = "create_key"
)

// Error says why a CA key cannot be used: a Reason, the key and what to
// do. Every error of this package is one.
type Error struct {
	// Reason is one of the Reason constants.
	Reason string
	// Backend is the key's backend (awskms, pkcs11), "" when the URI did
	// not parse.
	Backend string
	// URI is the key URI (never holds a secret: ParseURI refuses PINs).
	URI string
	// Op is the operation that failed (OpSign, OpPublicKey, OpCreateKey),
	// "" for a refusal before any.
	Op string
	// Msg says what is wrong and what to do.
	Msg string
	// Err is the backend's own error, when there is one.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.URI != "" {
		fmt.Fprintf(&b, "CA key %s: ", e.URI)
	}
	b.WriteString(e.Reason)
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Transient reports whether the error may go away by itself (throttling,
// an outage): the request waits and is retried after a back-off.
func (e *Error) Transient() bool {
	return e.Reason == ReasonThrottled || e.Reason == ReasonUnavailable
}

// backendError builds the Error of a backend failure.
func backendError(reason, backend, op string, uri URI, err error, format string, args ...any) *Error {
	return &Error{Reason: reason, Backend: backend, URI: uri.String(), Op: op, Msg: fmt.Sprintf(format, args...), Err: err}
}

// errorDetail is a backend error's text for a message, bounded.
func errorDetail(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if len(s) > 512 {
		s = s[:512] + "..."
	}
	return s
}
