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

package trust

import (
	"context"

	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	"github.com/cert-manager/issuer-lib/controllers/signer"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
)

// WithLiveRoots wraps issuer-lib's Sign to put every live root of the
// issuer in ca.crt when its spec.ca.trustBundle.caCrt is AllLiveRoots.
// Until the lifecycle controller has published the issuer's roots (just
// after a start), ca.crt holds the issuing root.
func (t *Publisher) WithLiveRoots(sign signer.Sign) signer.Sign {
	return func(ctx context.Context, cr signer.CertificateRequestObject, obj issuerapi.Issuer) (signer.PEMBundle, error) {
		bundle, err := sign(ctx, cr, obj)
		if err != nil {
			return bundle, err
		}
		v, verr := issuer.NewView(obj, t.ClusterResourceNamespace)
		if verr != nil {
			return bundle, nil //nolint:nilerr // signed already; ca.crt stays the issuing root
		}
		if tb := v.Spec.CA.TrustBundle; tb != nil && tb.CACrt == v1alpha1.CACrtAllLiveRoots {
			if roots := t.LiveRoots(v.Ref); len(roots) > 0 {
				bundle.CAPEM = roots
			}
		}
		return bundle, nil
	}
}
