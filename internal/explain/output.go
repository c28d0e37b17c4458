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
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Write prints r as format: "" or "text" for a person, "json" or "yaml"
// for a script (the fields of Result).
func Write(w io.Writer, r Result, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "yaml":
		out, err := yaml.Marshal(r)
		if err != nil {
			return err
		}
		_, err = w.Write(out)
		return err
	case "", "text":
		_, err := io.WriteString(w, text(r))
		return err
	}
	return fmt.Errorf("unknown output %q: use text, json or yaml", format)
}

// text is r for a person to read.
func text(r Result) string {
	var b strings.Builder
	line := func(label, value string) { fmt.Fprintf(&b, "%-18s%s\n", label+":", value) }
	line("Issuer", r.Issuer)
	line("Request", r.Request)
	switch {
	case r.PassThrough:
		line("Template", "none (pass-through): "+r.TemplateReason)
	case r.Template != "":
		line("Template", r.Template+": "+r.TemplateReason)
	}
	switch r.Decision {
	case Issued:
		line("Decision", "would be issued")
	case Refused:
		line("Decision", "would be refused ("+r.Refusal.Reason+")")
	case Waits:
		line("Decision", "would wait: the issuer is not Ready ("+r.Refusal.Reason+")")
	case InvalidIssuer:
		line("Decision", "the issuer is invalid: the controller keeps it not Ready and the admission webhook refuses it")
	}
	if c := r.Certificate; c != nil {
		b.WriteString("\nCertificate\n")
		item := func(label string, values []string) {
			v := "-"
			if len(values) > 0 {
				v = strings.Join(values, ", ")
			}
			fmt.Fprintf(&b, "  %-20s%s\n", label+":", v)
		}
		subject := c.Subject
		if subject == "" {
			subject = "(empty: the names are in the SANs)"
		}
		item("Subject", []string{subject})
		item("DNS names", c.DNSNames)
		item("IP addresses", c.IPAddresses)
		item("URIs", c.URIs)
		item("Email addresses", c.EmailAddresses)
		item("Key usages", c.KeyUsages)
		item("Extended usages", c.ExtKeyUsages)
		lifetime := fmt.Sprintf("%s (NotBefore %s, NotAfter %s)", c.Lifetime, c.NotBefore.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339))
		if c.Truncated {
			lifetime += ", cut to the CA's NotAfter"
		}
		item("Lifetime", []string{lifetime})
		ca := "no"
		if c.IsCA {
			ca = "yes"
			if c.MaxPathLen != nil {
				ca += fmt.Sprintf(", pathLen %d", *c.MaxPathLen)
			}
		}
		item("CA", []string{ca})
		if nc := c.NameConstraints; nc != nil {
			var parts []string
			add := func(what string, v []string) {
				if len(v) > 0 {
					parts = append(parts, what+" "+strings.Join(v, " "))
				}
			}
			add("permitted DNS", nc.PermittedDNSDomains)
			add("excluded DNS", nc.ExcludedDNSDomains)
			add("permitted IP", nc.PermittedIPRanges)
			add("excluded IP", nc.ExcludedIPRanges)
			add("permitted email", nc.PermittedEmailAddresses)
			add("excluded email", nc.ExcludedEmailAddresses)
			add("permitted URI", nc.PermittedURIDomains)
			add("excluded URI", nc.ExcludedURIDomains)
			if nc.Critical {
				parts = append(parts, "(critical)")
			}
			item("NameConstraints", []string{strings.Join(parts, "; ")})
		} else if c.IsCA {
			item("NameConstraints", nil)
		}
	}
	if f := r.Refusal; f != nil {
		fmt.Fprintf(&b, "\nWhy\n  %s\n\nThe request's Ready condition would read\n  %s\n", f.Message, f.Condition)
	}
	if len(r.IssuerErrors) > 0 {
		b.WriteString("\nProblems of the issuer\n")
		for _, e := range r.IssuerErrors {
			fmt.Fprintf(&b, "  %s\n", e)
		}
		fmt.Fprintf(&b, "\nIts Ready condition reads\n  %s\n", r.IssuerMessage)
	}
	for _, section := range []struct {
		title string
		items []string
	}{{"Warning Events on the request", r.Events}, {"Warnings about the issuer", r.Warnings}, {"Notes", r.Notes}} {
		if len(section.items) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s\n", section.title)
		for _, s := range section.items {
			fmt.Fprintf(&b, "  %s\n", s)
		}
	}
	return b.String()
}
