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
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// subjectField ties a templated subject field to the pkix.Name field it sets.
// Exactly one of text/out (CN) and list/outList (the others) is set.
type subjectField struct {
	field   string
	text    *string
	out     *string
	list    *[]string
	outList *[]string
}

// subjectFields lists the subject fields of s and where each goes in n.
func subjectFields(s *v1alpha1.Subject, n *pkix.Name) []subjectField {
	return []subjectField{
		{field: "cn", text: &s.CN, out: &n.CommonName},
		{field: "organization", list: &s.Organization, outList: &n.Organization},
		{field: "organizationalUnit", list: &s.OrganizationalUnit, outList: &n.OrganizationalUnit},
		{field: "country", list: &s.Country, outList: &n.Country},
		{field: "province", list: &s.Province, outList: &n.Province},
		{field: "locality", list: &s.Locality, outList: &n.Locality},
		{field: "street", list: &s.Street, outList: &n.StreetAddress},
		{field: "postalCode", list: &s.PostalCode, outList: &n.PostalCode},
	}
}

// subjectPatternFields lists the pattern lists of p by subject field name.
func subjectPatternFields(p *v1alpha1.SubjectPatterns) []subjectField {
	return []subjectField{
		{field: "organization", list: &p.Organization},
		{field: "organizationalUnit", list: &p.OrganizationalUnit},
		{field: "country", list: &p.Country},
		{field: "province", list: &p.Province},
		{field: "locality", list: &p.Locality},
		{field: "street", list: &p.Street},
		{field: "postalCode", list: &p.PostalCode},
		{field: "serialNumber", list: &p.SerialNumber},
	}
}

