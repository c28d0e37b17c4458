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
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/controller/podcert"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
	"github.com/nstance-dev/nstance-issuer/internal/test/harness"
	"github.com/nstance-dev/nstance-issuer/internal/test/report"
)

// The pods phase: N PodCertificateRequests (certificates.k8s.io/v1) signed
// by an NstanceClusterIssuer, timed from when a watch first sees each
// request to when it sees it Issued, beside the stage's approved→Ready of
// CertificateRequests. A pod waits for this. The local stack runs no
// kubelet, so the harness creates real pods, their service account and a
// node, then the requests for them itself, as the admin (the integration
// tests exercise the kubelet's path).

const (
	podIssuer = "bench-pods"
	// refreshSuffix ends the names of the refresh round's requests.
	refreshSuffix = "-refresh"
)

func (h *benchHarness) podCertificates(ctx context.Context, r *results) error {
	v, err := podcert.ServedVersion(h.Stack.Config)
	if err != nil {
		return err
	}
	if v != "v1" {
		return fmt.Errorf("the API server does not serve PodCertificateRequests at v1 (it serves %q)", v)
	}
	if err := framework.IgnoreAlreadyExists(h.Client.Create(ctx, &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: podIssuer},
		Spec: v1alpha1.IssuerSpec{
			CA: v1alpha1.CASpec{SecretName: names.CASecret}, DefaultTemplate: "pods",
			Templates: []v1alpha1.CertificateTemplate{{
				Name: "pods", Kind: v1alpha1.PeerKind, TTL: 24,
				DNS:             []string{"{{ .Request.PodName }}.{{ .Request.Namespace }}.pod.cluster.local"},
				PodCertificates: &v1alpha1.PodCertificates{TrustDomain: "bench.example"},
			}},
		},
	})); err != nil {
		return err
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var iss v1alpha1.NstanceClusterIssuer
		if err := h.Client.Get(ctx, client.ObjectKey{Name: podIssuer}, &iss); err != nil {
			return false, err
		}
		return meta.IsStatusConditionTrue(iss.Status.Conditions, "Ready"), nil
	})
	if err != nil {
		return fmt.Errorf("issuer %s not Ready: %w", podIssuer, err)
	}
	n := h.c.N
	ns := "bench-pods"
	if err := h.Namespace(ctx, ns); err != nil {
		return err
	}
	// The controller checks each request's pod, service account and node
	// against the live objects: they exist, as a kubelet's would.
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "bench-node"}}
	if err := framework.IgnoreAlreadyExists(h.Client.Create(ctx, node)); err != nil {
		return err
	}
	if err := h.Client.Get(ctx, client.ObjectKeyFromObject(node), node); err != nil {
		return err
	}
	harness.Logf("creating %d pods on node %s", n, node.Name)
	pods := make([]*corev1.Pod, n)
	accounts := make([]*corev1.ServiceAccount, n)
	if err := harness.Parallel(ctx, h.c.Workers, n, func(ctx context.Context, i int) error {
		var err error
		pods[i], accounts[i], err = framework.CreatePod(ctx, h.Client, ns, fmt.Sprintf("pod-%d", i), "app", node,
			framework.PodCertificateVolume{SignerName: issuer.ClusterIssuerSignerPrefix + podIssuer, KeyType: "ECDSAP256"})
		return err
	}); err != nil {
		return err
	}
	first, err := h.podRound(ctx, ns, node, pods, accounts, "")
	if err != nil {
		return err
	}
	// The refresh: for every pod, a second request with a new key, as the
	// kubelet makes one at the first certificate's beginRefreshAt. That is
	// two thirds into the certificate's 24 h (BeginRefreshAt in
	// internal/controller/podcert), 16 h after issuance, which a benchmark
	// cannot wait: the harness makes the refresh right after the first
	// round instead. The controller cannot tell (a refresh is a new
	// PodCertificateRequest for the same live pod, checked and signed as
	// the first), and what it reads is the same: the Pod live, the
	// ServiceAccount and Node UIDs from its metadata cache, synced long
	// before either round. What waiting would change is only the
	// caches' age, not their content.
	refresh, err := h.podRound(ctx, ns, node, pods, accounts, refreshSuffix)
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	const getsNote = "the identity check's live reads (the Pod; the ServiceAccount and Node UIDs come from a cache); 3 before the cache"
	if first.gets > 0 {
		r.add("pods: nstance manager API GET requests per PodCertificateRequest", first.gets, "req", "", 0, "", getsNote)
	}
	stage := func(name string) float64 {
		for _, f := range r.Figures {
			if f.Name == name {
				return f.Value
			}
		}
		return 0
	}
	note := "created→Issued of PodCertificateRequests vs approved→Ready of CertificateRequests (stage), both from watches"
	for _, q := range []struct {
		name string
		d    time.Duration
	}{{"p50", first.res.p50}, {"p95", first.res.p95}, {"p99", first.res.p99}} {
		base := stage("stage: nstance approved→Ready " + q.name)
		baseName := ""
		if base != 0 {
			baseName = "CertificateRequest approved→Ready " + q.name
		}
		r.add("pods: nstance PodCertificateRequest created→Issued "+q.name, ms(q.d), "ms", baseName, base, "", note)
	}
	if first.res.throughput > 0 {
		r.add("pods: nstance PodCertificateRequest throughput", first.res.throughput, "/s", "", 0, "", "first created to last Issued")
	}
	const refreshNote = "a second request per pod with a new key, as at beginRefreshAt, made right after the first round"
	if refresh.gets > 0 {
		r.add("pods refresh: nstance manager API GET requests per PodCertificateRequest", refresh.gets, "req", "first round", first.gets, "", getsNote)
	}
	for _, q := range []struct {
		name        string
		d, baseline time.Duration
	}{{"p50", refresh.res.p50, first.res.p50}, {"p99", refresh.res.p99, first.res.p99}} {
		r.add("pods refresh: nstance PodCertificateRequest created→Issued "+q.name, ms(q.d), "ms", "first round", ms(q.baseline), "", refreshNote)
	}
	if refresh.res.throughput > 0 {
		r.add("pods refresh: nstance PodCertificateRequest throughput", refresh.res.throughput, "/s", "first round", first.res.throughput, "", "first created to last Issued")
	}
	return nil
}

