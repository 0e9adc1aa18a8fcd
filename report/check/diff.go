package check

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
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

// String writes the difference as a line for a reader, a long value
// shortened to the part that differs (see shorten); Want and Got keep
// the values whole.
func (d Difference) String() string {
	want, got := shorten(d.Want, d.Got)
	switch {
	case d.Field == "" && d.Want == "":
		return fmt.Sprintf("%s: new, not in the snapshot", d.Where)
	case d.Field == "":
		return fmt.Sprintf("%s: in the snapshot, not in this analysis", d.Where)
	case d.Want == "":
		return fmt.Sprintf("%s: %s: new, %s", d.Where, d.Field, got)
	case d.Got == "":
		return fmt.Sprintf("%s: %s: gone, was %s", d.Where, d.Field, want)
	}
	return fmt.Sprintf("%s: %s: want %s, got %s", d.Where, d.Field, want, got)
}

// A value longer than maxValueLen bytes is shortened to the part that
// differs with valueContext bytes of context either side: a list of a
// thousand listeners is one value, 1,500 characters on one line, of which
// a reader needs the listener that changed.
const (
	maxValueLen  = 200
	valueContext = 40
)

// shorten returns want and got, when either is longer than maxValueLen,
// each cut to the part that differs from the other (after their common beginning, before
// their common end) with valueContext bytes either side, what is cut
// marked by an ellipsis. A part that differs longer than maxValueLen is
// cut there too. Cuts fall between characters, never inside one.
func shorten(want, got string) (string, string) {
	if len(want) <= maxValueLen && len(got) <= maxValueLen {
		return want, got
	}
	prefix := 0
	for prefix < len(want) && prefix < len(got) && want[prefix] == got[prefix] {
		prefix++
	}
	suffix := 0
	for suffix < len(want)-prefix && suffix < len(got)-prefix && want[len(want)-1-suffix] == got[len(got)-1-suffix] {
		suffix++
	}
	if want == "" || got == "" {
		prefix, suffix = 0, 0 // one side only: nothing to compare with
	}
	cut := func(v string) string {
		start, end := max(0, prefix-valueContext), min(len(v), len(v)-suffix+valueContext)
		end = min(end, start+maxValueLen)
		for start > 0 && !utf8.RuneStart(v[start]) {
			start--
		}
		for end < len(v) && !utf8.RuneStart(v[end]) {
			end--
		}
		out := v[start:end]
		if start > 0 {
			out = "…" + out
		}
		if end < len(v) {
			out += "…"
		}
		return out
	}
	return cut(want), cut(got)
}

// Diff returns where got differs from the snapshot want, all of it, the
// connections' differences first: see Comparison, which compares them
// connection by connection.
func Diff(want, got *Analysis) []Difference {
	i := 0
	next := func() (map[string]any, error) {
		if i == len(want.Conns) {
			return nil, io.EOF
		}
		i++
		return want.Conns[i-1], nil
	}
	c := NewComparison(next, math.MaxInt)
	for _, g := range got.Conns {
		if err := c.Got(g); err != nil {
			panic(err) // next never fails
		}
	}
	if err := c.Finish(); err != nil {
		panic(err)
	}
	d := c.Differences(want.Summary, got.Summary)
	return append(d.Conns, d.Summary...)
}

// Differences is what a Comparison found.
type Differences struct {
	// Conns are the differences of the first connections that differ,
	// as many connections as NewComparison was told to keep, each with
	// all of its differences: the snapshot's connections in its order,
	// then those new in this analysis in its order.
	Conns []Difference
	// ConnsDiffering counts the connections that differ, listed or not.
	ConnsDiffering int
	// Summary holds every difference of the summaries.
	Summary []Difference
	// Complete is false when more than MaxUnpaired connections waited
	// for their pair: then which connections differ is not known, and
	// Conns is empty.
	Complete bool
}

// MaxUnpaired bounds the connections a Comparison holds while they wait
// for the other side's: past it, it stops pairing connections.
const MaxUnpaired = 100_000

// A Comparison compares an analysis with a snapshot as the analysis is
// read, holding neither whole. The differences come in this order: the
// snapshot's connections in its order, then the connections new in this
// analysis in its order, then the summary's. The connections come first
// because they are the cause: a changed connection changes the summary's
// counts, census and diagnoses with it, and those lines ahead of it
// would push it past the lines a report shows. What is kept is counted
// in connections, not lines, for the same reason.
//
// Connections are matched by who they are (client, server and first
// packet time), not by id, so that one connection more or less early in
// a capture shows as that connection and not as every later one
// renumbered; a matched connection's id is not compared (the order shows
// in the ids of the summary's examples). The n-th connection of the
// snapshot with an identity pairs with the n-th of the analysis with it.
// The analysis of the capture a snapshot was written from lists its
// connections in the same order, give or take those a change moved: a
// connection waits for its pair only that long, as compact JSON, and at
// most MaxUnpaired of them wait. Once one side has no more, the other's
// that find no pair waiting are new (or gone) at once: an analysis that
// lost or gained a long tail of connections holds none of them.
type Comparison struct {
	want func() (map[string]any, error)
	done [2]bool // each side's connections are all read (see side)
	n    [2]int  // connections read of each side
	// unpaired holds, by identity, the connections of each side waiting
	// for the other's; held counts them.
	unpaired    [2]map[string][]unpaired
	held        int
	maxUnpaired int  // MaxUnpaired; less in tests
	overflow    bool // more than maxUnpaired waited: no more pairing
	first       firstDifferences
}

// side is one side of a comparison: the snapshot's connections (what is
// wanted) or the analysis's (what it got). It also numbers the sections
// of firstDifferences.
type side int

