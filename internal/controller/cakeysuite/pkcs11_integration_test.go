//go:build integration && pkcs11 && cgo

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
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/keys"
	"github.com/nstance-dev/nstance-issuer/internal/test/keystest"
)

// SoftHSM tokens: the cluster's (the controller logs in with its PIN
// file) and a tenant's, which --namespace-key-uri allows tenantNamespace.
const (
	clusterToken    = "cluster-hsm"
	clusterPIN      = "1234"
	tenantToken     = "tenant-hsm"
	tenantPIN       = "5678"
	tenantNamespace = "hsm-tenant"
)

var pkcs11Namespaces = []string{tenantNamespace}

func setUpPKCS11(dir string, p *keys.Policy) error {
	hsm, err := keystest.NewSoftHSM(filepath.Join(dir, "softhsm"))
	if err != nil {
		return err
	}
	if err := hsm.InitToken(clusterToken, clusterPIN); err != nil {
		return err
	}
	if err := hsm.InitToken(tenantToken, tenantPIN); err != nil {
		return err
	}
	if err := hsm.Setenv(); err != nil {
		return err
	}
	pinFile := filepath.Join(dir, "pin")
	if err := os.WriteFile(pinFile, []byte(clusterPIN+"\n"), 0o600); err != nil {
		return err
	}
	pattern, err := keys.ParsePattern("pkcs11:token=" + tenantToken)
	if err != nil {
		return err
	}
	p.PKCS11Modules = []string{hsm.Module}
	p.PKCS11PINFile = pinFile
	p.NamespaceKeys[tenantNamespace] = []keys.Pattern{pattern}
	return nil
}

// TestSoftHSMClusterIssuerSigns: a cluster issuer whose CA key is made in
// a SoftHSM token (the controller's PIN file) signs; its Secret holds only
// certificates and the key's PKCS#11 URI.
func TestSoftHSMClusterIssuerSigns(t *testing.T) {
	iss := clusterIssuer("hsm-generated", spec("hsm-generated", &v1alpha1.CAKey{URI: "pkcs11:token=" + clusterToken}, true))
	create(t, iss)
	waitIssuer(t, iss, metav1.ConditionTrue, "")
	secret := getSecret(t, clusterResourceNamespace, "hsm-generated")
	if _, ok := secret.Data["tls.key"]; ok {
		t.Fatal("the CA Secret holds tls.key: the key left the HSM")
	}
	uri := string(secret.Data["key-uri"])
	if !strings.HasPrefix(uri, "pkcs11:token="+clusterToken+";id=") || !strings.Contains(uri, ";object=nstance-NstanceClusterIssuer-hsm-generated-") {
		t.Fatalf("key-uri %q", uri)
	}
	eventually(t, "status.ca.key", func(context.Context) error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(iss), iss); err != nil {
			return err
		}
		if st := caStatus(t, iss); st == nil || st.Key == nil || st.Key.URI != uri || st.Key.Backend != "pkcs11" || st.Key.PublicKeySHA256 == "" {
			return fmt.Errorf("status.ca = %+v", st)
		}
		return nil
	})
	signed(t, request(t, newNamespace(t), iss))
}

// TestTenantCannotUseTheClusterToken: the controller is logged in to the
// cluster's token, and PKCS#11 would take any PIN as logged in: a tenant
// that names the cluster CA's key with a PIN of its own (a wrong one) is
// refused by the policy before any PIN is tried, and nothing is signed.
func TestTenantCannotUseTheClusterToken(t *testing.T) {
	cluster := clusterIssuer("hsm-victim", spec("hsm-victim", &v1alpha1.CAKey{URI: "pkcs11:token=" + clusterToken}, true))
	create(t, cluster)
	waitIssuer(t, cluster, metav1.ConditionTrue, "")
	victim := getSecret(t, clusterResourceNamespace, "hsm-victim")

	ns := newNamespace(t)
	createSecret(t, ns, "copied", map[string][]byte{"tls.crt": victim.Data["tls.crt"], "ca.crt": victim.Data["ca.crt"]})
	createSecret(t, ns, "pin", map[string][]byte{keys.CredentialPIN: []byte("0000")})
	tenant := namespacedIssuer(ns, "evil", spec("copied", &v1alpha1.CAKey{URI: string(victim.Data["key-uri"]), CredentialsSecretRef: &v1alpha1.SecretReference{Name: "pin"}}, false))
	create(t, tenant)
	waitIssuer(t, tenant, metav1.ConditionFalse, "KeyNotAllowed")
	waitIssuer(t, tenant, metav1.ConditionFalse, "may use a PKCS#11 token only when the operator allows it for namespace "+ns)
	waiting(t, request(t, ns, tenant))
}

// TestAllowedTenantTokenWithItsOwnPIN: the namespace the operator gave a
// token makes and uses its CA key there with its own PIN.
func TestAllowedTenantTokenWithItsOwnPIN(t *testing.T) {
	createSecret(t, tenantNamespace, "pin", map[string][]byte{keys.CredentialPIN: []byte(tenantPIN)})
	iss := namespacedIssuer(tenantNamespace, "web", spec("ca", &v1alpha1.CAKey{URI: "pkcs11:token=" + tenantToken, CredentialsSecretRef: &v1alpha1.SecretReference{Name: "pin"}}, true))
	create(t, iss)
	waitIssuer(t, iss, metav1.ConditionTrue, "")
	signed(t, request(t, tenantNamespace, iss))
	if uri := string(getSecret(t, tenantNamespace, "ca").Data["key-uri"]); !strings.HasPrefix(uri, "pkcs11:token="+tenantToken+";") {
		t.Errorf("key-uri %q is not in the tenant's token", uri)
	}
}
