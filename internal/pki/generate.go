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
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// CATemplateName names the CA template in a TemplateError.
const CATemplateName = "ca.generate"

// DefaultCACommonName is the CN of a generated CA whose template renders none.
const DefaultCACommonName = "nstance-issuer CA"

// DefaultCATTLHours is the lifetime of a generated CA whose template sets none.
const DefaultCATTLHours = 87600

// GenerateCA creates a self-signed root CA from tmpl, its subject fields
// rendered with data. The key follows tmpl.PrivateKey: ECDSA (default, P-256
// default, P-384, P-521), RSA (2048 default, 3072, 4096) or Ed25519. The CA
// lives tmpl.TTL hours (default 87600) from now - Backdate. It returns the
// PEM certificate and the PEM PKCS#8 private key. Template problems are
// *TemplateError.
func GenerateCA(tmpl v1alpha1.CATemplate, data RenderData, now time.Time, rand io.Reader) (certPEM, keyPEM []byte, err error) {
	if _, _, terr := caSubjectAndTTL(tmpl, data); terr != nil {
		return nil, nil, terr
	}
	key, terr := generateKey(tmpl.PrivateKey, rand)
	if terr != nil {
		return nil, nil, terr
	}
	certPEM, err = GenerateCAWithSigner(tmpl, data, key, now, rand)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the CA key: %w", err)
	}
	return certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// GenerateCAWithSigner creates the self-signed root CA of tmpl, as
// GenerateCA does, for a key that already exists and signs through signer
// (made in a KMS or an HSM: tmpl.PrivateKey says what to make there, and
// is not read here). It returns the PEM certificate.
func GenerateCAWithSigner(tmpl v1alpha1.CATemplate, data RenderData, signer crypto.Signer, now time.Time, rand io.Reader) ([]byte, error) {
	subject, ttl, terr := caSubjectAndTTL(tmpl, data)
	if terr != nil {
		return nil, terr
	}
	if cerr := checkCAPublicKey(signer.Public(), "the CA key"); cerr != nil {
		return nil, cerr
	}
	serial, err := randomSerial(rand)
	if err != nil {
		return nil, err
	}
	ski, err := subjectKeyIDOf(signer.Public())
	if err != nil {
		return nil, err
	}
	cert := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             now.Add(-Backdate),
		NotAfter:              now.Add(ttl),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          ski,
	}
	der, err := x509.CreateCertificate(rand, cert, cert, signer.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("creating the CA certificate: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// caSubjectAndTTL renders the CA template's subject and reads its lifetime.
func caSubjectAndTTL(tmpl v1alpha1.CATemplate, data RenderData) (pkix.Name, time.Duration, *TemplateError) {
	subject, terr := renderCASubject(tmpl.Subject, data)
	if terr != nil {
		return pkix.Name{}, 0, terr
	}
	if tmpl.TTL < 0 {
		return pkix.Name{}, 0, templateErrorf(CATemplateName, "ttl", "ttl %d is negative; set a lifetime in hours", tmpl.TTL)
	}
	ttl := time.Duration(tmpl.TTL) * time.Hour
	if tmpl.TTL == 0 {
		ttl = DefaultCATTLHours * time.Hour
	}
	return subject, ttl, nil
}

// renderCASubject renders the CA template's subject; an empty CN gets
// DefaultCACommonName.
func renderCASubject(s v1alpha1.Subject, data RenderData) (pkix.Name, *TemplateError) {
	var name pkix.Name
	for _, f := range subjectFields(&s, &name) {
		if f.list == nil {
			v, terr := renderField(CATemplateName, f.field, *f.text, data, nil)
			if terr != nil {
				return pkix.Name{}, terr
			}
			*f.out = trimSpace(v)
			continue
		}
		vals, terr := renderList(CATemplateName, f.field, *f.list, data, nil)
		if terr != nil {
			return pkix.Name{}, terr
		}
		*f.outList = vals
	}
	if name.CommonName == "" {
		name.CommonName = DefaultCACommonName
	}
	return name, nil
}

// generateKey generates a CA key per spec.
func generateKey(spec v1alpha1.PrivateKeySpec, rand io.Reader) (crypto.Signer, *TemplateError) {
	alg := spec.Algorithm
	if alg == "" {
		alg = v1alpha1.ECDSAKeyAlgorithm
	}
	if terr := checkKeySpec(spec); terr != nil {
		return nil, terr
	}
	var key crypto.Signer
	var err error
	switch alg {
	case v1alpha1.RSAKeyAlgorithm:
		size := int(spec.Size)
		if size == 0 {
			size = 2048
		}
		key, err = rsa.GenerateKey(rand, size)
	case v1alpha1.ECDSAKeyAlgorithm:
		curve := elliptic.P256()
		switch spec.Size {
		case 384:
			curve = elliptic.P384()
		case 521:
			curve = elliptic.P521()
		}
		key, err = ecdsa.GenerateKey(curve, rand)
	case v1alpha1.Ed25519KeyAlgorithm:
		_, key, err = ed25519.GenerateKey(rand)
	}
	if err != nil {
		return nil, templateErrorf(CATemplateName, "privateKey", "generating a %s key: %v", alg, err)
	}
	return key, nil
}

// CheckKeySpec validates a CA PrivateKeySpec, as a *TemplateError naming
// the field (for a key to be made in a KMS or an HSM too).
func CheckKeySpec(spec v1alpha1.PrivateKeySpec) error {
	if terr := checkKeySpec(spec); terr != nil {
		return terr
	}
	return nil
}

// checkKeySpec validates a CA PrivateKeySpec.
func checkKeySpec(spec v1alpha1.PrivateKeySpec) *TemplateError {
	switch spec.Algorithm {
	case "", v1alpha1.ECDSAKeyAlgorithm:
		switch spec.Size {
		case 0, 256, 384, 521:
			return nil
		}
		return templateErrorf(CATemplateName, "privateKey.size", "ECDSA size %d is not supported; use 256, 384 or 521", spec.Size)
	case v1alpha1.RSAKeyAlgorithm:
		switch spec.Size {
		case 0, 2048, 3072, 4096:
			return nil
		}
		return templateErrorf(CATemplateName, "privateKey.size", "RSA size %d is not supported; use 2048, 3072 or 4096", spec.Size)
	case v1alpha1.Ed25519KeyAlgorithm:
		if spec.Size != 0 {
			return templateErrorf(CATemplateName, "privateKey.size", "Ed25519 keys have no size; remove size %d", spec.Size)
		}
		return nil
	}
	return templateErrorf(CATemplateName, "privateKey.algorithm", "algorithm %s is not supported; use RSA, ECDSA or Ed25519", quote(string(spec.Algorithm)))
}
