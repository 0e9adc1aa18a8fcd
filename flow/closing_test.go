package flow

import (
	"cmp"
	"math/rand/v2"
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
	twOver := base + 5*ms + fsm.TimeWaitDuration + 1 // the client's TIME_WAIT has run out

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
		{"closed: TIME_WAIT runs out first", Config{}, append(handshakeAndClose(cli, 0), pkt(other, srv, syn, 1, 0, 65_006)),
			ReasonClosed, twOver + DefaultCloseDelay, fsm.Closed},
		{"closed: in TIME_WAIT 5 s after it", Config{}, append(handshakeAndClose(cli, 0), pkt(other, srv, syn, 1, 0, 10_000)),
			ReasonEnd, base + 10_000*ms, fsm.TimeWait},
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
// connection in TIME_WAIT is a reuse; once TIME_WAIT and the close delay
// have run out, the 5-tuple is free and the SYN starts a plain connection.
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
// one a second, needs room for the 65 s each stays after its close, not for
// all of them: none is evicted, and the census at the end counts only the
// TIME_WAITs still running, and the listener of all of them.
func TestClosedConnectionsFreeTheTable(t *testing.T) {
	var pkts []*capture.Packet
	const n = 1000
	for i := range n {
		c := netip.AddrPortFrom(cli.Addr(), uint16(20000+i))
		pkts = append(pkts, handshakeAndClose(c, int64(i)*1000)...)
	}
	var census *Census
	recs, st := collect(Config{MaxConns: 100, Census: func(c *Census) { census = c }}, pkts...)
	if len(recs) != n || st.Evicted != 0 || st.Peak > 70 {
		t.Errorf("%d records, %d evicted, peak %d; want %d, 0, at most 70", len(recs), st.Evicted, st.Peak, n)
	}
	// The last 61 connections closed less than 60 s before the end.
	if tw := census.Hosts[cli.Addr()].States[fsm.TimeWait]; tw != 61 {
		t.Errorf("census: %d in TIME_WAIT, want 61", tw)
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

// TestClosingOrder holds the order of departures to a sort, over random
// insertions, changes and removals.
func TestClosingOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h closing
	in := map[*Conn]bool{}
	conns := make([]*Conn, 200)
	for i := range conns {
		conns[i] = &Conn{closingAt: -1, lastIndex: uint64(i)}
	}
	for range 5000 {
		c := conns[rng.IntN(len(conns))]
		if rng.IntN(3) == 0 {
			h.remove(c)
			delete(in, c)
			continue
		}
		c.at = rng.Int64N(50)
		h.set(c)
		in[c] = true
	}
	var want []*Conn
	for c := range in {
		want = append(want, c)
	}
	slices.SortFunc(want, func(a, b *Conn) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.lastIndex, b.lastIndex))
	})
	for i, w := range want {
		c := h.front()
		if c != w {
			t.Fatalf("departure %d: leaveAt %d index %d, want %d %d", i, c.at, c.lastIndex, w.at, w.lastIndex)
		}
		h.remove(c)
		if c.closingAt != -1 {
			t.Fatal("removed connection keeps its place")
		}
	}
	if h.front() != nil {
		t.Error("connections left over")
	}
}

// TestConnSize keeps a connection in the 128-byte size class: a SYN flood
// holds a million of them.
func TestConnSize(t *testing.T) {
	if size := unsafe.Sizeof(Conn{}); size > 128 {
		t.Errorf("flow.Conn is %d bytes, want at most 128", size)
	}
}
