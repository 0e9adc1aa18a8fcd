package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

type textReporter struct {
	// w is where connections are written: out itself when the report
	// streams, or else held, since the diagnoses come first.
	w, out *bufio.Writer
	held   *spool
	pal    palette
	sum    summary
	stream bool
	// streamed counts the connections a stream reported as each ended,
	// before the end of the capture reported the rest (flow.ReasonEnd).
	streamed int
	appErr   *appErrors // Options.AppError; nil lists every connection
	stamps   Stamps     // how trace, event and census lines begin
	// first and prev are the times of the first and the previous line
	// stamped, for StampsDelta and StampsSinceFirst.
	first, prev int64
	ann         announcer
	verbose     bool
	ladder      *LadderSelect
	ladders     map[uint64]*ladder // by connection id, until it is reported
	buf         []byte             // a connection's lines, being formatted
}

// newText makes the text report; hold says whether it holds the
// connections until the diagnoses are written, first (see HoldsOutput).
func newText(w io.Writer, useColor bool, th diagnose.Thresholds, stream, hold bool) *textReporter {
	t := &textReporter{out: bufio.NewWriterSize(w, 64<<10), pal: newPalette(useColor), sum: newSummary(th), stream: stream}
	t.w = t.out
	if hold {
		t.held = &spool{}
		t.w = bufio.NewWriterSize(t.held, 64<<10)
	}
	return t
}

func (t *textReporter) Conn(r *flow.Record) error {
	t.sum.add(r)
	if t.appErr != nil && !t.appErr.add(r) {
		return nil // counted, not listed
	}
	if t.stream && r.Reason != flow.ReasonEnd {
		t.streamed++
	}
	p := &t.pal
	if t.stream && unanswered(r) && !t.ann.announcedAtEnd(r) {
		t.unansweredEvent(r.End, r, "")
	}
	t.buf = t.appendConnHead(t.buf[:0], r)
	t.w.Write(t.buf)

	var counts []string
	synSent, synAckSent := "SYN retransmitted"+schedule(r.Client.SYNTimes), "SYN/ACK retransmitted"+schedule(r.Server.SYNTimes)
	for _, c := range []struct {
		n         int
		one, many string // what is counted, as one and as several
	}{
		{r.SynRetransmits, synSent, synSent},
		{r.SynAckRetransmits, synAckSent, synAckSent},
		{int(r.Client.Retransmits + r.Server.Retransmits), "retransmission", "retransmissions"},
		{int(r.Client.Keepalives + r.Server.Keepalives), "keepalive", "keepalives"},
		{int(r.Client.ZeroWindows + r.Server.ZeroWindows), "zero window", "zero windows"},
		{r.HalfOpenDropped, "half-open connection" + halfOpenDropText(r), "half-open connections" + halfOpenDropText(r)},
	} {
		if c.n == 1 {
			counts = append(counts, "1 "+c.one)
		} else if c.n > 1 {
			counts = append(counts, fmt.Sprintf("%d %s", c.n, c.many))
		}
	}
	if len(counts) > 0 || len(r.Labels) > 0 {
		fmt.Fprintf(t.w, "    %s", strings.Join(counts, ", "))
		if len(r.Labels) > 0 {
			if len(counts) > 0 {
				t.w.WriteString("  ")
			}
			fmt.Fprintf(t.w, "%s", p.label.Sprint("["+strings.Join(r.Labels, " ")+"]"))
		}
		t.w.WriteByte('\n')
	}
	for _, a := range r.Anomalies {
		fmt.Fprintf(t.w, "    %s %s at +%s: %s", p.warn.Sprint("!"), p.warn.Sprint(a.Name), seconds(a.Time-r.First), a.Detail)
		if a.Count > 1 {
			fmt.Fprintf(t.w, " (%d times)", a.Count)
		}
		t.w.WriteByte('\n')
	}
	if l := t.ladders[r.ID]; l != nil {
		t.drawLadder(r, l)
		delete(t.ladders, r.ID)
	}
	if t.stream {
		return t.w.Flush()
	}
	return nil
}

// appendConnHead appends the four lines every connection has: who, when
// and how long; how it opened and closed; each side's state and traffic;
// what each side's application saw.
// It appends what fmt would print for them, without building strings:
// the report of a capture is mostly these lines.
func (t *textReporter) appendConnHead(b []byte, r *flow.Record) []byte {
	p := &t.pal
	b = append(b, p.id.pre...)
	b = append(b, '#')
	b = strconv.AppendUint(b, r.ID, 10)
	b = append(b, p.id.post...)
	b = append(b, ' ')
	b = append(b, p.addr.pre...)
	b = r.ClientAddr.AppendTo(b)
	b = append(b, p.addr.post...)
	b = append(b, " → "...)
	b = append(b, p.addr.pre...)
	b = r.ServerAddr.AppendTo(b)
	b = append(b, p.addr.post...)
	b = append(b, "  "...)
	b = appendClock(b, r.First)
	b = append(b, "  "...)
	b = appendSeconds(b, r.Last-r.First)
	b = append(b, '\n')

	b = append(b, "    handshake "...)
	b = p.handshakePen(r.Handshake).append(b, r.Handshake)
	b = appendRTTText(b, r)
	b = append(b, "  close "...)
	b = p.closePen(r.Close).append(b, r.Close)
	if r.Close == fsm.CloseRSTClient || r.Close == fsm.CloseRSTServer || r.Handshake == fsm.HandshakeReset {
		b = append(b, resetText(r)...)
	}
	if r.Handshake == fsm.HandshakeUnreachable {
		b = append(b, unreachableText(r)...)
	}
	if r.Reason != flow.ReasonEnd && r.Reason != flow.ReasonClosed {
		b = append(b, "  ["...)
		b = append(b, reasonText(r.Reason)...)
		b = append(b, ']')
	}

	b = append(b, "\n    client "...)
	b = p.appendState(b, r.Client.State)
	b = append(b, "  server "...)
	b = p.appendState(b, r.Server.State)
	b = append(b, "  client→ "...)
	b = strconv.AppendUint(b, r.Client.Packets, 10)
	b = append(b, " pkts "...)
	b = appendByteSize(b, r.Client.Bytes)
	b = append(b, "  ←server "...)
	b = strconv.AppendUint(b, r.Server.Packets, 10)
	b = append(b, " pkts "...)
	b = appendByteSize(b, r.Server.Bytes)
	b = append(b, "\n    app  "...)
	b = appendAppText(b, r, fsm.FromClient)
	b = append(b, "; "...)
	b = appendAppText(b, r, fsm.FromServer)
	return append(b, '\n')
}

// appendAppText appends what side d's application saw, as a developer
// reads it in a log: "client connect() → connected, recv() → ECONNRESET
// (104) at 12:00:01.200000, the server reset it from ESTABLISHED".
func appendAppText(b []byte, r *flow.Record, d fsm.Dir) []byte {
	s, peer := &r.App.Client, fsm.FromServer
	if d == fsm.FromServer {
		s, peer = &r.App.Server, fsm.FromClient
	}
	b = append(b, d.String()...)
	first := true
	for _, o := range [3][2]string{{s.Call, s.Setup}, {fsm.CallRecv, s.Recv}, {fsm.CallSend, s.Send}} {
		if o[0] == "" || o[1] == "" {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, ' ')
		b = append(b, o[0]...)
		b = append(b, "() → "...)
		b = append(b, o[1]...)
		if n, ok := fsm.Errnos[o[1]]; ok {
			b = append(b, " ("...)
			b = strconv.AppendInt(b, int64(n), 10)
			b = append(b, ')')
		}
	}
	if s.Errno != 0 || s.Recv == fsm.AppEOF {
		if ts := s.Time(); ts != 0 {
			b = append(b, " at "...)
			b = appendClock(b, ts)
		}
	}
	switch {
	case s.Recv == fsm.ECONNRESET || s.Send == fsm.EPIPE:
		b = append(b, ", the "...)
		b = append(b, peer.String()...)
		b = append(b, " reset it from "...)
		b = append(b, r.ResetFrom.String()...)
	case r.Reset && r.ResetBy == d && s.Recv == "" && (s.Setup == fsm.AppConnected || s.Setup == fsm.AppAccepted):
		b = append(b, ", it reset the connection from "...)
		b = append(b, r.ResetFrom.String()...)
	}
	if s.Why != "" {
		b = append(b, ": "...)
		b = append(b, s.Why...)
	}
	return b
}

