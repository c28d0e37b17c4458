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
	"crypto/fips140"
	"fmt"
	"runtime/debug"
)

// FIPS is the FIPS 140-3 state of the running process.
type FIPS struct {
	// Enabled: the process runs in FIPS 140-3 mode (GODEBUG fips140=on
	// or only; the default of a binary built with GOFIPS140).
	Enabled bool
	// Enforced: GODEBUG fips140=only, where Go fails every algorithm its
	// module does not approve.
	Enforced bool
	// Module is the Go Cryptographic Module in use (crypto/fips140.Version):
	// "v1.0.0" when built against a frozen module, "latest" for the
	// module in Go's own tree, which is not a validated one.
	Module string
	// Build is the binary's GOFIPS140 build setting (v1.0.0-c2097c7c),
	// empty when it was built without a frozen module.
	Build string
}

// CurrentFIPS reads the state of this process.
func CurrentFIPS() FIPS {
	f := FIPS{Enabled: fips140.Enabled(), Enforced: fips140.Enforced(), Module: fips140.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "GOFIPS140" && s.Value != "off" {
				f.Build = s.Value
			}
		}
	}
	return f
}

// Check refuses a FIPS build (one built against a frozen Go Cryptographic
// Module, as the -fips image is) that runs with FIPS 140-3 mode off: a
// GODEBUG=fips140=off in a Pod spec would otherwise turn the FIPS image
// into a non-FIPS one without a word.
func (f FIPS) Check() error {
	if f.Build != "" && !f.Enabled {
		return fmt.Errorf("this binary is the FIPS 140-3 build (GOFIPS140=%s) but runs with FIPS 140-3 mode off: remove fips140=off from the GODEBUG environment variable (or set fips140=on), or run the image without the -fips suffix", f.Build)
	}
	return nil
}

// LogValues are the keys and values the start-up log line carries.
func (f FIPS) LogValues() []any {
	return []any{"module", f.Module, "goFIPS140", f.Build, "enforced", f.Enforced}
}
