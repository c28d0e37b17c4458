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
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"slices"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// A distinguishedName is a subject as it is encoded: a sequence of RDNs,
// each a set of one or more attributes, each value with the ASN.1 string
// type it was sent in. cert-manager (and Go's pkix.Name) put all values of
// one attribute type into one multi-valued RDN ("OU=a+OU=b"), openssl puts
// each in its own, and a literalSubject keeps whatever order and grouping
// its author wrote: the issuer parses them all into this form, checks
// every attribute, and encodes the certificate's subject from it with the
// same order, grouping and string types.
type distinguishedName []dnRDN

// dnRDN is one relative distinguished name: a SET OF attributes, in DER
// order (ascending by their encodings).
type dnRDN []dnAttribute

// dnAttribute is one AttributeTypeAndValue.
type dnAttribute struct {
	typ subjectAttribute
	// tag is the value's string type: PrintableString, UTF8String or
	// IA5String. The value's encoding is exactly its bytes in that type.
	tag   cbasn1.Tag
	value string
}

// subjectStringTypes are the string types a subject value may have.
var subjectStringTypes = map[cbasn1.Tag]string{
	cbasn1.PrintableString: "PrintableString",
	cbasn1.UTF8String:      "UTF8String",
	cbasn1.IA5String:       "IA5String",
}

// otherStringTypes name the string types a subject value is refused in.
var otherStringTypes = map[cbasn1.Tag]string{
	cbasn1.T61String:         "T61String",
	cbasn1.Tag(30):           "BMPString",
	cbasn1.Tag(28):           "UniversalString",
	cbasn1.Tag(18):           "NumericString",
	cbasn1.Tag(26):           "VisibleString",
	cbasn1.Tag(27):           "GeneralString",
	cbasn1.Tag(25):           "GraphicString",
	cbasn1.Tag(21):           "VideotexString",
	cbasn1.OCTET_STRING:      "OCTET STRING",
	cbasn1.INTEGER:           "INTEGER",
	cbasn1.BOOLEAN:           "BOOLEAN",
	cbasn1.NULL:              "NULL",
	cbasn1.SEQUENCE:          "SEQUENCE",
	cbasn1.SET:               "SET",
	cbasn1.OBJECT_IDENTIFIER: "OBJECT IDENTIFIER",
}

// tagName names an ASN.1 tag for messages.
func tagName(tag cbasn1.Tag) string {
	if n, ok := subjectStringTypes[tag]; ok {
		return n
	}
	if n, ok := otherStringTypes[tag]; ok {
		return n
	}
	return fmt.Sprintf("ASN.1 tag 0x%02x", uint8(tag))
}

// unsignedAttributeNames name attribute types a subject may carry
// elsewhere but this issuer does not sign, for messages.
var unsignedAttributeNames = map[string]string{
	"1.2.840.113549.1.9.1":       "emailAddress",
	"0.9.2342.19200300.100.1.25": "domainComponent (DC)",
	"0.9.2342.19200300.100.1.1":  "userID (UID)",
	"2.5.4.4":                    "surname",
	"2.5.4.12":                   "title",
	"2.5.4.13":                   "description",
	"2.5.4.15":                   "businessCategory",
	"2.5.4.41":                   "name",
	"2.5.4.42":                   "givenName",
	"2.5.4.43":                   "initials",
	"2.5.4.44":                   "generationQualifier",
	"2.5.4.46":                   "dnQualifier",
	"2.5.4.65":                   "pseudonym",
	"2.5.4.97":                   "organizationIdentifier",
}

// subjectErrorf is a RequestError about the structure of the CSR's subject.
func subjectErrorf(format string, args ...any) *RequestError {
	return requestErrorf(ReasonInvalidSubject, "the CSR's subject "+format, args...)
}