// renderList renders each entry of a templated list field, trimmed, and
// drops the entries that render empty.
func renderList(tmplName, field string, texts []string, data RenderData, b *requestBudget) ([]string, *TemplateError) {
	var out []string
	for i, text := range texts {
		v, terr := renderField(tmplName, fmt.Sprintf("%s[%d]", field, i), text, data, b)
		if terr != nil {
			return nil, terr
		}
		if v = trimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out, nil
}

func trimSpace(s string) string { return strings.TrimSpace(s) }

// subjectAttribute is an attribute type a subject may carry: the name the
// policy uses for it, its upper bound in characters (RFC 5280 appendix A;
// street from X.520), and its rank in the order Go's pkix.Name (and so
// cert-manager) encodes a subject: C, ST, L, street, postalCode, O, OU,
// CN, serialNumber.
type subjectAttribute struct {
	oid   asn1.ObjectIdentifier
	field string
	max   int
	rank  int
}

// subjectAttributes are the attribute types this issuer signs; any other
// in a CSR's subject is refused. At most one CN and one serialNumber.
var subjectAttributes = []subjectAttribute{
	{asn1.ObjectIdentifier{2, 5, 4, 3}, "cn", maxCommonNameLength, 7},
	{asn1.ObjectIdentifier{2, 5, 4, 5}, "serialNumber", 64, 8},
	{asn1.ObjectIdentifier{2, 5, 4, 6}, "country", 2, 0},
	{asn1.ObjectIdentifier{2, 5, 4, 7}, "locality", 128, 2},
	{asn1.ObjectIdentifier{2, 5, 4, 8}, "province", 128, 1},
	{asn1.ObjectIdentifier{2, 5, 4, 9}, "street", 128, 3},
	{asn1.ObjectIdentifier{2, 5, 4, 10}, "organization", 64, 5},
	{asn1.ObjectIdentifier{2, 5, 4, 11}, "organizationalUnit", 64, 6},
	{asn1.ObjectIdentifier{2, 5, 4, 17}, "postalCode", 40, 4},
}

// maxSubjectValues bounds the values of one attribute in a CSR's subject.
const maxSubjectValues = 16

func findSubjectAttribute(oid asn1.ObjectIdentifier) (subjectAttribute, bool) {
	for _, a := range subjectAttributes {
		if a.oid.Equal(oid) {
			return a, true
		}
	}
	return subjectAttribute{}, false
}

func setSubjectValue(n *pkix.Name, field, v string) {
	switch field {
	case "cn":
		n.CommonName = v
	case "serialNumber":
		n.SerialNumber = v
	case "country":
		n.Country = append(n.Country, v)
	case "locality":
		n.Locality = append(n.Locality, v)
	case "province":
		n.Province = append(n.Province, v)
	case "street":
		n.StreetAddress = append(n.StreetAddress, v)
	case "organization":
		n.Organization = append(n.Organization, v)
	case "organizationalUnit":
		n.OrganizationalUnit = append(n.OrganizationalUnit, v)
	case "postalCode":
		n.PostalCode = append(n.PostalCode, v)
	}
}

// subjectValueProblem says why a subject value from a requester is not fit
// for a certificate, or "": not UTF-8, a control character, an invisible
// character (invisibleRune), or longer than its attribute's bound.
func subjectValueProblem(field, v string) string {
	if !utf8.ValidString(v) {
		return "is not valid UTF-8"
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return "has control characters"
	}
	if i := strings.IndexFunc(v, invisibleRune); i >= 0 {
		r, _ := utf8.DecodeRuneInString(v[i:])
		return fmt.Sprintf("has the invisible character U+%04X (%s), which makes a name read differently than it compares; remove it", r, invisibleKind(r))
	}
	for _, a := range subjectAttributes {
		if a.field == field && utf8.RuneCountInString(v) > a.max {
			return fmt.Sprintf("is longer than the %d characters allowed", a.max)
		}
	}
	return ""
}

// invisibleRune reports whether r changes how a name reads without being
// seen: a Unicode format character (category Cf: bidirectional overrides,
// embeddings, isolates and marks, zero-width spaces and joiners, the byte
// order mark, tag characters, ...) or a line or paragraph separator. A
// subject holding one displays like another (RIGHT-TO-LEFT OVERRIDE turns
// "moc.elgoog" into "google.com" on screen) while comparing as itself.
func invisibleRune(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// invisibleKind names the kind of an invisibleRune, for messages.
func invisibleKind(r rune) string {
	switch {
	case r == 0x061C || r == 0x200E || r == 0x200F || 0x202A <= r && r <= 0x202E || 0x2066 <= r && r <= 0x2069:
		return "a bidirectional text control"
	case 0x200B <= r && r <= 0x200D || r == 0x2060 || r == 0xFEFF:
		return "a zero-width character"
	case r == 0x2028 || r == 0x2029:
		return "a line or paragraph separator"
	}
	return "a Unicode format character"
}

// applySubject sets the certificate's subject from the request's parsed
// subject (is.subject). Without template subject fields it is the
// requested RDN sequence unchanged: same order, grouping and string
// types, byte for byte. Each template field that renders non-empty
// replaces all the request's values of its attribute, as one RDN placed
// as mergeSubject says; the fields that render empty keep the request's.
// It records where every attribute type comes from, for enforcePolicy.
// The subject is encoded from the checked attributes (RawSubject), never
// copied from the CSR.
func applySubject(is *issuance) error {
	is.origins.subject = map[string]origin{}
	for _, a := range subjectAttributes {
		is.origins.subject[a.field] = requested(subjectWhat(a.field))
	}
	replaced := map[string]bool{}
	var tmplRDNs []dnRDN
	if is.tmpl != nil {
		for _, f := range subjectFields(&is.tmpl.Subject, &pkix.Name{}) {
			what := subjectWhat(f.field)
			vals, err := is.renderSubjectField(f)
			if err != nil {
				return err
			}
			if len(vals) == 0 {
				continue
			}
			out := make([]string, len(vals))
			for i, v := range vals {
				if err := is.checkUTF8(v.field, v.text, v.value); err != nil {
					return err
				}
				if !v.trusted {
					if p := subjectValueProblem(f.field, v.value); p != "" {
						return requestErrorf(ReasonPolicyViolation, "%s %s %s", is.templateOrigin(what, v).what(), quote(v.value), p)
					}
				}
				out[i] = v.value
			}
			is.origins.subject[f.field] = is.templateOrigin(what, vals[0])
			for _, v := range vals {
				if !v.trusted {
					is.origins.subject[f.field] = is.templateOrigin(what, v)
				}
			}
			typ, _ := subjectAttributeByField(f.field)
			rdn, err := newRDN(typ, out)
			if err != nil {
				return is.badValue(vals[0].field, vals[0].text, fmt.Sprintf("%s, which cannot be encoded in a subject: %v", quote(out[0]), err))
			}
			replaced[f.field] = true
			tmplRDNs = append(tmplRDNs, rdn)
		}
	}
	slices.SortStableFunc(tmplRDNs, func(a, b dnRDN) int { return a[0].typ.rank - b[0].typ.rank })
	dn := mergeSubject(is.subject, replaced, tmplRDNs)
	raw, err := dn.encode()
	if err != nil {
		return requestErrorf(ReasonPolicyViolation, "the certificate's subject cannot be encoded: %v", err)
	}
	is.issuedSubject = dn
	is.cert.RawSubject = raw
	is.cert.Subject = dn.name()
	return nil
}

// subjectWhat names a subject attribute in messages.
func subjectWhat(field string) string {
	if w, ok := subjectWhats[field]; ok {
		return w
	}
	return "subject " + field
}

// subjectWhats is subjectWhat of each subject attribute, built once.
var subjectWhats = func() map[string]string {
	m := map[string]string{"cn": "common name"}
	for _, a := range subjectAttributes {
		if a.field != "cn" {
			m[a.field] = "subject " + a.field
		}
	}
	return m
}()

// subjectAttributeByField returns the attribute type of a field name.
func subjectAttributeByField(field string) (subjectAttribute, bool) {
	for _, a := range subjectAttributes {
		if a.field == field {
			return a, true
		}
	}
	return subjectAttribute{}, false
}

// renderSubjectField renders a template's subject field: the CN, or each
// entry of a list field.
func (is *issuance) renderSubjectField(f subjectField) ([]renderedValue, error) {
	if f.text == nil {
		return is.renderList(f.field, *f.list)
	}
	v, err := is.render(f.field, *f.text)
	if err != nil {
		return nil, err
	}
	if v = trimSpace(v); v == "" {
		return nil, nil
	}
	return []renderedValue{{field: f.field, text: *f.text, value: v, trusted: fieldTrusted(*f.text)}}, nil
}

// checkUTF8 rejects a rendered value that cannot be encoded in a subject.
func (is *issuance) checkUTF8(field, text, v string) error {
	if utf8.ValidString(v) {
		return nil
	}
	return is.badValue(field, text, fmt.Sprintf("%s, which is not valid UTF-8", quote(v)))
}

// checkSubjectNotCA rejects a certificate whose subject is its CA's own:
// it would look self-issued, Go would omit its AuthorityKeyId, and path
// building in clients would go wrong.
func checkSubjectNotCA(is *issuance) error {
	// A name equal to the CA's under RFC 5280's comparison (case and
	// string type aside) counts as the CA's too.
	if bytes.Equal(is.cert.RawSubject, is.ca.Cert.RawSubject) || strings.EqualFold(is.cert.Subject.String(), is.ca.subjectString()) {
		return requestErrorf(ReasonPolicyViolation, "the certificate's subject %s is the CA's own subject; request a different subject", quote(is.cert.Subject.String()))
	}
	return nil
}
