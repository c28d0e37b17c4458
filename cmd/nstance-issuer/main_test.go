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

package main

import (
	"runtime/debug"
	"testing"
)

// Not parallel: the GC target is the process's.
func TestSetGCPercent(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		// want is the target in effect afterwards, and what it reports.
		want       int
		wantReport string
	}{
		{name: "without GOGC the manager collects at 50%", env: map[string]string{}, want: 50, wantReport: "50"},
		{name: "an operator's GOGC is left to the runtime", env: map[string]string{"GOGC": "200"}, want: 100, wantReport: "200"},
		{name: "GOGC=off is the operator's choice too", env: map[string]string{"GOGC": "off"}, want: 100, wantReport: "off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prev := debug.SetGCPercent(100) // as if the runtime's default
			defer debug.SetGCPercent(prev)
			got := setGCPercent(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if inEffect := debug.SetGCPercent(100); inEffect != tc.want || got != tc.wantReport {
				t.Errorf("GC target %d, reported %q; want %d, %q", inEffect, got, tc.want, tc.wantReport)
			}
		})
	}
}
