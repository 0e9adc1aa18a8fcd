package report

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
)

// LadderWidth is the width a ladder diagram fits in.
const LadderWidth = 100

// maxLadderLines bounds the lines a text ladder keeps per connection:
// its first and last maxLadderLines/2, with a line between that counts
// the segments left out. Plain segments are folded as they arrive, so
// the lines are those worth reading; and a connection open for the whole
// capture costs at most some 100 kB, not 100 bytes a segment.
const maxLadderLines = 1000

// textLadder starts the ladder of one connection for the text report.
func textLadder() *ladder { return newLadder(maxLadderLines) }

// foldAbove is the longest run of plain segments (data and ACKs that
// change no state) drawn in full; a longer run keeps its first foldHead
// and last foldTail segments and folds the rest into one line.
const (
	foldAbove = 8
	foldHead  = 3
	foldTail  = 2
)

// LadderSelect picks the connections --ladder draws: all of them, one id,
// or those with an endpoint (address, :port or address:port).
type LadderSelect struct {
	all  bool
	id   uint64
	addr netip.Addr // invalid: any
	port uint16     // 0: any
	// matched: a segment of a connection it picks was seen.
	matched bool
}

// LadderForms says what --ladder takes, for a message.
const LadderForms = "all, a connection id (3), an address, :PORT or ADDR:PORT"

// Matched tells whether any connection it picks was seen: whether a
// ladder was drawn.
func (l *LadderSelect) Matched() bool { return l.matched }

// ParseLadder reads the argument of --ladder: "all", a connection id, or
// an endpoint.
func ParseLadder(s string) (*LadderSelect, error) {
	switch {
	case s == "all":
		return &LadderSelect{all: true}, nil
	case strings.Trim(s, "0123456789") == "":
		id, err := strconv.ParseUint(s, 10, 64)
		if err != nil || id == 0 {
			return nil, fmt.Errorf("--ladder %s: not a connection id", s)
		}
		return &LadderSelect{id: id}, nil
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return &LadderSelect{addr: ap.Addr().Unmap(), port: ap.Port()}, nil
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return &LadderSelect{addr: a.Unmap()}, nil
	}
	if p, err := strconv.ParseUint(strings.TrimPrefix(s, ":"), 10, 16); err == nil && strings.HasPrefix(s, ":") && p > 0 {
		return &LadderSelect{port: uint16(p)}, nil
	}
	return nil, fmt.Errorf("--ladder %s: want %s", s, LadderForms)
}

func (l *LadderSelect) matchEndpoint(ap netip.AddrPort) bool {
	return (!l.addr.IsValid() || ap.Addr().Unmap() == l.addr) && (l.port == 0 || ap.Port() == l.port)
}

// wants tells whether a segment of connection id between a and b is drawn.
func (l *LadderSelect) wants(id uint64, a, b netip.AddrPort) bool {
	var w bool
	switch {
	case l.all:
		w = true
	case l.id != 0:
		w = id == l.id
	default:
		w = l.matchEndpoint(a) || l.matchEndpoint(b)
	}
	l.matched = l.matched || w
	return w
}

// rung is one segment of a ladder.
type rung struct {
	time          int64
	dir           fsm.Dir
	flags         fsm.Flags
	seq, ack      uint32
	len           int
	window        uint16
	kind          fsm.Kind
	before, after [2]fsm.State
	noted         bool // the first occurrence of one of the connection's anomalies
}

func newRung(t *TraceLine) rung {
	s := &t.Seg
	return rung{
		time: s.Time, dir: s.Dir, flags: s.Flags, seq: s.Seq, ack: s.Ack, len: s.Len, window: s.Window,
		kind: t.Result.Kind, before: t.Result.Before, after: t.Result.After, noted: t.Result.Noted,
	}
}

// plain tells whether g is a segment a ladder may fold into a count: data
// or an ACK that changes no state and is nothing odd.
func (g *rung) plain() bool {
	return g.flags&(fsm.SYN|fsm.FIN|fsm.RST) == 0 && g.before == g.after && g.kind&^fsm.KindNewData == 0 && !g.noted
}

