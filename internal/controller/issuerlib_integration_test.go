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
	"fmt"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/test/framework"
)

// watchReadyStates approves cr and returns, for every change the API server
// made to it after the approval, its Ready condition as "Status/Reason"
// ("none" without one), until done says a state is final.
func watchReadyStates(t *testing.T, cr *cmapi.CertificateRequest, done func(*cmapi.CertificateRequest) bool) []string {
	t.Helper()
	wc, err := client.NewWithWatch(manager.GetConfig(), client.Options{Scheme: k8s.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), framework.Timeout)
	defer cancel()
	w, err := wc.Watch(ctx, &cmapi.CertificateRequestList{}, client.InNamespace(cr.Namespace),
		client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", cr.Name)})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	approve(t, cr)
	var states []string
	approved := false
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watch closed; states so far %v", states)
			}
			if ev.Type != watch.Modified && ev.Type != watch.Added {
				continue
			}
			cur := ev.Object.(*cmapi.CertificateRequest)
			isApproved := false
			for _, c := range cur.Status.Conditions {
				isApproved = isApproved || c.Type == cmapi.CertificateRequestConditionApproved
			}
			if !isApproved {
				continue // the creation, before the approval
			}
			if !approved {
				approved = true // the approval itself
				if ready := framework.RequestReady(cur); ready != nil {
					t.Fatalf("Ready condition before the approval: %+v", ready)
				}
				continue
			}
			state := "none"
			if ready := framework.RequestReady(cur); ready != nil {
				state = fmt.Sprintf("%s/%s", ready.Status, ready.Reason)
			}
			states = append(states, state)
			if done(cur) {
				// Anything written after the final state would show up here.
				select {
				case ev := <-w.ResultChan():
					if ev.Type == watch.Modified {
						t.Errorf("a further write after %s: %+v", state, framework.RequestReady(ev.Object.(*cmapi.CertificateRequest)))
					}
				case <-time.After(framework.Window): // a stated window for a late write
				}
				return states
			}
		case <-ctx.Done():
			t.Fatalf("timed out; Ready states after approval: %v", states)
		}
	}
}

// issuer-lib alone writes every request twice (Ready=Unknown/Initializing,
// then the result) and records two Events for each certificate. The
// manager writes it once (singleWriteManager) with one Event
// (withoutGenericIssuedEvent), as cert-manager's own issuers do.
func TestRequestStatusIsWrittenOnce(t *testing.T) {
	t.Run("signed", func(t *testing.T) {
		ns := namespaceWithWebIssuer(t, "Single Write CA")
		cr := createCertificateRequest(t, ns, issuerRef("NstanceIssuer", "web"), csrPEM(t, "x", "app."+ns+".example.com"), time.Hour, nil)
		states := watchReadyStates(t, cr, func(cur *cmapi.CertificateRequest) bool {
			r := framework.RequestReady(cur)
			return r != nil && r.Status == cmmeta.ConditionTrue
		})
		if strings.Join(states, ",") != "True/Issued" {
			t.Errorf("Ready states after approval = %v, want one write: [True/Issued]", states)
		}
		if got := getCR(t, cr); len(got.Status.Certificate) == 0 || len(got.Status.CA) == 0 {
			t.Errorf("the single write lacks the certificate or CA: %d/%d bytes", len(got.Status.Certificate), len(got.Status.CA))
		}
		// One Event per certificate: ours, not issuer-lib's generic one too.
		waitEvent(t, ns, cr.Name, "CertificateIssued")
		// The recorder sends asynchronously: watch a window for a second one.
		consistently(t, "exactly one Event about the request", func(context.Context) error {
			var reasons []string
			for _, e := range eventsFor(t, ns, cr.Name) {
				reasons = append(reasons, e.Reason)
			}
			if strings.Join(reasons, ",") != "CertificateIssued" {
				return fmt.Errorf("Events about the request: %v, want exactly [CertificateIssued]", reasons)
			}
			return nil
		})
	})
	t.Run("refused by policy", func(t *testing.T) {
		ns := namespaceWithWebIssuer(t, "Single Write Policy CA")
		cr := createCertificateRequest(t, ns, issuerRef("NstanceIssuer", "web"), csrPEM(t, "x", "app.elsewhere.example.org"), time.Hour,
			map[string]string{v1alpha1.TemplateAnnotation: "web"})
		states := watchReadyStates(t, cr, func(cur *cmapi.CertificateRequest) bool {
			r := framework.RequestReady(cur)
			return r != nil && r.Reason == cmapi.CertificateRequestReasonFailed
		})
		if strings.Join(states, ",") != "False/Failed" {
			t.Errorf("Ready states after approval = %v, want one write: [False/Failed]", states)
		}
	})
	t.Run("issuer missing", func(t *testing.T) {
		ns := newNamespace(t)
		cr := createCertificateRequest(t, ns, issuerRef("NstanceIssuer", "absent"), csrPEM(t, "x", "a.example.com"), time.Hour, nil)
		states := watchReadyStates(t, cr, func(cur *cmapi.CertificateRequest) bool {
			r := framework.RequestReady(cur)
			return r != nil && r.Reason == cmapi.CertificateRequestReasonPending
		})
		if strings.Join(states, ",") != "False/Pending" {
			t.Errorf("Ready states after approval = %v, want one write: [False/Pending]", states)
		}
	})
}

// The manager caches every request in the cluster; a finished one is kept
// without its PEM (SlimFinishedRequests), an unfinished one whole. The API
// server's object is untouched.
func TestManagerCachesFinishedRequestsSlim(t *testing.T) {
	ns := namespaceWithWebIssuer(t, "Slim Cache CA")
	waiting := createCertificateRequest(t, ns, issuerRef("NstanceIssuer", "web"), csrPEM(t, "x", "wait."+ns+".example.com"), time.Hour, nil)
	signed := createCertificateRequest(t, ns, issuerRef("NstanceIssuer", "web"), csrPEM(t, "x", "app."+ns+".example.com"), time.Hour, nil)
	approve(t, signed)
	if got := waitCRReady(t, signed); len(got.Status.Certificate) == 0 || len(got.Spec.Request) == 0 {
		t.Fatal("the API server's object lacks its certificate or CSR")
	}
	cached := func(cr *cmapi.CertificateRequest) *cmapi.CertificateRequest {
		var c cmapi.CertificateRequest
		if err := manager.GetCache().Get(context.Background(), client.ObjectKeyFromObject(cr), &c); err != nil {
			t.Fatal(err)
		}
		return &c
	}
	eventually(t, "the signed request slimmed in the manager's cache", func(context.Context) error {
		c := cached(signed)
		if len(c.Spec.Request) == 0 && len(c.Status.Certificate) == 0 && len(c.Status.CA) == 0 && framework.RequestReady(c) != nil {
			return nil
		}
		return fmt.Errorf("request %d B, certificate %d B, ca %d B", len(c.Spec.Request), len(c.Status.Certificate), len(c.Status.CA))
	})
	if c := cached(waiting); len(c.Spec.Request) == 0 {
		t.Error("an unapproved request lost its CSR in the cache: it could not be signed once approved")
	}
	// And the unfinished one is still signed from the cache once approved.
	approve(t, waiting)
	waitCRReady(t, waiting)
}
