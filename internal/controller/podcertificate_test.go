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
	"testing"
	"time"
)

func TestBeginRefreshAt(t *testing.T) {
	t.Parallel()
	nb := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		lifetime time.Duration
		want     time.Duration // after notBefore
	}{
		{name: "two thirds into a day", lifetime: 24 * time.Hour, want: 16 * time.Hour},
		{name: "two thirds into the API's minimum hour", lifetime: time.Hour, want: 40 * time.Minute},
		{name: "never later than 10 minutes before notAfter", lifetime: 25 * time.Minute, want: 15 * time.Minute},
		{name: "whole seconds", lifetime: time.Hour + 30*time.Second, want: 40*time.Minute + 20*time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := BeginRefreshAt(nb, nb.Add(tc.lifetime))
			if got.Sub(nb) != tc.want {
				t.Errorf("beginRefreshAt = notBefore + %s, want + %s", got.Sub(nb), tc.want)
			}
		})
	}
}

func TestOurSigner(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"nstanceclusterissuers.issuer.nstance.dev/ca": true,
		"nstanceissuers.issuer.nstance.dev/ns.ca":     true,
		"kubernetes.io/kube-apiserver-client-pod":     false,
		"example.com/nstanceclusterissuers":           false,
	} {
		if got := ourSigner(name); got != want {
			t.Errorf("ourSigner(%q) = %v, want %v", name, got, want)
		}
	}
}
