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
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/pki/keyuri"
)

// AWS KMS is used directly through aws-sdk-go-v2 rather than through
// go.step.sm/crypto/kms/awskms: that package takes credentials only from
// the process's environment, profiles or files, while a namespaced
// issuer's come from a Secret and must never reach the disk; it also fixes
// a 15 s context per call and lower-cases key ids. What it adds over the
// SDK, the mapping of x509's signature options onto KMS signing
// algorithms, is awsSigningAlgorithm below.

// Bounded retries: the SDK's standard retryer (jittered exponential
// back-off, a client-side retry quota) with at most this many attempts and
// this longest pause; the whole call is bounded by Keys.Timeout.
const (
	awsMaxAttempts = 3
	awsMaxBackoff  = 2 * time.Second
	// awsMaxClients bounds the AWS clients kept (one per region and
	// credentials): a tenant rotating its credentials cannot grow memory.
	awsMaxClients = 256
)

type awsBackend struct {
	policy  *Policy
	timeout func() time.Duration

	mu      sync.Mutex
	base    *aws.Config
	clients map[string]*kms.Client
	order   []string
}

func newAWSBackend(p *Policy, timeout func() time.Duration) *awsBackend {
	return &awsBackend{policy: p, timeout: timeout, clients: map[string]*kms.Client{}}
}

// credentialsError marks a failure to get credentials, so that it is not
// mistaken for an outage of KMS.
type credentialsError struct{ err error }

func (e *credentialsError) Error() string { return e.err.Error() }
func (e *credentialsError) Unwrap() error { return e.err }

type markedProvider struct{ inner aws.CredentialsProvider }

func (p markedProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := p.inner.Retrieve(ctx)
	if err != nil {
		return c, &credentialsError{err}
	}
	return c, nil
}

// baseConfig is the controller's own AWS configuration (region, identity:
// IRSA, EKS Pod Identity, ...), loaded once.
func (b *awsBackend) baseConfig(ctx context.Context) (aws.Config, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.base != nil {
		return *b.base, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = awsMaxAttempts
			o.MaxBackoff = awsMaxBackoff
		})
	}))
	if err != nil {
		return aws.Config{}, &credentialsError{fmt.Errorf("loading the controller's AWS configuration: %w", err)}
	}
	b.base = &cfg
	return cfg, nil
}

// region is where uri's key lives: its region=, its ARN's region, or the
// controller's (AWS_REGION).
func (b *awsBackend) region(uri URI, base aws.Config) (string, error) {
	if r := uri.Get("region"); r != "" {
		return r, nil
	}
	if r, ok := keyuri.ARNRegion(uri.Get("key-id")); ok {
		return r, nil
	}
	if base.Region != "" {
		return base.Region, nil
	}
	return "", &Error{Reason: ReasonInvalidURI, Backend: BackendAWSKMS, URI: uri.String(),
		Msg: "no AWS region: add region= to the key URI, name the key by its ARN, or set AWS_REGION for the controller"}
}

