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

package signing

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/cert-manager/issuer-lib/controllers/signer"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/controller/kubecsr"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

// fakeSecrets is a CASecrets over a map, recording NotifyAt calls.
type fakeSecrets struct {
	mu      sync.Mutex
	secrets map[types.NamespacedName]*corev1.Secret
	notify  map[issuer.Ref]time.Time
}

func (f *fakeSecrets) Get(_ context.Context, _ issuer.Ref, key types.NamespacedName) (*corev1.Secret, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.secrets[key], nil
}

func (f *fakeSecrets) GetSlot(ctx context.Context, ref issuer.Ref, _ string, key types.NamespacedName) (*corev1.Secret, error) {
	return f.Get(ctx, ref, key)
}

func (f *fakeSecrets) ForgetSlot(issuer.Ref, string) {}

func (f *fakeSecrets) NotifyAt(ref issuer.Ref, t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notify[ref] = t
}

// signerFixture is a Signer on a fake clock whose NstanceIssuer team-a/web
// reads the CA Secret team-a/ca, valid from an hour before now for the
// given lifetime.
type signerFixture struct {
	signer   *Signer
	secrets  *fakeSecrets
	recorder *events.FakeRecorder
	clock    *clocktesting.FakeClock
	ca       *testpki.CA
	issuer   *v1alpha1.NstanceIssuer
}

func newSignerFixture(t *testing.T, caLifetime time.Duration) *signerFixture {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	ca, err := testpki.NewRootCA("Unit Root CA", now.Add(-time.Hour), now.Add(caLifetime))
	if err != nil {
		t.Fatal(err)
	}
	f := &signerFixture{
		secrets:  &fakeSecrets{secrets: map[types.NamespacedName]*corev1.Secret{}, notify: map[issuer.Ref]time.Time{}},
		recorder: events.NewFakeRecorder(16),
		clock:    clocktesting.NewFakeClock(now),
		ca:       ca,
		issuer: &v1alpha1.NstanceIssuer{
			ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "web"},
			Spec: v1alpha1.IssuerSpec{
				CA:              v1alpha1.CASpec{SecretName: "ca"},
				DefaultTemplate: "web",
				Templates: []v1alpha1.CertificateTemplate{{
					Name: "web", Kind: v1alpha1.ServerKind, TTL: 24,
					AllowedDNSNames: []string{"*.{{ .Request.Namespace }}.example.com"},
					KubernetesCSRs:  &v1alpha1.KubernetesCSRRequesters{Usernames: []string{"system:node:*"}},
					// A template for Kubernetes CSRs serves cert-manager
					// only in the namespaces it names.
					Namespaces: &v1alpha1.NamespaceSelector{Names: []string{"team-a"}},
				}},
			},
		},
	}
	f.secrets.secrets[types.NamespacedName{Namespace: "team-a", Name: "ca"}] = &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "ca", ResourceVersion: "1"}, Data: ca.SecretData(),
	}
	c := fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(f.issuer).WithStatusSubresource(f.issuer).Build()
	f.signer = &Signer{
		Client:   c,
		Secrets:  f.secrets,
		Recorder: f.recorder,
		Clock:    f.clock,
		CSRs:     kubecsr.Decider{Reader: c},
	}
	return f
}

// events drains the recorded events.
func (f *signerFixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func (f *signerFixture) certificateRequest(t *testing.T, annotations map[string]string, dns ...string) signer.CertificateRequestObject {
	t.Helper()
	csr, err := testpki.CSR("", dns...)
	if err != nil {
		t.Fatal(err)
	}
	return signer.CertificateRequestObjectFromCertificateRequest(&cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "web-1", Annotations: annotations},
		Spec: cmapi.CertificateRequestSpec{Request: csr, Duration: &metav1.Duration{Duration: 48 * time.Hour},
			IssuerRef: cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: issuer.KindIssuer, Name: "web"}},
	})
}

func TestSignerCheckSchedulesTheExpiryWarning(t *testing.T) {
	t.Parallel()
	f := newSignerFixture(t, 365*24*time.Hour)
	if err := f.signer.Check(context.Background(), f.issuer); err != nil {
		t.Fatalf("Check = %v", err)
	}
	ref := issuer.Ref{Kind: issuer.KindIssuer, NamespacedName: types.NamespacedName{Namespace: "team-a", Name: "web"}}
	want := f.ca.Cert.NotAfter.Add(-defaultCAExpiryWarning)
	if got := f.secrets.notify[ref]; !got.Equal(want) {
		t.Errorf("re-check at %s, want when the warning window opens (%s)", got, want)
	}
	if evs := f.events(); len(evs) != 0 {
		t.Errorf("events %q for a CA far from expiry", evs)
	}
}

