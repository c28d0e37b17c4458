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
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// writeServingCert writes a self-signed serving certificate for localhost
// as cert-manager writes a TLS Secret: tls.crt and tls.key.
func writeServingCert(t *testing.T, dir string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// A webhook served from cert-manager's files starts before cert-manager
// has written them: the server (and so the manager with its controllers)
// keeps running, not ready, and serves the certificate once it is there.
// controller-runtime's own CertDir fails Start, and the manager with it.
func TestServerFromFilesStartsBeforeTheFilesExist(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	s := NewServer(Options{Port: port, Host: "127.0.0.1", CertDir: dir})
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	// The server listens rather than failing.
	deadline := time.Now().Add(time.Minute)
	for {
		select {
		case err := <-done:
			t.Fatalf("the webhook server stopped before its certificate files exist: %v", err)
		default:
		}
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the webhook server does not listen: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.files.Ready(nil); err == nil {
		t.Fatal("ready without a certificate")
	}
	if _, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}); err == nil { //nolint:gosec // G402: no certificate to verify yet
		t.Fatal("a TLS handshake succeeded without a certificate")
	}

	want := writeServingCert(t, dir)
	pool := x509.NewCertPool()
	pool.AddCert(want)
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("the certificate written after the start is not served: %v", err)
	}
	_ = conn.Close()
	if err := s.files.Ready(nil); err != nil {
		t.Fatalf("not ready with the certificate: %v", err)
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("the server stopped with %v", err)
	}
}

// Garbage in the files is a clear error, not a panic; the certificate in
// hand keeps being served.
func TestCertFilesKeepTheLastGoodCertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := &certFiles{dir: dir}
	if _, err := f.load(); err == nil {
		t.Fatal("no files: want an error")
	}
	writeServingCert(t, dir)
	if changed, err := f.load(); err != nil || !changed {
		t.Fatalf("load: changed %v, error %v", changed, err)
	}
	good, _ := f.GetCertificate(nil)
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.load(); err == nil {
		t.Fatal("garbage: want an error")
	}
	if got, err := f.GetCertificate(nil); err != nil || got != good {
		t.Errorf("after garbage: %v, %v; want the last good certificate", got, err)
	}
}
