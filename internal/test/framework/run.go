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

package framework

import (
	"context"
	"os"
	"sync"

	"github.com/go-logr/logr"
	"go.uber.org/zap/zapcore"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// Runnable is what RunInBackground runs: a controller-runtime manager, for
// one.
type Runnable interface {
	Start(ctx context.Context) error
}

// RunInBackground starts r in a goroutine with a context derived from ctx.
// stop cancels that context, waits for r.Start to return and returns its
// error; it may be called more than once and always returns that error.
func RunInBackground(ctx context.Context, r Runnable) (stop func() error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Start(ctx) }()
	var once sync.Once
	var err error
	return func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
}

// ControllerLogger is the controllers' logger in integration tests: quiet
// (the tests assert on what users see: conditions, Events), or with
// TEST_VERBOSE set, the controllers' V(2) logs on stderr.
func ControllerLogger() logr.Logger {
	level := zapcore.DPanicLevel
	if os.Getenv("TEST_VERBOSE") != "" {
		level = -2
	}
	return zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true), zap.Level(level))
}
