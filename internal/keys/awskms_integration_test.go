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

package keys_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/keys"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/test/keystest"
)

// awsCreds are credentials the emulator accepts (it checks none: the
// proxy answers for the ones a test denies).
func awsCreds(id string) *keys.Credentials {
	return &keys.Credentials{Source: "Secret test/" + id, Data: map[string][]byte{
		keys.CredentialAWSAccessKeyID: []byte(id), keys.CredentialAWSSecretAccessKey: []byte("secret-of-" + id),
	}}
}

// newAWSKeys is Keys pointed at the emulator's proxy.
func newAWSKeys(t *testing.T) *keys.Keys {
	t.Helper()
	k := keys.New(keys.Policy{AWSKMSEndpoint: localKMS.Endpoint})
	k.Timeout = 20 * time.Second
	return k
}

// emulatorClient talks to the emulator directly, as an administrator would
// with the AWS CLI.
func emulatorClient() *kms.Client {
	return kms.New(kms.Options{Region: keystest.Region, BaseEndpoint: aws.String(localKMS.Direct),
		Credentials: credentials.NewStaticCredentialsProvider("admin", "admin", "")})
}

func location(t *testing.T) keys.URI {
	t.Helper()
	u, err := keys.ParseURI("awskms:region=" + keystest.Region)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

var cluster = keys.Scope{Issuer: "NstanceClusterIssuer test"}

// specName names a key spec for a subtest: "an ECDSA 384 key".
func specName(spec v1alpha1.PrivateKeySpec) string {
	alg, size := spec.Algorithm, spec.Size
	if alg == "" {
		alg = v1alpha1.ECDSAKeyAlgorithm
	}
	if size == 0 {
		size = map[v1alpha1.KeyAlgorithm]int32{v1alpha1.ECDSAKeyAlgorithm: 256, v1alpha1.RSAKeyAlgorithm: 2048}[alg]
	}
	return fmt.Sprintf("an %s %d key", alg, size)
}

// selfSign makes a CA with s, proving the key signs what x509 asks.
func selfSign(t *testing.T, s *keys.Signer) *x509.Certificate {
	t.Helper()
	certPEM, err := pki.GenerateCAWithSigner(v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "KMS CA"}, TTL: 1}, pki.RenderData{}, s, time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.LoadCAWithSigner(certPEM, nil, s, s.URI().String(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.Cert.CheckSignatureFrom(ca.Cert); err != nil {
		t.Fatalf("the self-signed CA does not verify: %v", err)
	}
	return ca.Cert
}

func TestAWSKMSMakesAndSignsWithKeys(t *testing.T) {
	ctx := context.Background()
	k := newAWSKeys(t)
	for _, spec := range []v1alpha1.PrivateKeySpec{{}, {Algorithm: "ECDSA", Size: 384}, {Algorithm: "RSA", Size: 2048}, {Algorithm: "RSA", Size: 3072}} {
		t.Run(specName(spec), func(t *testing.T) {
			created := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
			s, err := k.Create(ctx, cluster, location(t), spec, keys.Label{Issuer: "NstanceClusterIssuer test", Created: created}, awsCreds("maker"))
			if err != nil {
				t.Fatal(err)
			}
			arn := s.URI().Get("key-id")
			if !strings.HasPrefix(arn, "arn:aws:kms:"+keystest.Region+":"+keystest.Account+":key/") {
				t.Fatalf("the new key is named %q, want its ARN", s.URI())
			}
			cert := selfSign(t, s)
			switch pub := cert.PublicKey.(type) {
			case *ecdsa.PublicKey:
				if want := map[int32]int{0: 256, 384: 384}[spec.Size]; pub.Curve.Params().BitSize != want {
					t.Errorf("curve %s, want P-%d", pub.Curve.Params().Name, want)
				}
			case *rsa.PublicKey:
				if pub.N.BitLen() != int(spec.Size) {
					t.Errorf("RSA %d bits, want %d", pub.N.BitLen(), spec.Size)
				}
			}
			// The key says whose it is.
			tags, err := emulatorClient().ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: aws.String(arn)})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, tag := range tags.Tags {
				found = found || (aws.ToString(tag.TagKey) == "nstance-issuer/issuer" && aws.ToString(tag.TagValue) == "NstanceClusterIssuer test")
			}
			if !found {
				t.Errorf("the key has no nstance-issuer/issuer tag: %+v", tags.Tags)
			}
			// Opened again by its URI, it is the same key.
			again, err := k.Open(ctx, cluster, s.URI(), awsCreds("reader"))
			if err != nil {
				t.Fatal(err)
			}
			if pki.PublicKeyFingerprint(again.Public()) != pki.PublicKeyFingerprint(s.Public()) {
				t.Errorf("the key opened by URI is another key")
			}
		})
	}
}

