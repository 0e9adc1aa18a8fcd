package flow

import (
	"bytes"
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
	if len(x.heads) < 2*n || x.n != n {
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
