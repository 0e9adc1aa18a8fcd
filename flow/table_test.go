package flow

import (
	"fmt"
	"maps"
	"net/netip"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/capture"
	"github.com/tcpfsm/tcpfsm/fsm"
)

var (
	cli = netip.MustParseAddrPort("10.0.0.1:40000")
	srv = netip.MustParseAddrPort("10.0.0.2:9502")
)

// pkt builds a packet from a to b at t milliseconds.
func pkt(a, b netip.AddrPort, flags capture.TCPFlags, seq, ack uint32, ms int64) *capture.Packet {
	return &capture.Packet{
		Timestamp: time.Unix(1_700_000_000, ms*1e6),
		Src:       a.Addr(), Dst: b.Addr(), SrcPort: a.Port(), DstPort: b.Port(),
		Flags: flags, Seq: seq, Ack: ack, Window: 65535, IPLen: 40, WindowScale: -1,
	}
}

const (
	syn    = capture.FlagSYN
	synack = capture.FlagSYN | capture.FlagACK
	ack    = capture.FlagACK
	finack = capture.FlagFIN | capture.FlagACK
	rst    = capture.FlagRST
)

// collect runs packets through a table and returns the records in order.
func collect(cfg Config, pkts ...*capture.Packet) ([]Record, Stats) {
	var out []Record
	cfg.Done = func(r *Record) { out = append(out, *r) }
	t := New(cfg)
	for _, p := range pkts {
		t.Add(p)
	}
	t.Flush()
	return out, t.Stats()
}

func TestOrientation(t *testing.T) {
	tests := []struct {
		name       string
		first      *capture.Packet
		wantClient netip.AddrPort
		handshake  string
	}{
		{"SYN sender is the client", pkt(cli, srv, syn, 1, 0, 0), cli, fsm.HandshakeUnanswered},
		{"SYN/ACK receiver is the client", pkt(srv, cli, synack, 1, 2, 0), cli, fsm.HandshakeMidstream},
		{"mid-stream from the client: lower port is the server", pkt(cli, srv, ack, 1, 2, 0), cli, fsm.HandshakeMidstream},
		{"mid-stream from the server: lower port is the server", pkt(srv, cli, ack, 1, 2, 0), cli, fsm.HandshakeMidstream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, _ := collect(Config{}, tt.first)
			if len(recs) != 1 {
				t.Fatalf("%d records", len(recs))
			}
			if recs[0].ClientAddr != tt.wantClient || recs[0].Handshake != tt.handshake {
				t.Errorf("client %s handshake %s, want %s %s", recs[0].ClientAddr, recs[0].Handshake, tt.wantClient, tt.handshake)
			}
		})
	}
}

func TestPortReuse(t *testing.T) {
	recs, st := collect(Config{},
		pkt(cli, srv, syn, 100, 0, 0),
		pkt(srv, cli, synack, 500, 101, 1),
		pkt(cli, srv, ack, 101, 501, 2),
		pkt(srv, cli, finack, 501, 101, 3),
		pkt(cli, srv, finack, 101, 502, 4),
		pkt(srv, cli, ack, 502, 102, 5),
		// Same 5-tuple, a new ISN: a second connection, not a corruption.
		pkt(cli, srv, syn, 90000, 0, 1000),
		pkt(srv, cli, synack, 7000, 90001, 1001),
		pkt(cli, srv, ack, 90001, 7001, 1002),
	)
	if len(recs) != 2 || st.Reused != 1 {
		t.Fatalf("%d records, %d reused; want 2, 1", len(recs), st.Reused)
	}
	if recs[0].Reason != ReasonReused || recs[0].Close != fsm.CloseFIN {
		t.Errorf("first: reason %s close %s", recs[0].Reason, recs[0].Close)
	}
	if recs[1].Handshake != fsm.HandshakeComplete || recs[1].Labels[0] != fsm.LabelPortReuse {
		t.Errorf("second: handshake %s labels %v", recs[1].Handshake, recs[1].Labels)
	}
}

func TestIdleExpiryAndEviction(t *testing.T) {
	other := netip.MustParseAddrPort("10.0.0.3:40001")
	recs, st := collect(Config{IdleTimeout: 10e9},
		pkt(cli, srv, syn, 1, 0, 0),
		pkt(other, srv, syn, 1, 0, 20_000), // 20 s later: the first has expired
	)
	if st.Idle != 1 || recs[0].Reason != ReasonIdle || recs[1].Reason != ReasonEnd {
		t.Errorf("idle %d, reasons %s %s", st.Idle, recs[0].Reason, recs[1].Reason)
	}

	var pkts []*capture.Packet
	for i := range 10 {
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}), 40000)
		pkts = append(pkts, pkt(src, srv, syn, 1, 0, int64(i)))
	}
	recs, st = collect(Config{MaxConns: 4}, pkts...)
	if st.Evicted != 6 || st.Peak != 4 || len(recs) != 10 {
		t.Errorf("evicted %d peak %d records %d; want 6 4 10", st.Evicted, st.Peak, len(recs))
	}
	if recs[0].ID != 1 || recs[0].Reason != ReasonEvicted {
		t.Errorf("first evicted: id %d reason %s", recs[0].ID, recs[0].Reason)
	}
}

func BenchmarkTableAdd(b *testing.B) {
	// One long connection: the steady-state per-packet cost.
	t := New(Config{})
	p := pkt(cli, srv, syn, 1, 0, 0)
	t.Add(p)
	t.Add(pkt(srv, cli, synack, 1, 2, 1))
	data := pkt(cli, srv, ack|capture.FlagPSH, 2, 2, 2)
	data.PayloadLen = 100
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		data.Seq = 2 + uint32(i)*100
		t.Add(data)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

// TestZeekViewOnRequest: the Zeek tracker runs only when asked for.
func TestZeekViewOnRequest(t *testing.T) {
	syn := pkt(cli, srv, syn, 1, 0, 0)
	plain, _ := collect(Config{}, syn)
	withZeek, _ := collect(Config{Zeek: true}, syn)
	if plain[0].Zeek.State != "" || withZeek[0].Zeek.State != "S0" || withZeek[0].Zeek.History != "S" {
		t.Errorf("without: %+v; with: %+v", plain[0].Zeek, withZeek[0].Zeek)
	}
}

// TestLiveClock covers what a live capture needs between packets: Advance
// expires idle connections without a packet, Open shows the quiet ones as
// they stand, and CensusNow counts the states now.
func TestLiveClock(t *testing.T) {
	cli2 := netip.MustParseAddrPort("10.0.0.3:40001")
	var done []Record
	tb := New(Config{IdleTimeout: int64(10 * time.Second), Done: func(r *Record) { done = append(done, *r) }})
	// #1 completes its handshake at 0-2 ms; #2 sends a SYN at 5 s, unanswered.
	tb.Add(pkt(cli, srv, syn, 100, 0, 0))
	tb.Add(pkt(srv, cli, synack, 500, 101, 1))
	tb.Add(pkt(cli, srv, ack, 101, 501, 2))
	tb.Add(pkt(cli2, srv, syn, 900, 0, 5000))

	ms := func(n int64) int64 { return 1_700_000_000e9 + n*1e6 }
	var open []string
	for r := range tb.Open(ms(5500), int64(time.Second)) {
		if r.Reason != ReasonOpen || r.End != ms(5500) {
			t.Errorf("open #%d: reason %s end %d", r.ID, r.Reason, r.End)
		}
		open = append(open, fmt.Sprintf("#%d %s", r.ID, r.Handshake))
	}
	if got := strings.Join(open, ", "); got != "#1 complete" {
		t.Errorf("Open at 5.5 s, 1 s old: %q, want only #1 (the SYN of #2 is 0.5 s old)", got)
	}

	c := tb.CensusNow(ms(6000))
	h := c.Hosts[cli.Addr()]
	if h == nil || h.States[fsm.Established] != 1 || c.Hosts[cli2.Addr()].States[fsm.SynSent] != 1 {
		t.Errorf("census at 6 s: %+v", c.Hosts)
	}
	if sv := c.Hosts[srv.Addr()]; sv == nil || sv.Listeners != 1 || sv.States[fsm.Established] != 1 {
		t.Errorf("server census: %+v", sv)
	}

	tb.Advance(ms(10_003)) // #1 idle for more than 10 s, #2 not yet
	if len(done) != 1 || done[0].ID != 1 || done[0].Reason != ReasonIdle {
		t.Fatalf("after Advance to 10.003 s: %+v", done)
	}
	tb.Advance(ms(15_001))
	if len(done) != 2 || done[1].ID != 2 || done[1].Handshake != fsm.HandshakeUnanswered {
		t.Fatalf("after Advance to 15.001 s: %+v", done)
	}
	if st := tb.Stats(); st.Idle != 2 {
		t.Errorf("idle count %d, want 2", st.Idle)
	}
}

// BenchmarkConnMemory measures the memory each tracked connection costs,
// with many open at once: B/conn is the heap after adding them, less the
// heap before, plus what the table holds out of the heap (its arena), per
// connection (target: 200 B, see README.md).
func BenchmarkConnMemory(b *testing.B) {
	const n = 100_000
	for _, bc := range []struct {
		name        string
		zeek        bool
		established bool
	}{
		{"syn-only", false, false},
		{"established", false, true},
		{"established+zeek", true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var perConn float64
			for range b.N {
				pkts := make([]*capture.Packet, 0, 3)
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				t := New(Config{Zeek: bc.zeek, MaxConns: 2 * n})
				for i := range n {
					c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), uint16(32768+i%28000))
					pkts = append(pkts[:0], pkt(c, srv, syn, 100, 0, int64(i)))
					if bc.established {
						pkts = append(pkts, pkt(srv, c, synack, 500, 101, int64(i)), pkt(c, srv, ack, 101, 501, int64(i)))
					}
					for _, p := range pkts {
						t.Add(p)
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				perConn = (float64(after.HeapAlloc) - float64(before.HeapAlloc) + float64(t.arena.size())) / n
				runtime.KeepAlive(t)
			}
			b.ReportMetric(perConn, "B/conn")
		})
	}
}

