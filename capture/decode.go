package capture

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// decoder turns one frame into a Packet. Its layers are decoded in place
// and reused for every frame, so decoding a TCP segment allocates nothing.
type decoder struct {
	info frameInfo
	// verifyChecksums is Options.VerifyChecksums.
	verifyChecksums bool

	// In the order the parsers look them up, the most frequent first.
	ipv4     ipv4Layer
	ipv6     ipv6Layer
	tcp      tcpLayer
	ethernet ethernetLayer
	vlan     *etherShim // 802.1Q and QinQ: each tag is one pass through it
	udp      udpLayer
	loopback layers.Loopback
	sll      etherTypedLink
	sll2     etherTypedLink
	raw      rawIP
	mpls     mplsLayer
	pppoe    pppoeLayer
	pbb      *etherShim
	vntag    *etherShim
	fddi     fddiLayer
	llc      llcLayer
	etag     *etherShim
	gre      greLayer
	icmp4    icmpLayer
	icmp6    icmpLayer

	// The first layers of the rarer link types, each put only into the
	// parser for its own link type.
	ppp, pppHDLC, pppPPPD, pppWithDir pppLayer
	ciscoHDLC, ciscoHDLCWithDir       ciscoHDLCLayer
	arcnet, arcnetLinux               arcnetLayer
	juniperPPPoE, juniperEther        juniperLayer
	juniperPPP, juniperCHDLC          juniperLayer
	ipoib                             etherTypedLink

	decoded []gopacket.LayerType

	// frags holds the IP fragments of datagrams not yet complete; now is
	// the time of the frame being decoded, its clock. datagram4 and
	// datagram6 decode the packets it reassembles.
	frags                *reassembler
	now                  time.Time
	datagram4, datagram6 *gopacket.DecodingLayerParser
}

// verdict is what a frame turned out to be.
type verdict uint8

const (
	verdictTCP verdict = iota
	verdictNonTCP
	verdictFragment // held by the reassembler, its datagram incomplete
	verdictMalformed
	verdictBadIPChecksum // TCP behind an IPv4 header with a wrong checksum (only checked on request)
	// verdictICMPError: an ICMP or ICMPv6 error quoting a TCP segment, a
	// non-TCP packet that Options.ICMPErrors delivers.
	verdictICMPError
)

// maxLayers bounds the layers one frame usually decodes to: the link layer
// and 802.2 LLC, maxLinkHeaders layers dispatched by EtherType (the last
// of which can be MPLS or PPPoE), IP and UDP or GRE for each tunnel level
// (plus an inner 802.2 LLC), then IP and TCP. The decoded list is
// allocated that big once, so the parser's appends to it do not allocate.
const maxLayers = 2 + maxLinkHeaders + 3*maxTunnelDepth + 2

