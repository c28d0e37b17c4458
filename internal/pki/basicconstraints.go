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
	"encoding/asn1"
)

var oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}

// RequestedBasicConstraints reads the basicConstraints extension a PEM CSR
// asks for (cert-manager encodes one when a Certificate is a CA): present
// reports whether there is one, isCA its cA flag. The CSR is parsed and
// verified as ParseCSR does (which refuses a repeated extension); a
// malformed extension is a *RequestError (InvalidCSR).
func RequestedBasicConstraints(csrPEM []byte) (present, isCA bool, err error) {
	csr, err := ParseCSR(csrPEM)
	if err != nil {
		return false, false, err
	}
	for _, ext := range csr.Extensions {
		if !ext.Id.Equal(oidBasicConstraints) {
			continue
		}
		var bc struct {
			IsCA       bool `asn1:"optional"`
			MaxPathLen int  `asn1:"optional,default:-1"`
		}
		rest, err := asn1.Unmarshal(ext.Value, &bc)
		if err != nil || len(rest) > 0 {
			return false, false, requestErrorf(ReasonInvalidCSR, "the CSR's basicConstraints extension is malformed")
		}
		present, isCA = true, bc.IsCA
	}
	return present, isCA, nil
}
