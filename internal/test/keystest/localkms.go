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

// Package keystest runs the real key backends the tests and the benchmark
// use instead of mocks: AWS KMS's emulator local-kms (built from Go modules
// by make local-kms, started on loopback) behind a proxy that answers as
// AWS IAM would for the access keys a test denies, and SoftHSM2 tokens
// (Debian's softhsm2, installed by make pkcs11-deps) initialised in a
// directory of the test's.
package keystest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// LocalKMSEnv names the local-kms binary (make local-kms prints it); unset,
// the newest bin/local-kms-* of the repository is used.
const LocalKMSEnv = "LOCAL_KMS"

// Region and Account are those of the emulator's keys.
const (
	Region  = "eu-west-2"
	Account = "111122223333"
)

// LocalKMSBinary finds the local-kms binary: $LOCAL_KMS, else the newest
// bin/local-kms-* under repoRoot.
func LocalKMSBinary(repoRoot string) (string, error) {
	if p := os.Getenv(LocalKMSEnv); p != "" {
		return p, nil
	}
	matches, _ := filepath.Glob(filepath.Join(repoRoot, "bin", "local-kms-*"))
	if len(matches) == 0 {
		return "", fmt.Errorf("no AWS KMS emulator: run `make local-kms` (it builds bin/local-kms-<version> from Go modules) or set %s", LocalKMSEnv)
	}
	sort.Strings(matches)
	return matches[len(matches)-1], nil
}

// LocalKMS is a running emulator behind an IAM-like proxy.
type LocalKMS struct {
	// Endpoint is the proxy's URL, what the AWS SDK is pointed at.
	Endpoint string
	// Direct is the emulator's own URL, bypassing the proxy.
	Direct string

	cmd    *exec.Cmd
	server *http.Server
	dir    string

	mu       sync.Mutex
	denied   map[string]bool
	unknown  map[string]bool
	throttle int
	down     bool
	requests map[string]int
}

// StartLocalKMS starts the emulator binary with its database in dir (a
// directory of the caller's) and the proxy, both on loopback.
func StartLocalKMS(ctx context.Context, binary, dir string) (*LocalKMS, error) {
	cmd := exec.Command(binary, "-data", dir, "-account", Account, "-region", Region)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the AWS KMS emulator %s: %w", binary, err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				addr <- a
			}
		}
	}()
	l := &LocalKMS{cmd: cmd, dir: dir, denied: map[string]bool{}, unknown: map[string]bool{}, requests: map[string]int{}}
	select {
	case a := <-addr:
		l.Direct = a
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, errors.New("the AWS KMS emulator did not start within 30s")
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, ctx.Err()
	}
	target, err := url.Parse(l.Direct)
	if err != nil {
		l.Stop()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		l.Stop()
		return nil, err
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	l.server = &http.Server{Handler: l.iam(proxy), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = l.server.Serve(ln) }()
	l.Endpoint = "http://" + ln.Addr().String()
	return l, nil
}

// Stop stops the proxy and the emulator.
func (l *LocalKMS) Stop() {
	if l.server != nil {
		_ = l.server.Close()
	}
	if l.cmd != nil && l.cmd.Process != nil {
		_ = l.cmd.Process.Kill()
		_ = l.cmd.Wait()
	}
}

// Deny makes the proxy answer AccessDeniedException to requests signed
// with access key id, as AWS does for an identity no policy allows.
func (l *LocalKMS) Deny(id string) { l.mu.Lock(); l.denied[id] = true; l.mu.Unlock() }

// Unknown makes the proxy answer UnrecognizedClientException to requests
// signed with access key id, as AWS does for an access key it does not know.
func (l *LocalKMS) Unknown(id string) { l.mu.Lock(); l.unknown[id] = true; l.mu.Unlock() }

// Throttle makes the proxy answer ThrottlingException to the next n
// requests.
func (l *LocalKMS) Throttle(n int) { l.mu.Lock(); l.throttle = n; l.mu.Unlock() }

// SetDown makes the proxy answer 503 to every request (an outage) until
// SetDown(false).
func (l *LocalKMS) SetDown(down bool) { l.mu.Lock(); l.down = down; l.mu.Unlock() }

// Requests is how many requests of the operation (Sign, GetPublicKey,
// CreateKey, ...) reached the proxy.
func (l *LocalKMS) Requests(op string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.requests[op]
}

var credentialRE = regexp.MustCompile(`Credential=([^/,\s]+)/`)

// iam answers as AWS would before a request reaches KMS.
func (l *LocalKMS) iam(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
		var id string
		if m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
			id = m[1]
		}
		l.mu.Lock()
		l.requests[op]++
		down, denied, unknown := l.down, l.denied[id], l.unknown[id]
		throttled := l.throttle > 0
		if throttled {
			l.throttle--
		}
		l.mu.Unlock()
		switch {
		case down:
			http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		case unknown:
			awsError(w, "UnrecognizedClientException", "The security token included in the request is invalid.")
		case denied:
			awsError(w, "AccessDeniedException", fmt.Sprintf("User: arn:aws:iam::%s:user/%s is not authorized to perform: kms:%s because no identity-based policy allows the kms:%s action", Account, id, op, op))
		case throttled:
			awsError(w, "ThrottlingException", "Rate exceeded")
		default:
			next.ServeHTTP(w, r)
		}
	})
}

func awsError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(http.StatusBadRequest)
	_, _ = fmt.Fprintf(w, `{"__type":%q,"message":%q}`, code, msg) //nolint:gosec // G705: a JSON error of the test's KMS emulator, quoted with %q, read by the AWS SDK
}
