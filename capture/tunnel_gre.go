package capture

import (
	"encoding/binary"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

const (
	tunnelGRE    = "GRE"
	tunnelERSPAN = "ERSPAN"

	greHeaderLen = 4 // flags and version, protocol type
	// The flags and version word (RFC 2784 section 2, RFC 2890 section 2,
	// RFC 2637 section 4.1 for version 1).
	greFlagChecksum = 0x8000 // checksum and reserved1, 4 bytes
	greFlagRouting  = 0x4000 // RFC 1701 source routing, obsolete
	greFlagKey      = 0x2000 // key, 4 bytes (version 1: payload length and call ID)
	greFlagSequence = 0x1000 // sequence number, 4 bytes
	greFlagAck      = 0x0080 // version 1 only: acknowledgment number, 4 bytes
	greVersionMask  = 0x0007
	greVersion0     = 0
	greVersion1     = 1 // PPTP's enhanced GRE, carrying PPP

	greProtoTEB      = 0x6558 // transparent Ethernet bridging: an Ethernet frame
	greProtoERSPAN2  = 0x88be // ERSPAN type II, or type I without a sequence number
	greProtoERSPAN3  = 0x22eb
	greProtoPPP      = 0x880b // in version 1
	erspan2HeaderLen = 8
	erspan3HeaderLen = 12
	// erspan3PlatformLen is the platform-specific subheader that follows
	// the type III header when its O flag (the low bit of byte 11) is set.
	erspan3PlatformLen = 8
)

// greLayer decodes GRE as Zeek's GRE analyzer does: version 0 (RFC 2784
// with RFC 2890's key and sequence number) carrying IP, MPLS or Ethernet
// (transparent bridging), ERSPAN types I, II and III carrying a mirrored
// Ethernet frame, and version 1 (PPTP) carrying PPP. Like udpLayer it ends
// the decoding as non-TCP, without complaint, for anything else: a GRE
// packet it cannot read is no business of a TCP analysis. It is only
// reached for an IP packet that is not a fragment, and within
// maxTunnelDepth.
type greLayer struct {
	info *frameInfo
	decoded
}

func (l *greLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	l.next, l.payload = gopacket.LayerTypePayload, nil
	next, offset, kind := greInner(l.info, data)
	if next == gopacket.LayerTypePayload {
		return nil
	}
	l.info.enterTunnel(kind)
	l.next, l.payload = next, data[offset:]
	return nil
}

// greInner reads the GRE header at the start of data and returns the layer
// of what it carries, where that starts, and the tunnel's kind;
// gopacket.LayerTypePayload when the packet is not one it decodes.
func greInner(info *frameInfo, data []byte) (gopacket.LayerType, int, string) {
	none := gopacket.LayerTypePayload
	if len(data) < greHeaderLen {
		return none, 0, ""
	}
	flags := binary.BigEndian.Uint16(data[0:2])
	proto := binary.BigEndian.Uint16(data[2:4])
	if flags&greFlagRouting != 0 {
		return none, 0, ""
	}
	offset := greHeaderLen
	for _, f := range []uint16{greFlagChecksum, greFlagKey, greFlagSequence} {
		if flags&f != 0 {
			offset += 4
		}
	}
	switch flags & greVersionMask {
	case greVersion0:
		if offset > len(data) {
			return none, 0, ""
		}
		switch proto {
		case greProtoTEB:
			return layers.LayerTypeEthernet, offset, tunnelGRE
		case greProtoERSPAN2:
			if flags&greFlagSequence != 0 {
				offset += erspan2HeaderLen // type II; type I has no header
			}
		case greProtoERSPAN3:
			if offset+erspan3HeaderLen > len(data) {
				return none, 0, ""
			}
			if data[offset+erspan3HeaderLen-1]&1 != 0 {
				offset += erspan3PlatformLen
			}
			offset += erspan3HeaderLen
		default:
			// IPv4, IPv6, MPLS, ...: GRE names the payload by EtherType.
			return info.etherNext(proto), offset, tunnelGRE
		}
		if offset > len(data) {
			return none, 0, ""
		}
		return layers.LayerTypeEthernet, offset, tunnelERSPAN
	case greVersion1:
		if proto != greProtoPPP || flags&greFlagKey == 0 || flags&greFlagChecksum != 0 {
			return none, 0, ""
		}
		if flags&greFlagAck != 0 {
			offset += 4
		}
		if offset > len(data) {
			return none, 0, ""
		}
		// A packet with only an acknowledgment carries no PPP frame.
		ppp := data[offset:]
		if len(ppp) >= 2 && ppp[0] == pppAddress && ppp[1] == pppControl {
			offset += 2
		}
		next, n := pppProtocol(data[offset:])
		if n == 0 || next == gopacket.LayerTypePayload {
			return none, 0, ""
		}
		return next, offset + n, tunnelGRE
	}
	return none, 0, ""
}

func (l *greLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeGRE }
