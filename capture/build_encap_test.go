package capture

// Builders for the encapsulations between the link layer and IP, and for
// the UDP tunnels, laid out byte by byte from their specifications so that
// the tests do not share the decoder's reading of them.

import (
	"encoding/binary"
	"net/netip"
)

// etherTypeOf is the EtherType of an IP packet, by its version nibble.
func etherTypeOf(ip []byte) uint16 {
	if ip[0]>>4 == 6 {
		return etherIPv6
	}
	return etherIPv4
}

// mplsStack prefixes payload with n MPLS labels (label 16+i, TTL 64), the
// last one marked bottom of stack.
func mplsStack(n int, payload []byte) []byte {
	var b []byte
	for i := range n {
		word := uint32(16+i)<<12 | 64
		if i == n-1 {
			word |= 1 << 8
		}
		b = binary.BigEndian.AppendUint32(b, word)
	}
	return append(b, payload...)
}

// pppoeSession prefixes an IP packet with a PPPoE session header and the
// PPP protocol for its version.
func pppoeSession(ip []byte) []byte {
	proto := uint16(0x0021)
	if ip[0]>>4 == 6 {
		proto = 0x0057
	}
	b := []byte{0x11, 0x00, 0x0f, 0x07} // version 1, type 1, code 0 (session data), session 0x0f07
	b = binary.BigEndian.AppendUint16(b, uint16(2+len(ip)))
	b = binary.BigEndian.AppendUint16(b, proto)
	return append(b, ip...)
}

// vnTag is a Cisco VN-Tag (4 bytes) then the EtherType of payload.
func vnTag(etherType uint16, payload []byte) []byte {
	b := []byte{0x00, 0x00, 0x00, 0x33}
	b = binary.BigEndian.AppendUint16(b, etherType)
	return append(b, payload...)
}

// vlanTag is an 802.1Q tag body (TCI) then the EtherType of payload, what
// follows an 0x8100 EtherType.
func vlanTag(vid uint16, etherType uint16, payload []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, vid)
	b = binary.BigEndian.AppendUint16(b, etherType)
	return append(b, payload...)
}

// pbbITag is an 802.1ah I-TAG (I-SID 0x1ebb30), the customer's MAC
// addresses and the EtherType of payload.
func pbbITag(etherType uint16, payload []byte) []byte {
	b := []byte{0x00, 0x1e, 0xbb, 0x30, 2, 0, 0, 0, 0, 0xc, 2, 0, 0, 0, 0, 0xd}
	b = binary.BigEndian.AppendUint16(b, etherType)
	return append(b, payload...)
}

// fabricPath wraps a whole Ethernet frame in a Cisco FabricPath outer
// header: outer MACs, EtherType 0x8903, FTag and TTL.
func fabricPath(inner []byte) []byte {
	b := []byte{2, 0, 0, 0, 0, 0xa, 2, 0, 0, 0, 0, 0xb, 0x89, 0x03, 0x00, 0x3f}
	return append(b, inner...)
}

// fddiFrame carries an IP packet in FDDI, 802.2 LLC and SNAP (RFC 1042).
func fddiFrame(ip []byte) []byte {
	b := []byte{0x50, 0xaa, 0, 4, 0, 0x82, 0xa7, 0xaa, 0, 4, 0, 0x83, 0xa7} // frame control, DA, SA
	b = append(b, 0xaa, 0xaa, 0x03, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, etherTypeOf(ip))
	return append(b, ip...)
}

// ieee8023Frame carries an IP packet in an IEEE 802.3 Ethernet frame (a
// length, not an EtherType) with LLC and SNAP, plus padding bytes.
func ieee8023Frame(ip []byte, padding int) []byte {
	llc := append([]byte{0xaa, 0xaa, 0x03, 0, 0, 0}, byte(etherTypeOf(ip)>>8), byte(etherTypeOf(ip)))
	body := append(llc, ip...)
	b := []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}
	b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
	b = append(b, body...)
	return append(b, make([]byte, padding)...)
}

// udpBytes is a UDP datagram with checksum 0 (none, for IPv4).
func udpBytes(sport, dport uint16, payload []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = binary.BigEndian.AppendUint16(b, uint16(8+len(payload)))
	b = binary.BigEndian.AppendUint16(b, 0)
	return append(b, payload...)
}

// outerIP wraps a UDP datagram in IPv4 (or IPv6 when v6) between two
// tunnel endpoints.
func outerIP(v6 bool, udp []byte) []byte {
	if v6 {
		return ipv6Bytes(netip.MustParseAddr("2001:db8:ffff::1"), netip.MustParseAddr("2001:db8:ffff::2"), 17, udp)
	}
	return ipv4Bytes(netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.200"), 17, udp)
}

// gtpU is a GTPv1-U G-PDU carrying inner. With seq the optional field is
// present; each entry of ext is one extension header's content (2, 6, 10
// ... bytes so that the header is a multiple of 4).
func gtpU(inner []byte, seq bool, ext ...[]byte) []byte {
	flags := byte(0x30) // version 1, protocol type GTP
	var opt []byte
	if seq || len(ext) > 0 {
		if seq {
			flags |= 0x02
		}
		opt = []byte{0x12, 0x34, 0}
		if len(ext) > 0 {
			flags |= 0x04
		}
		next := byte(0)
		if len(ext) > 0 {
			next = 0x85 // PDU session container
		}
		opt = append(opt, next)
		for i, e := range ext {
			if (len(e)+2)%4 != 0 {
				panic("GTP extension header content must make the header a multiple of 4 bytes")
			}
			opt = append(opt, byte((len(e)+2)/4))
			opt = append(opt, e...)
			if i == len(ext)-1 {
				opt = append(opt, 0)
			} else {
				opt = append(opt, 0x85)
			}
		}
	}
	b := []byte{flags, 0xff}
	b = binary.BigEndian.AppendUint16(b, uint16(len(opt)+len(inner)))
	b = binary.BigEndian.AppendUint32(b, 0x9e40ba4f) // TEID
	b = append(b, opt...)
	return append(b, inner...)
}

// teredo prefixes an IPv6 packet with the Teredo headers asked for: an
// authentication header (client ID and value of the given lengths) and an
// origin indication.
func teredo(ipv6 []byte, auth bool, idLen, authLen int, origin bool) []byte {
	var b []byte
	if auth {
		b = append(b, 0x00, 0x01, byte(idLen), byte(authLen))
		b = append(b, make([]byte, idLen+authLen+8+1)...)
	}
	if origin {
		b = append(b, 0x00, 0x00, 0xf1, 0x2a, 0xac, 0x37, 0x9e, 0x50) // obfuscated port and address
	}
	return append(b, ipv6...)
}
