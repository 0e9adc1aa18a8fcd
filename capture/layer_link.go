package capture

import (
	"encoding/binary"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// The link layers gopacket v1.1.19 lacks or gets wrong for untrusted input,
// as gopacket.DecodingLayers. BSD loopback comes from gopacket itself;
// Ethernet and what it carries are in layer_ethernet.go.

// linuxSLL is the Linux cooked capture v1 header (LINKTYPE_LINUX_SLL, 16
// bytes, protocol type in the last 2). gopacket's layers.LinuxSLL slices
// the address by its length field without a bounds check and panics on a
// length over 10.
type linuxSLL struct {
	info    *frameInfo
	next    gopacket.LayerType
	payload []byte
}

const linuxSLLLen = 16

func (l *linuxSLL) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < linuxSLLLen {
		return malformed("Linux cooked", "packet too short (%d bytes, need %d)", len(data), linuxSLLLen)
	}
	l.next = l.info.etherNext(binary.BigEndian.Uint16(data[14:16]))
	l.payload = data[linuxSLLLen:]
	return nil
}

func (l *linuxSLL) CanDecode() gopacket.LayerClass    { return layers.LayerTypeLinuxSLL }
func (l *linuxSLL) NextLayerType() gopacket.LayerType { return l.next }
func (l *linuxSLL) LayerPayload() []byte              { return l.payload }

// linuxSLL2 is the Linux cooked capture v2 header (LINKTYPE_LINUX_SLL2, 20
// bytes, protocol type in the first 2), which gopacket v1.1.19 does not
// know.
type linuxSLL2 struct {
	info    *frameInfo
	next    gopacket.LayerType
	payload []byte
}

const linuxSLL2Len = 20

func (l *linuxSLL2) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < linuxSLL2Len {
		return malformed("Linux cooked v2", "packet too short (%d bytes, need %d)", len(data), linuxSLL2Len)
	}
	l.next = l.info.etherNext(binary.BigEndian.Uint16(data[0:2]))
	l.payload = data[linuxSLL2Len:]
	return nil
}

func (l *linuxSLL2) CanDecode() gopacket.LayerClass    { return layerTypeLinuxSLL2 }
func (l *linuxSLL2) NextLayerType() gopacket.LayerType { return l.next }
func (l *linuxSLL2) LayerPayload() []byte              { return l.payload }

// rawIP is the empty link layer of LINKTYPE_RAW: the frame is an IPv4 or
// IPv6 packet and the version nibble says which. It consumes nothing.
type rawIP struct {
	next    gopacket.LayerType
	payload []byte
}

func (l *rawIP) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) == 0 {
		return malformed("IP", "empty packet")
	}
	switch version := data[0] >> 4; version {
	case 4:
		l.next = layers.LayerTypeIPv4
	case 6:
		l.next = layers.LayerTypeIPv6
	default:
		return malformed("IP", "version %d (want 4 or 6)", version)
	}
	l.payload = data
	return nil
}

func (l *rawIP) CanDecode() gopacket.LayerClass    { return layerTypeRawIP }
func (l *rawIP) NextLayerType() gopacket.LayerType { return l.next }
func (l *rawIP) LayerPayload() []byte              { return l.payload }
