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

package framework

import (
	"encoding/pem"
	"fmt"
	"strconv"

	apiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	experimentalapi "github.com/cert-manager/cert-manager/pkg/apis/experimental/v1alpha1"
	cmpki "github.com/cert-manager/cert-manager/pkg/util/pki"
	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CmctlCSR builds the CertificateSigningRequest `cmctl create
// certificatesigningrequest` makes from a Certificate with this spec (an
// ECDSA P-256 key): spec.request from cert-manager's CSR builder,
// spec.usages from the Certificate's usages ("cert sign" added for a CA)
// and the request-is-ca annotation. Name, signer name and further
// annotations are the caller's.
func CmctlCSR(spec cmapi.CertificateSpec, opts ...cmpki.GenerateCSROption) (*certificatesv1.CertificateSigningRequest, error) {
	spec.PrivateKey = &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256}
	crt := &cmapi.Certificate{Spec: spec}
	key, err := cmpki.GeneratePrivateKeyForCertificate(crt)
	if err != nil {
		return nil, fmt.Errorf("generating the key: %w", err)
	}
	tmpl, err := cmpki.GenerateCSR(crt, opts...)
	if err != nil {
		return nil, fmt.Errorf("building the CSR: %w", err)
	}
	der, err := cmpki.EncodeCSR(tmpl, key)
	if err != nil {
		return nil, fmt.Errorf("encoding the CSR: %w", err)
	}
	ku, eku, err := cmpki.KeyUsagesForCertificateOrCertificateRequest(spec.Usages, spec.IsCA)
	if err != nil {
		return nil, fmt.Errorf("mapping the usages: %w", err)
	}
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
			experimentalapi.CertificateSigningRequestIsCAAnnotationKey: strconv.FormatBool(spec.IsCA),
		}},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			Usages:  append(apiutil.KubeKeyUsageStrings(ku), apiutil.KubeExtKeyUsageStrings(eku)...),
		},
	}, nil
}

// KeyUsagesWithout returns in without drop.
func KeyUsagesWithout(in []certificatesv1.KeyUsage, drop certificatesv1.KeyUsage) []certificatesv1.KeyUsage {
	var out []certificatesv1.KeyUsage
	for _, u := range in {
		if u != drop {
			out = append(out, u)
		}
	}
	return out
}
