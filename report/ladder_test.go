package report

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tcpfsm/tcpfsm/fsm"
)

// TestLadderKeepsHead: a ladder keeps its first keep segments in order,
// counts the rest, and numbers sequence space from each side's first
// segment.
func TestLadderKeepsHead(t *testing.T) {
	l := newLadder(3)
	for i := range 10 {
		dir := fsm.Dir(i % 2)
		l.add(&TraceLine{Seg: fsm.Segment{Time: int64(i), Dir: dir, Seq: 1000*uint32(dir) + 100 + uint32(i), Ack: 7}})
	}
	var got []int64
	for _, g := range l.head {
		got = append(got, g.time)
	}
	if want := []int64{0, 1, 2}; !slices.Equal(got, want) {
		t.Errorf("kept %v, want %v", got, want)
	}
	if l.dropped != 7 {
		t.Errorf("dropped %d, want 7", l.dropped)
	}
	third := l.head[2]                                              // time 2, from the client: seq 102, its first was 100
	if l.relSeq(&third) != 2 || int32(l.relAck(&third)) != 7-1101 { // the server's first seq was 1101
		t.Errorf("relative seq %d ack %d", l.relSeq(&third), int32(l.relAck(&third)))
	}
	text := textLadder()
	for i := range maxLadderSegments + 4 {
		text.add(&TraceLine{Seg: fsm.Segment{Time: int64(i)}})
	}
	if len(text.head) != maxLadderSegments || text.dropped != 4 {
		t.Errorf("text ladder: %d kept, %d dropped", len(text.head), text.dropped)
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
