package capture

import (
	"encoding/binary"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// pppoeLayer is a PPPoE session header (RFC 2516: version and type, code,
// session ID, length) with the PPP protocol field after it, read as Zeek's
// PPPoE analyzer reads it: PPP protocol 0x0021 is IPv4, 0x0057 IPv6, and
// the rest (LCP, IPCP, ...) is left undecoded. gopacket's layers.PPPoE and
// layers.PPP are no DecodingLayers.
type pppoeLayer struct {
	next    gopacket.LayerType
	payload []byte
}

const (
	pppoeSessionHeaderLen = 6
	pppoeHeaderLen        = pppoeSessionHeaderLen + 2 // plus the PPP protocol
	pppIPv4               = 0x0021
	pppIPv6               = 0x0057
)

func (l *pppoeLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < pppoeHeaderLen {
		return malformed("PPPoE", "session header too short (%d bytes, need %d)", len(data), pppoeHeaderLen)
	}
	switch binary.BigEndian.Uint16(data[pppoeSessionHeaderLen:pppoeHeaderLen]) {
	case pppIPv4:
		l.next = layers.LayerTypeIPv4
	case pppIPv6:
		l.next = layers.LayerTypeIPv6
	default:
		l.next = gopacket.LayerTypePayload
	}
	l.payload = data[pppoeHeaderLen:]
	return nil
}

func (l *pppoeLayer) CanDecode() gopacket.LayerClass    { return layers.LayerTypePPPoE }
func (l *pppoeLayer) NextLayerType() gopacket.LayerType { return l.next }
func (l *pppoeLayer) LayerPayload() []byte              { return l.payload }