// TestLoneSYNsChangeNothing: keeping a connection as its lone SYN until a
// second packet (what a table without Trace does) gives exactly the
// records, census and statistics of following it from the first packet,
// on every kernel capture, with and without the Zeek view.
func TestLoneSYNsChangeNothing(t *testing.T) {
	captures, err := filepath.Glob("../testdata/kernel/*.pcap*")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, path := range captures {
		if strings.Contains(path, ".golden.") {
			continue
		}
		n++
		for _, zeekView := range []bool{false, true} {
			var outs [2]string
			for i, trace := range []func(*Conn, *capture.Packet, *fsm.Segment, fsm.StepResult){nil, func(*Conn, *capture.Packet, *fsm.Segment, fsm.StepResult) {}} {
				r, err := capture.Open(path, capture.Options{})
				if err != nil {
					t.Fatal(err)
				}
				var b strings.Builder
				cfg := Config{Zeek: zeekView, Trace: trace, MaxConns: 50, // small: evictions too
					Done: func(rec *Record) { fmt.Fprintf(&b, "%+v\n", *rec) },
					Census: func(c *Census) {
						fmt.Fprintf(&b, "census %d\n", c.At)
						for _, a := range slices.SortedFunc(maps.Keys(c.Hosts), netip.Addr.Compare) {
							fmt.Fprintf(&b, "  %s %+v\n", a, *c.Hosts[a])
						}
					}}
				tb := New(cfg)
				var p capture.Packet
				for r.Next(&p) == nil {
					tb.Add(&p)
				}
				tb.Flush()
				r.Close()
				fmt.Fprintf(&b, "%+v\n", tb.Stats())
				outs[i] = b.String()
			}
			if outs[0] != outs[1] {
				t.Errorf("%s (zeek %v): lone SYNs change the records:\nlone:\n%s\nfollowed:\n%s", filepath.Base(path), zeekView, outs[0], outs[1])
			}
		}
	}
	if n < 20 {
		t.Errorf("only %d kernel captures", n)
	}
}

// TestExpiryFollowsTimeWhenTimeGoesBack: connections expire in the order of
// their latest packet times, even when a packet stamped earlier than the
// one before it comes last in the capture.
func TestExpiryFollowsTimeWhenTimeGoesBack(t *testing.T) {
	cliB := netip.MustParseAddrPort("10.0.0.3:40001")
	var done []uint64
	tb := New(Config{IdleTimeout: int64(10 * time.Second), Done: func(r *Record) { done = append(done, r.ID) }})
	tb.Add(pkt(cli, srv, syn, 100, 0, 0))         // #1 at 0 s
	tb.Add(pkt(cliB, srv, syn, 900, 0, 5000))     // #2 at 5 s
	tb.Add(pkt(srv, cli, synack, 500, 101, 3000)) // #1 again, stamped 3 s: after #2 in the capture
	tb.Advance(1_700_000_000e9 + 14_000e6)        // #1's deadline (13 s) has passed, #2's (15 s) not
	if len(done) != 1 || done[0] != 1 {
		t.Errorf("expired %v at 14 s, want [1]", done)
	}
}

// TestAdvanceTakesADueCensus: a census asked for an instant when no packet
// arrives (a quiet live capture) is taken as the clock passes it.
func TestAdvanceTakesADueCensus(t *testing.T) {
	var got *Census
	tb := New(Config{CensusAt: int64(2 * time.Second), CensusFromStart: true, Census: func(c *Census) { got = c }})
	tb.Add(pkt(cli, srv, syn, 100, 0, 0))
	tb.Advance(1_700_000_000e9 + 1_500e6)
	if got != nil {
		t.Fatal("census taken before its time")
	}
	tb.Advance(1_700_000_000e9 + 2_500e6)
	if got == nil || got.At != 1_700_000_000e9+2_000e6 || got.Hosts[cli.Addr()].States[fsm.SynSent] != 1 {
		t.Fatalf("census after the clock passed 2 s: %+v", got)
	}
}

