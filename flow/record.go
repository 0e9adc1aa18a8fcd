package flow

import (
	"net/netip"

	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/fsm/zeek"
)

// Reason says why a connection left the table.
type Reason uint8

// Reasons.
const (
	ReasonEnd       Reason = iota // the capture ended
	ReasonIdle                    // no packet for longer than the idle timeout
	ReasonEvicted                 // the table was full and this was the least recently active
	ReasonReused                  // a new connection started on the same 5-tuple
	ReasonZeekSplit               // Zeek would end its record here (Config.ZeekRecords)
	ReasonOpen                    // still in the table: a snapshot (Table.Open), not a departure
	ReasonClosed                  // ended (closed or reset), then quiet for Config.CloseDelay
)

// countedAfter reports whether a connection that left the table for this
// reason before a census is still counted in it, in the state it would be in
// by then: one that closed or went idle is, but one replaced by a new
// connection on its 5-tuple (a host holds one socket per 5-tuple, and the
// new connection is counted) or evicted (no longer followed) is not.
func (r Reason) countedAfter() bool {
	switch r {
	case ReasonReused, ReasonZeekSplit, ReasonEvicted:
		return false
	}
	return true
}

func (r Reason) String() string {
	switch r {
	case ReasonEnd:
		return "end"
	case ReasonIdle:
		return "idle"
	case ReasonEvicted:
		return "evicted"
	case ReasonReused:
		return "reused"
	case ReasonZeekSplit:
		return "zeek_split"
	case ReasonOpen:
		return "open"
	case ReasonClosed:
		return "closed"
	}
	return "unknown"
}

// Record is a finished connection as reports see it.
type Record struct {
	ID                     uint64
	ClientAddr, ServerAddr netip.AddrPort
	Reason                 Reason
	// End is the time the Result describes: the end of the capture, or
	// for a connection that went idle, its last packet plus the timeout,
	// or for one that left closed, when it did.
	End int64
	fsm.Result
	// Zeek is the connection as Zeek's conn.log would summarise it, when
	// Config.Zeek or Config.ZeekRecords asked for it.
	Zeek zeek.Summary
	// FirstIndex is the capture index of the connection's first packet.
	// Numbered in this order, a capture's connections get the ids one
	// table given every packet gives them, whichever shard followed them.
	FirstIndex uint64
	// Order places the record among all the capture's records, in the
	// order one table given every packet reports them: what merges the
	// records of shards (--shard) into those of one run.
	Order Order

	lastIndex uint64 // capture index of the connection's latest packet (Parallel)
}
