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

package controller

import (
	"fmt"
	"strings"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// TemplatedSignerPrefix is the signer name prefix of a Kubernetes CSR that
// selects its template through its signer name:
// templates.nstanceclusterissuers.issuer.nstance.dev/<issuer>.<template>.
//
// A CSR's signer name is immutable, so the template is the one the approver
// saw, and Kubernetes RBAC can grant `approve` (and `sign`) on signers
// template by template. It needs its own domain: every path below
// nstanceclusterissuers.issuer.nstance.dev/ is a valid issuer name
// (issuer names are DNS subdomains, dots included), so "<issuer>.<template>"
// there would be ambiguous. Here the template is the last label: template
// names are DNS labels, without dots.
const TemplatedSignerPrefix = "templates." + ClusterIssuerSignerPrefix

// TemplatedSignerName is the signer name that selects template of the
// NstanceClusterIssuer issuer.
func TemplatedSignerName(issuer, template string) string {
	return TemplatedSignerPrefix + issuer + "." + template
}

// csrSigner is what a Kubernetes CSR's signer name selects.
type csrSigner struct {
	// Issuer is the NstanceClusterIssuer.
	Issuer string
	// Template is the template the signer name selects; empty for
	// nstanceclusterissuers.issuer.nstance.dev/<issuer>.
	Template string
}

// parseCSRSigner reads one of our cluster issuer signer names. ok is false
// for any other signer; err is set for a templated signer name without a
// template.
func parseCSRSigner(name string) (s csrSigner, ok bool, err error) {
	if path, found := strings.CutPrefix(name, TemplatedSignerPrefix); found {
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			return csrSigner{}, true, fmt.Errorf("signer %q names no template: use %s<issuer>.<template>, or %s<issuer> with the %s annotation",
				name, TemplatedSignerPrefix, ClusterIssuerSignerPrefix, v1alpha1.TemplateAnnotation)
		}
		return csrSigner{Issuer: path[:i], Template: path[i+1:]}, true, nil
	}
	if issuer, found := strings.CutPrefix(name, ClusterIssuerSignerPrefix); found {
		return csrSigner{Issuer: issuer}, true, nil
	}
	return csrSigner{}, false, nil
}
