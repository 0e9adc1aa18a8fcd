package report

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "embed"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

// The HTML report is one self-contained file: the summary, diagnoses, a
// census chart and a timeline of outcomes per listener are drawn when it
// is written (inline SVG); the connections travel as compact JSON inside
// it, and a small script draws the table a page at a time and decodes a
// connection's ladder only when its row is opened, so that a report of
// 100,000 connections stays small and opens in about a second.

//go:embed html/report.html.tmpl
var htmlTemplate string

// Bounds on what the HTML report keeps, so that it stays a file a browser
// opens: ladder lines kept over all connections (see htmlLadderLines for
// one), and the timeline's size.
const (
	htmlLinesTotal      = 2_000_000
	htmlTimelineBuckets = 60
	htmlTimelineRows    = 12
	htmlTimelineStarts  = 1 << 20 // 16 MiB
	// htmlServers bounds the server addresses the page's strings hold
	// and the timeline chooses its rows from: the first seen. A row of a
	// connection to a later one carries its server address itself, and
	// the timeline counts those connections in a line of their own.
	htmlServers = 16_384
)

// WithHTML returns a Reporter that passes everything to inner and also
// writes an HTML report to w when it finishes. traceToInner says whether
// inner wants the per-packet trace too (-v, --ladder).
func WithHTML(inner Reporter, w io.Writer, th diagnose.Thresholds, traceToInner bool) Reporter {
	return &htmlReporter{inner: inner, w: w, sum: newSummary(th), traceToInner: traceToInner, ladders: map[uint64]*ladder{}}
}

type htmlReporter struct {
	inner        Reporter
	w            io.Writer
	sum          summary
	traceToInner bool
	// rows holds the table's rows, written as each connection is
	// reported (see data), so that the report of a capture of millions
	// of connections costs a few MiB of memory, not a row object each.
	rows      spool
	rowsBuf   *bufio.Writer      // in front of rows
	n         int                // rows written
	strs      indexer[string]    // the strings of the table's columns
	tables    htmlTables         // of the ladders
	ladders   map[uint64]*ladder // of the connections still open
	keptLines int                // ladder lines written into the report so far
	buf       []byte
	// Row start times are µs since base, the first reported connection's
	// start; the page shifts them to count from first, the earliest.
	base, first int64
	// starts are the timeline's: every weight-th connection's, so that
	// they are at most htmlTimelineStarts (see addStart).
	starts       []timelineStart
	weight, skip int
	// servers counts the server addresses in strs, at most htmlServers;
	// untracked the connections to servers past them.
	servers   int
	untracked uint64
}

// timelineStart is what the timeline needs of a connection: 16 bytes.
type timelineStart struct {
	first             int64
	server, handshake int32 // indexes into htmlReporter.strs; server -1: past htmlServers
}

// server returns the index of a connection's server address in strs, or
// -1 for an address past the first htmlServers.
func (h *htmlReporter) server(addr string) int {
	if i, ok := h.strs.index[addr]; ok {
		return i
	}
	if h.servers == htmlServers {
		h.untracked++
		return -1
	}
	h.servers++
	return h.strs.of(addr)
}

func (h *htmlReporter) Trace(l *TraceLine) error {
	if l.ICMP != nil {
		// No segment of the ladders: only the -v trace shows it.
		if h.traceToInner {
			return h.inner.Trace(l)
		}
		return nil
	}
	g := h.ladders[l.ConnID]
	if g == nil && h.keptLines < htmlLinesTotal {
		g = newLadder(htmlLadderLines)
		h.ladders[l.ConnID] = g
	}
	if g != nil {
		g.add(l)
	}
	if h.traceToInner {
		return h.inner.Trace(l)
	}
	return nil
}

