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

package casecret

import (
	"bytes"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/nstance-dev/nstance-issuer/internal/pki"
)

func TestTrimCASecret(t *testing.T) {
	t.Parallel()
	big := func(n int) []byte { return bytes.Repeat([]byte("A"), n) }
	meta := metav1.ObjectMeta{
		Name: "ca", Namespace: "team-a", UID: "u1", ResourceVersion: "7",
		Labels:        map[string]string{"x": "y"},
		Annotations:   map[string]string{"kubectl.kubernetes.io/last-applied-configuration": string(big(100000))},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
	}
	cases := []struct {
		name     string
		data     map[string][]byte
		wantKeys []string
		wantErr  string
	}{
		{
			name:     "keeps the CA keys and drops every other key",
			data:     map[string][]byte{"tls.crt": []byte("c"), "tls.key": []byte("k"), "ca.crt": []byte("r"), "padding": big(1 << 20), "other": []byte("o")},
			wantKeys: []string{"ca.crt", "tls.crt", "tls.key"},
		},
		{
			name:     "a value at its limit is kept",
			data:     map[string][]byte{"tls.crt": big(pki.MaxCertChainPEMSize), "tls.key": big(pki.MaxPrivateKeyPEMSize)},
			wantKeys: []string{"tls.crt", "tls.key"},
		},
		{
			name:     "an oversized tls.crt is replaced by its size and reported like LoadCA",
			data:     map[string][]byte{"tls.crt": big(pki.MaxCertChainPEMSize + 1), "tls.key": []byte("k")},
			wantKeys: []string{"tls.key", "too-large/tls.crt"},
			wantErr:  "tls.crt is 95001 bytes, more than the 95000 allowed",
		},
		{
			name:     "an oversized tls.key is replaced by its size",
			data:     map[string][]byte{"tls.crt": []byte("c"), "tls.key": big(pki.MaxPrivateKeyPEMSize + 1)},
			wantKeys: []string{"tls.crt", "too-large/tls.key"},
			wantErr:  "tls.key is 13001 bytes, more than the 13000 allowed",
		},
		{
			name:     "an oversized ca.crt is replaced by its size",
			data:     map[string][]byte{"ca.crt": big(1 << 20)},
			wantKeys: []string{"too-large/ca.crt"},
			wantErr:  "ca.crt is 1048576 bytes",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := &corev1.Secret{ObjectMeta: *meta.DeepCopy(), Type: corev1.SecretTypeTLS, Data: tc.data}
			obj, err := trimCASecret(in)
			if err != nil {
				t.Fatal(err)
			}
			s := obj.(*corev1.Secret)
			if got := slices.Sorted(maps.Keys(s.Data)); !slices.Equal(got, tc.wantKeys) {
				t.Errorf("data keys %v, want %v", got, tc.wantKeys)
			}
			for k, v := range s.Data {
				if !strings.HasPrefix(k, tooLargePrefix) && !bytes.Equal(v, tc.data[k]) {
					t.Errorf("%s changed", k)
				}
			}
			if s.Labels != nil || s.Annotations != nil || s.ManagedFields != nil {
				t.Errorf("metadata kept: labels %v, %d annotations, managed fields %v", s.Labels, len(s.Annotations), s.ManagedFields)
			}
			if s.Name != "ca" || s.Namespace != "team-a" || s.UID != "u1" || s.ResourceVersion != "7" || s.Type != corev1.SecretTypeTLS {
				t.Errorf("identity lost: %+v", s.ObjectMeta)
			}
			if key, err := cache.MetaNamespaceKeyFunc(s); err != nil || key != "team-a/ca" {
				t.Errorf("store key %q, %v", key, err)
			}
			again, err := trimCASecret(s)
			if err != nil || !reflect.DeepEqual(again, s) {
				t.Errorf("trimming twice changed the object: %+v", again)
			}
			err = OversizedError(s)
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("unexpected error %v", err)
				}
				return
			}
			var caErr *pki.CAError
			if !errors.As(err, &caErr) || caErr.Reason != pki.ReasonTooLarge || !strings.Contains(caErr.Msg, tc.wantErr) {
				t.Errorf("error %v, want a %s CAError containing %q", err, pki.ReasonTooLarge, tc.wantErr)
			}
		})
	}
}

// TestOversizedCAErrorMatchesLoadCA keeps the message of a trimmed value
// the one pki.LoadCA gives for the value itself.
func TestOversizedCAErrorMatchesLoadCA(t *testing.T) {
	t.Parallel()
	crt := bytes.Repeat([]byte("A"), pki.MaxCertChainPEMSize+5)
	_, want := pki.LoadCA(crt, []byte("k"), nil, time.Now())
	obj, _ := trimCASecret(&corev1.Secret{Data: map[string][]byte{"tls.crt": crt, "tls.key": []byte("k")}})
	got := OversizedError(obj.(*corev1.Secret))
	if got == nil || want == nil || got.Error() != want.Error() {
		t.Fatalf("trimmed: %v\nLoadCA:  %v", got, want)
	}
}

func TestTrimCASecretPassesTombstones(t *testing.T) {
	t.Parallel()
	tomb := cache.DeletedFinalStateUnknown{Key: "a/b"}
	if got, err := trimCASecret(tomb); err != nil || got != tomb {
		t.Fatalf("got %v, %v", got, err)
	}
}
