package pki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
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
	out := is.out
	out.Cert = leaf
	var chain bytes.Buffer
	_ = pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	chain.Write(is.ca.ChainPEM)
	out.ChainPEM = chain.Bytes()
	out.CAPEM = bytes.Clone(is.ca.RootPEM)
	return &out, nil
}
