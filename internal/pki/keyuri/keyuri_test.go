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

package keyuri

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	arn := "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	tests := []struct {
		name     string
		in       string
		want     string // canonical form
		namesKey bool
		err      string
	}{
		{name: "an AWS key by ARN", in: "awskms:key-id=" + arn, want: "awskms:key-id=" + arn, namesKey: true},
		{name: "an AWS key by id and region", in: "awskms:region=eu-west-1;key-id=1234abcd", want: "awskms:key-id=1234abcd;region=eu-west-1", namesKey: true},
		{name: "an AWS region alone says where to make keys", in: "awskms:region=eu-west-1", want: "awskms:region=eu-west-1"},
		{name: "an AWS alias", in: "awskms:key-id=alias/cluster-ca;region=us-east-1", want: "awskms:key-id=alias/cluster-ca;region=us-east-1", namesKey: true},
		{name: "a PKCS#11 key by token, id and label, in canonical order", in: "pkcs11:object=ca;id=%01%02;token=nstance", want: "pkcs11:token=nstance;id=%01%02;object=ca", namesKey: true},
		{name: "a PKCS#11 module path in the query", in: "pkcs11:token=t;object=ca?module-path=/usr/lib/softhsm/libsofthsm2.so", want: "pkcs11:token=t;object=ca?module-path=/usr/lib/softhsm/libsofthsm2.so", namesKey: true},
		{name: "a PKCS#11 token alone says where to make keys", in: "pkcs11:token=My%20Token", want: "pkcs11:token=My%20Token"},
		{name: "a PKCS#11 token by slot", in: "pkcs11:slot-id=3;object=k", want: "pkcs11:slot-id=3;object=k", namesKey: true},

		{name: "another scheme is refused naming the two", in: "gcpkms:projects/p/keys/k", err: "must start with awskms: (AWS KMS) or pkcs11:"},
		{name: "no scheme is refused", in: "key-id=abc", err: "must start with"},
		{name: "a PIN in the URI is refused with where to put it", in: "pkcs11:token=t;object=k?pin-value=1234", err: `never put a PIN in a key URI`},
		{name: "a PIN file is refused", in: "pkcs11:token=t;object=k?pin-source=/etc/shadow", err: "never reads files named by a key URI"},
		{name: "a PIN in the path is refused too", in: "pkcs11:token=t;pin-value=1234", err: "never put a PIN"},
		{name: "an AWS credentials file is refused", in: "awskms:key-id=k;credentials-file=/root/.aws/credentials", err: "never reads files"},
		{name: "an AWS profile is refused", in: "awskms:key-id=k;profile=admin", err: "never reads AWS profiles"},
		{name: "an AWS endpoint is refused", in: "awskms:key-id=k;endpoint=http://attacker", err: "operator's choice"},
		{name: "an unknown attribute is refused naming the allowed ones", in: "awskms:key-id=k;role=admin", err: "attribute role is not allowed in the path of a awskms key URI (allowed: key-id, region)"},
		{name: "a query on an AWS URI is refused", in: "awskms:key-id=k?module-path=/x.so", err: "has no query"},
		{name: "module-path in the path is refused", in: "pkcs11:token=t;module-path=/x.so", err: "not allowed in the path"},
		{name: "a relative module path is refused", in: "pkcs11:token=t;object=k?module-path=x.so", err: "not an absolute path"},
		{name: "a module name is refused", in: "pkcs11:token=t;object=k?module-name=softhsm2", err: "module-path"},
		{name: "a duplicate attribute is refused", in: "pkcs11:token=a;token=b;object=k", err: "given twice"},
		{name: "an empty value is refused", in: "awskms:key-id=", err: "is empty"},
		{name: "a bad escape is refused", in: "pkcs11:token=%zz;object=k", err: "invalid URL escape"},
		{name: "a control character is refused", in: "pkcs11:token=a%0ab;object=k", err: "control character"},
		{name: "two token selectors are refused", in: "pkcs11:token=a;serial=123;object=k", err: "exactly one of token="},
		{name: "no token selector is refused", in: "pkcs11:object=k", err: "exactly one of token="},
		{name: "a non-numeric slot is refused", in: "pkcs11:slot-id=x;object=k", err: "not a slot number"},
		{name: "a region that is not one is refused", in: "awskms:key-id=k;region=../../etc", err: "not an AWS region"},
		{name: "an ARN in another region than region= is refused", in: "awskms:key-id=" + arn + ";region=us-east-1", err: "differs from the region eu-west-1"},
		{name: "a key id with a space is refused", in: "awskms:key-id=a%20b", err: "not an AWS KMS key id"},
		{name: "a glob is only for patterns", in: "awskms:key-id=arn:aws:kms:eu-west-1:111122223333:key/*", err: "only a pattern"},
		{name: "an oversized URI is refused before parsing", in: "awskms:key-id=" + strings.Repeat("a", MaxURILength), err: "more than the 1024 allowed"},
		{name: "an attribute without a value is refused", in: "pkcs11:token", err: "not an attribute name=value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, err := Parse(tc.in)
			if tc.err != "" {
				var kerr *Error
				if !errors.As(err, &kerr) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Parse(%q) = %v, want an *Error containing %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := u.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			if u.NamesKey() != tc.namesKey {
				t.Errorf("NamesKey() = %v, want %v", u.NamesKey(), tc.namesKey)
			}
			again, err := Parse(u.String())
			if err != nil || again.String() != u.String() {
				t.Errorf("the canonical form does not parse back to itself: %q, %v", again.String(), err)
			}
		})
	}
}

func TestURIBinaryIDRoundTrips(t *testing.T) {
	t.Parallel()
	id := string([]byte{0x00, 0xff, ';', '?', '%', 'a'})
	u := URI{backend: BackendPKCS11, attrs: map[string]string{"token": "t", "id": id}}
	back, err := Parse(u.String())
	if err != nil {
		t.Fatal(err)
	}
	if back.Get("id") != id {
		t.Errorf("id %x came back as %x from %q", id, back.Get("id"), u.String())
	}
}

func TestLocationDropsTheKey(t *testing.T) {
	t.Parallel()
	u, err := Parse("pkcs11:token=t;id=%01;object=ca?module-path=/m.so")
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Location().String(); got != "pkcs11:token=t?module-path=/m.so" {
		t.Errorf("Location() = %q", got)
	}
	if u.Location().NamesKey() {
		t.Errorf("a location names a key")
	}
	aws, err := Parse("awskms:key-id=arn:aws:kms:eu-west-1:111122223333:key/k")
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.Location().String(); got != "awskms:region=eu-west-1" {
		t.Errorf("the location of a key named by ARN is %q, want its region", got)
	}
}
