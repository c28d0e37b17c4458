package pki

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strings"
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

// renderList renders each entry of a templated list field, trimmed, and
// drops the entries that render empty.
func renderList(tmplName, field string, texts []string, data RenderData) ([]string, *TemplateError) {
	var out []string
	for i, text := range texts {
		v, terr := renderField(tmplName, fmt.Sprintf("%s[%d]", field, i), text, data)
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

// standardAttributes are the subject attribute types pkix.Name has fields
// for; any other attribute of a CSR subject is kept in ExtraNames.
var standardAttributes = []asn1.ObjectIdentifier{
	{2, 5, 4, 3}, {2, 5, 4, 5}, {2, 5, 4, 6}, {2, 5, 4, 7}, {2, 5, 4, 8},
	{2, 5, 4, 9}, {2, 5, 4, 10}, {2, 5, 4, 11}, {2, 5, 4, 17},
}

// applySubject sets the certificate's subject. Pass-through keeps the CSR's
// subject byte for byte. With a template, each subject field that renders
// non-empty replaces the request's; the others keep it.
func applySubject(is *issuance) error {
	csr := is.csr
	is.cnFromRequest = true
	if is.tmpl == nil {
		is.cert.Subject = csr.Subject
		is.cert.RawSubject = csr.RawSubject
		return nil
	}
	name := csr.Subject
	name.ExtraNames = nil
	for _, atv := range csr.Subject.Names {
		standard := false
		for _, oid := range standardAttributes {
			if atv.Type.Equal(oid) {
				standard = true
				break
			}
		}
		if !standard {
			name.ExtraNames = append(name.ExtraNames, atv)
		}
	}
	overridden := false
	for _, f := range subjectFields(&is.tmpl.Subject, &name) {
		if f.text != nil {
			v, err := is.render(f.field, *f.text)
			if err != nil {
				return err
			}
			if v = trimSpace(v); v != "" {
				if err := is.checkUTF8(f.field, *f.text, v); err != nil {
					return err
				}
				*f.out = v
				overridden = true
				is.cnFromRequest = false
			}
			continue
		}
		vals, err := is.renderList(f.field, *f.list)
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
			out[i] = v.value
		}
		*f.outList = out
		overridden = true
	}
	is.cert.Subject = name
	if !overridden {
		is.cert.RawSubject = csr.RawSubject
	}
	return nil
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
	raw := is.cert.RawSubject
	if len(raw) == 0 {
		var err error
		if raw, err = asn1.Marshal(is.cert.Subject.ToRDNSequence()); err != nil {
			return requestErrorf(ReasonPolicyViolation, "the certificate's subject cannot be encoded: %v", err)
		}
	}
	if bytes.Equal(raw, is.ca.Cert.RawSubject) {
		return requestErrorf(ReasonPolicyViolation, "the certificate's subject %s is the CA's own subject; request a different subject", quote(is.cert.Subject.String()))
	}
	return nil
}