func (h *htmlReporter) Conn(r *flow.Record) error {
	h.sum.add(r)
	if h.n == 0 {
		h.base, h.first = r.First, r.First
	}
	h.first = min(h.first, r.First)
	var anomalies []string
	for _, a := range r.Anomalies {
		anomalies = append(anomalies, a.Name)
	}
	serverAddr := r.ServerAddr.String()
	server, handshake := h.server(serverAddr), h.strs.of(r.Handshake)
	h.addStart(timelineStart{r.First, int32(server), int32(handshake)})

	// [id, client, server, start, duration, handshake, close, client
	// state, server state, RTT, retransmissions, labels, anomalies,
	// ladder]: see data.
	b := h.buf[:0]
	if h.n > 0 {
		b = append(b, ',')
	}
	b = append(b, '[')
	b = strconv.AppendUint(b, r.ID, 10)
	b = appendJSONString(append(b, ','), r.ClientAddr.String()) // an address and port: no '<' to escape
	rtt := int64(-1)
	if r.RTTClient >= 0 {
		rtt = roundMicro(r.RTTClient)
	}
	if server < 0 {
		b = appendJSONString(append(b, ','), serverAddr)
	} else {
		b = strconv.AppendInt(append(b, ','), int64(server), 10)
	}
	for _, n := range []int64{roundMicro(r.First - h.base), roundMicro(r.Last - r.First), int64(handshake), int64(h.strs.of(r.Close)),
		int64(h.strs.of(r.Client.State.String())), int64(h.strs.of(r.Server.State.String())), rtt,
		int64(r.Client.Retransmits + r.Server.Retransmits), int64(h.strs.of(strings.Join(r.Labels, " "))), int64(h.strs.of(strings.Join(anomalies, " ")))} {
		b = strconv.AppendInt(append(b, ','), n, 10)
	}
	if g := h.ladders[r.ID]; g != nil {
		lines := g.lines()
		b = append(b, `,"`...)
		b = h.tables.encodeLadder(b, &g.seqBase, lines, r.Anomalies) // its characters need no escaping
		b = append(b, `"]`...)
		h.keptLines += len(lines)
		delete(h.ladders, r.ID)
	} else {
		b = append(b, ",0]"...)
	}
	h.buf = b
	h.n++
	if h.rowsBuf == nil {
		h.rowsBuf = bufio.NewWriterSize(&h.rows, 64<<10)
	}
	h.rowsBuf.Write(b) // a spool takes every write
	return h.inner.Conn(r)
}

// addStart keeps s for the timeline if it is a weight-th connection;
// when htmlTimelineStarts are kept, every other one goes and the weight
// doubles. The timeline of a capture of more connections than that is
// drawn from a regular sample of them, each counting for weight.
func (h *htmlReporter) addStart(s timelineStart) {
	if h.weight == 0 {
		h.weight = 1
	}
	if h.skip > 0 {
		h.skip--
		return
	}
	if len(h.starts) == htmlTimelineStarts {
		for i := range len(h.starts) / 2 {
			h.starts[i] = h.starts[2*i]
		}
		h.starts = h.starts[:len(h.starts)/2]
		h.weight *= 2
	}
	h.starts = append(h.starts, s)
	h.skip = h.weight - 1
}

func (h *htmlReporter) Event(e *Event) error { return h.inner.Event(e) }
func (h *htmlReporter) Tick(t *Tick) error   { return h.inner.Tick(t) }

func (h *htmlReporter) Finish(t *Totals) error {
	defer h.rows.Close()
	err := h.inner.Finish(t)
	bw := bufio.NewWriterSize(h.w, 1<<20)
	if werr := h.write(bw, t); werr != nil && err == nil {
		err = werr
	}
	if ferr := bw.Flush(); ferr != nil && err == nil {
		err = ferr
	}
	return err
}

// htmlPage is what the template sees.
type htmlPage struct {
	Source      string
	Span        string
	Totals      []count
	Handshakes  []count
	Closes      []count
	Diagnoses   []htmlDiag
	CensusAt    string
	Census      template.HTML
	Timeline    template.HTML
	Untracked   string // what the timeline leaves out
	Connections int
	Warnings    []string
	Data        template.JS
}

type htmlDiag struct {
	Name, Severity, Endpoint, When, Explanation, Advice string
	Connections                                         string // "1 connection", "3 connections"
	Examples                                            string
}

