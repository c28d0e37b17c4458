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

package app

import (
	"errors"
	"flag"
	"sort"
	"strings"
	"time"

	"github.com/nstance-dev/nstance-issuer/internal/keys"
)

// The flags of CA keys held in a KMS or an HSM (keys.Policy). Lists take
// the flag repeated or comma-separated values; a value never holds a comma.

// addKeyFlags registers the key flags on fs.
func addKeyFlags(fs *flag.FlagSet, p *keys.Policy, timeout *time.Duration) {
	fs.Var(&moduleList{p: &p.PKCS11Modules}, "pkcs11-module",
		"A PKCS#11 module (shared library path) CA key URIs may name with module-path=; the first is used when a URI names none. Repeat it or separate paths with commas. "+
			"Unset: no PKCS#11 key may be used. Needs the -pkcs11 image (a binary built with the pkcs11 build tag).")
	fs.StringVar(&p.PKCS11PINFile, "pkcs11-pin-file", p.PKCS11PINFile,
		"File holding the PIN the controller logs in to PKCS#11 tokens with for issuers that name no credentials Secret (its own identity), e.g. a mounted Secret.")
	fs.Var(&namespaceKeys{p: &p.NamespaceKeys}, "namespace-key-uri",
		"NAMESPACE=KEY-URI-PATTERN ('*' matches any run of characters): NstanceIssuers of NAMESPACE may use matching CA keys with the controller's own identity (AWS KMS), "+
			"and PKCS#11 tokens at all (the process logs in to a token once, for every issuer). Repeat it or separate entries with commas. "+
			"Without one, an NstanceIssuer uses only AWS KMS keys with credentials from a Secret of its own namespace.")
	fs.StringVar(&p.AWSKMSEndpoint, "aws-kms-endpoint", p.AWSKMSEndpoint,
		"AWS KMS endpoint URL instead of the region's (a VPC or FIPS endpoint, an emulator). Key URIs can never set one.")
	fs.DurationVar(timeout, "ca-key-timeout", *timeout, "Longest wait for one operation on a CA key in a KMS or an HSM (the AWS SDK's 3 attempts included).")
}

// moduleList is --pkcs11-module.
type moduleList struct{ p *[]string }

func (m *moduleList) String() string {
	if m.p == nil {
		return ""
	}
	return strings.Join(*m.p, ",")
}

func (m *moduleList) Set(v string) error {
	for path := range strings.SplitSeq(v, ",") {
		path = strings.TrimSpace(path)
		if !strings.HasPrefix(path, "/") {
			return errors.New("a PKCS#11 module is an absolute path, e.g. /usr/lib/softhsm/libsofthsm2.so")
		}
		*m.p = append(*m.p, path)
	}
	return nil
}

// namespaceKeys is --namespace-key-uri.
type namespaceKeys struct{ p *map[string][]keys.Pattern }

func (n *namespaceKeys) String() string {
	if n.p == nil {
		return ""
	}
	var out []string
	for ns, pats := range *n.p {
		for _, p := range pats {
			out = append(out, ns+"="+p.String())
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func (n *namespaceKeys) Set(v string) error {
	for entry := range strings.SplitSeq(v, ",") {
		ns, p, err := keys.ParseNamespaceKey(strings.TrimSpace(entry))
		if err != nil {
			return err
		}
		if *n.p == nil {
			*n.p = map[string][]keys.Pattern{}
		}
		(*n.p)[ns] = append((*n.p)[ns], p)
	}
	return nil
}