func TestSignerCheckWarnsInsideTheWindowAndWakesAtExpiry(t *testing.T) {
	t.Parallel()
	f := newSignerFixture(t, 10*24*time.Hour)
	if err := f.signer.Check(context.Background(), f.issuer); err != nil {
		t.Fatalf("Check = %v", err)
	}
	evs := f.events()
	if len(evs) != 1 || !strings.Contains(evs[0], "Warning "+v1alpha1.EventReasonCAExpiringSoon) {
		t.Fatalf("events = %q, want one CAExpiringSoon warning", evs)
	}
	ref := issuer.Ref{Kind: issuer.KindIssuer, NamespacedName: types.NamespacedName{Namespace: "team-a", Name: "web"}}
	if got, want := f.secrets.notify[ref], f.ca.Cert.NotAfter.Add(time.Second); !got.Equal(want) {
		t.Errorf("re-check at %s, want just after expiry %s", got, want)
	}

	// Past the CA's NotAfter, on the same parsed CA, the issuer is not Ready.
	f.clock.Step(11 * 24 * time.Hour)
	err := f.signer.Check(context.Background(), f.issuer)
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("Check after expiry = %v, want the CA reported expired", err)
	}
}

func TestSignerCheckErrors(t *testing.T) {
	t.Parallel()
	f := newSignerFixture(t, 365*24*time.Hour)
	broken := f.issuer.DeepCopy()
	broken.Spec.Templates[0].DNS = []string{"{{ .Request.Name "}
	if err := f.signer.Check(context.Background(), broken); !errors.As(err, &signer.PermanentError{}) {
		t.Errorf("Check with a broken template = %v, want a permanent error (fixed by editing the issuer)", err)
	}
	missing := f.issuer.DeepCopy()
	missing.Spec.CA.SecretName = "absent"
	err := f.signer.Check(context.Background(), missing)
	if err == nil || errors.As(err, &signer.PermanentError{}) || !strings.Contains(err.Error(), "not found") {
		t.Errorf("Check with a missing Secret = %v, want a retryable error saying so", err)
	}
}

func TestSignerSignUsesItsClock(t *testing.T) {
	t.Parallel()
	f := newSignerFixture(t, 365*24*time.Hour)
	// Half an hour before the real now: the signer must not read the wall clock.
	f.clock.SetTime(f.clock.Now().Add(-30 * time.Minute))
	bundle, err := f.signer.Sign(context.Background(), f.certificateRequest(t, nil, "app.team-a.example.com"), f.issuer)
	if err != nil {
		t.Fatalf("Sign = %v", err)
	}
	leaf, err := testpki.VerifyChain(bundle.ChainPEM, bundle.CAPEM, 0)
	if err != nil {
		t.Fatal(err)
	}
	now := f.clock.Now()
	if !leaf.NotBefore.Equal(now.Add(-30*time.Second)) || !leaf.NotAfter.Equal(now.Add(24*time.Hour)) {
		t.Errorf("validity %s - %s, want now-30s - now+24h (template ttl) on the signer's clock (%s)", leaf.NotBefore, leaf.NotAfter, now)
	}
	evs := f.events()
	if len(evs) != 1 || !strings.Contains(evs[0], "Normal "+v1alpha1.EventReasonCertificateIssued) || !strings.Contains(evs[0], `template web`) {
		t.Errorf("events = %q, want one CertificateIssued naming the template", evs)
	}
}

func TestSignerSignClassifiesFailures(t *testing.T) {
	t.Parallel()
	f := newSignerFixture(t, 365*24*time.Hour)
	_, err := f.signer.Sign(context.Background(), f.certificateRequest(t, map[string]string{v1alpha1.TemplateAnnotation: ""}, "app.team-a.example.com"), f.issuer)
	if !errors.As(err, &signer.PermanentError{}) || !strings.Contains(err.Error(), "present but empty") {
		t.Errorf("Sign with an empty template annotation = %v, want a permanent error", err)
	}
	_, err = f.signer.Sign(context.Background(), f.certificateRequest(t, nil, "app.other.example.com"), f.issuer)
	if !errors.As(err, &signer.PermanentError{}) {
		t.Errorf("Sign outside the policy = %v, want a permanent error", err)
	}
	missing := f.issuer.DeepCopy()
	missing.Spec.CA.SecretName = "absent"
	_, err = f.signer.Sign(context.Background(), f.certificateRequest(t, nil, "app.team-a.example.com"), missing)
	if !errors.As(err, &signer.IssuerError{}) {
		t.Errorf("Sign without a CA = %v, want an issuer error (the request waits)", err)
	}
	if evs := f.events(); len(evs) != 0 {
		t.Errorf("events %q for requests that were not signed", evs)
	}
}

