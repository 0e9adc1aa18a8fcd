package capture

import (
	"encoding/binary"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

const (
	tunnelVXLAN  = "VXLAN"
	tunnelGeneve = "Geneve"

	vxlanPort      = 4789 // IANA; Linux's default is 8472, which Zeek does not watch either
	vxlanHeaderLen = 8
	vxlanFlagVNI   = 0x08 // the I flag: the VNI is valid, which RFC 7348 requires

	genevePort      = 6081
	geneveHeaderLen = 8
	geneveVersion   = 0
)

// vxlanInner returns the Ethernet frame a VXLAN packet (RFC 7348 section
// 5: flags, reserved, 24-bit VNI, reserved) carries, or nil when body is
// not one: shorter than the header, or the I flag clear. Zeek's VXLAN
// analyzer, on the same port, reads the frame after the 8 bytes
// unchecked.
func vxlanInner(body []byte) []byte {
	if len(body) < vxlanHeaderLen || body[0]&vxlanFlagVNI == 0 {
		return nil
	}
	return body[vxlanHeaderLen:]
}

// geneveInner returns what a Geneve packet (RFC 8926 section 3.4: version
// and option length in 4-byte words, flags, protocol type, VNI, then the
// options) carries and its layer, or nil when body is not a version 0
// Geneve packet carrying Ethernet (protocol 0x6558), IPv4 or IPv6.
func geneveInner(body []byte) ([]byte, gopacket.LayerType) {
	if len(body) < geneveHeaderLen || body[0]>>6 != geneveVersion {
		return nil, gopacket.LayerTypePayload
	}
	offset := geneveHeaderLen + int(body[0]&0x3f)*4
	if offset > len(body) {
		return nil, gopacket.LayerTypePayload
	}
	var next gopacket.LayerType
	switch binary.BigEndian.Uint16(body[2:4]) {
	case greProtoTEB:
		next = layers.LayerTypeEthernet
	case etherTypeIPv4:
		next = layers.LayerTypeIPv4
	case etherTypeIPv6:
		next = layers.LayerTypeIPv6
	default:
		return nil, gopacket.LayerTypePayload
	}
	return body[offset:], next
}
