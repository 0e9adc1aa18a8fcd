package fsm

// Event is something that happens to a connection as a whole, the moments
// a live display announces as they happen. One segment can cause several
// (a FIN that also completes the close). Events are derived from the same
// state the Result reports, so a live line and the final record agree.
type Event uint8

// Events, in the order they are announced when one segment causes several.
const (
	// EventSynRetransmitted: the client sent its SYN again (same ISN).
	EventSynRetransmitted Event = 1 << iota
	// EventSynAckRetransmitted: the server sent its SYN/ACK again.
	EventSynAckRetransmitted
	// EventEstablished: the handshake completed (Result.Handshake becomes
	// complete or simultaneous). A connection picked up mid-stream never
	// announces it.
	EventEstablished
	// EventRefused: the SYN was answered with RST (Result.Handshake refused).
	EventRefused
	// EventUnreachable: an ICMP or ICMPv6 error quoting the SYN ended the
	// connect() (Result.Handshake unreachable; see Conn.ICMPError).
	EventUnreachable
	// EventReset: an acceptable RST ended the connection, other than a
	// refusal (Result.ResetBy, ResetFrom and ResetPeerState say how).
	EventReset
	// EventFIN: the sender of the segment sent its first FIN: it closed
	// its half of the connection (RFC 9293 section 3.10.4).
	EventFIN
	// EventClosed: both sides are done with the connection after FINs,
	// each in TIME_WAIT or CLOSED.
	EventClosed
	numEvents = iota
)

var eventNames = [numEvents]string{
	"syn_retransmitted", "synack_retransmitted", "established", "refused", "unreachable", "reset", "fin", "closed",
}

// String spells an event as the JSON "event" key does; a set of several
// is comma-separated.
func (ev Event) String() string { return bitNames(uint64(ev), eventNames[:]) }

// Each calls fn for every event in the set, in announcement order.
func (ev Event) Each(fn func(Event)) {
	for i := range numEvents {
		if one := Event(1) << i; ev&one != 0 {
			fn(one)
		}
	}
}

// milestones is what events are computed from: the connection-wide facts
// before and after a segment.
type milestones struct {
	established, refused, reset, closed bool
	fins                                [2]bool
}

func (c *Conn) milestones() milestones {
	return milestones{
		established: c.established && !c.midstream,
		refused:     c.refused,
		reset:       c.resetBy >= 0,
		closed:      c.ep[0].sentFIN && c.ep[1].sentFIN && c.ep[0].state.gone() && c.ep[1].state.gone(),
		fins:        [2]bool{c.ep[0].sentFIN, c.ep[1].sentFIN},
	}
}

// events compares the milestones before and after segment seg, which was
// classified as kind.
func (c *Conn) events(was milestones, seg *Segment, kind Kind) Event {
	now := c.milestones()
	var ev Event
	if kind&KindSynRetransmission != 0 {
		if seg.Flags&ACK == 0 {
			ev |= EventSynRetransmitted
		} else {
			ev |= EventSynAckRetransmitted
		}
	}
	if now.established && !was.established {
		ev |= EventEstablished
	}
	if now.refused && !was.refused {
		ev |= EventRefused
	} else if now.reset && !was.reset {
		ev |= EventReset
	}
	if now.fins[seg.Dir] && !was.fins[seg.Dir] {
		ev |= EventFIN
	}
	if now.closed && !was.closed && !now.reset {
		ev |= EventClosed
	}
	return ev
}
