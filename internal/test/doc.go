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

// Package test is the root of the test tree: everything that tests,
// measures or demonstrates nstance-issuer and that the manager binary
// (cmd/nstance-issuer) never links. A depguard rule in .golangci.yml keeps
// the manager's packages from importing it, and TestManagerLinksNoTestSupport
// checks the binary's dependencies with go list.
//
// Support, imported by tests, the e2e suite, the harnesses and the demo:
//
//   - apiserver: the one API server builder, a real kube-apiserver and
//     etcd (KUBEBUILDER_ASSETS) with our CRDs and cert-manager's;
//   - framework: polling, Ready conditions, objects, pods, generation
//     records, generated doc sections;
//   - testpki: CAs, keys and CSRs made by tests, chain checks;
//   - integration: the TestMain of the integration suites (an API server
//     and the manager as the binary wires it);
//   - localstack: the local stack (API server, etcd, cert-manager's
//     controllers, the manager in-process or as processes, outages,
//     replicas);
//   - harness: what the load and fault harnesses share (flags, a run, the
//     issuers they compare, watches);
//   - report: the arithmetic and verdicts the harnesses publish;
//   - bench and chaos: the load and fault harnesses (cmd/nstance-bench,
//     cmd/nstance-chaos).
//
// Suites: install (the chart, kustomize, RBAC, docs and image) and
// podcertbeta (the v1beta1 paths on Kubernetes 1.36). The controllers'
// own integration suites stay with the controllers, the e2e suite in e2e/.
package test
