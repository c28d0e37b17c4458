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

// Command kubectl-nstance is a kubectl plugin (kubectl nstance ...) for
// the people who write and use nstance-issuer's templates. Its explain
// command tells, without signing anything with the issuer's CA, what an
// issuer would do with a request: which template applies and why, the
// certificate it would sign, or the refusal with the controller's own
// message. Exit code 0: it would be issued; 1: it would not; 2: a usage
// error or an invalid issuer.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
	"github.com/nstance-dev/nstance-issuer/internal/explain"
)

const usage = `kubectl nstance explain: what would this issuer sign for this request, and why not?

Usage:
  kubectl nstance explain -f ISSUER.yaml [--request FILE | request flags] [-o text|json|yaml]
  kubectl nstance explain --from-cluster [--issuer KIND/NAME] [--request FILE | request flags]

The issuer (one of):
  -f, --filename FILE     a YAML file with an NstanceIssuer or NstanceClusterIssuer; its status.ca
                          (kubectl get -o yaml) gives the CA's subject and NotAfter. The file may also
                          hold the request (a Certificate or CertificateRequest).
  --from-cluster          read the issuer (and namespace labels) from the cluster with your kubeconfig
  --issuer KIND/NAME      which issuer, e.g. NstanceClusterIssuer/web (default: the request's issuerRef,
                          or the only issuer of the file)

The request (one of):
  --request FILE          a CSR (PEM), or a Certificate or CertificateRequest (YAML)
  request flags           a Certificate made of: --dns, --ip, --uri, --email (repeatable), --cn,
                          --organization, --duration (e.g. 720h), --is-ca, --usage (repeatable,
                          cert-manager's names), --key-algorithm RSA|ECDSA|Ed25519, --key-size
  --template NAME         the issuer.nstance.dev/template annotation (flags and a bare CSR)
  -n, --namespace NS      the request's namespace (default: the file's, else your kubeconfig's)
  --name NAME             the request's name (.Request.Name; default "explain")
  --namespace-labels K=V,...  the labels of the request's namespace, for templates that select
                          namespaces by label (read from the cluster with --from-cluster)

Output:
  -o, --output FORMAT     text (default), json or yaml
  --now TIME              decide as at this RFC 3339 time (default: now)
  --kubeconfig, --context as kubectl's

Exit code: 0 would be issued, 1 would be refused (or wait for the issuer), 2 usage or issuer error.
`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// list is a repeatable flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

// options are the command's flags.
type options struct {
	file, request, issuer, output, now, kubeconfig, context, namespace, name, template string
	fromCluster, isCA, templateSet                                                     bool
	dns, ips, uris, emails, usages                                                     list
	cn, organization, duration, keyAlgorithm, namespaceLabels                          string
	keySize                                                                            int
}

// run is the command; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "explain" {
		_, _ = fmt.Fprint(stderr, usage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return 0
		}
		return 2
	}
	var o options
	fs := flag.NewFlagSet("kubectl nstance explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { _, _ = fmt.Fprint(stderr, usage) }
	for _, n := range []string{"f", "filename"} {
		fs.StringVar(&o.file, n, "", "")
	}
	for _, n := range []string{"o", "output"} {
		fs.StringVar(&o.output, n, "text", "")
	}
	for _, n := range []string{"n", "namespace"} {
		fs.StringVar(&o.namespace, n, "", "")
	}
	fs.StringVar(&o.request, "request", "", "")
	fs.StringVar(&o.issuer, "issuer", "", "")
	fs.BoolVar(&o.fromCluster, "from-cluster", false, "")
	fs.StringVar(&o.now, "now", "", "")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "")
	fs.StringVar(&o.context, "context", "", "")
	fs.StringVar(&o.name, "name", "explain", "")
	fs.Func("template", "", func(v string) error { o.template, o.templateSet = v, true; return nil })
	fs.Var(&o.dns, "dns", "")
	fs.Var(&o.ips, "ip", "")
	fs.Var(&o.uris, "uri", "")
	fs.Var(&o.emails, "email", "")
	fs.Var(&o.usages, "usage", "")
	fs.StringVar(&o.cn, "cn", "", "")
	fs.StringVar(&o.organization, "organization", "", "")
	fs.StringVar(&o.duration, "duration", "", "")
	fs.BoolVar(&o.isCA, "is-ca", false, "")
	fs.StringVar(&o.keyAlgorithm, "key-algorithm", "", "")
	fs.IntVar(&o.keySize, "key-size", 0, "")
	fs.StringVar(&o.namespaceLabels, "namespace-labels", "", "")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		_, _ = fmt.Fprintf(stderr, "error: unexpected arguments %q (see kubectl nstance explain --help)\n", fs.Args())
		return 2
	}
	result, err := explainWith(ctx, o)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "error: %v\n", err)
		return 2
	}
	if err := explain.Write(stdout, result, o.output); err != nil {
		_, _ = fmt.Fprintf(stderr, "error: %v\n", err)
		return 2
	}
	return result.ExitCode()
}