// seqBase notes each side's first sequence number, from which ladders
// number sequence space (the ISN, when the SYN was seen).
type seqBase struct {
	base     [2]uint32
	haveBase [2]bool
}

func (b *seqBase) note(s *fsm.Segment) {
	if !b.haveBase[s.Dir] {
		b.base[s.Dir], b.haveBase[s.Dir] = s.Seq, true
	}
}

// relSeq and relAck number g's sequence and acknowledgement numbers from
// each side's first.
func (b *seqBase) relSeq(g *rung) uint32 { return g.seq - b.base[g.dir] }
func (b *seqBase) relAck(g *rung) uint32 { return g.ack - b.base[1-g.dir] }

// hline is one line of a ladder: a segment, or a count of segments not
// drawn.
type hline struct {
	kind  hlineKind
	seg   rung
	count segCount // of a fold or a cut
}

type hlineKind uint8

const (
	lineSegment hlineKind = iota
	lineFold              // a run of plain segments, folded
	lineCut               // segments beyond the bound on lines
)

// segCount counts segments not drawn, as the text ladder's fold does, and
// the times of the first and last of them.
type segCount struct {
	segs, data, bytes int
	first, last       int64
}

func (c *segCount) add(g *rung) {
	if c.segs == 0 {
		c.first = g.time
	}
	c.last = g.time
	c.segs++
	if g.len > 0 {
		c.data++
		c.bytes += g.len
	}
}

func (c *segCount) addLine(l *hline) {
	if l.kind == lineSegment {
		c.add(&l.seg)
		return
	}
	if c.segs == 0 {
		c.first = l.count.first
	}
	c.last = l.count.last
	c.segs += l.count.segs
	c.data += l.count.data
	c.bytes += l.count.bytes
}

// ladder gathers the lines of one connection's ladder, text or HTML, as
// its segments arrive, in memory bounded whatever the connection's
// length:
//
//   - a run of more than foldAbove plain segments keeps its first foldHead
//     and last foldTail, and one line counts the rest; runs are folded as
//     segments arrive, so that every segment that changed a state or was
//     odd is kept however long the connection;
//   - of those lines, the first and the last maxLines/2 are kept, and one
//     line counts the segments between.
type ladder struct {
	seqBase
	half    int      // lines kept at each end: maxLines/2
	run     int      // plain segments in the current run
	pending []rung   // the run's segments after its first foldHead, not yet drawn or folded
	folded  segCount // the run's segments folded so far
	head    []hline
	tail    []hline // a ring of the latest lines, once full
	next    int     // the oldest line in tail, once it is full
	cut     segCount
}

// newLadder starts a ladder that keeps at most maxLines lines, and one
// that counts the segments left out between them.
func newLadder(maxLines int) *ladder { return &ladder{half: maxLines / 2} }

func (l *ladder) add(t *TraceLine) {
	l.note(&t.Seg)
	g := newRung(t)
	if !g.plain() {
		l.endRun()
		l.push(hline{seg: g})
		return
	}
	l.run++
	if l.run <= foldHead {
		l.push(hline{seg: g})
		return
	}
	l.pending = append(l.pending, g)
	if l.run > foldAbove { // the run is folded: all but its last foldTail
		for len(l.pending) > foldTail {
			l.folded.add(&l.pending[0])
			l.pending = append(l.pending[:0], l.pending[1:]...)
		}
	}
}

// endRun draws what is left of the current run of plain segments.
func (l *ladder) endRun() {
	if l.folded.segs > 0 {
		l.push(hline{kind: lineFold, count: l.folded})
	}
	for _, g := range l.pending {
		l.push(hline{seg: g})
	}
	l.run, l.pending, l.folded = 0, l.pending[:0], segCount{}
}

func (l *ladder) push(line hline) {
	switch {
	case len(l.head) < l.half:
		l.head = append(l.head, line)
	case len(l.tail) < l.half:
		l.tail = append(l.tail, line)
	default:
		l.cut.addLine(&l.tail[l.next])
		l.tail[l.next] = line
		l.next = (l.next + 1) % len(l.tail)
	}
}

