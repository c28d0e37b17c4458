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

package image_test

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/image"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
	"github.com/nstance-dev/nstance-issuer/internal/test/localstack"
)

// The FIPS 140-3 module the -fips image is built against (the Makefile's
// GOFIPS140_VERSION) and what its binary reports at run time.
const (
	fipsModule    = "v1.0.0"
	fipsNamespace = "fips"
)

// TestFIPSImage builds the -fips image as `make image-fips` does (for this
// machine's architecture only), takes the binary out of its layer and runs
// it as the manager of a local stack: a real kube-apiserver and etcd with
// cert-manager's own controllers. With the image's default GODEBUG
// (fips140=on) and again with fips140=only (where Go fails whatever its
// module does not approve, so the whole manager is shown to need nothing
// else), the binary must say it runs in FIPS 140-3 mode with the frozen
// module, issue through cert-manager Certificates with every CA and key
// type the module approves (ECDSA P-256 and P-384, RSA 2048 and 3072,
// Ed25519) with key identifiers made without SHA-1, and refuse by name
// what the module does not approve (an RSA exponent of 3, a SHA-1
// signature, a CA key with exponent 3). With fips140=off it must refuse to
// start.
func TestFIPSImage(t *testing.T) {
	ctx := t.Context()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("CYCLONEDX_GOMOD") == "" {
		t.Fatal("CYCLONEDX_GOMOD is not set: run this test with `make test-release`")
	}
	img, idx := buildVariant(ctx, t, root, "fips")
	dir := t.TempDir()
	labels := img.Config.Config.Labels
	if !strings.HasPrefix(labels[image.LabelFIPS140], fipsModule+"-") || labels[image.LabelTitle] != "nstance-issuer (FIPS 140-3)" ||
		labels[image.LabelVersion] != testVersion || labels[image.LabelRevision] != testRevision ||
		labels[image.LabelCreated] != "2026-12-06T17:12:57Z" || labels[image.LabelSource] != image.Source {
		t.Errorf("labels %v: want the FIPS module, version, revision, commit time and source", labels)
	}
	binary := img.Files[strings.TrimPrefix(image.BinaryPath, "/")].Content
	info, err := image.ReadBinaryInfo(binary)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info.FIPS140, fipsModule+"-") {
		t.Fatalf("the binary in the layer was built with GOFIPS140=%q, want %s", info.FIPS140, fipsModule)
	}
	sboms, err := image.ReadSBOMs(idx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sboms) != 1 || sboms[0].Arch != runtime.GOARCH {
		t.Fatalf("%d SBOMs, want one for the %s image", len(sboms), runtime.GOARCH)
	}
	if err := image.CheckSBOM(sboms[0].Content, binary); err != nil {
		t.Errorf("the SBOM does not describe the binary in the layer: %v", err)
	}
	props, err := image.SBOMProperties(sboms[0].Content)
	if err != nil {
		t.Fatal(err)
	}
	if tags := strings.Join(props["cdx:gomod:build:tag"], ","); !strings.Contains(tags, "fips140v1.0") {
		t.Errorf("the SBOM's build tags %q do not show the FIPS module (fips140v1.0)", tags)
	}

	// The manager runs the binary from the layer through a wrapper that
	// sets GODEBUG from a file, so that a restart changes it; empty keeps
	// the binary's default (fips140=on).
	bin := filepath.Join(dir, "nstance-issuer-from-layer")
	if err := os.WriteFile(bin, binary, 0o755); err != nil {
		t.Fatal(err)
	}
	godebug := filepath.Join(dir, "godebug")
	setGODEBUG := func(v string) {
		if err := os.WriteFile(godebug, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	setGODEBUG("")
	wrapper := filepath.Join(dir, "nstance-issuer")
	script := "#!/bin/sh\nif [ -s '" + godebug + "' ]; then export GODEBUG=\"$(cat '" + godebug + "')\"; fi\nexec '" + bin + "' \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	logDir := t.TempDir()
	stack, err := localstack.Start(ctx, localstack.Options{RepoRoot: root, CertManager: true, ManagerBinary: wrapper, ManagerLogDir: logDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stack.Stop(); err != nil {
			t.Errorf("stopping the stack: %v", err)
		}
	})
	c := stack.Client
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fipsNamespace}}); err != nil {
		t.Fatal(err)
	}

	t.Run("with the image's default GODEBUG (fips140=on)", func(t *testing.T) {
		wantFIPSLogLine(t, logDir, false)
		issuesApprovedKeys(t, c, "on", true)
		refusesUnapproved(t, c, "on")
	})

	setGODEBUG("fips140=only")
	if err := stack.RestartManager(ctx, nil); err != nil {
		t.Fatal(err)
	}
	t.Run("with GODEBUG=fips140=only, which fails whatever the module does not approve", func(t *testing.T) {
		wantFIPSLogLine(t, logDir, true)
		issuesApprovedKeys(t, c, "only", false)
		refusesUnapproved(t, c, "only")
	})

	setGODEBUG("fips140=off")
	t.Run("with GODEBUG=fips140=off it refuses to start", func(t *testing.T) {
		err := stack.RestartManager(ctx, nil)
		if kerr := stack.KillManager(); kerr != nil {
			t.Errorf("clearing the exited manager: %v", kerr)
		}
		if err == nil {
			t.Fatal("the FIPS build started with FIPS 140-3 mode off")
		}
		logs := stack.ManagerLogs()
		if len(logs) == 0 {
			t.Fatalf("no log of the refused start (%v)", err)
		}
		b, rerr := os.ReadFile(logs[len(logs)-1])
		if rerr != nil {
			t.Fatal(rerr)
		}
		for _, want := range []string{"refusing to start", "is the FIPS 140-3 build (GOFIPS140=" + fipsModule + "-", "runs with FIPS 140-3 mode off"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("the log of the refused start does not say %q:\n%s", want, b)
			}
		}
	})
}

