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

package controller

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// CachedSecretForTest returns the object the SecretWatcher's informer
// store holds for secret, as an issuer that names it would read it
// (starting the watch the first time); nil when absent.
func CachedSecretForTest(w *SecretWatcher, issuer types.NamespacedName, secret types.NamespacedName) (*corev1.Secret, error) {
	w.mu.Lock()
	ctx := w.ctx
	w.mu.Unlock()
	if ctx == nil {
		return nil, fmt.Errorf("the watcher has not started")
	}
	return w.Get(ctx, issuerRef{Kind: KindIssuer, NamespacedName: issuer}, secret)
}
