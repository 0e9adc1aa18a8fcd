// Package pcapngtest builds pcapng blocks byte by byte, in either byte
// order, for the tests of tcpfsm's pcapng reader and for tcpgen's hostile
// captures: blocks a writer would never emit (unknown types, simple
// packet blocks without a time, interfaces of odd link types, time
// resolutions and offsets) as well as ordinary ones. capture reads
// pcapng; nothing writes a capture of real traffic with this.
package pcapngtest

import "encoding/binary"

// Block types.
const (
	TypeSectionHeader  = 0x0A0D0D0A
	TypeInterface      = 1
	TypeSimplePacket   = 3
	TypeEnhancedPacket = 6
)

// Interface options.
const (
	optEndOfOpt     = 0
	OptTSResolution = 9  // if_tsresol
	OptTSOffset     = 14 // if_tsoffset
)

// Block is a block of type typ around body, the body padded to 32 bits.
func Block(o binary.AppendByteOrder, typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	b := o.AppendUint32(nil, typ)
	b = o.AppendUint32(b, n)
	b = append(b, body...)
	return o.AppendUint32(b, n)
}

// SectionHeader is a section header block: version 1.0, the section's
// length unknown. Its byte-order magic tells a reader o.
func SectionHeader(o binary.AppendByteOrder) []byte {
	b := o.AppendUint32(nil, 0x1A2B3C4D)
	b = o.AppendUint16(b, 1)
	b = o.AppendUint16(b, 0)
	b = o.AppendUint64(b, ^uint64(0))
	return Block(o, TypeSectionHeader, b)
}

// Interface describes an interface for an interface description block.
type Interface struct {
	Link    uint16
	SnapLen uint32
	// TSResol is the if_tsresol option's value; 0 leaves the option out
	// (microseconds).
	TSResol byte
	// TSOffset is the if_tsoffset option's value, written when
	// HasOffset.
	TSOffset  int64
	HasOffset bool
}

// Block is the interface's description block; its options end with
// opt_endofopt, and a description without options has none.
func (i Interface) Block(o binary.AppendByteOrder) []byte {
	b := o.AppendUint16(nil, i.Link)
	b = o.AppendUint16(b, 0)
	b = o.AppendUint32(b, i.SnapLen)
	options := false
	if i.TSResol != 0 {
		b = o.AppendUint16(b, OptTSResolution)
		b = o.AppendUint16(b, 1)
		b = append(b, i.TSResol, 0, 0, 0)
		options = true
	}
	if i.HasOffset {
		b = o.AppendUint16(b, OptTSOffset)
		b = o.AppendUint16(b, 8)
		b = o.AppendUint64(b, uint64(i.TSOffset))
		options = true
	}
	if options {
		b = o.AppendUint32(b, optEndOfOpt)
	}
	return Block(o, TypeInterface, b)
}

// EnhancedPacket is an enhanced packet block of interface iface, its time
// ts in the interface's units, holding data of a packet wireLen bytes
// long on the wire.
func EnhancedPacket(o binary.AppendByteOrder, iface uint32, ts uint64, data []byte, wireLen int) []byte {
	b := o.AppendUint32(nil, iface)
	b = o.AppendUint32(b, uint32(ts>>32))
	b = o.AppendUint32(b, uint32(ts))
	b = o.AppendUint32(b, uint32(len(data)))
	b = o.AppendUint32(b, uint32(wireLen))
	b = append(b, data...)
	return Block(o, TypeEnhancedPacket, b)
}

// SimplePacket is a simple packet block holding data whole: no interface
// (the first) and no time.
func SimplePacket(o binary.AppendByteOrder, data []byte) []byte {
	return Block(o, TypeSimplePacket, append(o.AppendUint32(nil, uint32(len(data))), data...))
}
