package diagnose

import (
	"net/netip"
	"testing"
)

// TestEvidenceCache: get remembers the endpoint it found last, which must
// never hand one endpoint's evidence to another: the same endpoint again
// gets its own, another its own, past the budget a throwaway counted as
// dropped without disturbing what is kept, and a clone none of the
// original's.
func TestEvidenceCache(t *testing.T) {
	type ev struct {
		connections
		n int
	}
	var c Collector
	var e evidence[ev, *ev]
	a, b := netip.MustParseAddrPort("10.0.0.1:80"), netip.MustParseAddrPort("10.0.0.2:80")
	ea := e.get(&c, a)
	ea.n = 1
	if e.get(&c, a) != ea {
		t.Fatal("the same endpoint twice got two evidences")
	}
	eb := e.get(&c, b)
	if eb == ea || eb.n != 0 {
		t.Fatalf("another endpoint got %p (n %d), the first's is %p", eb, eb.n, ea)
	}
	if e.get(&c, a) != ea || e.get(&c, b) != eb {
		t.Fatal("alternating endpoints lost their evidence")
	}
	for i := len(e.at); i < maxKeys; i++ {
		e.get(&c, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 80))
	}
	past := netip.MustParseAddrPort("10.9.9.9:80")
	if x := e.get(&c, past); x == ea || x == eb || c.dropped != 1 {
		t.Fatalf("past the budget: got a kept evidence or %d dropped", c.dropped)
	}
	if e.get(&c, past); c.dropped != 2 {
		t.Fatalf("past the budget again: %d dropped, want 2 (nothing cached)", c.dropped)
	}
	if e.get(&c, a) != ea {
		t.Fatal("past the budget, a kept endpoint lost its evidence")
	}
	cp := e.clone(nil)
	if x := cp.get(&c, a); x == ea || x.n != 1 {
		t.Fatalf("the clone handed out the original's evidence (%p, n %d)", x, x.n)
	}
}
