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

package carotation

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"sync"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

// secretCounter is a client that counts the Secrets read through it.
type secretCounter struct {
	client.Client
	mu    sync.Mutex
	reads map[types.NamespacedName]int
}

func (c *secretCounter) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if _, ok := obj.(*corev1.Secret); ok {
		c.mu.Lock()
		if c.reads == nil {
			c.reads = map[types.NamespacedName]int{}
		}
		c.reads[key]++
		c.mu.Unlock()
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

func (c *secretCounter) count(key types.NamespacedName) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads[key]
}

func (c *secretCounter) total() (n, most int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.reads {
		n += r
		most = max(most, r)
	}
	return n, most
}

// reissueWorld is a namespaced issuer whose CA rotate-now replaced, with
// Certificates that hold certificates of the old CA, on a fake API server.
type reissueWorld struct {
	t          *testing.T
	c          client.Client
	counter    *secretCounter
	clock      *clocktesting.FakeClock
	r          *Reconciler
	v          issuer.View
	g          *generations
	oldCA      *testpki.CA
	newCA      *testpki.CA
	rotatedAt  time.Time
	namespace  string
	certifiers map[types.NamespacedName]int // revision per Certificate
}

// leafPEM is a leaf of ca, and the leaf.
func leafPEM(t *testing.T, ca *testpki.CA) ([]byte, *x509.Certificate) {
	t.Helper()
	leaf := signedLeaf(t, ca)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}), leaf
}

func newReissueWorld(t *testing.T, oldCA, newCA *testpki.CA, names []string, policy ReissuePolicy) *reissueWorld {
	t.Helper()
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	w := &reissueWorld{t: t, oldCA: oldCA, newCA: newCA, rotatedAt: t0.Add(-time.Minute), namespace: "team-a",
		certifiers: map[types.NamespacedName]int{}}
	iss := &v1alpha1.NstanceIssuer{
		ObjectMeta: metav1.ObjectMeta{Namespace: w.namespace, Name: "web"},
		Spec:       v1alpha1.IssuerSpec{CA: v1alpha1.CASpec{SecretName: "ca"}},
		Status:     v1alpha1.IssuerStatus{CA: &v1alpha1.CAStatus{SHA256Fingerprint: pki.Fingerprint(newCA.Cert)}},
	}
	objs := []client.Object{iss}
	for _, name := range names {
		chain, _ := leafPEM(t, oldCA)
		issued := w.rotatedAt.Add(-24 * time.Hour)
		objs = append(objs, &cmapi.Certificate{
			ObjectMeta: metav1.ObjectMeta{Namespace: w.namespace, Name: name, UID: types.UID("uid-" + name),
				CreationTimestamp: metav1.NewTime(w.rotatedAt.Add(-time.Hour))},
			Spec: cmapi.CertificateSpec{SecretName: name + "-tls", IssuerRef: cmmeta.IssuerReference{
				Group: v1alpha1.GroupVersion.Group, Kind: issuer.KindIssuer, Name: "web",
			}},
			Status: cmapi.CertificateStatus{Revision: new(1), NotBefore: new(metav1.NewTime(issued)), NotAfter: new(metav1.NewTime(issued.Add(90 * 24 * time.Hour)))},
		}, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: w.namespace, Name: name + "-tls"},
			Data:       map[string][]byte{"tls.crt": chain},
		})
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, cmapi.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	w.c = fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).WithStatusSubresource(iss, &cmapi.Certificate{}).Build()
	w.counter = &secretCounter{Client: w.c}
	w.clock = clocktesting.NewFakeClock(t0)
	w.r = &Reconciler{
		Kind: issuer.KindIssuer, Client: w.counter, Reader: w.c, Clock: w.clock,
		Recorder: &events.FakeRecorder{}, Reissue: policy,
	}
	var err error
	if w.v, err = issuer.NewView(iss, ""); err != nil {
		t.Fatal(err)
	}
	w.g = &generations{
		issuing: &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: w.namespace, Name: "ca", Annotations: map[string]string{
			annotationRotatedAt: w.rotatedAt.Format(time.RFC3339), annotationRotatedForToken: "incident",
		}}},
		issuingCA: &pki.CA{Cert: newCA.Cert},
		retired:   []retiredGeneration{{cert: oldCA.Cert}},
	}
	return w
}

