package capture

import (
	"encoding/binary"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// ethernetLayer is an Ethernet header, decoded the way Zeek's Ethernet
// analyzer decodes it: Ethernet II dispatches on its EtherType, IEEE 802.3
// hands its length-bounded payload to 802.2 LLC, and a Cisco FabricPath
// outer header is skipped to the Ethernet frame inside. It replaces
// layers.Ethernet so that dispatch goes through this package's EtherType
// table and counts towards maxLinkHeaders.
type ethernetLayer struct {
	info *frameInfo
	decoded
}

const (
	ethernetHeaderLen = 14
	// fabricPathHeaderLen is the FabricPath outer header: outer MACs,
	// EtherType 0x8903, FTag and TTL. The whole inner frame follows.
	fabricPathHeaderLen = 16
	// An EtherType field below 0x0600 is an IEEE 802.3 length (at most
	// 1500); 1501-1535 means nothing.
	etherTypeMin   = 0x0600
	ieee8023MaxLen = 1500
)

func (l *ethernetLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < ethernetHeaderLen {
		return malformed("Ethernet", "frame too short (%d bytes, need %d)", len(data), ethernetHeaderLen)
	}
	if binary.BigEndian.Uint16(data[12:14]) == etherTypeFabricPath {
		if len(data) < fabricPathHeaderLen+ethernetHeaderLen {
			return malformed("Cisco FabricPath", "frame too short (%d bytes, need %d)", len(data), fabricPathHeaderLen+ethernetHeaderLen)
		}
		data = data[fabricPathHeaderLen:]
	}
	typeOrLen := binary.BigEndian.Uint16(data[12:14])
	body := data[ethernetHeaderLen:]
	switch {
	case typeOrLen >= etherTypeMin:
		l.next = l.info.etherNext(typeOrLen)
	case typeOrLen <= ieee8023MaxLen:
		// Anything past the 802.3 length is padding. A shorter frame was
		// cut by the snaplen, which the IP layer accounts for.
		body = body[:min(int(typeOrLen), len(body))]
		l.next = layers.LayerTypeLLC
	default:
		l.next = gopacket.LayerTypePayload
	}
	l.payload = body
	return nil
}

func (l *ethernetLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeEthernet }

// etherShim is a header between Ethernet and the network layer that ends
// with the EtherType of what follows, so that decoding it is skipping a
// fixed length: an 802.1Q or QinQ tag (4 bytes: TCI, EtherType), a Cisco
// VN-Tag (6 bytes: tag, EtherType), an IEEE 802.1ah PBB I-TAG followed
// by the customer's MAC addresses (18 bytes: I-TAG, C-DA, C-SA,
// EtherType), as Zeek's VLAN, VNTAG and PBB analyzers read them, or an
// IEEE 802.1BR E-Tag (8 bytes: E-TCI, EtherType; section 7.4.1). One
// instance per header kind; a stack of the same kind (QinQ) passes through
// the same instance again.
type etherShim struct {
	name      string // for messages: "802.1Q", "VN-Tag", ...
	layerType gopacket.LayerType
	headerLen int

	info *frameInfo
	decoded
}

func newEtherShim(name string, layerType gopacket.LayerType, headerLen int, info *frameInfo) *etherShim {
	return &etherShim{name: name, layerType: layerType, headerLen: headerLen, info: info}
}

func (l *etherShim) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < l.headerLen {
		return malformed(l.name, "header too short (%d bytes, need %d)", len(data), l.headerLen)
	}
	l.next = l.info.etherNext(binary.BigEndian.Uint16(data[l.headerLen-2 : l.headerLen]))
	l.payload = data[l.headerLen:]
	return nil
}

func (l *etherShim) CanDecode() gopacket.LayerClass { return l.layerType }
