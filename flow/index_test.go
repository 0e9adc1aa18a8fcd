package flow

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// newConns allocates n connections with distinct keys in s, every other
// one IPv6 (its addresses in pairs), and returns them with their keys.
func newConns(s *slab[Conn], pairs *slab[addrPair], n int) ([]*Conn, []key) {
	conns, keys := make([]*Conn, n), make([]key, n)
	for i := range conns {
		r, _ := s.alloc()
		c := s.at(r)
		*c = Conn{ID: uint64(i), self: r}
		k := &keys[i]
		*k = key{loPort: uint16(i), hiPort: uint16(i >> 16)}
		if i%2 == 0 {
			copy(k.loAddr[:], v4Prefix[:])
			copy(k.hiAddr[:], v4Prefix[:])
		}
		k.loAddr[15] = byte(i % 7)
		c.form = c.addrs.set(k, true, r, pairs)
		conns[i] = c
	}
	return conns, keys
}

// TestIndexRuns fills a small array to its limit, so that connections
// share long runs of slots as collisions make them, and takes them out in
// random orders, checking every lookup after each removal: the slots
// shifted back must still be found from their homes.
func TestIndexRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		var s slab[Conn]
		var pairs slab[addrPair]
		x := newIndex(&s, &pairs, nil)
		x.slots = make([]uint64, 8)
		conns, keys := newConns(&s, &pairs, 6) // 3/4 full: no growth
		for i, c := range conns {
			x.put(c, &keys[i])
		}
		if len(x.slots) != 8 {
			t.Fatalf("the array grew to %d slots for 6 connections", len(x.slots))
		}
		var gone []int
		for _, i := range rng.Perm(len(conns)) {
			x.remove(conns[i])
			gone = append(gone, i)
			for j, c := range conns {
				got := x.get(&keys[j])
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
	var pairs slab[addrPair]
	x := newIndex(&s, &pairs, nil)
	const n = 20 * minIndexSlots
	conns, keys := newConns(&s, &pairs, n)
	for i, c := range conns {
		x.put(c, &keys[i])
	}
	if 4*n > 3*len(x.slots) || x.n != n {
		t.Fatalf("%d slots, n = %d, after %d puts", len(x.slots), x.n, n)
	}
	for i, c := range conns {
		if got := x.get(&keys[i]); got != c {
			t.Fatalf("get(conn %d) = %v", i, got)
		}
	}
	for i := 0; i < n; i += 2 {
		x.remove(conns[i])
	}
	for i, c := range conns {
		if got := x.get(&keys[i]); (got == c) != (i%2 == 1) {
			t.Fatalf("after removing the even ones: get(conn %d) = %v", i, got)
		}
	}
}

// TestIndexHash checks that the hash depends on every part
// of the key and on the seed.
func TestIndexHash(t *testing.T) {
	var s slab[Conn]
	var pairs slab[addrPair]
	x, y := newIndex(&s, &pairs, nil), newIndex(&s, &pairs, nil)
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

// TestKeyCompareByWords: less, which compares words, agrees with
// comparing the bytes, and a Conn's addrs holding a key hold none of the
// keys that differ from it in any byte position.
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
	var pairs slab[addrPair]
	var held addrs
	form := held.set(&base, false, 1, &pairs)
	for _, v := range variants {
		if held.holds(form, &v, &pairs) {
			t.Errorf("addrs of %v hold %v", base, v)
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
	if b := base; !held.holds(form, &b, &pairs) {
		t.Error("addrs do not hold the key they were set to")
	}
}

// TestAddrsForms: an IPv4 connection's addresses are held in place, any
// other's in the pairs slab; each gives its key back, holds it and not
// the key of the other family that shares its last address bytes.
func TestAddrsForms(t *testing.T) {
	v4 := key{loPort: 80, hiPort: 40000}
	copy(v4.loAddr[:], v4Prefix[:])
	copy(v4.hiAddr[:], v4Prefix[:])
	copy(v4.loAddr[12:], []byte{10, 0, 0, 1})
	copy(v4.hiAddr[12:], []byte{10, 0, 0, 2})
	v6 := v4
	v6.loAddr[0], v6.hiAddr[0] = 0x20, 0x20 // 2000::a00:1, same last bytes
	oneSided := v4
	oneSided.hiAddr[0] = 0x20 // an IPv4-mapped address and another
	for _, tt := range []struct {
		name string
		k    key
		is4  bool
		want addrForm
	}{
		{"IPv4", v4, true, formIPv4},
		{"IPv4-mapped in IPv6", v4, false, formMapped},
		{"IPv6", v6, false, formIPv6},
		{"one address mapped", oneSided, false, formIPv6},
	} {
		var pairs slab[addrPair]
		var a addrs
		form := a.set(&tt.k, tt.is4, 7, &pairs)
		if form != tt.want {
			t.Errorf("%s: form %d, want %d", tt.name, form, tt.want)
		}
		if inPairs := pairs.live == 1; inPairs != (form == formIPv6) {
			t.Errorf("%s: %d pairs allocated", tt.name, pairs.live)
		}
		if got := a.key(form, &pairs); got != tt.k {
			t.Errorf("%s: key %v, want %v", tt.name, got, tt.k)
		}
		if !a.holds(form, &tt.k, &pairs) {
			t.Errorf("%s: does not hold its key", tt.name)
		}
		for _, other := range []key{v4, v6, oneSided} {
			if other != tt.k && a.holds(form, &other, &pairs) {
				t.Errorf("%s: holds %v", tt.name, other)
			}
		}
		if form == formIPv6 && pairs.at(a.pairRef()).owner != 7 {
			t.Errorf("%s: pair owner %d", tt.name, pairs.at(a.pairRef()).owner)
		}
	}
}
