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
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"sigs.k8s.io/yaml"
)

var updateManifests = flag.Bool("update", false, "rewrite config/csr-policy/policy.yaml from CSRAnnotationPolicy and CertificateRequestAnnotationPolicy")

const (
	csrPolicyManifest = "../../../config/csr-policy/policy.yaml"
	// csrPolicyBaseName and crPolicyBaseName are the policies' names in
	// config/csr-policy; config/default's namePrefix makes them
	// DefaultCSRAnnotationPolicy and
	// DefaultCertificateRequestAnnotationPolicy, the chart's
	// <fullname>-<base name>.
	csrPolicyBaseName = "csr-annotations"
	crPolicyBaseName  = "certificaterequest-annotations"
	csrPolicyHeader   = `# Generated from internal/controller/kubecsr/policy.go by ` + "`make manifests`" + `; do not edit.
#
# A Kubernetes CSR's annotations can change after it is approved, and
# nothing records what they were when the approver looked. The first
# policy keeps the annotations that decide what nstance-issuer signs (the
# template, request-duration and request-is-ca) as they were created, for
# the CSRs of its signers: any change through the CSR, its status or its
# approval is refused. nstance-issuer signs a CSR that selects its template
# by annotation only when this policy was in force when the CSR was
# approved (--csr-annotation-policy names it; the controller checks its
# content).
#
# The second keeps the template annotation of cert-manager
# CertificateRequests for nstance-issuer's issuers as it was created
# (cert-manager's webhook keeps only its own cert-manager.io annotations).
# The controller does not require it: it re-checks the template's rules at
# signing; it is for approvers that approve by template.
`
)

// TestCSRPolicyManifestIsGenerated keeps config/csr-policy/policy.yaml, and
// through `make chart` the chart's copy, what CSRAnnotationPolicy and
// CertificateRequestAnnotationPolicy return.
// `make manifests` regenerates it (go test -run
// TestCSRPolicyManifestIsGenerated -update).
func TestCSRPolicyManifestIsGenerated(t *testing.T) {
	policy, binding := CSRAnnotationPolicy(csrPolicyBaseName)
	crPolicy, crBinding := CertificateRequestAnnotationPolicy(crPolicyBaseName)
	var want bytes.Buffer
	want.WriteString(csrPolicyHeader)
	for i, obj := range []any{policy, binding, crPolicy, crBinding} {
		if i > 0 {
			want.WriteString("---\n")
		}
		want.Write(manifestYAML(t, obj))
	}
	if *updateManifests {
		if err := os.WriteFile(csrPolicyManifest, want.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(csrPolicyManifest)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("%s is not what CSRAnnotationPolicy returns: run `make manifests` and commit", csrPolicyManifest)
	}
}

// manifestYAML renders obj as YAML without the fields only the API server
// writes.
func manifestYAML(t *testing.T, obj any) []byte {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "status")
	if meta, ok := m["metadata"].(map[string]any); ok {
		delete(meta, "creationTimestamp")
	}
	out, err := yaml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
