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
	"encoding/asn1"
	"fmt"
	"net"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// rawRequest is what the issuer reads of a CSR by walking its DER itself,
// beyond what Go's parser keeps: Go drops SAN types it does not know,
// keeps only the last CN, turns every string type into a Go string and
// leaves requested extensions and other attributes to the caller. A
// request gets what it asked for or a refusal that names what could not
// be honoured, so every part of it is read here and either evaluated or
// refused.
type rawRequest struct {
	// subject is the requested subject, checked (parseDistinguishedName).
	subject distinguishedName
	// extensions are the OIDs of the requested extensions, in order.
	extensions []asn1.ObjectIdentifier
	// keyUsage is the requested keyUsage extension, nil when absent.
	keyUsage *x509.KeyUsage
	// extKeyUsage is the requested extKeyUsage extension, nil when absent.
	extKeyUsage []x509.ExtKeyUsage
	hasEKU      bool
	// basic is the requested basicConstraints extension, nil when absent.
	basic *requestedBasicConstraints
	// nameConstraints is the requested nameConstraints extension, nil
	// when absent.
	nameConstraints *nameConstraints
}

// requestedBasicConstraints is a CSR's basicConstraints extension.
type requestedBasicConstraints struct {
	isCA bool
	// pathLen is the pathLenConstraint, -1 when absent.
	pathLen int64
}

var (
	oidExtensionRequest          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 14}
	oidExtensionSubjectAltName   = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidExtensionKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtensionExtKeyUsage      = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidExtensionBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidExtensionNameConstraints  = asn1.ObjectIdentifier{2, 5, 29, 30}
)

// csrAttributeNames name CSR attributes other than extensionRequest, for
// messages.
var csrAttributeNames = map[string]string{
	"1.2.840.113549.1.9.7":   "challengePassword",
	"1.2.840.113549.1.9.2":   "unstructuredName",
	"1.2.840.113549.1.9.8":   "unstructuredAddress",
	"1.3.6.1.4.1.311.2.1.14": "Microsoft extension request",
	"1.3.6.1.4.1.311.13.2.2": "Microsoft enrollment CSP",
	"1.3.6.1.4.1.311.13.2.3": "Microsoft OS version",
	"1.3.6.1.4.1.311.21.20":  "Microsoft request client info",
}

// extensionNames name requested extensions this issuer does not sign, for
// messages.
var extensionNames = map[string]string{
	"2.5.29.9":                "subjectDirectoryAttributes",
	"2.5.29.14":               "subjectKeyIdentifier (the issuer sets it from the key)",
	"2.5.29.18":               "issuerAltName",
	"2.5.29.31":               "cRLDistributionPoints",
	"2.5.29.32":               "certificatePolicies",
	"2.5.29.33":               "policyMappings",
	"2.5.29.35":               "authorityKeyIdentifier (the issuer sets it from the CA)",
	"2.5.29.36":               "policyConstraints",
	"2.5.29.54":               "inhibitAnyPolicy",
	"1.3.6.1.5.5.7.1.1":       "authorityInfoAccess",
	"1.3.6.1.5.5.7.1.24":      "TLS feature (OCSP must-staple)",
	"2.16.840.1.113730.1.1":   "Netscape certificate type",
	"1.3.6.1.4.1.311.20.2":    "Microsoft certificate template name",
	"1.3.6.1.4.1.311.21.7":    "Microsoft certificate template",
	"1.3.6.1.4.1.11129.2.4.2": "certificate transparency SCT list",
	"1.3.6.1.4.1.11129.2.4.3": "certificate transparency poison",
}

// otherNameTypes name otherName types, for messages.
var otherNameTypes = map[string]string{
	"1.3.6.1.4.1.311.20.2.3": "userPrincipalName",
	"1.3.6.1.5.5.7.8.4":      "permanentIdentifier",
	"1.3.6.1.5.5.7.8.9":      "SmtpUTF8Mailbox",
	"1.3.6.1.5.5.7.8.7":      "SRVName",
}

