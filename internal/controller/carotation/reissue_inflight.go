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
	"container/heap"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/nstance-dev/nstance-issuer/api/v1alpha1"
)

// What is in flight, and who goes next. The pace alone (a batch per
// interval) paces the asking, not cert-manager's work: when cert-manager
// re-issues more slowly than the pace, the Certificates asked pile up
// issuing (2,555 at once in the scale harness). So the issuer also keeps,
// in its status, the Certificates it asked whose issuance has not ended
// (status.rotation.reissue.inFlight), and a batch asks only as many as
// the batch size leaves free.
//
// The cap counts only that record, never the Certificates found issuing:
// a tenant can keep its own Certificates issuing (a request no approver
// answers), and a cap on those would let it freeze a cluster issuer's
// re-issue for every tenant. The record is written by the controller
// alone, through the issuer's status; a Certificate in it counts only
// while its UID is the one asked (a tenant cannot swap in another of the
// same name) and for at most StalledAfter. Who goes next is decided by
// fairBatch: a namespace whose Certificates stay issuing waits behind
// every other namespace with work, so it holds at most about one place
// per StalledAfter, not a batch.

// listedAsked is what a pass saw of a Certificate in the record.
type listedAsked struct {
	uid   types.UID
	class reissueClass
}

// keepInFlight returns the entries of the record still in flight at now:
// listed with the UID asked, in progress, asked less than stalledAfter
// before now; and the Certificates of the rest dropped as stalled (still
// in progress, asked longer ago). The others (done, failed, pending again,
// replaced, gone) leave unnamed.
func keepInFlight(record []v1alpha1.ReissueAsked, listed map[types.NamespacedName]listedAsked, now time.Time, stalledAfter time.Duration) (kept []v1alpha1.ReissueAsked, stalled []types.NamespacedName) {
	for _, a := range record {
		name := askedName(a)
		l, ok := listed[name]
		if !ok || l.uid != a.UID || l.class != reissueInProgress {
			continue
		}
		if !now.Before(a.AskedAt.Add(stalledAfter)) {
			stalled = append(stalled, name)
			continue
		}
		kept = append(kept, a)
	}
	return kept, stalled
}

// askedName is the Certificate of a record entry.
func askedName(a v1alpha1.ReissueAsked) types.NamespacedName {
	return types.NamespacedName{Namespace: a.Namespace, Name: a.Name}
}

// askedUIDs maps each Certificate of the record to the UID asked.
func askedUIDs(record []v1alpha1.ReissueAsked) map[types.NamespacedName]types.UID {
	out := make(map[types.NamespacedName]types.UID, len(record))
	for _, a := range record {
		out[askedName(a)] = a.UID
	}
	return out
}

// reissueCandidate is a pending Certificate.
type reissueCandidate struct {
	types.NamespacedName
	UID types.UID
}

// fairBatch picks up to n of pending, which is sorted by namespace and
// name. Each pick goes to the namespace with the fewest Certificates
// issuing (busy, which counts every one found issuing, plus those picked
// so far), ties to the first namespace, and takes its first Certificate
// not yet picked. A namespace's own Certificates that stay issuing only
// push that namespace back.
func fairBatch(pending []reissueCandidate, busy map[string]int, n int) []reissueCandidate {
	if n <= 0 || len(pending) == 0 {
		return nil
	}
	var q nsQueue
	for i := 0; i < len(pending); {
		j := i + 1
		for j < len(pending) && pending[j].Namespace == pending[i].Namespace {
			j++
		}
		q = append(q, &nsWork{ns: pending[i].Namespace, load: busy[pending[i].Namespace], left: pending[i:j]})
		i = j
	}
	heap.Init(&q)
	out := make([]reissueCandidate, 0, min(n, len(pending)))
	for len(out) < n && q.Len() > 0 {
		w := q[0]
		out = append(out, w.left[0])
		w.left, w.load = w.left[1:], w.load+1
		if len(w.left) == 0 {
			heap.Pop(&q)
		} else {
			heap.Fix(&q, 0)
		}
	}
	return out
}

// nsWork is a namespace's pending Certificates and how many it has issuing.
type nsWork struct {
	ns   string
	load int
	left []reissueCandidate
}

// nsQueue orders namespaces by load, then name.
type nsQueue []*nsWork

func (q nsQueue) Len() int { return len(q) }
func (q nsQueue) Less(i, j int) bool {
	if q[i].load != q[j].load {
		return q[i].load < q[j].load
	}
	return strings.Compare(q[i].ns, q[j].ns) < 0
}
func (q nsQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *nsQueue) Push(x any)   { *q = append(*q, x.(*nsWork)) }
func (q *nsQueue) Pop() any {
	old := *q
	w := old[len(old)-1]
	*q = old[:len(old)-1]
	return w
}
