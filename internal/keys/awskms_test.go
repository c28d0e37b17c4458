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

package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

func TestAWSSigningAlgorithm(t *testing.T) {
	t.Parallel()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	d256, d384 := make([]byte, 32), make([]byte, 48)
	tests := []struct {
		name   string
		pub    crypto.PublicKey
		digest []byte
		opts   crypto.SignerOpts
		want   types.SigningAlgorithmSpec
	}{
		{name: "ECDSA over SHA-256", pub: &ec.PublicKey, digest: d256, opts: crypto.SHA256, want: types.SigningAlgorithmSpecEcdsaSha256},
		{name: "ECDSA over SHA-384", pub: &ec.PublicKey, digest: d384, opts: crypto.SHA384, want: types.SigningAlgorithmSpecEcdsaSha384},
		{name: "RSA PKCS#1 v1.5 over SHA-256", pub: &rk.PublicKey, digest: d256, opts: crypto.SHA256, want: types.SigningAlgorithmSpecRsassaPkcs1V15Sha256},
		{name: "RSA-PSS with a salt as long as the hash, as x509 asks", pub: &rk.PublicKey, digest: d256,
			opts: &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}, want: types.SigningAlgorithmSpecRsassaPssSha256},
		{name: "RSA-PSS with another salt length is refused", pub: &rk.PublicKey, digest: d256, opts: &rsa.PSSOptions{SaltLength: 10, Hash: crypto.SHA256}},
		{name: "a digest of the wrong length is refused", pub: &ec.PublicKey, digest: d384, opts: crypto.SHA256},
		{name: "no hash (Ed25519's message) is refused", pub: edPub, digest: d256, opts: crypto.Hash(0)},
		{name: "SHA-1 is refused", pub: &ec.PublicKey, digest: make([]byte, 20), opts: crypto.SHA1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := awsSigningAlgorithm(tc.pub, tc.digest, tc.opts)
			if tc.want == "" {
				if _, ok := errors.AsType[*optionsError](err); !ok {
					t.Fatalf("got %q, %v; want it refused", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestAWSClassify(t *testing.T) {
	t.Parallel()
	b := newAWSBackend(&Policy{}, func() time.Duration { return time.Second })
	u, err := ParseURI("awskms:key-id=k;region=eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	wrapped := func(code string) error {
		return fmt.Errorf("operation error KMS: Sign, %w", &smithy.GenericAPIError{Code: code, Message: "the service's words"})
	}
	tests := []struct {
		err    error
		reason string
		says   string
	}{
		{wrapped("AccessDeniedException"), ReasonPermissionDenied, "allow it for this identity in the key policy"},
		{wrapped("UnrecognizedClientException"), ReasonCredentialsRefused, "check the access key"},
		{wrapped("NotFoundException"), ReasonKeyNotFound, "check key-id and region"},
		{wrapped("DisabledException"), ReasonKeyDisabled, "aws kms enable-key"},
		{wrapped("KMSInvalidStateException"), ReasonKeyDisabled, "cancel-key-deletion"},
		{wrapped("InvalidKeyUsageException"), ReasonWrongKeyType, "asymmetric SIGN_VERIFY"},
		{wrapped("ThrottlingException"), ReasonThrottled, "retried after a back-off"},
		{wrapped("KMSInternalException"), ReasonUnavailable, "retried"},
		{fmt.Errorf("get identity: %w", &credentialsError{errors.New("no EC2 IMDS role found")}), ReasonCredentialsMissing, "IRSA"},
		{context.DeadlineExceeded, ReasonUnavailable, "in time"},
		{errors.New("dial tcp: connection refused"), ReasonUnavailable, "cannot reach AWS KMS"},
		{&optionsError{"no"}, ReasonWrongKeyType, "no"},
	}
	for _, tc := range tests {
		got := b.classify(OpSign, u, tc.err)
		if got.Reason != tc.reason || !strings.Contains(got.Error(), tc.says) || got.URI != u.String() || got.Backend != BackendAWSKMS {
			t.Errorf("classify(%v) = %q (%s), want %s saying %q", tc.err, got.Error(), got.Reason, tc.reason, tc.says)
		}
		if !errors.Is(got, tc.err) {
			t.Errorf("classify(%v) does not wrap the backend's error", tc.err)
		}
	}
}

func TestAWSKeySpec(t *testing.T) {
	t.Parallel()
	for spec, want := range map[v1alpha1.PrivateKeySpec]types.KeySpec{
		{}:                              types.KeySpecEccNistP256,
		{Algorithm: "ECDSA", Size: 384}: types.KeySpecEccNistP384,
		{Algorithm: "ECDSA", Size: 521}: types.KeySpecEccNistP521,
		{Algorithm: "RSA"}:              types.KeySpecRsa2048,
		{Algorithm: "RSA", Size: 4096}:  types.KeySpecRsa4096,
	} {
		if got, ok := awsKeySpec(spec); !ok || got != want {
			t.Errorf("awsKeySpec(%+v) = %q, %v; want %q", spec, got, ok, want)
		}
	}
	if _, ok := awsKeySpec(v1alpha1.PrivateKeySpec{Algorithm: "Ed25519"}); ok {
		t.Errorf("an Ed25519 key is made in AWS KMS")
	}
}

func TestCredentialFingerprintsDiffer(t *testing.T) {
	t.Parallel()
	a := &Credentials{Source: "Secret a/kms", Data: map[string][]byte{CredentialAWSAccessKeyID: []byte("A"), CredentialAWSSecretAccessKey: []byte("s")}}
	b := &Credentials{Source: "Secret a/kms", Data: map[string][]byte{CredentialAWSAccessKeyID: []byte("A"), CredentialAWSSecretAccessKey: []byte("t")}}
	c := &Credentials{Source: "Secret b/kms", Data: a.Data}
	var none *Credentials
	seen := map[string]bool{}
	for _, x := range []*Credentials{a, b, c, none} {
		fp := x.fingerprint()
		if seen[fp] {
			t.Fatalf("two credentials share the cache key %q: one issuer could use another's client", fp)
		}
		seen[fp] = true
	}
}