// named is oid followed by its name in parentheses when names has one.
func named(oid asn1.ObjectIdentifier, names map[string]string) string {
	if n, ok := names[oid.String()]; ok {
		return fmt.Sprintf("%s (%s)", oid, n)
	}
	return oidString(oid)
}

// maxOIDText bounds how much of an OID goes into a message: an OID may
// have any number of arcs.
const maxOIDText = 64

// oidString is oid in dotted form, shortened for a message.
func oidString(oid asn1.ObjectIdentifier) string {
	if s := oid.String(); len(s) <= maxOIDText {
		return s
	}
	return oid.String()[:maxOIDText] + "..."
}

// GeneralName tags (RFC 5280 §4.2.1.6): context-specific, primitive for
// the string and octet forms, constructed for the others.
const (
	tagOtherName     cbasn1.Tag = 0xa0
	tagRFC822Name    cbasn1.Tag = 0x81
	tagDNSName       cbasn1.Tag = 0x82
	tagX400Address   cbasn1.Tag = 0xa3
	tagDirectoryName cbasn1.Tag = 0xa4
	tagEDIPartyName  cbasn1.Tag = 0xa5
	tagURI           cbasn1.Tag = 0x86
	tagIPAddress     cbasn1.Tag = 0x87
	tagRegisteredID  cbasn1.Tag = 0x88
)

// maxRequestedExtensions bounds the extensions and attributes of a CSR:
// a client sends at most the five this issuer reads.
const maxRequestedExtensions = 16

// malformedCSR is the error for a CSR whose DER does not have the shape
// PKCS#10 gives it, in a part Go's parser does not read.
func malformedCSR(what string) *RequestError {
	return requestErrorf(ReasonInvalidCSR, "the CSR does not parse: %s", what)
}

// unsupportedf is a RequestError about a part of the CSR this issuer does
// not evaluate.
func unsupportedf(format string, args ...any) *RequestError {
	return requestErrorf(ReasonUnsupportedExtension, format, args...)
}

// walkCSR reads the DER of a CSR that Go's parser accepted (csr) and
// refuses what the issuer does not evaluate, by name: a CSR attribute
// other than one extensionRequest, an extension other than
// subjectAltName, keyUsage, extKeyUsage, basicConstraints and
// nameConstraints (the ones cert-manager's CSR builder writes), an
// extension twice, and a SAN of a type other than dNSName, iPAddress,
// uniformResourceIdentifier and rfc822Name (otherName, x400Address,
// directoryName, ediPartyName, registeredID). It parses the subject as
// encoded and the requested extensions the issuer evaluates. The counts
// of the SANs it reads must equal Go's: nothing of the request is left
// unread.
func walkCSR(der []byte, csr *x509.CertificateRequest) (rawRequest, error) {
	var out rawRequest
	in := cryptobyte.String(der)
	var req, info, subject cryptobyte.String
	var version int64
	if !in.ReadASN1(&req, cbasn1.SEQUENCE) || !in.Empty() || !req.ReadASN1(&info, cbasn1.SEQUENCE) ||
		!info.ReadASN1Integer(&version) || !info.ReadASN1Element(&subject, cbasn1.SEQUENCE) ||
		!info.SkipASN1(cbasn1.SEQUENCE) {
		return out, malformedCSR("its certificationRequestInfo is not a version, a subject and a public key")
	}
	if version != 0 {
		return out, malformedCSR(fmt.Sprintf("its version is %d; PKCS#10 defines only version 1 (0)", version))
	}
	var attrs cryptobyte.String
	var hasAttrs bool
	if !info.ReadOptionalASN1(&attrs, &hasAttrs, cbasn1.Tag(0).Constructed().ContextSpecific()) || !info.Empty() {
		return out, malformedCSR("its attributes are not a [0] SET OF Attribute at the end of certificationRequestInfo")
	}
	var err error
	if out.subject, err = parseDistinguishedName(subject); err != nil {
		return out, err
	}
	sawExtensionRequest := false
	for n := 0; !attrs.Empty(); n++ {
		var attr, values cryptobyte.String
		var oid asn1.ObjectIdentifier
		if n == maxRequestedExtensions || !attrs.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&oid) ||
			!attr.ReadASN1(&values, cbasn1.SET) || !attr.Empty() {
			return out, malformedCSR("an attribute is not a type and a SET of values, or there are more than 16")
		}
		if !oid.Equal(oidExtensionRequest) {
			return out, unsupportedf("the CSR has the attribute %s, which this issuer does not evaluate; a CSR may carry only an extensionRequest (remove the attribute, e.g. openssl's challengePassword prompt)", named(oid, csrAttributeNames))
		}
		if sawExtensionRequest {
			return out, malformedCSR("it has two extensionRequest attributes")
		}
		sawExtensionRequest = true
		var exts cryptobyte.String
		if !values.ReadASN1(&exts, cbasn1.SEQUENCE) || !values.Empty() {
			return out, malformedCSR("its extensionRequest attribute does not hold exactly one list of extensions")
		}
		if err := out.readExtensions(exts, csr); err != nil {
			return out, err
		}
	}
	return out, nil
}

