package flow

import (
	"net/netip"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/tcpfsm/tcpfsm/capture"
	"github.com/tcpfsm/tcpfsm/fsm"
)

// handshakeAndClose is a connection from c to srv that opens at ms and
// closes with the client's FIN first: the client ends in TIME_WAIT at ms+5.
func handshakeAndClose(c netip.AddrPort, ms int64) []*capture.Packet {
	return []*capture.Packet{
		pkt(c, srv, syn, 100, 0, ms),
		pkt(srv, c, synack, 500, 101, ms+1),
		pkt(c, srv, ack, 101, 501, ms+2),
		pkt(c, srv, finack, 101, 501, ms+3),
		pkt(srv, c, finack, 501, 102, ms+4),
		pkt(c, srv, ack, 102, 502, ms+5),
	}
}

func TestClosedConnectionsLeave(t *testing.T) {
	other := netip.MustParseAddrPort("10.0.0.3:40001")
	const ms = int64(time.Millisecond)
	base := time.Unix(1_700_000_000, 0).UnixNano()
	quiet := base + 5*ms + DefaultCloseDelay // 5 s after the close's last packet

	refused := []*capture.Packet{pkt(cli, srv, syn, 100, 0, 0), pkt(srv, cli, rst|ack, 0, 101, 1)}
	tests := []struct {
		name   string
		cfg    Config
		pkts   []*capture.Packet
		reason Reason
		end    int64
		client fsm.State
	}{
		{"refused: 5 s after the RST", Config{}, append(refused, pkt(other, srv, syn, 1, 0, 5_002)),
			ReasonClosed, base + 1*ms + DefaultCloseDelay, fsm.Closed},
		{"refused: still there 5 s after the RST", Config{}, append(refused, pkt(other, srv, syn, 1, 0, 5_001)),
			ReasonEnd, base + 5_001*ms, fsm.Closed},
		{"refused, with a delay of 1 s", Config{CloseDelay: 1e9}, append(refused, pkt(other, srv, syn, 1, 0, 1_002)),
			ReasonClosed, base + 1*ms + 1e9, fsm.Closed},
		{"refused, kept until idle", Config{CloseDelay: -1, IdleTimeout: 30e9}, append(refused, pkt(other, srv, syn, 1, 0, 30_002)),
			ReasonIdle, base + 1*ms + 30e9, fsm.Closed},
		{"closed: reported 5 s after its last packet, in TIME_WAIT", Config{}, append(handshakeAndClose(cli, 0), pkt(other, srv, syn, 1, 0, 5_006)),
			ReasonClosed, quiet, fsm.TimeWait},
		{"closed: still there 5 s after its last packet", Config{}, append(handshakeAndClose(cli, 0), pkt(other, srv, syn, 1, 0, 5_005)),
			ReasonEnd, base + 5_005*ms, fsm.TimeWait},
		{"closed: reported the same after its TIME_WAIT", Config{}, append(handshakeAndClose(cli, 0), pkt(other, srv, syn, 1, 0, 65_006)),
			ReasonClosed, quiet, fsm.TimeWait},
		{"closed, kept until idle", Config{CloseDelay: -1, IdleTimeout: 100e9}, append(handshakeAndClose(cli, 0), pkt(other, srv, syn, 1, 0, 100_006)),
			ReasonIdle, base + 5*ms + 100e9, fsm.Closed},
		{"a Zeek record ends by Zeek's rules", Config{ZeekRecords: true}, append(handshakeAndClose(cli, 0), pkt(other, srv, syn, 1, 0, 65_006)),
			ReasonEnd, base + 65_006*ms, fsm.Closed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, st := collect(tt.cfg, tt.pkts...)
			if len(recs) != 2 {
				t.Fatalf("%d records, want 2", len(recs))
			}
			r := recs[0]
			if r.ID != 1 || r.Reason != tt.reason || r.End != tt.end || r.Client.State != tt.client || r.Server.State != fsm.Closed {
				t.Errorf("#%d %s at %v, client %s server %s; want #1 %s at %v, client %s server CLOSED",
					r.ID, r.Reason, time.Unix(0, r.End).UTC(), r.Client.State, r.Server.State,
					tt.reason, time.Unix(0, tt.end).UTC(), tt.client)
			}
			if want := uint64(0); tt.reason == ReasonClosed {
				want = 1
				if st.Closed != want {
					t.Errorf("Stats.Closed %d, want %d", st.Closed, want)
				}
			} else if st.Closed != want {
				t.Errorf("Stats.Closed %d, want %d", st.Closed, want)
			}
		})
	}
}

// TestPortReuseUntilTheConnectionLeaves: a new SYN on the 5-tuple of a
// connection in TIME_WAIT is a reuse, also once it was reported and left
// a tombstone; once TIME_WAIT and the close delay have run out, the
// 5-tuple is free and the SYN starts a plain connection.
func TestPortReuseUntilTheConnectionLeaves(t *testing.T) {
	for _, tt := range []struct {
		atMs   int64
		reused bool
	}{{30_000, true}, {65_004, true}, {65_006, false}} {
		pkts := append(handshakeAndClose(cli, 0), pkt(cli, srv, syn, 90000, 0, tt.atMs))
		recs, st := collect(Config{}, pkts...)
		if len(recs) != 2 {
			t.Fatalf("SYN at %d ms: %d records, want 2", tt.atMs, len(recs))
		}
		if got := slices.Contains(recs[1].Labels, fsm.LabelPortReuse); got != tt.reused || (st.Reused == 1) != tt.reused {
			t.Errorf("SYN at %d ms: port_reuse %v (Stats.Reused %d), want %v", tt.atMs, got, st.Reused, tt.reused)
		}
	}
}

// TestClosedConnectionsFreeTheTable: a long capture of short connections,
// one a second, keeps each whole for the 5 s after its close and then, for
// the rest of its TIME_WAIT, a tombstone: none is evicted, and the census
// at the end counts only the TIME_WAITs still running, and the listener of
// all of them. A table too small for the tombstones forgets them first.
func TestClosedConnectionsFreeTheTable(t *testing.T) {
	var pkts []*capture.Packet
	const n = 1000
	for i := range n {
		c := netip.AddrPortFrom(cli.Addr(), uint16(20000+i))
		pkts = append(pkts, handshakeAndClose(c, int64(i)*1000)...)
	}
	var census *Census
	recs, st := collect(Config{MaxConns: 100, Census: func(c *Census) { census = c }}, pkts...)
	if len(recs) != n || st.Evicted != 0 || st.Peak > 6 {
		t.Errorf("%d records, %d evicted, peak %d; want %d, 0, at most 6", len(recs), st.Evicted, st.Peak, n)
	}
	// The last 61 connections closed less than 60 s before the end.
	if tw := census.Hosts[cli.Addr()].States[fsm.TimeWait]; tw != 61 {
		t.Errorf("census: %d in TIME_WAIT, want 61", tw)
	}
	for i := range recs {
		if r := &recs[i]; r.Client.State != fsm.TimeWait {
			t.Fatalf("#%d: client %s, want TIME_WAIT", r.ID, r.Client.State)
		}
	}

	recs, st = collect(Config{MaxConns: 30, Census: func(c *Census) { census = c }}, pkts...)
	if len(recs) != n || st.Evicted != 0 {
		t.Errorf("30 at most: %d records, %d evicted; want %d, 0", len(recs), st.Evicted, n)
	}
	if tw := census.Hosts[cli.Addr()].States[fsm.TimeWait]; tw < 24 || tw > 30 {
		t.Errorf("30 at most: census: %d in TIME_WAIT, want the tombstones that fit, 24 to 30", tw)
	}
	if l := census.Hosts[srv.Addr()].Listeners; l != 1 {
		t.Errorf("census: %d listeners, want 1", l)
	}
	closed := 0
	for i := range recs {
		if recs[i].Reason == ReasonClosed {
			closed++
		}
	}
	if uint64(closed) != st.Closed || closed < n-70 {
		t.Errorf("%d records closed, Stats.Closed %d; want at least %d", closed, st.Closed, n-70)
	}
}

// TestStraySegmentAfterTheRecord: a segment on the 5-tuple of a connection
// already reported (a retransmitted FIN) starts a connection of its own,
// picked up mid-stream, as after any connection has left.
func TestStraySegmentAfterTheRecord(t *testing.T) {
	pkts := append(handshakeAndClose(cli, 0), pkt(srv, cli, finack, 501, 102, 20_000))
	recs, st := collect(Config{}, pkts...)
	if len(recs) != 2 || st.Reused != 0 {
		t.Fatalf("%d records, %d reused; want 2, 0", len(recs), st.Reused)
	}
	if recs[0].Reason != ReasonClosed || recs[1].Handshake != fsm.HandshakeMidstream || recs[1].Reason != ReasonEnd {
		t.Errorf("first %s, second %s %s; want closed, then midstream at the end", recs[0].Reason, recs[1].Handshake, recs[1].Reason)
	}
}

// TestConnSize keeps a connection in the 128-byte size class: a SYN flood
// holds a million of them.
func TestConnSize(t *testing.T) {
	if size := unsafe.Sizeof(Conn{}); size > 128 {
		t.Errorf("flow.Conn is %d bytes, want at most 128", size)
	}
}

// TestTombstonePastItsTime: a tombstone forgotten late, behind an older one
// due after it, is gone for a SYN on its 5-tuple all the same.
func TestTombstonePastItsTime(t *testing.T) {
	a := netip.MustParseAddrPort("10.0.0.3:40001")
	pkts := handshakeAndClose(cli, 0)
	// A stray ACK in TIME_WAIT: reported (and made a tombstone) 3 s later
	// than its TIME_WAIT alone would say.
	pkts = append(pkts, pkt(cli, srv, ack, 102, 502, 3_000))
	pkts = append(pkts, handshakeAndClose(a, 1_000)...)
	// 65.5 s: cli's TIME_WAIT and delay are over (65.005 s), a's are not
	// (66.005 s), and a's tombstone is ahead of cli's.
	pkts = append(pkts, pkt(cli, srv, syn, 90000, 0, 65_500))
	recs, st := collect(Config{}, pkts...)
	if len(recs) != 3 || st.Reused != 0 {
		t.Fatalf("%d records, %d reused; want 3, 0", len(recs), st.Reused)
	}
	if last := recs[2]; slices.Contains(last.Labels, fsm.LabelPortReuse) {
		t.Errorf("SYN after the tombstone's time: labelled %v", last.Labels)
	}
}

// TestSimultaneousCloseTombstone: after a simultaneous close both sides are
// in TIME_WAIT, and the census counts both while the tombstone stands.
func TestSimultaneousCloseTombstone(t *testing.T) {
	other := netip.MustParseAddrPort("10.0.0.3:40001")
	pkts := []*capture.Packet{
		pkt(cli, srv, syn, 100, 0, 0),
		pkt(srv, cli, synack, 500, 101, 1),
		pkt(cli, srv, ack, 101, 501, 2),
		pkt(cli, srv, finack, 101, 501, 3), // the FINs cross
		pkt(srv, cli, finack, 501, 101, 3),
		pkt(cli, srv, ack, 102, 502, 4),
		pkt(srv, cli, ack, 502, 102, 4),
		pkt(other, srv, syn, 1, 0, 10_000), // reported by now, a tombstone
	}
	var census *Census
	recs, _ := collect(Config{Census: func(c *Census) { census = c }}, pkts...)
	if len(recs) != 2 || recs[0].Reason != ReasonClosed || recs[0].Client.State != fsm.TimeWait || recs[0].Server.State != fsm.TimeWait {
		t.Fatalf("records %d, first %s client %s server %s; want closed, both TIME_WAIT", len(recs), recs[0].Reason, recs[0].Client.State, recs[0].Server.State)
	}
	if c, s := census.Hosts[cli.Addr()].States[fsm.TimeWait], census.Hosts[srv.Addr()].States[fsm.TimeWait]; c != 1 || s != 1 {
		t.Errorf("census: client %d, server %d in TIME_WAIT; want 1 and 1", c, s)
	}
}

// TestStateMachinesAreReused: when many connections leave at one moment
// (here, the clock passing their idle deadline) and as many start, the new
// ones take the slots of those that left, state machines and all: the
// slabs hold no more than the most connections the table held at once.
func TestStateMachinesAreReused(t *testing.T) {
	const batch = 100
	tb := New(Config{Zeek: true, IdleTimeout: int64(time.Second), Done: func(*Record) {}})
	for round := range 5 {
		ms := int64(round) * 2000 // each round's connections are idle by the next
		for i := range batch {
			c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 9, byte(round), byte(i)}), 40000)
			tb.Add(pkt(c, srv, syn, 100, 0, ms))
			tb.Add(pkt(srv, c, synack, 500, 101, ms+1))
		}
	}
	for _, s := range []struct {
		what       string
		used, live int
	}{
		{"connections", tb.slots.used, tb.slots.live},
		{"state machines with their Zeek views", tb.states.zeek.used, tb.states.zeek.live},
	} {
		if s.used != batch || s.live != batch {
			t.Errorf("5 rounds of %d connections, each round leaving before the next: %d slots of %s used, %d live; want %d and %d",
				batch, s.used, s.what, s.live, batch, batch)
		}
	}
}
