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

// Package controller is the composition root of nstance-issuer's
// controllers: Options, Setup (which builds every controller of the
// subpackages and wires them to each other and to issuer-lib), the one
// registration of their metrics, the manager's cache transform for
// finished requests, and the RBAC markers of issuer-lib's controllers.
//
// The subpackages, each one concern, never import this package:
//
//   - issuer: the vocabulary every controller shares (kinds, Ref, View,
//     shared names, labels and annotations);
//   - casecret: the narrow, trimmed watch of the CA Secrets issuers name;
//   - kubecsr: what a Kubernetes CSR is signed as (signer names, the
//     annotation policies and guard, unserved signer names);
//   - signing: issuer-lib's Check and Sign (CA loading and cache, error
//     kinds, Events, metrics, the held-signature guard);
//   - trust: publication of the live roots (ConfigMaps,
//     ClusterTrustBundles, ca.crt);
//   - carotation: the CA lifecycle (generations, steps, status, re-issue);
//   - podcert: PodCertificateRequests, signed through signing.
//
// The rules between them are in .golangci.yml (depguard) and
// docs/architecture.md.
package controller
