package capture

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// The fast path decodes the frames nearly every capture is made of
// (Ethernet with at most two VLAN tags, Linux cooked v1 and v2, raw IP and
// BSD loopback, then IPv4 or IPv6 straight to TCP) by reading the few
// bytes it needs in place: no interface dispatch, no decoded-layer list,
// no recover. On the same frames the layered decoder (decodeLayers) takes
// about 2.3 times as long: 52 ns a frame against 23 (BenchmarkDecode).
//
// It is an optimisation, never a second opinion: whenever a frame is
// anything else (a tunnel, MPLS, PPPoE, an IPv6 extension header, an IPv4
// source route, not TCP) or is malformed in any way, it
// declines and the layered decoder decides, so that the verdicts, the error messages and
// the counters stay those of one decoder. For every frame it accepts it
// gives the verdict and the Packet the layered decoder gives, field for
// field; TestFastPathAgrees and FuzzFastPath hold it to that. An IP
// fragment outside any tunnel it hands to the reassembler itself, as
// decodeLayers would; the datagram that completes goes through the layers
// whichever path took its last fragment (FuzzReassembly).

// maxFastVLANTags is how many 802.1Q/802.1ad tags the fast path follows:
// a customer tag, and a service tag outside it (QinQ). Deeper stacks are
// left to the layered decoder.
const maxFastVLANTags = 2

// vlanTagLen is what an 802.1Q tag adds after its TPID: the TCI and the
// EtherType of what follows.
const vlanTagLen = 4

// BSD loopback address families (the AF_ value of the sending system) that
// gopacket's layers.Loopback maps to IPv4 and IPv6.
const (
	afINET         = 2
	afINET6Linux   = 10
	afINET6BSD     = 24 // NetBSD, OpenBSD, BSD/OS
	afINET6FreeBSD = 28
	afINET6Darwin  = 30
)

// decodeFast decodes one frame of link type lt, missing bytes short of
// what was on the wire, if it is one of the common kinds. ok is false, and
// pkt untouched, for any other frame: the caller then decodes it with
// decodeLayers. When ok, the verdict is verdictTCP (pkt overwritten as
// decodeLayers overwrites it) or verdictBadIPChecksum (pkt untouched), or,
// for an IP fragment, whatever decodeLayers gives, err included.
func (d *decoder) decodeFast(lt linkType, frame []byte, missing int, pkt *Packet) (v verdict, ok bool, err error) {
	var ip []byte
	var version byte // the IP version the link header announces
	switch lt {
	case linkEthernet:
		ip, version = fastEthernet(frame)
	case linkLinuxSLL:
		ip, version = fastLinuxSLL(frame)
	case linkLinuxSLL2:
		ip, version = fastLinuxSLL2(frame)
	case linkRaw, linkRawDLT12, linkRawDLT14:
		if len(frame) > 0 {
			ip, version = frame, frame[0]>>4
		}
	case linkIPv4:
		ip, version = frame, 4
	case linkIPv6:
		ip, version = frame, 6
	case linkNull, linkLoop:
		ip, version = fastLoopback(frame)
	}
	switch version {
	case 4:
		return d.fastIPv4(ip, missing, pkt)
	case 6:
		return d.fastIPv6(ip, missing, pkt)
	}
	return 0, false, nil
}

// fastEthernet reads an Ethernet II header (IEEE 802.3 clause 3.2.6:
// destination and source MAC, 6 bytes each, then the EtherType) and
// returns what follows it and its VLAN tags, with the IP version the last
// EtherType names; version 0 for anything else (an 802.3 length field,
// FabricPath, MPLS, ARP, ...).
func fastEthernet(frame []byte) ([]byte, byte) {
	if len(frame) < ethernetHeaderLen {
		return nil, 0
	}
	return fastEtherType(binary.BigEndian.Uint16(frame[12:14]), frame[ethernetHeaderLen:])
}

// fastLinuxSLL reads a Linux cooked v1 header (16 bytes: packet type,
// ARPHRD type, address length, 8 address bytes, then the protocol as an
// EtherType; https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html).
func fastLinuxSLL(frame []byte) ([]byte, byte) {
	if len(frame) < linuxSLLLen {
		return nil, 0
	}
	return fastEtherType(binary.BigEndian.Uint16(frame[14:16]), frame[linuxSLLLen:])
}

// fastLinuxSLL2 reads a Linux cooked v2 header (20 bytes, the protocol as
// an EtherType first; https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html).
func fastLinuxSLL2(frame []byte) ([]byte, byte) {
	if len(frame) < linuxSLL2Len {
		return nil, 0
	}
	return fastEtherType(binary.BigEndian.Uint16(frame[0:2]), frame[linuxSLL2Len:])
}