// client returns the KMS client for uri's region and creds.
func (b *awsBackend) client(ctx context.Context, uri URI, creds *Credentials) (*kms.Client, error) {
	base, err := b.baseConfig(ctx)
	if err != nil {
		return nil, err
	}
	region, err := b.region(uri, base)
	if err != nil {
		return nil, err
	}
	key := region + "|" + creds.fingerprint()
	b.mu.Lock()
	defer b.mu.Unlock()
	if c, ok := b.clients[key]; ok {
		return c, nil
	}
	cfg := base.Copy()
	cfg.Region = region
	if creds != nil {
		id, err := creds.value(CredentialAWSAccessKeyID)
		if err != nil {
			return nil, err
		}
		secret, err := creds.value(CredentialAWSSecretAccessKey)
		if err != nil {
			return nil, err
		}
		token, err := creds.value(CredentialAWSSessionToken)
		if err != nil {
			return nil, err
		}
		if id == "" || secret == "" {
			return nil, &Error{Reason: ReasonCredentialsMissing, Backend: BackendAWSKMS, URI: uri.String(),
				Msg: fmt.Sprintf("%s has no %s and %s: put the access key of an IAM user or role allowed to use the key there", creds.Source, CredentialAWSAccessKeyID, CredentialAWSSecretAccessKey)}
		}
		cfg.Credentials = credentials.NewStaticCredentialsProvider(id, secret, token)
	}
	if cfg.Credentials != nil {
		cfg.Credentials = aws.NewCredentialsCache(markedProvider{cfg.Credentials})
	}
	endpoint := b.policy.AWSKMSEndpoint
	c := kms.NewFromConfig(cfg, func(o *kms.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	if len(b.order) >= awsMaxClients {
		delete(b.clients, b.order[0])
		b.order = b.order[1:]
	}
	b.clients[key] = c
	b.order = append(b.order, key)
	return c, nil
}

func (b *awsBackend) open(ctx context.Context, uri URI, creds *Credentials) (crypto.Signer, error) {
	c, err := b.client(ctx, uri, creds)
	if err != nil {
		return nil, err
	}
	return b.openKey(ctx, c, uri, uri.Get("key-id"))
}

// openKey reads keyID's public key and checks that it can sign
// certificates.
func (b *awsBackend) openKey(ctx context.Context, c *kms.Client, uri URI, keyID string) (crypto.Signer, error) {
	out, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		return nil, err
	}
	if out.KeyUsage != types.KeyUsageTypeSignVerify {
		return nil, backendError(ReasonWrongKeyType, BackendAWSKMS, OpPublicKey, uri, nil,
			"the key's usage is %s, not SIGN_VERIFY: a CA key must be an asymmetric signing key (key spec ECC_NIST_P256/P384/P521 or RSA_2048/3072/4096, key usage SIGN_VERIFY)", out.KeyUsage)
	}
	pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return nil, backendError(ReasonWrongKeyType, BackendAWSKMS, OpPublicKey, uri, err,
			"key spec %s cannot sign X.509 certificates (%v): use ECC_NIST_P256/P384/P521 or RSA_2048/3072/4096", out.KeySpec, err)
	}
	switch pub.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
	default:
		return nil, backendError(ReasonWrongKeyType, BackendAWSKMS, OpPublicKey, uri, nil,
			"key spec %s is not supported for a CA key in AWS KMS (AWS KMS signs Ed25519 only over messages of at most 4096 bytes, less than a certificate can be): use ECC_NIST_P256/P384/P521 or RSA_2048/3072/4096", out.KeySpec)
	}
	keyID = aws.ToString(out.KeyId) // the ARN: what signs is exactly what was checked
	return &awsSigner{client: c, keyID: keyID, pub: pub, timeout: b.timeout}, nil
}

// awsKeySpec maps a CA key spec onto an AWS KMS key spec.
func awsKeySpec(spec v1alpha1.PrivateKeySpec) (types.KeySpec, bool) {
	switch spec.Algorithm {
	case "", v1alpha1.ECDSAKeyAlgorithm:
		switch spec.Size {
		case 0, 256:
			return types.KeySpecEccNistP256, true
		case 384:
			return types.KeySpecEccNistP384, true
		case 521:
			return types.KeySpecEccNistP521, true
		}
	case v1alpha1.RSAKeyAlgorithm:
		switch spec.Size {
		case 0, 2048:
			return types.KeySpecRsa2048, true
		case 3072:
			return types.KeySpecRsa3072, true
		case 4096:
			return types.KeySpecRsa4096, true
		}
	case v1alpha1.Ed25519KeyAlgorithm:
	}
	return "", false
}