// TestCensusCountsOneSocketPer5Tuple: a host holds at most one socket per
// 5-tuple, so a connection replaced by a new one on its 5-tuple before the
// census is not counted beside it, and an evicted connection, no longer
// followed, is not counted at all.
func TestCensusCountsOneSocketPer5Tuple(t *testing.T) {
	census := func(cfg Config, pkts ...*capture.Packet) *Census {
		t.Helper()
		var got *Census
		cfg.Census = func(c *Census) { got = c }
		collect(cfg, pkts...)
		if got == nil {
			t.Fatal("no census")
		}
		return got
	}
	states := func(c *Census, a netip.AddrPort) [16]uint32 {
		if h := c.Hosts[a.Addr()]; h != nil {
			return h.States
		}
		return [16]uint32{}
	}

	// Three attempts on one 5-tuple, each SYN with a new ISN: one socket.
	c := census(Config{},
		pkt(cli, srv, syn, 1000, 0, 0),
		pkt(cli, srv, syn, 50_000, 0, 1000),
		pkt(cli, srv, syn, 900_000, 0, 2000),
	)
	if got := states(c, cli)[fsm.SynSent]; got != 1 {
		t.Errorf("3 SYNs with new ISNs on one 5-tuple: SYN_SENT %d, want 1", got)
	}

	// A closed connection in TIME_WAIT, then a new SYN on its 5-tuple that
	// completes: the client holds one ESTABLISHED socket, not a TIME_WAIT
	// beside it.
	c = census(Config{},
		pkt(cli, srv, syn, 100, 0, 0),
		pkt(srv, cli, synack, 500, 101, 1),
		pkt(cli, srv, ack, 101, 501, 2),
		pkt(cli, srv, finack, 101, 501, 3),
		pkt(srv, cli, finack, 501, 102, 4),
		pkt(cli, srv, ack, 102, 502, 5),
		pkt(cli, srv, syn, 70_000, 0, 6000),
		pkt(srv, cli, synack, 9000, 70_001, 6001),
		pkt(cli, srv, ack, 70_001, 9001, 6002),
	)
	if got := states(c, cli); got[fsm.Established] != 1 || got[fsm.TimeWait] != 0 {
		t.Errorf("reused after TIME_WAIT: client ESTABLISHED %d TIME_WAIT %d, want 1 and 0", got[fsm.Established], got[fsm.TimeWait])
	}

	// Ten half-open attempts with room for four: four are followed.
	var pkts []*capture.Packet
	for i := range 10 {
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}), 40000)
		pkts = append(pkts, pkt(src, srv, syn, 1, 0, int64(i)), pkt(srv, src, synack, 7, 2, int64(i)))
	}
	c = census(Config{MaxConns: 4}, pkts...)
	if got := states(c, srv)[fsm.SynRcvd]; got != 4 {
		t.Errorf("10 half-open connections, 4 tracked: SYN_RCVD %d, want 4", got)
	}
}

// TestCensusListenerClosedByRefusal: a RST answering a SYN proves nobody
// listened on the endpoint then, so a listener that answered before and
// refused after is not LISTEN in a census after the refusal, and is in one
// before it; one that refused first and answered after is.
func TestCensusListenerClosedByRefusal(t *testing.T) {
	other := netip.MustParseAddrPort("10.0.0.3:40001")
	answeredThenRefused := []*capture.Packet{
		pkt(cli, srv, syn, 100, 0, 0),
		pkt(srv, cli, synack, 500, 101, 1),
		pkt(cli, srv, ack, 101, 501, 2),
		pkt(other, srv, syn, 900, 0, 5000),
		pkt(srv, other, rst|ack, 0, 901, 5001),
	}
	refusedThenAnswered := []*capture.Packet{
		pkt(other, srv, syn, 900, 0, 0),
		pkt(srv, other, rst|ack, 0, 901, 1),
		pkt(cli, srv, syn, 100, 0, 5000),
		pkt(srv, cli, synack, 500, 101, 5001),
		pkt(cli, srv, ack, 101, 501, 5002),
	}
	for _, tt := range []struct {
		name  string
		pkts  []*capture.Packet
		at    int64 // offset from the first packet; 0: the end
		wantL uint32
	}{
		{"answered, then refused: at the end", answeredThenRefused, 0, 0},
		{"answered, then refused: before the refusal", answeredThenRefused, int64(2 * time.Second), 1},
		{"refused, then answered", refusedThenAnswered, 0, 1},
		{"refused, then answered: before the answer", refusedThenAnswered, int64(2 * time.Second), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, jobs := range []int{1, 2} {
				var got *Census
				cfg := Config{CensusAt: tt.at, CensusFromStart: tt.at != 0, Census: func(c *Census) { got = c }}
				if jobs == 1 {
					collect(cfg, tt.pkts...)
				} else {
					p := NewParallel(cfg, jobs)
					for _, pk := range tt.pkts {
						p.Add(pk)
					}
					p.Flush()
				}
				var listeners uint32
				if h := got.Hosts[srv.Addr()]; h != nil {
					listeners = h.Listeners
				}
				if listeners != tt.wantL {
					t.Errorf("-j %d: LISTEN %d, want %d", jobs, listeners, tt.wantL)
				}
			}
		})
	}
}