// Event writes one line: when, which connection, what happened, and the
// states both sides are in after it.
func (t *textReporter) Event(e *Event) error {
	if !t.stream {
		return nil
	}
	p := &t.pal
	r := e.Conn
	t.eventHead(e.Time, r)
	switch e.What {
	case fsm.EventEstablished:
		fmt.Fprintf(t.w, "handshake %s%s", p.handshake(r.Handshake), rttText(r))
	case fsm.EventRefused:
		fmt.Fprintf(t.w, "handshake %s", p.handshake(r.Handshake))
	case fsm.EventUnreachable:
		fmt.Fprintf(t.w, "handshake %s%s", p.handshake(r.Handshake), unreachableText(r))
	case fsm.EventReset:
		if r.Handshake == fsm.HandshakeReset {
			fmt.Fprintf(t.w, "handshake %s", p.handshake(r.Handshake))
		} else {
			fmt.Fprintf(t.w, "close %s", p.close(r.Close))
		}
		t.w.WriteString(resetText(r))
	case fsm.EventFIN:
		fmt.Fprintf(t.w, "%s sent FIN", e.Dir)
	case fsm.EventClosed:
		fmt.Fprintf(t.w, "close %s", p.close(r.Close))
	case fsm.EventSynRetransmitted:
		t.w.WriteString(p.warn.Sprint(synRetries(r)))
	case fsm.EventSynAckRetransmitted:
		t.w.WriteString(p.warn.Sprint(synAckRetries(r)))
	default:
		t.w.WriteString(e.What.String())
	}
	t.eventStates(r)
	return t.w.Flush()
}

// streamedLine says how many of the connections a stream reported above,
// each as it ended, so that the last screen is not taken for the whole
// report: "1 of the 1 connections" is said as one connection is.
func streamedLine(streamed, connections int) string {
	switch {
	case streamed == 1 && connections == 1:
		return "The connection was reported above as it ended; the summary counts it.\n"
	case streamed == connections:
		return fmt.Sprintf("All %d connections were reported above, each as it ended; the summary counts them all.\n", connections)
	case streamed == 1:
		return fmt.Sprintf("1 of the %d connections was reported above as it ended; the summary counts them all.\n", connections)
	}
	return fmt.Sprintf("%d of the %d connections were reported above, each as it ended; the summary counts them all.\n", streamed, connections)
}

// unansweredEvent announces a handshake nobody answered, when its sender
// gave up (why says how that shows) or the connection ended.
func (t *textReporter) unansweredEvent(ts int64, r *flow.Record, why string) {
	p := &t.pal
	t.eventHead(ts, r)
	fmt.Fprintf(t.w, "handshake %s", p.handshake(r.Handshake))
	if n, what := retries(r); n > 0 {
		fmt.Fprintf(t.w, ", %s", p.warn.Sprint(what))
	}
	t.w.WriteString(why)
	t.eventStates(r)
}

func (t *textReporter) eventHead(ts int64, r *flow.Record) {
	p := &t.pal
	fmt.Fprintf(t.w, "%s%s %s → %s  ", t.stamp(ts), p.id.Sprintf("#%d", r.ID), p.addr.Sprint(r.ClientAddr), p.addr.Sprint(r.ServerAddr))
}

func (t *textReporter) eventStates(r *flow.Record) {
	fmt.Fprintf(t.w, "  client %s  server %s\n", t.pal.state(r.Client.State), t.pal.state(r.Server.State))
}

// Tick writes the running census and announces the diagnoses raised since
// the last tick.
func (t *textReporter) Tick(k *Tick) error {
	if !t.stream {
		return nil
	}
	p := &t.pal
	if k.Census != nil {
		fmt.Fprintf(t.w, "%s%s  ", t.stamp(k.Time), p.head.Sprint("census"))
		if c := censusCounts(k.Census); len(c) > 0 {
			t.w.WriteString(countList(c, t.paintState))
		} else {
			t.w.WriteString("no connections")
		}
		fmt.Fprintf(t.w, "  (%d TCP packets", k.TCPPackets)
		if n := k.Live.Lost(); n > 0 {
			fmt.Fprintf(t.w, ", %s", p.bad.Sprintf("%d dropped", n))
		}
		t.w.WriteString(")\n")
	}
	raised := t.ann.tick(t.sum.diag, k.Open, k.Time, func(r *flow.Record) {
		times := retrierSide(r).SYNTimes
		t.unansweredEvent(k.Time, r, fmt.Sprintf(", no retry for %.1fs: given up", float64(k.Time-times[len(times)-1])/1e9))
	})
	for _, d := range raised {
		fmt.Fprintf(t.w, "%s%s ", t.stamp(k.Time), p.head.Sprint("diagnosis"))
		t.diagnosisHead(&d)
	}
	return t.w.Flush()
}

func (t *textReporter) paintState(name string) string {
	st, _ := fsm.ParseState(name)
	return t.pal.state(st)
}

func (t *textReporter) Trace(l *TraceLine) error {
	if l.ICMP != nil {
		if t.verbose {
			t.traceICMP(l)
		}
		return nil
	}
	if t.ladder != nil && t.ladder.wants(l.ConnID, l.From, l.To) {
		if t.ladders == nil {
			t.ladders = map[uint64]*ladder{}
		}
		g := t.ladders[l.ConnID]
		if g == nil {
			g = textLadder()
			t.ladders[l.ConnID] = g
		}
		g.add(l)
	}
	if !t.verbose {
		return nil
	}
	p := &t.pal
	res := l.Result
	fmt.Fprintf(t.w, "%s%s #%d %s > %s %s seq %d ack %d win %d len %d",
		t.stamp(l.Time), p.id.Sprint(frameOf(l)), l.ConnID, l.From, l.To,
		p.flags.Sprintf("[%s]", l.Seg.Flags), l.Seg.Seq, l.Seg.Ack, l.Seg.Window, l.Seg.Len)
	if res.Kind != 0 {
		fmt.Fprintf(t.w, "  %s", res.Kind)
	}
	for _, tr := range transitions(&res) {
		fmt.Fprintf(t.w, "  %s", p.transition.Sprint(tr))
	}
	for _, r := range [...]fsm.Rule{res.Rule, res.ThenRule} {
		if r != fsm.RuleNone {
			fmt.Fprintf(t.w, "  (%s: %s)", r, r.Explain())
		}
	}
	t.w.WriteByte('\n')
	return nil
}

// frameOf names the packet of a -v line as Wireshark numbers it: [4], or
// in a set of several files [rot001.pcap:4].
func frameOf(l *TraceLine) string {
	if l.File != "" {
		return "[" + QuoteName(l.File) + ":" + strconv.FormatUint(l.Index, 10) + "]"
	}
	return "[" + strconv.FormatUint(l.Index, 10) + "]"
}

// traceICMP writes the -v line of an ICMP error: the segment it quotes,
// the error and its sender, and what it did: the client CLOSED, and the
// errno its connect() returns, when it ended the connect().
func (t *textReporter) traceICMP(l *TraceLine) {
	p := &t.pal
	m := l.ICMP
	conn := "(no connection)"
	if l.ConnID != 0 {
		conn = fmt.Sprintf("#%d", l.ConnID)
	}
	fmt.Fprintf(t.w, "%s%s %s %s > %s %s from %s quoting seq %d",
		t.stamp(l.Time), p.id.Sprint(frameOf(l)), conn, l.From, l.To, p.flags.Sprint(m.What()), m.From, l.Seg.Seq)
	for _, tr := range transitions(&l.Result) {
		fmt.Fprintf(t.w, "  %s", p.transition.Sprint(tr))
	}
	if d := m.Dir; l.Result.Before[d] == fsm.SynSent && l.Result.After[d] == fsm.Closed {
		errno := m.Errno()
		fmt.Fprintf(t.w, "  (connect() → %s (%d), unless a SYN follows: the socket was held, the error soft)", errno, fsm.Errnos[errno])
	}
	t.w.WriteByte('\n')
}

