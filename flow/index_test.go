package flow

import (
	"slices"
	"testing"
)

// TestIndexChains puts connections in one chain, as collisions would,
// and takes them out in every position of the chain.
func TestIndexChains(t *testing.T) {
	for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}, {1, 0, 2}, {1, 2, 0}} {
		x := newIndex()
		x.heads = make([]*Conn, 1) // every key in the one chain
		conns := make([]*Conn, 3)
		for i := range conns {
			conns[i] = &Conn{ID: uint64(i), key: key{loPort: uint16(i + 1)}}
			x.link(conns[i])
		}
		var gone []int
		for _, i := range order {
			x.remove(conns[i])
			gone = append(gone, i)
			for j, c := range conns {
				got := x.get(&c.key)
				if want := !slices.Contains(gone, j); (got == c) != want || got != nil && got != c {
					t.Fatalf("order %v, after removing %v: get(%d) = %v, want present=%v", order, gone, j, got, want)
				}
			}
			if x.n != len(conns)-len(gone) {
				t.Fatalf("order %v: n = %d after %d removals", order, x.n, len(gone))
			}
		}
		if x.heads[0] != nil {
			t.Errorf("order %v: the chain is not empty", order)
		}
	}
}

// TestIndexGrows: connections put in by the thousand, growing the array
// many times, are all found, and each is gone once removed.
func TestIndexGrows(t *testing.T) {
	x := newIndex()
	const n = 20 * minIndexHeads
	conns := make([]*Conn, n)
	for i := range conns {
		c := &Conn{ID: uint64(i), key: key{loPort: uint16(i), hiPort: uint16(i >> 16)}}
		c.key.loAddr[3] = byte(i % 7)
		conns[i] = c
		x.put(c)
	}
	if len(x.heads) < n || x.n != n {
		t.Fatalf("%d heads, n = %d, after %d puts", len(x.heads), x.n, n)
	}
	for i, c := range conns {
		if got := x.get(&c.key); got != c {
			t.Fatalf("get(conn %d) = %v", i, got)
		}
	}
	for i := 0; i < n; i += 2 {
		x.remove(conns[i])
	}
	for i, c := range conns {
		if got := x.get(&c.key); (got == c) != (i%2 == 1) {
			t.Fatalf("after removing the even ones: get(conn %d) = %v", i, got)
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
