package report

import (
	"slices"
	"testing"

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
