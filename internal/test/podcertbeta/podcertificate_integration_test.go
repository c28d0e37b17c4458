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

package podcertbeta_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	certificatesv1beta1 "k8s.io/api/certificates/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/app"
	"github.com/nstance-dev/nstance-issuer/internal/controller"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/controller/podcert"
	"github.com/nstance-dev/nstance-issuer/internal/test/apiserver"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
	"github.com/nstance-dev/nstance-issuer/internal/test/integration"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

const clusterResourceNamespace = "nstance-system"

var (
	k8s        client.Client
	restConfig *rest.Config
)

// TestMain starts a Kubernetes 1.36 API server (KUBEBUILDER_ASSETS) that
// serves PodCertificateRequests at v1beta1 only: the feature gates and
// runtime-config a 1.36 cluster needs, and NodeRestriction as in clusters.
func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	return integration.Run(m, integration.Options{
		APIServer: apiserver.Options{
			RepoRoot:            filepath.Join("..", "..", ".."),
			Namespaces:          []string{clusterResourceNamespace},
			NodeRestriction:     true,
			CertificatesV1beta1: true,
		},
		Manager: &app.Options{
			Controller: controller.Options{
				ClusterResourceNamespace: clusterResourceNamespace, MaxConcurrentReconciles: 2, MaxRetryDuration: time.Hour,
			},
			MetricsBindAddress: "0", HealthProbeBindAddress: "0",
		},
		Ready: func(api *apiserver.Server, _ ctrl.Manager) { restConfig, k8s = api.Config, api.Client },
	})
}

func TestPodCertificateIsIssuedAtV1beta1(t *testing.T) {
	ctx := t.Context()
	// The controller must find v1beta1 here, v1 not being served.
	if v, err := podcert.ServedVersion(restConfig); err != nil || v != "v1beta1" {
		t.Fatalf("served PodCertificateRequest version %q (%v), want v1beta1: run with the 1.36 assets", v, err)
	}
	ca, err := testpki.NewValidRootCA("Beta Pod Root CA")
	if err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: clusterResourceNamespace, Name: "beta-ca"}, Data: ca.SecretData()}
	if err := k8s.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	iss := &v1alpha1.NstanceClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: "beta-ca"},
		Spec: v1alpha1.IssuerSpec{
			CA: v1alpha1.CASpec{SecretName: "beta-ca"}, DefaultTemplate: "pods",
			Templates: []v1alpha1.CertificateTemplate{{
				Name: "pods", Kind: v1alpha1.ClientKind, TTL: 24,
				PodCertificates: &v1alpha1.PodCertificates{TrustDomain: "beta.example"},
			}},
		},
	}
	if err := k8s.Create(ctx, iss); err != nil {
		t.Fatal(err)
	}
	if err := framework.Eventually(ctx, "issuer Ready", framework.IssuerReady(k8s, iss)); err != nil {
		t.Fatal(err)
	}
	if err := framework.NodesMayRequestPodCertificates(ctx, k8s); err != nil {
		t.Fatal(err)
	}
	kl, err := framework.NewKubelet(ctx, k8s, restConfig, "beta-node")
	if err != nil {
		t.Fatal(err)
	}
	signer := issuer.ClusterIssuerSignerPrefix + "beta-ca"
	pod, sa, err := framework.CreatePod(ctx, k8s, "default", "beta-0", "app", kl.Node, framework.PodCertificateVolume{SignerName: signer, KeyType: "ED25519"})
	if err != nil {
		t.Fatal(err)
	}
	key, err := framework.PodKey("ED25519")
	if err != nil {
		t.Fatal(err)
	}
	stub, err := framework.StubCSR(key)
	if err != nil {
		t.Fatal(err)
	}
	maxSeconds := int32(86400)
	pcr := &certificatesv1beta1.PodCertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", GenerateName: "beta-0-"},
		Spec: certificatesv1beta1.PodCertificateRequestSpec{
			SignerName: signer, PodName: pod.Name, PodUID: pod.UID,
			ServiceAccountName: sa.Name, ServiceAccountUID: sa.UID,
			NodeName: "beta-node", NodeUID: kl.Node.UID,
			MaxExpirationSeconds: &maxSeconds, StubPKCS10Request: stub,
		},
	}
	if err := framework.CreateAsKubelet(ctx, kl.Client, pcr); err != nil {
		t.Fatalf("the kubelet cannot create the v1beta1 PodCertificateRequest: %v", err)
	}
	err = framework.Eventually(ctx, "v1beta1 PodCertificateRequest issued", func(ctx context.Context) error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(pcr), pcr); err != nil {
			return err
		}
		if len(pcr.Status.Conditions) == 0 {
			return errors.New("no condition yet")
		}
		if c := pcr.Status.Conditions[0]; c.Type != "Issued" {
			return framework.Stop(fmt.Errorf("condition %s %s: %s", c.Type, c.Reason, c.Message))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := testpki.VerifyChain([]byte(pcr.Status.CertificateChain), ca.CertPEM, x509.ExtKeyUsageClientAuth)
	if err != nil {
		t.Fatal(err)
	}
	if want := "spiffe://beta.example/ns/default/sa/app"; len(leaf.URIs) != 1 || leaf.URIs[0].String() != want {
		t.Errorf("URI SANs = %v, want [%s]", leaf.URIs, want)
	}
	if !pcr.Status.NotAfter.Time.Equal(leaf.NotAfter) || !pcr.Status.NotBefore.Time.Equal(leaf.NotBefore) || pcr.Status.BeginRefreshAt == nil {
		t.Errorf("status times %v/%v/%v do not match the leaf %s/%s", pcr.Status.NotBefore, pcr.Status.NotAfter, pcr.Status.BeginRefreshAt, leaf.NotBefore, leaf.NotAfter)
	}
}
