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

package trust

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

// The API server requires a ClusterTrustBundle with a signerName to be
// named "<signerName with / as :>:" followed by a DNS subdomain.
func TestClusterTrustBundleNameFollowsTheSignerName(t *testing.T) {
	t.Parallel()
	fp := "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:00"
	name := ctbName("cluster-ca", fp)
	prefix := strings.ReplaceAll(signerName("cluster-ca"), "/", ":") + ":"
	if !strings.HasPrefix(name, prefix) {
		t.Fatalf("%s lacks the prefix %s", name, prefix)
	}
	if errs := validation.IsDNS1123Subdomain(strings.TrimPrefix(name, prefix)); len(errs) > 0 {
		t.Errorf("suffix of %s: %v", name, errs)
	}
	if name != "nstanceclusterissuers.issuer.nstance.dev:cluster-ca:abcdef0123456789" {
		t.Errorf("name %s", name)
	}
}