func (t *textReporter) Finish(tot *Totals) error {
	p := &t.pal
	s := &t.sum
	diagnoses := func() {
		ds := s.diag.Diagnoses()
		if len(ds) > 0 {
			t.diagnoses(ds)
			t.w.WriteByte('\n')
		}
		if t.appErr != nil {
			var b strings.Builder
			t.appErr.writeText(&b, ds, p)
			t.w.WriteString(b.String())
			t.w.WriteByte('\n')
		}
	}
	if t.held != nil {
		// The diagnoses first, then the connections held until now.
		defer t.held.Close()
		t.w.Flush() // into the spool, which takes every write
		t.w = t.out
		diagnoses()
		if _, err := t.held.WriteTo(t.w); err != nil {
			return err
		}
	}
	if s.connections > 0 {
		t.w.WriteByte('\n')
	}
	if t.held == nil {
		diagnoses() // after the connections, streamed as they ended
	}
	if t.streamed > 0 {
		// The report is of the whole capture; what scrolled by is in it.
		t.w.WriteString(streamedLine(t.streamed, int(s.connections)))
	}
	fmt.Fprintf(t.w, "%s %s", p.head.Sprint("Summary"), QuoteName(tot.Source))
	if tot.Packets > 0 {
		fmt.Fprintf(t.w, "  %s UTC, %s", time.Unix(0, tot.First).UTC().Format("2006-01-02 15:04:05"), seconds(tot.Last-tot.First))
	}
	t.w.WriteByte('\n')
	fmt.Fprintf(t.w, "  packets      %d read, %d TCP, %d not TCP", tot.Packets, tot.TCPPackets, tot.NonTCP)
	if tot.ICMPErrors > 0 {
		fmt.Fprintf(t.w, " (%d ICMP %s quoting TCP)", tot.ICMPErrors, nounFor(tot.ICMPErrors, "error"))
	}
	if tot.Fragments+tot.Reassembled+tot.DroppedDatagrams > 0 {
		// The fragment completing a datagram is counted as what the
		// datagram held, so that the counts add up to the packets read.
		fmt.Fprintf(t.w, ", %d IP %s held for reassembly (datagrams: %d reassembled, %d dropped)",
			tot.Fragments, nounFor(tot.Fragments, "fragment"), tot.Reassembled, tot.DroppedDatagrams)
	}
	if tot.Filtered > 0 {
		fmt.Fprintf(t.w, ", %d filtered out", tot.Filtered)
	}
	if tot.Malformed > 0 {
		fmt.Fprintf(t.w, ", %s", p.warn.Sprintf("%d malformed", tot.Malformed))
	}
	if n := tot.BadChecksum + tot.BadIPChecksum; n > 0 {
		fmt.Fprintf(t.w, ", %s", p.warn.Sprintf("%d with a bad checksum (ignored)", n))
	}
	if tot.Truncated > 0 {
		fmt.Fprintf(t.w, ", %d cut by the snaplen", tot.Truncated)
	}
	fmt.Fprintf(t.w, "\n  connections  %d", s.connections)
	if hs := sorted(s.handshakes); len(hs) > 0 {
		fmt.Fprintf(t.w, ": handshake %s", countList(hs, p.handshake))
	}
	if cl := sorted(s.closes); len(cl) > 0 {
		fmt.Fprintf(t.w, "; close %s", countList(cl, p.close))
	}
	t.w.WriteByte('\n')
	if f := tot.Flow; f.Idle+f.Evicted+f.Reused > 0 {
		fmt.Fprintf(t.w, "  table        %d expired idle, %d reused 5-tuples", f.Idle, f.Reused)
		if f.Evicted > 0 {
			fmt.Fprintf(t.w, ", %s", p.warn.Sprintf("%d evicted (table full)", f.Evicted))
		}
		t.w.WriteByte('\n')
	}
	paintState := t.paintState
	if c := censusCounts(tot.Census); len(c) > 0 {
		fmt.Fprintf(t.w, "  census       at %s: %s", clock(tot.Census.At), countList(c, paintState))
		if n := tot.Census.ClientOnlyEstablished; n > 0 {
			fmt.Fprintf(t.w, "; %s", p.bad.Sprintf("%d established at the client only (the server in SYN_RCVD)", n))
		}
		t.w.WriteByte('\n')
		if hosts := censusHosts(tot.Census); len(hosts) > 1 {
			for i, a := range hosts {
				if i == 20 {
					fmt.Fprintf(t.w, "  %-12s … %d more hosts\n", "", len(hosts)-20)
					break
				}
				fmt.Fprintf(t.w, "  %-12s %s  %s\n", "", p.addr.Sprint(a), countList(hostCounts(tot.Census.Hosts[a]), paintState))
			}
		}
	}
	for i, l := range s.listenersByAttempts() {
		if i == 10 {
			fmt.Fprintf(t.w, "  %-12s … %d more\n", "", len(s.byListener)-10)
			break
		}
		head := "listeners"
		if i > 0 {
			head = ""
		}
		fmt.Fprintf(t.w, "  %-12s %s  handshake %s", head, p.addr.Sprint(l.endpoint), countList(sorted(l.outcomes), p.handshake))
		if l.notAccepted > 0 {
			fmt.Fprintf(t.w, " (%s)", p.bad.Sprintf("%d complete but not accepted by the server", l.notAccepted))
		}
		for j, what := range [2]string{"SYN→SYN/ACK", "SYN/ACK→ACK"} {
			if q := summarise(&l.rtt[j]); q != nil {
				fmt.Fprintf(t.w, "; %s %s/%s/%s/%s ms", what, q.Min.text(), q.Median.text(), q.P99.text(), q.Max.text())
				if i == 0 && j == 0 {
					t.w.WriteString(" (min/median/p99/max)")
				}
			}
		}
		t.w.WriteByte('\n')
	}
	if a := sorted(s.anomalies); len(a) > 0 {
		fmt.Fprintf(t.w, "  anomalies    %s\n", countList(a, func(n string) string { return p.warn.Sprint(n) }))
	}
	if l := tot.Live; l != nil {
		fmt.Fprintf(t.w, "  capture      %s: %d received, ", l.Interface, l.Received)
		paint := p.good
		if l.Lost() > 0 {
			paint = p.bad
		}
		fmt.Fprintf(t.w, "%s, %s\n", paint.Sprintf("%d dropped by the kernel", l.Dropped), paint.Sprintf("%d by the interface", l.IfDropped))
		if n := l.Lost(); n > 0 {
			fmt.Fprintf(t.w, "  %s %s\n", p.bad.Sprint("warning:"), lostAdvice(n))
		}
	}
	for _, w := range tot.Warnings {
		fmt.Fprintf(t.w, "  %s %s\n", p.warn.Sprint("warning:"), w)
	}
	if b := t.sum.budgetWarning(); b != "" {
		fmt.Fprintf(t.w, "  %s %s\n", p.warn.Sprint("warning:"), b)
	}
	if t.held != nil && t.held.failed != nil {
		fmt.Fprintf(t.w, "  %s %s\n", p.warn.Sprint("warning:"), t.held.warning())
	}
	if tot.WarningsOmitted > 0 {
		fmt.Fprintf(t.w, "  %s %d more\n", p.warn.Sprint("warning:"), tot.WarningsOmitted)
	}
	return t.w.Flush()
}

