package capture

import (
	"encoding/binary"
	"net/netip"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// The IP layers are hand-written DecodingLayers rather than gopacket's:
// layers.IPv4 rejects a whole packet for one bad IP option and words its
// errors for people reading Go, and layers.IPv6 allocates for every
// hop-by-hop option, never resets IPv6Destination.Options (it grows for as
// long as the reader runs), and has no DecodingLayer for routing and
// fragment headers. These decode only what a TCP analysis needs.

const (
	ipProtocolIPv4 = 4 // IP in IP (RFC 2003), and IPv4 in IPv6 (RFC 2473)
	ipProtocolTCP  = 6
	ipProtocolUDP  = 17
	ipProtocolIPv6 = 41 // IPv6 in IPv4 (RFC 4213) or in IPv6 (RFC 2473)
	ipProtocolGRE  = 47

	tunnelIPinIP = "IP-in-IP"
)

// nextLayer is the layer after an IP header: TCP, UDP (which may be a
// tunnel), ICMP or ICMPv6 (which may quote TCP), an IP or GRE tunnel, a
// fragment for the reassembler, or something this package does not
// decode. Entering an IP-in-IP tunnel counts it, so the IP layers call
// this once, from DecodeFromBytes.
func (i *frameInfo) nextLayer() gopacket.LayerType {
	switch {
	case i.fragment:
		// The decoder hands it to the reassembler (decodeLayers).
		return gopacket.LayerTypeFragment
	case i.protocol == ipProtocolTCP:
		return layers.LayerTypeTCP
	case i.protocol == ipProtocolUDP:
		return layers.LayerTypeUDP
	case i.protocol == ipProtocolICMP:
		return layers.LayerTypeICMPv4
	case i.protocol == ipProtocolICMPv6:
		return layers.LayerTypeICMPv6
	case i.tunnels >= maxTunnelDepth:
		return gopacket.LayerTypePayload
	case i.protocol == ipProtocolGRE:
		return layers.LayerTypeGRE
	case i.protocol == ipProtocolIPv4:
		i.enterTunnel(tunnelIPinIP)
		return layers.LayerTypeIPv4
	case i.protocol == ipProtocolIPv6:
		i.enterTunnel(tunnelIPinIP)
		return layers.LayerTypeIPv6
	}
	return gopacket.LayerTypePayload
}

// finish records the lengths common to IPv4 and IPv6 and returns the
// captured part of the IP payload. header is the bytes before the
// transport header (IP header and extension headers).
func (i *frameInfo) finish(data []byte, ipLen, header int) []byte {
	i.decoded = true
	i.ipLen = ipLen
	i.l4Len = ipLen - header
	i.truncated = len(data) < ipLen
	// A packet tunnelled in this one is cut wherever this one is.
	i.missing = max(0, ipLen-len(data))
	// Beyond ipLen is link-layer padding (Ethernet pads to 60 bytes) or FCS.
	return data[header:min(ipLen, len(data))]
}

type ipv4Layer struct {
	info *frameInfo
	decoded
}

const (
	ipv4MinHeaderLen = 20
)

func (l *ipv4Layer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < ipv4MinHeaderLen {
		return malformed("IPv4", "packet too short (%d bytes, need %d)", len(data), ipv4MinHeaderLen)
	}
	if version := data[0] >> 4; version != 4 {
		return malformed("IPv4", "version %d (want 4)", version)
	}
	ihl := int(data[0] & 0x0f)
	if ihl < 5 {
		return malformed("IPv4", "IHL %d (< 5)", ihl)
	}
	headerLen := ihl * 4
	if headerLen > len(data) {
		return malformed("IPv4", "IHL %d (%d bytes) past the end of the packet (%d bytes)", ihl, headerLen, len(data))
	}
	totalLen := int(binary.BigEndian.Uint16(data[2:4]))
	if totalLen == 0 {
		// TCP segmentation offload: the capture saw the packet before the
		// NIC filled in the length. The frame itself is the truth.
		totalLen = len(data) + l.info.missing
	}
	if totalLen < headerLen {
		return malformed("IPv4", "total length %d (< header length %d)", totalLen, headerLen)
	}
	if onWire := len(data) + l.info.missing; totalLen > onWire {
		return malformed("IPv4", "total length %d past the end of the frame (%d bytes on the wire)", totalLen, onWire)
	}
	if l.info.verify && foldSum(onesSum(0, data[:headerLen])) != 0xffff {
		l.info.badIPChecksum = true
	}
	flagsOffset := binary.BigEndian.Uint16(data[6:8])
	l.info.fragment = flagsOffset&0x3fff != 0 // more-fragments bit or a fragment offset
	if l.info.fragment {
		l.info.frag = fragmentOfIPv4(data, totalLen, headerLen)
	}
	l.info.rerouted = false
	l.info.finalDst = ipv4FinalDst(data[ipv4MinHeaderLen:headerLen])
	l.info.protocol = data[9]
	l.info.src = netip.AddrFrom4([4]byte(data[12:16]))
	l.info.dst = netip.AddrFrom4([4]byte(data[16:20]))
	l.payload = l.info.finish(data, totalLen, headerLen)
	l.next = l.info.nextLayer()
	return nil
}

func (l *ipv4Layer) CanDecode() gopacket.LayerClass { return layers.LayerTypeIPv4 }

type ipv6Layer struct {
	info *frameInfo
	decoded
}

const ipv6HeaderLen = 40

// IPv6 next-header values walked over or stopped at.
const (
	ipv6HopByHop    = 0
	ipv6Routing     = 43
	ipv6Fragment    = 44
	ipv6DestOptions = 60
	ipv6FragmentLen = 8
)

func (l *ipv6Layer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < ipv6HeaderLen {
		return malformed("IPv6", "packet too short (%d bytes, need %d)", len(data), ipv6HeaderLen)
	}
	if version := data[0] >> 4; version != 6 {
		return malformed("IPv6", "version %d (want 6)", version)
	}
	payloadLen := int(binary.BigEndian.Uint16(data[4:6]))
	totalLen := ipv6HeaderLen + payloadLen
	if payloadLen == 0 {
		// A jumbogram or TCP segmentation offload: the frame is the truth.
		totalLen = len(data) + l.info.missing
	}
	if onWire := len(data) + l.info.missing; totalLen > onWire {
		return malformed("IPv6", "payload length %d past the end of the frame (%d bytes on the wire)", payloadLen, onWire)
	}
	end := min(totalLen, len(data)) // what can be read of the IPv6 packet

	// Walk the extension headers to the transport header.
	next, offset := data[6], ipv6HeaderLen
	nextAt := 6 // where next was read
	l.info.rerouted = false
	for next == ipv6HopByHop || next == ipv6Routing || next == ipv6DestOptions {
		if offset+2 > end {
			return malformed("IPv6", "extension header %d at offset %d past the end of the packet (%d bytes)", next, offset, end)
		}
		extLen := (int(data[offset+1]) + 1) * 8
		if offset+extLen > end {
			return malformed("IPv6", "extension header %d of %d bytes at offset %d past the end of the packet (%d bytes)", next, extLen, offset, end)
		}
		if next == ipv6Routing && data[offset+3] != 0 {
			// Segments left: the final destination is in the routing
			// header, and the TCP checksum covers that one, not dst
			// (RFC 8200 section 8.1).
			l.info.rerouted = true
		}
		next, offset, nextAt = data[offset], offset+extLen, offset
	}
	l.info.fragment = next == ipv6Fragment
	if l.info.fragment {
		if offset+ipv6FragmentLen > end {
			return malformed("IPv6", "fragment header at offset %d past the end of the packet (%d bytes)", offset, end)
		}
		// An atomic fragment (offset 0, no M flag) is one too: the
		// reassembler gives it back whole.
		l.info.frag = fragmentOfIPv6(data, totalLen, offset, nextAt)
		next, offset = data[offset], offset+ipv6FragmentLen
	}
	l.info.protocol = next
	l.info.finalDst = netip.Addr{}
	l.info.src = netip.AddrFrom16([16]byte(data[8:24]))
	l.info.dst = netip.AddrFrom16([16]byte(data[24:40]))
	l.payload = l.info.finish(data, totalLen, offset)
	l.next = l.info.nextLayer()
	return nil
}

func (l *ipv6Layer) CanDecode() gopacket.LayerClass { return layers.LayerTypeIPv6 }

// IPv4 options (RFC 791 section 3.1) read by ipv4FinalDst.
const (
	ipv4OptEnd  = 0
	ipv4OptNOP  = 1
	ipv4OptLSRR = 131 // loose source and record route
	ipv4OptSSRR = 137 // strict source and record route
	// ipv4OptRouteMin is a route option's type, length and pointer, and
	// one address.
	ipv4OptRouteMin = 3 + 4
)

// ipv4FinalDst reads the options of an IPv4 header for a source route
// with hops still to visit, and returns the last of them, the final
// destination, which the sender put in the TCP pseudo-header instead of
// the header's destination (the next hop). It is the invalid Addr when
// there is none. An option whose length runs past the options ends the
// walk: the packet is decoded all the same, as a host that does not
// process options would.
func ipv4FinalDst(opts []byte) netip.Addr {
	for i := 0; i < len(opts); {
		switch opts[i] {
		case ipv4OptEnd:
			return netip.Addr{}
		case ipv4OptNOP:
			i++
			continue
		}
		if i+2 > len(opts) {
			return netip.Addr{}
		}
		n := int(opts[i+1])
		if n < 2 || i+n > len(opts) {
			return netip.Addr{}
		}
		if (opts[i] == ipv4OptLSRR || opts[i] == ipv4OptSSRR) && n >= ipv4OptRouteMin {
			// The pointer is 1-based from the option's start: past the
			// last address, the route is done and the header's
			// destination is the final one.
			if pointer := int(opts[i+2]); pointer >= 4 && pointer <= n-3 {
				last := i + 3 + (n-3)/4*4 - 4
				return netip.AddrFrom4([4]byte(opts[last : last+4]))
			}
		}
		i += n
	}
	return netip.Addr{}
}
