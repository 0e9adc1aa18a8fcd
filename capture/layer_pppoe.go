package capture

import (
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// pppoeLayer is a PPPoE session header (RFC 2516: version and type, code,
// session ID, length) with the PPP protocol field after it, read as Zeek's
// PPPoE analyzer reads it: PPP protocol 0x0021 is IPv4, 0x0057 IPv6, and
// the rest (LCP, IPCP, ...) is left undecoded. Unlike Zeek it also reads
// the protocol compressed to one byte (0x21, 0x57; RFC 1661 section 6.5),
// which RFC 2516 says a peer should not negotiate but some do. gopacket's
// layers.PPPoE and layers.PPP are no DecodingLayers.
//
// It is also the link layer of LINKTYPE_PPP_ETHER (51), whose frames start
// with the PPPoE header and may be of the discovery stage: a code other
// than 0 (session data) is left undecoded.
type pppoeLayer struct {
	decoded
}

const (
	pppoeSessionHeaderLen = 6
	pppoeHeaderLen        = pppoeSessionHeaderLen + 2 // plus the PPP protocol
	pppoeCodeSession      = 0                         // session data; discovery has others
	pppIPv4               = 0x0021
	pppIPv6               = 0x0057
)

func (l *pppoeLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	next, n := pppProtocol(data[min(pppoeSessionHeaderLen, len(data)):])
	if n == 0 {
		// A compressed protocol makes the header one byte shorter, but
		// the common form is the one to ask for.
		return malformed("PPPoE", "session header too short (%d bytes, need %d)", len(data), pppoeHeaderLen)
	}
	if data[1] != pppoeCodeSession {
		next = gopacket.LayerTypePayload
	}
	l.next, l.payload = next, data[pppoeSessionHeaderLen+n:]
	return nil
}

func (l *pppoeLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypePPPoE }
