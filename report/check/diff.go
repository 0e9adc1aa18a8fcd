package check

import (
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strings"
)

// Difference is one field on which two analyses disagree.
type Difference struct {
	Where string // "connection 3 (10.0.0.1:51730 -> 10.0.0.2:8081)" or "summary"
	Field string // a path into the record: "handshake", "reset.by", "anomalies[0].count"
	// Want is the snapshot's value as compact JSON, Got the new
	// analysis's; "" when absent. A whole connection present on one side
	// only has no Field and "present" on that side.
	Want, Got string
}

func (d Difference) String() string {
	switch {
	case d.Field == "" && d.Want == "":
		return fmt.Sprintf("%s: new, not in the snapshot", d.Where)
	case d.Field == "":
		return fmt.Sprintf("%s: in the snapshot, not in this analysis", d.Where)
	case d.Want == "":
		return fmt.Sprintf("%s: %s: new, %s", d.Where, d.Field, d.Got)
	case d.Got == "":
		return fmt.Sprintf("%s: %s: gone, was %s", d.Where, d.Field, d.Want)
	}
	return fmt.Sprintf("%s: %s: want %s, got %s", d.Where, d.Field, d.Want, d.Got)
}

// Diff returns where got differs from the snapshot want. Connections are
// matched by who they are (client, server and first packet time), not by
// id, so that one connection more or less early in a capture shows as
// that connection and not as every later one renumbered; a matched
// connection's id is not compared (the order shows in the ids of the
// summary's examples).
func Diff(want, got *Analysis) []Difference {
	// The summary first: its few lines (diagnoses, census, counts) say
	// what changed overall, and a long list of connections would push
	// them past the lines a report shows.
	out := compare(nil, "summary", "", want.Summary, got.Summary)
	byIdentity := map[string][]int{} // indexes into got.Conns
	for i, c := range got.Conns {
		k := identity(c)
		byIdentity[k] = append(byIdentity[k], i)
	}
	seen := make([]bool, len(got.Conns))
	for _, w := range want.Conns {
		k := identity(w)
		if len(byIdentity[k]) == 0 {
			out = append(out, Difference{Where: describe(w), Want: "present"})
			continue
		}
		i := byIdentity[k][0]
		byIdentity[k] = byIdentity[k][1:]
		seen[i] = true
		out = compare(out, describe(got.Conns[i]), "", without(w, "id"), without(got.Conns[i], "id"))
	}
	for i, g := range got.Conns {
		if !seen[i] {
			out = append(out, Difference{Where: describe(g), Got: "present"})
		}
	}
	return out
}

func identity(c map[string]any) string {
	return fmt.Sprint(c["client"], " ", c["server"], " ", c["ts"])
}

// describe names a connection for a reader: its id and endpoints.
func describe(c map[string]any) string {
	return fmt.Sprintf("connection %v (%v -> %v)", c["id"], c["client"], c["server"])
}

func without(m map[string]any, key string) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		if k != key {
			c[k] = v
		}
	}
	return c
}

// compare appends the differences between two decoded JSON values.
func compare(out []Difference, where, path string, want, got any) []Difference {
	wm, wok := want.(map[string]any)
	gm, gok := got.(map[string]any)
	if wok && gok {
		keys := make([]string, 0, len(wm)+len(gm))
		for k := range wm {
			keys = append(keys, k)
		}
		for k := range gm {
			if _, ok := wm[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			wv, inW := wm[k]
			gv, inG := gm[k]
			p := join(path, k)
			switch {
			case !inW:
				out = append(out, Difference{Where: where, Field: p, Got: compact(gv)})
			case !inG:
				out = append(out, Difference{Where: where, Field: p, Want: compact(wv)})
			default:
				out = compare(out, where, p, wv, gv)
			}
		}
		return out
	}
	wl, wok := want.([]any)
	gl, gok := got.([]any)
	if wok && gok && len(wl) == len(gl) && slices.ContainsFunc(wl, isObject) {
		for i := range wl {
			out = compare(out, where, fmt.Sprintf("%s[%d]", path, i), wl[i], gl[i])
		}
		return out
	}
	if w, g := compact(want), compact(got); w != g && !sameNumber(want, got) {
		out = append(out, Difference{Where: where, Field: path, Want: w, Got: g})
	}
	return out
}

// sameNumber reports whether two JSON numbers are equal in value though
// written differently (5.13 and 5.130, 1e3 and 1000), as a snapshot
// reformatted by another JSON tool writes them. The comparison is exact:
// nanosecond timestamps are beyond float64's integers.
func sameNumber(a, b any) bool {
	x, ok1 := a.(json.Number)
	y, ok2 := b.(json.Number)
	if !ok1 || !ok2 {
		return false
	}
	var rx, ry big.Rat
	_, okx := rx.SetString(string(x))
	_, oky := ry.SetString(string(y))
	return okx && oky && rx.Cmp(&ry) == 0
}

func isObject(v any) bool {
	_, ok := v.(map[string]any)
	return ok
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// compact writes a value as one line of JSON.
func compact(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
