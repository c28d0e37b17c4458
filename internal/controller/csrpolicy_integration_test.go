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
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/kubecsr"
)

// updateCR applies change to the current CertificateRequest cr and
// updates it, returning the API server's answer.
func updateCR(ctx context.Context, cr *cmapi.CertificateRequest, change func(*cmapi.CertificateRequest)) error {
	var cur cmapi.CertificateRequest
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(cr), &cur); err != nil {
		return err
	}
	if cur.Annotations == nil {
		cur.Annotations = map[string]string{}
	}
	change(&cur)
	return k8s.Update(ctx, &cur)
}

// TestCertificateRequestAnnotationPolicyKeepsTheTemplate installs the
// shipped CertificateRequest policy (CertificateRequestAnnotationPolicy)
// on the real API server: the template annotation of a request for an
// nstance-issuer issuer cannot be changed, added or removed after
// creation, nor its issuerRef moved; other annotations and other issuers'
// requests are untouched, and the request is still approved and signed
// (status writes are not matched).
func TestCertificateRequestAnnotationPolicyKeepsTheTemplate(t *testing.T) {
	ctx := t.Context()
	policy, binding := kubecsr.CertificateRequestAnnotationPolicy(kubecsr.DefaultCertificateRequestAnnotationPolicy)
	create(t, policy)
	create(t, binding)
	t.Cleanup(func() {
		_ = k8s.Delete(context.Background(), binding)
		_ = k8s.Delete(context.Background(), policy)
	})

	ns, ca, _ := readyWebIssuer(t, "CR Policy Root CA", nil)
	dns := "app." + ns + ".example.com"
	ours := createCertificateRequest(t, ns, issuerRef("NstanceIssuer", "web"), csrPEM(t, "x", dns), time.Hour, map[string]string{templateKey: "web"})
	bare := createCertificateRequest(t, ns, issuerRef("NstanceIssuer", "web"), csrPEM(t, "x", dns), time.Hour, nil)
	theirs := createCertificateRequest(t, ns, cmmeta.IssuerReference{Group: "cert-manager.io", Kind: "Issuer", Name: "ca"}, csrPEM(t, "x", dns), time.Hour,
		map[string]string{templateKey: "web"})

	// The API server loads a new policy within about a second: a probe
	// request's annotation changes until it is refused.
	probe := createCertificateRequest(t, ns, issuerRef("NstanceIssuer", "web"), csrPEM(t, "x", dns), time.Hour, map[string]string{templateKey: "web"})
	attempt := 0
	eventually(t, "the CertificateRequest policy enforced", func(ctx context.Context) error {
		attempt++ // a new value each time: an unchanged one is no change
		err := updateCR(ctx, probe, func(cr *cmapi.CertificateRequest) { cr.Annotations[templateKey] = fmt.Sprint("other-", attempt) })
		switch {
		case err == nil:
			return errors.New("a template annotation change was let through")
		case apierrors.IsForbidden(err):
			return nil
		}
		return err
	})

	refused := func(what string, cr *cmapi.CertificateRequest, change func(*cmapi.CertificateRequest), want ...string) {
		t.Helper()
		err := updateCR(ctx, cr, change)
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s: %v; want it refused", what, err)
			return
		}
		wantContains(t, what, err.Error(), want...)
	}
	frozen := []string{"annotation " + templateKey + " of CertificateRequest " + ns + "/", "cannot be added, changed or removed after it is created", "Create a new CertificateRequest"}
	refused("changing the template annotation", ours, func(cr *cmapi.CertificateRequest) { cr.Annotations[templateKey] = "wide" }, frozen...)
	refused("removing the template annotation", ours, func(cr *cmapi.CertificateRequest) { delete(cr.Annotations, templateKey) }, frozen...)
	refused("emptying the template annotation", ours, func(cr *cmapi.CertificateRequest) { cr.Annotations[templateKey] = "" }, frozen...)
	refused("adding a template annotation", bare, func(cr *cmapi.CertificateRequest) { cr.Annotations[templateKey] = "web" }, frozen...)
	// Without cert-manager's webhook (none runs here) the spec is writable:
	// a request may not leave the group with a new annotation, nor leave it
	// at all, nor join it.
	refused("moving the request to another issuer with a new annotation", ours, func(cr *cmapi.CertificateRequest) {
		cr.Spec.IssuerRef.Group, cr.Annotations[templateKey] = "cert-manager.io", "wide"
	}, frozen...)
	refused("moving the request to another issuer", ours, func(cr *cmapi.CertificateRequest) { cr.Spec.IssuerRef.Group = "cert-manager.io" },
		"spec.issuerRef of CertificateRequest "+ns+"/"+ours.Name+" cannot change after it is created")
	refused("moving another issuer's request to ours", theirs, func(cr *cmapi.CertificateRequest) { cr.Spec.IssuerRef = issuerRef("NstanceIssuer", "web") },
		"spec.issuerRef of CertificateRequest "+ns+"/"+theirs.Name+" cannot change after it is created")

	for what, c := range map[string]struct {
		cr     *cmapi.CertificateRequest
		change func(*cmapi.CertificateRequest)
	}{
		"another annotation of our request":         {ours, func(cr *cmapi.CertificateRequest) { cr.Annotations["example.com/note"] = "reviewed" }},
		"the template annotation of another issuer": {theirs, func(cr *cmapi.CertificateRequest) { cr.Annotations[templateKey] = "wide" }},
		"a label of our request":                    {ours, func(cr *cmapi.CertificateRequest) { cr.Labels = map[string]string{"team": "a"} }},
	} {
		if err := updateCR(ctx, c.cr, c.change); err != nil {
			t.Errorf("changing %s: %v; want it allowed", what, err)
		}
	}

	// Approval and signing write status only: the policy does not see them.
	approve(t, ours)
	signed := waitCRReady(t, ours)
	verifyChain(t, signed.Status.Certificate, ca.Cert, 0)
	if got := signed.Annotations[templateKey]; got != "web" {
		t.Errorf("template annotation %q after signing, want web", got)
	}
	if e := waitEvent(t, ns, ours.Name, v1alpha1.EventReasonCertificateIssued); !strings.Contains(e, "from template web") {
		t.Errorf("issued Event %q does not name template web", e)
	}
}
