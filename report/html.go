package report

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"

	_ "embed"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

// The HTML report is one self-contained file: the summary, diagnoses, a
// census chart and a timeline of outcomes per listener are drawn when it
// is written (inline SVG); the connections travel as JSON inside it, and
// a small script draws the table a page at a time and a connection's
// ladder when it is opened, so that a report of 100,000 connections
// opens at once.

//go:embed html/report.html.tmpl
var htmlTemplate string

// Bounds on what the HTML report keeps, so that it stays a file a browser
// opens: segments drawn per connection (the first and last halves), and
// segments kept over all connections.
const (
	htmlSegmentsPerConn = 64
	htmlSegmentsTotal   = 2_000_000
	htmlTimelineBuckets = 60
	htmlTimelineRows    = 12
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
	conns        [][]any            // one row per connection, see htmlConn
	ladders      map[uint64]*ladder // of the connections still open
	keptSegs     int                // segments written into the report so far
	first        int64
}

func (h *htmlReporter) Trace(l *TraceLine) error {
	g := h.ladders[l.ConnID]
	if g == nil && h.keptSegs < htmlSegmentsTotal {
		g = newLadder(htmlSegmentsPerConn/2, htmlSegmentsPerConn/2)
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

// ladderJSON is a connection's ladder as the page's script draws it: its
// first and latest segments, each [µs since the first, direction, flags,
// relative seq, relative ack or -1, length, window, client state, server
// state, kind], and how many between were not kept.
func ladderJSON(g *ladder) map[string]any {
	start := g.head[0].time
	rows := func(rungs []rung) [][]any {
		out := make([][]any, 0, len(rungs))
		for i := range rungs {
			r := &rungs[i]
			ack := int64(-1)
			if r.flags&fsm.ACK != 0 {
				ack = int64(g.relAck(r))
			}
			kind := ""
			if k := r.kind &^ (fsm.KindNewData | fsm.KindReset); k != 0 {
				kind = k.String()
			}
			out = append(out, []any{(r.time - start) / 1000, int(r.dir), flagWord(r.flags), g.relSeq(r), ack, r.len, r.window,
				r.after[fsm.FromClient].String(), r.after[fsm.FromServer].String(), kind})
		}
		return out
	}
	return map[string]any{"head": rows(g.head), "tail": rows(g.latest()), "skipped": g.dropped}
}

func (h *htmlReporter) Conn(r *flow.Record) error {
	h.sum.add(r)
	if len(h.conns) == 0 || r.First < h.first {
		h.first = r.First
	}
	var anomalies []string
	for _, a := range r.Anomalies {
		anomalies = append(anomalies, a.Name)
	}
	rtt := any(nil)
	if r.RTTClient >= 0 {
		rtt = float64(r.RTTClient) / 1e6
	}
	// id, client, server, start (Unix ns), duration (s), handshake,
	// close, client state, server state, SYN/ACK→client RTT (ms),
	// retransmissions, labels, anomalies, ladder
	row := []any{r.ID, r.ClientAddr.String(), r.ServerAddr.String(), r.First, float64(r.Last-r.First) / 1e9,
		r.Handshake, r.Close, r.Client.State.String(), r.Server.State.String(), rtt,
		r.Client.Retransmits + r.Server.Retransmits, strings.Join(r.Labels, " "), strings.Join(anomalies, " "), nil}
	if g := h.ladders[r.ID]; g != nil {
		row[13] = ladderJSON(g)
		h.keptSegs += len(g.head) + len(g.tail)
		delete(h.ladders, r.ID)
	}
	h.conns = append(h.conns, row)
	return h.inner.Conn(r)
}

func (h *htmlReporter) Event(e *Event) error { return h.inner.Event(e) }
func (h *htmlReporter) Tick(t *Tick) error   { return h.inner.Tick(t) }

func (h *htmlReporter) Finish(t *Totals) error {
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
	Connections int
	Warnings    []string
	Data        template.JS
}

type htmlDiag struct {
	Name, Severity, Endpoint, When, Explanation, Advice string
	Connections                                         int
	Examples                                            string
}

func (h *htmlReporter) write(w io.Writer, t *Totals) error {
	s := &h.sum
	p := htmlPage{
		Source: t.Source, Connections: len(h.conns), Warnings: t.warnings(),
		Span: fmt.Sprintf("%s %s to %s UTC (%s)", time.Unix(0, t.First).UTC().Format("2006-01-02"), clock(t.First), clock(t.Last), seconds(t.Last-t.First)),
	}
	p.Totals = []count{{"packets", t.Packets}, {"TCP packets", t.TCPPackets}, {"connections", s.connections},
		{"evicted", uint64(t.Flow.Evicted)}, {"malformed", t.Malformed}}
	p.Handshakes = sortedCounts(s.handshakes)
	p.Closes = sortedCounts(s.closes)
	for _, d := range s.diag.Diagnoses() {
		var ex []string
		for _, id := range d.Examples {
			ex = append(ex, fmt.Sprintf("#%d", id))
		}
		p.Diagnoses = append(p.Diagnoses, htmlDiag{Name: d.Name, Severity: d.Severity.String(), Endpoint: d.Endpoint,
			When: clock(d.First) + " to " + clock(d.Last), Explanation: d.Explanation, Advice: d.Advice,
			Connections: d.Connections, Examples: strings.Join(ex, " ")})
	}
	if t.Census != nil {
		p.CensusAt = clock(t.Census.At)
		p.Census = censusChart(t.Census)
	}
	p.Timeline = h.timeline(t)
	data, err := json.Marshal(map[string]any{"first": h.first, "conns": h.conns})
	if err != nil {
		return err
	}
	// Inside a <script> element only "</" could end it early.
	p.Data = template.JS(strings.ReplaceAll(string(data), "</", `<\/`))
	tmpl, err := template.New("report").Parse(htmlTemplate)
	if err != nil {
		return err
	}
	return tmpl.Execute(w, &p)
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
	if len(h.conns) == 0 || t.Last <= t.First {
		return ""
	}
	type key struct {
		server string
		bucket int
	}
	counts := map[key]map[string]int{}
	perListener := map[string]int{}
	span := t.Last - t.First + 1
	for _, c := range h.conns {
		server, start, outcome := c[2].(string), c[3].(int64), c[5].(string)
		if _, err := netip.ParseAddrPort(server); err != nil {
			continue
		}
		b := int((start - t.First) * htmlTimelineBuckets / span)
		k := key{server, min(max(b, 0), htmlTimelineBuckets-1)}
		if counts[k] == nil {
			counts[k] = map[string]int{}
		}
		counts[k][outcome]++
		perListener[server]++
	}
	var servers []string
	for s := range perListener {
		servers = append(servers, s)
	}
	slices.SortFunc(servers, func(a, b string) int { return cmp.Or(cmp.Compare(perListener[b], perListener[a]), cmp.Compare(a, b)) })
	if len(servers) > htmlTimelineRows {
		servers = servers[:htmlTimelineRows]
	}
	peak := 1
	for _, n := range counts {
		total := 0
		for _, v := range n {
			total += v
		}
		peak = max(peak, total)
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
