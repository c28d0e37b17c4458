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
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

func TestBeginRefreshAt(t *testing.T) {
	t.Parallel()
	nb := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		lifetime time.Duration
		want     time.Duration // after notBefore
	}{
		{name: "two thirds into a day", lifetime: 24 * time.Hour, want: 16 * time.Hour},
		{name: "two thirds into the API's minimum hour", lifetime: time.Hour, want: 40 * time.Minute},
		{name: "never later than 10 minutes before notAfter", lifetime: 25 * time.Minute, want: 15 * time.Minute},
		{name: "whole seconds", lifetime: time.Hour + 30*time.Second, want: 40*time.Minute + 20*time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := BeginRefreshAt(nb, nb.Add(tc.lifetime))
			if got.Sub(nb) != tc.want {
				t.Errorf("beginRefreshAt = notBefore + %s, want + %s", got.Sub(nb), tc.want)
			}
		})
	}
}

func TestOurSigner(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"nstanceclusterissuers.issuer.nstance.dev/ca": true,
		"nstanceissuers.issuer.nstance.dev/ns.ca":     true,
		"kubernetes.io/kube-apiserver-client-pod":     false,
		"example.com/nstanceclusterissuers":           false,
	} {
		if got := ourSigner(name); got != want {
			t.Errorf("ourSigner(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestServedPodCertificateVersion(t *testing.T) {
	t.Parallel()
	list := func(resources ...string) string {
		var rs []string
		for _, r := range resources {
			rs = append(rs, `{"name":"`+r+`","namespaced":true,"kind":"X","verbs":["get"]}`)
		}
		return `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"certificates.k8s.io/x","resources":[` + strings.Join(rs, ",") + `]}`
	}
	cases := []struct {
		name   string
		served map[string]string // path → body; others 404
		want   string
	}{
		{name: "v1 where it is served", want: "v1", served: map[string]string{
			"/apis/certificates.k8s.io/v1":      list("certificatesigningrequests", "podcertificaterequests"),
			"/apis/certificates.k8s.io/v1beta1": list("podcertificaterequests"),
		}},
		{name: "v1beta1 where only it serves them", want: "v1beta1", served: map[string]string{
			"/apis/certificates.k8s.io/v1":      list("certificatesigningrequests"),
			"/apis/certificates.k8s.io/v1beta1": list("clustertrustbundles", "podcertificaterequests"),
		}},
		{name: "none: the controller is not started", want: "", served: map[string]string{
			"/apis/certificates.k8s.io/v1": list("certificatesigningrequests"),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, ok := tc.served[r.URL.Path]
				if !ok {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(body))
			}))
			defer srv.Close()
			got, err := ServedVersion(&rest.Config{Host: srv.URL})
			if err != nil || got != tc.want {
				t.Errorf("served version = %q (%v), want %q", got, err, tc.want)
			}
		})
	}
}

func TestNewReconcilerServesTheKnownVersions(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"v1", "v1beta1"} {
		if r, err := NewReconciler(nil, nil, nil, v); err != nil || r.API.version != v {
			t.Errorf("NewReconciler(%s) = %+v, %v", v, r, err)
		}
	}
	if _, err := NewReconciler(nil, nil, nil, "v2"); err == nil || !strings.Contains(err.Error(), `"v2"`) {
		t.Errorf("NewReconciler(v2) = %v, want an error naming the version", err)
	}
}
