package flow

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// newConns allocates n connections with distinct keys in s.
func newConns(s *slab[Conn], n int) []*Conn {
	conns := make([]*Conn, n)
	for i := range conns {
		r, _ := s.alloc()
		c := s.at(r)
		*c = Conn{ID: uint64(i), self: r, key: key{loPort: uint16(i), hiPort: uint16(i >> 16)}}
		c.key.loAddr[3] = byte(i % 7)
		conns[i] = c
	}
	return conns
}

// TestIndexRuns fills a small array to its limit, so that connections
// share long runs of slots as collisions make them, and takes them out in
// random orders, checking every lookup after each removal: the slots
// shifted back must still be found from their homes.
func TestIndexRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		var s slab[Conn]
		x := newIndex(&s)
		x.slots = make([]uint64, 8)
		conns := newConns(&s, 6) // 3/4 full: no growth
		for _, c := range conns {
			x.put(c)
		}
		if len(x.slots) != 8 {
			t.Fatalf("the array grew to %d slots for 6 connections", len(x.slots))
		}
		var gone []int
		for _, i := range rng.Perm(len(conns)) {
			x.remove(conns[i])
			gone = append(gone, i)
			for j, c := range conns {
				got := x.get(&c.key)
				if want := !slices.Contains(gone, j); (got == c) != want || got != nil && got != c {
					t.Fatalf("round %d, after removing %v: get(%d) = %v, want present=%v", round, gone, j, got, want)
				}
			}
			if x.n != len(conns)-len(gone) {
				t.Fatalf("round %d: n = %d after %d removals", round, x.n, len(gone))
			}
		}
		if slices.ContainsFunc(x.slots, func(slot uint64) bool { return slot != 0 }) {
			t.Errorf("round %d: slots left after every connection was removed: %x", round, x.slots)
		}
	}
}

// TestIndexGrows: connections put in by the thousand, growing the array
// many times, are all found, and each is gone once removed.
func TestIndexGrows(t *testing.T) {
	var s slab[Conn]
	x := newIndex(&s)
	const n = 20 * minIndexSlots
	conns := newConns(&s, n)
	for _, c := range conns {
		x.put(c)
	}
	if 4*n > 3*len(x.slots) || x.n != n {
		t.Fatalf("%d slots, n = %d, after %d puts", len(x.slots), x.n, n)
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
	var s slab[Conn]
	x, y := newIndex(&s), newIndex(&s)
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

// TestKeyCompareByWords: less and equal, which compare words, agree with
// comparing the bytes, on keys that differ in every byte position.
func TestKeyCompareByWords(t *testing.T) {
	base := key{loPort: 5, hiPort: 6}
	for i := range base.loAddr {
		base.loAddr[i], base.hiAddr[i] = byte(i*17), byte(i*29)
	}
	var variants []key
	for i := range 16 {
		for _, d := range []byte{1, 0x80, 0xff} {
			v := base
			v.loAddr[i] += d
			variants = append(variants, v)
			v = base
			v.hiAddr[i] += d
			variants = append(variants, v)
		}
	}
	for _, d := range []uint16{1, 0x100, 0xffff} {
		v := base
		v.loPort += d
		variants = append(variants, v)
		v = base
		v.hiPort += d
		variants = append(variants, v)
	}
	for _, v := range variants {
		if v.equal(&base) || base.equal(&v) {
			t.Errorf("%v equal to %v", v, base)
		}
		for _, pair := range [][2]key{{base, v}, {v, base}} {
			a, b := pair[0], pair[1]
			want := bytes.Compare(a.loAddr[:], b.loAddr[:]) < 0 ||
				bytes.Equal(a.loAddr[:], b.loAddr[:]) && a.loPort < b.loPort
			if got := less(a.loAddr, a.loPort, b.loAddr, b.loPort); got != want {
				t.Errorf("less(%x:%d, %x:%d) = %v", a.loAddr, a.loPort, b.loAddr, b.loPort, got)
			}
		}
	}
	if b := base; !b.equal(&base) {
		t.Error("a key is not equal to its copy")
	}
}
