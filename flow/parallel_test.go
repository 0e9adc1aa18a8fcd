package flow

import (
	"fmt"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/capture"
)

// replay runs packets through a Table (shards == 1) or a Parallel and
// returns everything it reported, as text.
func replay(pkts []capture.Packet, cfg Config, shards int) string {
	var b, cb strings.Builder
	cfg.Done = func(rec *Record) { fmt.Fprintf(&b, "%+v\n", *rec) }
	// A census is delivered once, during Add or Flush: when is not part
	// of the interface, so it is compared apart.
	cfg.Census = func(c *Census) {
		fmt.Fprintf(&cb, "census %d\n", c.At)
		for _, a := range slices.SortedFunc(maps.Keys(c.Hosts), netip.Addr.Compare) {
			fmt.Fprintf(&cb, "  %s %+v\n", a, *c.Hosts[a])
		}
	}
	var st Stats
	if shards == 1 {
		t := New(cfg)
		for i := range pkts {
			t.Add(&pkts[i])
		}
		t.Flush()
		st = t.Stats()
	} else {
		p := NewParallel(cfg, shards)
		for i := range pkts {
			p.Add(&pkts[i])
		}
		p.Flush()
		st = p.Stats()
	}
	fmt.Fprintf(&b, "%+v\n", st)
	return b.String() + cb.String()
}

func readCapture(t *testing.T, path string) []capture.Packet {
	t.Helper()
	r, err := capture.Open(path, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []capture.Packet
	var p capture.Packet
	for r.Next(&p) == nil {
		out = append(out, p)
	}
	return out
}

// manyConnections builds a capture of n connections from many clients to a
// few servers, overlapping, some finishing, some left open or half-open,
// with idle gaps long enough for short idle timeouts to expire some, and
// timestamps that now and then go backwards.
func manyConnections(n int) []capture.Packet {
	var pkts []capture.Packet
	base := time.Unix(1_700_000_000, 0)
	at := int64(0)
	add := func(a, b netip.AddrPort, flags capture.TCPFlags, seq, ack uint32) {
		p := pkt(a, b, flags, seq, ack, 0)
		at += 3e6 // 3 ms
		ts := at
		if len(pkts)%97 == 0 {
			ts -= 5e6 // a packet stamped before the one before it
		}
		p.Timestamp = base.Add(time.Duration(ts))
		p.Index = uint64(len(pkts) + 1)
		pkts = append(pkts, *p)
	}
	for i := range n {
		c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), uint16(40000+i%7))
		s := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 9, 0, byte(i % 3)}), 9502)
		add(c, s, syn, 100, 0)
		switch i % 5 {
		case 0: // a lone SYN
		case 1: // refused
			add(s, c, rst|ack, 0, 101)
		default:
			add(s, c, synack, 500, 101)
			add(c, s, ack, 101, 501)
			if i%5 == 3 {
				add(c, s, finack, 101, 501)
				add(s, c, finack, 501, 102)
				add(c, s, ack, 102, 502)
			}
		}
		if i%40 == 39 {
			at += 2e9 // a quiet spell
		}
	}
	return pkts
}

// TestParallelIsTheSame: shards give exactly the records, census and
// statistics of one table, in the same order, on every kernel capture and
// on a generated one with expiries, censuses and time going backwards.
func TestParallelIsTheSame(t *testing.T) {
	captures, err := filepath.Glob("../testdata/kernel/*.pcap*")
	if err != nil {
		t.Fatal(err)
	}
	type input struct {
		name string
		pkts []capture.Packet
	}
	var inputs []input
	for _, path := range captures {
		if !strings.Contains(path, ".golden.") {
			inputs = append(inputs, input{filepath.Base(path), readCapture(t, path)})
		}
	}
	inputs = append(inputs, input{"generated", manyConnections(6000)})
	configs := []struct {
		name string
		cfg  Config
	}{
		{"default", Config{}},
		{"zeek", Config{Zeek: true}},
		{"zeek records", Config{ZeekRecords: true}},
		{"idle 1s, census at 2s", Config{IdleTimeout: 1e9, CensusAt: 2e9, CensusFromStart: true}},
	}
	for _, in := range inputs {
		for _, c := range configs {
			want := replay(in.pkts, c.cfg, 1)
			for _, n := range []int{2, 3} {
				if got := replay(in.pkts, c.cfg, n); got != want {
					t.Errorf("%s, %s, %d shards: differs from one table:\n%s", in.name, c.name, n, firstDiff(want, got))
				}
			}
		}
	}
}

func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d\n want %.400s\n  got %.400s", i+1, a, b)
		}
	}
	return "(same lines)"
}
