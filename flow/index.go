package flow

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
)

// index finds a connection by its key: an open-addressing hash table
// with linear probing over a power-of-two array of slots, which doubles
// when it is three quarters full. A slot holds a connection's ref and the
// top 32 bits of its key's hash, which also place it (the slot is those
// bits modulo the array's size): a lookup compares the hash bits of the
// slots it passes and reads a connection only where they match, which at
// one false match in 2^(32-log2 slots) is nearly always the one it
// wants, and growing moves slots without reading a connection. Removal
// shifts the slots of the run that follows back (no deletion markers), so
// runs stay as short as the load makes them.
//
// A slot is 8 bytes: at 3/8 to 3/4 full, 11 to 21 bytes a connection, and
// the array holds no pointer. (A chained table over pointers cost 16 to
// 32 bytes and a read of each connection in the chain; a Go map keyed by
// the 36-byte key about 120.)
//
// The hash is seeded at random for each index, so that the addresses and
// ports of a flood cannot be chosen to collide: the runs stay short.
type index struct {
	s     *slab[Conn]
	pairs *slab[addrPair] // the IPv6 connections' addresses (see addrs)
	slots []uint64        // hash bits << 32 | ref; 0 for an empty slot
	arena *arena          // where slots lies (see Table.arena)
	n     int             // connections
	seed  [3]uint64
}

// minIndexSlots is the size of a new index's array.
const minIndexSlots = 1024

func newIndex(s *slab[Conn], pairs *slab[addrPair], a *arena) index {
	return index{s: s, pairs: pairs, arena: a, slots: arenaSlice[uint64](a, minIndexSlots), seed: [3]uint64{rand.Uint64(), rand.Uint64(), rand.Uint64()}}
}

// hash mixes the key's five words with wyhash's multiply-fold (the one
// Go's runtime uses where it has no AES instructions).
func (x *index) hash(k *key) uint64 {
	const m1, m2 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db
	a := binary.LittleEndian.Uint64(k.loAddr[:8]) ^ x.seed[0]
	b := binary.LittleEndian.Uint64(k.loAddr[8:]) ^ x.seed[1]
	c := binary.LittleEndian.Uint64(k.hiAddr[:8]) ^ x.seed[2]
	d := binary.LittleEndian.Uint64(k.hiAddr[8:]) ^ x.seed[0]
	ports := uint64(k.loPort)<<16 | uint64(k.hiPort)
	return mix(mix(a, b)^m1, mix(c, d)^ports^m2)
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// bits returns the hash bits of k that the index keeps and places it by.
func (x *index) bits(k *key) uint32 { return uint32(x.hash(k) >> 32) }

// bitsOf returns the hash bits of c's key.
func (x *index) bitsOf(c *Conn) uint32 {
	k := c.addrs.key(c.form, x.pairs)
	return x.bits(&k)
}

func (x *index) mask() uint32 { return uint32(len(x.slots) - 1) }

func (x *index) get(k *key) *Conn {
	h := x.bits(k)
	mask := x.mask()
	for i := h & mask; ; i = (i + 1) & mask {
		slot := x.slots[i]
		if slot == 0 {
			return nil
		}
		if uint32(slot>>32) == h {
			if c := x.s.at(ref(slot)); c.addrs.holds(c.form, k, x.pairs) {
				return c
			}
		}
	}
}

// put adds c, whose key k is not in the index: the packet's, which the
// caller has at hand, where c's would be rebuilt from its addrs.
func (x *index) put(c *Conn, k *key) {
	if 4*(x.n+1) > 3*len(x.slots) {
		x.grow()
	}
	x.insert(uint64(x.bits(k))<<32 | uint64(c.self))
	x.n++
}

// insert places slot in the first empty slot of its run.
func (x *index) insert(slot uint64) {
	mask := x.mask()
	i := uint32(slot>>32) & mask
	for x.slots[i] != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = slot
}

// remove takes out c, which is in the index.
func (x *index) remove(c *Conn) {
	mask := x.mask()
	i := x.bitsOf(c) & mask
	for ref(x.slots[i]) != c.self {
		i = (i + 1) & mask
	}
	// Shift back each later slot of the run that may sit earlier: one
	// whose home is not in (i, j], cyclically.
	for j := (i + 1) & mask; x.slots[j] != 0; j = (j + 1) & mask {
		home := uint32(x.slots[j]>>32) & mask
		if (j-home)&mask >= (j-i)&mask {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = 0
	x.n--
}

// grow doubles the array and places every slot anew, by its hash bits.
func (x *index) grow() { x.resize(2 * len(x.slots)) }

// resize places every slot anew, by its hash bits, in an array of n.
func (x *index) resize(n int) {
	old := x.slots
	x.slots = arenaSlice[uint64](x.arena, n)
	for _, slot := range old {
		if slot != 0 {
			x.insert(slot)
		}
	}
	giveBack(x.arena, old)
}

// rename points the slot of c, which was in slot from of the table's
// slab and is now in slot to, to its new place.
func (x *index) rename(c *Conn, from, to ref) {
	mask := x.mask()
	i := x.bitsOf(c) & mask
	for ref(x.slots[i]) != from {
		i = (i + 1) & mask
	}
	x.slots[i] = x.slots[i]&^0xFFFFFFFF | uint64(to)
}

// shrink halves the array while it would still be at most 3/8 full, down
// to minIndexSlots: after a flood the index is as sparse as the slab.
func (x *index) shrink() {
	n := len(x.slots)
	for n > minIndexSlots && 8*x.n <= 3*(n/2) {
		n /= 2
	}
	if n != len(x.slots) {
		x.resize(n)
	}
}
