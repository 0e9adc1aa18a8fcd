package capture

import (
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// The EtherTypes decoded, as Zeek's Ethernet, VLAN, PBB and VN-Tag
// analyzers dispatch them (scripts/base/packet-protocols/*/main.zeek),
// and the 802.1BR E-Tag, which Wireshark decodes and Zeek does not.
// Zeek registers a slightly different subset after each header (nothing
// but VLAN tags after a VN-Tag, for instance); here every header accepts
// all of them, which only matters for stacks no network builds.
const (
	etherTypeIPv4       = 0x0800
	etherTypeIPv6       = 0x86dd
	etherTypeVLAN       = 0x8100 // IEEE 802.1Q
	etherTypeQinQ       = 0x88a8 // IEEE 802.1ad service tag
	etherTypeQinQOld    = 0x9100 // pre-802.1ad QinQ, as Cisco and Juniper sent it
	etherTypeMPLS       = 0x8847
	etherTypeMPLSMcast  = 0x8848
	etherTypePPPoE      = 0x8864 // PPPoE session stage
	etherTypePBB        = 0x88e7 // IEEE 802.1ah backbone I-TAG
	etherTypeVNTag      = 0x8926 // Cisco VN-Tag
	etherTypeETag       = 0x893f // IEEE 802.1BR E-Tag
	etherTypeFabricPath = 0x8903 // Cisco FabricPath, handled inside the Ethernet header
)

// Layer types for this package's layers that gopacket has no type for.
// Like layerTypeLinuxSLL2 they only key decoders inside this package's
// DecodingLayerParsers and are never registered with gopacket.
const (
	layerTypeVNTag gopacket.LayerType = 1926
	layerTypePBB   gopacket.LayerType = 1887
	layerTypeETag  gopacket.LayerType = 1893
)

// etherTypeLayer is the layer that decodes what follows EtherType t;
// gopacket.LayerTypePayload (not decoded: ARP, LLDP, ...) for the others.
// It is this package's own table rather than gopacket's EthernetType
// metadata so that the layers it names are this package's.
func etherTypeLayer(t uint16) gopacket.LayerType {
	switch t {
	case etherTypeIPv4:
		return layers.LayerTypeIPv4
	case etherTypeIPv6:
		return layers.LayerTypeIPv6
	case etherTypeVLAN, etherTypeQinQ, etherTypeQinQOld:
		return layers.LayerTypeDot1Q
	case etherTypeMPLS, etherTypeMPLSMcast:
		return layers.LayerTypeMPLS
	case etherTypePPPoE:
		return layers.LayerTypePPPoE
	case etherTypePBB:
		return layerTypePBB
	case etherTypeVNTag:
		return layerTypeVNTag
	case etherTypeETag:
		return layerTypeETag
	}
	return gopacket.LayerTypePayload
}

// guessIP is the layer for a packet whose header does not name the
// protocol inside (MPLS, a tunnel): IPv4 or IPv6 by the version nibble,
// as Zeek's default analyzer guesses, or undecoded.
func guessIP(b []byte) gopacket.LayerType {
	if len(b) == 0 {
		return gopacket.LayerTypePayload
	}
	switch b[0] >> 4 {
	case 4:
		return layers.LayerTypeIPv4
	case 6:
		return layers.LayerTypeIPv6
	}
	return gopacket.LayerTypePayload
}
