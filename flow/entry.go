package flow

import "github.com/tcpfsm/tcpfsm/capture"

// entry is a TCP packet as a table reads it: the fields of a
// capture.Packet the table uses, packed, without pointers (netip.Addr and
// time.Time carry one each), with its key and the capture's clock. Parallel
// hands entries from the reading goroutine to the shards, so their size is
// what crosses between cores, and a round of them holds nothing for the
// collector to scan; a single Table packs each packet on its stack, so both
// follow connections through the same code.
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

	ts    int64  // the packet's time, Unix nanoseconds
	now   int64  // the capture's clock at this packet: the latest packet time so far
	index uint64 // the packet's position in the capture
}

// pack fills e with p, whose key is k, when the capture's clock is now.
func (e *entry) pack(p *capture.Packet, now int64, k key, srcIsLo bool) {
	*e = entry{
		key: k, srcIsLo: srcIsLo, is4: p.Src.Is4(),
		flags: p.Flags, window: p.Window, mss: p.MSS, wscale: p.WindowScale,
		sackOK: p.SACKPermitted, tsOK: p.HasTimestamp, badChecksum: p.BadChecksum,
		seq: p.Seq, ack: p.Ack,
		ipLen: int32(p.IPLen), payloadLen: int32(p.PayloadLen), captured: int32(p.CapturedPayload),
		ts: p.Timestamp.UnixNano(), now: now, index: p.Index,
	}
}

// ports returns the packet's source and destination ports.
func (e *entry) ports() (src, dst uint16) {
	if e.srcIsLo {
		return e.key.loPort, e.key.hiPort
	}
	return e.key.hiPort, e.key.loPort
}