func TestAWSKMSErrorsSayWhatToDo(t *testing.T) {
	ctx := context.Background()
	k := newAWSKeys(t)
	s, err := k.Create(ctx, cluster, location(t), v1alpha1.PrivateKeySpec{}, keys.Label{Issuer: "t", Created: time.Now()}, awsCreds("maker"))
	if err != nil {
		t.Fatal(err)
	}
	admin := emulatorClient()
	enc, err := admin.CreateKey(ctx, &kms.CreateKeyInput{KeyUsage: types.KeyUsageTypeEncryptDecrypt, KeySpec: types.KeySpecSymmetricDefault})
	if err != nil {
		t.Fatal(err)
	}
	rsaEnc, err := admin.CreateKey(ctx, &kms.CreateKeyInput{KeyUsage: types.KeyUsageTypeEncryptDecrypt, KeySpec: types.KeySpecRsa2048})
	if err != nil {
		t.Fatal(err)
	}
	disabled, err := k.Create(ctx, cluster, location(t), v1alpha1.PrivateKeySpec{}, keys.Label{Issuer: "t", Created: time.Now()}, awsCreds("maker"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(disabled.URI().Get("key-id"))}); err != nil {
		t.Fatal(err)
	}
	uri := func(s string) keys.URI {
		u, err := keys.ParseURI(s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	localKMS.Deny("denied")
	localKMS.Unknown("stranger")
	tests := []struct {
		name   string
		uri    keys.URI
		creds  *keys.Credentials
		reason string
		says   string
	}{
		{name: "a key that does not exist", uri: uri("awskms:key-id=arn:aws:kms:" + keystest.Region + ":" + keystest.Account + ":key/00000000-0000-0000-0000-000000000000"),
			creds: awsCreds("reader"), reason: keys.ReasonKeyNotFound, says: "check key-id and region"},
		{name: "a disabled key", uri: disabled.URI(), creds: awsCreds("reader"), reason: keys.ReasonKeyDisabled, says: "aws kms enable-key"},
		{name: "a symmetric key", uri: uri("awskms:key-id=" + aws.ToString(enc.KeyMetadata.Arn)), creds: awsCreds("reader"), reason: keys.ReasonWrongKeyType},
		{name: "an RSA encryption key", uri: uri("awskms:key-id=" + aws.ToString(rsaEnc.KeyMetadata.Arn)), creds: awsCreds("reader"), reason: keys.ReasonWrongKeyType, says: "usage is ENCRYPT_DECRYPT"},
		{name: "credentials no policy allows", uri: s.URI(), creds: awsCreds("denied"), reason: keys.ReasonPermissionDenied, says: "kms:GetPublicKey"},
		{name: "credentials AWS does not know", uri: s.URI(), creds: awsCreds("stranger"), reason: keys.ReasonCredentialsRefused, says: "UnrecognizedClientException"},
		{name: "a Secret without the access key", uri: s.URI(), creds: &keys.Credentials{Source: "Secret test/empty", Data: map[string][]byte{}},
			reason: keys.ReasonCredentialsMissing, says: "Secret test/empty has no AWS_ACCESS_KEY_ID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := k.Open(ctx, cluster, tc.uri, tc.creds)
			var kerr *keys.Error
			if !errors.As(err, &kerr) || kerr.Reason != tc.reason || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want %s saying %q", err, tc.reason, tc.says)
			}
			if kerr.Transient() {
				t.Errorf("%s is transient: requests would wait for it to pass by itself", kerr.Reason)
			}
			if !strings.Contains(err.Error(), tc.uri.String()) {
				t.Errorf("the error does not name the key: %v", err)
			}
		})
	}

	t.Run("a key disabled after it was opened fails its next signature as disabled", func(t *testing.T) {
		late, err := k.Create(ctx, cluster, location(t), v1alpha1.PrivateKeySpec{}, keys.Label{Issuer: "t", Created: time.Now()}, awsCreds("maker"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := admin.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(late.URI().Get("key-id"))}); err != nil {
			t.Fatal(err)
		}
		_, err = pki.GenerateCAWithSigner(v1alpha1.CATemplate{}, pki.RenderData{}, late, time.Now(), rand.Reader)
		var kerr *keys.Error
		if !errors.As(err, &kerr) || kerr.Reason != keys.ReasonKeyDisabled || kerr.Op != keys.OpSign {
			t.Fatalf("got %v, want %s on %s", err, keys.ReasonKeyDisabled, keys.OpSign)
		}
	})

	t.Run("throttling past the SDK's retries is Throttled and transient", func(t *testing.T) {
		localKMS.Throttle(10)
		defer localKMS.Throttle(0)
		before := localKMS.Requests("Sign")
		_, err := pki.GenerateCAWithSigner(v1alpha1.CATemplate{}, pki.RenderData{}, s, time.Now(), rand.Reader)
		var kerr *keys.Error
		if !errors.As(err, &kerr) || kerr.Reason != keys.ReasonThrottled || !kerr.Transient() {
			t.Fatalf("got %v, want a transient %s", err, keys.ReasonThrottled)
		}
		if n := localKMS.Requests("Sign") - before; n != 3 {
			t.Errorf("the SDK tried %d times, want its bounded 3", n)
		}
	})

	t.Run("an outage is Unavailable and transient, and signing works once it ends", func(t *testing.T) {
		localKMS.SetDown(true)
		_, err := pki.GenerateCAWithSigner(v1alpha1.CATemplate{}, pki.RenderData{}, s, time.Now(), rand.Reader)
		localKMS.SetDown(false)
		var kerr *keys.Error
		if !errors.As(err, &kerr) || kerr.Reason != keys.ReasonUnavailable || !kerr.Transient() {
			t.Fatalf("got %v, want a transient %s", err, keys.ReasonUnavailable)
		}
		selfSign(t, s)
	})
}

