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

package cakeysuite

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/app"
	"github.com/nstance-dev/nstance-issuer/internal/controller"
	"github.com/nstance-dev/nstance-issuer/internal/keys"
	"github.com/nstance-dev/nstance-issuer/internal/test/apiserver"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
	"github.com/nstance-dev/nstance-issuer/internal/test/integration"
	"github.com/nstance-dev/nstance-issuer/internal/test/keystest"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

const (
	// clusterResourceNamespace is where NstanceClusterIssuers keep their
	// Secrets here.
	clusterResourceNamespace = "nstance-system"
	// allowedNamespace may use AWS KMS keys of the emulator's account
	// with the controller's own identity (--namespace-key-uri).
	allowedNamespace = "kms-allowed"
	// controllerAccessKey is the controller's own AWS identity (what IRSA
	// would give it), from its environment.
	controllerAccessKey = "controller"
)

var (
	k8s       client.Client
	clientset kubernetes.Interface
	localKMS  *keystest.LocalKMS
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctrl.SetLogger(framework.ControllerLogger())
	dir, err := os.MkdirTemp("", "nstance-cakeys-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	root := filepath.Join("..", "..", "..")
	bin, err := keystest.LocalKMSBinary(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := os.MkdirAll(filepath.Join(dir, "kms"), 0o700); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if localKMS, err = keystest.StartLocalKMS(context.Background(), bin, filepath.Join(dir, "kms")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer localKMS.Stop()
	// The controller's own AWS identity, as IRSA would set it.
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": controllerAccessKey, "AWS_SECRET_ACCESS_KEY": "controller-secret", "AWS_REGION": keystest.Region} {
		if err := os.Setenv(k, v); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	pattern, err := keys.ParsePattern("awskms:key-id=arn:aws:kms:" + keystest.Region + ":" + keystest.Account + ":key/*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	policy := keys.Policy{
		AWSKMSEndpoint: localKMS.Endpoint,
		NamespaceKeys:  map[string][]keys.Pattern{allowedNamespace: {pattern}},
	}
	if err := setUpPKCS11(dir, &policy); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return integration.Run(m, integration.Options{
		APIServer: apiserver.Options{
			RepoRoot:   root,
			Namespaces: append([]string{clusterResourceNamespace, allowedNamespace}, pkcs11Namespaces...),
		},
		Manager: &app.Options{
			Controller: controller.Options{
				ClusterResourceNamespace:  clusterResourceNamespace,
				SetCAOnCertificateRequest: true,
				MaxConcurrentReconciles:   2,
				MaxRetryDuration:          time.Hour,
				KeyPolicy:                 policy,
				KeyTimeout:                10 * time.Second,
			},
			MetricsBindAddress:     "0",
			HealthProbeBindAddress: "0",
		},
		Ready: func(api *apiserver.Server, _ ctrl.Manager) {
			k8s, clientset = api.Client, api.Clientset
		},
	})
}

// ---- objects ---------------------------------------------------------------

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "kms-"}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8s.Create(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
}

func createSecret(t *testing.T, ns, name string, data map[string][]byte) {
	t.Helper()
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: corev1.SecretTypeOpaque, Data: data})
}

func getSecret(t *testing.T, ns, name string) *corev1.Secret {
	t.Helper()
	var s corev1.Secret
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// awsCredentials is a credentials Secret's data for access key id.
func awsCredentials(id string) map[string][]byte {
	return map[string][]byte{keys.CredentialAWSAccessKeyID: []byte(id), keys.CredentialAWSSecretAccessKey: []byte("secret-of-" + id)}
}

// spec is an issuer spec with one template for *.example.com, its CA in
// Secret secret, its key per key.
func spec(secret string, key *v1alpha1.CAKey, generate bool) v1alpha1.IssuerSpec {
	s := v1alpha1.IssuerSpec{
		CA:              v1alpha1.CASpec{SecretName: secret, Key: key},
		DefaultTemplate: "web",
		Templates:       []v1alpha1.CertificateTemplate{{Name: "web", AllowedDNSNames: []string{"*.example.com"}, TTL: 24}},
	}
	if generate {
		s.CA.Generate = &v1alpha1.CATemplate{Subject: v1alpha1.Subject{CN: "KMS CA " + secret}, TTL: 24 * 365}
	}
	return s
}

func clusterIssuer(name string, s v1alpha1.IssuerSpec) *v1alpha1.NstanceClusterIssuer {
	return &v1alpha1.NstanceClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: s}
}

func namespacedIssuer(ns, name string, s v1alpha1.IssuerSpec) *v1alpha1.NstanceIssuer {
	return &v1alpha1.NstanceIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: s}
}

