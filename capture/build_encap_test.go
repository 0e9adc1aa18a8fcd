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

// pppoeCompressed is pppoeSession with the PPP protocol field compressed
// to one byte (RFC 1661 section 6.5).
func pppoeCompressed(ip []byte) []byte {
	proto := byte(0x21)
	if ip[0]>>4 == 6 {
		proto = 0x57
	}
	b := []byte{0x11, 0x00, 0x0f, 0x07}
	b = binary.BigEndian.AppendUint16(b, uint16(1+len(ip)))
	b = append(b, proto)
	return append(b, ip...)
}

// eTag is an IEEE 802.1BR E-Tag (the 6-byte E-TCI: E-PCP and DEI, ingress
// E-CID, GRP and E-CID, extensions) then the EtherType of payload, what
// follows an 0x893f EtherType.
func eTag(etherType uint16, payload []byte) []byte {
	b := []byte{0x20, 0x05, 0x10, 0x22, 0x00, 0x00}
	b = binary.BigEndian.AppendUint16(b, etherType)
	return append(b, payload...)
}

// pppFrame is a PPP frame: with hdlc the address and control bytes of
// HDLC-like framing first, with compressed a one-byte protocol.
func pppFrame(ip []byte, hdlc, compressed bool) []byte {
	var b []byte
	if hdlc {
		b = []byte{0xff, 0x03}
	}
	proto := uint16(0x0021)
	if ip[0]>>4 == 6 {
		proto = 0x0057
	}
	if compressed {
		b = append(b, byte(proto))
	} else {
		b = binary.BigEndian.AppendUint16(b, proto)
	}
	return append(b, ip...)
}

// ciscoHDLCFrame is a Cisco HDLC frame: unicast address, control 0, and
// the EtherType of the IP packet.
func ciscoHDLCFrame(ip []byte) []byte {
	b := binary.BigEndian.AppendUint16([]byte{0x0f, 0x00}, etherTypeOf(ip))
	return append(b, ip...)
}

// atmLLCFrame is an IP packet behind 802.2 LLC and SNAP (RFC 1483).
func atmLLCFrame(ip []byte) []byte {
	b := binary.BigEndian.AppendUint16([]byte{0xaa, 0xaa, 0x03, 0, 0, 0}, etherTypeOf(ip))
	return append(b, ip...)
}

// Tunnel endpoints of the IP and GRE tunnels.
var (
	tunnel4a, tunnel4b = netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2")
	tunnel6a, tunnel6b = netip.MustParseAddr("2001:db8:eeee::1"), netip.MustParseAddr("2001:db8:eeee::2")
)

// outerProto wraps payload in IPv4 (or IPv6 when v6) of protocol proto
// between two tunnel endpoints.
func outerProto(v6 bool, proto byte, payload []byte) []byte {
	if v6 {
		return ipv6Bytes(tunnel6a, tunnel6b, proto, payload)
	}
	return ipv4Bytes(tunnel4a, tunnel4b, proto, payload)
}

// ipInIP wraps an IP packet in IPv4 or IPv6: protocol 4 for IPv4 inside,
// 41 for IPv6 (RFC 2003, RFC 4213, RFC 2473).
func ipInIP(v6 bool, ip []byte) []byte {
	proto := byte(4)
	if ip[0]>>4 == 6 {
		proto = 41
	}
	return outerProto(v6, proto, ip)
}

// GRE flag bits (RFC 2784, RFC 2890).
const (
	greC = 0x8000
	greK = 0x2000
	greS = 0x1000
)

// greBytes is a GRE version 0 header with the optional fields its flags
// ask for (a real checksum when C is set), then payload.
func greBytes(flags, proto uint16, payload []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, flags)
	b = binary.BigEndian.AppendUint16(b, proto)
	sumAt := -1
	if flags&greC != 0 {
		sumAt = len(b)
		b = append(b, 0, 0, 0, 0)
	}
	if flags&greK != 0 {
		b = binary.BigEndian.AppendUint32(b, 0x0000beef)
	}
	if flags&greS != 0 {
		b = binary.BigEndian.AppendUint32(b, 7)
	}
	b = append(b, payload...)
	if sumAt >= 0 {
		binary.BigEndian.PutUint16(b[sumAt:], ^foldSum(onesSum(0, b)))
	}
	return b
}

