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

package install

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
)

// TestDocsSamplesApply applies every file a page of the README or docs/
// shows (whole or as an excerpt) to a real API server, server-side with
// strict field validation and as a dry run, so that the CRDs' schemas and
// validation rules, and Kubernetes' own, accept what the docs tell users
// to write; a kustomization is built with kustomize first. The files of
// config/samples are also applied for real by the e2e suite.
func TestDocsSamplesApply(t *testing.T) {
	files := docSampleFiles(t)
	if len(files) == 0 {
		t.Fatal("the docs name no sample file")
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			var objs []*unstructured.Unstructured
			if path.Base(file) == "kustomization.yaml" {
				objs = renderKustomize(t, filepath.Join(repoRoot, path.Dir(file)))
			} else {
				var err error
				if objs, err = framework.ReadManifests(filepath.Join(repoRoot, file)); err != nil {
					t.Fatal(err)
				}
			}
			if len(objs) == 0 {
				t.Fatal("no object")
			}
			var nss, rest []*unstructured.Unstructured
			for _, o := range objs {
				if o.GetKind() == "Namespace" {
					nss = append(nss, o)
				} else {
					rest = append(rest, o)
				}
			}
			apply(t, nss, false) // a dry run needs its namespaces to exist
			for _, ns := range namespacesOf(objs) {
				ensureNamespace(t, ns, nil)
			}
			apply(t, rest, true)
		})
	}
}

// TestDocsApproverRoleScopesApprovalToOneTemplate: the ClusterRole that
// docs/usage/kubernetes-csrs.md says "lets its subjects approve kubelet
// serving certificates of cluster-ca and nothing else" does exactly that,
// through the API server's own approval check.
func TestDocsApproverRoleScopesApprovalToOneTemplate(t *testing.T) {
	ctx := context.Background()
	objs, err := framework.ReadManifests(filepath.Join(repoRoot, "docs/samples/approve-kubelet-server-certificates.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	role := toTyped[rbacv1.ClusterRole](t, only(t, objs, "ClusterRole"))
	role.Name = "docs-" + role.Name
	if _, err := clientset.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	approver := who{label: "a kubelet-server approver", user: "docs-csr-approver", groups: []string{"system:authenticated"}}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: approver.user}},
	}
	if _, err := clientset.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = clientset.RbacV1().ClusterRoleBindings().Delete(ctx, binding.Name, metav1.DeleteOptions{})
		_ = clientset.RbacV1().ClusterRoles().Delete(ctx, role.Name, metav1.DeleteOptions{})
	})
	c := impersonating(t, approver)
	for i, tc := range []struct {
		signer string
		may    bool
	}{
		{"templates.nstanceclusterissuers.issuer.nstance.dev/cluster-ca.kubelet-server", true},
		{"templates.nstanceclusterissuers.issuer.nstance.dev/cluster-ca.web", false},
		{"templates.nstanceclusterissuers.issuer.nstance.dev/other-ca.kubelet-server", false},
		{"nstanceclusterissuers.issuer.nstance.dev/cluster-ca", false},
	} {
		csr := createCSR(t, fmt.Sprintf("docs-approve-%d", i), tc.signer, certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth)
		t.Cleanup(func() {
			_ = clientset.CertificatesV1().CertificateSigningRequests().Delete(ctx, csr.Name, metav1.DeleteOptions{})
		})
		csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "Docs", Message: "approved by the docs' approver"})
		_, err := c.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{})
		if tc.may {
			wantOK(t, "approve a CSR for "+tc.signer, err)
		} else {
			wantForbidden(t, "approve a CSR for "+tc.signer, err)
		}
	}
}