// explainWith reads the issuer and the request the options name and
// explains.
func explainWith(ctx context.Context, o options) (explain.Result, error) {
	switch o.output {
	case "text", "json", "yaml":
	default:
		return explain.Result{}, fmt.Errorf("unknown --output %q: use text, json or yaml", o.output)
	}
	now := time.Now()
	if o.now != "" {
		t, err := time.Parse(time.RFC3339, o.now)
		if err != nil {
			return explain.Result{}, fmt.Errorf("--now: %w", err)
		}
		now = t
	}
	if (o.file == "") == !o.fromCluster {
		return explain.Result{}, errors.New("name the issuer with -f FILE or --from-cluster (one of them)")
	}
	var docs []explain.Parsed
	if o.file != "" {
		var err error
		if docs, err = parseFile(o.file); err != nil {
			return explain.Result{}, err
		}
	}
	cr, name, err := o.buildRequest(docs)
	if err != nil {
		return explain.Result{}, err
	}
	in := explain.Input{Request: cr, RequestName: name, Now: now}
	if o.namespaceLabels != "" {
		labels, err := parseLabels(o.namespaceLabels)
		if err != nil {
			return explain.Result{}, err
		}
		in.NamespaceLabels = func(context.Context, string) (map[string]string, error) { return labels, nil }
	}
	if o.fromCluster {
		c, defaultNS, err := o.client()
		if err != nil {
			return explain.Result{}, err
		}
		if cr.Namespace == "" {
			cr.Namespace = defaultNS
			in.RequestName = name + " (namespace " + defaultNS + ")"
		}
		if in.Issuer, err = issuerFromCluster(ctx, c, o.issuer, cr); err != nil {
			return explain.Result{}, err
		}
		if in.NamespaceLabels == nil {
			in.NamespaceLabels = func(ctx context.Context, ns string) (map[string]string, error) {
				n := &corev1.Namespace{}
				if err := c.Get(ctx, types.NamespacedName{Name: ns}, n); err != nil {
					return nil, fmt.Errorf("cannot read the labels of namespace %s: %w", ns, err)
				}
				return n.Labels, nil
			}
		}
	} else if in.Issuer, err = issuerFromFile(docs, o.issuer, cr); err != nil {
		return explain.Result{}, err
	}
	if cr.Namespace == "" && in.Issuer.GetNamespace() == "" {
		cr.Namespace = "default" // as kubectl
	}
	if ns := in.Issuer.GetNamespace(); ns != "" && cr.Namespace != ns {
		if cr.Namespace != "" {
			return explain.Result{}, fmt.Errorf("the request is in namespace %s, the NstanceIssuer in %s: an NstanceIssuer serves its own namespace only", cr.Namespace, ns)
		}
		cr.Namespace = ns
	}
	return explain.Explain(ctx, in)
}

func parseFile(path string) ([]explain.Parsed, error) {
	f, err := os.Open(path) //nolint:gosec // the user names the file to read
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, explain.MaxInputSize+1))
	if err != nil {
		return nil, err
	}
	docs, err := explain.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return docs, nil
}

