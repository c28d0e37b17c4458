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
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/pki"
	"github.com/nstance-dev/nstance-issuer/internal/rotation"
	"github.com/nstance-dev/nstance-issuer/internal/test/testpki"
)

// GenerationsAnnotation is where an issuing CA Secret keeps its generation
// record (rotation.Record), which only the controller writes.
const GenerationsAnnotation = "issuer.nstance.dev/generations"

// EditGenerationRecord changes the generation record of the CA Secret key:
// a test's stand-in for time passing, or for a controller stopped mid-step.
func EditGenerationRecord(ctx context.Context, c client.Client, key client.ObjectKey, edit func(*rotation.Record) error) error {
	s := &corev1.Secret{}
	if err := c.Get(ctx, key, s); err != nil {
		return err
	}
	rec, err := rotation.ParseRecord(s.Annotations[GenerationsAnnotation])
	if err != nil {
		return err
	}
	if err := edit(&rec); err != nil {
		return err
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[GenerationsAnnotation] = rec.Encode()
	return c.Update(ctx, s)
}

// ExpireRetired moves until when every retired CA of the CA Secret key
// stays trusted to until (the last certificate each signed expiring,
// without waiting for it); there must be one.
func ExpireRetired(ctx context.Context, c client.Client, key client.ObjectKey, until time.Time) error {
	return EditGenerationRecord(ctx, c, key, func(rec *rotation.Record) error {
		if len(rec.Retired) == 0 {
			return fmt.Errorf("the CA Secret %s records no retired CA", key)
		}
		for i := range rec.Retired {
			rec.Retired[i].Until = until
		}
		return nil
	})
}

// IssuerStatus returns the status of an NstanceIssuer or
// NstanceClusterIssuer.
func IssuerStatus(obj client.Object) (*v1alpha1.IssuerStatus, error) {
	switch i := obj.(type) {
	case *v1alpha1.NstanceIssuer:
		return &i.Status, nil
	case *v1alpha1.NstanceClusterIssuer:
		return &i.Status, nil
	}
	return nil, fmt.Errorf("%T is not an issuer of ours", obj)
}

// RotationReached is met when the issuer's status.rotation is in phase
// with generations of exactly roles, in order; gens (when not nil) then
// receives the generations. obj is refreshed on every poll.
func RotationReached(c client.Client, obj client.Object, gens *[]v1alpha1.CAGeneration, phase v1alpha1.CARotationPhase, roles ...v1alpha1.CAGenerationRole) Condition {
	return func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		st, err := IssuerStatus(obj)
		if err != nil {
			return Stop(err)
		}
		if st.Rotation == nil {
			return errors.New("no status.rotation")
		}
		var have []v1alpha1.CAGenerationRole
		for _, g := range st.Rotation.Generations {
			have = append(have, g.Role)
		}
		if st.Rotation.Phase != phase || !slices.Equal(have, roles) {
			return fmt.Errorf("phase %s, generations %v", st.Rotation.Phase, have)
		}
		if gens != nil {
			*gens = st.Rotation.Generations
		}
		return nil
	}
}

// ClusterTrustBundlesHold is met when the ClusterTrustBundles of version
// (certificates.k8s.io "v1" or "v1beta1") that carry signerName hold
// exactly the roots with SHA-256 fingerprints fps, one root a bundle. A
// bundle not named after its signer ("<signerName with / as :>:<suffix>",
// as the API server requires) stops the wait.
func ClusterTrustBundlesHold(c client.Client, version, signerName string, fps ...string) Condition {
	prefix := strings.ReplaceAll(signerName, "/", ":") + ":"
	return func(ctx context.Context) error {
		list := &unstructured.UnstructuredList{}
		list.SetAPIVersion("certificates.k8s.io/" + version)
		list.SetKind("ClusterTrustBundleList")
		if err := c.List(ctx, list); err != nil {
			return err
		}
		var have []string
		for _, b := range list.Items {
			if signer, _, _ := unstructured.NestedString(b.Object, "spec", "signerName"); signer != signerName {
				continue
			}
			if !strings.HasPrefix(b.GetName(), prefix) {
				return Stop(fmt.Errorf("bundle %s is not named after its signer", b.GetName()))
			}
			pemData, _, _ := unstructured.NestedString(b.Object, "spec", "trustBundle")
			certs, err := testpki.ParseChain([]byte(pemData))
			if err != nil || len(certs) != 1 {
				return fmt.Errorf("bundle %s: %d certificates, %w", b.GetName(), len(certs), err)
			}
			have = append(have, pki.Fingerprint(certs[0]))
		}
		slices.Sort(have)
		if want := slices.Sorted(slices.Values(fps)); !slices.Equal(have, want) {
			return fmt.Errorf("bundles hold %v, want %v", have, want)
		}
		return nil
	}
}
