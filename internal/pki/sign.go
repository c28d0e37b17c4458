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
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"slices"
)

// serialBytes is the size of a random serial number: 128 bits.
const serialBytes = 16

// randomSerial returns a random positive, non-zero 128-bit serial number.
func randomSerial(rand io.Reader) (*big.Int, error) {
	buf := make([]byte, serialBytes)
	for range 4 {
		if _, err := io.ReadFull(rand, buf); err != nil {
			return nil, fmt.Errorf("generating a serial number: %w", err)
		}
		if n := new(big.Int).SetBytes(buf); n.Sign() > 0 {
			return n, nil
		}
	}
	return nil, errors.New("generating a serial number: the random source returned only zeros")
}

// sign signs the built certificate for the CSR's own public key with a
// random serial and a SubjectKeyId computed from that key; Go fills the
// AuthorityKeyId from the CA's SubjectKeyId.
func sign(is *issuance, rand io.Reader) (*Issued, error) {
	serial, err := randomSerial(rand)
	if err != nil {
		return nil, err
	}
	ski, err := subjectKeyID(is.csr.RawSubjectPublicKeyInfo)
	if err != nil {
		return nil, requestErrorf(ReasonInvalidCSR, "the CSR's public key: %v", err)
	}
	is.cert.SerialNumber = serial
	is.cert.SubjectKeyId = ski
	der, err := x509.CreateCertificate(rand, &is.cert, is.ca.Cert, is.csr.PublicKey, is.ca.Signer)
	if err != nil {
		return nil, fmt.Errorf("signing the certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing the signed certificate: %w", err)
	}
	if pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(is.csr.PublicKey) {
		return nil, errors.New("the signed certificate does not certify the CSR's public key")
	}
	if err := checkEncoded(&is.cert, leaf); err != nil {
		return nil, err
	}
	out := is.out
	out.Cert = leaf
	var chain bytes.Buffer
	// The leaf's PEM (base64 in lines of 64, and the two armour lines)
	// and the CA's chain, sized once rather than grown.
	b64 := (len(der) + 2) / 3 * 4
	chain.Grow(b64 + b64/64 + 1 + 64 + len(is.ca.ChainPEM))
	_ = pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	chain.Write(is.ca.ChainPEM)
	out.ChainPEM = chain.Bytes()
	out.CAPEM = bytes.Clone(is.ca.RootPEM)
	return &out, nil
}

// signedExtensions are the extensions sign puts in a certificate.
var signedExtensions = []asn1.ObjectIdentifier{
	{2, 5, 29, 14}, // subjectKeyIdentifier
	{2, 5, 29, 35}, // authorityKeyIdentifier
	{2, 5, 29, 15}, // keyUsage
	{2, 5, 29, 37}, // extKeyUsage
	{2, 5, 29, 19}, // basicConstraints
	{2, 5, 29, 17}, // subjectAltName
	{2, 5, 29, 30}, // nameConstraints
}

// checkEncoded makes sure the signed certificate carries exactly what the
// policy checked: the same subject bytes, SANs, CA flag and name
// constraints, and no extension sign did not put there. It guards the
// policy against any difference between the certificate template and its
// encoding.
func checkEncoded(want *x509.Certificate, leaf *x509.Certificate) error {
	if len(want.RawSubject) == 0 {
		return errors.New("the checked subject was not encoded")
	}
	switch {
	case !bytes.Equal(leaf.RawSubject, want.RawSubject):
		return errors.New("the signed certificate's subject differs from the checked one")
	case !slices.Equal(leaf.DNSNames, want.DNSNames), !slices.Equal(ipNetStrings(leaf.IPAddresses), ipNetStrings(want.IPAddresses)),
		!slices.Equal(urlStrings(leaf.URIs), urlStrings(want.URIs)), !slices.Equal(leaf.EmailAddresses, want.EmailAddresses):
		return errors.New("the signed certificate's subject alternative names differ from the checked ones")
	case leaf.IsCA != want.IsCA:
		return errors.New("the signed certificate's CA flag differs from the checked one")
	case !sameNameConstraints(leaf, want):
		return errors.New("the signed certificate's name constraints differ from the checked ones")
	}
	for _, ext := range leaf.Extensions {
		if !slices.ContainsFunc(signedExtensions, ext.Id.Equal) {
			return fmt.Errorf("the signed certificate has an unexpected extension %s", ext.Id)
		}
	}
	return nil
}

// sameNameConstraints compares the name constraints of two certificates.
func sameNameConstraints(a, b *x509.Certificate) bool {
	has := func(c *x509.Certificate) bool {
		return len(c.PermittedDNSDomains)+len(c.ExcludedDNSDomains)+len(c.PermittedIPRanges)+len(c.ExcludedIPRanges)+
			len(c.PermittedEmailAddresses)+len(c.ExcludedEmailAddresses)+len(c.PermittedURIDomains)+len(c.ExcludedURIDomains) > 0
	}
	nets := func(l []*net.IPNet) []string {
		out := make([]string, len(l))
		for i, n := range l {
			out[i] = n.String()
		}
		return out
	}
	return has(a) == has(b) && (!has(a) || a.PermittedDNSDomainsCritical == b.PermittedDNSDomainsCritical) &&
		slices.Equal(a.PermittedDNSDomains, b.PermittedDNSDomains) && slices.Equal(a.ExcludedDNSDomains, b.ExcludedDNSDomains) &&
		slices.Equal(nets(a.PermittedIPRanges), nets(b.PermittedIPRanges)) && slices.Equal(nets(a.ExcludedIPRanges), nets(b.ExcludedIPRanges)) &&
		slices.Equal(a.PermittedEmailAddresses, b.PermittedEmailAddresses) && slices.Equal(a.ExcludedEmailAddresses, b.ExcludedEmailAddresses) &&
		slices.Equal(a.PermittedURIDomains, b.PermittedURIDomains) && slices.Equal(a.ExcludedURIDomains, b.ExcludedURIDomains)
}

func ipNetStrings(l []net.IP) []string {
	out := make([]string, len(l))
	for i, ip := range l {
		out[i] = ip.String()
	}
	return out
}

func urlStrings(l []*url.URL) []string {
	out := make([]string, len(l))
	for i, u := range l {
		out[i] = u.String()
	}
	return out
}