// buildRequest is the request of --request, of the issuer file, or of the
// request flags.
func (o options) buildRequest(fileDocs []explain.Parsed) (*cmapi.CertificateRequest, string, error) {
	flagsSet := len(o.dns)+len(o.ips)+len(o.uris)+len(o.emails)+len(o.usages) > 0 || o.cn != "" || o.organization != "" || o.isCA || o.duration != "" || o.keyAlgorithm != ""
	var docs []explain.Parsed
	if o.request != "" {
		var err error
		if docs, err = parseFile(o.request); err != nil {
			return nil, "", err
		}
	} else {
		for _, d := range fileDocs {
			if d.Issuer == nil {
				docs = append(docs, d)
			}
		}
	}
	var duration *metav1.Duration
	if o.duration != "" {
		d, err := time.ParseDuration(o.duration)
		if err != nil {
			return nil, "", fmt.Errorf("--duration: %w", err)
		}
		duration = &metav1.Duration{Duration: d}
	}
	var template *string
	if o.templateSet {
		template = &o.template
	}
	switch {
	case len(docs) > 1:
		return nil, "", errors.New("the request file holds several requests; give one")
	case len(docs) == 1 && flagsSet:
		return nil, "", errors.New("give the request as a file or as flags, not both")
	case len(docs) == 1 && docs[0].CSR != nil:
		cr := explain.RequestFromCSR(docs[0].CSR, explain.CSROptions{
			Name: o.name, Namespace: o.namespace, Template: template, Duration: duration, IsCA: o.isCA, Usages: keyUsages(o.usages)})
		return cr, explain.RequestName("CSR", cr.Namespace, o.request), nil
	case len(docs) == 1 && docs[0].CertificateRequest != nil:
		cr := docs[0].CertificateRequest
		if err := o.overrideNamespace(&cr.ObjectMeta); err != nil {
			return nil, "", err
		}
		return cr, explain.RequestName("CertificateRequest", cr.Namespace, cr.Name), nil
	case len(docs) == 1 && docs[0].Certificate != nil:
		crt := docs[0].Certificate
		if err := o.overrideNamespace(&crt.ObjectMeta); err != nil {
			return nil, "", err
		}
		cr, err := explain.RequestFromCertificate(crt)
		return cr, explain.RequestName("Certificate", crt.Namespace, crt.Name), err
	case !flagsSet:
		return nil, "", errors.New("give a request: --request FILE, or flags such as --dns a.example.com")
	}
	crt := &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Name: o.name, Namespace: o.namespace},
		Spec: cmapi.CertificateSpec{
			CommonName: o.cn, DNSNames: o.dns, IPAddresses: o.ips, URIs: o.uris, EmailAddresses: o.emails,
			Duration: duration, IsCA: o.isCA, Usages: keyUsages(o.usages), SecretName: o.name,
			IssuerRef: cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group},
		},
	}
	if o.organization != "" {
		crt.Spec.Subject = &cmapi.X509Subject{Organizations: []string{o.organization}}
	}
	if o.keyAlgorithm != "" || o.keySize != 0 {
		crt.Spec.PrivateKey = &cmapi.CertificatePrivateKey{Algorithm: cmapi.PrivateKeyAlgorithm(o.keyAlgorithm), Size: o.keySize}
	}
	if template != nil {
		crt.Annotations = map[string]string{v1alpha1.TemplateAnnotation: *template}
	}
	for _, ip := range o.ips {
		if net.ParseIP(ip) == nil {
			return nil, "", fmt.Errorf("--ip %q is not an IP address", ip)
		}
	}
	cr, err := explain.RequestFromCertificate(crt)
	return cr, explain.RequestName("Certificate (from flags)", crt.Namespace, crt.Name), err
}

// overrideNamespace applies -n to a request read from a file.
func (o options) overrideNamespace(m *metav1.ObjectMeta) error {
	switch {
	case o.namespace == "":
	case m.Namespace == "":
		m.Namespace = o.namespace
	case m.Namespace != o.namespace:
		return fmt.Errorf("the request is in namespace %s, not %s", m.Namespace, o.namespace)
	}
	return nil
}

