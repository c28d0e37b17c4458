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

package carotation

import (
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/nstance-dev/nstance-issuer/internal/controller/issuer"
)

// The leaf memo spares the re-issue's passes the live read of a
// Certificate's Secret whose certificate they have already verified.
//
// A pass follows every status write of the issuer besides the interval's,
// so without it each pass read the Secret of every counted Certificate:
// reads quadratic in the Certificates over a re-issue. The memo holds,
// per issuer and Certificate UID, which CA signed the certificate the
// Secret held when it was read (leafVerdict), with what the Certificate
// said about that certificate at the time. The verdict is reused only
// while all of it is unchanged:
//   - the rotation: the rotate-now token, the switch time and the
//     fingerprints of the issuing and retired CA certificates (another
//     rotation, or a retired generation dropped, starts afresh);
//   - the Certificate's UID (one re-created under its name is another);
//   - spec.secretName (another Secret);
//   - status.revision, which cert-manager increments with every
//     certificate it writes into the Secret (the Secret first, then the
//     revision, in one status write with the end of Issuing);
//   - status.notBefore and status.notAfter, which cert-manager's
//     readiness controller sets from the Secret's certificate whenever
//     the Secret changes, whoever wrote it;
//   - an issuance in progress when it was confirmed that has ended since
//     (Issuing no longer True): what it left is read.
//
// A Certificate with no certificate yet (no Secret, no tls.crt, or one
// that does not parse) is not remembered: it is read on each pass, as
// before, until it has one. The Secret's own resourceVersion is not part
// of the key: it cannot be known without the read the memo spares.
//
// The status stays derived from the API server: the memo only spares
// reads. A restart starts with an empty memo and reads each Secret once
// more. It is bounded (maxLeafMemo entries per controller, beyond which a
// pass reads live what it cannot remember), holds only the Certificates
// the issuer's last pass counted, and is dropped when the re-issue
// completes or the issuer goes.

// leafVerdict is which CA signed the certificate in a Certificate's Secret.
type leafVerdict uint8

const (
	// leafNone: no certificate (not read, no Secret, or none readable).
	leafNone leafVerdict = iota
	// leafOfIssuing: signed by the issuing CA.
	leafOfIssuing
	// leafOfRetired: signed by a retired CA generation of this issuer.
	leafOfRetired
	// leafOfOther: signed by no CA of this issuer's rotation.
	leafOfOther
)

// maxLeafMemo bounds the verdicts one controller remembers (about 150
// bytes each): an issuer's re-issue over more Certificates than this reads
// the rest live on each pass.
const maxLeafMemo = 50_000

// leafMemo remembers leaf verdicts per issuer; safe for concurrent use.
// The zero value is ready.
type leafMemo struct {
	mu      sync.Mutex
	max     int // 0: maxLeafMemo
	total   int
	issuers map[issuer.Ref]*issuerLeaves
}

// issuerLeaves is one issuer's verdicts, for one rotation. The map is
// never written once stored: a pass reads it without the lock and stores
// a new one.
type issuerLeaves struct {
	rotation string
	leaves   map[types.UID]leafEntry
}

// leafEntry is a verdict and what it was decided from.
type leafEntry struct {
	secretName          string
	revision            int // -1: none
	notBefore, notAfter time.Time
	issuing             bool // Issuing was True when last confirmed
	verdict             leafVerdict
}

func entryOf(crt *cmapi.Certificate, issuing bool, v leafVerdict) leafEntry {
	e := leafEntry{secretName: crt.Spec.SecretName, revision: -1, issuing: issuing, verdict: v}
	if r := crt.Status.Revision; r != nil {
		e.revision = *r
	}
	if t := crt.Status.NotBefore; t != nil {
		e.notBefore = t.Time
	}
	if t := crt.Status.NotAfter; t != nil {
		e.notAfter = t.Time
	}
	return e
}

// holds says whether e still describes the certificate crt holds.
func (e leafEntry) holds(now leafEntry) bool {
	return e.secretName == now.secretName && e.revision == now.revision &&
		e.notBefore.Equal(now.notBefore) && e.notAfter.Equal(now.notAfter) &&
		(!e.issuing || now.issuing)
}

// leafPass is one pass's use of the memo for one issuer.
type leafPass struct {
	memo     *leafMemo
	ref      issuer.Ref
	rotation string
	prev     map[types.UID]leafEntry // read only
	next     map[types.UID]leafEntry
	room     int // how many entries next may hold
	// Reads counts the Secrets this pass read; Full counts the verdicts
	// it could not remember.
	Reads, Full int
}

// begin starts a pass over the Certificates of ref for the rotation
// (token, switch time, CA fingerprints) identified by rotation.
func (m *leafMemo) begin(ref issuer.Ref, rotation string) *leafPass {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := &leafPass{memo: m, ref: ref, rotation: rotation, next: map[types.UID]leafEntry{}}
	others := m.total
	if il := m.issuers[ref]; il != nil {
		others -= len(il.leaves)
		if il.rotation == rotation {
			p.prev = il.leaves
		}
	}
	p.room = max(m.limit()-others, 0)
	return p
}

func (m *leafMemo) limit() int {
	if m.max <= 0 {
		return maxLeafMemo
	}
	return m.max
}

// lookup is the verdict remembered for crt, if it still holds.
func (p *leafPass) lookup(crt *cmapi.Certificate, issuing bool) (leafVerdict, bool) {
	e, ok := p.prev[crt.UID]
	now := entryOf(crt, issuing, e.verdict)
	if !ok || crt.UID == "" || !e.holds(now) {
		return leafNone, false
	}
	p.remember(crt.UID, now)
	return e.verdict, true
}

// read records a verdict read live from crt's Secret; a Certificate with
// no certificate yet is not remembered.
func (p *leafPass) read(crt *cmapi.Certificate, issuing bool, v leafVerdict) {
	p.Reads++
	if v != leafNone && crt.UID != "" {
		p.remember(crt.UID, entryOf(crt, issuing, v))
	}
}

func (p *leafPass) remember(uid types.UID, e leafEntry) {
	if _, ok := p.next[uid]; !ok && len(p.next) >= p.room {
		p.Full++
		return
	}
	p.next[uid] = e
}

// end stores the pass's verdicts. A complete pass keeps only the
// Certificates it counted; one cut short by an error keeps the previous
// verdicts too.
func (p *leafPass) end(complete bool) {
	leaves := p.next
	if !complete {
		for uid, e := range p.prev {
			if _, ok := leaves[uid]; !ok && len(leaves) < p.room {
				leaves[uid] = e
			}
		}
	}
	m := p.memo
	m.mu.Lock()
	defer m.mu.Unlock()
	if il := m.issuers[p.ref]; il != nil {
		m.total -= len(il.leaves)
	}
	// Other issuers' passes may have ended meanwhile: the bound holds.
	for uid := range leaves {
		if m.total+len(leaves) <= m.limit() {
			break
		}
		delete(leaves, uid)
	}
	if m.issuers == nil {
		m.issuers = map[issuer.Ref]*issuerLeaves{}
	}
	m.issuers[p.ref] = &issuerLeaves{rotation: p.rotation, leaves: leaves}
	m.total += len(leaves)
}

// forget drops the verdicts of ref: its re-issue completed, or it is gone.
func (m *leafMemo) forget(ref issuer.Ref) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if il := m.issuers[ref]; il != nil {
		m.total -= len(il.leaves)
		delete(m.issuers, ref)
	}
}

// size is how many verdicts are remembered.
func (m *leafMemo) size() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.total
}
