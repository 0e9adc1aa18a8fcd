package capture

import (
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// mplsLayer is a whole MPLS label stack (RFC 3032), read as Zeek's MPLS
// analyzer reads it: labels up to the one with the bottom-of-stack bit,
// then an IPv4 or IPv6 packet guessed from the version nibble, since MPLS
// does not say what it carries. Anything else (a pseudowire) is left
// undecoded. It is hand-written because gopacket's layers.MPLS is no
// DecodingLayer and slices 4 bytes without a bounds check.
type mplsLayer struct {
	decoded
}

const mplsLabelLen = 4

func (l *mplsLayer) DecodeFromBytes(data []byte, _ gopacket.DecodeFeedback) error {
	// Each label is 4 bytes, so the loop ends within len(data)/4 steps.
	offset := 0
	for {
		if offset+mplsLabelLen > len(data) {
			return malformed("MPLS", "label stack of %d bytes has no bottom-of-stack label", len(data))
		}
		bottom := data[offset+2]&1 != 0
		offset += mplsLabelLen
		if bottom {
			break
		}
	}
	l.payload = data[offset:]
	l.next = guessIP(l.payload)
	return nil
}

func (l *mplsLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeMPLS }
