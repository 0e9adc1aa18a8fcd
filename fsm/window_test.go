package fsm

import (
	"slices"
	"strings"
	"testing"
)

// TestAcceptable holds acceptable to the four cases of RFC 9293 section
// 3.10.7.4's table (segment length zero or not, window zero or not), at
// both edges of the window and across the 2^32 wrap.
func TestAcceptable(t *testing.T) {
	const nxt = 1000
	tests := []struct {
		name   string
		seq    seq
		segLen seqSize
		rcvNxt seq
		wnd    seqSize
		want   bool
	}{
		// SEG.LEN 0, RCV.WND 0: SEG.SEQ = RCV.NXT.
		{"empty, zero window, at RCV.NXT", nxt, 0, nxt, 0, true},
		{"empty, zero window, after RCV.NXT", nxt + 1, 0, nxt, 0, false},
		{"empty, zero window, before RCV.NXT", nxt - 1, 0, nxt, 0, false},
		// SEG.LEN 0, RCV.WND > 0: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND.
		{"empty, at RCV.NXT", nxt, 0, nxt, 100, true},
		{"empty, last in the window", nxt + 99, 0, nxt, 100, true},
		{"empty, at the right edge", nxt + 100, 0, nxt, 100, false},
		{"empty, before RCV.NXT", nxt - 1, 0, nxt, 100, false},
		// SEG.LEN > 0, RCV.WND 0: never.
		{"data, zero window, at RCV.NXT", nxt, 1, nxt, 0, false},
		{"data, zero window, overlapping RCV.NXT", nxt - 5, 10, nxt, 0, false},
		// SEG.LEN > 0, RCV.WND > 0: the first or the last byte in the window.
		{"data in the window", nxt, 50, nxt, 100, true},
		{"data overlapping the left edge", nxt - 10, 20, nxt, 100, true},
		{"data ending at RCV.NXT-1", nxt - 10, 10, nxt, 100, false},
		{"data overlapping the right edge", nxt + 90, 20, nxt, 100, true},
		{"data at the right edge", nxt + 100, 1, nxt, 100, false},
		{"data covering the whole window", nxt - 10, 200, nxt, 100, false},
		// The window across 2^32.
		{"wrap: data past 0 in a window crossing it", 10, 10, 0xffff_ff00, 0x1000, true},
		{"wrap: data past the right edge beyond 0", 0xf00, 10, 0xffff_ff00, 0x1000, false},
		{"wrap: empty segment just before 0", 0xffff_ffff, 0, 0xffff_ff00, 0x1000, true},
		{"wrap: old data before RCV.NXT, before 0", 0xffff_fe00, 0x10, 0xffff_ff00, 0x1000, false},
	}
	for _, tt := range tests {
		if got := acceptable(tt.seq, tt.segLen, tt.rcvNxt, tt.wnd); got != tt.want {
			t.Errorf("%s: acceptable(seq %d, len %d, RCV.NXT %d, RCV.WND %d) = %v, want %v", tt.name, tt.seq, tt.segLen, tt.rcvNxt, tt.wnd, got, tt.want)
		}
	}
}

// TestBeyondWindow: a segment past the right edge of its receiver's window
// is dropped (RuleBeyondWindow, segment_beyond_window) and moves nothing:
// not its sender's highest sequence number, its retransmissions or its
// bytes. Anything the receiver would take, or where the observer cannot
// know the window, is classified as before. The server's RCV.NXT after
// the handshake and a 100-byte request is client seq 101; its window is
// 65535 unless a step says otherwise.
func TestBeyondWindow(t *testing.T) {
	request := with(handshake,
		step{dir: FromClient, flags: PSH | ACK, seq: 1, ack: 1, len: 100, at: 30},
		step{dir: FromServer, flags: ACK, seq: 1, ack: 101, at: 35},
	)
	closed := with(request[:len(request)-1], step{dir: FromServer, flags: ACK, seq: 1, ack: 101, win: 1, at: 35})
	// Both SYNs offer scale 7; the server advertises 512 << 7 = 65536.
	scaled := with(request[:len(request)-1], step{dir: FromServer, flags: ACK, seq: 1, ack: 101, win: 512, at: 35})
	// Picked up mid-stream: the client's data and the server's ACK, no SYNs.
	midstream := []step{
		{dir: FromClient, flags: PSH | ACK, seq: 1, ack: 1, len: 100},
		{dir: FromServer, flags: ACK, seq: 1, ack: 101, win: 512, at: 5},
	}
	// The server shrinks its window to 1000 without taking more data: its
	// largest right edge stays RCV.NXT+65535 (RFC 9293 section 3.8.6).
	shrunk := with(request, step{dir: FromServer, flags: ACK, seq: 1, ack: 101, win: 1000, at: 36})
	// Shrunk, then opened again short of the largest edge.
	regrown := with(shrunk, step{dir: FromServer, flags: ACK, seq: 1, ack: 101, win: 2000, at: 37})
	// The server acknowledges 1000 more bytes with a window of 500: the
	// edge of its earlier acknowledgement, 101+65535, is still the largest.
	ackedShrunk := with(request,
		step{dir: FromClient, flags: PSH | ACK, seq: 101, ack: 1, len: 1000, at: 36},
		step{dir: FromServer, flags: ACK, seq: 1, ack: 1101, win: 500, at: 37},
	)
	// Scaled by 7: 512 << 7 = 65536, then 8 << 7 = 1024.
	scaledShrunk := with(scaled, step{dir: FromServer, flags: ACK, seq: 1, ack: 101, win: 8, at: 36})
	// From the server's SYN/ACK on: its scale is in it, the client's SYN
	// (with the client's scale) was not captured.
	fromSYNACK := []step{
		{dir: FromServer, flags: SYNACK, ack: 1},
		{dir: FromClient, flags: ACK, seq: 1, ack: 1, at: 5, win: 512},
		{dir: FromServer, flags: PSH | ACK, seq: 1, ack: 1, len: 100, win: 512, at: 10},
	}
	tests := []struct {
		name   string
		before []step
		scale  int8 // window scale both SYNs offer; 0: none
		seg    step
		beyond bool
		kind   Kind // what the segment is when taken; 0: not checked
	}{
		// SEG.LEN 0, RCV.WND > 0.
		{name: "ACK at RCV.NXT", before: request, seg: step{dir: FromClient, flags: ACK, seq: 101, ack: 1, at: 40}},
		{name: "ACK at the right edge: acceptable once RCV.NXT reaches it", before: request,
			seg: step{dir: FromClient, flags: ACK, seq: 101 + 65535, ack: 1, at: 40}},
		{name: "ACK past the right edge", before: request, seg: step{dir: FromClient, flags: ACK, seq: 101 + 65536, ack: 1, at: 40}, beyond: true},
		// SEG.LEN 0, RCV.WND 0.
		{name: "ACK at RCV.NXT, zero window", before: closed, seg: step{dir: FromClient, flags: ACK, seq: 101, ack: 1, at: 40}},
		{name: "ACK after RCV.NXT, zero window", before: closed, seg: step{dir: FromClient, flags: ACK, seq: 102, ack: 1, at: 40}, beyond: true},
		// SEG.LEN > 0, RCV.WND 0.
		{name: "data at RCV.NXT, zero window", before: closed, seg: step{dir: FromClient, flags: PSH | ACK, seq: 101, ack: 1, len: 100, at: 40}, beyond: true},
		{name: "FIN at RCV.NXT, zero window: SEG.LEN counts the FIN", before: closed, seg: step{dir: FromClient, flags: FIN | ACK, seq: 101, ack: 1, at: 40}, beyond: true},
		{name: "one byte at RCV.NXT, zero window: a zero-window probe", before: closed,
			seg: step{dir: FromClient, flags: ACK, seq: 101, ack: 1, len: 1, at: 40}, kind: KindZeroWindowProbe},
		{name: "keepalive-shaped, zero window: a zero-window probe", before: closed,
			seg: step{dir: FromClient, flags: ACK, seq: 100, ack: 1, at: 40}, kind: KindZeroWindowProbe},
		// SEG.LEN > 0, RCV.WND > 0.
		{name: "data at RCV.NXT", before: request, seg: step{dir: FromClient, flags: PSH | ACK, seq: 101, ack: 1, len: 100, at: 40}, kind: KindNewData},
		{name: "data overlapping the left edge", before: request,
			seg: step{dir: FromClient, flags: PSH | ACK, seq: 51, ack: 1, len: 100, at: 40}, kind: KindRetransmission},
		{name: "data wholly before RCV.NXT: a retransmission, not beyond the window", before: request,
			seg: step{dir: FromClient, flags: PSH | ACK, seq: 1, ack: 1, len: 100, at: 40}, kind: KindRetransmission},
		{name: "data overlapping the right edge", before: request,
			seg: step{dir: FromClient, flags: PSH | ACK, seq: 101 + 65000, ack: 1, len: 1000, at: 40}, kind: KindNewData | KindGap},
		{name: "data at the right edge", before: request, seg: step{dir: FromClient, flags: PSH | ACK, seq: 101 + 65535, ack: 1, len: 10, at: 40}, beyond: true},
		{name: "data 2^30 past RCV.NXT", before: request, seg: step{dir: FromClient, flags: PSH | ACK, seq: 101 + 1<<30, ack: 1, len: 10, at: 40}, beyond: true},
		{name: "keepalive", before: request, seg: step{dir: FromClient, flags: ACK, seq: 100, ack: 1, at: 40}, kind: KindKeepAlive},
		{name: "data from the server past the client's window", before: request,
			seg: step{dir: FromServer, flags: PSH | ACK, seq: 1 + 70000, ack: 101, len: 10, at: 40}, beyond: true},
		// Scaled windows.
		{name: "scaled window: data in it", before: scaled, scale: 7,
			seg: step{dir: FromClient, flags: PSH | ACK, seq: 101 + 65000, ack: 1, len: 10, at: 40}, kind: KindGap},
		{name: "scaled window: data past it", before: scaled, scale: 7,
			seg: step{dir: FromClient, flags: PSH | ACK, seq: 101 + 65536, ack: 1, len: 10, at: 40}, beyond: true},
		// A shrunk window: the largest right edge counts, not the latest.
		{name: "shrunk window: data past the latest edge, within the largest", before: shrunk,
			seg: step{dir: FromClient, flags: PSH | ACK, seq: 101 + 2000, ack: 1, len: 100, at: 40}, kind: KindGap},
		{name: "shrunk window: data at the largest edge", before: shrunk,
			seg: step{dir: FromClient, flags: PSH | ACK, seq: 101 + 65535, ack: 1, len: 10, at: 40}, beyond: true},
		{name: "shrunk and reopened short of the largest edge", before: regrown,
			seg: step{dir: FromClient, flags: PSH | ACK, seq: 101 + 3000, ack: 1, len: 100, at: 40}, kind: KindGap},
		{name: "shrunk while acknowledging: data within the earlier edge", before: ackedShrunk,
			seg: step{dir: FromClient, flags: PSH | ACK, seq: 1101 + 60000, ack: 1, len: 100, at: 40}, kind: KindGap},
		{name: "shrunk while acknowledging: data at the earlier edge", before: ackedShrunk,
			seg: step{dir: FromClient, flags: PSH | ACK, seq: 101 + 65535, ack: 1, len: 100, at: 40}, beyond: true},
		{name: "scaled window shrunk: data within the largest edge", before: scaledShrunk, scale: 7,
			seg: step{dir: FromClient, flags: PSH | ACK, seq: 101 + 60000, ack: 1, len: 10, at: 40}, kind: KindGap},
		{name: "scaled window shrunk: data past the largest edge, rounded up to 2^7", before: scaledShrunk, scale: 7,
			seg: step{dir: FromClient, flags: PSH | ACK, seq: 101 + 65536 + 200, ack: 1, len: 10, at: 40}, beyond: true},
		// The window unknown: nothing is called unacceptable.
		{name: "mid-stream, scale unknown", before: midstream,
			seg: step{dir: FromClient, flags: PSH | ACK, seq: 101 + 1<<20, ack: 1, len: 10, at: 40}, kind: KindGap},
		{name: "mid-stream, the receiver's window never seen", before: midstream[:1],
			seg: step{dir: FromClient, flags: PSH | ACK, seq: 101 + 1<<20, ack: 1, len: 10, at: 40}, kind: KindGap},
		{name: "the client's SYN not seen, both scaling: its scale unknown", before: fromSYNACK, scale: 7,
			seg: step{dir: FromServer, flags: PSH | ACK, seq: 101 + 1<<20, ack: 1, len: 10, at: 40}, kind: KindGap},
		{name: "the client's SYN not seen, the SYN/ACK without a scale: none", before: fromSYNACK,
			seg: step{dir: FromServer, flags: PSH | ACK, seq: 101 + 1<<20, ack: 1, len: 10, at: 40}, beyond: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, isn := range []uint32{cISN, 0xffff_ff00} { // and the client's window across 2^32
				c := replay(tt.before, isn, tt.scale)
				seg := tt.seg.segment(isn, sISN)
				sender := &c.ep[seg.Dir]
				nxt, bytes, retransmits := sender.tx.nxt, sender.bytes, sender.retransmits
				res := c.Step(&seg)
				r := c.Result(c.Last())
				noted := slices.ContainsFunc(r.Anomalies, func(a Anomaly) bool { return a.Name == AnomalySegmentBeyondWindow })
				if (res.Rule == RuleBeyondWindow) != tt.beyond || noted != tt.beyond {
					t.Fatalf("client ISN %d: rule %q, anomalies %+v; beyond the window: %v", isn, res.Rule, r.Anomalies, tt.beyond)
				}
				if tt.beyond {
					if sender.tx.nxt != nxt || sender.bytes != bytes || sender.retransmits != retransmits || res.Kind != 0 {
						t.Errorf("client ISN %d: dropped segment moved next seq %d -> %d, bytes %d -> %d, retransmits %d -> %d, kind %s",
							isn, nxt, sender.tx.nxt, bytes, sender.bytes, retransmits, sender.retransmits, res.Kind)
					}
					if a := r.Anomalies[len(r.Anomalies)-1]; !strings.Contains(a.Detail, "past its window") {
						t.Errorf("client ISN %d: detail %q", isn, a.Detail)
					}
				} else if tt.kind != 0 && res.Kind&tt.kind != tt.kind {
					t.Errorf("client ISN %d: kind %s, want %s", isn, res.Kind, tt.kind)
				}
			}
		})
	}
}

// replay feeds steps to a new connection, the client's ISN cisn, both SYNs
// offering window scale `scale` (none when 0).
func replay(steps []step, cisn uint32, scale int8) *Conn {
	var c *Conn
	for _, s := range steps {
		seg := s.segment(cisn, sISN)
		if seg.Flags&SYN != 0 && scale > 0 {
			seg.WindowScale = scale
		}
		if c == nil {
			c = NewConn(&seg)
		}
		c.Step(&seg)
	}
	return c
}

// TestBeyondWindowChangesNothing: data injected past the server's window
// in the middle of an exchange is answered with an ACK, and the
// connection goes on as if it had never been sent: no retransmissions, no
// gap, the client's bytes those of its real requests; the anomaly counts
// each injected segment once.
func TestBeyondWindowChangesNothing(t *testing.T) {
	steps := with(handshake,
		step{dir: FromClient, flags: PSH | ACK, seq: 1, ack: 1, len: 100, at: 30},
		step{dir: FromServer, flags: ACK, seq: 1, ack: 101, at: 35},
		step{dir: FromClient, flags: PSH | ACK, seq: 101 + 100000, ack: 1, len: 500, at: 40, rule: RuleBeyondWindow, client: Established, server: Established},
		step{dir: FromServer, flags: ACK, seq: 1, ack: 101, at: 41, notKind: KindDupAck}, // the answering ACK
		step{dir: FromClient, flags: FIN | ACK, seq: 101 + 200000, ack: 1, at: 42, rule: RuleBeyondWindow, client: Established, server: Established},
		step{dir: FromServer, flags: ACK, seq: 1, ack: 101, at: 43},
		step{dir: FromServer, flags: PSH | ACK, seq: 1, ack: 101, len: 50, at: 50, kind: KindNewData},
		step{dir: FromClient, flags: PSH | ACK, seq: 101, ack: 51, len: 100, at: 55, kind: KindNewData, notKind: KindRetransmission | KindGap},
		step{dir: FromServer, flags: ACK, seq: 51, ack: 201, at: 60, notKind: KindAckUnseen},
		step{dir: FromClient, flags: FIN | ACK, seq: 201, ack: 51, at: 70, notKind: KindRetransmission | KindGap, client: FinWait1},
		step{dir: FromServer, flags: FIN | ACK, seq: 51, ack: 202, at: 75},
		step{dir: FromClient, flags: ACK, seq: 202, ack: 52, at: 80, client: TimeWait, server: Closed},
	)
	c := run(t, cISN, sISN, steps)
	r := c.Result(c.Last())
	if r.Handshake != HandshakeComplete || r.Close != CloseFIN {
		t.Errorf("handshake %s close %s, want complete fin", r.Handshake, r.Close)
	}
	if r.Client.Bytes != 200 || r.Client.Retransmits != 0 || r.Server.Retransmits != 0 || r.Client.Packets != 8 {
		t.Errorf("client bytes %d packets %d, retransmits %d+%d; want 200, 8, none", r.Client.Bytes, r.Client.Packets, r.Client.Retransmits, r.Server.Retransmits)
	}
	if len(r.Anomalies) != 1 || r.Anomalies[0].Name != AnomalySegmentBeyondWindow || r.Anomalies[0].Count != 2 {
		t.Fatalf("anomalies %+v, want %s twice", r.Anomalies, AnomalySegmentBeyondWindow)
	}
	if d := r.Anomalies[0].Detail; !strings.Contains(d, "RCV.NXT+100000, past its window of 65535") {
		t.Errorf("detail %q", d)
	}
}