func newDecoder(verifyChecksums bool) *decoder {
	d := &decoder{verifyChecksums: verifyChecksums, decoded: make([]gopacket.LayerType, 0, maxLayers)}
	d.vlan = newEtherShim("802.1Q", layers.LayerTypeDot1Q, 4, &d.info)
	d.vntag = newEtherShim("VN-Tag", layerTypeVNTag, 6, &d.info)
	d.pbb = newEtherShim("802.1ah PBB", layerTypePBB, 18, &d.info)
	d.etag = newEtherShim("802.1BR E-Tag", layerTypeETag, 8, &d.info)
	d.ppp = pppLayer{layerType: layers.LayerTypePPP}
	d.pppHDLC = pppLayer{layerType: layerTypePPPHDLC, ciscoToo: true}
	d.pppPPPD = pppLayer{layerType: layerTypePPPPPPD, skip: 2}
	d.pppWithDir = pppLayer{layerType: layerTypePPPWithDir, skip: 1}
	d.ciscoHDLC = ciscoHDLCLayer{layerType: layerTypeCHDLC}
	d.ciscoHDLCWithDir = ciscoHDLCLayer{layerType: layerTypeCHDLCWithDir, skip: 1}
	d.arcnet = arcnetLayer{layerType: layerTypeARCNET}
	d.arcnetLinux = arcnetLayer{layerType: layerTypeARCNETLinux, linux: true}
	d.juniperPPPoE = juniperLayer{layerType: layerTypeJuniperPPPoE, carries: juniperEthernet}
	d.juniperEther = juniperLayer{layerType: layerTypeJuniperEther, carries: juniperEthernet}
	d.juniperPPP = juniperLayer{layerType: layerTypeJuniperPPP, carries: juniperPPP}
	d.juniperCHDLC = juniperLayer{layerType: layerTypeJuniperCHDLC, carries: juniperCHDLC}
	d.sll, d.sll2, d.ipoib = newLinuxSLL(), newLinuxSLL2(), newIPoIB()
	d.frags = newReassembler()
	d.datagram4, _ = d.parser(linkIPv4)
	d.datagram6, _ = d.parser(linkIPv6)
	d.icmp4 = icmpLayer{layerType: layers.LayerTypeICMPv4}
	d.icmp6 = icmpLayer{layerType: layers.LayerTypeICMPv6}
	for _, info := range []**frameInfo{
		&d.ipv4.info, &d.ipv6.info, &d.tcp.info, &d.ethernet.info, &d.udp.info,
		&d.sll.info, &d.sll2.info, &d.llc.info, &d.gre.info,
		&d.ppp.info, &d.pppHDLC.info, &d.pppPPPD.info, &d.pppWithDir.info,
		&d.ciscoHDLC.info, &d.ciscoHDLCWithDir.info,
		&d.juniperPPPoE.info, &d.juniperEther.info, &d.juniperPPP.info, &d.juniperCHDLC.info, &d.ipoib.info,
	} {
		*info = &d.info
	}
	return d
}

// parser builds a DecodingLayerParser for frames of link type lt over the
// decoder's layers, or returns false for a link type it cannot decode. A
// parser's first layer is fixed, hence one per link type.
func (d *decoder) parser(lt linkType) (*gopacket.DecodingLayerParser, bool) {
	first, ok := lt.firstLayer()
	if !ok {
		return nil, false
	}
	p := gopacket.NewDecodingLayerParser(first)
	// Twenty layers, the frequent ones first: a linear scan beats the
	// default map.
	var layerSet gopacket.DecodingLayerContainer = gopacket.DecodingLayerArray(nil)
	for _, l := range []gopacket.DecodingLayer{
		&d.ipv4, &d.ipv6, &d.tcp, &d.ethernet, d.vlan, &d.udp, &d.loopback, &d.sll, &d.sll2,
		&d.raw, &d.mpls, &d.pppoe, d.pbb, d.vntag, &d.fddi, &d.llc, &d.gre, d.etag, &d.icmp4, &d.icmp6,
	} {
		layerSet = layerSet.Put(l)
	}
	if l := d.linkOnlyLayer(lt); l != nil {
		layerSet = layerSet.Put(l)
	}
	p.SetDecodingLayerContainer(layerSet)
	// Stopping at a layer with no decoder (ARP, IGMP, a fragment) is the
	// normal way a non-TCP frame ends, or a fragment's; the decoded list
	// says how far it got.
	p.IgnoreUnsupported = true
	return p, true
}

// linkOnlyLayer is the first layer of link type lt when no other layer
// leads to it, or nil.
func (d *decoder) linkOnlyLayer(lt linkType) gopacket.DecodingLayer {
	switch lt {
	case linkPPP:
		return &d.ppp
	case linkPPPHDLC:
		return &d.pppHDLC
	case linkPPPPPPD:
		return &d.pppPPPD
	case linkPPPWithDir:
		return &d.pppWithDir
	case linkCHDLC:
		return &d.ciscoHDLC
	case linkCHDLCWithDir:
		return &d.ciscoHDLCWithDir
	case linkARCNET:
		return &d.arcnet
	case linkARCNETLinux:
		return &d.arcnetLinux
	case linkJuniperPPPoE:
		return &d.juniperPPPoE
	case linkJuniperEther:
		return &d.juniperEther
	case linkJuniperPPP:
		return &d.juniperPPP
	case linkJuniperCHDLC:
		return &d.juniperCHDLC
	case linkIPoIB:
		return &d.ipoib
	}
	return nil
}