// fipsCAs are the CA key types of the issuers, fipsKeys those of the
// Certificates: all that Go's FIPS 140-3 module approves.
var (
	fipsCAs = map[string]v1alpha1.PrivateKeySpec{
		"ecdsa-p256": {Algorithm: v1alpha1.ECDSAKeyAlgorithm, Size: 256},
		"ecdsa-p384": {Algorithm: v1alpha1.ECDSAKeyAlgorithm, Size: 384},
		"rsa-2048":   {Algorithm: v1alpha1.RSAKeyAlgorithm, Size: 2048},
		"rsa-3072":   {Algorithm: v1alpha1.RSAKeyAlgorithm, Size: 3072},
		"ed25519":    {Algorithm: v1alpha1.Ed25519KeyAlgorithm},
	}
	fipsKeys = map[string]cmapi.CertificatePrivateKey{
		"ecdsa-p256": {Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256},
		"ecdsa-p384": {Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 384},
		"rsa-2048":   {Algorithm: cmapi.RSAKeyAlgorithm, Size: 2048},
		"rsa-3072":   {Algorithm: cmapi.RSAKeyAlgorithm, Size: 3072},
		"ed25519":    {Algorithm: cmapi.Ed25519KeyAlgorithm},
	}
)

// issuesApprovedKeys makes an issuer generating its CA per CA key type and
// Certificates on it: of every key type when all, else of its own type,
// and checks they are issued, chain to ca.crt and carry RFC 7093 key ids.
func issuesApprovedKeys(t *testing.T, c client.Client, phase string, all bool) {
	t.Run("every approved CA and key type issues", func(t *testing.T) {
		for caName, caKey := range fipsCAs {
			t.Run("a CA with an "+caName+" key", func(t *testing.T) {
				t.Parallel()
				issuer := phase + "-" + caName
				iss := fipsIssuer(issuer, v1alpha1.CASpec{SecretName: issuer + "-ca",
					Generate: &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "FIPS " + caName + " CA"}, TTL: 8760, PrivateKey: caKey}})
				if err := c.Create(t.Context(), iss); err != nil {
					t.Fatal(err)
				}
				eventually(t, "issuer "+issuer+" Ready", framework.IssuerReady(c, iss))
				for keyName, key := range fipsKeys {
					if !all && keyName != caName {
						continue
					}
					t.Run("signs a Certificate with an "+keyName+" key", func(t *testing.T) {
						t.Parallel()
						name := issuer + "-" + keyName
						crt := &cmapi.Certificate{
							ObjectMeta: metav1.ObjectMeta{Namespace: fipsNamespace, Name: name},
							Spec: cmapi.CertificateSpec{
								DNSNames: []string{name + ".fips.example.com"}, SecretName: name + "-tls", PrivateKey: &key,
								IssuerRef: cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "NstanceIssuer", Name: issuer},
							},
						}
						if err := c.Create(t.Context(), crt); err != nil {
							t.Fatal(err)
						}
						eventually(t, "Certificate "+name+" Ready", framework.CertificateReady(c, client.ObjectKeyFromObject(crt), crt))
						leaf, _, err := framework.IssuedSecret(t.Context(), c, client.ObjectKey{Namespace: fipsNamespace, Name: name + "-tls"}, x509.ExtKeyUsageServerAuth)
						if err != nil {
							t.Fatal(err)
						}
						if want := fipsKeyID(t, leaf.PublicKey); !bytes.Equal(leaf.SubjectKeyId, want) {
							t.Errorf("SubjectKeyId %x, want RFC 7093's SHA-256 key identifier %x (the FIPS mode path)", leaf.SubjectKeyId, want)
						}
					})
				}
			})
		}
	})
}

