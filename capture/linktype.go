package capture

import (
	"fmt"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// linkType is a LINKTYPE_ value as stored in pcap and pcapng files
// (https://www.tcpdump.org/linktypes.html). gopacket's layers.LinkType is a
// uint8 in v1.1.19, too small for LINUX_SLL2 (276), IPV4 (228) and IPV6
// (229), hence this type.
type linkType uint32

// The link types this package decodes.
const (
	linkNull      linkType = 0   // BSD loopback: 4-byte AF_ value in the writer's byte order
	linkEthernet  linkType = 1   // Ethernet, with VLAN tags, MPLS, PPPoE, PBB, VN-Tag, FabricPath
	linkFDDI      linkType = 10  // FDDI, IP in 802.2 LLC/SNAP
	linkRawDLT12  linkType = 12  // raw IP, as DLT_RAW is numbered on most systems
	linkRawDLT14  linkType = 14  // raw IP, as DLT_RAW is numbered on BSD/OS and OpenBSD
	linkRaw       linkType = 101 // LINKTYPE_RAW: raw IPv4 or IPv6
	linkLoop      linkType = 108 // OpenBSD loopback: 4-byte AF_ value, network byte order
	linkLinuxSLL  linkType = 113 // Linux cooked capture v1 ("any" device)
	linkIPv4      linkType = 228 // raw IPv4 only
	linkIPv6      linkType = 229 // raw IPv6 only
	linkLinuxSLL2 linkType = 276 // Linux cooked capture v2
)

// Layer types for the two link layers gopacket has no type for. They are
// never registered with gopacket: they only key decoders inside this
// package's own DecodingLayerParsers. 1000-1999 is the range gopacket leaves
// to applications.
const (
	layerTypeLinuxSLL2 gopacket.LayerType = 1276
	layerTypeRawIP     gopacket.LayerType = 1101
)

// firstLayer is the layer a frame of this link type starts with, and false
// when the link type is not supported.
func (lt linkType) firstLayer() (gopacket.LayerType, bool) {
	switch lt {
	case linkEthernet:
		return layers.LayerTypeEthernet, true
	case linkFDDI:
		return layers.LayerTypeFDDI, true
	case linkNull, linkLoop:
		return layers.LayerTypeLoopback, true
	case linkLinuxSLL:
		return layers.LayerTypeLinuxSLL, true
	case linkLinuxSLL2:
		return layerTypeLinuxSLL2, true
	case linkRaw, linkRawDLT12, linkRawDLT14:
		return layerTypeRawIP, true
	case linkIPv4:
		return layers.LayerTypeIPv4, true
	case linkIPv6:
		return layers.LayerTypeIPv6, true
	}
	return gopacket.LayerTypeZero, false
}

// String names the link type the way tcpdump does ("EN10MB (Ethernet)").
func (lt linkType) String() string {
	switch lt {
	case linkNull:
		return "NULL (BSD loopback)"
	case linkEthernet:
		return "EN10MB (Ethernet)"
	case linkFDDI:
		return "FDDI (FDDI)"
	case linkRaw, linkRawDLT12, linkRawDLT14:
		return "RAW (Raw IP)"
	case linkLoop:
		return "LOOP (OpenBSD loopback)"
	case linkLinuxSLL:
		return "LINUX_SLL (Linux cooked v1)"
	case linkIPv4:
		return "IPV4 (Raw IPv4)"
	case linkIPv6:
		return "IPV6 (Raw IPv6)"
	case linkLinuxSLL2:
		return "LINUX_SLL2 (Linux cooked v2)"
	}
	if name := libpcapLinkTypeName(lt); name != "" {
		return fmt.Sprintf("%s (%d)", name, uint32(lt))
	}
	return fmt.Sprintf("%d", uint32(lt))
}
