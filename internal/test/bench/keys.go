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

package bench

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/keys"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
	"github.com/nstance-dev/nstance-issuer/internal/test/keystest"
	"github.com/nstance-dev/nstance-issuer/internal/test/report"
)

// The keys phase: CA keys outside Kubernetes beside a Secret-held key, in
// the same run. A SoftHSM2 token (PKCS#11) and the AWS KMS emulator
// local-kms (hack/local-kms, behind keystest's proxy on loopback) are set
// up before the stack starts, so that the manager process gets their
// flags (--pkcs11-module, --pkcs11-pin-file, --aws-kms-endpoint) and
// environment (SOFTHSM2_CONF, an AWS identity of its own). Then:
//
//   - per certificate: pki.Issue in this process with the same ECDSA P-256
//     CA key held in memory (as loaded from a Secret), in the token and in
//     the emulator, interleaved, sequential: the latency a key outside
//     Kubernetes adds to one certificate (goal for PKCS#11: at most 2 ms);
//   - backlog: the manager signs N approved requests waiting at its start
//     (as the stage's backlog) for the Secret-held issuer, an issuer whose
//     key it made in the token and one whose key it made in the emulator:
//     throughput ratios, which say whether the issuer stays API-server-bound.

// pkcs11AddedBudget is the issue's goal: a PKCS#11 signature adds at
// most this per certificate over a Secret-held key.
const pkcs11AddedBudget = 2 * time.Millisecond

// keyEnv is the token and the emulator of the keys phase.
type keyEnv struct {
	hsm      *keystest.SoftHSM
	pinFile  string
	localKMS *keystest.LocalKMS
	dir      string
}

const (
	benchPIN = "1234"
	// managerToken is where the manager makes its issuers' keys; localToken
	// is this process's, for the per-certificate figures.
	managerToken = "bench"
	localToken   = "bench-local"
)

// prepareKeys starts what the keys phase needs and adds the manager's
// flags to c; stop undoes it. Without the pkcs11 build tag (make bench
// builds with it) it refuses: a phase that cannot run says so.
func prepareKeys(ctx context.Context, c *Config) (*keyEnv, error) {
	if !keys.PKCS11Compiled() {
		return nil, errors.New("nstance-bench was built without PKCS#11 (build tag pkcs11, cgo): make bench builds it and the manager with it; or leave keys out of -only")
	}
	if ok, err := pkcs11Build(ctx, c.ManagerBinary); err != nil {
		return nil, err
	} else if !ok {
		return nil, fmt.Errorf("the manager binary %s is not a PKCS#11 build, so it could not sign with a token: build it with -tags pkcs11 (make bench runs bin/nstance-issuer-pkcs11)", c.ManagerBinary)
	}
	dir, err := os.MkdirTemp("", "nstance-bench-keys-")
	if err != nil {
		return nil, err
	}
	ke := &keyEnv{dir: dir}
	if ke.hsm, err = keystest.NewSoftHSM(filepath.Join(dir, "hsm")); err != nil {
		ke.stop()
		return nil, err
	}
	for _, token := range []string{managerToken, localToken} {
		if err := ke.hsm.InitToken(token, benchPIN); err != nil {
			ke.stop()
			return nil, err
		}
	}
	// This process and the manager process (which inherits the
	// environment) read SoftHSM's configuration when they load the module.
	if err := ke.hsm.Setenv(); err != nil {
		ke.stop()
		return nil, err
	}
	ke.pinFile = filepath.Join(dir, "pin")
	if err := os.WriteFile(ke.pinFile, []byte(benchPIN), 0o600); err != nil {
		ke.stop()
		return nil, err
	}
	bin, err := keystest.LocalKMSBinary(c.RepoRoot)
	if err != nil {
		ke.stop()
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "kms"), 0o700); err != nil {
		ke.stop()
		return nil, err
	}
	if ke.localKMS, err = keystest.StartLocalKMS(ctx, bin, filepath.Join(dir, "kms")); err != nil {
		ke.stop()
		return nil, err
	}
	// The manager's own AWS identity, as IRSA would give it.
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret", "AWS_REGION": keystest.Region} {
		if err := os.Setenv(k, v); err != nil {
			ke.stop()
			return nil, err
		}
	}
	c.ManagerArgs = append(c.ManagerArgs, "--pkcs11-module="+ke.hsm.Module, "--pkcs11-pin-file="+ke.pinFile, "--aws-kms-endpoint="+ke.localKMS.Endpoint)
	return ke, nil
}

