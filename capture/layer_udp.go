package capture

import (
	"encoding/binary"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// udpLayer decodes a UDP header only to look inside the tunnels Zeek
// decapsulates by default and that carry TCP: GTP-U, Teredo, VXLAN and
// Geneve. Any other
// datagram, or one that does not parse as its tunnel, ends the decoding
// as non-TCP without complaint: a broken UDP header is no business of a
// TCP analysis.
type udpLayer struct {
	info *frameInfo
	decoded
}

const (
	udpHeaderLen = 8
	// Zeek's GTPv1 analyzer listens on GTP-U (2152) and GTP-C (2123); only
	// G-PDUs, which travel on 2152, carry user packets.
	gtpUserPort    = 2152
	gtpControlPort = 2123
	teredoPort     = 3544
)

// onPort reports whether either port of a datagram is port.
func onPort(srcPort, dstPort, port uint16) bool { return srcPort == port || dstPort == port }

func (l *udpLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	l.next, l.payload = gopacket.LayerTypePayload, nil
	if len(data) < udpHeaderLen || l.info.tunnels >= maxTunnelDepth {
		return nil
	}
	udpLen := int(binary.BigEndian.Uint16(data[4:6]))
	if udpLen < udpHeaderLen || udpLen > l.info.l4Len {
		return nil
	}
	srcPort := binary.BigEndian.Uint16(data[0:2])
	dstPort := binary.BigEndian.Uint16(data[2:4])
	body := data[udpHeaderLen:min(udpLen, len(data))]
	bodyLen := udpLen - udpHeaderLen // on the wire; body may be cut by the snaplen

	// Zeek picks the tunnel by the port of the UDP connection's responder
	// and, for Teredo only, by content on any port. Which side a datagram
	// comes from is unknown here, so either port counts; Zeek's
	// likely_server_ports makes the tunnel port the responder's anyway.
	var inner []byte
	var tunnel string
	next := gopacket.LayerTypePayload // for the tunnels that say what they carry
	switch {
	case isGTPPort(srcPort) || isGTPPort(dstPort):
		// Zeek does not decapsulate GTP found inside GTP.
		if l.info.tunnel != tunnelGTP {
			inner, tunnel = gtpInner(body, bodyLen), tunnelGTP
		}
	case onPort(srcPort, dstPort, vxlanPort):
		inner, tunnel, next = vxlanInner(body), tunnelVXLAN, layers.LayerTypeEthernet
	case onPort(srcPort, dstPort, genevePort):
		inner, next = geneveInner(body)
		tunnel = tunnelGeneve
	case onPort(srcPort, dstPort, teredoPort):
		inner, tunnel = teredoInner(body, bodyLen, true), tunnelTeredo
	default:
		inner, tunnel = teredoInner(body, bodyLen, false), tunnelTeredo
	}
	if inner == nil {
		return nil
	}
	l.info.enterTunnel(tunnel)
	// What the UDP header promises beyond what is here is what the inner
	// packet is short of: bytes cut by the snaplen.
	l.info.missing = bodyLen - len(body)
	l.payload = inner
	l.next = next
	if next == gopacket.LayerTypePayload {
		l.next = guessIP(inner)
	}
	return nil
}

func isGTPPort(p uint16) bool { return p == gtpUserPort || p == gtpControlPort }

func (l *udpLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeUDP }
