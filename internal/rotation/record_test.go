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
	"strings"
	"testing"
	"time"
)

func fp(b byte) string {
	const hex = "0123456789ABCDEF"
	part := string([]byte{hex[b>>4], hex[b&15]})
	return strings.TrimSuffix(strings.Repeat(part+":", 32), ":")
}

func TestParseRecord(t *testing.T) {
	t.Parallel()
	until := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	valid := Record{
		Next:    &RecordedNext{Secret: "ca-next", Fingerprint: fp(1), Token: "incident-1"},
		Retired: []RecordedRetired{{Secret: "ca-retired-0a", UID: "0f4e4d9c-1111-2222-3333-444455556666", Fingerprint: fp(2), Root: fp(3), Until: until}},
	}
	cases := []struct {
		name    string
		in      string
		want    Record
		wantErr string
	}{
		{name: "an empty annotation is the empty record", in: "", want: Record{}},
		{name: "what Encode writes reads back", in: valid.Encode(), want: valid},
		{name: "an unknown field is refused", in: `{"next":{"secret":"ca-next","fingerprint":"` + fp(1) + `"},"extra":1}`, wantErr: "unknown field"},
		{name: "trailing data is refused", in: `{}{}`, wantErr: "trailing data"},
		{name: "a fingerprint that is not SHA-256 is refused", in: `{"next":{"secret":"ca-next","fingerprint":"AB:CD"}}`, wantErr: "not a SHA-256 fingerprint"},
		{name: "a lower-case fingerprint is refused (Encode writes upper case)", in: `{"next":{"secret":"ca-next","fingerprint":"` + strings.ToLower(fp(10)) + `"}}`, wantErr: "not a SHA-256"},
		{name: "a Secret name with a slash is refused", in: `{"next":{"secret":"other/ca","fingerprint":"` + fp(1) + `"}}`, wantErr: "not a Secret name"},
		{name: "a retired entry without UID is refused", in: `{"retired":[{"secret":"a","uid":"","fingerprint":"` + fp(1) + `","root":"` + fp(1) + `","until":"2031-01-01T00:00:00Z"}]}`, wantErr: "not a UID"},
		{name: "a retired entry without until is refused", in: `{"retired":[{"secret":"a","uid":"u","fingerprint":"` + fp(1) + `","root":"` + fp(1) + `","until":"0001-01-01T00:00:00Z"}]}`, wantErr: "no until"},
		{name: "the same CA retired twice is refused", in: Record{Retired: []RecordedRetired{
			{Secret: "a", UID: "u1", Fingerprint: fp(1), Root: fp(1), Until: until}, {Secret: "b", UID: "u2", Fingerprint: fp(1), Root: fp(1), Until: until},
		}}.Encode(), wantErr: "appears twice"},
		{name: "more retired CAs than kept are refused", in: tooManyRetired(until), wantErr: "more than the 16 allowed"},
		{name: "an oversized annotation is refused before it is parsed", in: `{"next":{"secret":"` + strings.Repeat("a", MaxRecordSize) + `"}}`, wantErr: "more than the 16384 allowed"},
		{name: "an oversized token is refused", in: `{"next":{"secret":"ca-next","fingerprint":"` + fp(1) + `","token":"` + strings.Repeat("t", MaxTokenLength+1) + `"}}`, wantErr: "token longer"},
		{name: "JSON that is not an object is refused", in: `[]`, wantErr: "not valid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseRecord(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				if got.Next != nil || got.Retired != nil || got.Promoted != nil {
					t.Errorf("a refused record returned entries: %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Encode() != tc.want.Encode() {
				t.Errorf("got %s\nwant %s", got.Encode(), tc.want.Encode())
			}
		})
	}
}

func tooManyRetired(until time.Time) string {
	var r Record
	for i := range MaxRetired + 1 {
		r.Retired = append(r.Retired, RecordedRetired{Secret: "ca-retired", UID: "u", Fingerprint: fp(byte(i)), Root: fp(0), Until: until})
	}
	return r.Encode()
}