// diagnoses writes the findings, worst first, each as a headline with its
// evidence, then the explanation and the advice wrapped to 80 columns.
func (t *textReporter) diagnoses(ds []diagnose.Diagnosis) {
	p := &t.pal
	fmt.Fprintf(t.w, "%s\n", p.head.Sprint("Diagnoses"))
	for _, d := range ds {
		t.diagnosisHead(&d)
		wrap(t.w, d.Explanation, "    ")
		wrap(t.w, "What to do: "+d.Advice, "    ")
	}
}

// diagnosisHead writes a diagnosis's headline: severity, name, endpoint and
// the evidence.
func (t *textReporter) diagnosisHead(d *diagnose.Diagnosis) {
	p := &t.pal
	paint := p.warn
	switch d.Severity {
	case diagnose.Critical:
		paint = p.bad
	case diagnose.Info:
		paint = p.label
	}
	ids := make([]string, len(d.Examples))
	for i, id := range d.Examples {
		ids[i] = fmt.Sprintf("#%d", id)
	}
	conns := "1 connection"
	if d.Connections != 1 {
		conns = fmt.Sprintf("%d connections", d.Connections)
	}
	fmt.Fprintf(t.w, "%s %s %s  %s, %s to %s, e.g. %s\n",
		paint.Sprintf("%-8s", d.Severity), paint.Sprint(d.Name), p.addr.Sprint(d.Endpoint),
		conns, clock(d.First), clock(d.Last), strings.Join(ids, " "))
}

// stamp is the start of a trace, event or census line at time ns: its
// time as t.stamps says, and a space; "" with StampsNone.
func (t *textReporter) stamp(ns int64) string {
	if t.first == 0 {
		t.first, t.prev = ns, ns
	}
	delta := ns - t.prev
	t.prev = ns
	switch t.stamps {
	case StampsNone:
		return ""
	case StampsUnix:
		return fmt.Sprintf("%d.%06d ", ns/1e9, ns%1e9/1e3)
	case StampsDelta:
		return seconds(delta) + " "
	case StampsDate:
		return time.Unix(0, ns).UTC().Format("2006-01-02 15:04:05.000000 ")
	case StampsSinceFirst:
		return seconds(ns-t.first) + " "
	}
	return clock(ns) + " "
}
