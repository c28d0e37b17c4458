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

package kubecsr

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
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
const TemplatedSignerPrefix = "templates." + issuer.ClusterIssuerSignerPrefix

// TemplatedSignerName is the signer name that selects template of the
// NstanceClusterIssuer issuerName.
func TemplatedSignerName(issuerName, template string) string {
	return TemplatedSignerPrefix + issuerName + "." + template
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
// for any other signer; err is set when the name is ours but can never be
// served: a templated signer name without a template, or an issuer or
// template part that is empty or not a name an NstanceClusterIssuer
// (a DNS subdomain) or a template (a DNS label) can have. issuer-lib would
// wait for such an issuer forever; UnservedSignerReconciler fails the CSR
// with the error instead.
func parseCSRSigner(name string) (s csrSigner, ok bool, err error) {
	if path, found := strings.CutPrefix(name, TemplatedSignerPrefix); found {
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			return csrSigner{}, true, fmt.Errorf("signer %s names no template: use %s<issuer>.<template>, or %s<issuer> with the %s annotation",
				quoteName(name), TemplatedSignerPrefix, issuer.ClusterIssuerSignerPrefix, v1alpha1.TemplateAnnotation)
		}
		s = csrSigner{Issuer: path[:i], Template: path[i+1:]}
		problem := issuerNameProblem(s.Issuer)
		if problem == "" {
			problem = templateNameProblem(s.Template)
		}
		if problem != "" {
			return csrSigner{}, true, fmt.Errorf("signer %s does not name an issuer and a template as %s<issuer>.<template>: %s; create the CSR again with a valid signer name", quoteName(name), TemplatedSignerPrefix, problem)
		}
		return s, true, nil
	}
	if issuerName, found := strings.CutPrefix(name, issuer.ClusterIssuerSignerPrefix); found {
		if problem := issuerNameProblem(issuerName); problem != "" {
			return csrSigner{}, true, fmt.Errorf("signer %s does not name an issuer as %s<issuer>: %s; create the CSR again with a valid signer name", quoteName(name), issuer.ClusterIssuerSignerPrefix, problem)
		}
		return csrSigner{Issuer: issuerName}, true, nil
	}
	return csrSigner{}, false, nil
}

// issuerNameProblem says why name cannot be an NstanceClusterIssuer's
// name (a DNS subdomain, as every custom resource's), or "".
func issuerNameProblem(name string) string {
	if name == "" {
		return "the issuer name is empty"
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Sprintf("the issuer name %s is not a valid NstanceClusterIssuer name: %s", quoteName(name), strings.Join(errs, "; "))
	}
	return ""
}

// templateNameProblem says why name cannot be a template's name (a DNS
// label, as spec.templates[].name), or "".
func templateNameProblem(name string) string {
	if name == "" {
		return "the template name is empty"
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Sprintf("the template name %s is not a valid template name: %s", quoteName(name), strings.Join(errs, "; "))
	}
	return ""
}

// maxQuotedName bounds how much of a signer name goes into a message.
const maxQuotedName = 256

// quoteName quotes a requester's name for a message, shortened.
func quoteName(s string) string {
	if len(s) > maxQuotedName {
		return fmt.Sprintf("%q...(%d bytes)", s[:maxQuotedName], len(s))
	}
	return fmt.Sprintf("%q", s)
}