// The record's changes as the lifecycle makes them: a generated next CA,
// its promotion, a second promotion of the same CA after a restart (until
// only moves later), the drop, and the cap.
func TestRecordLifecycle(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var r Record
	if r.Encode() != "" {
		t.Fatalf("the empty record encodes as %q", r.Encode())
	}
	r = r.WithNext(RecordedNext{Secret: "ca-next", Fingerprint: fp(2)}, t0)
	if r.GeneratedAt == nil || !r.GeneratedAt.Equal(t0) || r.Next.Fingerprint != fp(2) {
		t.Fatalf("after WithNext: %+v", r)
	}
	old := RecordedRetired{Secret: "ca-retired-01", UID: "u1", Fingerprint: fp(1), Root: fp(1), Until: t0.Add(48 * time.Hour)}
	promoted, err := r.AfterPromotion(old, &RecordedSecret{Secret: "ca-next", UID: "u-next"})
	if err != nil {
		t.Fatal(err)
	}
	if promoted.Next != nil || len(promoted.Retired) != 1 || promoted.Promoted.UID != "u-next" || r.Next == nil {
		t.Fatalf("after AfterPromotion: %+v (and the input %+v must be unchanged)", promoted, r)
	}
	earlier := old
	earlier.Until = t0.Add(time.Hour)
	again, err := promoted.WithRetired(earlier)
	if err != nil || len(again.Retired) != 1 || !again.Retired[0].Until.Equal(old.Until) {
		t.Fatalf("a retired CA recorded again with an earlier until: %+v %v", again.Retired, err)
	}
	later := old
	later.Until = t0.Add(72 * time.Hour)
	again, _ = promoted.WithRetired(later)
	if !again.Retired[0].Until.Equal(later.Until) {
		t.Fatalf("a later until was not kept: %v", again.Retired[0].Until)
	}
	if e, ok := again.RetiredEntry(fp(1)); !ok || e.UID != "u1" {
		t.Fatalf("RetiredEntry: %+v %v", e, ok)
	}
	dropped := again.WithoutRetired(fp(1)).WithoutPromoted()
	if len(dropped.Retired) != 0 || dropped.Promoted != nil || len(again.Retired) != 1 {
		t.Fatalf("after the drop: %+v (input %+v)", dropped, again)
	}
	full := Record{}
	for i := range MaxRetired {
		full, err = full.WithRetired(RecordedRetired{Secret: "s", UID: "u", Fingerprint: fp(byte(i + 10)), Root: fp(0), Until: t0})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := full.AfterPromotion(RecordedRetired{Secret: "s", UID: "u", Fingerprint: fp(200), Root: fp(0), Until: t0}, nil); err == nil ||
		!strings.Contains(err.Error(), "the most the issuer keeps") {
		t.Fatalf("a 17th retired CA: %v", err)
	}
	if _, err := ParseRecord(full.Encode()); err != nil {
		t.Fatalf("a full record does not read back: %v", err)
	}
}

// FuzzParseRecord: whatever the annotation holds (a tenant cannot write it,
// but a person with the CA Secret may hand-edit it), parsing never panics,
// a record that parses encodes to something that parses to the same, and
// nothing outside the limits is accepted.
func FuzzParseRecord(f *testing.F) {
	until := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Add("")
	f.Add("{}")
	f.Add(Record{Next: &RecordedNext{Secret: "ca-next", Fingerprint: fp(1), Token: "t"}}.Encode())
	f.Add(Record{Retired: []RecordedRetired{{Secret: "ca-retired-1", UID: "u", Fingerprint: fp(1), Root: fp(2), Until: until}},
		Promoted: &RecordedSecret{Secret: "ca-next", UID: "u2"}}.Encode())
	f.Add(tooManyRetired(until))
	f.Add(`{"retired":null,"next":null}`)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRecord(s)
		if err != nil {
			return
		}
		if len(s) > MaxRecordSize || len(r.Retired) > MaxRetired {
			t.Fatalf("accepted a record beyond the limits: %d bytes, %d retired", len(s), len(r.Retired))
		}
		again, err := ParseRecord(r.Encode())
		if err != nil {
			t.Fatalf("Encode of an accepted record does not parse: %v", err)
		}
		if again.Encode() != r.Encode() {
			t.Fatalf("not stable:\n%s\n%s", r.Encode(), again.Encode())
		}
	})
}