// refusesUnapproved sends what the module does not approve: CSRs with an
// RSA exponent of 3 or a SHA-1 signature, and a CA key with exponent 3.
func refusesUnapproved(t *testing.T, c client.Client, phase string) {
	t.Run("what the module does not approve is refused by name", func(t *testing.T) {
		issuer := phase + "-refusals"
		iss := fipsIssuer(issuer, v1alpha1.CASpec{SecretName: issuer + "-ca",
			Generate: &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "FIPS refusals CA"}, TTL: 8760}})
		if err := c.Create(t.Context(), iss); err != nil {
			t.Fatal(err)
		}
		eventually(t, "issuer "+issuer+" Ready", framework.IssuerReady(c, iss))
		rsa2048, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			key  crypto.Signer
			alg  x509.SignatureAlgorithm
			want []string
		}{
			{"a CSR whose RSA key has exponent 3", rsaKeyWithExponent(t, 3), x509.SHA256WithRSA, []string{"public exponent 3", "FIPS 140-3 mode", "exponent 65537"}},
			{"a CSR signed with SHA-1", rsa2048, x509.SHA1WithRSA, []string{"SHA1-RSA", "FIPS 140-3 mode", "SHA-256 or stronger"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				name := phase + "-" + strings.ReplaceAll(strings.ToLower(tc.name), " ", "-")
				der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
					Subject: pkix.Name{CommonName: "refused.fips.example.com"}, DNSNames: []string{"refused.fips.example.com"}, SignatureAlgorithm: tc.alg,
				}, tc.key)
				if err != nil {
					t.Fatal(err)
				}
				cr := &cmapi.CertificateRequest{
					ObjectMeta: metav1.ObjectMeta{Namespace: fipsNamespace, Name: name},
					Spec: cmapi.CertificateRequestSpec{
						Request:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
						IssuerRef: cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "NstanceIssuer", Name: issuer},
						Usages:    []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageServerAuth},
					},
				}
				if err := c.Create(t.Context(), cr); err != nil {
					t.Fatal(err)
				}
				eventually(t, "CertificateRequest "+name+" Failed", framework.CertificateRequestFailed(c, cr))
				msg := framework.RequestReady(cr).Message
				for _, w := range tc.want {
					if !strings.Contains(msg, w) {
						t.Errorf("failure %q does not say %q", msg, w)
					}
				}
			})
		}
		t.Run("a CA whose RSA key has exponent 3", func(t *testing.T) {
			t.Parallel()
			key := rsaKeyWithExponent(t, 3)
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "Exponent 3 CA"},
				NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
				IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
			if err != nil {
				t.Fatal(err)
			}
			certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
			name := phase + "-e3-ca"
			secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: fipsNamespace, Name: name}, Type: corev1.SecretTypeTLS,
				Data: map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), cmmeta.TLSCAKey: certPEM}}
			if err := c.Create(t.Context(), secret); err != nil {
				t.Fatal(err)
			}
			iss := fipsIssuer(name, v1alpha1.CASpec{SecretName: name})
			if err := c.Create(t.Context(), iss); err != nil {
				t.Fatal(err)
			}
			eventually(t, "issuer "+name+" not Ready, naming FIPS mode", framework.IssuerReadyIs(c, iss, metav1.ConditionFalse, "tls.key is an RSA key with public exponent 3"))
			cond, _ := framework.IssuerCondition(iss)
			if !strings.Contains(cond.Message, "FIPS 140-3 mode") {
				t.Errorf("the issuer's condition %q does not name FIPS 140-3 mode", cond.Message)
			}
		})
	})
}

