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
	"net"
	"net/url"
	"strings"
)

// isLDH reports whether c is a letter, digit or hyphen.
func isLDH(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

// dnsKey is the form of a DNS name used to compare names.
func dnsKey(name string) string { return strings.ToLower(name) }

// applySANs sets the certificate's SANs: the requested DNS names, IP
// addresses, URIs and email addresses, then the template's dns and ip
// entries, without duplicates and in that order. Every name must be well
// formed; whether the policy allows it is enforcePolicy's to say. It
// records the origin of each DNS name and IP address.
func applySANs(is *issuance) error {
	csr := is.csr
	for _, d := range csr.DNSNames {
		if p := dnsNameProblem(d); p != "" {
			return requestErrorf(ReasonInvalidSAN, "requested DNS name %s is not a valid DNS name: %s", quote(d), p)
		}
	}
	for _, e := range csr.EmailAddresses {
		if p := emailProblem(e); p != "" {
			return requestErrorf(ReasonInvalidSAN, "requested email address %s is not valid: %s", quote(e), p)
		}
	}
	for _, u := range csr.URIs {
		if p := uriProblem(u); p != "" {
			return requestErrorf(ReasonInvalidSAN, "requested URI %s is not valid: %s", quote(u.String()), p)
		}
	}

	is.origins.dns = map[string]origin{}
	is.origins.ip = map[string]origin{}
	var dns []string
	addDNS := func(d string, o origin) {
		k := dnsKey(d)
		if have, seen := is.origins.dns[k]; seen {
			// A name both requested and set by the template is the
			// template's only when the template set it from trusted data.
			if o.trusted && !have.trusted {
				is.origins.dns[k] = o
			}
			return
		}
		is.origins.dns[k] = o
		dns = append(dns, d)
	}
	var ips []net.IP
	addIP := func(ip net.IP, o origin) {
		if ip4 := ip.To4(); ip4 != nil {
			ip = ip4
		}
		k := ip.String()
		if have, seen := is.origins.ip[k]; seen {
			if o.trusted && !have.trusted {
				is.origins.ip[k] = o
			}
			return
		}
		is.origins.ip[k] = o
		ips = append(ips, ip)
	}
	for _, d := range csr.DNSNames {
		addDNS(d, requested("DNS name"))
	}
	for _, ip := range csr.IPAddresses {
		addIP(ip, requested("IP address"))
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
			if p := dnsNameProblem(v.value); p != "" {
				return is.badValue(v.field, v.text, quote(v.value)+", which is not a valid DNS name: "+p)
			}
			addDNS(v.value, is.templateOrigin("DNS name", v))
		}
		if vals, err = is.renderList("ip", is.tmpl.IP); err != nil {
			return err
		}
		for _, v := range vals {
			ip := net.ParseIP(v.value)
			if ip == nil {
				return is.badValue(v.field, v.text, quote(v.value)+", which is not an IP address")
			}
			addIP(ip, is.templateOrigin("IP address", v))
		}
	}

	if u, err := is.spiffeID(); err != nil {
		return err
	} else if u != nil && !seenURI[u.String()] {
		is.origins.uri = map[string]origin{u.String(): {trusted: true, fixed: "SPIFFE ID"}}
		uris = append(uris, u)
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
