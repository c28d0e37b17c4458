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

package bench

import (
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseUnlabelled(t *testing.T) {
	t.Parallel()
	const text = `# HELP go_memstats_heap_inuse_bytes Number of heap bytes that are in use.
# TYPE go_memstats_heap_inuse_bytes gauge
go_memstats_heap_inuse_bytes 4.5e+07
go_gc_heap_live_bytes 29552872
go_memstats_alloc_bytes_total{le="x"} 12
nstance_issuer_events_dropped_total{reason="queue"} 3
go_goroutines 300
malformed
`
	got, err := parseUnlabelled(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"go_memstats_heap_inuse_bytes": 4.5e7, "go_gc_heap_live_bytes": 29552872, "go_goroutines": 300}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v: comments, labelled series and lines without a value are skipped", got, want)
	}
}

func TestProcStatusOfThisProcess(t *testing.T) {
	t.Parallel()
	st, err := procStatus(os.Getpid())
	if os.IsNotExist(err) {
		t.Skip("no /proc")
	}
	if err != nil {
		t.Fatal(err)
	}
	rss, anon, file := st["VmRSS"], st["RssAnon"], st["RssFile"]
	if rss <= 0 || anon <= 0 || file <= 0 {
		t.Fatalf("VmRSS %v, RssAnon %v, RssFile %v: want all read, in bytes", rss, anon, file)
	}
	if _, ok := st["Name"]; ok {
		t.Errorf("a line without kB was read as a figure")
	}
}

func TestScaleMemoryPointsFlag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, flag string
		want       []int
		wantErr    string
	}{
		{name: "increasing counts are the points", flag: "1000, 10000,30000", want: []int{1000, 10000, 30000}},
		{name: "a count below the last is refused: each point adds requests to the last", flag: "10000,1000", wantErr: "must increase"},
		{name: "a repeated count is refused", flag: "10,10", wantErr: "must increase"},
		{name: "zero is no count", flag: "0", wantErr: "not a positive count"},
		{name: "a word is no count", flag: "1k", wantErr: "not a positive count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var c Config
			fs := flag.NewFlagSet("bench", flag.ContinueOnError)
			c.RegisterFlags(fs)
			if err := fs.Parse([]string{"-scale-memory-points", tc.flag}); err != nil {
				t.Fatal(err)
			}
			err := c.complete()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.scaleMemoryPoints, tc.want) || c.pprofAddr == "" || !c.runScale() {
				t.Errorf("points %v (want %v), pprof %q (want an address, to force a GC), scale runs: %t", c.scaleMemoryPoints, tc.want, c.pprofAddr, c.runScale())
			}
		})
	}
}
