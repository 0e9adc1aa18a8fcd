package capture

import (
	"encoding/binary"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// PPP (RFC 1661) as the link layer of a capture and inside PPPoE and PPTP's
// enhanced GRE, and Cisco HDLC, which frames like PPP in HDLC but names
// its payload by EtherType. gopacket's layers.PPP is no DecodingLayer and
// reads only the two-byte protocol field.

const (
	pppAddress = 0xff // the all-stations address of HDLC-like framing (RFC 1662)
	pppControl = 0x03 // unnumbered information
	// Cisco HDLC addresses (unicast and broadcast) and control byte, as
	// Cisco's PPP in HDLC framing (RFC 1547 section 4.3.1) also uses them.
	ciscoHDLCUnicast   = 0x0f
	ciscoHDLCBroadcast = 0x8f
	ciscoHDLCHeaderLen = 4 // address, control, EtherType
)

// pppProtocol reads a PPP protocol field, two bytes, or one when the
// sender compressed it (protocol-field compression, RFC 1661 section
// 6.5): the field's first byte is even in the two-byte form and odd in the
// one-byte form, since every protocol number has an odd low byte and an
// even high byte. It returns the layer for the protocol (IPv4 for 0x0021,
// IPv6 for 0x0057, undecoded for LCP, IPCP, ...) and how many bytes the
// field took, or 0 when data is too short to hold it.
func pppProtocol(data []byte) (gopacket.LayerType, int) {
	if len(data) == 0 {
		return gopacket.LayerTypePayload, 0
	}
	proto, n := uint16(data[0]), 1
	if data[0]&1 == 0 {
		if len(data) < 2 {
			return gopacket.LayerTypePayload, 0
		}
		proto, n = binary.BigEndian.Uint16(data[0:2]), 2
	}
	switch proto {
	case pppIPv4:
		return layers.LayerTypeIPv4, n
	case pppIPv6:
		return layers.LayerTypeIPv6, n
	}
	return gopacket.LayerTypePayload, n
}

// pppLayer is a PPP frame as a capture's link layer
// (https://www.tcpdump.org/linktypes.html): LINKTYPE_PPP (9),
// LINKTYPE_PPP_HDLC (50), LINKTYPE_PPP_PPPD (166) and LINKTYPE_PPP_WITH_DIR
// (204). The address and control bytes of HDLC-like framing (0xff 0x03)
// may be there or not, and the protocol may be compressed.
type pppLayer struct {
	info      *frameInfo
	layerType gopacket.LayerType
	// skip is how many bytes come before the PPP protocol field or the
	// HDLC-like framing: a direction byte for PPP_WITH_DIR; for PPP_PPPD a
	// direction byte in place of the address, then the control byte.
	skip int
	// ciscoToo: LINKTYPE_PPP_HDLC, whose frames may also be "Cisco PPP
	// with HDLC framing" (RFC 1547 section 4.3.1), told apart by a Cisco
	// HDLC address in the first byte, as tcpdump tells them apart.
	ciscoToo bool
	decoded
}

func (l *pppLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) <= l.skip {
		return malformed("PPP", "frame too short (%d bytes, need %d)", len(data), l.skip+1)
	}
	data = data[l.skip:]
	if l.ciscoToo && (data[0] == ciscoHDLCUnicast || data[0] == ciscoHDLCBroadcast) {
		return decodeCiscoHDLC(l.info, data, &l.next, &l.payload)
	}
	if len(data) >= 2 && data[0] == pppAddress && data[1] == pppControl {
		data = data[2:]
	}
	next, n := pppProtocol(data)
	if n == 0 {
		return malformed("PPP", "frame too short (%d bytes) for the protocol field", len(data))
	}
	l.next, l.payload = next, data[n:]
	return nil
}

func (l *pppLayer) CanDecode() gopacket.LayerClass { return l.layerType }

// ciscoHDLCLayer is LINKTYPE_C_HDLC (104): an address byte (0x0f or 0x8f),
// a control byte and the EtherType of what follows; with skip 1 it is
// LINKTYPE_C_HDLC_WITH_DIR (205), a direction byte first. SLARP keepalives
// and CDP are left undecoded.
type ciscoHDLCLayer struct {
	info      *frameInfo
	layerType gopacket.LayerType
	skip      int
	decoded
}

func (l *ciscoHDLCLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < l.skip+ciscoHDLCHeaderLen {
		return malformed("Cisco HDLC", "frame too short (%d bytes, need %d)", len(data), l.skip+ciscoHDLCHeaderLen)
	}
	return decodeCiscoHDLC(l.info, data[l.skip:], &l.next, &l.payload)
}

// decodeCiscoHDLC reads a Cisco HDLC header. The address byte is not
// checked: Cisco's own captures use others for the keepalive traffic, and
// the EtherType is what matters.
func decodeCiscoHDLC(info *frameInfo, data []byte, next *gopacket.LayerType, payload *[]byte) error {
	if len(data) < ciscoHDLCHeaderLen {
		return malformed("Cisco HDLC", "frame too short (%d bytes, need %d)", len(data), ciscoHDLCHeaderLen)
	}
	*next = info.etherNext(binary.BigEndian.Uint16(data[2:4]))
	*payload = data[ciscoHDLCHeaderLen:]
	return nil
}

func (l *ciscoHDLCLayer) CanDecode() gopacket.LayerClass { return l.layerType }
