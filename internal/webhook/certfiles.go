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

package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log"
)

// certFilesReload is how often certFiles reads the files again.
const certFilesReload = 10 * time.Second

// maxCertFileSize bounds what certFiles reads of each file (cert-manager's
// own limits are smaller).
const maxCertFileSize = 1 << 20

// certFiles serves tls.crt and tls.key of a directory (written by
// cert-manager into a Secret volume) and reads them again when they
// change. Unlike controller-runtime's certwatcher it does not need them to
// exist when the server starts: until cert-manager has issued the
// certificate the webhook answers no TLS handshake and is not ready, and
// the manager's controllers run meanwhile.
type certFiles struct {
	dir string

	mu              sync.Mutex
	cert            *tls.Certificate
	certPEM, keyPEM []byte
}

// run reads the files every certFilesReload until ctx ends, and logs
// each new problem once.
func (f *certFiles) run(ctx context.Context) {
	logger := log.FromContext(ctx).WithName("webhook-certificates")
	var last string
	for {
		changed, err := f.load()
		switch {
		case err != nil && err.Error() != last:
			last = err.Error()
			logger.Info("cannot read the webhook's serving certificate; the webhook serves the last one it read, or is not ready", "dir", f.dir, "problem", last)
		case err == nil:
			last = ""
		}
		if changed {
			logger.Info("serving the webhook with the certificate of the files", "dir", f.dir)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(certFilesReload):
		}
	}
}

// load reads the files; a pair that does not load keeps the certificate in
// hand.
func (f *certFiles) load() (changed bool, err error) {
	certPEM, err := readBounded(filepath.Join(f.dir, "tls.crt"))
	if err == nil {
		var keyPEM []byte
		if keyPEM, err = readBounded(filepath.Join(f.dir, "tls.key")); err == nil {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.cert != nil && bytes.Equal(certPEM, f.certPEM) && bytes.Equal(keyPEM, f.keyPEM) {
				return false, nil
			}
			cert, perr := tls.X509KeyPair(certPEM, keyPEM)
			if perr == nil {
				f.cert, f.certPEM, f.keyPEM = &cert, certPEM, keyPEM
				return true, nil
			}
			return false, fmt.Errorf("the webhook's serving certificate in %s does not load: %w", f.dir, perr)
		}
	}
	return false, fmt.Errorf("the webhook's serving certificate is not in %s: %w", f.dir, err)
}

func readBounded(path string) ([]byte, error) {
	fh, err := os.Open(path) //nolint:gosec // G304: the operator names the directory
	if err != nil {
		return nil, err
	}
	defer func() { _ = fh.Close() }()
	b, err := io.ReadAll(io.LimitReader(fh, maxCertFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxCertFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxCertFileSize)
	}
	return b, nil
}

// GetCertificate serves the certificate of the files (tls.Config); before
// the first one has loaded it tries the files at once, so the first
// handshake after cert-manager writes them succeeds.
func (f *certFiles) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	f.mu.Lock()
	cert := f.cert
	f.mu.Unlock()
	if cert != nil {
		return cert, nil
	}
	if _, err := f.load(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cert, nil
}

// Ready is a readiness check: a certificate has loaded.
func (f *certFiles) Ready(*http.Request) error {
	_, err := f.GetCertificate(nil)
	return err
}
