package check

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestSnapshotWriterBytes: the snapshot written one connection at a time
// is, byte for byte, what encoding/json writes for the whole document
// (which is how every snapshot in testdata was written).
func TestSnapshotWriterBytes(t *testing.T) {
	conn := func(id int, extra string) map[string]any {
		return decodeObject(t, fmt.Sprintf(`{"id":%d,"client":"10.0.0.1:%d","server":"10.0.0.2:80","ts":1.5e9,"labels":[],"anomalies":[{"name":"x","count":2}],"reset":{}%s}`, id, 40000+id, extra))
	}
	tests := []struct {
		name    string
		capture string
		flags   []string
		conns   []map[string]any
		summary map[string]any
	}{
		{"none", "x.pcap", nil, nil, decodeObject(t, `{"connections":0,"warnings":[]}`)},
		{"one", "x.pcap", nil, []map[string]any{conn(1, "")}, decodeObject(t, `{"census":{"SYN_SENT":1}}`)},
		{"flags", "x.pcap", []string{"--at=2s", "--max-conns=10"}, []map[string]any{conn(1, ""), conn(2, "")}, decodeObject(t, `{}`)},
		{"escapes", "a<b>&\u2028\"\\.pcap", []string{"--x=<&>"}, []map[string]any{conn(1, `,"h":"<&>\u00e9\t"`), nil}, decodeObject(t, `{"w":["<a>\n"],"n":1.50}`)},
		{"nested empties", "x.pcap", nil, []map[string]any{conn(1, `,"deep":{"a":[[],{},[{"b":null}]]}`)}, decodeObject(t, `{"d":[]}`)},
	}
	for _, tc := range tests {
		var whole bytes.Buffer
		enc := json.NewEncoder(&whole)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		conns := tc.conns
		if conns == nil {
			conns = []map[string]any{}
		}
		// The file form snapshots had when they were written whole.
		if err := enc.Encode(struct {
			Capture     string           `json:"capture"`
			Flags       []string         `json:"flags,omitempty"`
			Connections []map[string]any `json:"connections"`
			Summary     map[string]any   `json:"summary"`
		}{tc.capture, tc.flags, conns, tc.summary}); err != nil {
			t.Fatal(err)
		}
		var streamed bytes.Buffer
		w := NewSnapshotWriter(&streamed, tc.capture, tc.flags)
		for _, c := range tc.conns {
			if err := w.Conn(c); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Finish(tc.summary); err != nil {
			t.Fatal(err)
		}
		if streamed.String() != whole.String() {
			t.Errorf("%s: written one at a time:\n%s\nwhole:\n%s", tc.name, streamed.String(), whole.String())
		}
		if w.Conns() != len(tc.conns) {
			t.Errorf("%s: %d connections counted, want %d", tc.name, w.Conns(), len(tc.conns))
		}
		back, err := ReadSnapshot(&streamed)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if back.Capture != tc.capture || !slices.Equal(back.Flags, tc.flags) || len(back.Conns) != len(tc.conns) {
			t.Errorf("%s: read back %q %q and %d connections", tc.name, back.Capture, back.Flags, len(back.Conns))
		}
	}
}

func decodeObject(t *testing.T, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return m
}

// TestSnapshotReader: a snapshot is read whatever the order and case of
// its members; what is not one gets an error saying so, from Next and
// from Skip alike.
func TestSnapshotReader(t *testing.T) {
	tests := []struct {
		doc   string
		conns int
		err   string // "" reads
	}{
		{`{"capture":"x","connections":[{"id":1},{"id":2}],"summary":{}}`, 2, ""},
		{`{"summary":{"a":1},"connections":[{"id":1}],"flags":["--at=1s"],"other":[1,{"x":2}]}`, 1, ""},
		{`{"Summary":{},"CONNECTIONS":null}`, 0, ""},
		{`{"connections":[null],"summary":{}}`, 1, ""},
		{``, 0, "not a tcpfsm snapshot: EOF"},
		{`[]`, 0, "not a tcpfsm snapshot: not a JSON object"},
		{`{"connections":[]}`, 0, "not a tcpfsm snapshot: no summary"},
		{`{"connections":[{"id":1}],"summary":{}`, 1, "not a tcpfsm snapshot: unexpected EOF"},
		{`{"connections":[{"id":1},`, 1, "not a tcpfsm snapshot: unexpected EOF"},
		{`{"connections":["x"],"summary":{}}`, 0, "not a tcpfsm snapshot: "},
		{`{"connections":{},"summary":{}}`, 0, "not a tcpfsm snapshot: the connections are not a list"},
		{`{"capture":1,"summary":{}}`, 0, "not a tcpfsm snapshot: json: cannot unmarshal number"},
		{`{"summary":{},"summary":{}}`, 0, `not a tcpfsm snapshot: "summary" twice`},
		{`{"connections":[{"id":1}] "summary":{}}`, 1, "not a tcpfsm snapshot: invalid character"},
	}
	for _, tc := range tests {
		for _, skip := range []bool{false, true} {
			n, err := 0, error(nil)
			s, err := NewSnapshotReader(strings.NewReader(tc.doc))
			for err == nil {
				if skip {
					var more bool
					if more, err = s.Skip(); more {
						n++
					}
				} else if _, err = s.Next(); err == nil {
					n++
				}
			}
			if err == io.EOF {
				err = nil
			}
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("%s (skip %v): %v", tc.doc, skip, err)
			case tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err)):
				t.Errorf("%s (skip %v): error %v, want %q", tc.doc, skip, err, tc.err)
			case n != tc.conns:
				t.Errorf("%s (skip %v): %d connections, want %d", tc.doc, skip, n, tc.conns)
			}
		}
	}
}

