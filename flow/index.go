package flow

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
)

// index finds a connection by its key: a hash table of chains, linked
// through Conn.sameHash, over a power-of-two array of chain heads that
// doubles when it holds half as many connections as heads. A Go map keyed
// by the 36-byte key costs about 120 bytes an entry, and one from the
// key's hash to the chain about 30; this costs 16 to 32, and a lookup
// reads one array slot, then mostly the connection it wants: at half a
// connection per head, a new connection's key (most of a SYN flood) is
// compared with a quarter of a connection on average, and a known one's
// with 1.25.
//
// The hash is seeded at random for each index, so that the addresses and
// ports of a flood cannot be chosen to collide: the chains stay short.
type index struct {
	heads []*Conn
	n     int // connections, counting every one in a chain
	seed  [3]uint64
}

// minIndexHeads is the size of a new index's array.
const minIndexHeads = 1024

func newIndex() index {
	return index{heads: make([]*Conn, minIndexHeads), seed: [3]uint64{rand.Uint64(), rand.Uint64(), rand.Uint64()}}
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

func (x *index) get(k *key) *Conn {
	c := x.heads[x.hash(k)&uint64(len(x.heads)-1)]
	for c != nil && !c.key.equal(k) {
		c = c.sameHash
	}
	return c
}

func (x *index) put(c *Conn) {
	if 2*x.n >= len(x.heads) {
		x.grow()
	}
	x.link(c)
}

func (x *index) link(c *Conn) {
	head := &x.heads[x.hash(&c.key)&uint64(len(x.heads)-1)]
	c.sameHash, *head = *head, c
	x.n++
}

func (x *index) remove(c *Conn) {
	p := &x.heads[x.hash(&c.key)&uint64(len(x.heads)-1)]
	for *p != c {
		p = &(*p).sameHash
	}
	*p, c.sameHash = c.sameHash, nil
	x.n--
}

// grow doubles the array and moves every chain's connections to their
// new heads.
func (x *index) grow() {
	old := x.heads
	x.heads = make([]*Conn, 2*len(old))
	mask := uint64(len(x.heads) - 1)
	for _, c := range old {
		for c != nil {
			next := c.sameHash
			head := &x.heads[x.hash(&c.key)&mask]
			c.sameHash, *head = *head, c
			c = next
		}
	}
}
