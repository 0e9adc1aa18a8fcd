package check

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxExamples bounds the connections a failure names.
const maxExamples = 3

// Check tells whether r holds for a, and if not, why: the failure names
// what was found, with example connections.
func (r *Rule) Check(a *Analysis) (ok bool, why string) {
	switch r.kind {
	case ruleNo:
		return r.checkNo(a)
	case ruleEvery:
		return r.checkEvery(a)
	case ruleConnections:
		n := float64(len(r.inScope(a)))
		if holds(n, r.op, r.num) {
			return true, ""
		}
		return false, conns(n) + r.scopeSuffix()
	case ruleField:
		return r.checkAggregate(a)
	case ruleCounter:
		v, have := counter(a, r.counter)
		if !have {
			v = 0 // a group omits what it did not count
		}
		if holds(v, r.op, r.num) {
			return true, ""
		}
		return false, fmt.Sprintf("%s is %s", strings.Join(r.counter, "."), format(v))
	}
	return false, "unknown rule"
}

func (r *Rule) scopeSuffix() string {
	if s := r.scope.String(); s != "" {
		return " " + s
	}
	return ""
}

func (r *Rule) inScope(a *Analysis) []map[string]any {
	var out []map[string]any
	for _, c := range a.Conns {
		if r.scope.matches(c) {
			out = append(out, c)
		}
	}
	return out
}

func (r *Rule) checkNo(a *Analysis) (bool, string) {
	var found []string
	for _, d := range list(a.Summary["diagnoses"]) {
		m, _ := d.(map[string]any)
		if m["name"] != r.name {
			continue
		}
		// A diagnosis has one endpoint (a listener, or a host): it is
		// in scope when that endpoint matches what the scope gives.
		if !r.scope.to.matches(m["endpoint"]) || !r.scope.from.matches(m["endpoint"]) {
			continue
		}
		found = append(found, fmt.Sprintf("diagnosis %s at %v (%s, e.g. %s)", r.name, m["endpoint"], connsOf(m["connections"]), ids(list(m["examples"]))))
	}
	var withIt []any
	for _, c := range r.inScope(a) {
		if hasName(c["labels"], r.name) || hasName(c["anomalies"], r.name) {
			withIt = append(withIt, c["id"])
		}
	}
	if len(withIt) > 0 {
		found = append(found, fmt.Sprintf("%s on %s (e.g. %s)", r.name, conns(float64(len(withIt))), ids(withIt)))
	}
	if len(found) == 0 {
		return true, ""
	}
	return false, "found " + strings.Join(found, "; ")
}

// hasName tells whether a list of labels (strings) or anomalies (objects
// with a name) holds name.
func hasName(v any, name string) bool {
	for _, e := range list(v) {
		switch x := e.(type) {
		case string:
			if x == name {
				return true
			}
		case map[string]any:
			if x["name"] == name {
				return true
			}
		}
	}
	return false
}

func ids(l []any) string {
	var s []string
	for i, id := range l {
		if i == maxExamples {
			break
		}
		s = append(s, fmt.Sprint(id))
	}
	return strings.Join(s, ", ")
}

func (r *Rule) checkEvery(a *Analysis) (bool, string) {
	scoped := r.inScope(a)
	if len(scoped) == 0 {
		// Nothing to check is a failure: a service that got no
		// connection at all must not pass "every connection to it ...".
		return false, "no connection" + r.scopeSuffix() + " in the capture"
	}
	var bad []string
	n := 0
	for _, c := range scoped {
		ok, got := r.holdsFor(c)
		if ok {
			continue
		}
		n++
		if len(bad) < maxExamples {
			bad = append(bad, fmt.Sprintf("connection %v (%v -> %v) has %s %s", c["id"], c["client"], c["server"], r.field.name, got))
		}
	}
	if n == 0 {
		return true, ""
	}
	return false, fmt.Sprintf("%d of %s do not: %s", n, conns(float64(len(scoped))), strings.Join(bad, "; "))
}

// holdsFor compares one connection's field; got is its value as shown.
func (r *Rule) holdsFor(c map[string]any) (bool, string) {
	if r.field.kind == kindWord {
		v := r.field.word(c)
		return (v == r.word) == (r.op == "=="), v
	}
	v, ok := r.field.num(c)
	if !ok {
		return false, "no value"
	}
	return holds(v, r.op, r.num), r.show(v)
}

func (r *Rule) checkAggregate(a *Analysis) (bool, string) {
	var vals []float64
	for _, c := range r.inScope(a) {
		if v, ok := r.field.num(c); ok {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 && r.agg != "sum" {
		return false, fmt.Sprintf("no connection%s has a %s", r.scopeSuffix(), r.field.name)
	}
	var v float64
	switch r.agg {
	case "sum":
		for _, x := range vals {
			v += x
		}
	case "min":
		v = slices.Min(vals)
	case "max":
		v = slices.Max(vals)
	case "mean":
		for _, x := range vals {
			v += x
		}
		v /= float64(len(vals))
	case "p":
		v = percentile(vals, r.pct)
	}
	if holds(v, r.op, r.num) {
		return true, ""
	}
	agg := r.agg
	if agg == "p" {
		agg = "p" + strconv.FormatFloat(r.pct, 'f', -1, 64)
	}
	return false, fmt.Sprintf("%s of %s is %s over %s%s", agg, r.field.name, r.show(v), conns(float64(len(vals))), r.scopeSuffix())
}

// percentile is the nearest-rank percentile: the smallest value with at
// least pct percent of the values at or below it.
func percentile(vals []float64, pct float64) float64 {
	s := slices.Clone(vals)
	slices.Sort(s)
	i := int(math.Ceil(pct/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func (r *Rule) show(v float64) string {
	if r.field.kind == kindDuration {
		return time.Duration(math.Round(v * 1e9)).String()
	}
	return format(v)
}

// conns says "1 connection", "2 connections".
func conns(n float64) string {
	if n == 1 {
		return "1 connection"
	}
	return format(n) + " connections"
}

func connsOf(v any) string {
	n, _ := number(v)
	return conns(n)
}

func format(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func holds(v float64, op string, want float64) bool {
	switch op {
	case "==":
		return v == want
	case "!=":
		return v != want
	case "<":
		return v < want
	case "<=":
		return v <= want
	case ">":
		return v > want
	case ">=":
		return v >= want
	}
	return false
}

// counter reads a summary counter; lists count their members.
func counter(a *Analysis, path []string) (float64, bool) {
	v, ok := sub(a.Summary, path...)
	if !ok {
		return 0, false
	}
	if l, isList := v.([]any); isList {
		return float64(len(l)), true
	}
	return number(v)
}
