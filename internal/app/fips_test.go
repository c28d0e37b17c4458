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

package app

import (
	"strings"
	"testing"
)

func TestFIPSCheck(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		f    FIPS
		want string // "" passes
	}{
		{"the default build outside FIPS mode starts", FIPS{Module: "latest"}, ""},
		{"the default build in FIPS mode (GODEBUG=fips140=on) starts", FIPS{Enabled: true, Module: "latest"}, ""},
		{"the FIPS build in FIPS mode starts", FIPS{Enabled: true, Module: "v1.0.0", Build: "v1.0.0-c2097c7c"}, ""},
		{"the FIPS build under fips140=only starts", FIPS{Enabled: true, Enforced: true, Module: "v1.0.0", Build: "v1.0.0-c2097c7c"}, ""},
		{"the FIPS build with FIPS mode turned off refuses to start", FIPS{Module: "v1.0.0", Build: "v1.0.0-c2097c7c"},
			"this binary is the FIPS 140-3 build (GOFIPS140=v1.0.0-c2097c7c) but runs with FIPS 140-3 mode off: remove fips140=off from the GODEBUG"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := c.f.Check()
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Errorf("Check: %v, want %q", err, c.want)
			}
		})
	}
}

func TestCurrentFIPSOfTheTestBinary(t *testing.T) {
	t.Parallel()
	// The test binary is built without GOFIPS140; `go test` runs it with
	// FIPS mode as GODEBUG says.
	f := CurrentFIPS()
	if f.Build != "" || f.Module != "latest" {
		t.Errorf("CurrentFIPS = %+v, want no GOFIPS140 build and Go's in-tree module", f)
	}
	if err := f.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
}
