package capture

import (
	"encoding/binary"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// The link layers gopacket v1.1.19 lacks or gets wrong for untrusted input,
// as gopacket.DecodingLayers. BSD loopback comes from gopacket itself;
// Ethernet and what it carries are in layer_ethernet.go.

// etherTypedLink is a link header of a fixed length that names its
// payload by an EtherType at a fixed offset: the Linux cooked captures
// (LINKTYPE_LINUX_SLL, 16 bytes, the protocol type in the last 2;
// LINKTYPE_LINUX_SLL2, 20 bytes, in the first 2) and IP over InfiniBand
// (LINKTYPE_IPOIB, see ipoibHeaderLen). gopacket's layers.LinuxSLL
// slices the address by its length field without a bounds check and
// panics on a length over 10; gopacket v1.1.19 knows neither of the
// others.
type etherTypedLink struct {
	info      *frameInfo
	layerType gopacket.LayerType
	name      string // for errors: "Linux cooked"
	unit      string // what is too short: "packet", "frame"
	length    int    // the header's
	etherAt   int    // the EtherType's offset
	decoded
}

const (
	linuxSLLLen  = 16
	linuxSLL2Len = 20
)

func newLinuxSLL() etherTypedLink {
	return etherTypedLink{layerType: layers.LayerTypeLinuxSLL, name: "Linux cooked", unit: "packet", length: linuxSLLLen, etherAt: 14}
}

func newLinuxSLL2() etherTypedLink {
	return etherTypedLink{layerType: layerTypeLinuxSLL2, name: "Linux cooked v2", unit: "packet", length: linuxSLL2Len, etherAt: 0}
}

func (l *etherTypedLink) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < l.length {
		return malformed(l.name, "%s too short (%d bytes, need %d)", l.unit, len(data), l.length)
	}
	l.next = l.info.etherNext(binary.BigEndian.Uint16(data[l.etherAt:]))
	l.payload = data[l.length:]
	return nil
}

func (l *etherTypedLink) CanDecode() gopacket.LayerClass { return l.layerType }

// rawIP is the empty link layer of LINKTYPE_RAW: the frame is an IPv4 or
// IPv6 packet and the version nibble says which. It consumes nothing.
type rawIP struct {
	decoded
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

func (l *rawIP) CanDecode() gopacket.LayerClass { return layerTypeRawIP }

// decoded is what each of our layers leaves for the next one: the next
// layer's type and its bytes, which gopacket.DecodingLayer's NextLayerType
// and LayerPayload return.
type decoded struct {
	next    gopacket.LayerType
	payload []byte
}

func (d *decoded) NextLayerType() gopacket.LayerType { return d.next }
func (d *decoded) LayerPayload() []byte              { return d.payload }
