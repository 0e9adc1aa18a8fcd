package report

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tcpfsm/tcpfsm/fsm"
)

// TestLadderKeepsEnds: a ladder keeps its first and last lines, counts
// the segments between, and numbers sequence space from each side's
// first segment, left out or not.
func TestLadderKeepsEnds(t *testing.T) {
	l := newLadder(6)
	for i := range 10 {
		dir := fsm.Dir(i % 2)
		l.add(&TraceLine{Seg: fsm.Segment{Time: int64(i), Dir: dir, Flags: fsm.SYN, Seq: 1000*uint32(dir) + 100 + uint32(i), Ack: 7}})
	}
	lines := l.lines()
	if got := ladderShape(t, lines, 10, true); got != "s0 s1 s2 +4 s7 s8 s9" {
		t.Errorf("lines %s, want s0 s1 s2 +4 s7 s8 s9", got)
	}
	third := lines[2].seg                                           // time 2, from the client: seq 102, its first was 100
	if l.relSeq(&third) != 2 || int32(l.relAck(&third)) != 7-1101 { // the server's first seq was 1101
		t.Errorf("relative seq %d ack %d", l.relSeq(&third), int32(l.relAck(&third)))
	}
}

// TestTextLadderIsBounded: the text ladder of a connection open for the
// whole capture keeps maxLadderLines lines and a count of the rest,
// however many segments, plain or odd, it has: it kept 100,000 segments,
// some 100 bytes each, of every connection followed.
func TestTextLadderIsBounded(t *testing.T) {
	const n = 200_000
	for _, tc := range []struct {
		name string
		seg  func(at int64) *TraceLine
	}{
		{"odd segments", oddSeg},
		{"plain runs between odd ones", func(at int64) *TraceLine {
			if at%20 == 0 {
				return oddSeg(at)
			}
			return plainSeg(at)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := textLadder()
			for i := range n {
				l.add(tc.seg(int64(i) * 1e6))
			}
			if kept := len(l.head) + len(l.tail) + len(l.pending); kept > maxLadderLines {
				t.Errorf("%d lines held, want at most %d", kept, maxLadderLines)
			}
			lines := l.lines()
			if len(lines) != maxLadderLines+1 || lines[maxLadderLines/2].kind != lineCut {
				t.Errorf("%d lines, line %d %v; want %d with the cut in the middle", len(lines), maxLadderLines/2, lines[maxLadderLines/2].kind, maxLadderLines+1)
			}
			ladderShape(t, lines, n, false) // every segment is accounted for
		})
	}

	// Drawn: the cut says what was left out, within the ladder's width.
	sel, _ := ParseLadder("all")
	var b bytes.Buffer
	rep, _ := New(&b, Options{Format: "text", Ladder: sel})
	r := record()
	for i := range n {
		tl := oddSeg(r.First + int64(i)*1e7)
		tl.ConnID, tl.From, tl.To = r.ID, r.ClientAddr, r.ServerAddr
		rep.Trace(tl)
	}
	rep.Conn(r)
	rep.Finish(&Totals{Source: "x.pcap", Census: testCensus()})
	out := b.String()
	want := "… 199,000 segments in 1989.990s left out: a ladder keeps 1,000 lines …"
	if !strings.Contains(out, want) {
		t.Errorf("no %q in the ladder", want)
	}
	if arrows := strings.Count(out, "▶"); arrows != maxLadderLines {
		t.Errorf("%d segments drawn, want %d", arrows, maxLadderLines)
	}
	for _, line := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(line); n > LadderWidth && strings.Contains(line, "…") {
			t.Errorf("a line of %d columns:\n%s", n, line)
		}
	}
}

// TestLadderFitsLongAddressesAndTimes: two full-length IPv6 addresses and
// a connection that lasts hours still draw within LadderWidth columns, and
// a fold says how long its run took, so a long silence inside is seen.
func TestLadderFitsLongAddressesAndTimes(t *testing.T) {
	sel, err := ParseLadder("all")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	rep, _ := New(&b, Options{Format: "text", Ladder: sel})
	r := record()
	r.ClientAddr = netip.MustParseAddrPort("[2001:db8:abcd:1234:5678:9abc:def0:1111]:65535")
	r.ServerAddr = netip.MustParseAddrPort("[2001:db8:abcd:1234:5678:9abc:def0:2222]:65535")
	const sec = int64(1e9)
	times := []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 5000 * sec, 5001 * sec, 50_000 * sec, 99_999 * sec}
	for i, at := range times {
		dir := fsm.Dir(i % 2)
		rep.Trace(&TraceLine{ConnID: r.ID, From: r.ClientAddr, To: r.ServerAddr,
			Seg: fsm.Segment{Time: r.First + at, Dir: dir, Flags: fsm.ACK, Seq: 100 + uint32(i), Ack: 7, Len: 10 * (1 - int(dir)), Window: 512}})
	}
	rep.Conn(r)
	rep.Finish(&Totals{Source: "x.pcap", Census: testCensus()})
	out := b.String()
	ladder := out[strings.Index(out, "       time client "):]
	ladder = ladder[:strings.Index(ladder, "\n\n")]
	for _, line := range strings.Split(ladder, "\n") {
		if n := utf8.RuneCountInString(line); n > LadderWidth {
			t.Errorf("a line of %d columns:\n%s", n, line)
		}
	}
	for _, want := range []string{
		"client [2001:db8:abcd:1234:5678:9abc:def0:1111]:65535\n",
		"server [2001:db8:abcd:1234:5678:9abc:def0:2222]:65535\n",
		"+50000.0000 ", "+99999.0000 ",
		"… 9 segments in 5001.000s:", // the fold of segments 3 to 11 holds the silence
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}
