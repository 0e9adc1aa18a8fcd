package report

import (
	"strconv"
	"strings"

	"github.com/tcpfsm/tcpfsm/fsm"
)

// The HTML report carries a ladder for every connection, yet a reader
// opens a few: so each travels as a short string that the page decodes
// only when its row is opened (decodeLadder in html/report.html.tmpl),
// and keeps only lines worth reading, folded as the text ladder is (see
// ladder), and the first and last htmlLadderLines/2 of them.

// htmlLadderLines bounds the lines of one connection's HTML ladder.
const htmlLadderLines = 64

// htmlTables number the flags, states and notes of ladder segments: the
// page holds each once, ladders their indexes.
type htmlTables struct {
	flags  indexer[fsm.Flags]
	states indexer[[2]fsm.State]
	notes  indexer[string]
}

// indexer numbers values in the order it first sees them.
type indexer[T comparable] struct {
	index  map[T]int
	values []T
}

func (x *indexer[T]) of(v T) int {
	i, ok := x.index[v]
	if !ok {
		if x.index == nil {
			x.index = map[T]int{}
		}
		i = len(x.values)
		x.index[v] = i
		x.values = append(x.values, v)
	}
	return i
}

// encodeLadder writes lines as the page's script decodes them: lines
// separated by ';', a segment's fields by ',', numbers in base 36, and
// fields at the end left out when empty. A segment is
//
//	µs since the previous segment drawn, flags index·2 + direction,
//	length (empty: 0), window (empty: as the previous segment that way),
//	states index (empty: as the previous segment), sequence number less
//	the one this side's previous segment drawn leads to (empty: equal),
//	acknowledgement number less the one the other side's leads to (empty:
//	equal, or no ACK flag), note index (empty: none)
//
// and a count of segments not drawn is '~' (a folded run) or '+' (beyond
// the bound on lines) and segments, data segments, bytes, and for a fold
// the milliseconds it took (foldMillis). Sequence
// numbers are relative to each side's first, as in the text ladder.
// anomalies are the connection's, each noted on the segment that first
// showed it. It appends to buf.
func (tab *htmlTables) encodeLadder(buf []byte, base *seqBase, lines []hline, anomalies []fsm.Anomaly) []byte {
	var next [2]uint32 // per side: relative sequence number its next segment should have
	win := [2]int{-1, -1}
	states, prevUS := -1, int64(0)
	var start int64
	for i := range lines {
		if lines[i].kind == lineSegment {
			start = lines[i].seg.time
			break
		}
	}
	// Anomalies are matched as the text ladder matches them: on the
	// first segment of their time and side.
	shown := map[int][]string{}
	for _, a := range anomalies {
		for i := range lines {
			if g := &lines[i].seg; lines[i].kind == lineSegment && g.time == a.Time && g.dir == a.Dir {
				shown[i] = append(shown[i], "! "+a.Name)
				break
			}
		}
	}
	for i := range lines {
		line := &lines[i]
		if i > 0 {
			buf = append(buf, ';')
		}
		if line.kind != lineSegment {
			buf = append(buf, "~+"[line.kind-lineFold])
			buf = strconv.AppendInt(buf, int64(line.count.segs), 36)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, int64(line.count.data), 36)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, int64(line.count.bytes), 36)
			if line.kind == lineFold {
				buf = append(buf, ',')
				buf = strconv.AppendInt(buf, foldMillis(line.count.last-line.count.first), 36)
			}
			continue
		}
		g := &line.seg
		us := roundMicro(g.time - start)
		buf = strconv.AppendInt(buf, us-prevUS, 36)
		prevUS = us
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(tab.flags.of(g.flags)*2+int(g.dir)), 36)
		buf = append(buf, ',')
		if g.len > 0 {
			buf = strconv.AppendInt(buf, int64(g.len), 36)
		}
		buf = append(buf, ',')
		if int(g.window) != win[g.dir] {
			buf = strconv.AppendInt(buf, int64(g.window), 36)
			win[g.dir] = int(g.window)
		}
		buf = append(buf, ',')
		if s := tab.states.of(g.after); s != states {
			buf = strconv.AppendInt(buf, int64(s), 36)
			states = s
		}
		buf = append(buf, ',')
		seq := base.relSeq(g)
		if d := int32(seq - next[g.dir]); d != 0 {
			buf = strconv.AppendInt(buf, int64(d), 36)
		}
		buf = append(buf, ',')
		if g.flags&fsm.ACK != 0 {
			if d := int32(base.relAck(g) - next[1-g.dir]); d != 0 {
				buf = strconv.AppendInt(buf, int64(d), 36)
			}
		}
		next[g.dir] = seq + uint32(g.len)
		if g.flags&fsm.SYN != 0 {
			next[g.dir]++
		}
		if g.flags&fsm.FIN != 0 {
			next[g.dir]++
		}
		buf = append(buf, ',')
		if note := segmentNote(g, shown[i]); note != "" {
			buf = strconv.AppendInt(buf, int64(tab.notes.of(note)), 36)
		}
		for buf[len(buf)-1] == ',' { // the first field is never empty
			buf = buf[:len(buf)-1]
		}
	}
	return buf
}

// segmentNote is what a ladder says of g beside its numbers: its kinds,
// as the text ladder shows them, then the anomalies g showed first.
func segmentNote(g *rung, anomalies []string) string {
	if k := g.kind &^ (fsm.KindNewData | fsm.KindReset); k != 0 {
		return strings.Join(append([]string{k.String()}, anomalies...), " ")
	}
	return strings.Join(anomalies, " ")
}

// roundMicro rounds ns to the nearest microsecond, as the text ladder's
// six decimals of a second do.
func roundMicro(ns int64) int64 {
	if ns < 0 {
		return -roundMicro(-ns)
	}
	return (ns + 500) / 1000
}
