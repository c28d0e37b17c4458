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

// Package cakeysuite holds the integration tests of CA keys held in a KMS
// or an HSM (spec.ca.key) through the whole manager: a real API server,
// the AWS KMS emulator local-kms behind an IAM-like proxy, SoftHSM2 tokens
// (with the pkcs11 build tag), and a manager whose key policy (its
// --pkcs11-module, --pkcs11-pin-file, --namespace-key-uri and
// --aws-kms-endpoint) these tests set. `make test-integration` runs it with
// ./internal/controller/..., `make test-pkcs11` again with PKCS#11.
package cakeysuite
