package capture

import (
	"encoding/binary"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// The rarer link layers that carry IP: IP over InfiniBand, ARCNET and
// Juniper's encapsulations whose payload is Ethernet, PPP, Cisco HDLC or
// IP. Each is a short header in front of a layer this package decodes
// already; gopacket v1.1.19 knows none of them.

// ipoibHeaderLen is LINKTYPE_IPOIB's header (242): 40 bytes of the
// InfiniBand global route header or, for unicast, a pseudo-header holding
// the destination address, then the EtherType of the payload and 2
// reserved bytes (RFC 4391 section 6; as libpcap and Wireshark's
// packet-ipoib.c read it).
const ipoibHeaderLen = 44

// newIPoIB is LINKTYPE_IPOIB's link layer.
func newIPoIB() etherTypedLink {
	return etherTypedLink{layerType: layerTypeIPoIB, name: "IPoIB", unit: "frame", length: ipoibHeaderLen, etherAt: 40}
}

// ARCNET protocol IDs that carry IP (Wireshark's arcnet_pids.h, from the
// BSD and Linux drivers).
const (
	arcnetIPv4RFC1051 = 240 // RFC 1051: the packet follows the protocol ID
	arcnetIPv4RFC1201 = 212 // RFC 1201: a split flag and a sequence number first
	arcnetIPv6        = 196 // as RFC 1201
)

// arcnetLayer is LINKTYPE_ARCNET_BSD (7: source and destination address,
// a byte each, then the protocol ID) and, with linux, LINKTYPE_ARCNET_LINUX
// (129: the two bytes of the hardware packet's offset field between the
// addresses and the protocol ID). IP under RFC 1201 has a split flag and
// a 2-byte sequence number after the protocol ID; the BSD drivers may hand
// over an exception frame, whose split flag 0xff is followed by 2 bytes of
// padding, the protocol ID again and the real split flag (Wireshark's
// packet-arcnet.c). The frames of a packet split by ARCNET arrive
// reassembled on Linux and, inbound, on the BSDs; a fragment still split
// holds only a part of the IP packet and is read as the IP layer reads a
// truncated one.
type arcnetLayer struct {
	layerType gopacket.LayerType
	linux     bool
	decoded
}

func (l *arcnetLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	at := 2 // the protocol ID
	if l.linux {
		at = 4
	}
	if len(data) <= at {
		return malformed("ARCNET", "frame too short (%d bytes, need %d)", len(data), at+1)
	}
	protocol := data[at]
	body := data[at+1:]
	switch protocol {
	case arcnetIPv4RFC1051:
		l.next, l.payload = layers.LayerTypeIPv4, body
		return nil
	case arcnetIPv4RFC1201, arcnetIPv6:
	default:
		l.next, l.payload = gopacket.LayerTypePayload, body
		return nil
	}
	if !l.linux && len(body) > 0 && body[0] == 0xff {
		if len(body) < 4 {
			return malformed("ARCNET", "exception frame too short (%d bytes after the protocol ID, need 4)", len(body))
		}
		body = body[4:]
	}
	if len(body) < 3 {
		return malformed("ARCNET", "frame too short for the RFC 1201 split flag and sequence number (%d bytes, need 3)", len(body))
	}
	l.next, l.payload = layers.LayerTypeIPv4, body[3:]
	if protocol == arcnetIPv6 {
		l.next = layers.LayerTypeIPv6
	}
	return nil
}

func (l *arcnetLayer) CanDecode() gopacket.LayerClass { return l.layerType }

// Juniper's capture header (Wireshark's packet-juniper.c): the magic
// "MGC", a flags byte, and when the flags say so 2 bytes of extension
// length and that many bytes of TLVs. With the "no L2" flag the link
// header was stripped and a 4-byte protocol in host (little-endian) order
// names the payload instead.
const (
	juniperMagic       = 0x4d4743 // "MGC"
	juniperFlagNoL2    = 0x02
	juniperFlagExt     = 0x80
	juniperProtoIPv4   = 2 // JUNIPER_PROTO_IP
	juniperProtoIPv6   = 6 // JUNIPER_PROTO_IP6
	juniperPPPFraming  = 2 // JUNIPER_PPP: the HDLC-like address and control bytes
	juniperNoL2ProtoLn = 4
)

// juniperPayload is what a Juniper link type carries after its header.
type juniperPayload uint8

const (
	juniperEthernet juniperPayload = iota // JUNIPER_ETHER, JUNIPER_PPPOE (the PPPoE frame's Ethernet header)
	juniperPPP                            // JUNIPER_PPP
	juniperCHDLC                          // JUNIPER_CHDLC
)

// juniperLayer is one of LINKTYPE_JUNIPER_ETHER (178), JUNIPER_PPPOE
// (167), JUNIPER_PPP (179) and JUNIPER_CHDLC (181). A frame without the
// magic is taken to have no Juniper header, as some JUNOS releases wrote
// them and as Wireshark reads them.
type juniperLayer struct {
	info      *frameInfo
	layerType gopacket.LayerType
	carries   juniperPayload
	decoded
}

func (l *juniperLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	hdr := 0
	if len(data) >= 4 && uint32(data[0])<<16|uint32(data[1])<<8|uint32(data[2]) == juniperMagic {
		flags := data[3]
		hdr = 4
		if flags&juniperFlagExt != 0 {
			if len(data) < 6 {
				return malformed("Juniper", "frame too short for the extension length (%d bytes, need 6)", len(data))
			}
			hdr = 6 + int(binary.BigEndian.Uint16(data[4:6]))
		}
		if flags&juniperFlagNoL2 != 0 {
			if len(data) < hdr+juniperNoL2ProtoLn {
				return malformed("Juniper", "frame too short (%d bytes, need %d)", len(data), hdr+juniperNoL2ProtoLn)
			}
			l.payload = data[hdr+juniperNoL2ProtoLn:]
			switch binary.LittleEndian.Uint32(data[hdr:]) {
			case juniperProtoIPv4:
				l.next = layers.LayerTypeIPv4
			case juniperProtoIPv6:
				l.next = layers.LayerTypeIPv6
			default:
				l.next = gopacket.LayerTypePayload
			}
			return nil
		}
		if len(data) < hdr {
			return malformed("Juniper", "frame too short (%d bytes, need %d)", len(data), hdr)
		}
	}
	data = data[hdr:]
	switch l.carries {
	case juniperEthernet:
		l.next, l.payload = layers.LayerTypeEthernet, data
	case juniperPPP:
		if len(data) < juniperPPPFraming {
			return malformed("Juniper PPP", "frame too short (%d bytes, need %d)", len(data), juniperPPPFraming)
		}
		next, n := pppProtocol(data[juniperPPPFraming:])
		if n == 0 {
			return malformed("Juniper PPP", "frame too short (%d bytes) for the protocol field", len(data)-juniperPPPFraming)
		}
		l.next, l.payload = next, data[juniperPPPFraming+n:]
	case juniperCHDLC:
		return decodeCiscoHDLC(l.info, data, &l.next, &l.payload)
	}
	return nil
}

func (l *juniperLayer) CanDecode() gopacket.LayerClass { return l.layerType }