// lines ends the ladder and returns its lines in order.
func (l *ladder) lines() []hline {
	l.endRun()
	out := append([]hline(nil), l.head...)
	if l.cut.segs > 0 {
		out = append(out, hline{kind: lineCut, count: l.cut})
	}
	out = append(out, l.tail[l.next:]...)
	return append(out, l.tail[:l.next]...)
}

// Column widths: time, a state, the arrow between the two states.
const (
	timeCol  = 11
	stateCol = 11
	arrowCol = LadderWidth - timeCol - 2*stateCol - 3
)

// draw writes the ladder of connection r, at most LadderWidth columns.
func (t *textReporter) drawLadder(r *flow.Record, l *ladder) {
	p := &t.pal
	w := t.w
	lines := l.lines()
	if len(lines) == 0 {
		return
	}
	// "client ADDR" over the client's column, "server ADDR" ending at
	// the right edge.
	// Two long IPv6 addresses do not fit on one line: the server's
	// then goes on a line of its own, still ending at the right edge.
	left, right := "client "+r.ClientAddr.String(), "server "+r.ServerAddr.String()
	gap := LadderWidth - timeCol - 1 - len(left) - len(right)
	if gap < 1 {
		fmt.Fprintf(w, "%s %s\n", p.muted.Sprint(pad("       time", timeCol)), p.addr.Sprint(left))
		fmt.Fprintf(w, "%s%s\n", strings.Repeat(" ", max(0, LadderWidth-len(right))), p.addr.Sprint(right))
	} else {
		fmt.Fprintf(w, "%s %s%s%s\n", p.muted.Sprint(pad("       time", timeCol)), p.addr.Sprint(left), strings.Repeat(" ", gap), p.addr.Sprint(right))
	}

	// Each anomaly is marked under the first segment drawn at its time
	// and in its direction. The segment that showed it first is never
	// folded (it is not plain), though it may be left out past the
	// bound on lines.
	anomalies := map[int][]fsm.Anomaly{} // line index -> first occurrences there
	for _, a := range r.Anomalies {
		for i := range lines {
			if g := &lines[i].seg; lines[i].kind == lineSegment && g.time == a.Time && g.dir == a.Dir {
				anomalies[i] = append(anomalies[i], a)
				break
			}
		}
	}
	first := lines[0].seg.time // a ladder starts with a segment: a run folds only after its first foldHead
	for i := range lines {
		switch line := &lines[i]; line.kind {
		case lineSegment:
			t.rung(&line.seg, first, l, anomalies[i])
		case lineFold:
			t.fold(&line.count)
		case lineCut:
			fmt.Fprintf(w, "%s %s\n", strings.Repeat(" ", timeCol), p.muted.Sprintf("… %s segments in %s left out: a ladder keeps %s lines …",
				thousands(line.count.segs), foldSeconds(foldMillis(line.count.last-line.count.first)), thousands(2*l.half)))
		}
	}
	w.WriteByte('\n')
}

// rung writes one segment: time, the states after it, and the arrow.
func (t *textReporter) rung(g *rung, first int64, l *ladder, anomalies []fsm.Anomaly) {
	p := &t.pal
	label := flagWord(g.flags)
	label += " seq " + strconv.FormatUint(uint64(l.relSeq(g)), 10)
	if g.flags&fsm.ACK != 0 {
		label += " ack " + strconv.FormatUint(uint64(l.relAck(g)), 10)
	}
	if g.len > 0 {
		label += " len " + strconv.Itoa(g.len)
	}
	label += " win " + strconv.Itoa(int(g.window))
	if k := g.kind &^ (fsm.KindNewData | fsm.KindReset); k != 0 {
		label += " " + k.String()
	}
	arrow := arrowText(label, g.dir == fsm.FromClient)
	colour := p.flags
	if g.kind&^(fsm.KindNewData|fsm.KindReset) != 0 {
		colour = p.warn
	}
	state := func(d fsm.Dir) string {
		s := pad(g.after[d].String(), stateCol)
		if g.after[d] != g.before[d] {
			return p.transition.Sprint(s)
		}
		return p.muted.Sprint(s)
	}
	fmt.Fprintf(t.w, "%*s %s %s %s\n", timeCol, offsetText(g.time-first),
		state(fsm.FromClient), colour.Sprint(arrow), strings.TrimRight(state(fsm.FromServer), " "))
	for _, a := range anomalies {
		line := fmt.Sprintf("%s! %s: %s", strings.Repeat(" ", timeCol+1+stateCol+1), a.Name, a.Detail)
		if len(line) > LadderWidth {
			line = line[:LadderWidth-1] + "…"
		}
		fmt.Fprintln(t.w, p.warn.Sprint(line))
	}
}

