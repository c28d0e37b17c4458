//go:build e2e

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

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"sync"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// stackLogs collects what every component of the local stack logs: the
// nstance-issuer manager (controller-runtime's logger, down to V(2)),
// cert-manager's controllers (klog), kube-apiserver and etcd.
var stackLogs = &syncBuffer{}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// captureLogs sends the in-process loggers to stackLogs.
func captureLogs() {
	ctrl.SetLogger(zap.New(zap.WriteTo(stackLogs), zap.Level(zapcore.Level(-2))))
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	Expect(fs.Set("logtostderr", "false")).To(Succeed())
	Expect(fs.Set("v", "2")).To(Succeed())
	klog.SetOutput(stackLogs)
}

// scanForKeyMaterial fails the suite when any private key (a PEM private
// key header, or the DER of any key held in a Secret of the run, raw or in
// base64) appears in the captured logs, in an Event or in the status of an
// issuer, request or certificate. It also checks that it scanned something,
// so that it can fail.
func scanForKeyMaterial(ctx context.Context) {
	var secrets corev1.SecretList
	Expect(k8s.List(ctx, &secrets)).To(Succeed())
	var needles [][]byte
	keys := 0
	for _, s := range secrets.Items {
		rest := s.Data[corev1.TLSPrivateKeyKey]
		for {
			var block *pem.Block
			if block, rest = pem.Decode(rest); block == nil {
				break
			}
			if len(block.Bytes) < 64 {
				continue
			}
			keys++
			b64 := base64.StdEncoding.EncodeToString(block.Bytes)
			mid := len(block.Bytes) / 2
			needles = append(needles, block.Bytes[mid:mid+24], []byte(b64[16:56]), []byte(b64[len(b64)/2:len(b64)/2+40]))
		}
	}
	// A full run must have something to find, or the scan proves nothing.
	// A run of some specs only (-ginkgo.focus, -ginkgo.skip, a label
	// filter) scans what it left, however little.
	suite, _ := GinkgoConfiguration()
	partial := len(suite.FocusStrings)+len(suite.FocusFiles)+len(suite.SkipStrings)+len(suite.SkipFiles) > 0 || suite.LabelFilter != ""
	if !partial {
		Expect(keys).To(BeNumerically(">", 3), "the run should have left CA and leaf keys in Secrets to look for")
	}

	haystacks := map[string][]byte{"logs of the stack": stackLogs.Bytes()}
	Expect(len(haystacks["logs of the stack"])).To(BeNumerically(">", 1000), "the stack's logs were not captured")
	add := func(name string, list client.ObjectList) {
		Expect(k8s.List(ctx, list)).To(Succeed())
		b, err := json.Marshal(list)
		Expect(err).NotTo(HaveOccurred())
		haystacks[name] = b
	}
	add("Events", &corev1.EventList{})
	add("events.k8s.io Events", &eventsv1.EventList{})
	add("NstanceIssuers", &v1alpha1.NstanceIssuerList{})
	add("NstanceClusterIssuers", &v1alpha1.NstanceClusterIssuerList{})
	add("CertificateRequests", &cmapi.CertificateRequestList{})
	add("Certificates", &cmapi.CertificateList{})
	add("Issuers", &cmapi.IssuerList{})
	add("ClusterIssuers", &cmapi.ClusterIssuerList{})
	add("CertificateSigningRequests", &certificatesv1.CertificateSigningRequestList{})
	if !partial {
		Expect(bytes.Count(haystacks["Events"], []byte(v1alpha1.EventReasonCertificateIssued))).To(BeNumerically(">", 0), "no issuance Events to scan")
	}

	// Byte fields of objects are base64 in JSON: look for a PEM private key
	// header encoded at each of the three alignments too.
	headers := [][]byte{[]byte("PRIVATE KEY")}
	for k := range 3 {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, k), "PRIVATE KEY-----"...))
		headers = append(headers, []byte(enc[4:len(enc)-4]))
	}
	var hits []string
	for name, hay := range haystacks {
		for _, h := range headers {
			if i := bytes.Index(hay, h); i >= 0 {
				hits = append(hits, fmt.Sprintf("%s: a PEM private key header (%q) at byte %d", name, h, i))
			}
		}
		for _, n := range needles {
			if bytes.Contains(hay, n) {
				hits = append(hits, fmt.Sprintf("%s: bytes of a private key held in a Secret", name))
				break
			}
		}
	}
	GinkgoWriter.Printf("scanned %d bytes of logs and %d kinds of objects for %d private keys\n", len(haystacks["logs of the stack"]), len(haystacks)-1, keys)
	Expect(hits).To(BeEmpty(), "private key material leaked")
}
