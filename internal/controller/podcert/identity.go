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
	"fmt"

	certificatesv1 "k8s.io/api/certificates/v1"
	certificatesv1beta1 "k8s.io/api/certificates/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Reasons a PodCertificateRequest is Denied when the pod identity it names
// is not the live Pod's.
const (
	ReasonPodNotFound            = "PodNotFound"
	ReasonPodUIDMismatch         = "PodUIDMismatch"
	ReasonPodFinished            = "PodFinished"
	ReasonMirrorPod              = "MirrorPod"
	ReasonServiceAccountMismatch = "ServiceAccountMismatch"
	ReasonNodeMismatch           = "NodeMismatch"
)

// mirrorPodAnnotation marks the API server's copy of a static pod
// (k8s.io/kubernetes/pkg/apis/core.MirrorPodAnnotationKey).
const mirrorPodAnnotation = "kubernetes.io/config.mirror"

// Refusal is why a request's pod identity is not the live one: the
// reason and message of its Denied condition.
type Refusal struct {
	Reason, Message string
}

// ErrIdentityUnreadable wraps a Forbidden read: the controller lacks the
// RBAC to check the pod, which a person must grant.
var ErrIdentityUnreadable = errors.New("cannot read the pod identity")

// checkPodIdentity compares the pod, service account and node a
// PodCertificateRequest names with the live objects, read through reader
// (the API server, not the cache: a request can reach us before the cache
// has its Pod). The NodeRestriction admission plugin checks the same when
// a kubelet creates the request, but not when any other principal with
// `create` on podcertificaterequests does, and the names and UIDs are
// trusted template data.
//
// It returns a refusal when they differ, which no retry can fix; an error
// when a read failed (ErrIdentityUnreadable when Forbidden); nil, nil
// when the identity is the live one. A terminating pod is accepted: its
// kubelet keeps its certificate fresh until its containers have stopped.
//
// uids, when not nil, is the manager's cache of ServiceAccount and Node
// metadata: a UID it holds as the request names it is not read again
// (uidcache.go says why that is safe); anything else is read live.
func checkPodIdentity(ctx context.Context, reader, uids client.Reader, ns string, pcr podCertView) (*Refusal, error) {
	var pod corev1.Pod
	podKey := types.NamespacedName{Namespace: ns, Name: pcr.podName}
	if err := reader.Get(ctx, podKey, &pod); err != nil {
		if apierrors.IsNotFound(err) {
			return &Refusal{ReasonPodNotFound, fmt.Sprintf(
				"pod %s named by the request does not exist: it was deleted, or the request was not made by its kubelet", podKey)}, nil
		}
		return nil, readError("pod "+podKey.String(), err)
	}
	if string(pod.UID) != pcr.podUID {
		return &Refusal{ReasonPodUIDMismatch, fmt.Sprintf(
			"the request names pod %s with UID %s, but that pod's UID is %s: the pod was replaced, or the request was not made by its kubelet",
			podKey, pcr.podUID, pod.UID)}, nil
	}
	if pod.Spec.ServiceAccountName != pcr.serviceAccountName {
		return &Refusal{ReasonServiceAccountMismatch, fmt.Sprintf(
			"the request names service account %q, but pod %s runs as %q", pcr.serviceAccountName, podKey, pod.Spec.ServiceAccountName)}, nil
	}
	if pod.Spec.NodeName != pcr.nodeName {
		return &Refusal{ReasonNodeMismatch, fmt.Sprintf(
			"the request names node %q, but pod %s is bound to %q", pcr.nodeName, podKey, pod.Spec.NodeName)}, nil
	}
	if _, ok := pod.Annotations[mirrorPodAnnotation]; ok {
		return &Refusal{ReasonMirrorPod, fmt.Sprintf("pod %s is a mirror pod (a static pod's copy); mirror pods get no pod certificates", podKey)}, nil
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return &Refusal{ReasonPodFinished, fmt.Sprintf("pod %s has finished (phase %s); its containers no longer run", podKey, pod.Status.Phase)}, nil
	}
	saKey := types.NamespacedName{Namespace: ns, Name: pcr.serviceAccountName}
	if !cachedUIDIs(ctx, uids, "ServiceAccount", saKey, pcr.saUID) {
		if refusal, err := checkServiceAccount(ctx, reader, saKey, pcr); refusal != nil || err != nil {
			return refusal, err
		}
	}
	nodeKey := types.NamespacedName{Name: pcr.nodeName}
	if !cachedUIDIs(ctx, uids, "Node", nodeKey, pcr.nodeUID) {
		return checkNode(ctx, reader, pcr)
	}
	return nil, nil
}

// checkServiceAccount compares the service account a request names with
// the live one.
func checkServiceAccount(ctx context.Context, reader client.Reader, saKey types.NamespacedName, pcr podCertView) (*Refusal, error) {
	var sa corev1.ServiceAccount
	if err := reader.Get(ctx, saKey, &sa); err != nil {
		if apierrors.IsNotFound(err) {
			return &Refusal{ReasonServiceAccountMismatch, fmt.Sprintf("service account %s named by the request does not exist", saKey)}, nil
		}
		return nil, readError("service account "+saKey.String(), err)
	}
	if string(sa.UID) != pcr.saUID {
		return &Refusal{ReasonServiceAccountMismatch, fmt.Sprintf(
			"the request names service account %s with UID %s, but its UID is %s", saKey, pcr.saUID, sa.UID)}, nil
	}
	return nil, nil
}

// checkNode compares the node a request names with the live one.
func checkNode(ctx context.Context, reader client.Reader, pcr podCertView) (*Refusal, error) {
	var node corev1.Node
	if err := reader.Get(ctx, types.NamespacedName{Name: pcr.nodeName}, &node); err != nil {
		if apierrors.IsNotFound(err) {
			return &Refusal{ReasonNodeMismatch, fmt.Sprintf("node %s named by the request does not exist", pcr.nodeName)}, nil
		}
		return nil, readError("node "+pcr.nodeName, err)
	}
	if string(node.UID) != pcr.nodeUID {
		return &Refusal{ReasonNodeMismatch, fmt.Sprintf(
			"the request names node %s with UID %s, but its UID is %s", pcr.nodeName, pcr.nodeUID, node.UID)}, nil
	}
	return nil, nil
}

// CheckIdentity is the reconciler's check of the pod identity a
// PodCertificateRequest (of either served version) names against the live
// Pod, ServiceAccount and Node, read through reader: a refusal, or an
// error (wrapping ErrIdentityUnreadable when a read was Forbidden), or
// nil, nil when the identity is the live one.
func CheckIdentity(ctx context.Context, reader client.Reader, pcr client.Object) (*Refusal, error) {
	return CheckIdentityCached(ctx, reader, nil, pcr)
}

// CheckIdentityCached is CheckIdentity with the ServiceAccount and Node
// UIDs read from uids when it holds the ones the request names (see
// uidcache.go).
func CheckIdentityCached(ctx context.Context, reader, uids client.Reader, pcr client.Object) (*Refusal, error) {
	var api podCertAPI
	switch pcr.(type) {
	case *certificatesv1.PodCertificateRequest:
		api = podCertV1
	case *certificatesv1beta1.PodCertificateRequest:
		api = podCertV1beta1
	default:
		return nil, fmt.Errorf("%T is not a PodCertificateRequest", pcr)
	}
	return checkPodIdentity(ctx, reader, uids, pcr.GetNamespace(), api.view(pcr))
}

func readError(what string, err error) error {
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("%w: %s: %w", ErrIdentityUnreadable, what, err)
	}
	return fmt.Errorf("cannot read %s: %w", what, err)
}
