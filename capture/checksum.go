package capture

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// tcpChecksumOK reports whether a whole TCP segment (header and payload)
// carries the right checksum for its addresses: the one's complement sum
// of the pseudo-header and the segment, checksum field included, is all
// ones (RFC 9293 section 3.1 for IPv4, RFC 8200 section 8.1 for IPv6).
func tcpChecksumOK(src, dst netip.Addr, segment []byte) bool {
	// The pseudo-header's protocol and length words; the zero bytes
	// around them add nothing. IPv6 widens the length to 32 bits.
	sum := uint64(ipProtocolTCP) + uint64(len(segment))
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		sum += uint64(binary.BigEndian.Uint32(s[:])) + uint64(binary.BigEndian.Uint32(d[:]))
	} else {
		s, d := src.As16(), dst.As16()
		sum = onesSum(sum, s[:])
		sum = onesSum(sum, d[:])
	}
	return foldSum(onesSum(sum, segment)) == 0xffff
}

// onesSum adds b, as big-endian 16-bit words (an odd last byte padded
// with a zero), to the running one's complement sum. Eight bytes are
// added at a time: since 2^16 ≡ 1 modulo 0xffff, the one's complement sum
// of 64-bit words with end-around carry folds to the same 16-bit sum.
func onesSum(sum uint64, b []byte) uint64 {
	var carry uint64
	for len(b) >= 32 {
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b[0:8]), carry)
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b[8:16]), carry)
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b[16:24]), carry)
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b[24:32]), carry)
		b = b[32:]
	}
	for len(b) >= 8 {
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b), carry)
		b = b[8:]
	}
	// The tail starts at an even offset, so its words keep their places.
	var tail uint64
	if len(b) >= 4 {
		tail += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		tail += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		tail += uint64(b[0]) << 8
	}
	sum, carry = bits.Add64(sum, tail, carry)
	// End-around carry; adding it cannot carry out again, since a sum that
	// just carried out is at most 2^64-2.
	return sum + carry
}

// foldSum folds a 64-bit one's complement sum to 16 bits.
func foldSum(sum uint64) uint16 {
	sum = sum>>32 + sum&0xffffffff
	sum = sum>>32 + sum&0xffffffff
	sum = sum>>16 + sum&0xffff
	sum = sum>>16 + sum&0xffff
	return uint16(sum)
}
