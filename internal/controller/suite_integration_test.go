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

package controller_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/app"
	"github.com/nstance-dev/nstance-issuer/internal/controller"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/controller/kubecsr"
	"github.com/nstance-dev/nstance-issuer/internal/test/apiserver"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
	"github.com/nstance-dev/nstance-issuer/internal/test/integration"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

// clusterResourceNamespace is where NstanceClusterIssuers read Secrets in
// these tests.
const clusterResourceNamespace = "nstance-system"

var (
	k8s client.Client // uncached client of the test
	// restConfig is the test's admin connection to the API server.
	restConfig *rest.Config
	manager    ctrl.Manager // the nstance-issuer manager under test
	clientset  kubernetes.Interface
)

// TestMain starts a real kube-apiserver and etcd (KUBEBUILDER_ASSETS, built
// by `make envtest-assets`), installs our CRDs and cert-manager's, and runs
// the nstance-issuer manager exactly as the binary wires it.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctrl.SetLogger(framework.ControllerLogger())
	return integration.Run(m, integration.Options{
		APIServer: apiserver.Options{
			RepoRoot:   filepath.Join("..", ".."),
			Namespaces: []string{clusterResourceNamespace},
			// As in clusters: PodCertificateRequests are admitted only from
			// the kubelet of the pod's node (podcertificate_integration_test.go).
			NodeRestriction: true,
		},
		// As the chart and config/ do: Kubernetes CSRs that select their
		// template by annotation are signed only under this policy
		// (csr_fidelity_integration_test.go).
		Prepare: func(ctx context.Context, api *apiserver.Server) error {
			policy, binding := kubecsr.CSRAnnotationPolicy(kubecsr.DefaultCSRAnnotationPolicy)
			return framework.InstallCSRAnnotationPolicy(ctx, api.Client, policy, binding, issuer.ClusterIssuerSignerPrefix+"probe", kubecsr.DefaultCSRPolicySettle)
		},
		Manager: &app.Options{
			Controller: controller.Options{
				ClusterResourceNamespace:  clusterResourceNamespace,
				SetCAOnCertificateRequest: true,
				MaxConcurrentReconciles:   2,
				MaxRetryDuration:          time.Hour,
				// Two re-issues per hour after a rotate-now: within a test
				// only the first batch runs unless the test moves
				// lastBatchAt back (rotation_reissue_integration_test.go),
				// so counts are exact.
				ReissueBatchSize:    2,
				ReissueInterval:     time.Hour,
				CSRAnnotationPolicy: kubecsr.DefaultCSRAnnotationPolicy,
			},
			MetricsBindAddress:     "0",
			HealthProbeBindAddress: "0",
		},
		Ready: func(api *apiserver.Server, mgr ctrl.Manager) {
			restConfig, k8s, clientset, manager = api.Config, api.Client, api.Clientset, mgr
		},
	})
}

// ---- objects ---------------------------------------------------------------

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "it-"}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func newTestCA(t *testing.T, cn string, notBefore, notAfter time.Time) *testpki.CA {
	t.Helper()
	ca, err := testpki.NewRootCA(cn, notBefore, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func validCA(t *testing.T, cn string) *testpki.CA {
	return newTestCA(t, cn, time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour))
}

func createSecret(t *testing.T, ns, name string, data map[string][]byte) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: corev1.SecretTypeOpaque, Data: data}
	if err := k8s.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

func getSecret(t *testing.T, ns, name string) *corev1.Secret {
	t.Helper()
	var s corev1.Secret
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// updateCASecret replaces the data of Secret "ca" in ns.
func updateCASecret(t *testing.T, ns string, data map[string][]byte) {
	t.Helper()
	var s corev1.Secret
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "ca"}, &s); err != nil {
		t.Fatal(err)
	}
	s.Data = data
	if err := k8s.Update(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
}

// csrPEM returns a PEM CSR for a fresh ECDSA P-256 key.
func csrPEM(t *testing.T, cn string, dnsNames ...string) []byte {
	t.Helper()
	csr, err := testpki.CSR(cn, dnsNames...)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

func issuerRef(kind, name string) cmmeta.IssuerReference {
	return cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: kind, Name: name}
}

func createCertificateRequest(t *testing.T, ns string, ref cmmeta.IssuerReference, csr []byte, duration time.Duration, annotations map[string]string) *cmapi.CertificateRequest {
	t.Helper()
	cr := &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "cr-", Annotations: annotations},
		Spec: cmapi.CertificateRequestSpec{
			Request:   csr,
			IssuerRef: ref,
			Duration:  &metav1.Duration{Duration: duration},
		},
	}
	if err := k8s.Create(context.Background(), cr); err != nil {
		t.Fatal(err)
	}
	return cr
}