// parseDistinguishedName parses a CSR's raw subject and refuses what a
// certificate of this issuer never carries: an attribute type other than
// subjectAttributes (named by its OID), a value that is not a
// PrintableString, UTF8String or IA5String, is empty, has control
// characters or exceeds its bound, several CNs or serialNumbers, more
// than MaxRDNAttributes attributes in one RDN, maxSubjectValues of one
// type or MaxSubjectAttributes in all, an empty RDN, the same attribute
// twice in one RDN, or an encoding that is not DER (an RDN's attributes
// out of DER order, say). The caps are checked as the attributes are
// read, before anything else is done with them.
//
// The parsed name is encoded again (encode) and must give back raw byte
// for byte: that proves the certificate's subject, which is encoded from
// the checked attributes and never copied from the CSR, is exactly what
// was requested.
func parseDistinguishedName(raw []byte) (distinguishedName, error) {
	in := cryptobyte.String(raw)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, subjectErrorf("does not parse as a distinguished name")
	}
	var dn distinguishedName
	total := 0
	counts := map[string]int{}
	for i := 1; !seq.Empty(); i++ {
		var set cryptobyte.String
		if !seq.ReadASN1(&set, cbasn1.SET) {
			return nil, subjectErrorf("does not parse as a distinguished name: RDN %d is not a SET", i)
		}
		if set.Empty() {
			return nil, subjectErrorf("has an empty RDN (RDN %d); every RDN holds at least one attribute", i)
		}
		var rdn dnRDN
		var prev []byte
		for !set.Empty() {
			var elem cryptobyte.String
			if !set.ReadASN1Element(&elem, cbasn1.SEQUENCE) {
				return nil, subjectErrorf("does not parse as a distinguished name: an attribute of RDN %d is not a SEQUENCE", i)
			}
			if len(rdn) == MaxRDNAttributes {
				return nil, subjectErrorf("has more than %d attributes in RDN %d (joined with '+'); request fewer", MaxRDNAttributes, i)
			}
			if total++; total > MaxSubjectAttributes {
				return nil, subjectErrorf("has more than %d attributes; request fewer", MaxSubjectAttributes)
			}
			if prev != nil {
				switch c := bytes.Compare(prev, elem); {
				case c == 0:
					return nil, subjectErrorf("has the same attribute twice in RDN %d; request it once", i)
				case c > 0:
					return nil, subjectErrorf("is not DER-encoded: the attributes of RDN %d are not in DER order (a SET OF is sorted by encoding); encode it with a DER encoder such as Go's or openssl's", i)
				}
			}
			prev = elem
			a, err := parseDNAttribute(elem)
			if err != nil {
				return nil, err
			}
			counts[a.typ.field]++
			if c, most := counts[a.typ.field], maxValuesOf(a.typ.field); c > most {
				return nil, subjectErrorf("has %d %s attributes; request at most %d", c, a.typ.field, most)
			}
			rdn = append(rdn, a)
		}
		dn = append(dn, rdn)
	}
	enc, err := dn.encode()
	if err != nil {
		return nil, subjectErrorf("cannot be encoded again: %v", err)
	}
	if !bytes.Equal(enc, raw) {
		return nil, subjectErrorf("is not DER-encoded (it differs from its DER encoding); encode it with a DER encoder such as Go's or openssl's")
	}
	return dn, nil
}

// maxValuesOf is how many values of one attribute type a subject may have.
func maxValuesOf(field string) int {
	if field == "cn" || field == "serialNumber" {
		return 1
	}
	return maxSubjectValues
}

// parseDNAttribute parses and checks one AttributeTypeAndValue.
func parseDNAttribute(elem cryptobyte.String) (dnAttribute, error) {
	var atv cryptobyte.String
	var oid asn1.ObjectIdentifier
	var value cryptobyte.String
	var tag cbasn1.Tag
	if !elem.ReadASN1(&atv, cbasn1.SEQUENCE) || !atv.ReadASN1ObjectIdentifier(&oid) ||
		!atv.ReadAnyASN1(&value, &tag) || !atv.Empty() {
		return dnAttribute{}, subjectErrorf("does not parse as a distinguished name: an attribute is not a type and a value")
	}
	typ, ok := findSubjectAttribute(oid)
	if !ok {
		name := ""
		if n, known := unsignedAttributeNames[oid.String()]; known {
			name = " (" + n + ")"
		}
		hint := ""
		if oid.Equal(oidEmailAddress) {
			hint = "; request an email SAN instead"
		}
		return dnAttribute{}, subjectErrorf("has attribute %s%s, which this issuer does not sign%s; use only CN, O, OU, C, ST, L, street, postalCode and serialNumber", oidString(oid), name, hint)
	}
	if _, ok := subjectStringTypes[tag]; !ok {
		return dnAttribute{}, subjectErrorf("%s is a %s value; this issuer signs PrintableString, UTF8String and IA5String values (as cert-manager, Go and openssl write them)", typ.field, tagName(tag))
	}
	v := string(value)
	if p := stringTypeProblem(tag, v); p != "" {
		return dnAttribute{}, subjectErrorf("%s %s is not a valid %s: %s", typ.field, quote(v), tagName(tag), p)
	}
	if v == "" {
		return dnAttribute{}, subjectErrorf("%s is empty; leave the attribute out instead", typ.field)
	}
	if p := subjectValueProblem(typ.field, v); p != "" {
		return dnAttribute{}, subjectErrorf("%s %s %s", typ.field, quote(v), p)
	}
	return dnAttribute{typ: typ, tag: tag, value: v}, nil
}

