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

package pki

import "testing"

// FuzzMatchersAgreeWithReference checks matchDNSPattern, matchURIPattern,
// matchEmailPattern and matchTextGlob against the regexp references of
// match_test.go, on the fuzzed name and pattern and on patterns made from
// the name by the bits of mask; that nothing invalid matches; and that a
// wildcard-free name a pattern matches verifies, in Go's verifier, under
// a sub-CA carrying the pattern's derived name constraints.
func FuzzMatchersAgreeWithReference(f *testing.F) {
	for i, name := range refCorpus {
		f.Add(name, refCorpus[(i*7+3)%len(refCorpus)], uint16(i*2654435761>>16))
		f.Add(name, name, uint16(0))
	}
	f.Fuzz(func(t *testing.T, name, pattern string, mask uint16) {
		checkAgainstReference(t, name, pattern)
		checkDerivedAgainstReference(t, name, mask)
	})
}
