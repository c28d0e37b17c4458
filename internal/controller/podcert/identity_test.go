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

package podcert

import (
	"context"
	"errors"
	"strings"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	certificatesv1beta1 "k8s.io/api/certificates/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

func TestCheckPodIdentity(t *testing.T) {
	t.Parallel()
	pod := func(edit func(p *corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web-0", UID: "pod-uid"},
			Spec:       corev1.PodSpec{ServiceAccountName: "app", NodeName: "node-1"},
			Status:     corev1.PodStatus{Phase: corev1.PodRunning},
		}
		if edit != nil {
			edit(p)
		}
		return p
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "app", UID: "sa-uid"}}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", UID: "node-uid"}}
	request := podCertView{podName: "web-0", podUID: "pod-uid", serviceAccountName: "app", saUID: "sa-uid", nodeName: "node-1", nodeUID: "node-uid"}
	cases := []struct {
		name   string
		pod    *corev1.Pod // nil: absent
		edit   func(v *podCertView)
		reason string // "" accepted
	}{
		{name: "the kubelet's exact identity is accepted", pod: pod(nil)},
		{name: "a terminating pod is accepted: its kubelet refreshes until the containers stop", pod: pod(func(p *corev1.Pod) {
			now := metav1.Now()
			p.DeletionTimestamp, p.Finalizers = &now, []string{"example.com/hold"}
		})},
		{name: "a pending pod is accepted: the kubelet asks before the containers start", pod: pod(func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending })},
		{name: "an absent pod is refused", reason: ReasonPodNotFound},
		{name: "another UID is refused", pod: pod(func(p *corev1.Pod) { p.UID = "new-uid" }), reason: ReasonPodUIDMismatch},
		{name: "a mirror pod is refused", pod: pod(func(p *corev1.Pod) { p.Annotations = map[string]string{mirrorPodAnnotation: "x"} }), reason: ReasonMirrorPod},
		{name: "a succeeded pod is refused", pod: pod(func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }), reason: ReasonPodFinished},
		{name: "a failed pod is refused", pod: pod(func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }), reason: ReasonPodFinished},
		{name: "another service account name is refused", pod: pod(nil), edit: func(v *podCertView) { v.serviceAccountName = "admin" }, reason: ReasonServiceAccountMismatch},
		{name: "another service account UID is refused", pod: pod(nil), edit: func(v *podCertView) { v.saUID = "other" }, reason: ReasonServiceAccountMismatch},
		{name: "another node name is refused", pod: pod(nil), edit: func(v *podCertView) { v.nodeName = "node-2" }, reason: ReasonNodeMismatch},
		{name: "another node UID is refused", pod: pod(nil), edit: func(v *podCertView) { v.nodeUID = "other" }, reason: ReasonNodeMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			objs := []client.Object{sa, node}
			if tc.pod != nil {
				objs = append(objs, tc.pod)
			}
			reader := fake.NewClientBuilder().WithObjects(objs...).Build()
			v := request
			if tc.edit != nil {
				tc.edit(&v)
			}
			refusal, err := checkPodIdentity(context.Background(), reader, nil, "ns", v)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.reason == "" && refusal != nil:
				t.Errorf("refused %s: %s", refusal.Reason, refusal.Message)
			case tc.reason != "" && (refusal == nil || refusal.Reason != tc.reason):
				t.Errorf("refusal %+v, want reason %s", refusal, tc.reason)
			}
		})
	}
}

func TestCheckPodIdentityReadErrors(t *testing.T) {
	t.Parallel()
	failing := func(err error) client.Reader {
		return fake.NewClientBuilder().WithInterceptorFuncs(interceptor.Funcs{
			Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
				return err
			},
		}).Build()
	}
	v := podCertView{podName: "web-0", podUID: "pod-uid", serviceAccountName: "app", nodeName: "node-1"}
	gr := schema.GroupResource{Resource: "pods"}

	_, err := checkPodIdentity(context.Background(), failing(apierrors.NewForbidden(gr, "web-0", errors.New("no"))), nil, "ns", v)
	if !errors.Is(err, ErrIdentityUnreadable) {
		t.Errorf("Forbidden read: %v, want ErrIdentityUnreadable (the request waits with an Event)", err)
	}
	_, err = checkPodIdentity(context.Background(), failing(apierrors.NewServiceUnavailable("down")), nil, "ns", v)
	if err == nil || errors.Is(err, ErrIdentityUnreadable) {
		t.Errorf("unavailable API server: %v, want an error that is retried", err)
	}
}

// CheckIdentity reads the identity of a request of either served version,
// and refuses to guess at any other object.
func TestCheckIdentityOfEitherVersion(t *testing.T) {
	t.Parallel()
	reader := fake.NewClientBuilder().Build() // no Pod: PodNotFound
	spec := func(s *certificatesv1.PodCertificateRequestSpec) { s.PodName, s.PodUID = "web-0", "pod-uid" }
	v1 := &certificatesv1.PodCertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "ns"}}
	spec(&v1.Spec)
	beta := &certificatesv1beta1.PodCertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "ns"},
		Spec: certificatesv1beta1.PodCertificateRequestSpec{PodName: "web-0", PodUID: "pod-uid"}}
	for _, obj := range []client.Object{v1, beta} {
		refusal, err := CheckIdentity(context.Background(), reader, obj)
		if err != nil || refusal == nil || refusal.Reason != ReasonPodNotFound || !strings.Contains(refusal.Message, "ns/web-0") {
			t.Errorf("%T: refusal %+v, error %v; want %s naming ns/web-0", obj, refusal, err, ReasonPodNotFound)
		}
	}
	if _, err := CheckIdentity(context.Background(), reader, &corev1.Pod{}); err == nil {
		t.Error("a Pod was checked as a PodCertificateRequest")
	}
}
