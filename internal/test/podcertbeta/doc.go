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

// Package podcertbeta holds the integration tests of the
// certificates.k8s.io/v1beta1 paths, PodCertificateRequests and
// ClusterTrustBundles, against a Kubernetes 1.36 API server with the beta
// feature gates on (`make test-integration` runs it with the 1.36 envtest
// assets).
package podcertbeta
