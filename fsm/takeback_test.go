package fsm

import (
	"maps"
	"strings"
	"testing"
)

// TestTakeBack: a segment taken to lie beyond its receiver's window,
// which the receiver's acknowledgement later covers, was taken after all:
// the capture missed the segment that opened the window. It counts as
// taken (bytes, sequence space, FIN, a retransmission if it repeated one),
// and segment_beyond_window gives way to window_update_not_captured. One
// the receiver really dropped (its sender sends it again once the window
// opens, or no acknowledgement ever covers it) stays dropped.
//
// The server's SYN/ACK advertises 1000 bytes and the client fills them
// (client seq 1 to 1001); the window update that opened the window is
// missing from every script but "update seen, the drop real".
func TestTakeBack(t *testing.T) {
	small := []step{
		{dir: FromClient, flags: SYN},
		{dir: FromServer, flags: SYNACK, ack: 1, win: 1000, at: 10},
		{dir: FromClient, flags: ACK, seq: 1, ack: 1, at: 20},
		{dir: FromClient, flags: PSH | ACK, seq: 1, ack: 1, len: 1000, at: 30},
	}
	drop := func(seq uint32, at int64) step {
		return step{dir: FromClient, flags: PSH | ACK, seq: seq, ack: 1, len: 1000, at: at, rule: RuleBeyondWindow}
	}
	ack := func(n uint32, at int64) step {
		return step{dir: FromServer, flags: ACK, seq: 1, ack: n, at: at, notKind: KindAckUnseen}
	}
	var flood []step
	for i := range uint32(MaxDroppedSegments + 6) {
		flood = append(flood, drop(1001+1000*i, 40+int64(i)))
	}
	tests := []struct {
		name        string
		steps       []step
		anomalies   map[string]int // name: count
		bytes       uint64         // the client's
		retransmits uint32         // the client's
		nxt         uint32         // the client's next sequence number, relative
	}{
		{
			name:      "one acknowledgement covers both",
			steps:     with(small, drop(1001, 40), drop(2001, 41), ack(3001, 50)),
			anomalies: map[string]int{AnomalyWindowUpdateNotCaptured: 2},
			bytes:     3000, nxt: 3001,
		},
		{
			name:      "delayed acknowledgement: the first only",
			steps:     with(small, drop(1001, 40), drop(2001, 41), ack(2001, 50)),
			anomalies: map[string]int{AnomalySegmentBeyondWindow: 1, AnomalyWindowUpdateNotCaptured: 1},
			bytes:     2000, nxt: 2001,
		},
		{
			name:      "delayed acknowledgements: one, then the other",
			steps:     with(small, drop(1001, 40), drop(2001, 41), ack(2001, 50), ack(3001, 51)),
			anomalies: map[string]int{AnomalyWindowUpdateNotCaptured: 2},
			bytes:     3000, nxt: 3001,
		},
		{
			name: "the next segment taken after an acknowledgement opening the window: no gap",
			steps: with(small, drop(1001, 40), drop(2001, 41),
				step{dir: FromServer, flags: ACK, seq: 1, ack: 1001, at: 42},
				step{dir: FromClient, flags: PSH | ACK, seq: 3001, ack: 1, len: 1000, at: 43, kind: KindNewData, notKind: KindGap},
				ack(4001, 50)),
			anomalies: map[string]int{AnomalyWindowUpdateNotCaptured: 2},
			bytes:     4000, nxt: 4001,
		},
		{
			name: "a pure ACK past the edge, taken back with the data",
			steps: with(small, drop(1001, 40),
				step{dir: FromClient, flags: ACK, seq: 2001, ack: 1, at: 41, rule: RuleBeyondWindow},
				ack(2001, 50)),
			anomalies: map[string]int{AnomalyWindowUpdateNotCaptured: 2},
			bytes:     2000, nxt: 2001,
		},
		{
			name:      "sent twice, both dropped, taken back: the second a retransmission",
			steps:     with(small, drop(1001, 40), drop(1001, 45), ack(2001, 50)),
			anomalies: map[string]int{AnomalyWindowUpdateNotCaptured: 2},
			bytes:     3000, retransmits: 1, nxt: 2001,
		},
		{
			name: "a FIN taken back closes",
			steps: with(small,
				step{dir: FromClient, flags: FIN | PSH | ACK, seq: 1001, ack: 1, len: 1000, at: 40, rule: RuleBeyondWindow, client: Established},
				step{dir: FromServer, flags: ACK, seq: 1, ack: 2002, at: 50, client: FinWait2, server: CloseWait},
				step{dir: FromServer, flags: FIN | ACK, seq: 1, ack: 2002, at: 51, server: LastAck},
				step{dir: FromClient, flags: ACK, seq: 2002, ack: 2, at: 52, client: TimeWait, server: Closed}),
			anomalies: map[string]int{AnomalyWindowUpdateNotCaptured: 1},
			bytes:     2000, nxt: 2002,
		},
		{
			name: "update seen, the drop real: sent again once the window opened",
			steps: with(small, drop(1001, 40),
				step{dir: FromServer, flags: ACK, seq: 1, ack: 1001, at: 41}, // the ACK answering it, the window open
				step{dir: FromClient, flags: PSH | ACK, seq: 1001, ack: 1, len: 1000, at: 240, kind: KindNewData},
				ack(2001, 250)),
			anomalies: map[string]int{AnomalySegmentBeyondWindow: 1},
			bytes:     2000, nxt: 2001,
		},
		{
			name:      "never acknowledged: dropped",
			steps:     with(small, drop(1001, 40), ack(1001, 41)),
			anomalies: map[string]int{AnomalySegmentBeyondWindow: 1},
			bytes:     1000, nxt: 1001,
		},
		{
			name: "past the limit, later segments stay dropped",
			steps: with(append(small, flood...),
				step{dir: FromServer, flags: ACK, seq: 1, ack: 1001 + 1000*(MaxDroppedSegments+6), at: 200, kind: KindAckUnseen}),
			anomalies: map[string]int{AnomalySegmentBeyondWindow: 6, AnomalyWindowUpdateNotCaptured: MaxDroppedSegments, AnomalyAckUnseen: 1},
			bytes:     1000 + 1000*MaxDroppedSegments, nxt: 1001 + 1000*(MaxDroppedSegments+6),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, isn := range []uint32{cISN, 0xffff_fc00} { // and the client's sequence space across 2^32
				c := runFrom(t, nil, isn, sISN, tt.steps)
				r := c.Result(c.Last())
				got := map[string]int{}
				for _, a := range r.Anomalies {
					got[a.Name] = a.Count
				}
				if !maps.Equal(got, tt.anomalies) {
					t.Errorf("client ISN %d: anomalies %v, want %v", isn, got, tt.anomalies)
				}
				cl := &c.ep[FromClient]
				if cl.bytes != tt.bytes || cl.retransmits != tt.retransmits || uint32(cl.tx.nxt)-isn != tt.nxt {
					t.Errorf("client ISN %d: bytes %d retransmits %d next seq %d, want %d, %d, %d",
						isn, cl.bytes, cl.retransmits, uint32(cl.tx.nxt)-isn, tt.bytes, tt.retransmits, tt.nxt)
				}
				for _, a := range r.Anomalies {
					if a.Name == AnomalyWindowUpdateNotCaptured && (a.Dir != FromServer || !strings.Contains(a.Detail, "covers seq")) {
						t.Errorf("client ISN %d: %+v", isn, a)
					}
				}
			}
		})
	}
}