// pass plans the re-issue, asks the batch due and writes the status, as a
// reconcile does.
func (w *reissueWorld) pass() *v1alpha1.ReissueStatus {
	w.t.Helper()
	ctx := context.Background()
	batch, _, err := w.r.planReissue(ctx, w.v, w.g, w.clock.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	if len(batch) > 0 {
		w.r.triggerReissue(ctx, w.v, w.g, batch)
	}
	var iss v1alpha1.NstanceIssuer
	if err := w.c.Get(ctx, w.v.Ref.NamespacedName, &iss); err != nil {
		w.t.Fatal(err)
	}
	if iss.Status.Rotation == nil {
		iss.Status.Rotation = &v1alpha1.RotationStatus{}
	}
	iss.Status.Rotation.Reissue = w.g.reissue.DeepCopy()
	if err := w.c.Status().Update(ctx, &iss); err != nil {
		w.t.Fatal(err)
	}
	return w.g.reissue
}

// certificates lists the Certificates of the world.
func (w *reissueWorld) certificates() []*cmapi.Certificate {
	w.t.Helper()
	var list cmapi.CertificateList
	if err := w.c.List(context.Background(), &list); err != nil {
		w.t.Fatal(err)
	}
	out := make([]*cmapi.Certificate, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out
}

// certificate reads the Certificate "c".
func (w *reissueWorld) certificate() *cmapi.Certificate {
	w.t.Helper()
	var crt cmapi.Certificate
	if err := w.c.Get(context.Background(), types.NamespacedName{Namespace: w.namespace, Name: "c"}, &crt); err != nil {
		w.t.Fatal(err)
	}
	return &crt
}

func (w *reissueWorld) updateStatus(crt *cmapi.Certificate) {
	w.t.Helper()
	if err := w.c.Status().Update(context.Background(), crt); err != nil {
		w.t.Fatal(err)
	}
}

// writeSecret puts a certificate of ca into the named Secret, creating it
// when absent, and returns the leaf.
func (w *reissueWorld) writeSecret(name string, ca *testpki.CA) *x509.Certificate {
	w.t.Helper()
	chain, leaf := leafPEM(w.t, ca)
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: w.namespace, Name: name}}
	err := w.c.Get(context.Background(), client.ObjectKeyFromObject(s), s)
	s.Data = map[string][]byte{"tls.crt": chain}
	if err == nil {
		err = w.c.Update(context.Background(), s)
	} else {
		err = w.c.Create(context.Background(), s)
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return leaf
}

// issue plays cert-manager's issuing and readiness controllers for every
// Certificate that is Issuing: the Secret gets a certificate of the new
// CA, then the revision goes up, Issuing goes, and notBefore/notAfter are
// the new certificate's (issued now, backdated 30 s, as the signer does).
func (w *reissueWorld) issue() int {
	w.t.Helper()
	n := 0
	for _, crt := range w.certificates() {
		if !factsOf(crt).Issuing {
			continue
		}
		w.writeSecret(crt.Spec.SecretName, w.newCA)
		issued := w.clock.Now().Add(-30 * time.Second)
		crt.Status.Revision = new(*crt.Status.Revision + 1)
		crt.Status.Conditions = nil
		crt.Status.NotBefore, crt.Status.NotAfter = new(metav1.NewTime(issued)), new(metav1.NewTime(issued.Add(90*24*time.Hour)))
		w.updateStatus(crt)
		n++
	}
	return n
}

// TestReissueReadsEachSecretOncePerRevision: over a whole re-issue of 200
// Certificates (4 batches, two passes per interval as a status write
// brings one besides the interval's, cert-manager issuing each batch
// between passes) each Secret is read at most twice: once for the old
// CA's certificate, once for the certificate its re-issue wrote. Before
// the memo every pass read every Secret until its Certificate's notBefore
// was 5 minutes past the switch: 9 reads per Certificate in this run.
func TestReissueReadsEachSecretOncePerRevision(t *testing.T) {
	t.Parallel()
	cas, err := testpki.NewValidRootCAs("Reissue CA", "Reissue CA")
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("c%03d", i)
	}
	interval := 10 * time.Second
	w := newReissueWorld(t, cas[0], cas[1], names, ReissuePolicy{BatchSize: 50, Interval: interval})

	passes := 0
	var st *v1alpha1.ReissueStatus
	for range 20 {
		st = w.pass() // the interval's pass: a batch is due
		passes++
		if st.CompletedAt != nil {
			break
		}
		w.pass() // the pass the status write brings
		passes++
		w.issue()
		w.clock.Step(interval)
	}
	if st.CompletedAt == nil || st.Reissued != n || st.Total != n || st.Triggered != n {
		t.Fatalf("after %d passes the re-issue is not complete: %+v", passes, *st)
	}
	if passes < 5 {
		t.Fatalf("only %d passes", passes)
	}
	reads, most := w.counter.total()
	t.Logf("%d passes: %d Secret reads, %.2f per Certificate, at most %d for one", passes, reads, float64(reads)/n, most)
	if most > 2 {
		t.Errorf("a Secret was read %d times over %d passes, want at most 2 (its certificate of the old CA, then the re-issued one)", most, passes)
	}
	if got := w.r.leaves.size(); got != 0 {
		t.Errorf("the memo holds %d verdicts after the re-issue completed, want none", got)
	}
}