// pptpGRE is PPTP's enhanced GRE (RFC 2637 section 4.1: version 1, key
// holding payload length and call ID, sequence and acknowledgment
// numbers) carrying ppp.
func pptpGRE(ppp []byte) []byte {
	b := []byte{0x30, 0x81, 0x88, 0x0b} // K, S, A; version 1; protocol PPP
	b = binary.BigEndian.AppendUint16(b, uint16(len(ppp)))
	b = binary.BigEndian.AppendUint16(b, 0x4001) // call ID
	b = binary.BigEndian.AppendUint32(b, 12)     // sequence
	b = binary.BigEndian.AppendUint32(b, 11)     // acknowledgment
	return append(b, ppp...)
}

// erspanII is an ERSPAN type II header (version 1, VLAN 0, session 5,
// index 0) then a mirrored frame, inside GRE with a sequence number.
func erspanII(frame []byte) []byte {
	h := []byte{0x10, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00}
	return greBytes(greS, 0x88be, append(h, frame...))
}

// erspanIII is an ERSPAN type III header (version 2, session 5, a
// timestamp, hardware ID), with platform the 8-byte platform-specific
// subheader (O flag), then a mirrored frame, inside GRE.
func erspanIII(frame []byte, platform bool) []byte {
	h := []byte{0x20, 0x00, 0x00, 0x05, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00, 0x00}
	if platform {
		h[11] |= 1
		h = append(h, 0x0c, 0, 0, 0, 0x9a, 0xbc, 0xde, 0xf0)
	}
	return greBytes(greS, 0x22eb, append(h, frame...))
}

// vxlanBytes is a VXLAN header (I flag, VNI 0x123456) then an Ethernet
// frame.
func vxlanBytes(frame []byte) []byte {
	return append([]byte{0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0}, frame...)
}

// geneveBytes is a Geneve header of protocol proto with optWords 4-byte
// words of options (each one option header of class 0x0103, type 1 and no
// data), then payload.
func geneveBytes(proto uint16, optWords int, payload []byte) []byte {
	b := []byte{byte(optWords), 0}
	b = binary.BigEndian.AppendUint16(b, proto)
	b = append(b, 0x00, 0x0a, 0x0b, 0)
	for range optWords {
		b = append(b, 0x01, 0x03, 0x01, 0x00)
	}
	return append(b, payload...)
}

// ipoibFrame is an IP packet behind LINKTYPE_IPOIB's 44-byte header: a
// unicast pseudo-header (zeros, then the destination's queue pair and
// GID), the EtherType, 2 reserved bytes.
func ipoibFrame(ip []byte) []byte {
	b := make([]byte, 40)
	copy(b[20:], []byte{0x00, 0x00, 0x00, 0x48, 0xfe, 0x80})
	b = binary.BigEndian.AppendUint16(b, etherTypeOf(ip))
	return append(append(b, 0, 0), ip...)
}

// arcnetFrame is an IP packet behind an ARCNET header: source 0x01,
// destination 0x02, with linux the 2 offset bytes, the protocol ID (RFC
// 1201's for IPv4 unless rfc1051), and for RFC 1201 the split flag and
// sequence number, after an exception frame's 4 bytes when exception.
func arcnetFrame(ip []byte, linux, rfc1051, exception bool) []byte {
	b := []byte{0x01, 0x02}
	if linux {
		b = append(b, 0x00, 0x00)
	}
	proto := byte(arcnetIPv4RFC1201)
	switch {
	case ip[0]>>4 == 6:
		proto = arcnetIPv6
	case rfc1051:
		return append(append(b, arcnetIPv4RFC1051), ip...)
	}
	b = append(b, proto)
	if exception {
		b = append(b, 0xff, 0xff, 0xff, proto)
	}
	b = append(b, 0x00, 0x12, 0x34) // not split; sequence 0x1234
	return append(b, ip...)
}

// juniperHeader is Juniper's capture header: "MGC", flags (incoming),
// and with ext the extension length and TLVs (an interface index and a
// logical unit, in host order as JUNOS writes them).
func juniperHeader(ext bool, flags byte) []byte {
	b := []byte{'M', 'G', 'C', 0x01 | flags}
	if ext {
		b[3] |= juniperFlagExt
		tlvs := []byte{1, 4, 0x2a, 0, 0, 0, 5, 1, 0}
		b = binary.BigEndian.AppendUint16(b, uint16(len(tlvs)))
		b = append(b, tlvs...)
	}
	return b
}

// juniperNoL2 is an IP packet behind Juniper's header with the link
// header stripped: the protocol in host order, then the packet.
func juniperNoL2(ip []byte, ext bool) []byte {
	proto := uint32(juniperProtoIPv4)
	if ip[0]>>4 == 6 {
		proto = juniperProtoIPv6
	}
	b := binary.LittleEndian.AppendUint32(juniperHeader(ext, juniperFlagNoL2), proto)
	return append(b, ip...)
}
