// Package pcapng builds pcapng blocks byte by byte, little-endian, as
// tests and tcpgen's hostile captures need them: blocks a writer would
// never emit (unknown types, simple packet blocks without a time,
// interfaces of odd link types and time resolutions) as well as ordinary
// ones. tcpfsm reads pcapng with capture's own reader; nothing here is
// used to write a capture of real traffic.
package pcapng

import "encoding/binary"

var le = binary.LittleEndian

// Block types.
const (
	TypeSectionHeader  = 0x0A0D0D0A
	TypeInterface      = 1
	TypeSimplePacket   = 3
	TypeEnhancedPacket = 6
)

// Block is a block of type typ around body, the body padded to 32 bits.
func Block(typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	b := le.AppendUint32(nil, typ)
	b = le.AppendUint32(b, n)
	b = append(b, body...)
	return le.AppendUint32(b, n)
}

// SectionHeader is the body of a section header block: version 1.0, the
// section's length unknown.
func SectionHeader() []byte {
	b := le.AppendUint32(nil, 0x1A2B3C4D)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, 0)
	return le.AppendUint64(b, ^uint64(0))
}

// Interface is the body of an interface description block of link type
// link; tsresol 0 is the default resolution, microseconds, and anything
// else the if_tsresol option's value.
func Interface(link uint16, tsresol byte) []byte {
	b := le.AppendUint16(nil, link)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, 0)
	if tsresol != 0 {
		b = le.AppendUint16(b, 9) // if_tsresol
		b = le.AppendUint16(b, 1)
		b = append(b, tsresol, 0, 0, 0)
		b = le.AppendUint32(b, 0) // opt_endofopt
	}
	return b
}

// EnhancedPacket is the body of an enhanced packet block of interface
// iface, its time ts in the interface's units, holding data whole.
func EnhancedPacket(iface uint32, ts int64, data []byte) []byte {
	b := le.AppendUint32(nil, iface)
	b = le.AppendUint32(b, uint32(uint64(ts)>>32))
	b = le.AppendUint32(b, uint32(ts))
	b = le.AppendUint32(b, uint32(len(data)))
	b = le.AppendUint32(b, uint32(len(data)))
	return append(b, data...)
}
