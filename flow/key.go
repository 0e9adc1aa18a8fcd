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

// v4Prefix is the first 12 bytes of an IPv4-mapped IPv6 address.
var v4Prefix = [12]byte{10: 0xff, 11: 0xff}

// mapped reports whether both of k's addresses are IPv4-mapped: what a
// Conn can hold in place (see addrs).
func (k *key) mapped() bool {
	return [12]byte(k.loAddr[:12]) == v4Prefix && [12]byte(k.hiAddr[:12]) == v4Prefix
}

// addrForm says how a Conn holds its addresses and how it shows them.
type addrForm uint8

const (
	formIPv4   addrForm = iota // IPv4 addresses, in place
	formMapped                 // IPv4-mapped IPv6 addresses of IPv6 packets, in place
	formIPv6                   // any other addresses: in the table's pairs slab
)

// addrs is a connection's 5-tuple as its Conn holds it: the ports, and
// either the two IPv4 addresses in place (the last 4 bytes of each
// IPv4-mapped address of its key) or, for any other pair of addresses,
// the ref of the pair in the table's slab of them. Most connections are
// IPv4, and their keys' 24 bytes of mapping prefix are alike in every
// one: 12 bytes a connection instead of 36, which a SYN flood's hundreds
// of thousands of connections each save.
type addrs struct {
	lo, hi         [4]byte // IPv4: the addresses; formIPv6: lo is the pair's ref
	loPort, hiPort uint16
}

// addrPair is an IPv6 connection's two addresses, out of its Conn, and
// the connection's own ref (for compaction to point it to a moved pair).
type addrPair struct {
	lo, hi [16]byte
	owner  ref
}

// set stores k, of a connection opened by a packet of the IPv4 or IPv6
// family is4, whose Conn is owner, and returns the form it has.
func (a *addrs) set(k *key, is4 bool, owner ref, pairs *slab[addrPair]) addrForm {
	*a = addrs{loPort: k.loPort, hiPort: k.hiPort}
	if !k.mapped() {
		r, _ := pairs.alloc()
		*pairs.at(r) = addrPair{lo: k.loAddr, hi: k.hiAddr, owner: owner}
		a.setPairRef(r)
		return formIPv6
	}
	a.lo, a.hi = [4]byte(k.loAddr[12:]), [4]byte(k.hiAddr[12:])
	if is4 {
		return formIPv4
	}
	return formMapped
}

// pairRef returns the ref of the pair of a formIPv6 connection's addrs.
func (a *addrs) pairRef() ref { return ref(binary.LittleEndian.Uint32(a.lo[:])) }

func (a *addrs) setPairRef(r ref) { binary.LittleEndian.PutUint32(a.lo[:], uint32(r)) }

// holds reports whether a, of the given form, is the 5-tuple k; pairs is
// the slab of the IPv6 pairs.
func (a *addrs) holds(form addrForm, k *key, pairs *slab[addrPair]) bool {
	if a.loPort != k.loPort || a.hiPort != k.hiPort {
		return false
	}
	if form != formIPv6 {
		return k.mapped() && a.lo == [4]byte(k.loAddr[12:]) && a.hi == [4]byte(k.hiAddr[12:])
	}
	p := pairs.at(a.pairRef())
	return p.lo == k.loAddr && p.hi == k.hiAddr
}

// key returns the key a holds.
func (a *addrs) key(form addrForm, pairs *slab[addrPair]) key {
	k := key{loPort: a.loPort, hiPort: a.hiPort}
	if form == formIPv6 {
		p := pairs.at(a.pairRef())
		k.loAddr, k.hiAddr = p.lo, p.hi
		return k
	}
	copy(k.loAddr[:], v4Prefix[:])
	copy(k.hiAddr[:], v4Prefix[:])
	copy(k.loAddr[12:], a.lo[:])
	copy(k.hiAddr[12:], a.hi[:])
	return k
}
