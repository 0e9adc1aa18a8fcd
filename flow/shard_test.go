package flow

import (
	"fmt"
	"net/netip"
	"testing"
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
