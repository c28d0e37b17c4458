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
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/pki/keyuri"
)

// keyURINeeds says what each backend's key URI needs, after a refusal.
const keyURINeeds = "AWS KMS needs awskms:key-id=<key ARN> (or a key id or alias with ;region=<region>), " +
	"or awskms:region=<region> with spec.ca.generate to make the key there; " +
	"a PKCS#11 token needs pkcs11:token=<label> (or serial= or slot-id=) with ;object=<label> and/or ;id=<%xx bytes> naming the key, " +
	"or the token alone with spec.ca.generate to make the key there"

// validateCAKey checks what can be known of spec.ca.key without the
// controller's flags or the KMS/HSM: the URI is one this issuer takes
// (keyuri.Parse, the rules the controller opens keys by) and a key made
// there by spec.ca.generate is not Ed25519 (which neither backend signs
// certificates with; the sizes templateProblems allows both make). Whether this issuer may use the key (the operator's
// --namespace-key-uri and --pkcs11-module) is keys.Policy's, at run time.
func validateCAKey(ca *v1alpha1.CASpec, path *field.Path) field.ErrorList {
	if ca.Key == nil {
		return nil
	}
	p := path.Child("key", "uri")
	u, err := keyuri.Parse(ca.Key.URI)
	if err != nil {
		msg := err.Error()
		if kerr := (*keyuri.Error)(nil); errors.As(err, &kerr) {
			msg = kerr.Msg // the value is shown beside it
		}
		return field.ErrorList{field.Invalid(p, keyuri.Shorten(ca.Key.URI), msg+"; "+keyURINeeds)}
	}
	if ca.Generate == nil {
		return nil
	}
	spec := ca.Generate.PrivateKey
	kp := path.Child("generate", "privateKey")
	if spec.Algorithm == v1alpha1.Ed25519KeyAlgorithm {
		return field.ErrorList{field.Invalid(kp.Child("algorithm"), string(spec.Algorithm),
			fmt.Sprintf("a CA key made in %s (spec.ca.key) cannot be Ed25519: set algorithm to ECDSA or RSA", backendName(u.Backend())))}
	}
	return nil
}

// caKeyWarnings are the legal but likely wrong settings of spec.ca.key.
func caKeyWarnings(ca *v1alpha1.CASpec, issuer IssuerData, path *field.Path) []string {
	if ca.Key == nil {
		return nil
	}
	u, err := keyuri.Parse(ca.Key.URI)
	if err != nil {
		return nil // an error already
	}
	var out []string
	p := path.Child("key")
	if !u.NamesKey() && ca.Generate == nil {
		out = append(out, p.Child("uri").String()+": "+fmt.Sprintf("names where keys live (%s) but no key, and spec.ca.generate is unset: "+
			"the CA Secret %s must name its key under key-uri; name the key in the URI or set spec.ca.generate to make one there", u.String(), ca.SecretName))
	}
	if issuer.Kind == kindIssuer && ca.Key.CredentialsSecretRef == nil {
		out = append(out, p.Child("credentialsSecretRef").String()+": "+fmt.Sprintf("unset: the controller's own %s identity serves an NstanceIssuer only for keys the operator allows its namespace (--namespace-key-uri); else name a Secret with the credentials",
			backendName(u.Backend())))
	}
	return out
}

// backendName names a key URI's backend for people.
func backendName(backend string) string {
	switch backend {
	case keyuri.BackendAWSKMS:
		return "AWS KMS"
	case keyuri.BackendPKCS11:
		return "a PKCS#11 token"
	default:
		return backend
	}
}