// readExtensions reads the requested extensions.
func (r *rawRequest) readExtensions(exts cryptobyte.String, csr *x509.CertificateRequest) error {
	for !exts.Empty() {
		var ext, value cryptobyte.String
		var oid asn1.ObjectIdentifier
		var critical bool
		if len(r.extensions) == maxRequestedExtensions || !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&oid) ||
			!readOptionalBoolean(&ext, &critical) || !ext.ReadASN1(&value, cbasn1.OCTET_STRING) || !ext.Empty() {
			return malformedCSR(fmt.Sprintf("a requested extension is not an OID, a criticality and a value, or there are more than %d", maxRequestedExtensions))
		}
		if slices.ContainsFunc(r.extensions, oid.Equal) {
			return malformedCSR(fmt.Sprintf("it requests the extension %s twice", oidString(oid)))
		}
		r.extensions = append(r.extensions, oid)
		var err error
		switch {
		case oid.Equal(oidExtensionSubjectAltName):
			err = checkSANTypes(value, csr)
		case oid.Equal(oidExtensionKeyUsage):
			err = r.readKeyUsage(value)
		case oid.Equal(oidExtensionExtKeyUsage):
			err = r.readExtKeyUsage(value)
		case oid.Equal(oidExtensionBasicConstraints):
			err = r.readBasicConstraints(value)
		case oid.Equal(oidExtensionNameConstraints):
			var nc nameConstraints
			if nc, err = parseNameConstraints(value); err == nil {
				r.nameConstraints = &nc
			}
		default:
			return unsupportedf("the CSR requests the extension %s, which this issuer does not evaluate; it signs only subjectAltName, keyUsage, extKeyUsage, basicConstraints and nameConstraints from a request: remove it", named(oid, extensionNames))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkSANTypes walks the GeneralNames of the requested subjectAltName
// extension: only dNSName, iPAddress, uniformResourceIdentifier and
// rfc822Name are signed, and Go must have read every one of them.
func checkSANTypes(value cryptobyte.String, csr *x509.CertificateRequest) error {
	var names cryptobyte.String
	if !value.ReadASN1(&names, cbasn1.SEQUENCE) || !value.Empty() {
		return malformedCSR("its subjectAltName extension is not a SEQUENCE of names")
	}
	if names.Empty() {
		return requestErrorf(ReasonInvalidSAN, "the CSR's subjectAltName extension holds no name; leave the extension out instead")
	}
	var dns, emails, uris, ips int
	for !names.Empty() {
		var gn cryptobyte.String
		var tag cbasn1.Tag
		if !names.ReadAnyASN1(&gn, &tag) {
			return malformedCSR("a name of its subjectAltName extension does not parse")
		}
		switch tag {
		case tagDNSName:
			dns++
		case tagRFC822Name:
			emails++
		case tagURI:
			uris++
		case tagIPAddress:
			ips++
		case tagOtherName:
			var oid asn1.ObjectIdentifier
			what := "otherName"
			if gn.ReadASN1ObjectIdentifier(&oid) {
				what = "otherName of type " + named(oid, otherNameTypes)
			}
			return unsupportedSAN("an "+what, "otherName SANs are not supported: remove spec.otherNames from the Certificate (or the otherName from the CSR)")
		case tagX400Address:
			return unsupportedSAN("an x400Address", "remove it")
		case tagDirectoryName:
			return unsupportedSAN("a directoryName", "put the name in the subject instead")
		case tagEDIPartyName:
			return unsupportedSAN("an ediPartyName", "remove it")
		case tagRegisteredID:
			what := "a registeredID"
			var b cryptobyte.Builder
			b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(gn) })
			var oid asn1.ObjectIdentifier
			if enc, err := b.Bytes(); err == nil {
				if s := cryptobyte.String(enc); s.ReadASN1ObjectIdentifier(&oid) {
					what += " (" + oidString(oid) + ")"
				}
			}
			return unsupportedSAN(what, "remove it")
		default:
			return malformedCSR(fmt.Sprintf("its subjectAltName extension has a name of unknown type (tag 0x%02x)", uint8(tag)))
		}
	}
	if dns != len(csr.DNSNames) || emails != len(csr.EmailAddresses) || uris != len(csr.URIs) || ips != len(csr.IPAddresses) {
		return malformedCSR("its subjectAltName extension holds names Go's parser did not read the same way")
	}
	return nil
}