func (h *htmlReporter) write(w io.Writer, t *Totals) error {
	s := &h.sum
	p := htmlPage{
		Source: t.Source, Connections: h.n, Warnings: s.warnings(t),
		Span: fmt.Sprintf("%s %s to %s UTC (%s)", time.Unix(0, t.First).UTC().Format("2006-01-02"), clock(t.First), clock(t.Last), seconds(t.Last-t.First)),
	}
	p.Totals = []count{{nounFor(t.Packets, "packet"), t.Packets}, {nounFor(t.TCPPackets, "TCP packet"), t.TCPPackets},
		{nounFor(s.connections, "connection"), s.connections}, {"evicted", uint64(t.Flow.Evicted)}, {"malformed", t.Malformed}}
	p.Handshakes = sortedCounts(s.handshakes)
	p.Closes = sortedCounts(s.closes)
	for _, d := range s.diag.Diagnoses() {
		var ex []string
		for _, id := range d.Examples {
			ex = append(ex, fmt.Sprintf("#%d", id))
		}
		p.Diagnoses = append(p.Diagnoses, htmlDiag{Name: d.Name, Severity: d.Severity.String(), Endpoint: d.Endpoint,
			When: clock(d.First) + " to " + clock(d.Last), Explanation: d.Explanation, Advice: d.Advice,
			Connections: thousands(d.Connections) + " " + nounFor(uint64(d.Connections), "connection"), Examples: strings.Join(ex, " ")})
	}
	if t.Census != nil {
		p.CensusAt = clock(t.Census.At)
		p.Census = censusChart(t.Census)
	}
	if h.rowsBuf != nil {
		h.rowsBuf.Flush() // before the page: it says if the rows are in memory
	}
	if h.rows.failed != nil {
		p.Warnings = append(p.Warnings, h.rows.warning())
	}
	p.Timeline = h.timeline(t)
	if h.untracked > 0 {
		p.Untracked = fmt.Sprintf("Not drawn: %s %s to servers seen after the first %s (the table lists them).",
			thousands(int(h.untracked)), nounFor(uint64(h.untracked), "connection"), thousands(htmlServers))
	}
	data, err := h.data()
	if err != nil {
		return err
	}
	p.Data = template.JS(data)
	tmpl, err := template.New("report").Parse(htmlTemplate)
	if err != nil {
		return err
	}
	// The page is small but for the rows: it is made with a marker in
	// their place, and the rows are copied in from where they are held.
	var page bytes.Buffer
	if err := tmpl.Execute(&page, &p); err != nil {
		return err
	}
	head, tail, ok := bytes.Cut(page.Bytes(), []byte(rowsMarker))
	if !ok {
		return fmt.Errorf("HTML report: no place for the rows in the page")
	}
	if _, err := w.Write(head); err != nil {
		return err
	}
	if _, err := h.rows.WriteTo(w); err != nil {
		return err
	}
	_, err = w.Write(tail)
	return err
}

// rowsMarker stands in the page for the rows until they are copied in.
// It holds a '<', which the template escapes wherever the page shows
// text of the capture's (its name, a warning), so that the first marker
// in the page is this one, in the data.
const rowsMarker = "<tcpfsm:rows/>"

// data is the JSON the page's script reads: the tables ladders and rows
// index, how far to shift the rows' start times, and a row per connection:
//
//	[id, client, server, start (µs since the first reported
//	 connection's: shift makes it since the earliest's), duration (µs),
//	 handshake, close, client state, server state, SYN/ACK→client RTT
//	 (µs, -1: none), retransmissions, labels, anomalies, ladder
//	 (encodeLadder's, 0: none kept)]
//
// with the server, outcomes, states, labels and anomalies indexes into
// "strings". encoding/json escapes '<', so that nothing in it can end
// the <script> element it is written into; the rows hold only numbers,
// addresses and encodeLadder's characters. The rows themselves stand as
// rowsMarker: write copies them in.
func (h *htmlReporter) data() (string, error) {
	var flags []string
	for _, f := range h.tables.flags.values {
		flags = append(flags, flagWord(f))
	}
	var states [][2]string
	for _, st := range h.tables.states.values {
		states = append(states, [2]string{st[fsm.FromClient].String(), st[fsm.FromServer].String()})
	}
	tables, err := json.Marshal(map[string]any{"strings": h.strs.values, "flags": flags, "states": states, "notes": h.tables.notes.values,
		"shift": roundMicro(h.base - h.first)})
	if err != nil {
		return "", err
	}
	return string(tables[:len(tables)-1]) + `,"conns":[` + rowsMarker + "]}", nil
}

// nounFor is noun as n of it are said: "1 connection", "0 connections".
func nounFor(n uint64, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}

func sortedCounts(m map[string]uint64) []count {
	var out []count
	for k, v := range m {
		out = append(out, count{k, v})
	}
	slices.SortFunc(out, func(a, b count) int { return cmp.Or(cmp.Compare(b.Value, a.Value), cmp.Compare(a.Name, b.Name)) })
	return out
}

