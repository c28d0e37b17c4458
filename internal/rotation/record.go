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

package rotation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Record is what the controller alone knows of an issuer's CA generations:
// which generated next CA and which retired CAs are the issuer's own. It is
// kept in the issuing CA Secret (spec.ca.secretName), the one object whose
// writers already hold the CA key: labels, owner references and UIDs of
// the generation Secrets can be written by anyone who may create Secrets
// in the namespace, this cannot. A generation Secret counts only when it
// matches its entry here (name, certificate fingerprints and, once the
// controller has created it, UID).
type Record struct {
	// Next is the generated next CA: written before its Secret is created,
	// so a Secret of that name with another certificate is someone else's.
	Next *RecordedNext `json:"next,omitempty"`
	// Retired are the previous CAs whose roots stay published, each until
	// the last certificate it signed has expired.
	Retired []RecordedRetired `json:"retired,omitempty"`
	// Promoted is the generated next CA Secret whose CA now signs from the
	// issuing Secret: left over when a promotion stopped before deleting
	// it, and deleted only with this UID as precondition.
	Promoted *RecordedSecret `json:"promoted,omitempty"`
	// GeneratedAt is when the issuer last generated a CA key, which bounds
	// how often it does (Policy.MinGenerationInterval).
	GeneratedAt *time.Time `json:"generatedAt,omitempty"`
}

// RecordedNext is a generated next CA.
type RecordedNext struct {
	Secret      string `json:"secret"`
	Fingerprint string `json:"fingerprint"`
	// Token is the rotate-now token it answers ("" = a scheduled renewal).
	Token string `json:"token,omitempty"`
}

// RecordedSecret is a Secret the controller created.
type RecordedSecret struct {
	Secret string `json:"secret"`
	UID    string `json:"uid"`
}

// RecordedRetired is a previous CA whose root stays published.
type RecordedRetired struct {
	Secret string `json:"secret"`
	// UID of the retired Secret: it is deleted with it as precondition.
	UID string `json:"uid"`
	// Fingerprint of the retired CA certificate (first of its tls.crt).
	Fingerprint string `json:"fingerprint"`
	// Root is the fingerprint of the root its ca.crt publishes.
	Root string `json:"root"`
	// Until is when the root leaves the bundles.
	Until time.Time `json:"until"`
}

// Limits on a record. The annotation is read on every reconcile of the
// issuer, so it is bounded before it is parsed.
const (
	// MaxRecordSize bounds the annotation: MaxRetired entries of about
	// 500 bytes each, with room to spare.
	MaxRecordSize = 16 << 10
	// MaxRetired bounds the retired generations kept at once. Each
	// rotation adds one, and each leaves when the last certificate its CA
	// signed expires: more means rotations faster than leaf lifetimes.
	MaxRetired = 16
	// MaxTokenLength bounds a recorded rotate-now token (an annotation
	// value the issuer's editor chose).
	MaxTokenLength = 1024
)

var (
	fingerprintPattern = regexp.MustCompile(`^[0-9A-F]{2}(:[0-9A-F]{2}){31}$`)
	secretNamePattern  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)
	uidPattern         = regexp.MustCompile(`^[0-9a-zA-Z-]{1,64}$`)
)

// ParseRecord reads a record written by Encode. An empty string is the
// empty record. Anything else that is not exactly a record Encode could
// have written is an error: the caller then trusts no generation Secret.
func ParseRecord(s string) (Record, error) {
	var r Record
	if s == "" {
		return r, nil
	}
	if len(s) > MaxRecordSize {
		return r, fmt.Errorf("the generation record is %d bytes, more than the %d allowed", len(s), MaxRecordSize)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Record{}, fmt.Errorf("the generation record is not valid: %w", err)
	}
	if dec.More() {
		return Record{}, fmt.Errorf("the generation record is not valid: trailing data")
	}
	if err := r.validate(); err != nil {
		return Record{}, fmt.Errorf("the generation record is not valid: %w", err)
	}
	return r, nil
}

func (r Record) validate() error {
	if r.Next != nil {
		if err := checkName(r.Next.Secret); err != nil {
			return fmt.Errorf("next: %w", err)
		}
		if !fingerprintPattern.MatchString(r.Next.Fingerprint) {
			return fmt.Errorf("next: fingerprint %q is not a SHA-256 fingerprint", r.Next.Fingerprint)
		}
		if len(r.Next.Token) > MaxTokenLength {
			return fmt.Errorf("next: token longer than %d bytes", MaxTokenLength)
		}
	}
	if r.Promoted != nil {
		if err := checkName(r.Promoted.Secret); err != nil {
			return fmt.Errorf("promoted: %w", err)
		}
		if !uidPattern.MatchString(r.Promoted.UID) {
			return fmt.Errorf("promoted: uid %q is not a UID", r.Promoted.UID)
		}
	}
	if len(r.Retired) > MaxRetired {
		return fmt.Errorf("%d retired generations, more than the %d allowed", len(r.Retired), MaxRetired)
	}
	seen := map[string]bool{}
	for i, e := range r.Retired {
		if err := checkName(e.Secret); err != nil {
			return fmt.Errorf("retired[%d]: %w", i, err)
		}
		if !uidPattern.MatchString(e.UID) {
			return fmt.Errorf("retired[%d]: uid %q is not a UID", i, e.UID)
		}
		if !fingerprintPattern.MatchString(e.Fingerprint) || !fingerprintPattern.MatchString(e.Root) {
			return fmt.Errorf("retired[%d]: a fingerprint is not a SHA-256 fingerprint", i)
		}
		if seen[e.Fingerprint] {
			return fmt.Errorf("retired[%d]: fingerprint %s appears twice", i, e.Fingerprint)
		}
		seen[e.Fingerprint] = true
		if e.Until.IsZero() {
			return fmt.Errorf("retired[%d]: no until", i)
		}
	}
	return nil
}