// request creates and approves a CertificateRequest of ns for issuer
// obj, for a name under example.com.
func request(t *testing.T, ns string, obj client.Object) *cmapi.CertificateRequest {
	t.Helper()
	csr, err := testpki.CSR("a.example.com", "a.example.com")
	if err != nil {
		t.Fatal(err)
	}
	kind := "NstanceIssuer"
	if _, ok := obj.(*v1alpha1.NstanceClusterIssuer); ok {
		kind = "NstanceClusterIssuer"
	}
	cr := &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "cr-"},
		Spec: cmapi.CertificateRequestSpec{
			Request:   csr,
			IssuerRef: cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: kind, Name: obj.GetName()},
			Duration:  &metav1.Duration{Duration: time.Hour},
		},
	}
	create(t, cr)
	now := metav1.Now()
	cr.Status.Conditions = append(cr.Status.Conditions, cmapi.CertificateRequestCondition{
		Type: cmapi.CertificateRequestConditionApproved, Status: cmmeta.ConditionTrue, Reason: "TestApproved", Message: "set by the test", LastTransitionTime: &now,
	})
	if err := k8s.Status().Update(context.Background(), cr); err != nil {
		t.Fatal(err)
	}
	return cr
}

// ---- waiting ----------------------------------------------------------------

func eventually(t *testing.T, what string, cond framework.Condition) {
	t.Helper()
	if err := framework.Eventually(t.Context(), what, cond); err != nil {
		t.Fatal(err)
	}
}

func consistently(t *testing.T, what string, cond framework.Condition) {
	t.Helper()
	if err := framework.Consistently(t.Context(), framework.Window, what, cond); err != nil {
		t.Fatal(err)
	}
}

func waitIssuer(t *testing.T, obj client.Object, status metav1.ConditionStatus, msg string) {
	t.Helper()
	eventually(t, fmt.Sprintf("issuer %s Ready=%s %q", obj.GetName(), status, msg), framework.IssuerReadyIs(k8s, obj, status, msg))
}

// signed waits for the request to be signed, checks its certificate
// against its ca.crt, and returns that CA.
func signed(t *testing.T, cr *cmapi.CertificateRequest) *x509.Certificate {
	t.Helper()
	cur := cr.DeepCopy()
	eventually(t, "CertificateRequest "+cr.Name+" signed", framework.CertificateRequestSigned(k8s, cur))
	leaf, err := testpki.ParseChain(cur.Status.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := testpki.ParseChain(cur.Status.CA)
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf[0].CheckSignatureFrom(ca[0]); err != nil {
		t.Fatalf("the leaf does not verify against ca.crt: %v", err)
	}
	return ca[0]
}

// waiting checks that the request stays unsigned and not failed.
func waiting(t *testing.T, cr *cmapi.CertificateRequest) {
	t.Helper()
	consistently(t, "CertificateRequest "+cr.Name+" waits", func(ctx context.Context) error {
		var cur cmapi.CertificateRequest
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(cr), &cur); err != nil {
			return err
		}
		if len(cur.Status.Certificate) > 0 {
			return errors.New("signed")
		}
		if c := framework.RequestReady(&cur); c != nil && c.Reason == cmapi.CertificateRequestReasonFailed {
			return fmt.Errorf("failed: %s", c.Message)
		}
		return nil
	})
}

// waitEvent waits for an Event with reason about the object and returns its note.
func waitEvent(t *testing.T, ns, name, reason string) string {
	t.Helper()
	var note string
	eventually(t, "event "+reason+" on "+name, func(ctx context.Context) error {
		list, err := clientset.EventsV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "regarding.name=" + name})
		if err != nil {
			return err
		}
		for _, e := range list.Items {
			if e.Reason == reason {
				note = e.Note
				return nil
			}
		}
		return errors.New("not recorded")
	})
	return note
}

// caStatus reads status.ca of an issuer.
func caStatus(t *testing.T, obj client.Object) *v1alpha1.CAStatus {
	t.Helper()
	st, err := framework.IssuerStatus(obj)
	if err != nil {
		t.Fatal(err)
	}
	return st.CA
}

// emulator talks to the emulator directly, as a KMS administrator would.
func emulator() *kms.Client {
	return kms.New(kms.Options{Region: keystest.Region, BaseEndpoint: aws.String(localKMS.Direct),
		Credentials: credentials.NewStaticCredentialsProvider("admin", "admin", "")})
}

func contains(s string, subs ...string) error {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return fmt.Errorf("%q does not say %q", s, sub)
		}
	}
	return nil
}
