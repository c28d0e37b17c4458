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
	"os"
	"path/filepath"
	"strings"
	"testing"

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
