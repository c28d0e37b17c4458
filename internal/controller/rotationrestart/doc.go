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

// Package rotationrestart holds integration tests of the CA lifecycle that
// need the controllers to themselves: each test starts and stops its own
// manager instances (with a fake rotation clock) against a real API
// server, crashing one right after a chosen write and starting a new one,
// so no long-running manager of the main suite may act on the same
// issuers. `make test-integration` runs it with ./internal/controller/...
package rotationrestart