// fastEtherType follows etherType, the last field of a link header whose
// payload is body, through at most maxFastVLANTags VLAN tags (IEEE 802.1Q
// section 9.3: the tag's TPID stands where the EtherType was, followed by
// the 2-byte TCI and then the EtherType of what the tag carries), with the
// TPIDs etherTypeLayer accepts. It returns the payload of the last header
// and 4 or 6 if that is IPv4 or IPv6, else 0.
func fastEtherType(etherType uint16, body []byte) ([]byte, byte) {
	for tags := 0; ; tags++ {
		switch etherType {
		case etherTypeIPv4:
			return body, 4
		case etherTypeIPv6:
			return body, 6
		case etherTypeVLAN, etherTypeQinQ, etherTypeQinQOld:
			if tags == maxFastVLANTags || len(body) < vlanTagLen {
				return nil, 0
			}
			etherType = binary.BigEndian.Uint16(body[2:4])
			body = body[vlanTagLen:]
		default:
			return nil, 0
		}
	}
}

// fastLoopback reads the BSD loopback header: the sender's 4-byte address
// family in its own byte order (LINKTYPE_NULL) or in network byte order
// (LINKTYPE_LOOP). Like gopacket's layers.Loopback, which the layered
// decoder uses, it reads the value big-endian when the first two bytes
// are zero and little-endian otherwise.
func fastLoopback(frame []byte) ([]byte, byte) {
	if len(frame) < 4 {
		return nil, 0
	}
	var family uint32
	if frame[0] == 0 && frame[1] == 0 {
		family = binary.BigEndian.Uint32(frame[0:4])
	} else {
		family = binary.LittleEndian.Uint32(frame[0:4])
	}
	switch family {
	case afINET:
		return frame[4:], 4
	case afINET6Linux, afINET6BSD, afINET6FreeBSD, afINET6Darwin:
		return frame[4:], 6
	}
	return nil, 0
}

// fastIPv4 reads an IPv4 header (RFC 791 section 3.1: version and IHL,
// total length at 2, flags and fragment offset at 6, protocol at 9,
// addresses at 12 and 16, options up to IHL*4 bytes) carrying a whole TCP
// segment, with the checks and the lengths of ipv4Layer.
func (d *decoder) fastIPv4(data []byte, missing int, pkt *Packet) (verdict, bool, error) {
	if len(data) < ipv4MinHeaderLen || data[0]>>4 != 4 {
		return 0, false, nil
	}
	headerLen := int(data[0]&0x0f) * 4
	if headerLen < ipv4MinHeaderLen || headerLen > len(data) {
		return 0, false, nil
	}
	onWire := len(data) + missing
	totalLen := int(binary.BigEndian.Uint16(data[2:4]))
	if totalLen == 0 {
		totalLen = onWire // TCP segmentation offload, as in ipv4Layer
	}
	if totalLen < headerLen || totalLen > onWire {
		return 0, false, nil
	}
	if binary.BigEndian.Uint16(data[6:8])&0x3fff != 0 {
		// A fragment (more-fragments bit or an offset): to the
		// reassembler, as ipv4Layer and decodeLayers would hand it.
		f := fragmentOfIPv4(data, totalLen, headerLen)
		if !reassembles(f.protocol, false, 0) {
			return 0, false, nil
		}
		badIPChecksum := d.verifyChecksums && foldSum(onesSum(0, data[:headerLen])) != 0xffff
		return d.fastReassemble(&f, badIPChecksum, pkt)
	}
	if data[9] != ipProtocolTCP {
		return 0, false, nil
	}
	// A source route, whose final destination the TCP checksum covers.
	if headerLen > ipv4MinHeaderLen && ipv4FinalDst(data[ipv4MinHeaderLen:headerLen]).IsValid() {
		return 0, false, nil
	}
	badIPChecksum := d.verifyChecksums && foldSum(onesSum(0, data[:headerLen])) != 0xffff
	src := netip.AddrFrom4([4]byte(data[12:16]))
	dst := netip.AddrFrom4([4]byte(data[16:20]))
	return d.fastTCP(data, totalLen, headerLen, src, dst, badIPChecksum, pkt)
}

// fastIPv6 reads an IPv6 header (RFC 8200 section 3: version, payload
// length at 4, next header at 6, addresses at 8 and 24) whose next header
// is TCP, or a fragment header (section 4.5) that it hands to the
// reassembler. Other extension headers are left to ipv6Layer.
func (d *decoder) fastIPv6(data []byte, missing int, pkt *Packet) (verdict, bool, error) {
	if len(data) < ipv6HeaderLen || data[0]>>4 != 6 || data[6] != ipProtocolTCP && data[6] != ipv6Fragment {
		return 0, false, nil
	}
	onWire := len(data) + missing
	totalLen := ipv6HeaderLen + int(binary.BigEndian.Uint16(data[4:6]))
	if totalLen == ipv6HeaderLen {
		totalLen = onWire // a jumbogram or TCP segmentation offload, as in ipv6Layer
	}
	if totalLen > onWire {
		return 0, false, nil
	}
	if data[6] == ipv6Fragment {
		if ipv6HeaderLen+ipv6FragmentLen > min(totalLen, len(data)) {
			return 0, false, nil
		}
		f := fragmentOfIPv6(data, totalLen, ipv6HeaderLen, 6)
		if !reassembles(f.protocol, true, 0) {
			return 0, false, nil
		}
		return d.fastReassemble(&f, false, pkt)
	}
	src := netip.AddrFrom16([16]byte(data[8:24]))
	dst := netip.AddrFrom16([16]byte(data[24:40]))
	return d.fastTCP(data, totalLen, ipv6HeaderLen, src, dst, false, pkt)
}

// fastReassemble hands fragment f, found outside any tunnel, to the
// reassembler as decodeLayers does. Its verdict is always the layered
// decoder's: the datagram it may complete is decoded through the layers.
func (d *decoder) fastReassemble(f *ipFragment, badIPChecksum bool, pkt *Packet) (verdict, bool, error) {
	v, err := d.reassemble(f, badIPChecksum, 0, "", pkt)
	return v, true, err
}

// fastTCP reads the TCP header (RFC 9293 section 3.1: ports, sequence and
// acknowledgment numbers, data offset, flags, window, then options up to
// the data offset) that follows ipHeaderLen bytes of the IP packet ip,
// ipLen bytes long as its header states, and fills pkt as decoder.fill
// does. The lengths are frameInfo.finish's and tcpLayer's.
func (d *decoder) fastTCP(ip []byte, ipLen, ipHeaderLen int, src, dst netip.Addr, badIPChecksum bool, pkt *Packet) (verdict, bool, error) {
	l4Len := ipLen - ipHeaderLen
	truncated := len(ip) < ipLen
	// What the capture holds of the segment; beyond ipLen is link-layer
	// padding.
	segment := ip[ipHeaderLen:min(ipLen, len(ip))]
	if len(segment) < tcpMinHeaderLen {
		return 0, false, nil
	}
	headerLen := int(segment[12]>>4) * 4
	if headerLen < tcpMinHeaderLen || headerLen > l4Len {
		return 0, false, nil
	}
	if badIPChecksum {
		return verdictBadIPChecksum, true, nil
	}
	var o tcpOptions
	o.parse(segment[tcpMinHeaderLen:min(headerLen, len(segment))])
	// Field by field rather than *pkt = Packet{...}, whose literal is
	// built on the stack and then copied over: that copy was the costliest
	// line of the fast path. Every field is written, as fill writes them.
	pkt.Index, pkt.SetIndex, pkt.Timestamp = 0, 0, time.Time{}
	pkt.Src, pkt.Dst = src, dst
	pkt.SrcPort = binary.BigEndian.Uint16(segment[0:2])
	pkt.DstPort = binary.BigEndian.Uint16(segment[2:4])
	pkt.IPLen = ipLen
	pkt.Seq = binary.BigEndian.Uint32(segment[4:8])
	pkt.Ack = binary.BigEndian.Uint32(segment[8:12])
	// NS is the low bit of the byte before the flags, as in tcpLayer.
	pkt.Flags = TCPFlags(segment[13]) | TCPFlags(segment[12]&1)<<8
	pkt.Window = binary.BigEndian.Uint16(segment[14:16])
	pkt.PayloadLen = l4Len - headerLen
	pkt.CapturedPayload = max(0, len(segment)-headerLen)
	pkt.Truncated = truncated
	pkt.OptionsTruncated = headerLen > len(segment)
	pkt.BadChecksum = false
	pkt.MSS = o.mss
	pkt.WindowScale = o.windowScale
	pkt.SACKPermitted = o.sackPermitted
	pkt.HasTimestamp = o.timestamps
	pkt.TSVal, pkt.TSEcr = o.tsVal, o.tsEcr
	pkt.ICMP = ICMPError{}
	if d.verifyChecksums && !truncated {
		pkt.BadChecksum = !tcpChecksumOK(src, dst, segment)
	}
	return verdictTCP, true, nil
}
