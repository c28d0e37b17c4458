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

package pki

import (
	"hash/maphash"
	"maps"
	"strings"
	"sync"
)

// renderMemos keeps what the template texts that use only the issuer's
// data rendered, so that an issuer's allow-lists and fixed subject fields
// are rendered once, not once per request. It holds at most 4 MiB.
var renderMemos = newRenderMemo(4 << 20)

// renderMemo remembers successful renderings of template texts that
// reference only .Vars, .Issuer and .Request.Namespace (patternTrusted):
// what such a text renders depends on nothing else. A rendering is kept
// under everything it depends on, by content: the text, the issuer's vars
// and IssuerData (a scope), and the request's namespace when the text
// uses it. An edited template is another text, edited vars or another
// issuer another scope, so nothing stale is ever served, and no issuer
// generation needs to be tracked. Failures are not kept: a text that
// fails renders (and fails) again, with the same error.
//
// A kept rendering also records the render budget it spent. A hit charges
// the same to the request's budget, and only counts when what is left of
// that budget would have allowed the rendering; otherwise the text renders
// as before and fails as before. So a request renders, fails and reports
// exactly as without the memo.
//
// The memo is bounded in bytes (texts, vars and values it holds): issuers
// and templates are written by tenants. Past the bound it starts afresh.
// It is safe for concurrent use.
type renderMemo struct {
	seed maphash.Seed
	max  int64

	mu     sync.RWMutex
	size   int64
	scopes map[uint64][]*memoScope
}

// memoScope is the renderings of one issuer's data: the vars and the
// IssuerData they were rendered with. Its fields are fixed once it is
// made, and vals changes only under the memo's write lock, so a scope an
// issuance holds stays correct (if unused) after the memo starts afresh.
type memoScope struct {
	vars   map[string]string
	issuer IssuerData
	vals   map[memoKey]memoVal
}

// memoKey is a text and, when the text uses it, the request's namespace.
type memoKey struct{ text, namespace string }

// memoVal is what a text rendered and the render budget that cost.
type memoVal struct {
	value string
	used  int
}

// memoOverhead approximates the bytes of bookkeeping per entry.
const memoOverhead = 64

func newRenderMemo(maxBytes int64) *renderMemo {
	return &renderMemo{seed: maphash.MakeSeed(), max: maxBytes, scopes: map[uint64][]*memoScope{}}
}

// scopeHash hashes the data a scope is keyed by: vars independently of
// their order, and the IssuerData.
func (m *renderMemo) scopeHash(data *RenderData) uint64 {
	var vars uint64
	for k, v := range data.Vars {
		hk, hv := maphash.String(m.seed, k), maphash.String(m.seed, v)
		vars += hk ^ (hv<<1 | hv>>63) // order-independent sum of the pairs
	}
	var h maphash.Hash
	h.SetSeed(m.seed)
	for _, s := range [...]string{data.Issuer.Name, data.Issuer.Namespace, data.Issuer.Kind} {
		_, _ = h.WriteString(s)
		_ = h.WriteByte(0)
	}
	return h.Sum64() ^ vars
}

// find returns the scope of data among those with hash h, or nil. The
// caller holds m.mu.
func (m *renderMemo) find(h uint64, data *RenderData) *memoScope {
	for _, s := range m.scopes[h] {
		if s.issuer == data.Issuer && len(s.vars) == len(data.Vars) && maps.Equal(s.vars, data.Vars) {
			return s
		}
	}
	return nil
}

// lookup returns the scope of data, or nil when nothing is kept for it.
func (m *renderMemo) lookup(h uint64, data *RenderData) *memoScope {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.find(h, data)
}

// get returns what text rendered in scope s for key k.
func (m *renderMemo) get(s *memoScope, k memoKey) (memoVal, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	v, ok := s.vals[k]
	return v, ok
}

// put keeps what k's text rendered with data, and returns the scope.
func (m *renderMemo) put(h uint64, data *RenderData, k memoKey, v memoVal) *memoScope {
	cost := int64(len(k.text)+len(k.namespace)+len(v.value)) + memoOverhead
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.find(h, data)
	if s == nil {
		cost += memoOverhead + int64(len(data.Issuer.Name)+len(data.Issuer.Namespace)+len(data.Issuer.Kind))
		for k, v := range data.Vars {
			cost += int64(len(k)+len(v)) + memoOverhead
		}
	} else if _, ok := s.vals[k]; ok {
		return s
	}
	if cost > m.max {
		return s
	}
	if m.size+cost > m.max {
		// Renderings are of issuers' texts and vars, which change only
		// when edited: a memo this full holds mostly old ones.
		m.scopes = map[uint64][]*memoScope{}
		m.size = 0
		s = nil
	}
	if s == nil {
		s = &memoScope{vars: maps.Clone(data.Vars), issuer: data.Issuer, vals: map[memoKey]memoVal{}}
		m.scopes[h] = append(m.scopes[h], s)
	}
	s.vals[k] = v
	m.size += cost
	return s
}

// bytes is what the memo holds, for tests.
func (m *renderMemo) bytes() int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.size
}

// memoRender is is.render for a text that depends only on the issuer's
// data and the request's namespace; ok is false for any other text, which
// the caller renders.
func (is *issuance) memoRender(field, text string) (value string, ok bool, err error) {
	if !strings.Contains(text, "{{") || !allowListTrusted(text) {
		return "", false, nil
	}
	m := is.memo
	if m == nil {
		return "", false, nil
	}
	k := memoKey{text: text}
	if !issuerDataOnly(text) {
		k.namespace = is.data.Request.Namespace
	}
	if !is.memoHashed {
		is.memoHash, is.memoHashed = m.scopeHash(&is.data), true
		is.memoScope = m.lookup(is.memoHash, &is.data)
	}
	if is.memoScope != nil {
		if v, hit := m.get(is.memoScope, k); hit && v.used <= is.budget.left {
			is.budget.left -= v.used
			return v.value, true, nil
		}
	}
	before := is.budget.left
	value, err = is.renderUncached(field, text)
	if err != nil {
		return "", true, err
	}
	if s := m.put(is.memoHash, &is.data, k, memoVal{value: value, used: before - is.budget.left}); s != nil {
		is.memoScope = s
	}
	return value, true, nil
}