func checkName(name string) error {
	if !secretNamePattern.MatchString(name) {
		return fmt.Errorf("secret %q is not a Secret name", name)
	}
	return nil
}

// Encode is the annotation value of r; "" for the empty record.
func (r Record) Encode() string {
	if r.Next == nil && len(r.Retired) == 0 && r.Promoted == nil && r.GeneratedAt == nil {
		return ""
	}
	r.Retired = slices.Clone(r.Retired)
	slices.SortFunc(r.Retired, func(a, b RecordedRetired) int {
		if c := a.Until.Compare(b.Until); c != 0 {
			return c
		}
		return strings.Compare(a.Fingerprint, b.Fingerprint)
	})
	for i := range r.Retired {
		r.Retired[i].Until = r.Retired[i].Until.UTC().Truncate(time.Second)
	}
	if r.GeneratedAt != nil {
		at := r.GeneratedAt.UTC().Truncate(time.Second)
		r.GeneratedAt = &at
	}
	b, err := json.Marshal(r)
	if err != nil {
		panic(fmt.Sprintf("encoding a generation record: %v", err)) // plain strings and times: cannot fail
	}
	return string(b)
}

// RetiredEntry returns the entry of a retired CA by its fingerprint.
func (r Record) RetiredEntry(fingerprint string) (RecordedRetired, bool) {
	for _, e := range r.Retired {
		if e.Fingerprint == fingerprint {
			return e, true
		}
	}
	return RecordedRetired{}, false
}

// WithRetired returns r with e added, or its until moved later when the
// fingerprint is already retired (a promotion that resumes after a
// restart: the CA kept signing meanwhile, so its root stays longer; an
// until never moves earlier).
func (r Record) WithRetired(e RecordedRetired) (Record, error) {
	out := r.clone()
	for i, have := range out.Retired {
		if have.Fingerprint == e.Fingerprint {
			if e.Until.After(have.Until) {
				have.Until = e.Until
			}
			have.Secret, have.UID, have.Root = e.Secret, e.UID, e.Root
			out.Retired[i] = have
			return out, nil
		}
	}
	if len(out.Retired) >= MaxRetired {
		return r, fmt.Errorf("%d previous CAs are still trusted, the most the issuer keeps; the next CA takes over when the first of them is dropped", len(out.Retired))
	}
	out.Retired = append(out.Retired, e)
	return out, nil
}

// WithNext returns r recording n as the generated next CA, its key made at
// generatedAt.
func (r Record) WithNext(n RecordedNext, generatedAt time.Time) Record {
	out := r.clone()
	out.Next = &n
	out.GeneratedAt = &generatedAt
	return out
}

// AfterPromotion returns r after the next CA took over: no next CA, the previous
// one retired (see WithRetired), and the generated next CA Secret, if any,
// left for deletion by its UID.
func (r Record) AfterPromotion(retired RecordedRetired, generatedNext *RecordedSecret) (Record, error) {
	out, err := r.WithRetired(retired)
	if err != nil {
		return r, err
	}
	out.Next = nil
	out.Promoted = generatedNext
	return out, nil
}

// WithoutNext returns r with no generated next CA.
func (r Record) WithoutNext() Record {
	out := r.clone()
	out.Next = nil
	return out
}

// WithoutPromoted returns r once the promoted next CA Secret is gone.
func (r Record) WithoutPromoted() Record {
	out := r.clone()
	out.Promoted = nil
	return out
}

// WithoutRetired returns r without the retired CA of that fingerprint.
func (r Record) WithoutRetired(fingerprint string) Record {
	out := r.clone()
	out.Retired = slices.DeleteFunc(out.Retired, func(e RecordedRetired) bool { return e.Fingerprint == fingerprint })
	return out
}

func (r Record) clone() Record {
	out := r
	out.Retired = slices.Clone(r.Retired)
	if r.Next != nil {
		n := *r.Next
		out.Next = &n
	}
	if r.Promoted != nil {
		p := *r.Promoted
		out.Promoted = &p
	}
	if r.GeneratedAt != nil {
		at := *r.GeneratedAt
		out.GeneratedAt = &at
	}
	return out
}