// unsupportedSAN is the error for a SAN type the issuer does not sign:
// what names it, then what to do.
func unsupportedSAN(what, fix string) *RequestError {
	if fix != "" {
		fix = "; " + fix
	}
	return requestErrorf(ReasonUnsupportedSAN, "the CSR asks for %s subject alternative name, which this issuer does not sign (it signs DNS names, IP addresses, URIs and email addresses)%s", what, fix)
}

// readOptionalBoolean reads a BOOLEAN when one comes next (a DEFAULT
// FALSE field).
func readOptionalBoolean(s *cryptobyte.String, out *bool) bool {
	if !s.PeekASN1Tag(cbasn1.BOOLEAN) {
		*out = false
		return true
	}
	return s.ReadASN1Boolean(out)
}

// readKeyUsage reads a requested keyUsage extension.
func (r *rawRequest) readKeyUsage(value cryptobyte.String) error {
	var bits asn1.BitString
	if !value.ReadASN1BitString(&bits) || !value.Empty() {
		return malformedCSR("its keyUsage extension is not a BIT STRING")
	}
	var ku x509.KeyUsage
	for i := range bits.BitLength {
		if bits.At(i) == 0 {
			continue
		}
		if i > 8 {
			return malformedCSR(fmt.Sprintf("its keyUsage extension sets bit %d, which RFC 5280 does not define", i))
		}
		ku |= 1 << i
	}
	r.keyUsage = &ku
	return nil
}

// extKeyUsageOIDs map the extended key usages Go knows to their OIDs.
var extKeyUsageOIDs = []struct {
	oid asn1.ObjectIdentifier
	eku x509.ExtKeyUsage
}{
	{asn1.ObjectIdentifier{2, 5, 29, 37, 0}, x509.ExtKeyUsageAny},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}, x509.ExtKeyUsageServerAuth},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}, x509.ExtKeyUsageClientAuth},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 3}, x509.ExtKeyUsageCodeSigning},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 4}, x509.ExtKeyUsageEmailProtection},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 5}, x509.ExtKeyUsageIPSECEndSystem},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 6}, x509.ExtKeyUsageIPSECTunnel},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 7}, x509.ExtKeyUsageIPSECUser},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}, x509.ExtKeyUsageTimeStamping},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 9}, x509.ExtKeyUsageOCSPSigning},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 10, 3, 3}, x509.ExtKeyUsageMicrosoftServerGatedCrypto},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 113730, 4, 1}, x509.ExtKeyUsageNetscapeServerGatedCrypto},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 22}, x509.ExtKeyUsageMicrosoftCommercialCodeSigning},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 61, 1, 1}, x509.ExtKeyUsageMicrosoftKernelCodeSigning},
}

