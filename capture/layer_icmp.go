package capture

import (
	"encoding/binary"
	"net/netip"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// The ICMP and ICMPv6 errors a TCP analysis reads: those that quote a TCP
// segment and that Linux's tcp_v4_err and tcp_v6_err act on, which can end
// a connect() (RFC 792, RFC 4443 section 3). Everything else ICMP carries
// (echo, redirects, fragmentation needed and packet too big, which only
// lower the path MTU, and any error quoting another protocol) is non-TCP,
// as it always was.
const (
	ipProtocolICMP   = 1
	ipProtocolICMPv6 = 58

	icmpDestUnreachable = 3  // RFC 792
	icmpTimeExceeded    = 11 // RFC 792
	icmpParameterProb   = 12 // RFC 792
	icmpFragNeeded      = 4  // the destination unreachable code of PMTU discovery (RFC 1191)

	icmpv6DestUnreachable = 1 // RFC 4443 section 3.1
	icmpv6TimeExceeded    = 3 // RFC 4443 section 3.3
	icmpv6ParameterProb   = 4 // RFC 4443 section 3.4

	// icmpHeaderLen is the type, code and checksum, and the 4 bytes after
	// them (unused, or a pointer or an MTU), before the quoted packet.
	icmpHeaderLen = 8
	// quotedTCPLen is what an error must quote of the TCP header: the
	// ports and the sequence number, the 8 bytes RFC 792 guarantees.
	quotedTCPLen = 8
)

// icmpLayer decodes an ICMP or ICMPv6 error and the IP and TCP headers it
// quotes. Like udpLayer it never fails: a message that is not such an
// error, or whose quote is cut or broken, ends the decoding as non-TCP
// without complaint, since no TCP segment is lost with it.
type icmpLayer struct {
	layerType gopacket.LayerType // layers.LayerTypeICMPv4 or layers.LayerTypeICMPv6

	// quotes: the message is an error quoting a TCP segment; the fields
	// below are valid only then.
	quotes    bool
	typ, code uint8
	src, dst  netip.Addr // of the quoted packet: as its sender sent it
	srcPort   uint16
	dstPort   uint16
	seq       uint32
}

func (l *icmpLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	l.quotes = false
	if len(data) < icmpHeaderLen {
		return nil
	}
	l.typ, l.code = data[0], data[1]
	quote := data[icmpHeaderLen:]
	var ok bool
	if l.layerType == layers.LayerTypeICMPv4 {
		ok = (l.typ == icmpDestUnreachable && l.code != icmpFragNeeded || l.typ == icmpTimeExceeded || l.typ == icmpParameterProb) &&
			l.quotedIPv4(quote)
	} else {
		ok = (l.typ == icmpv6DestUnreachable || l.typ == icmpv6TimeExceeded || l.typ == icmpv6ParameterProb) &&
			l.quotedIPv6(quote)
	}
	l.quotes = ok
	return nil
}

// quotedIPv4 reads the IPv4 header and the first 8 bytes of TCP that an
// ICMP error quotes. The quoted header's lengths describe the packet as
// it was sent, not the quote, so only the header's own length is checked.
func (l *icmpLayer) quotedIPv4(q []byte) bool {
	if len(q) < ipv4MinHeaderLen || q[0]>>4 != 4 {
		return false
	}
	headerLen := int(q[0]&0x0f) * 4
	if headerLen < ipv4MinHeaderLen || len(q) < headerLen+quotedTCPLen {
		return false
	}
	// A fragment after the first holds no TCP header.
	if q[9] != ipProtocolTCP || binary.BigEndian.Uint16(q[6:8])&0x1fff != 0 {
		return false
	}
	l.src = netip.AddrFrom4([4]byte(q[12:16]))
	l.dst = netip.AddrFrom4([4]byte(q[16:20]))
	l.quotedTCP(q[headerLen:])
	return true
}

// quotedIPv6 reads the IPv6 header and the first 8 bytes of TCP that an
// ICMPv6 error quotes. The TCP header must follow the IPv6 header: a
// SYN carries no extension headers.
func (l *icmpLayer) quotedIPv6(q []byte) bool {
	if len(q) < ipv6HeaderLen+quotedTCPLen || q[0]>>4 != 6 || q[6] != ipProtocolTCP {
		return false
	}
	l.src = netip.AddrFrom16([16]byte(q[8:24]))
	l.dst = netip.AddrFrom16([16]byte(q[24:40]))
	l.quotedTCP(q[ipv6HeaderLen:])
	return true
}

func (l *icmpLayer) quotedTCP(tcp []byte) {
	l.srcPort = binary.BigEndian.Uint16(tcp[0:2])
	l.dstPort = binary.BigEndian.Uint16(tcp[2:4])
	l.seq = binary.BigEndian.Uint32(tcp[4:8])
}

func (l *icmpLayer) CanDecode() gopacket.LayerClass { return l.layerType }

// NextLayerType ends the parse: the quote is read here, not decoded on.
func (l *icmpLayer) NextLayerType() gopacket.LayerType { return gopacket.LayerTypeZero }
func (l *icmpLayer) LayerPayload() []byte              { return nil }