// decode decodes one frame of link type lt, p being the parser for lt.
// missing is how many bytes of the frame the capture did not keep. On
// verdictTCP and verdictICMPError it overwrites every field of pkt (Index
// and Timestamp with zero, for the caller to set); otherwise pkt is
// untouched. The error is
// set with verdictMalformed only.
//
// The common frames take the fast path (fastpath.go); the layered decoder
// decides every other one.
func (d *decoder) decode(lt linkType, p *gopacket.DecodingLayerParser, frame []byte, missing int, pkt *Packet) (verdict, error) {
	if v, ok, err := d.decodeFast(lt, frame, missing, pkt); ok {
		return v, err
	}
	return d.decodeLayers(p, frame, missing, pkt)
}

// decodeLayers is decode through p, gopacket's parser over this package's
// layers, for every frame there is.
func (d *decoder) decodeLayers(p *gopacket.DecodingLayerParser, frame []byte, missing int, pkt *Packet) (verdict, error) {
	d.info = frameInfo{missing: missing, verify: d.verifyChecksums}
	return d.decodeFrom(p, frame, pkt)
}

// decodeFrom is decodeLayers once d.info is set for the frame.
func (d *decoder) decodeFrom(p *gopacket.DecodingLayerParser, frame []byte, pkt *Packet) (verdict, error) {
	missing := d.info.missing
	if err := p.DecodeLayers(frame, &d.decoded); err != nil {
		if !errors.Is(err, ErrMalformed) {
			// From gopacket's loopback layer, or a panic the parser
			// recovered.
			err = fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		if missing > 0 {
			// Not a broken packet but a short snapshot length: say so,
			// the fix is tcpdump -s, not the network.
			err = fmt.Errorf("%w (cut by the snapshot length: %d of %d bytes captured)", err, len(frame), len(frame)+missing)
		}
		return verdictMalformed, d.inTunnel(err)
	}
	if n := len(d.decoded); n > 0 && d.decoded[n-1] == layers.LayerTypeTCP {
		if d.info.badIPChecksum {
			return verdictBadIPChecksum, nil
		}
		d.fill(pkt)
		return verdictTCP, nil
	}
	if d.info.fragment && d.info.decoded {
		return d.reassemble(&d.info.frag, d.info.badIPChecksum, d.info.tunnels, d.info.tunnel, pkt)
	}
	if icmp := d.quotingICMP(); icmp != nil {
		if d.info.badIPChecksum {
			// A host drops it before ICMP sees it: not an error any
			// socket was told of.
			return verdictNonTCP, nil
		}
		d.fillICMP(pkt, icmp)
		return verdictICMPError, nil
	}
	if !d.info.decoded || d.info.protocol != ipProtocolTCP {
		return verdictNonTCP, nil
	}
	// The IP header announced TCP but the parser stopped: the IP payload
	// was empty. Let the TCP layer say so in its own words.
	return verdictMalformed, d.inTunnel(d.tcp.DecodeFromBytes(nil, nil))
}

// reassemble hands fragment f, found tunnels deep in the innermost tunnel
// named tunnel, to the reassembler, and decodes the datagram it completes
// as an unfragmented packet: its verdict is the frame's. Fragments of
// protocols that cannot hold TCP are non-TCP; a fragment behind a bad
// IPv4 header checksum (badIPChecksum, found only on request) is dropped,
// as the host drops it before reassembly.
func (d *decoder) reassemble(f *ipFragment, badIPChecksum bool, tunnels int, tunnel string, pkt *Packet) (verdict, error) {
	if !reassembles(f.protocol, f.v6, tunnels) {
		return verdictNonTCP, nil
	}
	if badIPChecksum {
		return verdictBadIPChecksum, nil
	}
	datagram, missing, ok := d.frags.add(f, d.now, tunnels, tunnel)
	if !ok {
		return verdictFragment, nil
	}
	// Always through the layers, whichever path took the fragment, so
	// that the two paths give the same verdict for it.
	p := d.datagram4
	if f.v6 {
		p = d.datagram6
	}
	d.info = frameInfo{missing: missing, verify: d.verifyChecksums, tunnels: tunnels, tunnel: tunnel}
	return d.decodeFrom(p, datagram, pkt)
}

// inTunnel adds to the error for a malformed header that it was found
// inside a tunnel, if it was: the outer addresses are what a person
// looking for the packet sees first.
func (d *decoder) inTunnel(err error) error {
	if d.info.tunnel == "" {
		return err
	}
	article := "a"
	if strings.ContainsRune("AEIOU", rune(d.info.tunnel[0])) {
		article = "an" // an IP-in-IP, an ERSPAN tunnel
	}
	return fmt.Errorf("%w (inside %s %s tunnel)", err, article, d.info.tunnel)
}

func (d *decoder) fill(pkt *Packet) {
	t, o := &d.tcp, &d.tcp.options
	*pkt = Packet{
		Src:              d.info.src,
		Dst:              d.info.dst,
		SrcPort:          t.srcPort,
		DstPort:          t.dstPort,
		IPLen:            d.info.ipLen,
		Seq:              t.seq,
		Ack:              t.ack,
		Flags:            t.flags,
		Window:           t.window,
		PayloadLen:       d.info.l4Len - t.headerLen,
		CapturedPayload:  max(0, len(t.segment)-t.headerLen),
		Truncated:        d.info.truncated,
		OptionsTruncated: t.optionsCut,
		MSS:              o.mss,
		WindowScale:      o.windowScale,
		SACKPermitted:    o.sackPermitted,
		HasTimestamp:     o.timestamps,
		TSVal:            o.tsVal,
		TSEcr:            o.tsEcr,
	}
	// Only a segment captured whole can be summed, and behind an IPv6
	// routing header the pseudo-header's destination is not d.info.dst.
	// Behind an IPv4 source route it is the route's last hop.
	if d.verifyChecksums && !d.info.truncated && !d.info.rerouted {
		dst := d.info.dst
		if d.info.finalDst.IsValid() {
			dst = d.info.finalDst
		}
		pkt.BadChecksum = !tcpChecksumOK(d.info.src, dst, t.segment)
	}
}

// quotingICMP is the frame's ICMP or ICMPv6 layer if the frame ended with
// one holding an error that quotes a TCP segment, else nil.
func (d *decoder) quotingICMP() *icmpLayer {
	n := len(d.decoded)
	if n == 0 {
		return nil
	}
	var l *icmpLayer
	switch d.decoded[n-1] {
	case layers.LayerTypeICMPv4:
		l = &d.icmp4
	case layers.LayerTypeICMPv6:
		l = &d.icmp6
	default:
		return nil
	}
	if !l.quotes {
		return nil
	}
	return l
}

// fillICMP fills pkt with the ICMP error l: the quoted segment's addresses,
// ports and sequence number, and the error itself.
func (d *decoder) fillICMP(pkt *Packet, l *icmpLayer) {
	*pkt = Packet{
		Src:         l.src,
		Dst:         l.dst,
		SrcPort:     l.srcPort,
		DstPort:     l.dstPort,
		IPLen:       d.info.ipLen,
		Seq:         l.seq,
		WindowScale: -1,
		Truncated:   d.info.truncated,
		ICMP:        ICMPError{From: d.info.src, Type: l.typ, Code: l.code},
	}
}