// TestReissueMemoReadsLiveWhatMayHaveChanged: a verdict is reused only
// while everything it depends on is unchanged; each change reads the
// Secret live.
func TestReissueMemoReadsLiveWhatMayHaveChanged(t *testing.T) {
	t.Parallel()
	cas, err := testpki.NewValidRootCAs("Memo CA", "Memo CA", "Memo CA")
	if err != nil {
		t.Fatal(err)
	}
	oldCA, newCA, olderCA := cas[0], cas[1], cas[2]
	secret := types.NamespacedName{Namespace: "team-a", Name: "c-tls"}
	for _, tc := range []struct {
		name string
		// setup is applied ahead of the first pass, before ahead of the
		// second, change ahead of the third.
		setup, before, change func(w *reissueWorld)
		reads                 int // Secret reads of c-tls over the three passes
		want                  func(*v1alpha1.ReissueStatus) bool
	}{
		{name: "if nothing changed, should not read again", reads: 1},
		{name: "if the Certificate starts Issuing, should not read again (its certificate is the same)",
			change: func(w *reissueWorld) {
				crt := w.certificate()
				setIssuing(crt, w.clock.Now(), "renew")
				w.updateStatus(crt)
			}, reads: 1, want: func(st *v1alpha1.ReissueStatus) bool { return st.InProgress == 1 }},
		{name: "if status.revision changed, should read live",
			change: func(w *reissueWorld) {
				w.writeSecret("c-tls", w.newCA)
				crt := w.certificate()
				crt.Status.Revision = new(2)
				w.updateStatus(crt)
			}, reads: 2, want: func(st *v1alpha1.ReissueStatus) bool { return st.Reissued == 1 }},
		{name: "if status.notBefore changed (cert-manager's readiness controller saw another certificate), should read live",
			change: func(w *reissueWorld) {
				w.writeSecret("c-tls", w.newCA)
				crt := w.certificate()
				crt.Status.NotBefore = new(metav1.NewTime(w.clock.Now().Add(-30 * time.Second)))
				w.updateStatus(crt)
			}, reads: 2, want: func(st *v1alpha1.ReissueStatus) bool { return st.Reissued == 1 }},
		{name: "if status.notAfter changed, should read live",
			change: func(w *reissueWorld) {
				crt := w.certificate()
				crt.Status.NotAfter = new(metav1.NewTime(crt.Status.NotAfter.Add(time.Hour)))
				w.updateStatus(crt)
			}, reads: 2},
		{name: "if spec.secretName changed, should read the other Secret",
			change: func(w *reissueWorld) {
				w.writeSecret("other-tls", w.newCA)
				crt := w.certificate()
				crt.Spec.SecretName = "other-tls"
				if err := w.c.Update(context.Background(), crt); err != nil {
					w.t.Fatal(err)
				}
			}, reads: 2, want: func(st *v1alpha1.ReissueStatus) bool { return st.Reissued == 1 }},
		{name: "if the Certificate was re-created under its name, should read live",
			change: func(w *reissueWorld) {
				crt := w.certificate()
				if err := w.c.Delete(context.Background(), crt); err != nil {
					w.t.Fatal(err)
				}
				crt.ResourceVersion, crt.UID = "", "uid-c-again"
				if err := w.c.Create(context.Background(), crt); err != nil {
					w.t.Fatal(err)
				}
			}, reads: 2},
		{name: "if another rotate-now switched, should read live",
			change: func(w *reissueWorld) {
				w.g.issuing.Annotations[annotationRotatedForToken] = "incident-2"
				w.g.issuing.Annotations[annotationRotatedAt] = w.clock.Now().Add(-time.Second).Format(time.RFC3339)
			}, reads: 2},
		{name: "if a retired generation was dropped, should read live",
			before: func(w *reissueWorld) { w.g.retired = append(w.g.retired, retiredGeneration{cert: olderCA.Cert}) },
			change: func(w *reissueWorld) { w.g.retired = w.g.retired[:1] }, reads: 3},
		{name: "if an issuance seen in progress has ended, should read what it left, even with no new revision",
			before: func(w *reissueWorld) {
				crt := w.certificate()
				setIssuing(crt, w.clock.Now(), "renew")
				w.updateStatus(crt)
			},
			change: func(w *reissueWorld) {
				w.writeSecret("c-tls", w.newCA)
				crt := w.certificate()
				crt.Status.Conditions = nil
				w.updateStatus(crt)
			}, reads: 2, want: func(st *v1alpha1.ReissueStatus) bool { return st.Reissued == 1 && st.InProgress == 0 }},
		{name: "if the Secret is edited with no change on the Certificate, should keep the verdict (cert-manager's readiness controller changes notBefore within seconds)",
			change: func(w *reissueWorld) { w.writeSecret("c-tls", w.newCA) },
			reads:  1, want: func(st *v1alpha1.ReissueStatus) bool { return st.Pending == 1 }},
		{name: "if it has no certificate yet, should read on every pass",
			setup: func(w *reissueWorld) {
				if err := w.c.Delete(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "c-tls"}}); err != nil {
					w.t.Fatal(err)
				}
			}, reads: 3, want: func(st *v1alpha1.ReissueStatus) bool { return st.Total == 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// planReissue only: nothing is asked to re-issue.
			w := newReissueWorld(t, oldCA, newCA, []string{"c"}, ReissuePolicy{BatchSize: 1, Interval: time.Hour})
			plan := func() *v1alpha1.ReissueStatus {
				t.Helper()
				if _, _, err := w.r.planReissue(context.Background(), w.v, w.g, w.clock.Now()); err != nil {
					t.Fatal(err)
				}
				return w.g.reissue
			}
			if tc.setup != nil {
				tc.setup(w)
			}
			plan()
			if tc.before != nil {
				tc.before(w)
			}
			plan()
			if tc.change != nil {
				tc.change(w)
			}
			st := plan()
			if got := w.counter.count(secret) + w.counter.count(types.NamespacedName{Namespace: "team-a", Name: "other-tls"}); got != tc.reads {
				t.Errorf("%d Secret reads over three passes, want %d", got, tc.reads)
			}
			if tc.want != nil && !tc.want(st) {
				t.Errorf("status %+v", *st)
			}
		})
	}
}