func TestSignerSignsAKubernetesCSRForTheShortestLifetime(t *testing.T) {
	t.Parallel()
	f := newSignerFixture(t, 365*24*time.Hour)
	cluster := &v1alpha1.NstanceClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: *f.issuer.Spec.DeepCopy()}
	cluster.Spec.Templates[0].AllowedDNSNames = []string{"*.nodes.example.com"}
	f.secrets.secrets[types.NamespacedName{Namespace: "nstance-system", Name: "ca"}] = f.secrets.secrets[types.NamespacedName{Namespace: "team-a", Name: "ca"}]
	f.signer.ClusterResourceNamespace = "nstance-system"
	request, err := testpki.CSR("", "node-1.nodes.example.com")
	if err != nil {
		t.Fatal(err)
	}
	seconds := int32(7200)
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1", UID: "node-1-uid", Annotations: map[string]string{"experimental.cert-manager.io/request-duration": "1h"}},
		Spec: certificatesv1.CertificateSigningRequestSpec{Request: request, ExpirationSeconds: &seconds, Username: "system:node:node-1",
			SignerName: "nstanceclusterissuers.issuer.nstance.dev/web", Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}},
	}
	// The template comes from the default: signed under the admission
	// policy that keeps the annotations as approved.
	f.withCSRPolicy(t, f.clock.Now().Add(-time.Hour))
	f.addApprovedCSR(t, csr, f.clock.Now())
	bundle, err := f.signer.Sign(context.Background(), signer.CertificateRequestObjectFromCertificateSigningRequest(csr), cluster)
	if err != nil {
		t.Fatalf("Sign = %v", err)
	}
	leaf, err := testpki.VerifyChain(bundle.ChainPEM, bundle.CAPEM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := leaf.NotAfter.Sub(f.clock.Now()); got != time.Hour {
		t.Errorf("lifetime %s, want the shortest asked: 1h", got)
	}
	csr.Spec.Username = "mallory"
	if _, err := f.signer.Sign(context.Background(), signer.CertificateRequestObjectFromCertificateSigningRequest(csr), cluster); !errors.As(err, &signer.PermanentError{}) {
		t.Errorf("Sign for a user the template does not allow = %v, want a permanent error", err)
	}
}

// withCSRPolicy installs the CSR annotation policy and binding, created
// at since, where the signer's kubecsr.Guard reads them.
func (f *signerFixture) withCSRPolicy(t *testing.T, since time.Time) {
	t.Helper()
	policy, binding := kubecsr.CSRAnnotationPolicy(kubecsr.DefaultCSRAnnotationPolicy)
	policy.CreationTimestamp, binding.CreationTimestamp = metav1.NewTime(since), metav1.NewTime(since)
	for _, o := range []client.Object{policy, binding} {
		if err := f.signer.Client.Create(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	f.signer.CSRs.Guard = &kubecsr.Guard{Name: kubecsr.DefaultCSRAnnotationPolicy, Reader: f.signer.Client}
}

// addApprovedCSR stores csr, approved at approvedAt, where the signer reads
// CSRs back (kubecsr.Decider).
func (f *signerFixture) addApprovedCSR(t *testing.T, csr *certificatesv1.CertificateSigningRequest, approvedAt time.Time) {
	t.Helper()
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "Test", LastUpdateTime: metav1.NewTime(approvedAt)})
	if err := f.signer.Client.Create(context.Background(), csr.DeepCopy()); err != nil {
		t.Fatal(err)
	}
}

func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, v1alpha1.AddToScheme, certificatesv1.AddToScheme, admissionregistrationv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	return scheme
}

func TestClassifySignError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		err  error
		is   func(error) bool
	}{
		{"a policy violation fails the request permanently", &pki.RequestError{Reason: "PolicyViolation", Msg: "no"},
			func(e error) bool { return errors.As(e, &signer.PermanentError{}) }},
		{"a template render error fails the request permanently", &pki.TemplateError{Template: "web", Msg: "no"},
			func(e error) bool { return errors.As(e, &signer.PermanentError{}) }},
		{"a CA problem is the issuer's, and the request waits", &pki.CAError{Reason: "Expired", Msg: "no"},
			func(e error) bool { return errors.As(e, &signer.IssuerError{}) }},
		{"anything else is retried", errors.New("boom"),
			func(e error) bool {
				return !errors.As(e, &signer.PermanentError{}) && !errors.As(e, &signer.IssuerError{})
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := classifySignError(tc.err); !tc.is(got) {
				t.Errorf("classifySignError(%v) = %#v", tc.err, got)
			}
		})
	}
}