// censusChart draws the endpoint states at the census instant as
// horizontal bars, one per state.
func censusChart(c *flow.Census) template.HTML {
	var totals [16]uint64
	for _, hc := range c.Hosts {
		for st, n := range hc.States {
			totals[st] += uint64(n)
		}
		totals[fsm.Listen] += uint64(hc.Listeners) // each listening port, as netstat shows it
	}
	var b strings.Builder
	var rows []count
	peak := uint64(1)
	for st := fsm.Listen; st <= fsm.TimeWait; st++ {
		if totals[st] > 0 {
			rows = append(rows, count{st.String(), totals[st]})
			peak = max(peak, totals[st])
		}
	}
	fmt.Fprintf(&b, `<svg class="census" width="640" height="%d" role="img" aria-label="endpoint states">`, 24*len(rows)+8)
	for i, r := range rows {
		y := 4 + 24*i
		wid := 1 + int(float64(r.Value)/float64(peak)*400)
		fmt.Fprintf(&b, `<text x="120" y="%d" text-anchor="end">%s</text><rect class="s-%s" x="128" y="%d" width="%d" height="18"/><text x="%d" y="%d" class="n" data-state="%s">%d</text>`,
			y+14, r.Name, r.Name, y, wid, 134+wid, y+14, r.Name, r.Value)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// timeline draws, for the busiest listeners, how their connection
// attempts ended over the capture: a strip of time buckets, each a stack
// of outcomes.
func (h *htmlReporter) timeline(t *Totals) template.HTML {
	if len(h.starts) == 0 || t.Last <= t.First {
		return ""
	}
	// Connections per listener and time bucket, of every listener kept
	// (the peak scales the bars), then by outcome for the rows drawn.
	// Memory goes with the htmlServers listeners, not the connections.
	dense := map[int32]int{} // strs index -> listener number
	var listeners []string
	var buckets [][htmlTimelineBuckets]int
	span := t.Last - t.First + 1
	bucket := func(start int64) int {
		return min(max(int((start-t.First)*htmlTimelineBuckets/span), 0), htmlTimelineBuckets-1)
	}
	for _, c := range h.starts {
		if c.server < 0 {
			continue
		}
		n, ok := dense[c.server]
		if !ok {
			n = -1
			if _, err := netip.ParseAddrPort(h.strs.values[c.server]); err == nil {
				n = len(listeners)
				listeners = append(listeners, h.strs.values[c.server])
				buckets = append(buckets, [htmlTimelineBuckets]int{})
			}
			dense[c.server] = n
		}
		if n >= 0 {
			buckets[n][bucket(c.first)] += h.weight
		}
	}
	perListener := make([]int, len(listeners))
	peak := 1
	for n := range buckets {
		for _, v := range buckets[n] {
			perListener[n] += v
			peak = max(peak, v)
		}
	}
	rows := make([]int, len(listeners))
	for n := range rows {
		rows[n] = n
	}
	slices.SortFunc(rows, func(a, b int) int {
		return cmp.Or(cmp.Compare(perListener[b], perListener[a]), cmp.Compare(listeners[a], listeners[b]))
	})
	if len(rows) > htmlTimelineRows {
		rows = rows[:htmlTimelineRows]
	}
	var servers []string
	for _, n := range rows {
		servers = append(servers, listeners[n])
	}
	type key struct {
		server string
		bucket int
	}
	counts := map[key]map[string]int{}
	drawn := map[string]bool{}
	for _, s := range servers {
		drawn[s] = true
	}
	for _, c := range h.starts {
		if c.server < 0 || !drawn[h.strs.values[c.server]] {
			continue
		}
		k := key{h.strs.values[c.server], bucket(c.first)}
		if counts[k] == nil {
			counts[k] = map[string]int{}
		}
		counts[k][h.strs.values[c.handshake]] += h.weight
	}
	const cell, rowH, left = 10, 34, 170
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="timeline" width="%d" height="%d" role="img" aria-label="outcomes over time">`, left+cell*htmlTimelineBuckets+10, rowH*len(servers)+24)
	order := fsm.HandshakeOutcomes
	for i, s := range servers {
		y := rowH * i
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, left-6, y+20, template.HTMLEscapeString(s))
		for bkt := range htmlTimelineBuckets {
			n := counts[key{s, bkt}]
			stack := 0
			for _, o := range order {
				if n[o] == 0 {
					continue
				}
				hgt := max(1, n[o]*(rowH-6)/peak)
				fmt.Fprintf(&b, `<rect class="h-%s" x="%d" y="%d" width="%d" height="%d"><title>%s: %d %s</title></rect>`,
					o, left+cell*bkt, y+rowH-2-stack-hgt, cell-1, hgt, template.HTMLEscapeString(s), n[o], o)
				stack += hgt
			}
		}
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text><text x="%d" y="%d" text-anchor="end">%s</text></svg>`,
		left, rowH*len(servers)+18, clock(t.First), left+cell*htmlTimelineBuckets, rowH*len(servers)+18, clock(t.Last))
	return template.HTML(b.String())
}
