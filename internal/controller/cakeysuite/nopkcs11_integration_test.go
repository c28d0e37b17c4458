//go:build integration && !(pkcs11 && cgo)

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

package cakeysuite

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/keys"
)

// pkcs11Namespaces are none without PKCS#11.
var pkcs11Namespaces []string

// setUpPKCS11 names a module, which this binary cannot load.
func setUpPKCS11(_ string, p *keys.Policy) error {
	p.PKCS11Modules = []string{"/usr/lib/softhsm/libsofthsm2.so"}
	return nil
}

// TestPKCS11IssuerOfTheDefaultBuildSaysWhichImage: the static binary has
// no PKCS#11; an issuer naming a PKCS#11 key is not Ready and says which
// image to run.
func TestPKCS11IssuerOfTheDefaultBuildSaysWhichImage(t *testing.T) {
	iss := clusterIssuer("pkcs11-static", spec("pkcs11-static", &v1alpha1.CAKey{URI: "pkcs11:token=ca"}, true))
	create(t, iss)
	waitIssuer(t, iss, metav1.ConditionFalse, "BackendNotCompiled")
	waitIssuer(t, iss, metav1.ConditionFalse, "-pkcs11 image")
}
