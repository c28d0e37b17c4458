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

package dashboard

import (
	"fmt"
	"io"
	"maps"
	"regexp"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Series are the series of a scrape of /metrics, by metric name (a
// histogram's _bucket, _sum and _count each under their own name, _bucket
// with its le label).
type Series map[string][]map[string]string

// ParseSeries reads a scrape in Prometheus's text format.
func ParseSeries(r io.Reader) (Series, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, err
	}
	out := Series{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if f.GetType() != dto.MetricType_HISTOGRAM {
				out[name] = append(out[name], labels)
				continue
			}
			out[name+"_sum"] = append(out[name+"_sum"], labels)
			out[name+"_count"] = append(out[name+"_count"], labels)
			for _, b := range m.GetHistogram().GetBucket() {
				withLE := map[string]string{"le": fmt.Sprint(b.GetUpperBound())}
				maps.Copy(withLE, labels)
				out[name+"_bucket"] = append(out[name+"_bucket"], withLE)
			}
		}
	}
	return out, nil
}

var (
	selectorRE = regexp.MustCompile(`\b(nstance_issuer_[a-z0-9_]+)\s*(\{([^}]*)\})?`)
	matcherRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"`)
	groupingRE = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	legendRE   = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)
	ruleRE     = regexp.MustCompile(`\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)`)
	variableRE = regexp.MustCompile(`\$\{?([a-zA-Z_][a-zA-Z0-9_]*)\}?`)
)

// Check reports what of a query (its expression and the labels its
// legend or alert text uses) the scrape does not hold: a metric without
// a series, an equality matcher no series satisfies, a label no selected
// series carries (a regular expression matcher needs only its label). Dashboard variables match anything; $__rate_interval and
// $__range are a duration. It reads the restricted PromQL the dashboard
// and the PrometheusRule are written in (selectors with quoted matchers,
// by/without/on/ignoring lists), not every PromQL.
func (s Series) Check(expr, text string) []string {
	expr = variableRE.ReplaceAllStringFunc(expr, func(v string) string {
		if strings.Contains(v, "__") {
			return "5m"
		}
		return ".*"
	})
	var problems []string
	var selected []map[string]string
	for _, sel := range selectorRE.FindAllStringSubmatch(expr, -1) {
		metric, matchers := sel[1], sel[3]
		all := s[metric]
		if len(all) == 0 {
			problems = append(problems, fmt.Sprintf("%s has no series", metric))
			continue
		}
		matching := all
		for _, m := range matcherRE.FindAllStringSubmatch(matchers, -1) {
			if m[2] == "=" {
				matching = filter(matching, m[1], m[2], m[3])
				continue
			}
			// A regular expression may name values a healthy manager
			// has not exported yet (outcome=~"error|..."): its label
			// must exist, its values need not.
			matching = withLabel(matching, m[1])
		}
		if len(matching) == 0 {
			problems = append(problems, fmt.Sprintf("no series of %s matches {%s}", metric, matchers))
			continue
		}
		selected = append(selected, matching...)
	}
	if len(selected) == 0 {
		return problems
	}
	var used []string
	for _, g := range groupingRE.FindAllStringSubmatch(expr, -1) {
		for l := range strings.SplitSeq(g[1], ",") {
			if l = strings.TrimSpace(l); l != "" {
				used = append(used, l)
			}
		}
	}
	for _, re := range []*regexp.Regexp{legendRE, ruleRE} {
		for _, m := range re.FindAllStringSubmatch(text, -1) {
			used = append(used, m[1])
		}
	}
	for _, l := range used {
		found := false
		for _, series := range selected {
			if _, ok := series[l]; ok {
				found = true
				break
			}
		}
		if !found {
			problems = append(problems, fmt.Sprintf("label %s is on no series the query selects", l))
		}
	}
	return problems
}

// withLabel keeps the series that carry label.
func withLabel(series []map[string]string, label string) []map[string]string {
	var out []map[string]string
	for _, s := range series {
		if _, ok := s[label]; ok {
			out = append(out, s)
		}
	}
	return out
}

// filter keeps the series a matcher selects (regular expressions anchored,
// as in PromQL).
func filter(series []map[string]string, label, op, value string) []map[string]string {
	var re *regexp.Regexp
	if op == "=~" || op == "!~" {
		var err error
		if re, err = regexp.Compile("^(?:" + value + ")$"); err != nil {
			return nil
		}
	}
	var out []map[string]string
	for _, s := range series {
		v := s[label]
		var ok bool
		switch op {
		case "=":
			ok = v == value
		case "!=":
			ok = v != value
		case "=~":
			ok = re.MatchString(v)
		case "!~":
			ok = !re.MatchString(v)
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}
