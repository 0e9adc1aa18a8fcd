package flow

import "encoding/binary"

// key is a 5-tuple (the protocol is always TCP) in canonical order: the
// endpoint that sorts lower first, so both directions of a connection map to
// the same key. It is a comparable value without pointers, cheap to hash;
// IPv4 addresses are stored in their IPv4-mapped IPv6 form.
type key struct {
	loAddr, hiAddr [16]byte
	loPort, hiPort uint16
}

// less orders endpoints by address, then port. It compares the addresses
// as two big-endian words, which is their byte order.
func less(a [16]byte, ap uint16, b [16]byte, bp uint16) bool {
	if a0, b0 := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8]); a0 != b0 {
		return a0 < b0
	}
	if a1, b1 := binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:]); a1 != b1 {
		return a1 < b1
	}
	return ap < bp
}

// equal is k == *o, word by word: the compiler compares the 36-byte
// struct with a call to memequal, and an index lookup does it on every
// packet.
func (k *key) equal(o *key) bool {
	le := binary.LittleEndian
	return le.Uint64(k.loAddr[:8]) == le.Uint64(o.loAddr[:8]) &&
		le.Uint64(k.loAddr[8:]) == le.Uint64(o.loAddr[8:]) &&
		le.Uint64(k.hiAddr[:8]) == le.Uint64(o.hiAddr[:8]) &&
		le.Uint64(k.hiAddr[8:]) == le.Uint64(o.hiAddr[8:]) &&
		k.loPort == o.loPort && k.hiPort == o.hiPort
}