// setCRCondition sets an Approved or Denied condition, as cert-manager's
// approver (or cmctl approve) does.
func setCRCondition(t *testing.T, cr *cmapi.CertificateRequest, typ cmapi.CertificateRequestConditionType, reason string) {
	t.Helper()
	ctx := context.Background()
	var cur cmapi.CertificateRequest
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(cr), &cur); err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	cur.Status.Conditions = append(cur.Status.Conditions, cmapi.CertificateRequestCondition{
		Type: typ, Status: cmmeta.ConditionTrue, Reason: reason, Message: "set by the test", LastTransitionTime: &now,
	})
	if err := k8s.Status().Update(ctx, &cur); err != nil {
		t.Fatal(err)
	}
}

func approve(t *testing.T, cr *cmapi.CertificateRequest) {
	setCRCondition(t, cr, cmapi.CertificateRequestConditionApproved, "TestApproved")
}

// ---- waiting ----------------------------------------------------------------

// eventually fails the test unless cond is met within framework.Timeout,
// polling every framework.Interval.
func eventually(t *testing.T, what string, cond framework.Condition) {
	t.Helper()
	if err := framework.Eventually(t.Context(), what, cond); err != nil {
		t.Fatal(err)
	}
}

// consistently fails the test unless cond holds for framework.Window: a
// negative assertion ("not signed") with a stated window.
func consistently(t *testing.T, what string, cond framework.Condition) {
	t.Helper()
	if err := framework.Consistently(t.Context(), framework.Window, what, cond); err != nil {
		t.Fatal(err)
	}
}

func getCR(t *testing.T, cr *cmapi.CertificateRequest) *cmapi.CertificateRequest {
	t.Helper()
	var cur cmapi.CertificateRequest
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(cr), &cur); err != nil {
		t.Fatal(err)
	}
	return &cur
}

// waitCRReady waits for the request to be signed and returns it.
func waitCRReady(t *testing.T, cr *cmapi.CertificateRequest) *cmapi.CertificateRequest {
	t.Helper()
	cur := cr.DeepCopy()
	eventually(t, "CertificateRequest "+cr.Name+" signed", framework.CertificateRequestSigned(k8s, cur))
	return cur
}

// waitCRFailed waits for the request to fail and returns its Ready condition.
func waitCRFailed(t *testing.T, cr *cmapi.CertificateRequest) *cmapi.CertificateRequestCondition {
	t.Helper()
	cur := cr.DeepCopy()
	eventually(t, "CertificateRequest "+cr.Name+" Failed", framework.CertificateRequestFailed(k8s, cur))
	return framework.RequestReady(cur)
}

// waitIssuer waits until the issuer's Ready condition has status and a
// message containing msg (current generation); obj is refreshed.
func waitIssuer(t *testing.T, obj client.Object, status metav1.ConditionStatus, msg string) {
	t.Helper()
	eventually(t, fmt.Sprintf("issuer %s Ready=%s %q", obj.GetName(), status, msg), framework.IssuerReadyIs(k8s, obj, status, msg))
}

// eventsFor lists the Events recorded about an object.
func eventsFor(t *testing.T, ns, name string) []eventsv1.Event {
	t.Helper()
	list, err := clientset.EventsV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "regarding.name=" + name})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// waitEvent waits for an Event with the reason about the object and returns its note.
func waitEvent(t *testing.T, ns, name, reason string) string {
	t.Helper()
	var note string
	eventually(t, "event "+reason+" on "+name, func(context.Context) error {
		for _, e := range eventsFor(t, ns, name) {
			if e.Reason == reason {
				note = e.Note
				return nil
			}
		}
		return errors.New("not recorded")
	})
	return note
}

// parseChain decodes a PEM chain.
func parseChain(t *testing.T, chain []byte) []*x509.Certificate {
	t.Helper()
	certs, err := testpki.ParseChain(chain)
	if err != nil {
		t.Fatal(err)
	}
	return certs
}

// verifyChain checks the leaf chains to root with the rest of the chain as
// intermediates, for the given usage.
func verifyChain(t *testing.T, chain []byte, root *x509.Certificate, usage x509.ExtKeyUsage) *x509.Certificate {
	t.Helper()
	leaf, err := testpki.VerifyChain(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}), usage)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

// newIntermediateCA returns an intermediate CA signed by parent.
func newIntermediateCA(t *testing.T, parent *testpki.CA, cn string) *testpki.CA {
	t.Helper()
	ca, err := testpki.NewIntermediateCA(parent, cn)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}
