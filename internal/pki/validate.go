package pki

import (
	"crypto/x509/pkix"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// sampleData is the data templates are validated against.
func sampleData(vars map[string]string, issuer IssuerData) RenderData {
	ns := issuer.Namespace
	if ns == "" {
		ns = "default"
	}
	return RenderData{
		Vars:   vars,
		Issuer: issuer,
		Request: RequestData{
			Name:       "example",
			Namespace:  ns,
			CommonName: "example.com",
			DNSNames:   []string{"example.com"},
			Duration:   24 * time.Hour,
		},
	}
}

// ValidateTemplates checks an issuer's certificate templates and CA
// template: names are set and unique, every templated field parses and
// renders on sample data (a request "example" in the issuer's namespace or
// "default", CN and DNS name "example.com", 24h), static ip entries are IP
// addresses, allowedIPRanges are CIDRs, allowedDNSNames use '*' only as a
// whole label, and the enumerations and sizes are known. It returns the
// first problem as a *TemplateError naming the template and field.
func ValidateTemplates(templates []v1alpha1.CertificateTemplate, caTemplate *v1alpha1.CATemplate, vars map[string]string, issuer IssuerData) error {
	data := sampleData(vars, issuer)
	seen := map[string]bool{}
	for i := range templates {
		t := &templates[i]
		if t.Name == "" {
			return templateErrorf(fmt.Sprintf("templates[%d]", i), "name", "the template has no name; set one")
		}
		if seen[t.Name] {
			return templateErrorf(t.Name, "name", "the name is used by two templates; make it unique")
		}
		seen[t.Name] = true
		if err := validateTemplate(t, data); err != nil {
			return err
		}
	}
	if caTemplate != nil {
		if _, terr := renderCASubject(caTemplate.Subject, data); terr != nil {
			return terr
		}
		if caTemplate.TTL < 0 {
			return templateErrorf(CATemplateName, "ttl", "ttl %d is negative; set a lifetime in hours", caTemplate.TTL)
		}
		if terr := checkKeySpec(caTemplate.PrivateKey); terr != nil {
			return terr
		}
	}
	return nil
}

func validateTemplate(t *v1alpha1.CertificateTemplate, data RenderData) error {
	if _, ok := kindUsages[kindOf(t)]; !ok {
		return templateErrorf(t.Name, "kind", "kind %s is not one of server, client or peer", quote(string(t.Kind)))
	}
	for _, f := range subjectFields(&t.Subject, &pkix.Name{}) {
		if f.text != nil {
			if _, terr := renderField(t.Name, f.field, *f.text, data); terr != nil {
				return terr
			}
			continue
		}
		if _, terr := renderList(t.Name, f.field, *f.list, data); terr != nil {
			return terr
		}
	}
	for i, text := range t.DNS {
		field := fmt.Sprintf("dns[%d]", i)
		v, terr := renderField(t.Name, field, text, data)
		if terr != nil {
			return terr
		}
		if v = trimSpace(v); v != "" && !validDNSName(v) {
			return templateErrorf(t.Name, field, "renders %s on sample data, which is not a valid DNS name", quote(v))
		}
	}
	for i, text := range t.IP {
		field := fmt.Sprintf("ip[%d]", i)
		v, terr := renderField(t.Name, field, text, data)
		if terr != nil {
			return terr
		}
		if v = trimSpace(v); v != "" && net.ParseIP(v) == nil {
			if !strings.Contains(text, "{{") {
				return templateErrorf(t.Name, field, "%s is not an IP address", quote(v))
			}
			return templateErrorf(t.Name, field, "renders %s on sample data, which is not an IP address", quote(v))
		}
	}
	for i, text := range t.AllowedDNSNames {
		field := fmt.Sprintf("allowedDNSNames[%d]", i)
		v, terr := renderField(t.Name, field, text, data)
		if terr != nil {
			return terr
		}
		for _, label := range strings.Split(trimSpace(v), ".") {
			if label != "*" && strings.Contains(label, "*") {
				return templateErrorf(t.Name, field, "pattern %s has a partial wildcard label %s; '*' must be a whole label (e.g. *.example.com)", quote(v), quote(label))
			}
		}
	}
	if _, terr := parseIPRanges(t.Name, t.AllowedIPRanges); terr != nil {
		return terr
	}
	for _, field := range []struct {
		name  string
		texts []string
	}{{"allowedURIs", t.AllowedURIs}, {"allowedEmailAddresses", t.AllowedEmailAddresses}} {
		if _, terr := renderList(t.Name, field.name, field.texts, data); terr != nil {
			return terr
		}
	}
	for i, a := range t.AllowedKeyAlgorithms {
		switch a {
		case v1alpha1.RSAKeyAlgorithm, v1alpha1.ECDSAKeyAlgorithm, v1alpha1.Ed25519KeyAlgorithm:
		default:
			return templateErrorf(t.Name, fmt.Sprintf("allowedKeyAlgorithms[%d]", i), "%s is not RSA, ECDSA or Ed25519", quote(string(a)))
		}
	}
	if s := t.MinRSAKeySize; s != 0 && (s < 2048 || s > MaxRSAKeySize) {
		return templateErrorf(t.Name, "minRSAKeySize", "%d is not between 2048 and %d", s, MaxRSAKeySize)
	}
	switch t.MinECDSAKeySize {
	case 0, 256, 384, 521:
	default:
		return templateErrorf(t.Name, "minECDSAKeySize", "%d is not 256, 384 or 521", t.MinECDSAKeySize)
	}
	if t.TTL < 0 {
		return templateErrorf(t.Name, "ttl", "ttl %d is negative; set a lifetime in hours", t.TTL)
	}
	return nil
}