// readExtKeyUsage reads a requested extKeyUsage extension.
func (r *rawRequest) readExtKeyUsage(value cryptobyte.String) error {
	var seq cryptobyte.String
	if !value.ReadASN1(&seq, cbasn1.SEQUENCE) || !value.Empty() {
		return malformedCSR("its extKeyUsage extension is not a SEQUENCE of OIDs")
	}
	r.hasEKU = true
	for !seq.Empty() {
		var oid asn1.ObjectIdentifier
		if !seq.ReadASN1ObjectIdentifier(&oid) {
			return malformedCSR("its extKeyUsage extension is not a SEQUENCE of OIDs")
		}
		i := slices.IndexFunc(extKeyUsageOIDs, func(e struct {
			oid asn1.ObjectIdentifier
			eku x509.ExtKeyUsage
		}) bool {
			return e.oid.Equal(oid)
		})
		if i < 0 {
			return unsupportedf("the CSR requests the extended key usage %s, which no usage of a request names and this issuer does not sign; remove it", oidString(oid))
		}
		if len(r.extKeyUsage) == maxRequestedExtensions {
			return malformedCSR(fmt.Sprintf("its extKeyUsage extension lists more than %d usages", maxRequestedExtensions))
		}
		r.extKeyUsage = append(r.extKeyUsage, extKeyUsageOIDs[i].eku)
	}
	return nil
}

// readBasicConstraints reads a requested basicConstraints extension.
func (r *rawRequest) readBasicConstraints(value cryptobyte.String) error {
	var seq cryptobyte.String
	bc := requestedBasicConstraints{pathLen: -1}
	if !value.ReadASN1(&seq, cbasn1.SEQUENCE) || !value.Empty() || !readOptionalBoolean(&seq, &bc.isCA) {
		return malformedCSR("its basicConstraints extension is not a SEQUENCE of cA and pathLenConstraint")
	}
	if seq.PeekASN1Tag(cbasn1.INTEGER) {
		if !seq.ReadASN1Integer(&bc.pathLen) || bc.pathLen < 0 {
			return malformedCSR("its basicConstraints pathLenConstraint is not a small non-negative INTEGER")
		}
	}
	if !seq.Empty() {
		return malformedCSR("its basicConstraints extension is not a SEQUENCE of cA and pathLenConstraint")
	}
	r.basic = &bc
	return nil
}

// maxRequestedNameConstraints bounds the subtrees of a requested
// nameConstraints extension.
const maxRequestedNameConstraints = 64