const (
	wanted side = iota
	got
)

// present is the difference of a connection of side s that the other
// side lacks.
func present(s side, c map[string]any) Difference {
	if s == wanted {
		return Difference{Where: describe(c), Want: "present"}
	}
	return Difference{Where: describe(c), Got: "present"}
}

type unpaired struct {
	seq int    // its place in its side's order
	rec []byte // compact JSON
}

// NewComparison compares with the snapshot whose connections want
// returns in order (io.EOF after the last), keeping the first keep
// differences (and counting the rest).
func NewComparison(want func() (map[string]any, error), keep int) *Comparison {
	return &Comparison{want: want, unpaired: [2]map[string][]unpaired{{}, {}},
		maxUnpaired: MaxUnpaired, first: firstDifferences{keep: keep}}
}

// Got compares the analysis's next connection, reading the snapshot's
// next one alongside it. An error is the snapshot's.
func (p *Comparison) Got(g map[string]any) error {
	var w map[string]any
	if !p.done[wanted] {
		var err error
		if w, err = p.want(); err == io.EOF {
			p.done[wanted] = true
		} else if err != nil {
			return err
		}
	}
	if !p.done[wanted] && !p.overflow {
		// In the same order, as they mostly are: pair them at once.
		if k := identity(w); k == identity(g) && len(p.unpaired[wanted][k]) == 0 && len(p.unpaired[got][k]) == 0 {
			p.pair(p.n[wanted], w, g)
			p.n[wanted]++
			p.n[got]++
			return nil
		}
	}
	if !p.done[wanted] {
		p.add(wanted, w)
	}
	p.add(got, g)
	return nil
}

// Finish reads the rest of the snapshot's connections.
func (p *Comparison) Finish() error {
	p.done[got] = true
	for !p.done[wanted] {
		w, err := p.want()
		if err == io.EOF {
			p.done[wanted] = true
			break
		}
		if err != nil {
			return err
		}
		p.add(wanted, w)
	}
	return nil
}

// Differences compares the summaries, after Finish, and returns them
// with the differences of the first connections that differ (as many as
// NewComparison was told to keep).
func (p *Comparison) Differences(wantSummary, gotSummary map[string]any) Differences {
	d := Differences{Summary: compare(nil, "summary", "", wantSummary, gotSummary)}
	if p.overflow {
		return d
	}
	for s, waiting := range p.unpaired {
		for _, q := range waiting {
			for _, u := range q {
				p.first.add(s, u.seq, []Difference{present(side(s), u.record())})
			}
		}
	}
	for _, e := range p.first.entries {
		d.Conns = append(d.Conns, e.diffs...)
	}
	d.ConnsDiffering, d.Complete = p.first.total, true
	return d
}

func (p *Comparison) pair(seq int, w, g map[string]any) {
	p.first.add(0, seq, compare(nil, describe(g), "", without(w, "id"), without(g, "id")))
}

// add takes c, the next connection of side s: it pairs with the first
// connection of the other side waiting with its identity; or, when the
// other side has no more, it is one the other lacks; or it waits.
func (p *Comparison) add(s side, c map[string]any) {
	seq := p.n[s]
	p.n[s]++
	if p.overflow {
		return
	}
	k := identity(c)
	other := 1 - s
	if q := p.unpaired[other][k]; len(q) > 0 {
		p.take(p.unpaired[other], k)
		if s == wanted {
			p.pair(seq, c, q[0].record())
		} else {
			p.pair(q[0].seq, q[0].record(), c)
		}
		return
	}
	if p.done[other] {
		// Nothing more will come to pair with it: no need to hold it.
		p.first.add(int(s), seq, []Difference{present(s, c)})
		return
	}
	p.hold(p.unpaired[s], k, seq, c)
}

func (p *Comparison) hold(side map[string][]unpaired, k string, seq int, c map[string]any) {
	if p.held == p.maxUnpaired {
		p.overflow = true
		p.unpaired, p.held = [2]map[string][]unpaired{}, 0
		return
	}
	rec, err := json.Marshal(c)
	if err != nil {
		panic(err) // decoded JSON always encodes
	}
	side[k] = append(side[k], unpaired{seq, rec})
	p.held++
}

// take removes the first connection waiting under k.
func (p *Comparison) take(side map[string][]unpaired, k string) {
	if q := side[k]; len(q) == 1 {
		delete(side, k)
	} else {
		side[k] = q[1:]
	}
	p.held--
}

func (u unpaired) record() map[string]any {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(u.rec))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		panic(err) // encoded by hold
	}
	return m
}

// firstDifferences keeps the differences of the first keep connections
// that differ, in the order of (section, seq) they are added with,
// whatever the order they are added in, and counts them all.
type firstDifferences struct {
	keep, total int
	entries     []differencesAt
}

// differencesAt are one connection's differences.
type differencesAt struct {
	section, seq int
	diffs        []Difference
}

func (f *firstDifferences) add(section, seq int, diffs []Difference) {
	if len(diffs) == 0 {
		return
	}
	f.total++
	if f.keep == 0 {
		return
	}
	i := sort.Search(len(f.entries), func(i int) bool {
		e := f.entries[i]
		return e.section > section || e.section == section && e.seq > seq
	})
	if i == f.keep {
		return // after every connection kept
	}
	if len(f.entries) == f.keep {
		f.entries[len(f.entries)-1] = differencesAt{} // let go of what it held
		f.entries = f.entries[:len(f.entries)-1]
	}
	f.entries = slices.Insert(f.entries, i, differencesAt{section, seq, diffs})
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