func TestAWSKMSAmbientIdentityIsTheOperatorsToGive(t *testing.T) {
	ctx := context.Background()
	k := newAWSKeys(t)
	s, err := k.Create(ctx, cluster, location(t), v1alpha1.PrivateKeySpec{}, keys.Label{Issuer: "t", Created: time.Now()}, awsCreds("maker"))
	if err != nil {
		t.Fatal(err)
	}
	tenant := keys.Scope{Namespace: "tenant", Issuer: "NstanceIssuer tenant/evil"}
	before := localKMS.Requests("GetPublicKey")
	_, err = k.Open(ctx, tenant, s.URI(), nil)
	var kerr *keys.Error
	if !errors.As(err, &kerr) || kerr.Reason != keys.ReasonNotAllowed {
		t.Fatalf("a tenant without credentials opened a key with the controller's identity: %v", err)
	}
	if localKMS.Requests("GetPublicKey") != before {
		t.Errorf("the refused tenant's request reached KMS")
	}
	if _, err := k.Create(ctx, tenant, location(t), v1alpha1.PrivateKeySpec{}, keys.Label{Issuer: "t", Created: time.Now()}, nil); !errors.As(err, &kerr) || kerr.Reason != keys.ReasonNotAllowed {
		t.Fatalf("a tenant without credentials made a key with the controller's identity: %v", err)
	}
	if _, err := k.Open(ctx, tenant, s.URI(), awsCreds("tenant")); err != nil {
		t.Fatalf("a tenant with its own credentials was refused: %v", err)
	}
}