// fipsIssuer is an NstanceIssuer in the fips namespace whose default
// template serves *.fips.example.com.
func fipsIssuer(name string, ca v1alpha1.CASpec) *v1alpha1.NstanceIssuer {
	return &v1alpha1.NstanceIssuer{
		ObjectMeta: metav1.ObjectMeta{Namespace: fipsNamespace, Name: name},
		Spec: v1alpha1.IssuerSpec{
			CA:              ca,
			DefaultTemplate: "web",
			Templates:       []v1alpha1.CertificateTemplate{{Name: "web", Kind: v1alpha1.ServerKind, AllowedDNSNames: []string{"*.fips.example.com"}, TTL: 24}},
		},
	}
}

func eventually(t *testing.T, what string, cond framework.Condition) {
	t.Helper()
	if err := framework.Eventually(t.Context(), what, cond); err != nil {
		t.Fatal(err)
	}
}

// wantFIPSLogLine checks the running manager's "FIPS 140-3 mode"
// start-up line (JSON): the frozen module, and enforced as asked.
func wantFIPSLogLine(t *testing.T, logDir string, enforced bool) {
	t.Helper()
	logs, err := filepath.Glob(filepath.Join(logDir, "nstance-issuer-manager-*.log"))
	if err != nil || len(logs) != 1 {
		t.Fatalf("manager logs %v (%v), want the running one's only", logs, err)
	}
	f, err := os.Open(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil || line["msg"] != "FIPS 140-3 mode" {
			continue
		}
		if line["module"] != fipsModule || line["enforced"] != enforced || !strings.HasPrefix(fmt.Sprint(line["goFIPS140"]), fipsModule+"-") {
			t.Errorf("start-up line %v: want module %s, enforced %t, GOFIPS140 %s-...", line, fipsModule, enforced, fipsModule)
		}
		return
	}
	t.Errorf("the manager's log %s has no \"FIPS 140-3 mode\" line", logs[0])
}

// fipsKeyID is RFC 7093 method 1: the leftmost 160 bits of the SHA-256 of
// the subjectPublicKey BIT STRING.
func fipsKeyID(t *testing.T, pub crypto.PublicKey) []byte {
	t.Helper()
	var bits []byte
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		b, err := k.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		bits = b
	case ed25519.PublicKey:
		bits = k
	case *rsa.PublicKey:
		bits = x509.MarshalPKCS1PublicKey(k)
	default:
		t.Fatalf("key type %T", pub)
	}
	sum := sha256.Sum256(bits)
	return sum[:20]
}

// rsaKeyWithExponent is a 2048-bit RSA key with public exponent e, which
// crypto/rsa never generates (it always uses 65537).
func rsaKeyWithExponent(t *testing.T, e int) *rsa.PrivateKey {
	t.Helper()
	one := big.NewInt(1)
	for {
		p, err := rand.Prime(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		q, err := rand.Prime(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		n := new(big.Int).Mul(p, q)
		d := new(big.Int).ModInverse(big.NewInt(int64(e)), phi)
		if p.Cmp(q) == 0 || n.BitLen() != 2048 || d == nil {
			continue
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: e}, D: d, Primes: []*big.Int{p, q}}
		k.Precompute()
		if err := k.Validate(); err != nil {
			t.Fatal(err)
		}
		return k
	}
}
