package diagnose

import (
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
)

// TestFirsts holds firsts to a plain map and ring of the same bound
// through puts, takes and the ring's turns, over endpoints that collide in
// the index: what it returns, and how many it holds.
func TestFirsts(t *testing.T) {
	type model struct {
		v    int
		slot int
	}
	var (
		f     firsts[int]
		at    = map[netip.AddrPort]model{}
		order []netip.AddrPort
		next  int
	)
	rng := rand.New(rand.NewPCG(1, 2))
	endpoint := func() netip.AddrPort {
		i := rng.IntN(3 * maxKeys)
		if i%2 == 0 {
			return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), uint16(i%7))
		}
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 15: byte(i), 14: byte(i >> 8)}), 443)
	}
	for op := range 400_000 {
		ep := endpoint()
		want, wantOK := at[ep]
		if rng.IntN(3) == 0 || wantOK {
			got, ok := f.take(ep)
			if ok != wantOK || got != want.v {
				t.Fatalf("op %d: take(%v) = %d, %v; want %d, %v", op, ep, got, ok, want.v, wantOK)
			}
			delete(at, ep)
			continue
		}
		f.put(ep, op)
		slot := next
		if len(order) < maxKeys {
			order = append(order, ep)
		} else {
			if old, ok := at[order[slot]]; ok && old.slot == slot {
				delete(at, order[slot])
			}
			order[slot] = ep
		}
		next = (slot + 1) % maxKeys
		at[ep] = model{v: op, slot: slot}
		if f.len() != len(at) {
			t.Fatalf("op %d: holds %d, want %d", op, f.len(), len(at))
		}
	}
	if len(at) < maxKeys/2 {
		t.Fatalf("the test kept %d endpoints: too few to fill the index", len(at))
	}
	for ep, m := range at {
		if got, ok := f.take(ep); !ok || got != m.v {
			t.Fatalf("take(%v) at the end = %d, %v; want %d", ep, got, ok, m.v)
		}
	}
	if f.len() != 0 {
		t.Errorf("holds %d after taking all", f.len())
	}
}

// TestFirstsMemory: the two diagnoses that stage endpoints, full, hold
// what they keep and little more (their maps once held 16 MB).
func TestFirstsMemory(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var f firsts[failure]
	var g firsts[firstClose]
	for i := range 3 * maxKeys {
		ep := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 80)
		f.put(ep, failure{})
		g.put(ep, firstClose{})
		if i%3 == 0 {
			f.take(ep)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(&f)
	runtime.KeepAlive(&g)
	held := float64(after.HeapAlloc) - float64(before.HeapAlloc)
	t.Logf("two full firsts hold %.1f MB", held/1e6)
	if limit := 5e6; held > limit {
		t.Errorf("two full firsts hold %.1f MB, more than %.0f MB", held/1e6, limit/1e6)
	}
}

// TestFirstsRunsStayShort: the index's runs, which every take and put
// walks, stay short for the sources a flood or a scan brings (one /16,
// one IPv6 prefix, one address on many ports), at the ring's full load.
func TestFirstsRunsStayShort(t *testing.T) {
	for _, tc := range []struct {
		name string
		ep   func(i int) netip.AddrPort
	}{
		{"IPv4 /16", func(i int) netip.AddrPort {
			return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 80)
		}},
		{"IPv6 interface ids", func(i int) netip.AddrPort {
			return netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 8: byte(i >> 24), 9: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)}), 443)
		}},
		{"ports", func(i int) netip.AddrPort {
			return netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i >> 16)}), uint16(i))
		}},
	} {
		var f firsts[int]
		for i := range maxKeys {
			f.put(tc.ep(i), i)
		}
		longest, run := 0, 0
		for _, p := range append(f.index, f.index...) { // twice: a run may wrap
			if p == 0 {
				run = 0
				continue
			}
			run++
			longest = max(longest, run)
		}
		if longest > 100 {
			t.Errorf("%s: a run of %d slots at half load", tc.name, longest)
		}
	}
}
