package flow

import (
	"encoding/binary"
	"net/netip"

	"github.com/tcpfsm/tcpfsm/capture"
)

// entry is a TCP packet as a table reads it: the fields of a
// capture.Packet the table uses, packed, without pointers (netip.Addr and
// time.Time carry one each), with its key and the capture's clock. Parallel
// hands entries from the reading goroutine to the shards, so their size is
// what crosses between cores, and a round of them holds nothing for the
// collector to scan; a single Table packs each packet on its stack, so both
// follow connections through the same code. pack assigns every field: a
// field added here must be added there.
type entry struct {
	key     key
	srcIsLo bool // the packet's source is the key's lo endpoint
	is4     bool // the addresses are IPv4 (key holds them IPv4-mapped)

	flags        capture.TCPFlags
	window, mss  uint16
	wscale       int8
	sackOK, tsOK bool
	badChecksum  bool
	seq, ack     uint32
	// Lengths come from 16-bit IP header fields (plus 40 for IPv6's
	// header) and from a record of at most 262,144 bytes: 32 bits hold them.
	ipLen, payloadLen, captured int32

	// icmpType and icmpCode are those of the ICMP or ICMPv6 error this
	// entry is (capture.Packet.IsICMPError), which quotes a segment with
	// the key, ports and seq above; icmpType is 0 for a TCP segment (no
	// ICMP error has type 0). Such an entry has no acknowledgment number
	// and no lengths of its own: ack, ipLen, payloadLen and captured hold
	// the error's sender instead (see icmpSender), so that carrying it
	// costs no byte per packet.
	icmpType, icmpCode uint8

	ts    int64  // the packet's time, Unix nanoseconds
	now   int64  // the capture's clock at this packet: the latest packet time so far
	index uint64 // the packet's position in the capture
}

// pack fills e with p when the capture's clock is now. It assigns field
// by field, the key in place: a packed entry is built for every packet.
func (e *entry) pack(p *capture.Packet, now int64) {
	src, dst := p.Src.As16(), p.Dst.As16()
	e.srcIsLo = less(src, p.SrcPort, dst, p.DstPort)
	if e.srcIsLo {
		e.key.loAddr, e.key.hiAddr, e.key.loPort, e.key.hiPort = src, dst, p.SrcPort, p.DstPort
	} else {
		e.key.loAddr, e.key.hiAddr, e.key.loPort, e.key.hiPort = dst, src, p.DstPort, p.SrcPort
	}
	e.is4 = p.Src.Is4()
	e.flags, e.window, e.mss, e.wscale = p.Flags, p.Window, p.MSS, p.WindowScale
	e.sackOK, e.tsOK, e.badChecksum = p.SACKPermitted, p.HasTimestamp, p.BadChecksum
	e.seq, e.ack = p.Seq, p.Ack
	e.ipLen, e.payloadLen, e.captured = int32(p.IPLen), int32(p.PayloadLen), int32(p.CapturedPayload)
	e.icmpType, e.icmpCode = p.ICMP.Type, p.ICMP.Code
	if e.icmpType != 0 {
		e.setICMPSender(p.ICMP.From)
	}
	e.ts, e.now, e.index = p.Timestamp.UnixNano(), now, p.CaptureIndex()
}

// setICMPSender keeps a, the sender of the ICMP error e is, in the fields
// an ICMP error has no use for: its 16 bytes in ack and the three lengths.
func (e *entry) setICMPSender(a netip.Addr) {
	b := a.As16()
	e.ack = binary.BigEndian.Uint32(b[0:])
	e.ipLen = int32(binary.BigEndian.Uint32(b[4:]))
	e.payloadLen = int32(binary.BigEndian.Uint32(b[8:]))
	e.captured = int32(binary.BigEndian.Uint32(b[12:]))
}

// icmpSender returns the sender of the ICMP error e is: IPv4 for an ICMP
// error (no ICMPv6 error comes from an IPv4-mapped address).
func (e *entry) icmpSender() netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint32(b[0:], e.ack)
	binary.BigEndian.PutUint32(b[4:], uint32(e.ipLen))
	binary.BigEndian.PutUint32(b[8:], uint32(e.payloadLen))
	binary.BigEndian.PutUint32(b[12:], uint32(e.captured))
	return netip.AddrFrom16(b).Unmap()
}

// icmpError reports whether e is an ICMP error rather than a TCP segment.
func (e *entry) icmpError() bool { return e.icmpType != 0 }

// ports returns the packet's source and destination ports.
func (e *entry) ports() (src, dst uint16) {
	if e.srcIsLo {
		return e.key.loPort, e.key.hiPort
	}
	return e.key.hiPort, e.key.loPort
}
