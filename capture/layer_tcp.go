package capture

import (
	"encoding/binary"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// tcpLayer decodes a TCP header. It is hand-written rather than
// layers.TCP because gopacket rejects the whole segment for one malformed
// option, where an observer should keep the header and the options before
// the bad one, and because the lengths must come from the IP header
// (frameInfo.l4Len), not from the captured bytes.
type tcpLayer struct {
	info *frameInfo

	srcPort, dstPort uint16
	seq, ack         uint32
	flags            TCPFlags
	window           uint16
	headerLen        int
	options          tcpOptions
	optionsCut       bool   // the snaplen cut into the options
	segment          []byte // what was captured of the header and payload, for the checksum
}

// tcpOptions are the options the analysis uses (RFC 9293 section 3.2,
// RFC 7323, RFC 2018).
type tcpOptions struct {
	mss           uint16
	windowScale   int8 // -1 when absent
	sackPermitted bool
	timestamps    bool
	tsVal, tsEcr  uint32
}

const tcpMinHeaderLen = 20

func (l *tcpLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	if len(data) < tcpMinHeaderLen {
		return malformed("TCP", "packet too short (%d bytes, need %d)", len(data), tcpMinHeaderLen)
	}
	dataOffset := int(data[12] >> 4)
	if dataOffset < 5 {
		return malformed("TCP", "data offset %d (< 5)", dataOffset)
	}
	headerLen := dataOffset * 4
	if headerLen > l.info.l4Len {
		return malformed("TCP", "data offset %d (%d bytes) past the end of the segment (%d bytes)", dataOffset, headerLen, l.info.l4Len)
	}
	// The IP header says the options are there, so if they are not all in
	// the capture the snaplen cut them (the IP layer has marked the packet
	// truncated). Zeek still sees the connection from the fixed header;
	// the options before the cut are read, the rest count as absent.
	l.optionsCut = headerLen > len(data)
	optionsEnd := min(headerLen, len(data))
	l.srcPort = binary.BigEndian.Uint16(data[0:2])
	l.dstPort = binary.BigEndian.Uint16(data[2:4])
	l.seq = binary.BigEndian.Uint32(data[4:8])
	l.ack = binary.BigEndian.Uint32(data[8:12])
	// The flag byte is in TCPFlags' bit order already; NS is the low bit
	// of the byte before it.
	l.flags = TCPFlags(data[13]) | TCPFlags(data[12]&1)<<8
	l.window = binary.BigEndian.Uint16(data[14:16])
	l.headerLen = headerLen
	l.options.parse(data[tcpMinHeaderLen:optionsEnd])
	l.segment = data
	return nil
}

func (l *tcpLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeTCP }

// NextLayerType ends the parse: the payload is not decoded.
func (l *tcpLayer) NextLayerType() gopacket.LayerType { return gopacket.LayerTypeZero }
func (l *tcpLayer) LayerPayload() []byte              { return nil }

// TCP option kinds and their fixed lengths.
const (
	tcpOptEnd            = 0
	tcpOptNOP            = 1
	tcpOptMSS            = 2
	tcpOptMSSLen         = 4
	tcpOptWindowScale    = 3
	tcpOptWindowScaleLen = 3
	tcpOptSACKPermitted  = 4
	tcpOptSACKPermLen    = 2
	tcpOptTimestamps     = 8
	tcpOptTimestampsLen  = 10
	maxWindowScale       = 14 // RFC 7323 section 2.3
)

// parse reads the options it knows and skips the others. It stops at the
// first malformed option (length < 2, past the header, or wrong for its
// kind) and keeps what came before: a middlebox mangling one option should
// not hide the MSS sent ahead of it.
func (o *tcpOptions) parse(b []byte) {
	*o = tcpOptions{windowScale: -1}
	for len(b) > 0 {
		kind := b[0]
		if kind == tcpOptEnd {
			return
		}
		if kind == tcpOptNOP {
			b = b[1:]
			continue
		}
		if len(b) < 2 {
			return
		}
		n := int(b[1])
		if n < 2 || n > len(b) {
			return
		}
		switch kind {
		case tcpOptMSS:
			if n != tcpOptMSSLen {
				return
			}
			o.mss = binary.BigEndian.Uint16(b[2:4])
		case tcpOptWindowScale:
			if n != tcpOptWindowScaleLen {
				return
			}
			// A shift over 14 is treated as 14 by the receiver (RFC 7323
			// section 2.3); report the shift that takes effect.
			o.windowScale = int8(min(b[2], maxWindowScale))
		case tcpOptSACKPermitted:
			if n != tcpOptSACKPermLen {
				return
			}
			o.sackPermitted = true
		case tcpOptTimestamps:
			if n != tcpOptTimestampsLen {
				return
			}
			o.timestamps = true
			o.tsVal = binary.BigEndian.Uint32(b[2:6])
			o.tsEcr = binary.BigEndian.Uint32(b[6:10])
		}
		b = b[n:]
	}
}
