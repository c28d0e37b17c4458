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

package apiserver

import (
	"slices"
	"testing"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"sigs.k8s.io/yaml"
)

// TestAuditPolicy: the policy kube-apiserver reads logs status writes of
// CertificateRequests, in the namespaces given (or all), and nothing else.
func TestAuditPolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		namespaces []string
	}{
		{name: "every namespace"},
		{name: "the paced stages' namespaces only", namespaces: []string{"bench-scale-1000-nstance-paced", "bench-scale-1000-ca-issuer-paced"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var p auditv1.Policy
			if err := yaml.UnmarshalStrict([]byte(auditPolicy(tc.namespaces)), &p); err != nil {
				t.Fatal(err)
			}
			if len(p.Rules) != 2 || p.Rules[1].Level != auditv1.LevelNone || len(p.Rules[1].Namespaces) != 0 {
				t.Fatalf("rules %+v: want the status writes, then nothing else", p.Rules)
			}
			r := p.Rules[0]
			if r.Level != auditv1.LevelMetadata || !slices.Equal(r.Verbs, []string{"update", "patch"}) ||
				len(r.Resources) != 1 || r.Resources[0].Group != "cert-manager.io" || !slices.Equal(r.Resources[0].Resources, []string{"certificaterequests/status"}) {
				t.Errorf("rule %+v", r)
			}
			if !slices.Equal(r.Namespaces, tc.namespaces) {
				t.Errorf("namespaces %q, want %q", r.Namespaces, tc.namespaces)
			}
		})
	}
}
