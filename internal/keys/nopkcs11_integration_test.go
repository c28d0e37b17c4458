//go:build integration && !(pkcs11 && cgo)

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

package keys_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nstance-dev/nstance-issuer/internal/keys"
)

// setUpPKCS11 has nothing to set up in a binary without PKCS#11.
func setUpPKCS11(string) error { return nil }

func TestPKCS11KeysNeedThePKCS11Build(t *testing.T) {
	if keys.PKCS11Compiled() {
		t.Fatal("PKCS#11 is compiled in without the pkcs11 build tag and cgo")
	}
	u, err := keys.ParseURI("pkcs11:token=t;object=k")
	if err != nil {
		t.Fatal(err)
	}
	k := keys.New(keys.Policy{PKCS11Modules: []string{"/usr/lib/softhsm/libsofthsm2.so"}})
	_, err = k.Open(context.Background(), keys.Scope{}, u, nil)
	var kerr *keys.Error
	if !errors.As(err, &kerr) || kerr.Reason != keys.ReasonNotCompiled || !strings.Contains(err.Error(), "-pkcs11 image") {
		t.Fatalf("got %v, want %s naming the -pkcs11 image", err, keys.ReasonNotCompiled)
	}
}
