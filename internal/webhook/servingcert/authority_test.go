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

package servingcert

import (
	"context"
	"crypto/x509"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// A CA Secret that someone else wrote with what the authority cannot read
// is started over, without a panic: a new CA in the Secret, in the
// caBundle, and a serving certificate that chains to it.
func TestAuthorityRecoversFromAnUnreadableCASecret(t *testing.T) {
	t.Parallel()
	valid := mustCA(t, t0, DefaultCAValidity)
	validData, err := encodeCAs([]CA{valid})
	if err != nil {
		t.Fatal(err)
	}
	other := mustCA(t, t0, DefaultCAValidity)
	otherData, err := encodeCAs([]CA{other})
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]map[string][]byte{
		"garbage":                     {secretKeyCerts: []byte("garbage"), secretKeyKeys: []byte("\x00\xff")},
		"a PEM block of another type": {secretKeyCerts: []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")},
		"a certificate that does not parse": {secretKeyCerts: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
			secretKeyKeys: []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")},
		"a key of another CA":           {secretKeyCerts: validData[secretKeyCerts], secretKeyKeys: otherData[secretKeyKeys]},
		"a certificate without its key": {secretKeyCerts: validData[secretKeyCerts]},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			scheme := runtime.NewScheme()
			if err := clientgoscheme.AddToScheme(scheme); err != nil {
				t.Fatal(err)
			}
			secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "nstance", Name: "webhook-ca"}, Data: data}
			cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "webhook"},
				Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "a.example.com"}, {Name: "b.example.com"}}}
			c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(secret, cfg).Build()
			a := &Authority{Reader: c, Writer: c, Options: Options{
				Namespace: "nstance", SecretName: "webhook-ca", DNSNames: ServiceDNSNames("webhook", "nstance"),
				WebhookConfiguration: "webhook", Clock: clocktesting.NewFakePassiveClock(t0),
			}}
			if err := a.Sync(ctx); err != nil {
				t.Fatalf("sync: %v", err)
			}
			got := &corev1.Secret{}
			if err := c.Get(ctx, types.NamespacedName{Namespace: "nstance", Name: "webhook-ca"}, got); err != nil {
				t.Fatal(err)
			}
			cas, err := decodeCAs(got.Data)
			if err != nil || len(cas) != 1 {
				t.Fatalf("the Secret holds %d CAs after the sync (%v), want one new CA", len(cas), err)
			}
			if err := c.Get(ctx, client.ObjectKeyFromObject(cfg), cfg); err != nil {
				t.Fatal(err)
			}
			pool := x509.NewCertPool()
			for _, w := range cfg.Webhooks {
				if !pool.AppendCertsFromPEM(w.ClientConfig.CABundle) {
					t.Fatalf("webhook %s has no caBundle", w.Name)
				}
			}
			leaf, err := a.GetCertificate(nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := leaf.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "webhook.nstance.svc", CurrentTime: t0}); err != nil {
				t.Errorf("the serving certificate does not chain to the caBundle: %v", err)
			}
		})
	}
}
