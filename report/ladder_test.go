package report

import (
	"slices"
	"testing"

	"github.com/tcpfsm/tcpfsm/fsm"
)

// TestLadderKeepsHeadAndLatest: a ladder keeps its first keepHead
// segments and the latest keepTail in order, counts the rest, and numbers
// sequence space from each side's first segment.
func TestLadderKeepsHeadAndLatest(t *testing.T) {
	l := newLadder(3, 2)
	for i := range 10 {
		dir := fsm.Dir(i % 2)
		l.add(&TraceLine{Seg: fsm.Segment{Time: int64(i), Dir: dir, Seq: 1000*uint32(dir) + 100 + uint32(i), Ack: 7}})
	}
	var got []int64
	for _, g := range append(append([]rung(nil), l.head...), l.latest()...) {
		got = append(got, g.time)
	}
	if want := []int64{0, 1, 2, 8, 9}; !slices.Equal(got, want) {
		t.Errorf("kept %v, want %v", got, want)
	}
	if l.dropped != 5 {
		t.Errorf("dropped %d, want 5", l.dropped)
	}
	last := l.latest()[1]                                        // time 9, from the server (dir 1): seq 1109, its first was 1101
	if l.relSeq(&last) != 8 || int32(l.relAck(&last)) != 7-100 { // the client's first seq was 100
		t.Errorf("relative seq %d ack %d", l.relSeq(&last), int32(l.relAck(&last)))
	}
	text := textLadder()
	for i := range maxLadderSegments + 4 {
		text.add(&TraceLine{Seg: fsm.Segment{Time: int64(i)}})
	}
	if len(text.head) != maxLadderSegments || len(text.tail) != 0 || text.dropped != 4 {
		t.Errorf("text ladder: %d kept, %d in the tail, %d dropped", len(text.head), len(text.tail), text.dropped)
	}
}
