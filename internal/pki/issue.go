package pki

import (
	"crypto/x509"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// issuance is one certificate being built: the inputs, and the certificate
// template the steps fill in.
type issuance struct {
	ca       *CA
	tmpl     *v1alpha1.CertificateTemplate
	behavior v1alpha1.LeafNotAfterBehavior
	req      Request
	csr      *x509.CertificateRequest
	data     RenderData
	now      time.Time

	// keyAlg is the CSR key's algorithm, set by the key policy.
	keyAlg v1alpha1.KeyAlgorithm
	// cnFromRequest is true when the subject's CN is the request's.
	cnFromRequest bool
	// cert is the certificate being built.
	cert x509.Certificate
	// out collects what Issue reports besides the certificate.
	out Issued
}

// step is one stage of issuance: a modifier that fills in is.cert, or a
// validator that rejects the request, or both.
type step func(is *issuance) error

// steps run in order after the CSR is parsed and its key accepted.
var steps = []step{
	applySubject,          // render and override the subject
	checkSubjectNotCA,     // a leaf must not look self-issued
	applySANs,             // requested SANs plus the template's
	checkSANPolicy,        // requested SANs and CN against allowed patterns
	applyBasicConstraints, // isCA policy
	applyUsages,           // key usages and extended key usages
	applyValidity,         // NotBefore, NotAfter, clamped to the CA
	addWarnings,           // things a person should know
}

// Issue signs the CSR of req with ca, shaped and limited by tmpl (nil:
// pass-through, like cert-manager's CA issuer). data carries Vars and
// Issuer; Issue fills data.Request from req and the CSR. It always
// certifies the CSR's own public key.
//
// Errors: *RequestError when the request can never succeed as it is,
// *CAError when the CA cannot sign (e.g. expired), *TemplateError when the
// template itself is broken, and a plain error when signing failed.
func Issue(ca *CA, tmpl *v1alpha1.CertificateTemplate, behavior v1alpha1.LeafNotAfterBehavior, req Request, data RenderData, now time.Time, rand io.Reader) (*Issued, error) {
	if ca == nil || ca.Cert == nil || ca.Signer == nil {
		return nil, caErrorf(ReasonNotLoaded, "no CA is loaded")
	}
	if cerr := checkValidity(ca.Cert, "CA certificate", now); cerr != nil {
		cerr.Cert = ca.Cert
		return nil, cerr
	}
	is, err := newIssuance(ca, tmpl, behavior, req, data, now)
	if err != nil {
		return nil, err
	}
	for _, s := range steps {
		if err := s(is); err != nil {
			return nil, err
		}
	}
	return sign(is, rand)
}

// newIssuance parses the CSR, applies the key policy and prepares the
// render data.
func newIssuance(ca *CA, tmpl *v1alpha1.CertificateTemplate, behavior v1alpha1.LeafNotAfterBehavior, req Request, data RenderData, now time.Time) (*issuance, error) {
	csr, err := ParseCSR(req.CSR)
	if err != nil {
		return nil, err
	}
	data.Request = requestData(req, csr)
	is := &issuance{ca: ca, tmpl: tmpl, behavior: behavior, req: req, csr: csr, data: data, now: now}
	if tmpl != nil {
		is.out.Template = tmpl.Name
	}
	if is.keyAlg, err = checkKey(csr.PublicKey, tmpl); err != nil {
		return nil, err
	}
	return is, nil
}

// requestData is what templates see of the request.
func requestData(req Request, csr *x509.CertificateRequest) RequestData {
	d := RequestData{
		Name:           req.Name,
		Namespace:      req.Namespace,
		CommonName:     csr.Subject.CommonName,
		DNSNames:       csr.DNSNames,
		EmailAddresses: csr.EmailAddresses,
		Duration:       req.Duration,
	}
	for _, ip := range csr.IPAddresses {
		d.IPAddresses = append(d.IPAddresses, ip.String())
	}
	for _, u := range csr.URIs {
		d.URIs = append(d.URIs, u.String())
	}
	return d
}

// renderedValue is one rendered entry of a templated list field.
type renderedValue struct {
	field, text, value string
}

// render renders one field of the template for this request. A failure
// depends on the request's data (the templates were validated on sample
// data), so it fails the request.
func (is *issuance) render(field, text string) (string, error) {
	v, terr := renderField(is.tmpl.Name, field, text, is.data)
	if terr != nil {
		return "", requestErrorf(ReasonTemplateRenderFailed, "%s (rendering for this request); fix the template or the request", terr.Error())
	}
	return v, nil
}

// renderList renders each entry of a list field, trimmed, dropping the
// entries that render empty.
func (is *issuance) renderList(field string, texts []string) ([]renderedValue, error) {
	var out []renderedValue
	for i, text := range texts {
		f := fmt.Sprintf("%s[%d]", field, i)
		v, err := is.render(f, text)
		if err != nil {
			return nil, err
		}
		if v = trimSpace(v); v != "" {
			out = append(out, renderedValue{field: f, text: text, value: v})
		}
	}
	return out, nil
}

// renderValues is renderList without the provenance.
func (is *issuance) renderValues(field string, texts []string) ([]string, error) {
	vals, err := is.renderList(field, texts)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = v.value
	}
	return out, nil
}

// badValue reports a template field that rendered an unusable value. A
// field without template actions is the issuer's mistake (TemplateError);
// a templated one went wrong with this request's data (RequestError), so
// that a request cannot take the issuer out of service.
func (is *issuance) badValue(field, text, what string) error {
	if !strings.Contains(text, "{{") {
		return templateErrorf(is.tmpl.Name, field, "%s; fix the template", what)
	}
	return requestErrorf(ReasonTemplateRenderFailed, "template %q field %s rendered %s for this request; fix the template or the request", is.tmpl.Name, field, what)
}

// addWarnings notes what a person should know about the certificate.
func addWarnings(is *issuance) error {
	if is.keyAlg == v1alpha1.Ed25519KeyAlgorithm {
		for _, u := range is.cert.ExtKeyUsage {
			if u == x509.ExtKeyUsageServerAuth {
				is.out.Warnings = append(is.out.Warnings, "Ed25519 server certificates are rejected by browsers; use ECDSA or RSA for web traffic")
				break
			}
		}
	}
	return nil
}
