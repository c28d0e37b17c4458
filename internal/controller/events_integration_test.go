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
	"os"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/eventrec"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
)

// A signed request gets exactly one CertificateIssued Event, with every
// field the manager wrote when it recorded through client-go's
// broadcaster: the request as regarding object, the issuer as related,
// the serial of the certificate in the note, the reporting controller and
// instance, the action and type.
func TestCertificateIssuedEventCarriesEveryField(t *testing.T) {
	ns, _, iss := readyWebIssuer(t, "Event Fields CA", nil)
	cr := createCertificateRequest(t, ns, issuerRef("NstanceIssuer", "web"), csrPEM(t, "e", "e."+ns+".example.com"), time.Hour, nil)
	approve(t, cr)
	cr = waitCRReady(t, cr)
	leaf := parseChain(t, cr.Status.Certificate)[0]
	waitEvent(t, ns, cr.Name, v1alpha1.EventReasonCertificateIssued)
	var e eventsv1.Event
	consistently(t, "exactly one CertificateIssued Event", func(context.Context) error {
		var issued []eventsv1.Event
		for _, ev := range eventsFor(t, ns, cr.Name) {
			if ev.Reason == v1alpha1.EventReasonCertificateIssued {
				issued = append(issued, ev)
			}
		}
		if len(issued) != 1 {
			return fmt.Errorf("%d CertificateIssued Events, want 1", len(issued))
		}
		e = issued[0]
		return nil
	})
	hostname, _ := os.Hostname()
	for _, c := range []struct{ field, got, want string }{
		{"type", e.Type, corev1.EventTypeNormal},
		{"action", e.Action, issuer.EventActionSign},
		{"reporting controller", e.ReportingController, issuer.FieldOwner},
		{"reporting instance", e.ReportingInstance, issuer.FieldOwner + "-" + hostname},
		{"regarding", fmt.Sprintf("%s %s %s/%s %s", e.Regarding.APIVersion, e.Regarding.Kind, e.Regarding.Namespace, e.Regarding.Name, e.Regarding.UID),
			fmt.Sprintf("%s %s %s/%s %s", cmapi.SchemeGroupVersion, cmapi.CertificateRequestKind, ns, cr.Name, cr.UID)},
		{"series", fmt.Sprint(e.Series), "nil"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	if r := e.Related; r == nil || r.Kind != "NstanceIssuer" || r.Namespace != ns || r.Name != iss.Name || r.UID != iss.UID {
		t.Errorf("related = %+v, want the NstanceIssuer %s/%s (%s)", r, ns, iss.Name, iss.UID)
	}
	if want := "Issued certificate serial " + pki.FormatSerial(leaf) + " from template web, valid until"; !strings.HasPrefix(e.Note, want) {
		t.Errorf("note = %q, want it to start with %q", e.Note, want)
	}
	if !strings.HasPrefix(e.Name, cr.Name+".") || e.EventTime.IsZero() {
		t.Errorf("Event %q at %v, want the name %s.<time> and an event time", e.Name, e.EventTime, cr.Name)
	}
}

// The recorder's series patch is accepted by a real API server: an Event
// recorded twice about one object is one Event with a series of 2.
func TestRepeatedEventIsPatchedIntoASeries(t *testing.T) {
	ns := newNamespace(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	r := eventrec.New(manager.GetScheme(), clientset.EventsV1(), "eventrec-test", eventrec.Options{})
	go func() { _ = r.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	obj := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repeated", UID: "cm-uid"}}
	r.Eventf(obj, nil, corev1.EventTypeWarning, "Repeated", "Check", "first")
	waitEvent(t, ns, obj.Name, "Repeated")
	r.Eventf(obj, nil, corev1.EventTypeWarning, "Repeated", "Check", "second")
	eventually(t, "a series of 2", func(context.Context) error {
		evs := eventsFor(t, ns, obj.Name)
		if len(evs) != 1 || evs[0].Series == nil || evs[0].Series.Count != 2 || evs[0].Note != "first" {
			return errors.New("not yet one Event with a series of 2")
		}
		return nil
	})
}