// pkcs11Build reports whether binary was built with the pkcs11 tag, from
// its Go build information.
func pkcs11Build(ctx context.Context, binary string) (bool, error) {
	out, err := exec.CommandContext(ctx, "go", "version", "-m", binary).Output()
	if err != nil {
		return false, fmt.Errorf("go version -m %s: %w", binary, err)
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "build" && strings.HasPrefix(f[1], "-tags=") && slices.Contains(strings.Split(strings.TrimPrefix(f[1], "-tags="), ","), "pkcs11") {
			return true, nil
		}
	}
	return false, nil
}

func (ke *keyEnv) stop() {
	if ke == nil {
		return
	}
	if ke.localKMS != nil {
		ke.localKMS.Stop()
	}
	_ = os.RemoveAll(ke.dir)
}

// keysPhase runs both parts of the phase.
func (h *benchHarness) keysPhase(ctx context.Context, r *results, ke *keyEnv) error {
	if ke == nil {
		return errors.New("the token and the emulator were not set up")
	}
	if err := h.keyLatency(ctx, r, ke); err != nil {
		return err
	}
	return h.keyBacklog(ctx, r)
}

// keyLatency times pki.Issue per certificate with the three keys.
func (h *benchHarness) keyLatency(ctx context.Context, r *results, ke *keyEnv) error {
	k := keys.New(keys.Policy{PKCS11Modules: []string{ke.hsm.Module}, PKCS11PINFile: ke.pinFile, AWSKMSEndpoint: ke.localKMS.Endpoint})
	scope := keys.Scope{Issuer: "nstance-bench"}
	spec := v1alpha1.PrivateKeySpec{Algorithm: v1alpha1.ECDSAKeyAlgorithm, Size: 256}
	now := time.Now()
	label := keys.Label{Issuer: "nstance-bench", Created: now}
	tmpl := v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "nstance-bench keys CA"}, TTL: 8760, PrivateKey: spec}

	certPEM, keyPEM, err := pki.GenerateCA(tmpl, pki.RenderData{}, now, rand.Reader)
	if err != nil {
		return err
	}
	secretCA, err := pki.LoadCA(certPEM, keyPEM, nil, now)
	if err != nil {
		return err
	}
	cas := []struct {
		label string
		ca    *pki.CA
	}{{label: "Secret-held key", ca: secretCA}}
	for _, loc := range []struct{ label, uri string }{
		{"PKCS#11 (SoftHSM2)", "pkcs11:token=" + localToken},
		{"AWS KMS (local-kms)", "awskms:region=" + keystest.Region},
	} {
		u, err := keys.ParseURI(loc.uri)
		if err != nil {
			return err
		}
		s, err := k.Create(ctx, scope, u, spec, label, nil)
		if err != nil {
			return fmt.Errorf("making a key in %s: %w", loc.label, err)
		}
		ca, err := caWithSigner(tmpl, s, now)
		if err != nil {
			return fmt.Errorf("%s: %w", loc.label, err)
		}
		cas = append(cas, struct {
			label string
			ca    *pki.CA
		}{loc.label, ca})
	}

	policy, err := pki.SelectPolicy(&v1alpha1.IssuerSpec{DefaultTemplate: "web", Templates: []v1alpha1.CertificateTemplate{{
		Name: "web", Kind: v1alpha1.ServerKind, TTL: 2160, AllowedDNSNames: []string{"*.example.com"}}}}, nil, "NstanceClusterIssuer nstance-bench")
	if err != nil {
		return err
	}
	n := max(h.c.N, 50)
	times := make([][]time.Duration, len(cas))
	const warmup = 5
	for i := range n + warmup {
		req := pki.Request{CSR: h.csrs[i%len(h.csrs)], Duration: 2160 * time.Hour, KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, Name: "svc", Namespace: "bench"}
		for j, c := range cas {
			t := time.Now()
			if _, err := pki.Issue(c.ca, policy, req, pki.RenderData{}, time.Now(), rand.Reader); err != nil {
				return fmt.Errorf("issuing with %s: %w", c.label, err)
			}
			if i >= warmup {
				times[j] = append(times[j], time.Since(t))
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	p50 := make([]time.Duration, len(cas))
	for j := range cas {
		slices.Sort(times[j])
		p50[j] = report.Quantile(times[j], 0.5)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	note := fmt.Sprintf("pki.Issue p50 of %d, ECDSA P-256, in the harness", n)
	r.add("keys: per-certificate signing, Secret-held key", ms(p50[0]), "ms", "", 0, "", note)
	r.add("keys: per-certificate signing, PKCS#11 (SoftHSM2)", ms(p50[1]), "ms", "Secret-held key", ms(p50[0]), "", note)
	r.add("keys: per-certificate signing, AWS KMS (local-kms)", ms(p50[2]), "ms", "Secret-held key", ms(p50[0]), "", note)
	// What PKCS#11 adds, against the 2 ms budget (a difference below the
	// clock's resolution is measured as one microsecond, not as nothing).
	added := max(p50[1]-p50[0], time.Microsecond)
	r.add("keys: PKCS#11 adds per certificate over a Secret", ms(added), "ms", "budget of 2 ms", ms(pkcs11AddedBudget), "ratio <= 1", "")
	return nil
}

// caWithSigner self-signs tmpl's CA with s and loads it as the controller
// does.
func caWithSigner(tmpl v1alpha1.CATemplate, s crypto.Signer, now time.Time) (*pki.CA, error) {
	certPEM, err := pki.GenerateCAWithSigner(tmpl, pki.RenderData{}, s, now, rand.Reader)
	if err != nil {
		return nil, err
	}
	return pki.LoadCAWithSigner(certPEM, nil, s, "", now)
}

// keyBacklog compares the manager's backlog throughput with a Secret-held
// key, a key it made in the token and one it made in the emulator.
func (h *benchHarness) keyBacklog(ctx context.Context, r *results) error {
	if h.Stack.ManagerPID() == 0 {
		return nil // an in-process manager cannot be stopped
	}
	// Three cluster issuers alike but for where their ECDSA P-256 CA key
	// is: made by the manager into the CA Secret, into the token, into the
	// emulator (the harness's own bench-nstance holds another kind of key).
	var issuers []harness.Issuer
	for _, k := range []struct{ label, uri string }{
		{"keys-secret", ""},
		{"keys-pkcs11", "pkcs11:token=" + managerToken},
		{"keys-awskms", "awskms:region=" + keystest.Region},
	} {
		name := "bench-" + k.label
		var key *v1alpha1.CAKey
		if k.uri != "" {
			key = &v1alpha1.CAKey{URI: k.uri}
		}
		if err := h.Client.Create(ctx, &v1alpha1.NstanceClusterIssuer{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1alpha1.IssuerSpec{
				CA: v1alpha1.CASpec{SecretName: name, Key: key,
					Generate: &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: name}, TTL: 8760,
						PrivateKey: v1alpha1.PrivateKeySpec{Algorithm: v1alpha1.ECDSAKeyAlgorithm, Size: 256}}},
				DefaultTemplate: "web",
				Templates:       []v1alpha1.CertificateTemplate{{Name: "web", Kind: v1alpha1.ServerKind, TTL: 2160, AllowedDNSNames: []string{"*.example.com"}}},
			},
		}); err != nil {
			return err
		}
		iss := harness.Issuer{Label: k.label, Ref: cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "NstanceClusterIssuer", Name: name}}
		if err := h.issuerReady(ctx, iss); err != nil {
			return err
		}
		issuers = append(issuers, iss)
	}
	// Two rounds, the second in reverse order, each issuer's fastest
	// counts: the API server and etcd warm up and grow over a run, and no
	// issuer should owe its figure to its place.
	thr := map[string]float64{}
	for round := range 2 {
		for i := range issuers {
			iss := issuers[i]
			if round == 1 {
				iss = issuers[len(issuers)-1-i]
			}
			label := fmt.Sprintf("%s-%d", iss.Label, round)
			t, err := h.backlogRun(ctx, harness.Issuer{Label: label, Ref: iss.Ref}, h.Stack.StopManager, func() error { return h.Stack.StartManager(ctx) })
			if err != nil {
				return fmt.Errorf("backlog %s: %w", label, err)
			}
			thr[iss.Label] = max(thr[iss.Label], t)
			harness.Logf("backlog %s: %d requests signed at %.1f/s", label, h.c.N, t)
		}
	}
	note := "fastest of 2 rounds"
	r.add("keys backlog: Secret-held key throughput", thr["keys-secret"], "/s", "", 0, "", note)
	r.add("keys backlog: PKCS#11 (SoftHSM2) throughput", thr["keys-pkcs11"], "/s", "Secret-held key", thr["keys-secret"], "", note)
	r.add("keys backlog: AWS KMS (local-kms) throughput", thr["keys-awskms"], "/s", "Secret-held key", thr["keys-secret"], "ratio >= 0.8", note+"; API-server-bound, not KMS-bound")
	return nil
}

// issuerReady waits until iss is Ready, or says why not.
func (h *benchHarness) issuerReady(ctx context.Context, iss harness.Issuer) error {
	deadline := time.Now().Add(time.Minute)
	for {
		ready, msg, err := h.IssuerState(ctx, iss)
		if err == nil && ready {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("issuer %s not Ready after a minute: %s (last read: %w)", iss.Ref.Name, msg, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