func (b *awsBackend) create(ctx context.Context, location URI, spec v1alpha1.PrivateKeySpec, label Label, creds *Credentials) (URI, crypto.Signer, error) {
	keySpec, ok := awsKeySpec(spec)
	if !ok {
		return URI{}, nil, backendError(ReasonWrongKeyType, BackendAWSKMS, OpCreateKey, location, nil,
			"a %s CA key cannot be made in AWS KMS by nstance-issuer: set spec.ca.generate.privateKey to ECDSA (256, 384, 521) or RSA (2048, 3072, 4096)", spec.Algorithm)
	}
	c, err := b.client(ctx, location, creds)
	if err != nil {
		return URI{}, nil, err
	}
	created := label.Created.UTC().Format(time.RFC3339)
	out, err := c.CreateKey(ctx, &kms.CreateKeyInput{
		KeySpec:     keySpec,
		KeyUsage:    types.KeyUsageTypeSignVerify,
		Description: aws.String(fmt.Sprintf("nstance-issuer CA key of %s, made %s; nstance-issuer never deletes it", label.Issuer, created)),
		Tags: []types.Tag{
			{TagKey: aws.String("nstance-issuer/issuer"), TagValue: aws.String(label.Issuer)},
			{TagKey: aws.String("nstance-issuer/created"), TagValue: aws.String(created)},
		},
	})
	if err != nil {
		return URI{}, nil, err
	}
	arn := aws.ToString(out.KeyMetadata.Arn)
	uri, err := ParseURI(BackendAWSKMS + ":key-id=" + url.PathEscape(arn))
	if err != nil {
		return URI{}, nil, backendError(ReasonUnavailable, BackendAWSKMS, OpCreateKey, location, err, "AWS KMS returned key ARN %q, which is not one", shorten(arn))
	}
	s, err := b.openKey(ctx, c, uri, arn)
	if err != nil {
		return URI{}, nil, err
	}
	return uri, s, nil
}

func (b *awsBackend) classify(op string, uri URI, err error) *Error {
	action := map[string]string{OpSign: "kms:Sign", OpPublicKey: "kms:GetPublicKey", OpCreateKey: "kms:CreateKey and kms:TagResource"}[op]
	var ce *credentialsError
	var ae smithy.APIError
	var oe *optionsError
	switch {
	case errors.As(err, &oe):
		return backendError(ReasonWrongKeyType, BackendAWSKMS, op, uri, err, "%v", oe)
	case errors.As(err, &ce):
		return backendError(ReasonCredentialsMissing, BackendAWSKMS, op, uri, err,
			"cannot get AWS credentials (%s): give the controller's ServiceAccount an AWS identity (IRSA, EKS Pod Identity) or set spec.ca.key.credentialsSecretRef", errorDetail(ce.err))
	case errors.As(err, &ae):
		msg := ae.ErrorMessage()
		if len(msg) > 512 {
			msg = msg[:512] + "..."
		}
		switch ae.ErrorCode() {
		case "AccessDeniedException":
			return backendError(ReasonPermissionDenied, BackendAWSKMS, op, uri, err,
				"AWS KMS denied %s (%s): allow it for this identity in the key policy or an IAM policy (docs/keys.md)", action, msg)
		case "UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException", "IncompleteSignature", "ExpiredTokenException", "SignatureDoesNotMatch":
			return backendError(ReasonCredentialsRefused, BackendAWSKMS, op, uri, err,
				"AWS refused the credentials (%s: %s): check the access key in the credentials Secret, or the controller's AWS identity", ae.ErrorCode(), msg)
		case "NotFoundException":
			return backendError(ReasonKeyNotFound, BackendAWSKMS, op, uri, err,
				"AWS KMS has no such key in this account and region (%s): check key-id and region", msg)
		case "InvalidArnException", "ValidationException":
			return backendError(ReasonInvalidURI, BackendAWSKMS, op, uri, err, "AWS KMS refused the key id (%s): %s", ae.ErrorCode(), msg)
		case "DisabledException", "KMSInvalidStateException":
			return backendError(ReasonKeyDisabled, BackendAWSKMS, op, uri, err,
				"the key is disabled or pending deletion (%s): enable it (aws kms enable-key, aws kms cancel-key-deletion), or rotate the CA to a new key (issuer.nstance.dev/rotate-now)", msg)
		case "InvalidKeyUsageException", "UnsupportedOperationException", "IncorrectKeyException":
			return backendError(ReasonWrongKeyType, BackendAWSKMS, op, uri, err,
				"the key cannot sign certificates (%s: %s): use an asymmetric SIGN_VERIFY key", ae.ErrorCode(), msg)
		case "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException":
			return backendError(ReasonThrottled, BackendAWSKMS, op, uri, err,
				"AWS KMS throttled %s (%s): requests wait and are retried after a back-off; raise the KMS request quota if it lasts", action, msg)
		case "LimitExceededException":
			return backendError(ReasonPermissionDenied, BackendAWSKMS, op, uri, err,
				"an AWS KMS quota is exhausted (%s): raise it or delete unused keys", msg)
		}
		return backendError(ReasonUnavailable, BackendAWSKMS, op, uri, err, "AWS KMS failed %s (%s: %s); retried", action, ae.ErrorCode(), msg)
	case errors.Is(err, context.DeadlineExceeded):
		return backendError(ReasonUnavailable, BackendAWSKMS, op, uri, err,
			"no answer from AWS KMS in time (%s); requests wait and are retried", errorDetail(err))
	}
	return backendError(ReasonUnavailable, BackendAWSKMS, op, uri, err, "cannot reach AWS KMS (%s); requests wait and are retried", errorDetail(err))
}

