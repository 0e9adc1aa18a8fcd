package flow

import (
	"cmp"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/capture"
)

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want Shard
		err  bool
	}{
		{"0/1", Shard{0, 1}, false},
		{"3/4", Shard{3, 4}, false},
		{" 1 / 2 ", Shard{1, 2}, false},
		{"4/4", Shard{}, true},
		{"1/0", Shard{}, true},
		{"-1/2", Shard{}, true},
		{"x", Shard{}, true},
		{"1", Shard{}, true},
		{"1/2/3", Shard{}, true},
	} {
		got, err := ParseShard(tc.spec)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v, error %v", tc.spec, got, err, tc.want, tc.err)
		}
	}
}

// TestShardOf: both directions of a connection fall in one shard, the
// shards share connections out evenly, and the hash is pinned: processes
// of different builds and machines sharing a capture must agree on it.
func TestShardOf(t *testing.T) {
	counts := make([]int, 4)
	for i := range 4000 {
		a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), uint16(30000+i))
		b := netip.MustParseAddrPort("10.0.0.2:443")
		s := Of(a, b, 4)
		if Of(b, a, 4) != s {
			t.Fatalf("%v-%v: shard %d one way, %d the other", a, b, s, Of(b, a, 4))
		}
		counts[s]++
	}
	for s, n := range counts {
		if n < 900 || n > 1100 {
			t.Errorf("shard %d of 4 has %d of 4000 connections: %v", s, n, counts)
		}
	}
	var got string
	for _, pair := range [][2]string{
		{"10.0.0.1:40000", "10.0.0.2:9502"},
		{"192.0.2.7:51234", "198.51.100.10:80"},
		{"[2001:db8::1]:40000", "[2001:db8::2]:443"},
	} {
		a, b := netip.MustParseAddrPort(pair[0]), netip.MustParseAddrPort(pair[1])
		got += fmt.Sprintf("%d/%d/%d ", Of(a, b, 2), Of(a, b, 3), Of(a, b, 16))
	}
	if want := "0/1/6 0/0/1 0/0/1 "; got != want {
		t.Errorf("shards %q, want %q: the shard hash changed, and with it which process follows which connection", got, want)
	}
}

// TestOrderMergesShards: the records of one table come in strictly
// increasing Order, and those of N shards, sorted by Order and numbered by
// FirstIndex, are the table's, record for record, in the same order, on
// every kernel capture and on a generated one with expiries, reuses and
// time going backwards.
func TestOrderMergesShards(t *testing.T) {
	captures, err := filepath.Glob("../testdata/kernel/*.pcap*")
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string][]capture.Packet{"generated": manyConnections(3000)}
	for _, path := range captures {
		if !strings.Contains(path, ".golden.") {
			inputs[filepath.Base(path)] = readCapture(t, path)
		}
	}
	records := func(pkts []capture.Packet, cfg Config) []Record {
		var out []Record
		cfg.Done = func(r *Record) { out = append(out, *r) }
		tb := New(cfg)
		for i := range pkts {
			tb.Add(&pkts[i])
		}
		tb.Flush()
		return out
	}
	for name, pkts := range inputs {
		for _, cfg := range []Config{{}, {IdleTimeout: 1e9, CloseDelay: 1e8}} {
			want := records(pkts, cfg)
			for i := 1; i < len(want); i++ {
				if want[i-1].Order.Compare(want[i].Order) >= 0 {
					t.Fatalf("%s: record %d's order %+v is not before record %d's %+v", name, i, want[i-1].Order, i+1, want[i].Order)
				}
			}
			for n := 1; n <= 4; n++ {
				var got []Record
				for i := range n {
					cfg.Shard = Shard{i, n}
					got = append(got, records(pkts, cfg)...)
				}
				slices.SortFunc(got, func(a, b Record) int { return a.Order.Compare(b.Order) })
				byStart := slices.Clone(got)
				slices.SortFunc(byStart, func(a, b Record) int { return cmp.Compare(a.FirstIndex, b.FirstIndex) })
				ids := map[uint64]uint64{}
				for i, r := range byStart {
					ids[r.FirstIndex] = uint64(i + 1)
				}
				if len(got) != len(want) {
					t.Fatalf("%s, %d shards: %d records, want %d", name, n, len(got), len(want))
				}
				for i := range got {
					got[i].ID = ids[got[i].FirstIndex]
					g, w := fmt.Sprintf("%+v", got[i]), fmt.Sprintf("%+v", want[i])
					if g != w {
						t.Fatalf("%s, %d shards: record %d differs:\n got %s\nwant %s", name, n, i+1, g, w)
					}
				}
			}
		}
	}
}
