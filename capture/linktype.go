package capture

import (
	"fmt"
	"strings"

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
	linkNull         linkType = 0   // BSD loopback: 4-byte AF_ value in the writer's byte order
	linkEthernet     linkType = 1   // Ethernet, with VLAN tags, MPLS, PPPoE, PBB, VN-Tag, E-Tag, FabricPath
	linkARCNET       linkType = 7   // ARCNET, BSD headers
	linkPPP          linkType = 9   // PPP, with or without HDLC-like framing
	linkFDDI         linkType = 10  // FDDI, IP in 802.2 LLC/SNAP
	linkRawDLT12     linkType = 12  // raw IP, as DLT_RAW is numbered on most systems
	linkRawDLT14     linkType = 14  // raw IP, as DLT_RAW is numbered on BSD/OS and OpenBSD
	linkPPPHDLC      linkType = 50  // PPP in HDLC-like framing, or Cisco PPP in HDLC framing (DLT_PPP_SERIAL)
	linkPPPEther     linkType = 51  // PPPoE: the frame starts with the PPPoE header
	linkATMRFC1483   linkType = 100 // LLC/SNAP-encapsulated ATM: the frame starts with 802.2 LLC
	linkRaw          linkType = 101 // LINKTYPE_RAW: raw IPv4 or IPv6
	linkCHDLC        linkType = 104 // Cisco HDLC: address, control, EtherType
	linkLoop         linkType = 108 // OpenBSD loopback: 4-byte AF_ value, network byte order
	linkLinuxSLL     linkType = 113 // Linux cooked capture v1 ("any" device)
	linkARCNETLinux  linkType = 129 // ARCNET, Linux headers (the offset field kept)
	linkPPPPPPD      linkType = 166 // PPP from pppd: a direction byte in place of the HDLC address
	linkJuniperPPPoE linkType = 167 // Juniper's header, then a PPPoE frame's Ethernet header
	linkJuniperEther linkType = 178 // Juniper's header, then Ethernet
	linkJuniperPPP   linkType = 179 // Juniper's header, then PPP in HDLC-like framing
	linkJuniperCHDLC linkType = 181 // Juniper's header, then Cisco HDLC
	linkPPPWithDir   linkType = 204 // a direction byte, then PPP
	linkCHDLCWithDir linkType = 205 // a direction byte, then Cisco HDLC
	linkIPv4         linkType = 228 // raw IPv4 only
	linkIPv6         linkType = 229 // raw IPv6 only
	linkIPoIB        linkType = 242 // IP over InfiniBand
	linkLinuxSLL2    linkType = 276 // Linux cooked capture v2
)

// supportedLinkTypes are the link types this package decodes, in the
// order of their numbers, with the names tcpdump gives them: what String
// and the error for an unsupported link type say.
var supportedLinkTypes = []struct {
	link              linkType
	name, description string
}{
	{linkNull, "NULL", "BSD loopback"},
	{linkEthernet, "EN10MB", "Ethernet"},
	{linkARCNET, "ARCNET", "BSD ARCNET"},
	{linkPPP, "PPP", "PPP"},
	{linkFDDI, "FDDI", "FDDI"},
	{linkRawDLT12, "RAW", "Raw IP"},
	{linkRawDLT14, "RAW", "Raw IP"},
	{linkPPPHDLC, "PPP_SERIAL", "PPP over serial"},
	{linkPPPEther, "PPP_ETHER", "PPPoE"},
	{linkATMRFC1483, "ATM_RFC1483", "RFC 1483 LLC/SNAP-encapsulated ATM"},
	{linkRaw, "RAW", "Raw IP"},
	{linkCHDLC, "C_HDLC", "Cisco HDLC"},
	{linkLoop, "LOOP", "OpenBSD loopback"},
	{linkLinuxSLL, "LINUX_SLL", "Linux cooked v1"},
	{linkARCNETLinux, "ARCNET_LINUX", "Linux ARCNET"},
	{linkPPPPPPD, "PPP_PPPD", "PPP for pppd, with direction flag"},
	{linkJuniperPPPoE, "JUNIPER_PPPOE", "Juniper PPPoE"},
	{linkJuniperEther, "JUNIPER_ETHER", "Juniper Ethernet"},
	{linkJuniperPPP, "JUNIPER_PPP", "Juniper PPP"},
	{linkJuniperCHDLC, "JUNIPER_CHDLC", "Juniper C-HDLC"},
	{linkPPPWithDir, "PPP_WITH_DIR", "PPP with direction"},
	{linkCHDLCWithDir, "C_HDLC_WITH_DIR", "Cisco HDLC with direction"},
	{linkIPv4, "IPV4", "Raw IPv4"},
	{linkIPv6, "IPV6", "Raw IPv6"},
	{linkIPoIB, "IPOIB", "RFC 4391 IP-over-Infiniband"},
	{linkLinuxSLL2, "LINUX_SLL2", "Linux cooked v2"},
}

