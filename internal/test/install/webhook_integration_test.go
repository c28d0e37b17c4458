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
	"slices"
	"strconv"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/nstance-dev/nstance-issuer/internal/webhook"
)

// flagsOf maps the controller's --name=value arguments.
func flagsOf(c corev1.Container) map[string]string {
	out := map[string]string{}
	for _, a := range c.Args {
		if k, v, ok := strings.Cut(strings.TrimPrefix(a, "--"), "="); ok {
			out[k] = v
		}
	}
	return out
}

// TestWebhookInstallsAgreeWithTheController renders the webhook of the
// chart (both certificate sources, and off) and of config/default, and
// checks that the pieces name each other: the configuration's webhooks are
// webhook.Configuration's, they call the Service the controller's
// certificate is for, on the port it serves, the controller keeps the
// caBundle of that configuration (or cert-manager's cainjector does, from
// the Certificate whose Secret the controller reads), and the RBAC lets
// it write exactly its CA Secret and that configuration.
func TestWebhookInstallsAgreeWithTheController(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		objs          func(t *testing.T) []*unstructured.Unstructured
		certManager   bool
		failurePolicy admissionregistrationv1.FailurePolicyType
	}{
		{name: "chart defaults", objs: func(t *testing.T) []*unstructured.Unstructured { return renderChart(t, "hooks", "hooks-ns") }, failurePolicy: admissionregistrationv1.Fail},
		{name: "chart with failurePolicy Ignore", failurePolicy: admissionregistrationv1.Ignore, objs: func(t *testing.T) []*unstructured.Unstructured {
			return renderChart(t, "hooks", "hooks-ns", "--set", "webhook.failurePolicy=Ignore")
		}},
		{name: "chart with cert-manager's certificate", certManager: true, failurePolicy: admissionregistrationv1.Fail, objs: func(t *testing.T) []*unstructured.Unstructured {
			return renderChart(t, "hooks", "hooks-ns", "--set", "webhook.certificate.source=cert-manager")
		}},
		{name: "config/default", objs: func(t *testing.T) []*unstructured.Unstructured { return renderKustomize(t, configDir+"/default") }, failurePolicy: admissionregistrationv1.Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			objs := tc.objs(t)
			d, c := managerContainer(t, objs)
			flags := flagsOf(c)
			ns := d.Namespace
			if flags["webhook-port"] == "" {
				t.Fatalf("the controller serves no webhook: %q", c.Args)
			}
			port := -1
			for _, p := range c.Ports {
				if p.Name == "webhook" {
					port = int(p.ContainerPort)
				}
			}
			if strconv.Itoa(port) != flags["webhook-port"] {
				t.Errorf("container port webhook %d, flag --webhook-port=%s", port, flags["webhook-port"])
			}
			svc := toTyped[corev1.Service](t, named(t, objs, "Service", flags["webhook-service"]))
			if svc.Namespace != ns || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.StrVal != "webhook" {
				t.Errorf("Service %s/%s does not send to the webhook port: %+v", svc.Namespace, svc.Name, svc.Spec.Ports)
			}
			vwcs := ofKind(objs, "ValidatingWebhookConfiguration")
			if len(vwcs) != 1 {
				t.Fatalf("%d ValidatingWebhookConfigurations, want 1", len(vwcs))
			}
			vwc := toTyped[admissionregistrationv1.ValidatingWebhookConfiguration](t, vwcs[0])
			svcPort := svc.Spec.Ports[0].Port
			want := webhook.Configuration(vwc.Name, tc.failurePolicy, func(path string) admissionregistrationv1.WebhookClientConfig {
				return admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Name: svc.Name, Namespace: ns, Path: &path, Port: &svcPort}}
			})
			if diff := specDiff(vwc.Webhooks, want.Webhooks); diff != "" {
				t.Errorf("the webhooks are not webhook.Configuration's: %s", diff)
			}
			if tc.certManager {
				crt := named(t, objs, "Certificate", vwc.Name)
				if got := vwc.Annotations["cert-manager.io/inject-ca-from"]; got != ns+"/"+crt.GetName() {
					t.Errorf("cainjector injects from %q, want the Certificate %s/%s", got, ns, crt.GetName())
				}
				dnsNames, _, _ := unstructured.NestedStringSlice(crt.Object, "spec", "dnsNames")
				if !slices.Contains(dnsNames, svc.Name+"."+ns+".svc") {
					t.Errorf("the Certificate is for %v, not the Service %s.%s.svc", dnsNames, svc.Name, ns)
				}
				secret, _, _ := unstructured.NestedString(crt.Object, "spec", "secretName")
				mounted := false
				for _, m := range c.VolumeMounts {
					for _, v := range d.Spec.Template.Spec.Volumes {
						if v.Name == m.Name && v.Secret != nil && v.Secret.SecretName == secret && m.MountPath == flags["webhook-cert-dir"] {
							mounted = true
						}
					}
				}
				if !mounted {
					t.Errorf("the Certificate's Secret %s is not mounted at --webhook-cert-dir=%s", secret, flags["webhook-cert-dir"])
				}
				if _, ok := flags["webhook-configuration"]; ok {
					t.Errorf("the controller injects a caBundle beside cert-manager's cainjector: %q", c.Args)
				}
				return
			}
			if flags["webhook-configuration"] != vwc.Name {
				t.Errorf("the controller injects into %q, the configuration is %q", flags["webhook-configuration"], vwc.Name)
			}
			var rules []rbacv1.PolicyRule
			for _, kind := range []string{"Role", "ClusterRole"} {
				for _, o := range ofKind(objs, kind) {
					r := toTyped[rbacv1.ClusterRole](t, o)
					if kind == "Role" && o.GetNamespace() != ns {
						continue
					}
					rules = append(rules, r.Rules...)
				}
			}
			grants := func(group, resource, name, verb string) bool {
				return slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool {
					return slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) &&
						(len(r.ResourceNames) == 0 || slices.Contains(r.ResourceNames, name))
				})
			}
			for _, verb := range []string{"get", "update"} {
				if !grants("", "secrets", flags["webhook-ca-secret"], verb) {
					t.Errorf("the controller may not %s its webhook CA Secret %s/%s", verb, ns, flags["webhook-ca-secret"])
				}
				if !grants("admissionregistration.k8s.io", "validatingwebhookconfigurations", vwc.Name, verb) {
					t.Errorf("the controller may not %s ValidatingWebhookConfiguration %s", verb, vwc.Name)
				}
			}
			if grants("admissionregistration.k8s.io", "validatingwebhookconfigurations", "someone-elses", "update") {
				t.Errorf("the controller may update every ValidatingWebhookConfiguration")
			}
		})
	}
	t.Run("chart without the webhook", func(t *testing.T) {
		t.Parallel()
		objs := renderChart(t, "hooks", "hooks-ns", "--set", "webhook.enabled=false")
		_, c := managerContainer(t, objs)
		if flags := flagsOf(c); flags["webhook-port"] != "" {
			t.Errorf("the controller serves a webhook: %q", c.Args)
		}
		wantNone(t, objs, "ValidatingWebhookConfiguration")
	})
}
