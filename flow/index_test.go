package flow

import (
	"slices"
	"testing"
)

// TestIndexChains puts connections under one hash, as a collision would,
// and takes them out in every position of the chain.
func TestIndexChains(t *testing.T) {
	const h = 42
	for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}, {1, 0, 2}, {1, 2, 0}} {
		x := newIndex()
		conns := make([]*Conn, 3)
		for i := range conns {
			conns[i] = &Conn{ID: uint64(i), key: key{loPort: uint16(i + 1)}}
			x.link(h, conns[i])
		}
		var gone []int
		for _, i := range order {
			x.unlink(h, conns[i])
			gone = append(gone, i)
			for j, c := range conns {
				got := x.find(h, &c.key)
				if want := !slices.Contains(gone, j); (got == c) != want || got != nil && got != c {
					t.Fatalf("order %v, after removing %v: find(%d) = %v, want present=%v", order, gone, j, got, want)
				}
			}
			if x.n != len(conns)-len(gone) {
				t.Fatalf("order %v: n = %d after %d removals", order, x.n, len(gone))
			}
		}
		if len(x.m) != 0 {
			t.Errorf("order %v: %d hashes left in the map", order, len(x.m))
		}
	}
}

// TestIndexHash checks that the hash depends on every part
// of the key and on the seed.
func TestIndexHash(t *testing.T) {
	x, y := newIndex(), newIndex()
	base := key{loPort: 1, hiPort: 2}
	base.loAddr[15], base.hiAddr[15] = 1, 2
	variants := []key{base, base, base, base, base}
	variants[1].loAddr[0] = 9
	variants[2].hiAddr[8] = 9
	variants[3].loPort = 7
	variants[4].hiPort = 7
	seen := map[uint64]bool{}
	for _, k := range variants {
		seen[x.hash(&k)] = true
	}
	if len(seen) != len(variants) {
		t.Errorf("%d distinct hashes for %d keys that differ in one field each", len(seen), len(variants))
	}
	if x.hash(&base) == y.hash(&base) {
		t.Error("two indexes hash a key alike: the seed is not used")
	}
}
