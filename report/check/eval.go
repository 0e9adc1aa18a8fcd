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
	t := r.NewTally()
	for _, c := range a.Conns {
		t.Add(c)
	}
	return t.Result(a.Summary)
}

// A Tally checks a rule against an analysis read connection by
// connection, keeping what the rule needs of them: counts, the examples a
// failure names, a running sum, minimum or maximum. A percentile keeps
// one number (8 bytes) per connection in its scope that has the field.
type Tally struct {
	r        *Rule
	scoped   int   // connections in the rule's scope
	matched  int   // of those, with the name (no) or failing (every)
	examples []any // the first maxExamples of them: ids (no), descriptions (every)
	vals     int   // connections with a value of the field (an aggregate)
	sum      float64
	min, max float64
	all      []float64 // every value, for a percentile
}

// NewTally starts checking r.
func (r *Rule) NewTally() *Tally { return &Tally{r: r} }

// Add counts the analysis's next connection.
func (t *Tally) Add(c map[string]any) {
	r := t.r
	switch r.kind {
	case ruleNo, ruleEvery, ruleConnections, ruleField:
		if !r.scope.matches(c) {
			return
		}
	default:
		return
	}
	t.scoped++
	switch r.kind {
	case ruleNo:
		if hasName(c["labels"], r.name) || hasName(c["anomalies"], r.name) {
			t.matched++
			if len(t.examples) < maxExamples {
				t.examples = append(t.examples, c["id"])
			}
		}
	case ruleEvery:
		if ok, got := r.holdsFor(c); !ok {
			t.matched++
			if len(t.examples) < maxExamples {
				t.examples = append(t.examples, fmt.Sprintf("connection %v (%v -> %v) has %s %s", c["id"], c["client"], c["server"], r.field.name, got))
			}
		}
	case ruleField:
		v, ok := r.field.num(c)
		if !ok {
			return
		}
		if t.vals == 0 {
			t.min, t.max = v, v
		}
		t.vals++
		t.sum += v
		t.min, t.max = min(t.min, v), max(t.max, v)
		if r.agg == "p" {
			t.all = append(t.all, v)
		}
	}
}

// Result tells whether the rule holds, given the analysis's summary, and
// if not, why.
func (t *Tally) Result(summary map[string]any) (ok bool, why string) {
	r := t.r
	switch r.kind {
	case ruleNo:
		return t.checkNo(summary)
	case ruleEvery:
		return t.checkEvery()
	case ruleConnections:
		n := float64(t.scoped)
		if holds(n, r.op, r.num) {
			return true, ""
		}
		return false, conns(n) + r.scopeSuffix()
	case ruleField:
		return t.checkAggregate()
	case ruleCounter:
		v, have := counter(summary, r.counter)
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

func (t *Tally) checkNo(summary map[string]any) (bool, string) {
	found := t.Found(summary)
	if len(found) == 0 {
		return true, ""
	}
	return false, "found " + strings.Join(found, "; ")
}

// Found says, for a rule "no NAME", what of NAME the analysis holds, one
// finding a string (a diagnosis at one endpoint, or the connections with
// the label or anomaly), none when the rule holds: what Result's account
// of its failure lists, for a caller that writes one finding a line
// (--fail-on). For other rules it is nil.
func (t *Tally) Found(summary map[string]any) []string {
	r := t.r
	if r.kind != ruleNo {
		return nil
	}
	var found []string
	for _, d := range list(summary["diagnoses"]) {
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
	if t.matched > 0 {
		found = append(found, fmt.Sprintf("%s on %s (e.g. %s)", r.name, conns(float64(t.matched)), ids(t.examples)))
	}
	return found
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

func (t *Tally) checkEvery() (bool, string) {
	r := t.r
	if t.scoped == 0 {
		// Nothing to check is a failure: a service that got no
		// connection at all must not pass "every connection to it ...".
		return false, "no connection" + r.scopeSuffix() + " in the capture"
	}
	if t.matched == 0 {
		return true, ""
	}
	bad := make([]string, len(t.examples))
	for i, e := range t.examples {
		bad[i] = e.(string)
	}
	return false, fmt.Sprintf("%d of %s do not: %s", t.matched, conns(float64(t.scoped)), strings.Join(bad, "; "))
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

func (t *Tally) checkAggregate() (bool, string) {
	r := t.r
	if t.vals == 0 && r.agg != "sum" {
		return false, fmt.Sprintf("no connection%s has a %s", r.scopeSuffix(), r.field.name)
	}
	var v float64
	switch r.agg {
	case "sum":
		v = t.sum
	case "min":
		v = t.min
	case "max":
		v = t.max
	case "mean":
		v = t.sum / float64(t.vals)
	case "p":
		v = percentile(t.all, r.pct)
	}
	if holds(v, r.op, r.num) {
		return true, ""
	}
	agg := r.agg
	if agg == "p" {
		agg = "p" + strconv.FormatFloat(r.pct, 'f', -1, 64)
	}
	return false, fmt.Sprintf("%s of %s is %s over %s%s", agg, r.field.name, r.show(v), conns(float64(t.vals)), r.scopeSuffix())
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
func counter(summary map[string]any, path []string) (float64, bool) {
	v, ok := sub(summary, path...)
	if !ok {
		return 0, false
	}
	if l, isList := v.([]any); isList {
		return float64(len(l)), true
	}
	return number(v)
}
