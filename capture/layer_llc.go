package capture

import (
	"encoding/binary"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// IEEE 802.2 LLC, which IP rides on through a SNAP header, on FDDI
// (LINKTYPE_FDDI) and in IEEE 802.3 Ethernet frames. gopacket's
// layers.FDDI is no DecodingLayer; its LLC and SNAP are, but dispatch
// through gopacket's EtherType table rather than this package's.

// fddiLayer is the FDDI MAC header: frame control, destination and source
// addresses. LLC follows.
type fddiLayer struct {
	payload []byte
}

const fddiHeaderLen = 13

func (l *fddiLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < fddiHeaderLen {
		return malformed("FDDI", "frame too short (%d bytes, need %d)", len(data), fddiHeaderLen)
	}
	l.payload = data[fddiHeaderLen:]
	return nil
}

func (l *fddiLayer) CanDecode() gopacket.LayerClass    { return layers.LayerTypeFDDI }
func (l *fddiLayer) NextLayerType() gopacket.LayerType { return layers.LayerTypeLLC }
func (l *fddiLayer) LayerPayload() []byte              { return l.payload }

// llcLayer is an 802.2 LLC header. Only SNAP (DSAP and SSAP 0xAA, RFC 1042)
// carries an EtherType, and so IP; frames for other SAPs (spanning tree,
// NetBIOS, Novell raw 802.3) are left undecoded. Zeek's FDDI analyzer
// skips the 8 bytes of LLC and SNAP unread and its SNAP analyzer ignores
// the OUI; this checks for SNAP but not the OUI either.
type llcLayer struct {
	info *frameInfo
	decoded
}

const (
	llcSAPSNAP = 0xaa
	// llcSNAPLen is DSAP, SSAP and control (3 bytes), then the SNAP OUI (3)
	// and protocol ID (2), an EtherType.
	llcSNAPLen = 8
)

func (l *llcLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < 2 || data[0] != llcSAPSNAP || data[1] != llcSAPSNAP {
		l.next, l.payload = gopacket.LayerTypePayload, nil
		return nil
	}
	if len(data) < llcSNAPLen {
		return malformed("802.2 SNAP", "header too short (%d bytes, need %d)", len(data), llcSNAPLen)
	}
	l.next = l.info.etherNext(binary.BigEndian.Uint16(data[6:8]))
	l.payload = data[llcSNAPLen:]
	return nil
}

func (l *llcLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeLLC }
