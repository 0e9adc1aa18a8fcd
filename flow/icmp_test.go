package flow

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/capture"
	"github.com/tcpfsm/tcpfsm/fsm"
)

// icmpErr builds an ICMP error from router at ms milliseconds quoting a
// segment from a to b with sequence number seq.
func icmpErr(router string, a, b netip.AddrPort, seq uint32, typ, code uint8, ms int64) capture.Packet {
	p := *pkt(a, b, 0, seq, 0, ms)
	p.Window, p.IPLen = 0, 56
	p.ICMP = capture.ICMPError{From: netip.MustParseAddr(router), Type: typ, Code: code}
	return p
}

// TestICMPError: an ICMP error reaches the connection whose segment it
// quotes, one table or several shards alike, and creates none.
func TestICMPError(t *testing.T) {
	syn1 := *pkt(cli, srv, syn, 1000, 0, 0)
	other := netip.MustParseAddrPort("10.0.0.3:41000")
	cli6, srv6 := netip.MustParseAddrPort("[fd00::1]:40000"), netip.MustParseAddrPort("[fd00:8::1]:8080")
	icmp6 := icmpErr("fd00::fe:1234:5678:9abc", cli6, srv6, 1000, 1, 0, 3)
	icmp6.IPLen = 88
	tests := []struct {
		name    string
		pkts    []capture.Packet
		conns   int
		connect string // the first record's client connect()
	}{
		{"host unreachable quoting the SYN", []capture.Packet{syn1, icmpErr("10.0.0.254", cli, srv, 1000, 3, 1, 3)}, 1, fsm.EHOSTUNREACH},
		{"net unreachable, the SYN's other copy later", []capture.Packet{syn1, icmpErr("10.0.0.254", cli, srv, 1000, 3, 0, 3), *pkt(other, srv, syn, 7, 0, 5)}, 2, fsm.ENETUNREACH},
		{"ICMPv6 no route", []capture.Packet{*pkt(cli6, srv6, syn, 1000, 0, 0), icmp6}, 1, fsm.ENETUNREACH},
		{"quoting another sequence number", []capture.Packet{syn1, icmpErr("10.0.0.254", cli, srv, 5000, 3, 1, 3)}, 1, fsm.EINPROGRESS},
		{"quoting the server's direction", []capture.Packet{syn1, icmpErr("10.0.0.254", srv, cli, 1000, 3, 1, 3)}, 1, fsm.EINPROGRESS},
		{"no connection to quote", []capture.Packet{icmpErr("10.0.0.254", cli, srv, 1000, 3, 1, 0), *pkt(other, srv, syn, 7, 0, 5)}, 1, fsm.EINPROGRESS},
		{"before the SYN", []capture.Packet{icmpErr("10.0.0.254", cli, srv, 1000, 3, 1, 0), syn1}, 1, fsm.EINPROGRESS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			one := replay(tt.pkts, Config{}, 1)
			if many := replay(tt.pkts, Config{}, 3); many != one {
				t.Errorf("3 shards:\n%s\none table:\n%s", many, one)
			}
			recs, st := collectICMP(Config{}, tt.pkts)
			if int(st.Connections) != tt.conns || len(recs) != tt.conns {
				t.Fatalf("%d connections, %d records; want %d", st.Connections, len(recs), tt.conns)
			}
			if got := recs[0].App.Client.Setup; got != tt.connect {
				t.Errorf("connect() → %s, want %s (why %q)", got, tt.connect, recs[0].App.Client.Why)
			}
			if p := recs[0].Client.Packets + recs[0].Server.Packets; p != 1 {
				t.Errorf("%d packets counted on the connection, want its SYN alone", p)
			}
			if tt.connect == fsm.EHOSTUNREACH && !strings.Contains(recs[0].App.Client.Why, "ICMP host unreachable (type 3, code 1) from 10.0.0.254") {
				t.Errorf("why %q does not name the error and its sender", recs[0].App.Client.Why)
			}
			// The error that ended the connect() closed the client, and
			// names its sender, carried from the packet.
			r := &recs[0]
			if tt.connect == fsm.EINPROGRESS {
				if r.Handshake != fsm.HandshakeUnanswered || r.Client.State != fsm.SynSent || r.Unreachable.From.IsValid() {
					t.Errorf("handshake %s, client %s, error from %s; want unanswered, SYN_SENT, none", r.Handshake, r.Client.State, r.Unreachable.From)
				}
				return
			}
			if from := tt.pkts[1].ICMP.From; r.Handshake != fsm.HandshakeUnreachable || r.Client.State != fsm.Closed || r.Unreachable.From != from {
				t.Errorf("handshake %s, client %s, error from %s; want unreachable, CLOSED, from %s", r.Handshake, r.Client.State, r.Unreachable.From, from)
			}
		})
	}
}

// collectICMP is collect with ICMP errors fed as such.
func collectICMP(cfg Config, pkts []capture.Packet) ([]Record, Stats) {
	var out []Record
	cfg.Done = func(r *Record) { out = append(out, *r) }
	t := New(cfg)
	feedAll(pkts, t.Add, t.AddICMPError)
	t.Flush()
	return out, t.Stats()
}

// feedAll gives pkts to a table or its shards in order: TCP packets to
// add, ICMP errors to addICMP.
func feedAll(pkts []capture.Packet, add, addICMP func(*capture.Packet)) {
	for i := range pkts {
		if pkts[i].IsICMPError() {
			addICMP(&pkts[i])
		} else {
			add(&pkts[i])
		}
	}
}

// TestICMPCensus: a client whose connect() an ICMP error ended holds no
// socket from the error's time on, so a census after it does not count its
// SYN_SENT, and one before it does; one table or several shards alike.
func TestICMPCensus(t *testing.T) {
	other := netip.MustParseAddrPort("10.0.0.1:41000") // the same host
	pkts := []capture.Packet{
		*pkt(cli, srv, syn, 1000, 0, 0),
		icmpErr("10.0.0.254", cli, srv, 1000, 3, 1, 3),
		*pkt(other, srv, syn, 7, 0, 10),
	}
	tests := []struct {
		name     string
		cfg      Config
		synSent  uint32 // SYN_SENT counted on the clients' host
		censusAt int64  // ms
	}{
		{"at the end, after the error", Config{}, 1, 10},
		{"before the error, and before the other SYN", Config{CensusAt: 2e6, CensusFromStart: true}, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, shards := range []int{1, 3} {
				var got *Census
				cfg := tt.cfg
				cfg.Census = func(c *Census) { got = c }
				cfg.Done = func(*Record) {}
				if shards == 1 {
					tb := New(cfg)
					feedAll(pkts, tb.Add, tb.AddICMPError)
					tb.Flush()
				} else {
					p := NewParallel(cfg, shards)
					feedAll(pkts, p.Add, p.AddICMPError)
					p.Flush()
				}
				if got == nil {
					t.Fatalf("%d shards: no census", shards)
				}
				h := got.Hosts[cli.Addr()]
				if want := pkts[0].Timestamp.UnixNano() + tt.censusAt*1e6; got.At != want || h == nil || h.States[fsm.SynSent] != tt.synSent {
					t.Errorf("%d shards: census at %d: %+v; want at %d, SYN_SENT %d", shards, got.At, h, want, tt.synSent)
				}
			}
		})
	}
}

// TestHalfOpenDropCensus: a server whose half-open connection an ICMP
// error made Linux drop holds no SYN_RCVD from the error's time on, so a
// census due before the error counts it, though no packet came between
// them, and one at the end does not; one table or several shards alike.
func TestHalfOpenDropCensus(t *testing.T) {
	other := netip.MustParseAddrPort("10.0.0.1:41000")
	pkts := []capture.Packet{
		*pkt(cli, srv, syn, 1000, 0, 0),
		*pkt(srv, cli, synack, 5000, 1001, 5),
		icmpErr("10.0.0.254", srv, cli, 5000, 3, 1, 20),
		*pkt(other, srv, syn, 7, 0, 30),
	}
	for _, tt := range []struct {
		name    string
		cfg     Config
		synRcvd uint32
	}{
		{"before the error", Config{CensusAt: 10e6, CensusFromStart: true}, 1},
		{"at the end", Config{}, 0},
	} {
		for _, shards := range []int{1, 3} {
			var got *Census
			cfg := tt.cfg
			cfg.Census = func(c *Census) { got = c }
			cfg.Done = func(*Record) {}
			if shards == 1 {
				tb := New(cfg)
				feedAll(pkts, tb.Add, tb.AddICMPError)
				tb.Flush()
			} else {
				p := NewParallel(cfg, shards)
				feedAll(pkts, p.Add, p.AddICMPError)
				p.Flush()
			}
			if h := got.Hosts[srv.Addr()]; h == nil || h.States[fsm.SynRcvd] != tt.synRcvd {
				t.Errorf("%s, %d shards: the server's census %+v, want SYN_RCVD %d", tt.name, shards, h, tt.synRcvd)
			}
		}
	}
}

