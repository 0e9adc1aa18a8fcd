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
	tests := []struct {
		name    string
		pkts    []capture.Packet
		conns   int
		connect string // the first record's client connect()
	}{
		{"host unreachable quoting the SYN", []capture.Packet{syn1, icmpErr("10.0.0.254", cli, srv, 1000, 3, 1, 3)}, 1, fsm.EHOSTUNREACH},
		{"net unreachable, the SYN's other copy later", []capture.Packet{syn1, icmpErr("10.0.0.254", cli, srv, 1000, 3, 0, 3), *pkt(other, srv, syn, 7, 0, 5)}, 2, fsm.ENETUNREACH},
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
			if tt.connect == fsm.EHOSTUNREACH && !strings.Contains(recs[0].App.Client.Why, "ICMP host unreachable") {
				t.Errorf("why %q does not name the error", recs[0].App.Client.Why)
			}
		})
	}
}

// collectICMP is collect with ICMP errors fed as such.
func collectICMP(cfg Config, pkts []capture.Packet) ([]Record, Stats) {
	var out []Record
	cfg.Done = func(r *Record) { out = append(out, *r) }
	t := New(cfg)
	for i := range pkts {
		if pkts[i].IsICMPError() {
			t.AddICMPError(&pkts[i])
		} else {
			t.Add(&pkts[i])
		}
	}
	t.Flush()
	return out, t.Stats()
}