func keyUsages(names []string) []cmapi.KeyUsage {
	var out []cmapi.KeyUsage
	for _, n := range names {
		out = append(out, cmapi.KeyUsage(n))
	}
	return out
}

func parseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	for kv := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--namespace-labels: %q is not key=value", kv)
		}
		out[k] = v
	}
	return out, nil
}

// wantIssuer is the issuer --issuer or the request's issuerRef names:
// kind and name; ok false when neither names one.
func wantIssuer(flag string, cr *cmapi.CertificateRequest) (kind, name string, ok bool, err error) {
	if flag != "" {
		kind, name, ok = strings.Cut(flag, "/")
		if !ok || name == "" {
			return "", "", false, fmt.Errorf("--issuer %q: use KIND/NAME, e.g. NstanceClusterIssuer/web", flag)
		}
		switch strings.ToLower(kind) {
		case "nstanceissuer", "nstanceissuers":
			kind = issuer.KindIssuer
		case "nstanceclusterissuer", "nstanceclusterissuers":
			kind = issuer.KindClusterIssuer
		default:
			return "", "", false, fmt.Errorf("--issuer %q: the kind is NstanceIssuer or NstanceClusterIssuer", flag)
		}
		return kind, name, true, nil
	}
	if ref := cr.Spec.IssuerRef; ref.Name != "" && ref.Group == v1alpha1.GroupVersion.Group {
		return ref.Kind, ref.Name, true, nil
	}
	return "", "", false, nil
}

func issuerFromFile(docs []explain.Parsed, flag string, cr *cmapi.CertificateRequest) (issuerapi.Issuer, error) {
	kind, name, named, err := wantIssuer(flag, cr)
	if err != nil {
		return nil, err
	}
	var found []issuerapi.Issuer
	for _, d := range docs {
		if d.Issuer == nil {
			continue
		}
		k := issuer.KindClusterIssuer
		if _, ok := d.Issuer.(*v1alpha1.NstanceIssuer); ok {
			k = issuer.KindIssuer
		}
		if !named || (k == kind && d.Issuer.GetName() == name) {
			found = append(found, d.Issuer)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) == 0 && named:
		return nil, fmt.Errorf("the file holds no %s %s", kind, name)
	case len(found) == 0:
		return nil, errors.New("the file holds no NstanceIssuer or NstanceClusterIssuer")
	}
	return nil, errors.New("the file holds several issuers: choose one with --issuer KIND/NAME")
}

// client is a client of the cluster the kubeconfig (or --kubeconfig,
// --context) names, and the namespace it defaults to.
func (o options) client() (client.Client, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.kubeconfig
	cfg := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: o.context})
	rest, err := cfg.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("cannot load a kubeconfig: %w", err)
	}
	ns, _, err := cfg.Namespace()
	if err != nil {
		return nil, "", err
	}
	if o.namespace != "" {
		ns = o.namespace
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, "", err
		}
	}
	c, err := client.New(rest, client.Options{Scheme: scheme})
	return c, ns, err
}

func issuerFromCluster(ctx context.Context, c client.Client, flag string, cr *cmapi.CertificateRequest) (issuerapi.Issuer, error) {
	kind, name, named, err := wantIssuer(flag, cr)
	if err != nil {
		return nil, err
	}
	if !named {
		return nil, errors.New("name the issuer: --issuer KIND/NAME, or a request whose issuerRef names one")
	}
	obj := issuer.NewObject(kind)
	if obj == nil {
		return nil, fmt.Errorf("the request's issuerRef names kind %q, not an NstanceIssuer or NstanceClusterIssuer", kind)
	}
	key := types.NamespacedName{Name: name}
	if kind == issuer.KindIssuer {
		key.Namespace = cr.Namespace
	}
	if err := c.Get(ctx, key, obj); err != nil {
		return nil, fmt.Errorf("cannot read %s %s: %w", kind, key, err)
	}
	return obj.(issuerapi.Issuer), nil
}
