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

package explain

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"io"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmcontroller "github.com/cert-manager/cert-manager/pkg/controller"
	cmpki "github.com/cert-manager/cert-manager/pkg/util/pki"
	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
)

// MaxInputSize bounds what explain reads of one file.
const MaxInputSize = 1 << 20

// copiedAnnotationPrefixes are cert-manager's default
// --copied-annotation-prefixes: what of a Certificate's annotations its
// CertificateRequests carry.
var copiedAnnotationPrefixes = []string{"*", "-kubectl.kubernetes.io/", "-fluxcd.io/", "-argocd.argoproj.io/"}

// RequestFromCertificate is the CertificateRequest cert-manager would
// make for crt (revision 1): its CSR from cert-manager's own builder with
// its default feature gates, signed by a new key of crt's spec.privateKey,
// and crt's annotations, duration, isCA and usages.
func RequestFromCertificate(crt *cmapi.Certificate) (*cmapi.CertificateRequest, error) {
	key, err := cmpki.GeneratePrivateKeyForCertificate(crt)
	if err != nil {
		return nil, fmt.Errorf("cannot make a key for Certificate %s: %w", crt.Name, err)
	}
	csr, err := cmpki.GenerateCSR(crt,
		cmpki.WithUseLiteralSubject(true), cmpki.WithEncodeBasicConstraintsInRequest(false),
		cmpki.WithNameConstraints(true), cmpki.WithOtherNames(true))
	if err != nil {
		return nil, fmt.Errorf("cert-manager would not make a request for Certificate %s: %w", crt.Name, err)
	}
	der, err := cmpki.EncodeCSR(csr, key)
	if err != nil {
		return nil, err
	}
	annotations := cmcontroller.BuildAnnotationsToCopy(crt.Annotations, copiedAnnotationPrefixes)
	annotations[cmapi.CertificateRequestRevisionAnnotationKey] = "1"
	annotations[cmapi.CertificateNameKey] = crt.Name
	return &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Name: crt.Name + "-1", Namespace: crt.Namespace, Annotations: annotations, Labels: crt.Labels},
		Spec: cmapi.CertificateRequestSpec{
			Duration: crt.Spec.Duration, IssuerRef: crt.Spec.IssuerRef, IsCA: crt.Spec.IsCA, Usages: crt.Spec.Usages,
			Request: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
		},
	}, nil
}

// CSROptions are what a bare CSR does not say: where and how it is asked.
type CSROptions struct {
	Name, Namespace string
	// Template is the template annotation's value; nil: no annotation.
	Template *string
	Duration *metav1.Duration
	IsCA     bool
	Usages   []cmapi.KeyUsage
}

// RequestFromCSR is a CertificateRequest for a PEM CSR.
func RequestFromCSR(csrPEM []byte, o CSROptions) *cmapi.CertificateRequest {
	cr := &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace},
		Spec:       cmapi.CertificateRequestSpec{Request: csrPEM, Duration: o.Duration, IsCA: o.IsCA, Usages: o.Usages},
	}
	if o.Template != nil {
		cr.Annotations = map[string]string{v1alpha1.TemplateAnnotation: *o.Template}
	}
	return cr
}

// Parsed is what a file held: an issuer, a Certificate, a
// CertificateRequest or a CSR.
type Parsed struct {
	// Issuer is an *v1alpha1.NstanceIssuer or *v1alpha1.NstanceClusterIssuer.
	Issuer             issuerapi.Issuer
	Certificate        *cmapi.Certificate
	CertificateRequest *cmapi.CertificateRequest
	CSR                []byte
}

// typeMeta reads a document's apiVersion and kind.
type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// Parse reads the documents of a YAML (or JSON) file, or a PEM CSR. Each
// document is decoded strictly: a misspelt field is an error, not a
// silently ignored setting.
func Parse(data []byte) ([]Parsed, error) {
	if len(data) > MaxInputSize {
		return nil, fmt.Errorf("the input is %d bytes, more than the %d read", len(data), MaxInputSize)
	}
	if b, _ := pem.Decode(data); b != nil {
		if b.Type != "CERTIFICATE REQUEST" && b.Type != "NEW CERTIFICATE REQUEST" {
			return nil, fmt.Errorf("a PEM block of type %s, not a CERTIFICATE REQUEST", b.Type)
		}
		return []Parsed{{CSR: data}}, nil
	}
	var out []Parsed
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for i := 0; ; i++ {
		var raw map[string]any
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		if len(raw) == 0 {
			continue
		}
		doc, err := yaml.Marshal(raw)
		if err != nil {
			return nil, err
		}
		var tm typeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, err
		}
		var p Parsed
		var target any
		switch {
		case tm.APIVersion == v1alpha1.GroupVersion.String() && tm.Kind == issuer.KindIssuer:
			o := &v1alpha1.NstanceIssuer{}
			p.Issuer, target = o, o
		case tm.APIVersion == v1alpha1.GroupVersion.String() && tm.Kind == issuer.KindClusterIssuer:
			o := &v1alpha1.NstanceClusterIssuer{}
			p.Issuer, target = o, o
		case tm.APIVersion == cmapi.SchemeGroupVersion.String() && tm.Kind == cmapi.CertificateKind:
			p.Certificate = &cmapi.Certificate{}
			target = p.Certificate
		case tm.APIVersion == cmapi.SchemeGroupVersion.String() && tm.Kind == cmapi.CertificateRequestKind:
			p.CertificateRequest = &cmapi.CertificateRequest{}
			target = p.CertificateRequest
		default:
			return nil, fmt.Errorf("document %d is %s %s: explain reads NstanceIssuers, NstanceClusterIssuers, Certificates and CertificateRequests", i+1, tm.APIVersion, tm.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, target); err != nil {
			return nil, fmt.Errorf("document %d (%s): %w", i+1, tm.Kind, err)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, errors.New("the input holds no document")
	}
	return out, nil
}

// RequestName names a request in the output: "Certificate team-a/web".
func RequestName(kind, namespace, name string) string {
	if namespace == "" {
		return kind + " " + name
	}
	return kind + " " + namespace + "/" + name
}
