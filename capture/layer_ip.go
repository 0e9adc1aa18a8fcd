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

const ipProtocolTCP = 6

// ipInfo is what the IP layer tells the TCP layer and the Packet. The
// decoder resets it for every frame.
type ipInfo struct {
	// missing is set by the decoder before parsing: bytes the frame had on
	// the wire that the capture did not keep (snaplen).
	missing int

	decoded   bool // an IPv4 or IPv6 header was decoded
	src, dst  netip.Addr
	protocol  uint8
	fragment  bool
	ipLen     int  // the IP packet's length as its header states it
	l4Len     int  // TCP header plus payload, from the IP length fields
	truncated bool // the capture holds fewer than ipLen bytes
}

// nextLayer is the layer after an IP header: TCP, an unreassembled
// fragment, or something this package does not decode.
func (i *ipInfo) nextLayer() gopacket.LayerType {
	switch {
	case i.fragment:
		return gopacket.LayerTypeFragment
	case i.protocol == ipProtocolTCP:
		return layers.LayerTypeTCP
	}
	return gopacket.LayerTypePayload
}

// finish records the lengths common to IPv4 and IPv6 and returns the
// captured part of the IP payload. header is the bytes before the
// transport header (IP header and extension headers).
func (i *ipInfo) finish(data []byte, ipLen, header int) []byte {
	i.decoded = true
	i.ipLen = ipLen
	i.l4Len = ipLen - header
	i.truncated = len(data) < ipLen
	// Beyond ipLen is link-layer padding (Ethernet pads to 60 bytes) or FCS.
	return data[header:min(ipLen, len(data))]
}

type ipv4Layer struct {
	info    *ipInfo
	payload []byte
}

const ipv4MinHeaderLen = 20

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
	flagsOffset := binary.BigEndian.Uint16(data[6:8])
	l.info.fragment = flagsOffset&0x3fff != 0 // more-fragments bit or a fragment offset
	l.info.protocol = data[9]
	l.info.src = netip.AddrFrom4([4]byte(data[12:16]))
	l.info.dst = netip.AddrFrom4([4]byte(data[16:20]))
	l.payload = l.info.finish(data, totalLen, headerLen)
	return nil
}

func (l *ipv4Layer) CanDecode() gopacket.LayerClass    { return layers.LayerTypeIPv4 }
func (l *ipv4Layer) NextLayerType() gopacket.LayerType { return l.info.nextLayer() }
func (l *ipv4Layer) LayerPayload() []byte              { return l.payload }

type ipv6Layer struct {
	info    *ipInfo
	payload []byte
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
	for next == ipv6HopByHop || next == ipv6Routing || next == ipv6DestOptions {
		if offset+2 > end {
			return malformed("IPv6", "extension header %d at offset %d past the end of the packet (%d bytes)", next, offset, end)
		}
		extLen := (int(data[offset+1]) + 1) * 8
		if offset+extLen > end {
			return malformed("IPv6", "extension header %d of %d bytes at offset %d past the end of the packet (%d bytes)", next, extLen, offset, end)
		}
		next, offset = data[offset], offset+extLen
	}
	l.info.fragment = next == ipv6Fragment
	if l.info.fragment {
		if offset+ipv6FragmentLen > end {
			return malformed("IPv6", "fragment header at offset %d past the end of the packet (%d bytes)", offset, end)
		}
		next, offset = data[offset], offset+ipv6FragmentLen
	}
	l.info.protocol = next
	l.info.src = netip.AddrFrom16([16]byte(data[8:24]))
	l.info.dst = netip.AddrFrom16([16]byte(data[24:40]))
	l.payload = l.info.finish(data, totalLen, offset)
	return nil
}

func (l *ipv6Layer) CanDecode() gopacket.LayerClass    { return layers.LayerTypeIPv6 }
func (l *ipv6Layer) NextLayerType() gopacket.LayerType { return l.info.nextLayer() }
func (l *ipv6Layer) LayerPayload() []byte              { return l.payload }
