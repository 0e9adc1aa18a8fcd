package flow

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
)

// index finds a connection by its key. It maps a 64-bit hash of the key
// to the connections with that hash, chained through Conn.sameHash: a map
// keyed by the 36-byte key itself costs about 120 bytes an entry and
// compares whole keys in its probes, this one about 30 and compares
// words; a SYN flood is mostly map.
//
// The hash is seeded at random for each index, so that the addresses and
// ports of a flood cannot be chosen to collide: the chains stay a
// connection long.
type index struct {
	m    map[uint64]*Conn
	n    int // connections, counting every one in a chain
	seed [3]uint64
}

func newIndex() index {
	return index{m: make(map[uint64]*Conn), seed: [3]uint64{rand.Uint64(), rand.Uint64(), rand.Uint64()}}
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

func (x *index) get(k *key) *Conn { return x.find(x.hash(k), k) }
func (x *index) put(c *Conn)      { x.link(x.hash(&c.key), c) }
func (x *index) remove(c *Conn)   { x.unlink(x.hash(&c.key), c) }

func (x *index) find(h uint64, k *key) *Conn {
	c := x.m[h]
	for c != nil && c.key != *k {
		c = c.sameHash
	}
	return c
}

func (x *index) link(h uint64, c *Conn) {
	c.sameHash = x.m[h]
	x.m[h] = c
	x.n++
}

func (x *index) unlink(h uint64, c *Conn) {
	head := x.m[h]
	switch {
	case head == c && c.sameHash == nil:
		delete(x.m, h)
	case head == c:
		x.m[h] = c.sameHash
	default:
		p := head
		for p.sameHash != c {
			p = p.sameHash
		}
		p.sameHash = c.sameHash
	}
	c.sameHash = nil
	x.n--
}