// stringTypeProblem says why v's bytes are not valid in the string type
// tag, or "". PrintableString allows '*' and '&' as Go's parser does (a
// wildcard CN is often sent so).
func stringTypeProblem(tag cbasn1.Tag, v string) string {
	switch tag {
	case cbasn1.PrintableString:
		for i := range len(v) {
			if !isPrintableByte(v[i]) {
				return fmt.Sprintf("it has the character %q", v[i])
			}
		}
	case cbasn1.IA5String:
		for i := range len(v) {
			if v[i] >= utf8.RuneSelf {
				return fmt.Sprintf("it has the non-ASCII byte 0x%02x", v[i])
			}
		}
	case cbasn1.UTF8String:
		if !utf8.ValidString(v) {
			return "it is not valid UTF-8"
		}
	default:
		// subjectStringTypes refused every other tag before this call.
	}
	return ""
}

// isPrintableByte is Go's x509 parser's PrintableString set.
func isPrintableByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
		'\'' <= b && b <= ')' || '+' <= b && b <= '/' ||
		b == ' ' || b == ':' || b == '=' || b == '?' || b == '*' || b == '&'
}

// encode encodes the name in DER, attributes and RDNs in their order.
func (dn distinguishedName) encode() ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, rdn := range dn {
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
				for _, a := range rdn {
					a.encodeTo(b)
				}
			})
		}
	})
	return b.Bytes()
}

// encodeTo adds the attribute's AttributeTypeAndValue to b.
func (a dnAttribute) encodeTo(b *cryptobyte.Builder) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(a.typ.oid)
		b.AddASN1(a.tag, func(b *cryptobyte.Builder) { b.AddBytes([]byte(a.value)) })
	})
}

// newRDN is the RDN a template's subject field renders, encoded as
// cert-manager and Go encode a subject field: all values of the attribute
// in one RDN (multi-valued when there are several), each a PrintableString
// when its characters allow, else a UTF8String, in DER order.
func newRDN(typ subjectAttribute, values []string) (dnRDN, error) {
	type encoded struct {
		a   dnAttribute
		der []byte
	}
	all := make([]encoded, 0, len(values))
	for _, v := range values {
		der, err := asn1.Marshal(v)
		if err != nil {
			return nil, err
		}
		a := dnAttribute{typ: typ, tag: cbasn1.Tag(der[0]), value: v}
		var b cryptobyte.Builder
		a.encodeTo(&b)
		enc, err := b.Bytes()
		if err != nil {
			return nil, err
		}
		all = append(all, encoded{a, enc})
	}
	slices.SortStableFunc(all, func(x, y encoded) int { return bytes.Compare(x.der, y.der) })
	rdn := make(dnRDN, len(all))
	for i, e := range all {
		rdn[i] = e.a
	}
	return rdn, nil
}

// mergeSubject is the certificate's subject: the requested RDNs, minus
// the attributes of the types the template sets (an RDN left empty goes),
// with the template's RDNs (tmpl, in the order of subjectAttributes)
// inserted each before the first remaining requested RDN whose attributes
// all come later in that order, else at the end. The requested RDNs keep
// their order, grouping and string types; a request in Go's order (all of
// cert-manager's Certificates, and openssl's /C=../O=../CN=.. subjects)
// gets the template's attributes where Go would have put them.
func mergeSubject(req distinguishedName, replaced map[string]bool, tmpl []dnRDN) distinguishedName {
	if len(tmpl) == 0 {
		return req
	}
	out := make(distinguishedName, 0, len(req)+len(tmpl))
	next := 0
	for _, rdn := range req {
		kept := slices.DeleteFunc(slices.Clone(rdn), func(a dnAttribute) bool { return replaced[a.typ.field] })
		if len(kept) == 0 {
			continue
		}
		first := kept[0].typ.rank
		for _, a := range kept {
			first = min(first, a.typ.rank)
		}
		for next < len(tmpl) && tmpl[next][0].typ.rank < first {
			out = append(out, tmpl[next])
			next++
		}
		out = append(out, kept)
	}
	return append(out, tmpl[next:]...)
}

// name is the name as a pkix.Name, as Go's parser would fill it.
func (dn distinguishedName) name() pkix.Name {
	var n pkix.Name
	for _, rdn := range dn {
		for _, a := range rdn {
			n.Names = append(n.Names, pkix.AttributeTypeAndValue{Type: a.typ.oid, Value: a.value})
			setSubjectValue(&n, a.typ.field, a.value)
		}
	}
	return n
}

// String is the name in RFC 4514 form, for messages.
func (dn distinguishedName) String() string {
	seq := make(pkix.RDNSequence, len(dn))
	for i, rdn := range dn {
		for _, a := range rdn {
			seq[i] = append(seq[i], pkix.AttributeTypeAndValue{Type: a.typ.oid, Value: a.value})
		}
	}
	return seq.String()
}

// attributes lists the name's attributes in order.
func (dn distinguishedName) attributes() []dnAttribute {
	var out []dnAttribute
	for _, rdn := range dn {
		out = append(out, rdn...)
	}
	return out
}

var oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
