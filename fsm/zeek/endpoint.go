package zeek

// What Zeek keeps for one side of a connection (TCP_Endpoint): its state,
// the sequence numbers it sent and acknowledged, and the counters that
// scale its history letters.

// EndpointState is the state Zeek keeps for one side of a TCP connection
// (TCP_Endpoint.h, enum EndpointState; script constants TCP_INACTIVE ...).
type EndpointState uint8

// Endpoint states.
const (
	Inactive    EndpointState = iota // nothing seen from this side
	SynSent                          // SYN seen, no ACK of it
	SynAckSent                       // SYN/ACK seen, no initial SYN
	Partial                          // data seen, but no SYN
	Established                      // SYN/ACK seen (implicit for a SYN sent by the responder)
	Closed                           // FIN seen
	Reset                            // RST seen
)

var stateNames = [...]string{"INACTIVE", "SYN_SENT", "SYN_ACK_SENT", "PARTIAL", "ESTABLISHED", "CLOSED", "RESET"}

func (s EndpointState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "?"
}

// The events whose letters are added on a logarithmic scale, each with its
// counter in an endpoint's scaled set.
const (
	scaledChecksum = iota // C: a bad checksum
	scaledRexmit          // T: a retransmission
	scaledZeroWin         // W: a zero window
	scaledGap             // G: a content gap
	nScaled
)

// scaledThresholds are the thresholds Connection::ScaledHistoryEntry goes
// through: 1, 10, 100, ..., then on by ten until multiplying by ten in 32
// bits no longer grows it (10^9 still does, to 10^10 mod 2^32), where it
// stays and the counter starts again from 0.
var scaledThresholds = func() []uint32 {
	t := []uint32{1}
	for last := t[0]; last*10 > last; last *= 10 {
		t = append(t, last*10)
	}
	return t
}()

// scaledSet counts the events whose letter is added at 1, 10, 100, ...
// occurrences (Connection::ScaledHistoryEntry). Zeek keeps a counter and a
// threshold per event; the threshold is always one of scaledThresholds, so
// only its index is kept, in a byte beside the counters.
type scaledSet struct {
	cnt [nScaled]uint32
	exp [nScaled]uint8 // index in scaledThresholds
}

// hit counts one event of kind k and reports whether it adds its letter.
func (s *scaledSet) hit(k int) bool {
	s.cnt[k]++
	if s.cnt[k] != scaledThresholds[s.exp[k]] {
		return false
	}
	if int(s.exp[k]) == len(scaledThresholds)-1 {
		s.cnt[k] = 0 // wrapped around: keep the threshold
	} else {
		s.exp[k]++
	}
	return true
}

// endpoint is one TCP_Endpoint.
// Its fields are ordered widest first, so that it has no padding but the
// reassembler's own.
type endpoint struct {
	finSeq      uint64 // relative, one past the FIN
	histLastSYN uint64
	histLastFIN uint64
	histLastRST uint64
	pkts        uint64
	ipBytes     uint64
	re          reassembler

	startSeq        uint32 // TCP_Endpoint::start_seq (always a 32-bit value here)
	lastSeq, ackSeq uint32
	seqWraps        uint32
	ackWraps        uint32
	finCnt          uint32
	scaled          scaledSet

	state, prevState EndpointState
	isOrig           bool
	didClose         bool
}

func full(seq, wraps uint32) uint64 { return uint64(wraps)<<32 + uint64(seq) }

func (e *endpoint) updateLastSeq(seq uint32) {
	if seq < e.lastSeq {
		e.seqWraps++
	}
	e.lastSeq = seq
}

func (e *endpoint) updateAckSeq(seq uint32) {
	if seq < e.ackSeq {
		e.ackWraps++
	}
	e.ackSeq = seq
}

// noDataAcked: none of this endpoint's data has been acknowledged (allowing
// one octet for the SYN).
func (e *endpoint) noDataAcked() bool {
	ack := full(e.ackSeq, e.ackWraps)
	start := uint64(e.startSeq)
	return ack == start || ack == start+1
}

// size is TCP_Endpoint::Size: the bytes sent, from sequence numbers (the
// larger of what was sent and what the peer acknowledged), less SYN and FIN.
func (e *endpoint) size(peer *endpoint) uint64 {
	if e.prevState == SynSent && e.state == Reset && peer.state == Inactive && !e.noDataAcked() {
		return 0
	}
	last, ack := full(e.lastSeq, e.seqWraps), full(e.ackSeq, e.ackWraps)
	var n uint64
	if last > ack {
		n = last - uint64(e.startSeq)
	} else {
		n = ack - uint64(e.startSeq)
	}
	if n != 0 {
		n--
	}
	if e.finCnt > 0 && n != 0 {
		n--
	}
	return n
}

func seqDelta(a, b uint32) int32 { return int32(a - b) }

// relativeSeq is get_relative_seq.
func relativeSeq(e *endpoint, cur, last, wraps uint32) (rel uint64, underflow bool) {
	d := seqDelta(cur, last)
	if d < 0 {
		if wraps != 0 && cur > last {
			wraps--
		}
	} else if d > 0 {
		if cur < last {
			wraps++
		}
	}
	if wraps == 0 {
		d = seqDelta(cur, e.startSeq)
		return uint64(int64(d)), d < 0
	}
	return full(cur, wraps) - uint64(e.startSeq), false
}

// initEndpoint is init_endpoint.
func initEndpoint(e *endpoint, syn bool, first, last uint32) {
	switch e.state {
	case Inactive:
		if syn {
			e.ackSeq, e.startSeq = first, first
		} else {
			e.ackSeq, e.startSeq = first-1, first-1
			last = first
		}
		e.lastSeq = last
	case SynSent, SynAckSent:
		if syn && first != e.startSeq {
			e.startSeq, e.ackSeq, e.lastSeq = first, first, last
		}
	case Established, Partial:
		if syn {
			e.startSeq, e.ackSeq, e.lastSeq = first, first, last
		}
	case Reset:
		if syn && e.prevState == Inactive {
			e.startSeq, e.ackSeq, e.lastSeq = first, first, last
		}
	}
}