// TestTraceICMP: Config.TraceICMP sees every ICMP error with the
// connection it quotes (nil if none), the error as that connection reads
// it, the states before and after it, and the event of the connect() it
// ended.
func TestTraceICMP(t *testing.T) {
	type call struct {
		conn          bool
		dir           fsm.Dir
		from          string
		before, after [2]fsm.State
		ev            fsm.Event
	}
	tests := []struct {
		name string
		pkts []capture.Packet
		want call
	}{
		{"ends the connect()", []capture.Packet{*pkt(cli, srv, syn, 1000, 0, 0), icmpErr("10.0.0.254", cli, srv, 1000, 3, 1, 3)},
			call{true, fsm.FromClient, "10.0.0.254", [2]fsm.State{fsm.SynSent, fsm.Listen}, [2]fsm.State{fsm.Closed, fsm.Listen}, fsm.EventUnreachable}},
		{"a second error after the one that ended it", []capture.Packet{*pkt(cli, srv, syn, 1000, 0, 0), icmpErr("10.0.0.254", cli, srv, 1000, 3, 1, 3),
			icmpErr("10.0.0.254", cli, srv, 1000, 3, 1, 4)},
			call{true, fsm.FromClient, "10.0.0.254", [2]fsm.State{fsm.Closed, fsm.Listen}, [2]fsm.State{fsm.Closed, fsm.Listen}, 0}},
		{"fragmentation needed changes nothing", []capture.Packet{*pkt(cli, srv, syn, 1000, 0, 0), icmpErr("10.0.0.254", cli, srv, 1000, 3, 4, 3)},
			call{true, fsm.FromClient, "10.0.0.254", [2]fsm.State{fsm.SynSent, fsm.Listen}, [2]fsm.State{fsm.SynSent, fsm.Listen}, 0}},
		{"quoting the server's side", []capture.Packet{*pkt(cli, srv, syn, 1000, 0, 0), icmpErr("10.0.0.9", srv, cli, 1000, 3, 1, 3)},
			call{true, fsm.FromServer, "10.0.0.9", [2]fsm.State{fsm.SynSent, fsm.Listen}, [2]fsm.State{fsm.SynSent, fsm.Listen}, 0}},
		{"no connection", []capture.Packet{icmpErr("10.0.0.254", cli, srv, 1000, 3, 1, 0), *pkt(cli, srv, syn, 1000, 0, 3)},
			call{false, fsm.FromClient, "10.0.0.254", [2]fsm.State{}, [2]fsm.State{}, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []call
			cfg := Config{Done: func(*Record) {}}
			cfg.TraceICMP = func(c *Conn, p *capture.Packet, m *fsm.ICMPError, before, after [2]fsm.State, ev fsm.Event) {
				calls = append(calls, call{c != nil, m.Dir, m.From.String(), before, after, ev})
			}
			tb := New(cfg)
			feedAll(tt.pkts, tb.Add, tb.AddICMPError)
			tb.Flush()
			if len(calls) == 0 || calls[len(calls)-1] != tt.want {
				t.Errorf("calls %+v, want the last %+v", calls, tt.want)
			}
		})
	}
}

// TestICMPErrorEndsTheConnection: a connect() an ICMP error ended, with
// nothing listening having taken part, is over as a refused one is: it
// leaves CloseDelay after its SYN (reason closed), not when it goes idle,
// and alike with shards; one whose SYN was sent again after the error (a
// soft error) has not ended.
func TestICMPErrorEndsTheConnection(t *testing.T) {
	later := netip.MustParseAddrPort("10.0.0.3:41000")
	for _, tt := range []struct {
		name   string
		pkts   []capture.Packet
		reason Reason
	}{
		{"ended by the error", []capture.Packet{*pkt(cli, srv, syn, 1000, 0, 0), icmpErr("10.0.0.254", cli, srv, 1000, 3, 1, 3),
			*pkt(later, srv, syn, 7, 0, 6000)}, ReasonClosed},
		{"a SYN sent again after it", []capture.Packet{*pkt(cli, srv, syn, 1000, 0, 0), icmpErr("10.0.0.254", cli, srv, 1000, 3, 1, 3),
			*pkt(cli, srv, syn, 1000, 0, 1000), *pkt(later, srv, syn, 7, 0, 6000)}, ReasonEnd},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if one, many := replay(tt.pkts, Config{}, 1), replay(tt.pkts, Config{}, 3); many != one {
				t.Errorf("3 shards:\n%s\none table:\n%s", many, one)
			}
			recs, _ := collectICMP(Config{}, tt.pkts)
			if len(recs) != 2 || recs[0].Reason != tt.reason || recs[0].ClientAddr != cli {
				t.Fatalf("records %v, want the first %s's, reason %s", recs, cli, tt.reason)
			}
		})
	}
}
