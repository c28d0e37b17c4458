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

package localstack_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestStopAndStartAPIServerAndEtcd: kube-apiserver, then etcd alone, is
// stopped (the API refuses, or fails, a read) and started again: the same
// client reconnects by itself (same port, same serving certificate), the
// objects written before are still there (same etcd data), and
// cert-manager's controllers, which saw the outage, issue a Certificate
// created afterwards. It runs last: the file sorts after the others.
func TestStopAndStartAPIServerAndEtcd(t *testing.T) {
	ns := namespace(t)
	caIssuer(t, ns)
	before := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "before"}, Data: map[string]string{"k": "v"}}
	create(t, before)

	read := func(ctx context.Context) error {
		var cm corev1.ConfigMap
		if err := stack.Client.Get(ctx, client.ObjectKeyFromObject(before), &cm); err != nil {
			return err
		}
		if cm.Data["k"] != "v" {
			return fmt.Errorf("ConfigMap %s/before holds %v, want k=v", ns, cm.Data)
		}
		return nil
	}
	for _, part := range []struct {
		name        string
		stop        func(time.Duration) (time.Duration, bool, error)
		start       func() error
		certificate string
	}{
		{"kube-apiserver", stack.StopAPIServer, stack.StartAPIServer, "after-apiserver"},
		{"etcd", stack.StopEtcd, stack.StartEtcd, "after-etcd"},
	} {
		took, killed, err := part.stop(5 * time.Second)
		if err != nil {
			t.Fatalf("stopping %s: %v", part.name, err)
		}
		t.Logf("%s gone %s after SIGTERM (SIGKILL needed: %t)", part.name, took.Round(time.Millisecond), killed)
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		err = read(ctx)
		cancel()
		if err == nil {
			t.Errorf("a read succeeded with %s stopped", part.name)
		}
		if err := part.start(); err != nil {
			t.Fatalf("starting %s: %v", part.name, err)
		}
		eventually(t, "reading ConfigMap before after restarting "+part.name, read)
		create(t, leafCertificate(ns, part.certificate))
		waitReady(t, ns, part.certificate, part.certificate+".example.com")
	}
}