// awsSigner signs with an AWS KMS key: one Sign call per signature.
type awsSigner struct {
	client  *kms.Client
	keyID   string
	pub     crypto.PublicKey
	timeout func() time.Duration
}

func (s *awsSigner) Public() crypto.PublicKey { return s.pub }

func (s *awsSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	alg, err := awsSigningAlgorithm(s.pub, digest, opts)
	if err != nil {
		return nil, err
	}
	// crypto.Signer has no context: each signature gets its own deadline.
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout())
	defer cancel()
	out, err := s.client.Sign(ctx, &kms.SignInput{
		KeyId: aws.String(s.keyID), Message: digest, MessageType: types.MessageTypeDigest, SigningAlgorithm: alg,
	})
	if err != nil {
		return nil, err
	}
	return out.Signature, nil
}

// optionsError: x509 asked for a signature the key cannot make.
type optionsError struct{ msg string }

func (e *optionsError) Error() string { return e.msg }

// awsSigningAlgorithm maps x509's signature options for pub onto an AWS
// KMS signing algorithm over a digest.
func awsSigningAlgorithm(pub crypto.PublicKey, digest []byte, opts crypto.SignerOpts) (types.SigningAlgorithmSpec, error) {
	h := opts.HashFunc()
	if h == 0 || !h.Available() || len(digest) != h.Size() {
		return "", &optionsError{fmt.Sprintf("AWS KMS signs a SHA-256, SHA-384 or SHA-512 digest, not %d bytes of %v", len(digest), h)}
	}
	switch pub.(type) {
	case *rsa.PublicKey:
		pss, isPSS := opts.(*rsa.PSSOptions)
		if isPSS && pss.SaltLength != rsa.PSSSaltLengthEqualsHash && pss.SaltLength != h.Size() {
			return "", &optionsError{fmt.Sprintf("AWS KMS signs RSA-PSS with a salt as long as the hash, not %d bytes", pss.SaltLength)}
		}
		algs := map[crypto.Hash][2]types.SigningAlgorithmSpec{
			crypto.SHA256: {types.SigningAlgorithmSpecRsassaPkcs1V15Sha256, types.SigningAlgorithmSpecRsassaPssSha256},
			crypto.SHA384: {types.SigningAlgorithmSpecRsassaPkcs1V15Sha384, types.SigningAlgorithmSpecRsassaPssSha384},
			crypto.SHA512: {types.SigningAlgorithmSpecRsassaPkcs1V15Sha512, types.SigningAlgorithmSpecRsassaPssSha512},
		}
		a, ok := algs[h]
		if !ok {
			break
		}
		if isPSS {
			return a[1], nil
		}
		return a[0], nil
	case *ecdsa.PublicKey:
		switch h {
		case crypto.SHA256:
			return types.SigningAlgorithmSpecEcdsaSha256, nil
		case crypto.SHA384:
			return types.SigningAlgorithmSpecEcdsaSha384, nil
		case crypto.SHA512:
			return types.SigningAlgorithmSpecEcdsaSha512, nil
		default:
			// refused below
		}
	}
	return "", &optionsError{fmt.Sprintf("AWS KMS cannot sign with a %T key over %v", pub, h)}
}