// parseNameConstraints reads a requested nameConstraints extension
// (RFC 5280 §4.2.1.10): permitted and excluded subtrees of DNS domains,
// IP ranges, email addresses or domains and URI domains, each checked for
// form. A subtree with a minimum or maximum, of another name type, an
// extension with no subtree, or a permittedSubtrees or excludedSubtrees
// field that is present but empty (RFC 5280 requires at least one subtree
// in each field present; a verifier may read an empty permittedSubtrees
// as "nothing permitted" or as absent) is refused.
func parseNameConstraints(value cryptobyte.String) (nameConstraints, error) {
	var nc nameConstraints
	var seq, permitted, excluded cryptobyte.String
	var hasPermitted, hasExcluded bool
	if !value.ReadASN1(&seq, cbasn1.SEQUENCE) || !value.Empty() ||
		!seq.ReadOptionalASN1(&permitted, &hasPermitted, cbasn1.Tag(0).ContextSpecific().Constructed()) ||
		!seq.ReadOptionalASN1(&excluded, &hasExcluded, cbasn1.Tag(1).ContextSpecific().Constructed()) || !seq.Empty() {
		return nc, malformedCSR("its nameConstraints extension is not a SEQUENCE of permitted and excluded subtrees")
	}
	for _, f := range []struct {
		present bool
		value   cryptobyte.String
		name    string
	}{{hasPermitted, permitted, "permittedSubtrees"}, {hasExcluded, excluded, "excludedSubtrees"}} {
		if f.present && f.value.Empty() {
			return nc, requestErrorf(ReasonInvalidCSR, "the CSR's nameConstraints extension has an empty %s field, which RFC 5280 forbids (a field that is present holds at least one subtree); leave the field out or list at least one subtree", f.name)
		}
	}
	if len(permitted) == 0 && len(excluded) == 0 {
		return nc, requestErrorf(ReasonInvalidCSR, "the CSR's nameConstraints extension has no subtree; leave the extension out instead")
	}
	count := 0
	read := func(subtrees cryptobyte.String, which string, dns *[]string, ips *[]*net.IPNet, emails, uris *[]string) error {
		for !subtrees.Empty() {
			var subtree, base cryptobyte.String
			var tag cbasn1.Tag
			if !subtrees.ReadASN1(&subtree, cbasn1.SEQUENCE) || !subtree.ReadAnyASN1(&base, &tag) {
				return malformedCSR("a subtree of its nameConstraints extension does not parse")
			}
			if !subtree.Empty() {
				return requestErrorf(ReasonInvalidCSR, "the CSR's nameConstraints extension has a %s subtree with a minimum or maximum, which RFC 5280 forbids; remove it", which)
			}
			if count++; count > maxRequestedNameConstraints {
				return requestErrorf(ReasonInvalidCSR, "the CSR's nameConstraints extension has more than %d subtrees; request fewer", maxRequestedNameConstraints)
			}
			v := string(base)
			switch tag {
			case tagDNSName:
				if p := dnsConstraintProblem(v); p != "" {
					return badConstraint(which, "DNS domain", v, p)
				}
				*dns = append(*dns, v)
			case tagIPAddress:
				ipNet, p := ipConstraintOf(base)
				if p != "" {
					return badConstraint(which, "IP range", fmt.Sprintf("% x", []byte(base)), p)
				}
				*ips = append(*ips, ipNet)
			case tagRFC822Name:
				if p := emailConstraintProblem(v); p != "" {
					return badConstraint(which, "email address", v, p)
				}
				*emails = append(*emails, v)
			case tagURI:
				if p := hostConstraintProblem(v); p != "" {
					return badConstraint(which, "URI domain", v, p)
				}
				*uris = append(*uris, v)
			default:
				return unsupportedf("the CSR's nameConstraints extension has a %s subtree of name type [%d], which this issuer does not sign; constrain only DNS domains, IP ranges, email addresses and URI domains", which, uint8(tag)&0x1f)
			}
		}
		return nil
	}
	if err := read(permitted, "permitted", &nc.PermittedDNSDomains, &nc.PermittedIPRanges, &nc.PermittedEmailAddresses, &nc.PermittedURIDomains); err != nil {
		return nc, err
	}
	if err := read(excluded, "excluded", &nc.ExcludedDNSDomains, &nc.ExcludedIPRanges, &nc.ExcludedEmailAddresses, &nc.ExcludedURIDomains); err != nil {
		return nc, err
	}
	return nc, nil
}

func badConstraint(which, kind, value, problem string) error {
	return requestErrorf(ReasonInvalidCSR, "the CSR's nameConstraints extension has the %s %s %s, which is not valid: %s", which, kind, quote(value), problem)
}
