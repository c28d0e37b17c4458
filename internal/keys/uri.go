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
	"github.com/nstance-dev/nstance-issuer/internal/pki/keyuri"
)

// Backends: the scheme of a key URI.
const (
	// BackendAWSKMS is AWS KMS: awskms:key-id=<key id, ARN or alias>;region=<region>.
	BackendAWSKMS = keyuri.BackendAWSKMS
	// BackendPKCS11 is a PKCS#11 token (an HSM, SoftHSM), RFC 7512:
	// pkcs11:token=<label>;id=<%xx bytes>;object=<label>?module-path=<path>.
	BackendPKCS11 = keyuri.BackendPKCS11
)

// MaxURILength bounds a key URI, as the CRD does.
const MaxURILength = keyuri.MaxURILength

// URI is a parsed CA key URI in which every attribute is one this issuer
// knows and allows (see keyuri.URI): it names a key and where it lives,
// never a PIN, a file or an endpoint.
type URI = keyuri.URI

// ParseURI parses and checks a CA key URI (keyuri.Parse, the rules
// pki.ValidateIssuer applies to spec.ca.key.uri); a refusal is an *Error
// with ReasonInvalidURI.
func ParseURI(s string) (URI, error) {
	u, err := keyuri.Parse(s)
	if err != nil {
		return URI{}, &Error{Reason: ReasonInvalidURI, Msg: err.Error()}
	}
	return u, nil
}

// shorten bounds an untrusted value quoted in a message.
func shorten(s string) string { return keyuri.Shorten(s) }
