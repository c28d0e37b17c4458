//go:build integration && pkcs11

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

package image_test

import (
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/image"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
	"github.com/nstance-dev/nstance-issuer/internal/test/keystest"
	"github.com/nstance-dev/nstance-issuer/internal/test/localstack"
)

// TestPKCS11Image builds the -pkcs11 image as `make image-pkcs11` does and
// runs it the way a cluster would: its filesystem, and nothing of this
// machine's, as the root of the manager process (chroot), with the HSM's
// module "mounted" into it — SoftHSM2's module and the libraries it needs,
// under /opt/pkcs11, and a token made here — against a local stack with
// cert-manager. The manager must make its CA key in the token and issue a
// Certificate: the image's loader and libc load the module, the binary
// signs through it.
func TestPKCS11Image(t *testing.T) {
	ctx := t.Context()
	if os.Geteuid() != 0 {
		t.Fatal("this test runs the image's filesystem with chroot, which needs root (CI runs as root)")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("CYCLONEDX_GOMOD") == "" {
		t.Fatal("CYCLONEDX_GOMOD is not set: run this test with `make test-release`")
	}
	img, _ := buildVariant(ctx, t, root, "pkcs11")
	dir := t.TempDir()
	labels := img.Config.Config.Labels
	if !strings.HasPrefix(labels[image.LabelPKCS11], "glibc ") || labels[image.LabelTitle] != "nstance-issuer (PKCS#11)" {
		t.Errorf("labels %v: want the PKCS#11 variant and its C runtime", labels)
	}
	if c := img.Config.Config; c.User != image.User || len(c.Entrypoint) != 1 || c.Entrypoint[0] != image.BinaryPath {
		t.Errorf("user %q entrypoint %q", c.User, c.Entrypoint)
	}
	var libc, loader bool
	for name := range img.Files {
		libc = libc || strings.HasSuffix(name, "/libc.so.6")
		loader = loader || strings.Contains(name, "/ld-linux")
		if name != strings.TrimPrefix(image.BinaryPath, "/") && !strings.HasPrefix(name, "lib") {
			t.Errorf("the image holds %s: it must hold the binary and its C runtime only (no shell)", name)
		}
	}
	if !libc || !loader {
		t.Fatalf("the image lacks glibc's loader or libc.so.6: %v", names(img.Files))
	}

	// The image's filesystem, as a container runtime would unpack it.
	rootfs := filepath.Join(dir, "rootfs")
	for name, f := range img.Files {
		if f.Dir || strings.HasSuffix(name, "/") {
			continue
		}
		p := filepath.Join(rootfs, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Content, os.FileMode(f.Mode)); err != nil {
			t.Fatal(err)
		}
	}
	// The HSM module and what it links against, mounted at /opt/pkcs11
	// (LD_LIBRARY_PATH), as an operator mounts their HSM's client.
	hsm, err := keystest.NewSoftHSM(filepath.Join(rootfs, "softhsm"))
	if err != nil {
		t.Fatal(err)
	}
	mount := filepath.Join(rootfs, "opt", "pkcs11")
	if err := os.MkdirAll(mount, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, hsm.Module, filepath.Join(mount, "libsofthsm2.so"))
	out, err := exec.CommandContext(ctx, "ldd", hsm.Module).Output()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/") && !strings.Contains(f[2], "/libc.so") {
			copyFile(t, f[2], filepath.Join(mount, filepath.Base(f[2])))
		}
	}
	if err := hsm.InitToken("image", "1234"); err != nil {
		t.Fatal(err)
	}
	// Inside the image, SoftHSM's configuration and tokens are at /softhsm.
	if err := os.WriteFile(hsm.Conf, []byte("directories.tokendir = /softhsm/tokens\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "pin"), []byte("1234"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The manager runs chrooted into the image; its kubeconfig is copied in.
	wrapper := filepath.Join(dir, "nstance-issuer")
	script := `#!/bin/sh
root='` + rootfs + `'
for a in "$@"; do case "$a" in --kubeconfig=*) k="${a#--kubeconfig=}"; mkdir -p "$root$(dirname "$k")"; cp "$k" "$root$k";; esac; done
exec env -i SOFTHSM2_CONF=/softhsm/softhsm2.conf LD_LIBRARY_PATH=/opt/pkcs11 "$(command -v chroot)" "$root" /nstance-issuer "$@" --pkcs11-module=/opt/pkcs11/libsofthsm2.so --pkcs11-pin-file=/pin
`
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	stack, err := localstack.Start(ctx, localstack.Options{RepoRoot: root, CertManager: true, ManagerBinary: wrapper, ManagerLogDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stack.Stop(); err != nil {
			t.Errorf("stopping the stack: %v", err)
		}
	})
	c := stack.Client
	iss := &v1alpha1.NstanceClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "hsm"}, Spec: v1alpha1.IssuerSpec{
		CA: v1alpha1.CASpec{SecretName: "hsm-ca", Key: &v1alpha1.CAKey{URI: "pkcs11:token=image"},
			Generate: &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "HSM CA"}, TTL: 8760}},
		DefaultTemplate: "web",
		Templates:       []v1alpha1.CertificateTemplate{{Name: "web", AllowedDNSNames: []string{"*.example.com"}, TTL: 24}},
	}}
	if err := c.Create(ctx, iss); err != nil {
		t.Fatal(err)
	}
	eventually(t, "issuer hsm Ready", framework.IssuerReady(c, iss))
	var caSecret corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: localstack.ClusterResourceNamespace, Name: "hsm-ca"}, &caSecret); err != nil {
		t.Fatal(err)
	}
	if _, ok := caSecret.Data["tls.key"]; ok || !strings.HasPrefix(string(caSecret.Data["key-uri"]), "pkcs11:token=image;") {
		t.Fatalf("the CA Secret holds %v: want tls.crt, ca.crt and key-uri in token image", names2(caSecret.Data))
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "hsm"}}); err != nil {
		t.Fatal(err)
	}
	crt := &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: "hsm", Name: "web"},
		Spec: cmapi.CertificateSpec{DNSNames: []string{"web.example.com"}, SecretName: "web-tls",
			IssuerRef: cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "NstanceClusterIssuer", Name: "hsm"}},
	}
	if err := c.Create(ctx, crt); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Certificate web Ready", framework.CertificateReady(c, client.ObjectKeyFromObject(crt), crt))
	if _, _, err := framework.IssuedSecret(ctx, c, client.ObjectKey{Namespace: "hsm", Name: "web-tls"}, x509.ExtKeyUsageServerAuth); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func names(files map[string]image.File) []string {
	var out []string
	for n := range files {
		out = append(out, n)
	}
	return out
}

func names2(data map[string][]byte) []string {
	var out []string
	for n := range data {
		out = append(out, n)
	}
	return out
}
