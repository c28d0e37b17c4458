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

package keystest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// SoftHSMModuleEnv names SoftHSM2's PKCS#11 module; unset, Debian's
// /usr/lib/softhsm/libsofthsm2.so.
const SoftHSMModuleEnv = "SOFTHSM2_MODULE"

// DefaultSoftHSMModule is where Debian's softhsm2 package puts the module.
const DefaultSoftHSMModule = "/usr/lib/softhsm/libsofthsm2.so"

// SoftHSM is a SoftHSM2 configuration whose tokens live in a directory of
// the caller's. SoftHSM reads SOFTHSM2_CONF when the module is loaded:
// a process that loads it must have Conf in its environment first
// (Setenv), and make its tokens before.
type SoftHSM struct {
	// Module is the PKCS#11 module.
	Module string
	// Conf is the softhsm2.conf to put in SOFTHSM2_CONF.
	Conf string
	dir  string
}

// NewSoftHSM writes a SoftHSM2 configuration keeping tokens under dir. It
// fails, saying how to install it, when SoftHSM2 is not installed.
func NewSoftHSM(dir string) (*SoftHSM, error) {
	module := os.Getenv(SoftHSMModuleEnv)
	if module == "" {
		module = DefaultSoftHSMModule
	}
	if _, err := os.Stat(module); err != nil {
		return nil, fmt.Errorf("SoftHSM2 is not installed (no %s): run `make pkcs11-deps` (apt-get install softhsm2, as root) or set %s", module, SoftHSMModuleEnv)
	}
	if _, err := exec.LookPath("softhsm2-util"); err != nil {
		return nil, fmt.Errorf("softhsm2-util is not installed: run `make pkcs11-deps` (apt-get install softhsm2, as root)")
	}
	tokens := filepath.Join(dir, "tokens")
	if err := os.MkdirAll(tokens, 0o700); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	content := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	if err := os.WriteFile(conf, []byte(content), 0o600); err != nil {
		return nil, err
	}
	return &SoftHSM{Module: module, Conf: conf, dir: dir}, nil
}

// Setenv points this process's SOFTHSM2_CONF at the configuration.
func (s *SoftHSM) Setenv() error { return os.Setenv("SOFTHSM2_CONF", s.Conf) }

// Env is the environment entry a child process needs.
func (s *SoftHSM) Env() string { return "SOFTHSM2_CONF=" + s.Conf }

// InitToken initialises a token labelled label with the user PIN pin.
func (s *SoftHSM) InitToken(label, pin string) error {
	cmd := exec.Command("softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", "so-"+pin, "--pin", pin)
	cmd.Env = append(os.Environ(), s.Env())
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("softhsm2-util --init-token --label %s: %w: %s", label, err, strings.TrimSpace(string(out)))
	}
	return nil
}
