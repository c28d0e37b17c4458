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

package explain

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/pki/keyuri"
)

// standInLifetime is the stand-in CA's lifetime when the real one's is
// not known.
const standInLifetime = 10 * 365 * 24 * time.Hour

// standInCA is a CA with a key of its own that stands in for the
// issuer's: the subject and NotAfter of status.ca when the issuer has
// loaded its CA, else the CA ca.generate would make, else a placeholder
// (and a note that lifetimes are not cut to the CA's). Explain never
// reads the real CA's key; for a key in a KMS or an HSM the notes start
// with keyNote.
func standInCA(v issuer.View, now time.Time) (*pki.CA, []string, error) {
	ca, notes, err := standInCAOf(v, now)
	if v.Spec.CA.Key != nil {
		notes = append([]string{keyNote(v)}, notes...)
	}
	return ca, notes, err
}

func standInCAOf(v issuer.View, now time.Time) (*pki.CA, []string, error) {
	if st := v.Status.CA; st != nil && st.Subject != "" && st.NotAfter != nil {
		ca, err := selfSigned(subjectOf(st.Subject), now, st.NotAfter.Time)
		return ca, nil, err
	}
	if g := v.Spec.CA.Generate; g != nil {
		certPEM, keyPEM, err := pki.GenerateCA(*g, pki.RenderData{Vars: v.Spec.Vars, Issuer: v.Data}, now, rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		ca, err := pki.LoadCA(certPEM, keyPEM, nil, now)
		return ca, []string{"the issuer reports no CA (status.ca): explain made one from spec.ca.generate, as the controller would"}, err
	}
	ca, err := selfSigned(pkix.Name{CommonName: "stand-in CA of " + v.String()}.ToRDNSequence(), now, now.Add(standInLifetime))
	return ca, []string{"the issuer reports no CA (status.ca) and has no ca.generate: lifetimes are not cut to the CA's NotAfter, and the CA's subject is not known; use --from-cluster or a file with the issuer's status"}, err
}

// keyNote says that the CA key of v is held in a KMS or an HSM, which
// explain cannot reach: it signs with a stand-in key, and whether the
// controller can use the real one shows only in the issuer's status.
func keyNote(v issuer.View) string {
	where := "spec.ca.key.uri " + strconv.Quote(keyuri.Shorten(v.Spec.CA.Key.URI))
	if st := v.Status.CA; st != nil && st.Key != nil && st.Key.URI != "" {
		where = st.Key.URI
		if st.Key.PublicKeySHA256 != "" {
			where += " (public key SHA-256 " + st.Key.PublicKeySHA256 + ")"
		}
	}
	return "the CA key is held outside Kubernetes, at " + where + ": explain cannot reach it and signs with a stand-in key; " +
		"whether the controller may and can use that key (the operator's key policy, the credentials, the key's state) shows in the issuer's Ready condition, not here"
}

// selfSigned makes a CA certificate with subject, valid until notAfter.
func selfSigned(subject pkix.RDNSequence, now, notAfter time.Time) (*pki.CA, error) {
	rawSubject, err := asn1.Marshal(subject)
	if err != nil {
		return nil, fmt.Errorf("cannot encode the CA's subject: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	notBefore := now.Add(-time.Hour)
	if !notAfter.After(notBefore) {
		notBefore = notAfter.Add(-time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), RawSubject: rawSubject, NotBefore: notBefore, NotAfter: notAfter,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("cannot make the stand-in CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &pki.CA{Cert: cert, Signer: key, Root: cert, RootPEM: pki.EncodeCertificates(cert)}, nil
}

// maxSubjectString bounds the status.ca subject explain parses.
const maxSubjectString = 4096

// oidOf are the attribute types pkix.Name.String names.
var oidOf = map[string]asn1.ObjectIdentifier{
	"CN": {2, 5, 4, 3}, "SERIALNUMBER": {2, 5, 4, 5}, "C": {2, 5, 4, 6}, "L": {2, 5, 4, 7}, "ST": {2, 5, 4, 8},
	"STREET": {2, 5, 4, 9}, "O": {2, 5, 4, 10}, "OU": {2, 5, 4, 11}, "POSTALCODE": {2, 5, 4, 17},
}

// subjectOf reads back a subject that pkix.Name.String wrote (RFC 4514:
// the last RDN first, '+' between the values of one RDN, '\' escapes),
// so that the stand-in CA's subject compares equal to the real CA's. An
// attribute it does not know makes the whole string the common name.
func subjectOf(s string) pkix.RDNSequence {
	if len(s) > maxSubjectString {
		s = s[:maxSubjectString]
	}
	var rdns pkix.RDNSequence
	var rdn pkix.RelativeDistinguishedNameSET
	var cur strings.Builder
	flush := func() bool {
		t, v, ok := strings.Cut(cur.String(), "=")
		cur.Reset()
		oid, known := oidOf[strings.ToUpper(strings.TrimSpace(t))]
		if !ok || !known {
			return false
		}
		rdn = append(rdn, pkix.AttributeTypeAndValue{Type: oid, Value: v})
		return true
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case c == '+' || c == ',':
			if !flush() {
				return pkix.Name{CommonName: s}.ToRDNSequence()
			}
			if c == ',' {
				rdns, rdn = append(rdns, rdn), nil
			}
		default:
			cur.WriteByte(c)
		}
	}
	if !flush() {
		return pkix.Name{CommonName: s}.ToRDNSequence()
	}
	rdns = append(rdns, rdn)
	slices.Reverse(rdns)
	return rdns
}
