//go:build integration

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
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
	"github.com/nstance-dev/nstance-issuer/internal/test/keystest"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

// region is where the emulator makes keys.
var region = &v1alpha1.CAKey{URI: "awskms:region=" + keystest.Region}

// keyARN is the ARN of the key a cluster issuer's CA Secret names.
func keyARN(t *testing.T, secret string) string {
	t.Helper()
	uri := string(getSecret(t, clusterResourceNamespace, secret).Data["key-uri"])
	arn, ok := strings.CutPrefix(uri, "awskms:key-id=")
	if !ok || !strings.HasPrefix(arn, "arn:aws:kms:"+keystest.Region+":"+keystest.Account+":key/") {
		t.Fatalf("the CA Secret's key-uri is %q, want an AWS KMS key ARN", uri)
	}
	return arn
}

// TestAWSKMSGeneratedCAKeyNeverEntersTheCluster: a cluster issuer that
// generates its CA in AWS KMS (the controller's own identity) keeps only
// certificates and the key's URI in its Secret, shows the key in status,
// signs each certificate with one KMS Sign call and reads the key's public
// key once, not per request.
func TestAWSKMSGeneratedCAKeyNeverEntersTheCluster(t *testing.T) {
	iss := clusterIssuer("kms-generated", spec("kms-generated", region, true))
	create(t, iss)
	waitIssuer(t, iss, metav1.ConditionTrue, "")

	secret := getSecret(t, clusterResourceNamespace, "kms-generated")
	if _, ok := secret.Data["tls.key"]; ok {
		t.Fatal("the CA Secret holds tls.key: the key left the KMS")
	}
	arn := keyARN(t, "kms-generated")
	pub, err := emulator().GetPublicKey(context.Background(), &kms.GetPublicKeyInput{KeyId: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	kmsPub, err := x509.ParsePKIXPublicKey(pub.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := testpki.ParseChain(secret.Data["tls.crt"])
	if err != nil {
		t.Fatal(err)
	}
	if pki.PublicKeyFingerprint(ca[0].PublicKey) != pki.PublicKeyFingerprint(kmsPub) {
		t.Fatal("the CA certificate is not for the KMS key")
	}
	eventually(t, "status.ca.key", func(context.Context) error {
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(iss), iss); err != nil {
			return err
		}
		st := caStatus(t, iss)
		if st == nil || st.Key == nil {
			return errors.New("no status.ca.key")
		}
		if st.Key.URI != "awskms:key-id="+arn || st.Key.Backend != "awskms" || st.Key.PublicKeySHA256 != pki.PublicKeyFingerprint(kmsPub) {
			return fmt.Errorf("status.ca.key = %+v", st.Key)
		}
		return nil
	})
	note := waitEvent(t, "", "kms-generated", v1alpha1.EventReasonCAKeyCreated)
	if err := contains(note, arn, "never deletes"); err != nil {
		t.Error(err)
	}

	ns := newNamespace(t)
	publicKeys, signs := localKMS.Requests("GetPublicKey"), localKMS.Requests("Sign")
	for range 3 {
		root := signed(t, request(t, ns, iss))
		if !root.Equal(ca[0]) {
			t.Errorf("ca.crt is not the issuer's CA")
		}
	}
	if n := localKMS.Requests("Sign") - signs; n != 3 {
		t.Errorf("%d KMS Sign calls for 3 certificates, want 3", n)
	}
	if n := localKMS.Requests("GetPublicKey") - publicKeys; n != 0 {
		t.Errorf("%d GetPublicKey calls while signing 3 certificates: the key is checked once, not per request", n)
	}
}

// TestTenantCannotUseTheControllersKMSIdentity: a tenant that knows the
// cluster CA's key ARN and copies its (public) certificate cannot make
// the controller sign with that key: a namespaced issuer without its own
// credentials may use the controller's identity only for keys the
// operator allows its namespace. Its requests wait; nothing is signed.
func TestTenantCannotUseTheControllersKMSIdentity(t *testing.T) {
	cluster := clusterIssuer("kms-victim", spec("kms-victim", region, true))
	create(t, cluster)
	waitIssuer(t, cluster, metav1.ConditionTrue, "")
	victim := getSecret(t, clusterResourceNamespace, "kms-victim")

	ns := newNamespace(t)
	createSecret(t, ns, "copied", map[string][]byte{"tls.crt": victim.Data["tls.crt"], "ca.crt": victim.Data["ca.crt"]})
	tenant := namespacedIssuer(ns, "evil", spec("copied", &v1alpha1.CAKey{URI: string(victim.Data["key-uri"])}, false))
	create(t, tenant)
	waitIssuer(t, tenant, metav1.ConditionFalse, "KeyNotAllowed")
	waitIssuer(t, tenant, metav1.ConditionFalse, "may not use the controller's own identity")
	if err := contains(waitEvent(t, ns, "evil", v1alpha1.EventReasonCAKeyUnavailable), "KeyNotAllowed", "--namespace-key-uri="+ns); err != nil {
		t.Error(err)
	}
	waiting(t, request(t, ns, tenant))

	// The operator's allow-list lets its namespace use such keys: the
	// same issuer in allowedNamespace makes its CA with a key named there.
	admin := emulator()
	key, err := admin.CreateKey(context.Background(), &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify})
	if err != nil {
		t.Fatal(err)
	}
	allowed := namespacedIssuer(allowedNamespace, "allowed", spec("allowed-ca", &v1alpha1.CAKey{URI: "awskms:key-id=" + aws.ToString(key.KeyMetadata.Arn)}, true))
	create(t, allowed)
	waitIssuer(t, allowed, metav1.ConditionTrue, "")
	signed(t, request(t, allowedNamespace, allowed))
}

// TestCredentialsComeFromTheIssuersOwnNamespace: credentialsSecretRef
// names a Secret of the issuer's namespace only: a Secret of that name in
// another namespace is never read.
func TestCredentialsComeFromTheIssuersOwnNamespace(t *testing.T) {
	other := newNamespace(t)
	createSecret(t, other, "kms-creds", awsCredentials("other-tenant"))
	ns := newNamespace(t)
	iss := namespacedIssuer(ns, "web", spec("ca", &v1alpha1.CAKey{URI: region.URI, CredentialsSecretRef: &v1alpha1.SecretReference{Name: "kms-creds"}}, true))
	create(t, iss)
	waitIssuer(t, iss, metav1.ConditionFalse, "credentials Secret "+ns+"/kms-creds not found")
}

// TestTenantKeyWithItsOwnCredentials: a tenant's issuer makes and uses its
// key with credentials from its own namespace. When AWS denies them, the
// issuer is not Ready with words a KMS admin knows and requests wait;
// once the credentials are fixed, they are signed.
func TestTenantKeyWithItsOwnCredentials(t *testing.T) {
	ns := newNamespace(t)
	createSecret(t, ns, "kms-creds", awsCredentials("tenant-ok"))
	iss := namespacedIssuer(ns, "web", spec("ca", &v1alpha1.CAKey{URI: region.URI, CredentialsSecretRef: &v1alpha1.SecretReference{Name: "kms-creds"}}, true))
	create(t, iss)
	waitIssuer(t, iss, metav1.ConditionTrue, "")
	signed(t, request(t, ns, iss))

	localKMS.Deny("tenant-denied")
	setCredentials(t, ns, "kms-creds", awsCredentials("tenant-denied"))
	waitIssuer(t, iss, metav1.ConditionFalse, "PermissionDenied")
	waitIssuer(t, iss, metav1.ConditionFalse, "AWS KMS denied kms:GetPublicKey")
	cr := request(t, ns, iss)
	waiting(t, cr)

	setCredentials(t, ns, "kms-creds", awsCredentials("tenant-ok"))
	waitIssuer(t, iss, metav1.ConditionTrue, "")
	signed(t, cr)
}

func setCredentials(t *testing.T, ns, name string, data map[string][]byte) {
	t.Helper()
	s := getSecret(t, ns, name)
	s.Data = data
	if err := k8s.Update(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

// TestDisabledKeyWaitsNeverFails: a key disabled in KMS after the issuer
// loaded it fails the next signature; the issuer turns not Ready saying
// the key is disabled and how to enable it, an Event says so, the request
// waits (never Failed), and is signed once the key is enabled again; the
// dashboard's CA key panels then read series that exist.
func TestDisabledKeyWaitsNeverFails(t *testing.T) {
	iss := clusterIssuer("kms-disabled", spec("kms-disabled", region, true))
	create(t, iss)
	waitIssuer(t, iss, metav1.ConditionTrue, "")
	arn := keyARN(t, "kms-disabled")
	admin := emulator()
	if _, err := admin.DisableKey(context.Background(), &kms.DisableKeyInput{KeyId: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	ns := newNamespace(t)
	cr := request(t, ns, iss)
	waitIssuer(t, iss, metav1.ConditionFalse, "KeyDisabled")
	waitIssuer(t, iss, metav1.ConditionFalse, "aws kms enable-key")
	if err := contains(waitEvent(t, "", "kms-disabled", v1alpha1.EventReasonCAKeyUnavailable), "KeyDisabled", arn); err != nil {
		t.Error(err)
	}
	waiting(t, cr)

	if _, err := admin.EnableKey(context.Background(), &kms.EnableKeyInput{KeyId: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	waitIssuer(t, iss, metav1.ConditionTrue, "")
	signed(t, cr)
	// A signature and a KeyDisabled error later, the dashboard's CA key
	// panels read series that exist.
	checkKeyPanels(t)
}

// TestThrottlingHoldsRequestsBackWithoutUnreadiness: KMS throttling past
// the SDK's bounded retries puts the request back for a back-off (it is
// pending, saying why); the issuer stays Ready, and the request is signed
// once KMS answers again.
func TestThrottlingHoldsRequestsBackWithoutUnreadiness(t *testing.T) {
	iss := clusterIssuer("kms-throttled", spec("kms-throttled", region, true))
	create(t, iss)
	waitIssuer(t, iss, metav1.ConditionTrue, "")
	ns := newNamespace(t)
	signs := localKMS.Requests("Sign")
	localKMS.Throttle(6) // two signatures' worth of the SDK's 3 attempts
	cr := request(t, ns, iss)
	eventually(t, "the request pending for throttling", func(ctx context.Context) error {
		var cur cmapi.CertificateRequest
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(cr), &cur); err != nil {
			return err
		}
		c := framework.RequestReady(&cur)
		if c == nil || c.Reason != cmapi.CertificateRequestReasonPending || !strings.Contains(c.Message, "Throttled") {
			return fmt.Errorf("Ready condition %+v", c)
		}
		return nil
	})
	if c, err := framework.IssuerCondition(iss); err != nil || c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("throttling made the issuer not Ready: %+v %v", c, err)
	}
	signed(t, cr)
	// Throttled attempts are retried after a back-off, not in a tight loop.
	if n := localKMS.Requests("Sign") - signs; n > 10 {
		t.Errorf("%d Sign calls for one certificate under throttling", n)
	}
}

// TestRotateNowMakesTheNextKeyInKMS: rotate-now makes the next CA's key in
// the same KMS, publishes, switches and retires as with keys in Secrets;
// the previous key is never disabled or deleted, and the retired CA names
// it for the key administrator.
func TestRotateNowMakesTheNextKeyInKMS(t *testing.T) {
	s := spec("kms-rotating", region, true)
	s.CA.Rotation = &v1alpha1.CARotation{PropagationDelay: &metav1.Duration{Duration: time.Second}}
	iss := clusterIssuer("kms-rotating", s)
	create(t, iss)
	waitIssuer(t, iss, metav1.ConditionTrue, "")
	oldARN := keyARN(t, "kms-rotating")

	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"incident-1"}}}`, v1alpha1.RotateNowAnnotation)
	if err := k8s.Patch(context.Background(), iss, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
	var gens []v1alpha1.CAGeneration
	eventually(t, "the rotation retiring the old CA", framework.RotationReached(k8s, iss, &gens, v1alpha1.CARotationRetiring, v1alpha1.CAGenerationIssuing, v1alpha1.CAGenerationRetiring))

	issuing := getSecret(t, clusterResourceNamespace, "kms-rotating")
	if _, ok := issuing.Data["tls.key"]; ok {
		t.Fatal("the issuing CA Secret holds tls.key after the rotation")
	}
	newARN := keyARN(t, "kms-rotating")
	if newARN == oldARN {
		t.Fatal("the rotation kept the old key")
	}
	retired := getSecret(t, clusterResourceNamespace, gens[1].SecretName)
	if got := retired.Annotations["issuer.nstance.dev/retired-key-uri"]; got != "awskms:key-id="+oldARN {
		t.Errorf("the retired CA names key %q, want %s", got, oldARN)
	}
	if _, ok := retired.Data["key-uri"]; ok {
		t.Error("the retired CA Secret still names a signing key")
	}
	desc, err := emulator().DescribeKey(context.Background(), &kms.DescribeKeyInput{KeyId: aws.String(oldARN)})
	if err != nil {
		t.Fatal(err)
	}
	if desc.KeyMetadata.KeyState != types.KeyStateEnabled {
		t.Errorf("the previous key is %s: the issuer must leave it to the key administrator", desc.KeyMetadata.KeyState)
	}
	if err := contains(waitEvent(t, "", "kms-rotating", v1alpha1.EventReasonCARotated), oldARN, "never deleted"); err != nil {
		t.Error(err)
	}
	newRoot, err := testpki.ParseChain(issuing.Data["tls.crt"])
	if err != nil {
		t.Fatal(err)
	}
	ns := newNamespace(t)
	eventually(t, "a request signed by the new CA", func(context.Context) error {
		root := signed(t, request(t, ns, iss))
		if !root.Equal(newRoot[0]) {
			return errors.New("signed by the old CA")
		}
		return nil
	})
}

// TestKeyThatIsNotTheCertificatesIsRefused: a CA Secret whose certificate
// is not for the key spec.ca.key names makes the issuer not Ready, naming
// both public keys.
func TestKeyThatIsNotTheCertificatesIsRefused(t *testing.T) {
	other, err := emulator().CreateKey(context.Background(), &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := testpki.NewValidRootCA("Not The KMS Key's CA")
	if err != nil {
		t.Fatal(err)
	}
	ns := newNamespace(t)
	createSecret(t, ns, "ca", map[string][]byte{"tls.crt": ca.SecretData()["tls.crt"]})
	createSecret(t, ns, "kms-creds", awsCredentials("tenant-mismatch"))
	iss := namespacedIssuer(ns, "web", spec("ca", &v1alpha1.CAKey{URI: "awskms:key-id=" + aws.ToString(other.KeyMetadata.Arn),
		CredentialsSecretRef: &v1alpha1.SecretReference{Name: "kms-creds"}}, false))
	create(t, iss)
	waitIssuer(t, iss, metav1.ConditionFalse, "does not match the certificate in tls.crt")
	if err := contains(waitEvent(t, ns, "web", v1alpha1.EventReasonCAKeyUnavailable), "does not match"); err != nil {
		t.Error(err)
	}
}

// TestKeyInTheSecretAndInKMSIsRefused: a CA Secret that still holds
// tls.key while spec.ca.key names a key in KMS is refused: the key must
// not sit in both places.
func TestKeyInTheSecretAndInKMSIsRefused(t *testing.T) {
	ca, err := testpki.NewValidRootCA("Key In Two Places")
	if err != nil {
		t.Fatal(err)
	}
	ns := newNamespace(t)
	createSecret(t, ns, "ca", ca.SecretData())
	createSecret(t, ns, "kms-creds", awsCredentials("tenant-two-places"))
	iss := namespacedIssuer(ns, "web", spec("ca", &v1alpha1.CAKey{URI: "awskms:key-id=arn:aws:kms:" + keystest.Region + ":" + keystest.Account + ":key/any",
		CredentialsSecretRef: &v1alpha1.SecretReference{Name: "kms-creds"}}, false))
	create(t, iss)
	waitIssuer(t, iss, metav1.ConditionFalse, "delete tls.key from the Secret")
}
