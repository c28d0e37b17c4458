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

package keys_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/nstance-dev/nstance-issuer/internal/test/keystest"
)

// localKMS is the AWS KMS emulator every test of this package shares.
var localKMS *keystest.LocalKMS

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "nstance-keys-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	root, err := filepath.Abs("../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	bin, err := keystest.LocalKMSBinary(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := os.MkdirAll(filepath.Join(dir, "kms"), 0o700); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	localKMS, err = keystest.StartLocalKMS(context.Background(), bin, filepath.Join(dir, "kms"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer localKMS.Stop()
	if err := setUpPKCS11(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