// TestLeafMemoIsBounded: a memo that is full remembers no more, and the
// pass reads the rest live; a pass keeps only the Certificates it
// counted; forget drops an issuer's verdicts.
func TestLeafMemoIsBounded(t *testing.T) {
	t.Parallel()
	ref := func(name string) issuer.Ref {
		return issuer.Ref{Kind: issuer.KindIssuer, NamespacedName: types.NamespacedName{Namespace: "ns", Name: name}}
	}
	crt := func(i int) *cmapi.Certificate {
		return &cmapi.Certificate{ObjectMeta: metav1.ObjectMeta{UID: types.UID(fmt.Sprint(i))}, Spec: cmapi.CertificateSpec{SecretName: "s"}}
	}
	m := &leafMemo{max: 5}
	p := m.begin(ref("a"), "r1")
	for i := range 3 {
		p.read(crt(i), false, leafOfRetired)
	}
	p.end(true)
	p = m.begin(ref("b"), "r1")
	for i := range 4 {
		p.read(crt(i), false, leafOfRetired)
	}
	p.end(true)
	if p.Full != 2 || m.size() != 5 {
		t.Errorf("full memo: %d not remembered, size %d; want 2 and 5", p.Full, m.size())
	}
	// A pass that counts one Certificate keeps only it.
	p = m.begin(ref("a"), "r1")
	if _, ok := p.lookup(crt(0), false); !ok {
		t.Error("a remembered verdict was not found")
	}
	p.end(true)
	if m.size() != 3 {
		t.Errorf("size %d after a pass that counted one of a's three, want 3", m.size())
	}
	// Another rotation starts afresh.
	p = m.begin(ref("a"), "r2")
	if _, ok := p.lookup(crt(0), false); ok {
		t.Error("a verdict of another rotation was used")
	}
	p.end(true)
	m.forget(ref("b"))
	m.forget(ref("a"))
	if m.size() != 0 {
		t.Errorf("size %d after forgetting both", m.size())
	}

	// Passes of several issuers at once (go test -race).
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 50 {
				p := m.begin(ref(fmt.Sprint(i%3)), "r")
				for j := range 10 {
					if _, ok := p.lookup(crt(j), false); !ok {
						p.read(crt(j), false, leafOfIssuing)
					}
				}
				p.end(i%2 == 0)
				if i == 7 {
					m.forget(ref("0"))
				}
			}
		})
	}
	wg.Wait()
	if got := m.size(); got > 5 {
		t.Errorf("size %d beyond the bound 5", got)
	}
}
