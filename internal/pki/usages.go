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
	"slices"
	"strings"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// kindUsages are the extended key usages each template kind sets.
var kindUsages = map[v1alpha1.TemplateKind][]x509.ExtKeyUsage{
	v1alpha1.ServerKind: {x509.ExtKeyUsageServerAuth},
	v1alpha1.ClientKind: {x509.ExtKeyUsageClientAuth},
	v1alpha1.PeerKind:   {x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
}

// optionalKeyUsages are the key usages a request may add to
// digitalSignature on a template's certificate.
const optionalKeyUsages = x509.KeyUsageKeyEncipherment | x509.KeyUsageContentCommitment |
	x509.KeyUsageDataEncipherment | x509.KeyUsageKeyAgreement

// caKeyUsages are the key usages only a CA certificate may have.
const caKeyUsages = x509.KeyUsageCertSign | x509.KeyUsageCRLSign

// kindOf returns a template's kind, server by default.
func kindOf(t *v1alpha1.CertificateTemplate) v1alpha1.TemplateKind {
	if t.Kind == "" {
		return v1alpha1.ServerKind
	}
	return t.Kind
}

// applyBasicConstraints applies the isCA policy: only a template with
// allowCA may sign a CA, and then one that cannot sign further CAs, with
// NameConstraints derived from the template's allow-lists unless the
// template says unconstrainedCA.
func applyBasicConstraints(is *issuance) error {
	is.cert.BasicConstraintsValid = true
	if !is.req.IsCA {
		return nil
	}
	t := is.tmpl
	if t == nil || !t.AllowCA {
		return requestErrorf(ReasonPolicyViolation, "the request asks for a CA certificate (isCA), which %s does not allow; use a template with allowCA: true", policyName(t))
	}
	is.cert.IsCA = true
	is.cert.MaxPathLen = 0
	is.cert.MaxPathLenZero = true
	var tmplNC *nameConstraints
	if !t.UnconstrainedCA {
		a := &is.allowed
		nc, problem := caNameConstraints(a.dns, a.ipRanges, a.uris, a.emails)
		if problem != "" {
			return templateErrorf(t.Name, "allowCA", "cannot derive NameConstraints for CA certificates: %s; narrow the allow-lists or set unconstrainedCA: true", problem)
		}
		tmplNC = &nc
	}
	switch {
	case is.raw.nameConstraints != nil:
		nc, err := intersectNameConstraints(t.Name, tmplNC, *is.raw.nameConstraints)
		if err != nil {
			return err
		}
		nc.apply(&is.cert)
	case tmplNC != nil:
		tmplNC.apply(&is.cert)
	}
	return nil
}

// checkRequestedExtensions makes sure what the CSR's own extensions ask
// for agrees with the request object, which is what the issuer signs
// from: the keyUsage and extKeyUsage extensions (cert-manager writes
// spec.usages there unless encodeUsagesInRequest is false) must name the
// request's usages, a basicConstraints extension its isCA (and a
// pathLenConstraint, if any, the 0 every CA certificate of this issuer
// gets), and nameConstraints only come with isCA. cert-manager's CA issuer
// refuses the same disagreements.
func checkRequestedExtensions(is *issuance) error {
	r, req := &is.raw, is.req
	if r.keyUsage != nil && *r.keyUsage != req.KeyUsage {
		return requestErrorf(ReasonInvalidCSR, "the CSR's keyUsage extension asks for %s but the request's usages are %s; make them agree (cert-manager writes spec.usages into the CSR unless encodeUsagesInRequest is false)", orNone(keyUsageNames(*r.keyUsage)), orNone(keyUsageNames(req.KeyUsage)))
	}
	if r.hasEKU && !sameExtKeyUsages(r.extKeyUsage, req.ExtKeyUsage) {
		return requestErrorf(ReasonInvalidCSR, "the CSR's extKeyUsage extension asks for %s but the request's usages are %s; make them agree (cert-manager writes spec.usages into the CSR unless encodeUsagesInRequest is false)", orNone(extKeyUsageNames(r.extKeyUsage)), orNone(extKeyUsageNames(req.ExtKeyUsage)))
	}
	if bc := r.basic; bc != nil {
		switch {
		case bc.isCA != req.IsCA:
			return requestErrorf(ReasonInvalidCSR, "the CSR's basicConstraints extension says CA:%s but the request's isCA is %v; make them agree", strings.ToUpper(fmt.Sprint(bc.isCA)), req.IsCA)
		case bc.pathLen >= 0 && !bc.isCA:
			return requestErrorf(ReasonInvalidCSR, "the CSR's basicConstraints extension has a pathLenConstraint on a certificate that is not a CA; remove it")
		case bc.pathLen > 0:
			return requestErrorf(ReasonPolicyViolation, "the CSR's basicConstraints extension asks for pathLenConstraint %d, but this issuer signs CA certificates with pathLenConstraint 0 (they sign leaves only); request 0 or none", bc.pathLen)
		}
	}
	if r.nameConstraints != nil && !req.IsCA {
		return requestErrorf(ReasonInvalidCSR, "the CSR asks for name constraints, which only a CA certificate carries; request isCA or drop spec.nameConstraints")
	}
	return nil
}

// sameExtKeyUsages reports whether a and b hold the same usages.
func sameExtKeyUsages(a, b []x509.ExtKeyUsage) bool {
	return !slices.ContainsFunc(a, func(u x509.ExtKeyUsage) bool { return !slices.Contains(b, u) }) &&
		!slices.ContainsFunc(b, func(u x509.ExtKeyUsage) bool { return !slices.Contains(a, u) })
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// applyUsages sets the key usages and extended key usages. A template's
// kind fixes the extended key usages and a request may only ask for those;
// key usages are digitalSignature plus the requested optional ones, and a
// requested key usage the template does not give (encipherOnly,
// decipherOnly) is refused, never left out. Pass-through signs the usages
// as requested (digitalSignature and keyEncipherment when none are). Only
// a CA may have certSign or cRLSign.
func applyUsages(is *issuance) error {
	req := is.req
	if bad := req.KeyUsage & caKeyUsages; bad != 0 && !is.cert.IsCA {
		return requestErrorf(ReasonPolicyViolation, "requested usage %s is not allowed on a certificate that is not a CA; remove it, or request isCA with a template that has allowCA: true", keyUsageNames(bad))
	}
	if is.tmpl == nil {
		is.cert.KeyUsage = req.KeyUsage
		if is.cert.KeyUsage == 0 {
			is.cert.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		}
		for _, u := range req.ExtKeyUsage {
			if !slices.Contains(is.cert.ExtKeyUsage, u) {
				is.cert.ExtKeyUsage = append(is.cert.ExtKeyUsage, u)
			}
		}
		return nil
	}
	kind := kindOf(is.tmpl)
	allowed, ok := kindUsages[kind]
	if !ok {
		return templateErrorf(is.tmpl.Name, "kind", "kind %s is not one of server, client or peer", quote(string(kind)))
	}
	for _, u := range req.ExtKeyUsage {
		if u == x509.ExtKeyUsageAny || !slices.Contains(allowed, u) {
			return requestErrorf(ReasonPolicyViolation, "requested usage %s is not allowed by template %q (kind %s allows: %s)", extKeyUsageName(u), is.tmpl.Name, kind, extKeyUsageNames(allowed))
		}
	}
	given := x509.KeyUsageDigitalSignature | optionalKeyUsages
	if is.cert.IsCA {
		given |= caKeyUsages
	}
	if extra := req.KeyUsage &^ given; extra != 0 {
		what, them := "usage %s is", "it"
		if extra&(extra-1) != 0 { // more than one bit
			what, them = "usages %s are", "them"
		}
		return requestErrorf(ReasonPolicyViolation, "requested "+what+" not allowed by template %q (kind %s allows the key usages: %s); remove %s from the request's usages", keyUsageNames(extra), is.tmpl.Name, kind, keyUsageNames(given), them)
	}
	is.cert.ExtKeyUsage = slices.Clone(allowed)
	is.cert.KeyUsage = x509.KeyUsageDigitalSignature | req.KeyUsage
	if is.cert.IsCA {
		is.cert.KeyUsage |= caKeyUsages
	}
	return nil
}

var extKeyUsageNamesByUsage = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageAny:                        "any",
	x509.ExtKeyUsageServerAuth:                 "server auth",
	x509.ExtKeyUsageClientAuth:                 "client auth",
	x509.ExtKeyUsageCodeSigning:                "code signing",
	x509.ExtKeyUsageEmailProtection:            "email protection",
	x509.ExtKeyUsageIPSECEndSystem:             "ipsec end system",
	x509.ExtKeyUsageIPSECTunnel:                "ipsec tunnel",
	x509.ExtKeyUsageIPSECUser:                  "ipsec user",
	x509.ExtKeyUsageTimeStamping:               "timestamping",
	x509.ExtKeyUsageOCSPSigning:                "ocsp signing",
	x509.ExtKeyUsageMicrosoftServerGatedCrypto: "microsoft sgc",
	x509.ExtKeyUsageNetscapeServerGatedCrypto:  "netscape sgc",
}

// extKeyUsageName names an extended key usage as cert-manager does.
func extKeyUsageName(u x509.ExtKeyUsage) string {
	if n, ok := extKeyUsageNamesByUsage[u]; ok {
		return n
	}
	return fmt.Sprintf("extended key usage %d", u)
}

func extKeyUsageNames(us []x509.ExtKeyUsage) string {
	names := make([]string, len(us))
	for i, u := range us {
		names[i] = extKeyUsageName(u)
	}
	return strings.Join(names, ", ")
}

var keyUsageNamesByBit = []struct {
	bit  x509.KeyUsage
	name string
}{
	{x509.KeyUsageDigitalSignature, "digital signature"},
	{x509.KeyUsageContentCommitment, "content commitment"},
	{x509.KeyUsageKeyEncipherment, "key encipherment"},
	{x509.KeyUsageDataEncipherment, "data encipherment"},
	{x509.KeyUsageKeyAgreement, "key agreement"},
	{x509.KeyUsageCertSign, "cert sign"},
	{x509.KeyUsageCRLSign, "crl sign"},
	{x509.KeyUsageEncipherOnly, "encipher only"},
	{x509.KeyUsageDecipherOnly, "decipher only"},
}

// keyUsageNames names the bits of a key usage as cert-manager does.
func keyUsageNames(ku x509.KeyUsage) string {
	var names []string
	for _, n := range keyUsageNamesByBit {
		if ku&n.bit != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ", ")
}