// supportedLinkTypeNames lists the supported link types for the error
// about an unsupported one: "NULL (0), EN10MB (1), ...".
func supportedLinkTypeNames() string {
	var b strings.Builder
	for i, s := range supportedLinkTypes {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%d)", s.name, uint32(s.link))
	}
	return b.String()
}

// Layer types for the link layers gopacket has no type for, 1000 plus the
// link type. They are never registered with gopacket: they only key
// decoders inside this package's own DecodingLayerParsers. 1000-1999 is
// the range gopacket leaves to applications.
const (
	layerTypeLinuxSLL2    gopacket.LayerType = 1276
	layerTypeRawIP        gopacket.LayerType = 1101
	layerTypePPPHDLC      gopacket.LayerType = 1050
	layerTypeCHDLC        gopacket.LayerType = 1104
	layerTypePPPPPPD      gopacket.LayerType = 1166
	layerTypePPPWithDir   gopacket.LayerType = 1204
	layerTypeCHDLCWithDir gopacket.LayerType = 1205
	layerTypeARCNET       gopacket.LayerType = 1007
	layerTypeARCNETLinux  gopacket.LayerType = 1129
	layerTypeJuniperPPPoE gopacket.LayerType = 1167
	layerTypeJuniperEther gopacket.LayerType = 1178
	layerTypeJuniperPPP   gopacket.LayerType = 1179
	layerTypeJuniperCHDLC gopacket.LayerType = 1181
	layerTypeIPoIB        gopacket.LayerType = 1242
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
	case linkPPP:
		return layers.LayerTypePPP, true
	case linkPPPHDLC:
		return layerTypePPPHDLC, true
	case linkPPPPPPD:
		return layerTypePPPPPPD, true
	case linkPPPWithDir:
		return layerTypePPPWithDir, true
	case linkPPPEther:
		return layers.LayerTypePPPoE, true
	case linkCHDLC:
		return layerTypeCHDLC, true
	case linkCHDLCWithDir:
		return layerTypeCHDLCWithDir, true
	case linkATMRFC1483:
		return layers.LayerTypeLLC, true
	case linkARCNET:
		return layerTypeARCNET, true
	case linkARCNETLinux:
		return layerTypeARCNETLinux, true
	case linkJuniperPPPoE:
		return layerTypeJuniperPPPoE, true
	case linkJuniperEther:
		return layerTypeJuniperEther, true
	case linkJuniperPPP:
		return layerTypeJuniperPPP, true
	case linkJuniperCHDLC:
		return layerTypeJuniperCHDLC, true
	case linkIPoIB:
		return layerTypeIPoIB, true
	}
	return gopacket.LayerTypeZero, false
}

// String names the link type the way tcpdump does ("EN10MB (Ethernet)").
func (lt linkType) String() string {
	for _, s := range supportedLinkTypes {
		if s.link == lt {
			return s.name + " (" + s.description + ")"
		}
	}
	if name := libpcapLinkTypeNames[lt]; name != "" {
		return fmt.Sprintf("%s (%d)", name, uint32(lt))
	}
	return fmt.Sprintf("%d", uint32(lt))
}