// referenceDiff is Diff as it was when it held both analyses whole: the
// analysis's connections indexed by identity, each of the snapshot's
// taking the first of its identity not taken yet. It returns each
// connection's differences, of those that differ, and the summary's. The
// streaming Comparison must say the same, in the same order.
func referenceDiff(want, got *Analysis) (conns [][]Difference, summary []Difference) {
	byIdentity := map[string][]int{}
	for i, c := range got.Conns {
		k := identity(c)
		byIdentity[k] = append(byIdentity[k], i)
	}
	seen := make([]bool, len(got.Conns))
	for _, w := range want.Conns {
		k := identity(w)
		if len(byIdentity[k]) == 0 {
			conns = append(conns, []Difference{{Where: describe(w), Want: "present"}})
			continue
		}
		i := byIdentity[k][0]
		byIdentity[k] = byIdentity[k][1:]
		seen[i] = true
		if d := compare(nil, describe(got.Conns[i]), "", without(w, "id"), without(got.Conns[i], "id")); len(d) > 0 {
			conns = append(conns, d)
		}
	}
	for i, g := range got.Conns {
		if !seen[i] {
			conns = append(conns, []Difference{{Where: describe(g), Got: "present"}})
		}
	}
	return conns, compare(nil, "summary", "", want.Summary, got.Summary)
}

// TestComparisonAgreesWithWholeDiff: analyses that differ in every way a
// changed analysis can (connections moved, gone, new, changed, several
// of one identity) give the differences of the whole-analysis diff, all
// the differences of the first keep connections that differ and the
// count of all of them, then the summary's, with the connections
// compared as they come.
func TestComparisonAgreesWithWholeDiff(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	conn := func(id, who int, state string) map[string]any {
		return map[string]any{"id": json.Number(fmt.Sprint(id)), "client": fmt.Sprintf("10.0.0.1:%d", 40000+who), "server": "10.0.0.2:80",
			"ts": json.Number(fmt.Sprint(who / 2)), "server_state": state, "client_state": "CLOSED"}
	}
	for trial := range 300 {
		n := rng.IntN(40)
		want := &Analysis{Summary: map[string]any{"connections": json.Number(fmt.Sprint(n))}}
		for i := range n {
			want.Conns = append(want.Conns, conn(i+1, rng.IntN(n+1), "CLOSED"))
		}
		got := &Analysis{Summary: map[string]any{"connections": json.Number(fmt.Sprint(n + trial%2))}}
		for i, w := range want.Conns {
			switch rng.IntN(7) {
			case 0: // gone
			case 1: // changed
				c := conn(i+1, 0, "SYN_RCVD")
				c["client"], c["ts"] = w["client"], w["ts"]
				got.Conns = append(got.Conns, c)
			case 2: // changed in two fields: two lines, one connection
				c := conn(i+1, 0, "SYN_RCVD")
				c["client"], c["ts"], c["client_state"] = w["client"], w["ts"], "SYN_SENT"
				got.Conns = append(got.Conns, c)
			case 3: // a new one before it
				got.Conns = append(got.Conns, conn(i+1, 1000+rng.IntN(5), "CLOSED"), w)
			default:
				got.Conns = append(got.Conns, w)
			}
		}
		// Move some a little way, as a changed timeout reorders them.
		for range rng.IntN(4) {
			if len(got.Conns) > 1 {
				i := rng.IntN(len(got.Conns) - 1)
				j := min(len(got.Conns)-1, i+1+rng.IntN(5))
				got.Conns[i], got.Conns[j] = got.Conns[j], got.Conns[i]
			}
		}
		conns, summary := referenceDiff(want, got)
		for _, keep := range []int{0, 1, 3, 20, len(conns) + 1} {
			i := 0
			c := NewComparison(func() (map[string]any, error) {
				if i == len(want.Conns) {
					return nil, io.EOF
				}
				i++
				return want.Conns[i-1], nil
			}, keep)
			for _, g := range got.Conns {
				if err := c.Got(g); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Finish(); err != nil {
				t.Fatal(err)
			}
			d := c.Differences(want.Summary, got.Summary)
			first := slices.Concat(conns[:min(keep, len(conns))]...)
			if !d.Complete || d.ConnsDiffering != len(conns) || !slices.Equal(d.Conns, first) || !slices.Equal(d.Summary, summary) {
				t.Fatalf("trial %d, keep %d: %d connections differ (complete %v):\n%v\nsummary %v\nwant the first %d of %d:\n%v\nsummary %v",
					trial, keep, d.ConnsDiffering, d.Complete, d.Conns, d.Summary, keep, len(conns), first, summary)
			}
		}
		if d, all := Diff(want, got), append(slices.Concat(conns...), summary...); !slices.Equal(d, all) {
			t.Fatalf("trial %d: Diff:\n%v\nwant:\n%v", trial, d, all)
		}
	}
}

// TestComparisonBoundsWhatWaits: connections that find no pair wait, but
// no more than maxUnpaired of them: past it the comparison says it is
// incomplete and gives the summary's differences only, and holds nothing.
func TestComparisonBoundsWhatWaits(t *testing.T) {
	const n = 50
	for _, limit := range []int{n / 2, 2 * n} {
		i := 0
		c := NewComparison(func() (map[string]any, error) {
			if i == n {
				return nil, io.EOF
			}
			i++
			return map[string]any{"client": "a", "server": "b", "ts": json.Number(fmt.Sprint(i))}, nil
		}, 20)
		c.maxUnpaired = limit
		for j := range n { // none of the snapshot's: 2n wait
			if err := c.Got(map[string]any{"client": "a", "server": "b", "ts": json.Number(fmt.Sprint(n + j + 1))}); err != nil {
				t.Fatal(err)
			}
			if c.held > limit {
				t.Fatalf("limit %d: %d connections wait", limit, c.held)
			}
		}
		c.Finish()
		d := c.Differences(map[string]any{"x": 1.0}, map[string]any{"x": 2.0})
		switch {
		case len(d.Summary) != 1 || d.Summary[0].Where != "summary":
			t.Errorf("limit %d: summary differences %v", limit, d.Summary)
		case limit < 2*n && (d.Complete || len(d.Conns) != 0 || c.held != 0):
			t.Errorf("limit %d: %v, complete %v, %d held", limit, d.Conns, d.Complete, c.held)
		case limit >= 2*n && (!d.Complete || d.ConnsDiffering != 2*n || len(d.Conns) != 20):
			t.Errorf("limit %d: %d of %d connections, complete %v", limit, len(d.Conns), d.ConnsDiffering, d.Complete)
		}
	}
}

// TestComparisonHoldsNoTail: connections past the end of the other side
// (a capture cut short, or grown) wait for nothing, however many.
func TestComparisonHoldsNoTail(t *testing.T) {
	conn := func(i int) map[string]any {
		return map[string]any{"client": "a", "server": "b", "ts": json.Number(fmt.Sprint(i))}
	}
	for _, tc := range []struct{ want, got int }{{10, 1000}, {1000, 10}} {
		i := 0
		c := NewComparison(func() (map[string]any, error) {
			if i == tc.want {
				return nil, io.EOF
			}
			i++
			return conn(i), nil
		}, 20)
		c.maxUnpaired = 0 // none may wait
		for j := range tc.got {
			c.Got(conn(j + 1))
		}
		c.Finish()
		d := c.Differences(map[string]any{}, map[string]any{})
		if !d.Complete || d.ConnsDiffering != 990 || len(d.Conns) != 20 {
			t.Errorf("%d against %d: %d of %d connections, complete %v", tc.want, tc.got, len(d.Conns), d.ConnsDiffering, d.Complete)
		}
	}
}