// TestRSTWindowIsTheLargestEdge: a RST not at its receiver's RCV.NXT is
// judged against the largest right edge the receiver advertised, as data
// is (RFC 9293 section 3.8.6: a receiver does not shrink its window): one
// past the latest edge but within the largest is in the window, answered
// with a challenge ACK (RFC 5961 section 3.2), not dropped as out of it.
func TestRSTWindowIsTheLargestEdge(t *testing.T) {
	request := with(handshake,
		step{dir: FromClient, flags: PSH | ACK, seq: 1, ack: 1, len: 100, at: 30},
		step{dir: FromServer, flags: ACK, seq: 1, ack: 101, at: 35},
	)
	// The server shrinks its window to 1000 without taking more data: its
	// largest right edge stays RCV.NXT+65535.
	shrunk := with(request, step{dir: FromServer, flags: ACK, seq: 1, ack: 101, win: 1000, at: 36})
	for _, tt := range []struct {
		name   string
		before []step
		seq    uint32
		rule   Rule
	}{
		{"within the latest window", shrunk, 101 + 500, RuleRSTInWindow},
		{"past the latest edge, within the largest", shrunk, 101 + 5000, RuleRSTInWindow},
		{"past the largest edge", shrunk, 101 + 70000, RuleRSTOutOfWindow},
		{"never shrunk, within", request, 101 + 5000, RuleRSTInWindow},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := replay(tt.before, cISN, 0)
			seg := step{dir: FromClient, flags: RST, seq: tt.seq, at: 40}.segment(cISN, sISN)
			if res := c.Step(&seg); res.Rule != tt.rule {
				t.Errorf("rule %q, want %q", res.Rule, tt.rule)
			}
		})
	}
}
