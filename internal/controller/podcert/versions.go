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
	certificatesv1 "k8s.io/api/certificates/v1"
	certificatesv1beta1 "k8s.io/api/certificates/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// podCertView is what the pod certificate controller reads of a
// PodCertificateRequest of either served version.
type podCertView struct {
	signerName                string
	podName, podUID           string
	serviceAccountName, saUID string
	nodeName, nodeUID         string
	maxExpirationSeconds      *int32
	stubPKCS10Request         []byte
	hasPKIXPublicKey          bool
	unverifiedUserAnnotations map[string]string
	conditions                []metav1.Condition
	issuedChain               bool
}

// podCertStatus is the status the controller writes, once.
type podCertStatus struct {
	conditions                        []metav1.Condition
	chain                             string
	notBefore, notAfter, refreshStart *metav1.Time
}

// podCertAPI is one served version of the PodCertificateRequest API.
type podCertAPI struct {
	version   string
	newObject func() client.Object
	newList   func() client.ObjectList
	items     func(client.ObjectList) []client.Object
	view      func(client.Object) podCertView
	// setStatus sets the status of a copy of the object.
	setStatus func(client.Object, podCertStatus)
}

// objectsOf returns pointers to the items of a list, as client.Objects.
func objectsOf[T any, P interface {
	*T
	client.Object
}](items []T) []client.Object {
	out := make([]client.Object, len(items))
	for i := range items {
		out[i] = P(&items[i])
	}
	return out
}

var podCertV1 = podCertAPI{
	version:   "v1",
	newObject: func() client.Object { return &certificatesv1.PodCertificateRequest{} },
	newList:   func() client.ObjectList { return &certificatesv1.PodCertificateRequestList{} },
	items: func(l client.ObjectList) []client.Object {
		return objectsOf(l.(*certificatesv1.PodCertificateRequestList).Items)
	},
	view: func(o client.Object) podCertView {
		p := o.(*certificatesv1.PodCertificateRequest)
		s := &p.Spec
		return podCertView{
			signerName: s.SignerName, podName: s.PodName, podUID: string(s.PodUID),
			serviceAccountName: s.ServiceAccountName, saUID: string(s.ServiceAccountUID),
			nodeName: string(s.NodeName), nodeUID: string(s.NodeUID),
			maxExpirationSeconds: s.MaxExpirationSeconds, stubPKCS10Request: s.StubPKCS10Request,
			unverifiedUserAnnotations: s.UnverifiedUserAnnotations,
			conditions:                p.Status.Conditions, issuedChain: p.Status.CertificateChain != "",
		}
	},
	setStatus: func(o client.Object, st podCertStatus) {
		p := o.(*certificatesv1.PodCertificateRequest)
		p.Status = certificatesv1.PodCertificateRequestStatus{
			Conditions: st.conditions, CertificateChain: st.chain,
			NotBefore: st.notBefore, NotAfter: st.notAfter, BeginRefreshAt: st.refreshStart,
		}
	},
}

var podCertV1beta1 = podCertAPI{
	version:   "v1beta1",
	newObject: func() client.Object { return &certificatesv1beta1.PodCertificateRequest{} },
	newList:   func() client.ObjectList { return &certificatesv1beta1.PodCertificateRequestList{} },
	items: func(l client.ObjectList) []client.Object {
		return objectsOf(l.(*certificatesv1beta1.PodCertificateRequestList).Items)
	},
	view: func(o client.Object) podCertView {
		p := o.(*certificatesv1beta1.PodCertificateRequest)
		s := &p.Spec
		return podCertView{
			signerName: s.SignerName, podName: s.PodName, podUID: string(s.PodUID),
			serviceAccountName: s.ServiceAccountName, saUID: string(s.ServiceAccountUID),
			nodeName: string(s.NodeName), nodeUID: string(s.NodeUID),
			maxExpirationSeconds: s.MaxExpirationSeconds, stubPKCS10Request: s.StubPKCS10Request,
			hasPKIXPublicKey:          len(s.PKIXPublicKey) > 0, //nolint:staticcheck // read only to refuse it clearly
			unverifiedUserAnnotations: s.UnverifiedUserAnnotations,
			conditions:                p.Status.Conditions, issuedChain: p.Status.CertificateChain != "",
		}
	},
	setStatus: func(o client.Object, st podCertStatus) {
		p := o.(*certificatesv1beta1.PodCertificateRequest)
		p.Status = certificatesv1beta1.PodCertificateRequestStatus{
			Conditions: st.conditions, CertificateChain: st.chain,
			NotBefore: st.notBefore, NotAfter: st.notAfter, BeginRefreshAt: st.refreshStart,
		}
	},
}
