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

package framework

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// There is no kubelet in the local stack: these helpers do what one does
// for a pod with a podCertificate projected volume, so that the API server
// checks a PodCertificateRequest as it would in a cluster.

// NodesMayRequestPodCertificates lets the group system:nodes create
// PodCertificateRequests, as the Node authorizer does in a cluster (the
// local API server authorizes with RBAC only).
func NodesMayRequestPodCertificates(ctx context.Context, c client.Client) error {
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "test:nodes-podcertificaterequests"},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"podcertificaterequests"},
			Verbs: []string{"create", "get", "list", "watch"},
		}},
	}
	if err := IgnoreAlreadyExists(c.Create(ctx, role)); err != nil {
		return err
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "Group", Name: "system:nodes"}},
	}
	return IgnoreAlreadyExists(c.Create(ctx, binding))
}

// Kubelet is one node of the test: the Node object and a client that acts
// as its kubelet (user system:node:<name>, group system:nodes), which is
// what the NodeRestriction admission plugin checks a
// PodCertificateRequest against.
type Kubelet struct {
	Node   *corev1.Node
	Client client.Client
}

// NewKubelet creates a Node and returns a client impersonating its kubelet.
func NewKubelet(ctx context.Context, c client.Client, cfg *rest.Config, name string) (*Kubelet, error) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.Create(ctx, node); err != nil {
		return nil, err
	}
	kcfg := rest.CopyConfig(cfg)
	kcfg.Impersonate = rest.ImpersonationConfig{UserName: "system:node:" + name, Groups: []string{"system:nodes", "system:authenticated"}}
	kc, err := client.New(kcfg, client.Options{Scheme: c.Scheme()})
	if err != nil {
		return nil, err
	}
	return &Kubelet{Node: node, Client: kc}, nil
}

// PodCertificateVolume is the podCertificate projection of a test pod.
type PodCertificateVolume struct {
	SignerName      string
	KeyType         string
	UserAnnotations map[string]string
	// MaxExpirationSeconds is left to the API server's default when nil.
	MaxExpirationSeconds *int32
}

// CreatePod creates service account sa (unless it exists) and a pod bound
// to node that mounts v, with a clusterTrustBundle projection of the
// same signer for trust, as a pod author would write it.
func CreatePod(ctx context.Context, c client.Client, ns, name, sa string, node *corev1.Node, v PodCertificateVolume) (*corev1.Pod, *corev1.ServiceAccount, error) {
	account := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sa}}
	if err := IgnoreAlreadyExists(c.Create(ctx, account)); err != nil {
		return nil, nil, err
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(account), account); err != nil {
		return nil, nil, err
	}
	optional := true
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{
			NodeName:           node.Name,
			ServiceAccountName: sa,
			Containers: []corev1.Container{{
				Name: "app", Image: "registry.example/app:1",
				VolumeMounts: []corev1.VolumeMount{{Name: "identity", MountPath: "/var/run/identity", ReadOnly: true}},
			}},
			Volumes: []corev1.Volume{{
				Name: "identity",
				VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{PodCertificate: &corev1.PodCertificateProjection{
						SignerName: v.SignerName, KeyType: v.KeyType, UserAnnotations: v.UserAnnotations,
						MaxExpirationSeconds: v.MaxExpirationSeconds, CredentialBundlePath: "credentialbundle.pem",
					}},
					{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{
						SignerName: &v.SignerName, LabelSelector: &metav1.LabelSelector{}, Optional: &optional, Path: "ca.pem",
					}},
				}}},
			}},
		},
	}
	if err := c.Create(ctx, pod); err != nil {
		return nil, nil, err
	}
	return pod, account, nil
}

// PodKey generates a key of a podCertificate keyType, as the kubelet does.
func PodKey(keyType string) (crypto.Signer, error) {
	switch keyType {
	case "RSA3072":
		return rsa.GenerateKey(rand.Reader, 3072)
	case "RSA4096":
		return rsa.GenerateKey(rand.Reader, 4096)
	case "ECDSAP256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ECDSAP384":
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ECDSAP521":
		return ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "ED25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("unknown key type %q", keyType)
}

// StubCSR is the kubelet's stub PKCS#10 request: empty, signed by key.
func StubCSR(key crypto.Signer) ([]byte, error) {
	return x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
}

// CreateAsKubelet creates a PodCertificateRequest (or another object the
// API server checks against the Pod it names) with the kubelet's client.
// The API server's admission looks the Pod up in its own informer, which
// can lag a Pod created a moment ago ("while retrieving pod ... not
// found"); a real kubelet asks only for Pods it already sees bound to its
// node. That error is retried, any other is returned at once.
func CreateAsKubelet(ctx context.Context, kubelet client.Client, obj client.Object) error {
	return Eventually(ctx, "the API server to see the Pod named in "+obj.GetGenerateName()+obj.GetName(), func(ctx context.Context) error {
		err := kubelet.Create(ctx, obj)
		if err == nil {
			return nil
		}
		if podNotSeenYet := strings.Contains(err.Error(), "while retrieving pod") && strings.Contains(err.Error(), "not found"); podNotSeenYet {
			return err
		}
		return Stop(err)
	})
}
