package pki

import (
	"net"
	"net/url"
	"strings"
)

// validDNSName reports whether name is a DNS name fit for a certificate:
// dot-separated RFC 1123 labels (letters, digits and hyphens, 1 to 63
// characters, no hyphen first or last), at most 253 characters, an optional
// trailing dot and an optional leading "*" wildcard label.
func validDNSName(name string) bool {
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > 253 {
		return false
	}
	for i, label := range strings.Split(name, ".") {
		if label == "*" && i == 0 {
			continue
		}
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for j := 0; j < len(label); j++ {
			if !isLDH(label[j]) {
				return false
			}
		}
	}
	return true
}

// isLDH reports whether c is a letter, digit or hyphen.
func isLDH(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

// dnsKey is the form of a DNS name used to compare names.
func dnsKey(name string) string { return strings.TrimSuffix(strings.ToLower(name), ".") }

// applySANs sets the certificate's SANs: the requested DNS names, IP
// addresses, URIs and email addresses, then the template's dns and ip
// entries, without duplicates and in that order.
func applySANs(is *issuance) error {
	csr := is.csr
	requested := len(csr.DNSNames) + len(csr.IPAddresses) + len(csr.URIs) + len(csr.EmailAddresses)
	if requested > MaxSANs {
		return requestErrorf(ReasonTooManySANs, "the CSR asks for %d subject alternative names, more than the %d allowed; split it into several certificates", requested, MaxSANs)
	}
	for _, d := range csr.DNSNames {
		if !validDNSName(d) {
			return requestErrorf(ReasonInvalidSAN, "requested DNS name %s is not a valid DNS name: use labels of letters, digits and hyphens, at most 63 characters each and 253 in all, optionally starting with \"*.\"", quote(d))
		}
	}
	for _, e := range csr.EmailAddresses {
		if at := strings.LastIndexByte(e, '@'); at <= 0 || at == len(e)-1 {
			return requestErrorf(ReasonInvalidSAN, "requested email address %s is not a valid address: it must look like name@domain", quote(e))
		}
	}
	for _, u := range csr.URIs {
		if u.String() == "" {
			return requestErrorf(ReasonInvalidSAN, "a requested URI is empty; remove it")
		}
	}

	var dns []string
	seenDNS := map[string]bool{}
	addDNS := func(d string) {
		if k := dnsKey(d); !seenDNS[k] {
			seenDNS[k] = true
			dns = append(dns, d)
		}
	}
	var ips []net.IP
	seenIP := map[string]bool{}
	addIP := func(ip net.IP) {
		if k := string(ip.To16()); !seenIP[k] {
			seenIP[k] = true
			ips = append(ips, ip)
		}
	}
	for _, d := range csr.DNSNames {
		addDNS(d)
	}
	for _, ip := range csr.IPAddresses {
		addIP(ip)
	}
	var uris []*url.URL
	seenURI := map[string]bool{}
	for _, u := range csr.URIs {
		if k := u.String(); !seenURI[k] {
			seenURI[k] = true
			uris = append(uris, u)
		}
	}
	var emails []string
	seenEmail := map[string]bool{}
	for _, e := range csr.EmailAddresses {
		if !seenEmail[e] {
			seenEmail[e] = true
			emails = append(emails, e)
		}
	}

	if is.tmpl != nil {
		vals, err := is.renderList("dns", is.tmpl.DNS)
		if err != nil {
			return err
		}
		for _, v := range vals {
			if !validDNSName(v.value) {
				return is.badValue(v.field, v.text, quote(v.value)+", which is not a valid DNS name")
			}
			addDNS(v.value)
		}
		if vals, err = is.renderList("ip", is.tmpl.IP); err != nil {
			return err
		}
		for _, v := range vals {
			ip := net.ParseIP(v.value)
			if ip == nil {
				return is.badValue(v.field, v.text, quote(v.value)+", which is not an IP address")
			}
			if ip4 := ip.To4(); ip4 != nil {
				ip = ip4
			}
			addIP(ip)
		}
	}

	if total := len(dns) + len(ips) + len(uris) + len(emails); total > MaxSANs {
		return requestErrorf(ReasonTooManySANs, "the certificate would have %d subject alternative names with the template's, more than the %d allowed; request fewer", total, MaxSANs)
	}
	is.cert.DNSNames = dns
	is.cert.IPAddresses = ips
	is.cert.URIs = uris
	is.cert.EmailAddresses = emails
	return nil
}
