package capture

import (
	"net/netip"

	"github.com/google/gopacket"
)

// frameInfo is what the layers of one frame tell each other, and what the
// Packet is filled from. The decoder resets it for every frame; each layer
// holds a pointer to the decoder's single copy.
type frameInfo struct {
	// missing is how many bytes of the enclosing packet the capture did not
	// keep (snaplen): those of the frame at first, then, once an IP header
	// is decoded, those of that IP packet, which is what a packet tunnelled
	// inside it is short of.
	missing int
	// verify: Options.VerifyChecksums, for the IP layers.
	verify bool
	// badIPChecksum: with verify, an IPv4 header checksum was wrong. A host
	// drops such a packet before TCP sees it, and so does Zeek.
	badIPChecksum bool

	// How deep the frame is nested so far, bounded against hostile input.
	linkHeaders int    // headers dispatched by EtherType (Ethernet, each VLAN tag, ...)
	tunnels     int    // tunnels decapsulated
	tunnel      string // the innermost one ("Teredo", "GRE", ...); "" outside any

	// Of the innermost IP header decoded: for a tunnelled packet these
	// describe the inner packet, which is the connection Zeek logs.
	decoded  bool // an IPv4 or IPv6 header was decoded
	src, dst netip.Addr
	protocol uint8
	// fragment: the IP packet is a fragment, which frag describes; the
	// decoding stops there and the reassembler takes it.
	fragment  bool
	frag      ipFragment
	ipLen     int  // the IP packet's length as its header states it
	l4Len     int  // transport header plus payload, from the IP length fields
	truncated bool // the capture holds fewer than ipLen bytes
	// rerouted: an IPv6 routing header still has segments to visit, so the
	// destination the TCP checksum covers is not dst but one this package
	// does not dig out.
	rerouted bool
	// finalDst: an IPv4 source route option (loose or strict) still has
	// hops to visit, and this last one of them is the destination the TCP
	// checksum covers (RFC 1122 section 3.2.1.8). Invalid otherwise.
	finalDst netip.Addr
}

// Bounds on nesting. Real traffic stays far inside them (QinQ plus MPLS
// plus PPPoE is five link headers); without them a frame of nothing but
// VLAN tags, or tunnels inside tunnels, would take work proportional to
// its length and grow the decoded-layer list.
const (
	maxLinkHeaders = 8
	// maxTunnelDepth is Zeek's Tunnel::max_depth default: a packet is
	// decapsulated at most twice.
	maxTunnelDepth = 2
)

// enterTunnel notes that the frame is one tunnel of kind deeper. The
// caller has checked that tunnels < maxTunnelDepth.
func (f *frameInfo) enterTunnel(kind string) {
	f.tunnels++
	f.tunnel = kind
}

// etherNext is the layer for EtherType t, or gopacket.LayerTypePayload
// (left undecoded, so non-TCP) once the frame has had maxLinkHeaders
// link-layer headers.
func (f *frameInfo) etherNext(t uint16) gopacket.LayerType {
	f.linkHeaders++
	if f.linkHeaders > maxLinkHeaders {
		return gopacket.LayerTypePayload
	}
	return etherTypeLayer(t)
}
