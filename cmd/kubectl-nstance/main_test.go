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

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/explain"
)

const issuerYAML = `apiVersion: issuer.nstance.dev/v1alpha1
kind: NstanceIssuer
metadata:
  name: web
  namespace: team-a
spec:
  ca:
    secretName: web-ca
    generate:
      cn: Team A CA
  defaultTemplate: web
  templates:
  - name: web
    allowedDNSNames: ["*.{{ .Request.Namespace }}.example.com"]
    ttl: 720
  - name: labelled
    allowedDNSNames: ["**"]
    namespaces:
      selector:
        matchLabels: {tier: web}
`

func TestExplainCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	issuerFile := filepath.Join(dir, "issuer.yaml")
	if err := os.WriteFile(issuerFile, []byte(issuerYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken.yaml")
	if err := os.WriteFile(broken, []byte(strings.Replace(issuerYAML, "ttl: 720", "ttl: 720\n    dns: ['{{']", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	certFile := filepath.Join(dir, "certificate.yaml")
	if err := os.WriteFile(certFile, []byte(`apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: api, namespace: team-a}
spec:
  secretName: api-tls
  dnsNames: [api.team-a.example.com]
  issuerRef: {group: issuer.nstance.dev, kind: NstanceIssuer, name: web}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	certYAML, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	withRequest := write("with-request.yaml", issuerYAML+"\n---\n"+string(certYAML))
	garbageCSR := write("garbage.csr", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")
	notCSR := write("cert.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
	huge := write("huge.csr", "-----BEGIN CERTIFICATE REQUEST-----\n"+strings.Repeat("QUFB\n", explain.MaxInputSize/5+1)+"-----END CERTIFICATE REQUEST-----\n")
	bomb := "a: &a [x, y, x, y, x, y, x, y, x]\n"
	for i, prev := 1, "a"; i < 12; i++ {
		bomb += fmt.Sprintf("b%d: &b%d [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n", i, i, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = fmt.Sprintf("b%d", i)
	}
	bombFile := write("bomb.yaml", bomb)
	deepJSON := write("deep.json", strings.Repeat(`{"a":`, 100000)+"1"+strings.Repeat("}", 100000))
	deepYAML := write("deep.yaml", "a: "+strings.Repeat("[", 300000)+strings.Repeat("]", 300000))
	binary := write("binary", "\x00\xff\xfe garbage \x80")
	oddSpec := write("odd.yaml", "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: x}\nspec: 5\n")
	oddKey := write("oddkey.yaml", "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: x, namespace: team-a}\nspec:\n  secretName: x\n  dnsNames: [a.team-a.example.com]\n  privateKey: {algorithm: ECDSA, size: 1}\n")
	tests := []struct {
		name     string
		args     []string
		exit     int
		decision string
		stderr   string
	}{
		{name: "a request the template allows exits 0", args: []string{"-f", issuerFile, "--dns", "a.team-a.example.com"}, exit: 0, decision: explain.Issued},
		{name: "a request the template refuses exits 1", args: []string{"-f", issuerFile, "--dns", "a.example.org"}, exit: 1, decision: explain.Refused},
		{name: "a Certificate file is read as cert-manager would request it", args: []string{"-f", issuerFile, "--request", certFile}, exit: 0, decision: explain.Issued},
		{name: "a template selected by annotation that names none exits 1", args: []string{"-f", issuerFile, "--dns", "a.team-a.example.com", "--template", "nope"}, exit: 1, decision: explain.Refused},
		{name: "a label selector gets the labels from --namespace-labels", args: []string{"-f", issuerFile, "--dns", "x.example.org", "--template", "labelled", "--namespace-labels", "tier=web"}, exit: 0, decision: explain.Issued},
		{name: "a label selector without labels is a usage error", args: []string{"-f", issuerFile, "--dns", "x.example.org", "--template", "labelled"}, exit: 2, stderr: "--namespace-labels"},
		{name: "an invalid issuer exits 2", args: []string{"-f", broken, "--dns", "a.team-a.example.com"}, exit: 2, decision: explain.InvalidIssuer},
		{name: "no request is a usage error", args: []string{"-f", issuerFile}, exit: 2, stderr: "give a request"},
		{name: "no issuer is a usage error", args: []string{"--dns", "a.example.com"}, exit: 2, stderr: "-f FILE or --from-cluster"},
		{name: "a request in another namespace than the NstanceIssuer is a usage error", args: []string{"-f", issuerFile, "-n", "team-b", "--dns", "a.team-b.example.com"}, exit: 2, stderr: "serves its own namespace only"},
		{name: "a CSR file that does not parse is a usage error, not a refusal", args: []string{"-f", issuerFile, "--request", garbageCSR}, exit: 2, stderr: "CERTIFICATE REQUEST does not parse"},
		{name: "a PEM file of another type is a usage error", args: []string{"-f", issuerFile, "--request", notCSR}, exit: 2, stderr: "not a CERTIFICATE REQUEST"},
		{name: "a request file over the size limit is a usage error", args: []string{"-f", issuerFile, "--request", huge}, exit: 2, stderr: "more than"},
		{name: "a YAML bomb is a usage error", args: []string{"-f", bombFile, "--dns", "a.team-a.example.com"}, exit: 2, stderr: "excessive aliasing"},
		{name: "deeply nested JSON is a usage error", args: []string{"-f", deepJSON, "--dns", "a.team-a.example.com"}, exit: 2, stderr: "exceeded max depth"},
		{name: "deeply nested YAML is a usage error", args: []string{"-f", deepYAML, "--dns", "a.team-a.example.com"}, exit: 2, stderr: "exceeded max depth"},
		{name: "a binary file is a usage error", args: []string{"-f", issuerFile, "--request", binary}, exit: 2, stderr: "document 1"},
		{name: "a Certificate whose spec is not an object is a usage error", args: []string{"-f", issuerFile, "--request", oddSpec}, exit: 2, stderr: "Certificate"},
		{name: "a Certificate with a key cert-manager cannot make is a usage error", args: []string{"-f", issuerFile, "--request", oddKey}, exit: 2, stderr: "ecdsa key size"},
		{name: "--template with a Certificate file is a usage error, not ignored", args: []string{"-f", issuerFile, "--request", certFile, "--template", "labelled"}, exit: 2, stderr: "--template applies to request flags and a bare CSR"},
		{name: "a request in the issuer file and another in --request is a usage error", args: []string{"-f", withRequest, "--request", certFile}, exit: 2, stderr: "holds a request and --request names another"},
		{name: "a request in the issuer file is explained", args: []string{"-f", withRequest}, exit: 0, decision: explain.Issued},
		{name: "an unknown output is a usage error", args: []string{"-f", issuerFile, "--dns", "a.team-a.example.com", "-o", "xml"}, exit: 2, stderr: "unknown --output"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			args := append([]string{"explain", "-o", "json"}, tc.args...)
			if got := run(context.Background(), args, &stdout, &stderr); got != tc.exit {
				t.Fatalf("exit %d, want %d; stderr %s", got, tc.exit, stderr.String())
			}
			if tc.stderr != "" && !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr %q does not say %q", stderr.String(), tc.stderr)
			}
			if tc.decision == "" {
				return
			}
			var r explain.Result
			if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
			}
			if r.Decision != tc.decision {
				t.Errorf("decision %s, want %s", r.Decision, tc.decision)
			}
		})
	}
}

func TestUsageWithoutExplain(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if got := run(context.Background(), nil, &out, &errOut); got != 2 || !strings.Contains(errOut.String(), "kubectl nstance explain") {
		t.Errorf("exit %d, stderr %q", got, errOut.String())
	}
	if got := run(context.Background(), []string{"--help"}, &out, &errOut); got != 0 {
		t.Errorf("--help exits %d", got)
	}
}

// A cluster issuer that cannot be read is named as kubectl names it, not
// with the empty namespace of its key ("/web").
func TestIssuerFromClusterNamesAClusterIssuerWithoutANamespace(t *testing.T) {
	t.Parallel()
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(scheme).Build()
	_, err := issuerFromCluster(context.Background(), c, "NstanceClusterIssuer/web", &cmapi.CertificateRequest{})
	if err == nil || !strings.HasPrefix(err.Error(), "cannot read NstanceClusterIssuer web: ") {
		t.Errorf("error %v, want it to name NstanceClusterIssuer web", err)
	}
}