// offsetText writes a time since the first segment in at most timeCol
// columns: microseconds up to +999.999999 s, fewer decimals beyond.
func offsetText(ns int64) string {
	sec := float64(ns) / 1e9
	digits := len(strconv.FormatInt(ns/1e9, 10))
	return "+" + strconv.FormatFloat(sec, 'f', max(0, min(6, timeCol-2-digits)), 64)
}

// fold writes one line for a run of plain segments, with the time the
// run took, so that a long silence inside it is not hidden.
func (t *textReporter) fold(c *segCount) {
	text := foldText(c.segs, c.data, c.bytes, foldMillis(c.last-c.first))
	fmt.Fprintf(t.w, "%s %s %s\n", strings.Repeat(" ", timeCol), strings.Repeat(" ", stateCol), t.pal.muted.Sprint(strings.TrimRight(center(text, arrowCol), " ")))
}

// foldMillis is the time a folded run took, in milliseconds rounded half
// up: integers, so that the HTML report's page writes the same figure.
func foldMillis(ns int64) int64 { return (ns + 500_000) / 1_000_000 }

// foldSeconds writes a fold's milliseconds as seconds: 0.205s.
func foldSeconds(ms int64) string { return fmt.Sprintf("%d.%03ds", ms/1000, ms%1000) }

// foldText is the line of a folded run: how many segments, over how long,
// how many of them data and how much; shorter when that does not fit.
func foldText(segs, data, bytes int, ms int64) string {
	took := foldSeconds(ms)
	text := fmt.Sprintf("… %s segments in %s: %s data segments, %s, %s ACKs …", thousands(segs), took, thousands(data),
		byteSize(uint64(bytes)), thousands(segs-data))
	if len([]rune(text)) > arrowCol {
		text = fmt.Sprintf("… %s segments in %s: %s data, %s …", thousands(segs), took, thousands(data), byteSize(uint64(bytes)))
	}
	return text
}

// arrowText draws ──label──▶ (to the server) or ◀──label── (to the
// client) in exactly arrowCol columns.
func arrowText(label string, toServer bool) string {
	room := arrowCol - 6
	if len([]rune(label)) > room {
		label = string([]rune(label)[:room-1]) + "…"
	}
	fill := arrowCol - 4 - len([]rune(label)) - 1
	if toServer {
		return "── " + label + " " + strings.Repeat("─", fill) + "▶"
	}
	return "◀" + strings.Repeat("─", fill) + " " + label + " ──"
}

// flagWord names a segment's flags as people say them: SYN, SYN/ACK,
// PSH/ACK, FIN/ACK, RST/ACK.
func flagWord(f fsm.Flags) string {
	var parts []string
	for _, n := range []struct {
		flag fsm.Flags
		name string
	}{{fsm.SYN, "SYN"}, {fsm.FIN, "FIN"}, {fsm.RST, "RST"}, {fsm.PSH, "PSH"}, {fsm.URG, "URG"}, {fsm.ECE, "ECE"}, {fsm.CWR, "CWR"}, {fsm.ACK, "ACK"}} {
		if f&n.flag != 0 {
			parts = append(parts, n.name)
		}
	}
	if len(parts) == 0 {
		return "(no flags)"
	}
	return strings.Join(parts, "/")
}

func pad(s string, n int) string {
	if r := len([]rune(s)); r < n {
		return s + strings.Repeat(" ", n-r)
	}
	return s
}

func center(s string, n int) string {
	r := len([]rune(s))
	if r >= n {
		return s
	}
	left := (n - r) / 2
	return strings.Repeat(" ", left) + s + strings.Repeat(" ", n-r-left)
}

// thousands writes n with thousands separators: 1,204.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