// podRoundResult is one round of PodCertificateRequests.
type podRoundResult struct {
	res stageResult
	// gets is the manager's GET requests per request (0: not scraped).
	gets float64
}

// podRound makes one PodCertificateRequest per pod, named after the pod
// and suffix, each with a new ECDSA P-256 key, and times them to Issued.
func (h *benchHarness) podRound(ctx context.Context, ns string, node *corev1.Node, pods []*corev1.Pod, accounts []*corev1.ServiceAccount, suffix string) (podRoundResult, error) {
	n := len(pods)
	harness.Logf("generating %d ECDSA P-256 stub CSRs", n)
	stubs := make([][]byte, n)
	for i := range stubs {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return podRoundResult{}, err
		}
		if stubs[i], err = framework.StubCSR(key); err != nil {
			return podRoundResult{}, err
		}
	}
	t := &pcrTimes{seen: map[string]time.Time{}, issued: map[string]time.Time{}, refused: map[string]string{}, done: harness.NewCountdown(n)}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := h.Watch(wctx, ns, &certificatesv1.PodCertificateRequestList{}, func(o client.Object, now time.Time) bool {
		p, ok := o.(*certificatesv1.PodCertificateRequest)
		// Each round watches its own requests: the refresh's end in its
		// suffix, the first round's do not.
		return ok && strings.HasSuffix(p.Name, refreshSuffix) == (suffix == refreshSuffix) && t.observe(p, now)
	}, benchWatch); err != nil {
		return podRoundResult{}, err
	}
	maxSeconds := int32(86400)
	// The manager's live reads per request: the pod identity check reads
	// the Pod live and the ServiceAccount and Node UIDs from its cache.
	getsBefore := h.managerRequests()
	if err := harness.Parallel(ctx, h.c.Workers, n, func(ctx context.Context, i int) error {
		return h.Client.Create(ctx, &certificatesv1.PodCertificateRequest{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("pod-%d%s", i, suffix)},
			Spec: certificatesv1.PodCertificateRequestSpec{
				SignerName: issuer.ClusterIssuerSignerPrefix + podIssuer,
				PodName:    pods[i].Name, PodUID: pods[i].UID,
				ServiceAccountName: accounts[i].Name, ServiceAccountUID: accounts[i].UID,
				NodeName: types.NodeName(node.Name), NodeUID: node.UID,
				MaxExpirationSeconds: &maxSeconds, StubPKCS10Request: stubs[i],
			},
		})
	}); err != nil {
		return podRoundResult{}, err
	}
	err := t.done.Wait(ctx, h.c.timeout)
	t.mu.Lock()
	defer t.mu.Unlock()
	if errors.Is(err, harness.ErrTimeout) {
		return podRoundResult{}, fmt.Errorf("timed out after %s: %d seen, %d Issued, %d refused of %d", h.c.timeout, len(t.seen), len(t.issued), len(t.refused), n)
	}
	if err != nil {
		return podRoundResult{}, err
	}
	for name, msg := range t.refused {
		return podRoundResult{}, fmt.Errorf("%d PodCertificateRequests refused, e.g. %s: %s", len(t.refused), name, msg)
	}
	out := podRoundResult{res: signingTimes(t.seen, t.issued)}
	if after := h.managerRequests(); getsBefore != nil && after != nil {
		out.gets, _ = report.PerItem(getsBefore["GET"], after["GET"], n)
	}
	return out, nil
}

// pcrTimes records when a watch first saw each PodCertificateRequest and
// when it saw it Issued.
type pcrTimes struct {
	mu      sync.Mutex
	seen    map[string]time.Time
	issued  map[string]time.Time
	refused map[string]string
	done    *harness.Countdown
}

func (t *pcrTimes) observe(p *certificatesv1.PodCertificateRequest, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.seen[p.Name]; !ok {
		t.seen[p.Name] = now
	}
	for _, c := range p.Status.Conditions {
		switch c.Type {
		case "Issued":
			if _, ok := t.issued[p.Name]; !ok {
				t.issued[p.Name] = now
			}
		case "Denied", "Failed":
			t.refused[p.Name] = c.Reason + ": " + c.Message
		}
	}
	return t.done.Reached(len(t.issued) + len(t.refused))
}
