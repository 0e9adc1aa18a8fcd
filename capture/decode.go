package capture

import (
	"errors"
	"fmt"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// decoder turns one frame into a Packet. Its layers are decoded in place
// and reused for every frame, so decoding a TCP segment allocates nothing.
type decoder struct {
	info ipInfo

	ethernet layers.Ethernet
	vlan     layers.Dot1Q // 802.1Q and QinQ (0x88a8): each tag is one pass through it
	loopback layers.Loopback
	sll      linuxSLL
	sll2     linuxSLL2
	raw      rawIP
	ipv4     ipv4Layer
	ipv6     ipv6Layer
	tcp      tcpLayer

	decoded []gopacket.LayerType
}

// verdict is what a frame turned out to be.
type verdict uint8

const (
	verdictTCP verdict = iota
	verdictNonTCP
	verdictFragment
	verdictMalformed
)

func newDecoder() *decoder {
	d := &decoder{decoded: make([]gopacket.LayerType, 0, 8)}
	d.ipv4.info = &d.info
	d.ipv6.info = &d.info
	d.tcp.info = &d.info
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
	// A handful of layers: a linear scan beats the default map.
	var layerSet gopacket.DecodingLayerContainer = gopacket.DecodingLayerArray(nil)
	for _, l := range []gopacket.DecodingLayer{
		&d.ethernet, &d.vlan, &d.loopback, &d.sll, &d.sll2, &d.raw, &d.ipv4, &d.ipv6, &d.tcp,
	} {
		layerSet = layerSet.Put(l)
	}
	p.SetDecodingLayerContainer(layerSet)
	// Stopping at a layer with no decoder (UDP, ARP, a fragment) is the
	// normal way a non-TCP frame ends; the decoded list says how far it got.
	p.IgnoreUnsupported = true
	return p, true
}

// decode decodes one frame with p. missing is how many bytes of the frame
// the capture did not keep. On verdictTCP it overwrites every field of pkt
// except Index and Timestamp; otherwise pkt is untouched. The error is set
// with verdictMalformed only.
func (d *decoder) decode(p *gopacket.DecodingLayerParser, frame []byte, missing int, pkt *Packet) (verdict, error) {
	d.info = ipInfo{missing: missing}
	if err := p.DecodeLayers(frame, &d.decoded); err != nil {
		if !errors.Is(err, ErrMalformed) {
			// From a gopacket link layer ("Ethernet packet too small"), or a
			// panic the parser recovered.
			err = fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		return verdictMalformed, err
	}
	if n := len(d.decoded); n > 0 && d.decoded[n-1] == layers.LayerTypeTCP {
		d.fill(pkt)
		return verdictTCP, nil
	}
	if !d.info.decoded || d.info.protocol != ipProtocolTCP {
		return verdictNonTCP, nil
	}
	if d.info.fragment {
		return verdictFragment, nil
	}
	// The IP header announced TCP but the parser stopped: the IP payload
	// was empty. Let the TCP layer say so in its own words.
	return verdictMalformed, d.tcp.DecodeFromBytes(nil, nil)
}

func (d *decoder) fill(pkt *Packet) {
	t, o := &d.tcp, &d.tcp.options
	*pkt = Packet{
		Src:           d.info.src,
		Dst:           d.info.dst,
		SrcPort:       t.srcPort,
		DstPort:       t.dstPort,
		IPLen:         d.info.ipLen,
		Seq:           t.seq,
		Ack:           t.ack,
		Flags:         t.flags,
		Window:        t.window,
		PayloadLen:    d.info.l4Len - t.headerLen,
		Truncated:     d.info.truncated,
		MSS:           o.mss,
		WindowScale:   o.windowScale,
		SACKPermitted: o.sackPermitted,
		HasTimestamp:  o.timestamps,
		TSVal:         o.tsVal,
		TSEcr:         o.tsEcr,
	}
}
