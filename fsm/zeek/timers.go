package zeek

import "github.com/tcpfsm/tcpfsm/fsm"

// Zeek's timers for a connection (Session and TCPSessionAdapter timers),
// run in packet time, and the rules by which Zeek ends one record and
// starts another on the same 5-tuple.

// Timeouts from scripts/base/init-bare.zeek, in nanoseconds, and constants
// of TCPSessionAdapter.cc.
const (
	second               int64 = 1e9
	tcpSYNTimeout              = 5 * second   // tcp_SYN_timeout: first ExpireTimer
	tcpSessionTimer            = 6 * second   // tcp_session_timer: ExpireTimer re-arm
	tcpConnectionLinger        = 5 * second   // tcp_connection_linger
	tcpAttemptDelay            = 5 * second   // tcp_attempt_delay: AttemptTimer
	tcpCloseDelay              = 5 * second   // tcp_close_delay: delete timer after a full close
	tcpResetDelay              = 5 * second   // tcp_reset_delay: ResetTimer
	tcpInactivityTimeout       = 300 * second // tcp_inactivity_timeout
	udpInactivityTimeout       = 60 * second  // udp_inactivity_timeout (TCPAnalyzer::MakeSessionAdapter starts with it)
	tooLargeSeqDelta           = 1048576      // TOO_LARGE_SEQ_DELTA
	maxInitialWindow           = 16384        // tcp_max_initial_window
	maxAboveHole               = 16384        // tcp_max_above_hole_without_any_acks
)

// timer slots. Zeek keeps a priority queue of timers; a connection has at
// most these pending at once (ExpireTimer can run in a few chains).
const (
	tAttempt = iota
	tReset
	tDelete
	tInactivity
	tExpire0
	tExpire1
	tExpire2
	nTimers
)

// IsClosed reports whether a side has closed in Zeek's sense (did_close).
func (c *Conn) isClosed() bool { return c.ep[0].didClose || c.ep[1].didClose }

// NewConnection reports whether Zeek would end this connection's record
// before seg (a segment on the same 5-tuple, after the first) and start a
// new connection with it. Call it before Step for every later segment, in
// capture order: it also advances the connection's timers to seg.Time. It
// is true when
//
//   - a timer removed the connection before seg arrived (Zeek runs timers
//     before each packet): 5 s after a full close or a RST
//     (tcp_close_delay, the delete timer of ConnectionClosed), 5 s after
//     the first SYN still unanswered (AttemptTimer: S0 records), 5 s after
//     a RST that follows our FIN (ResetTimer), after tcp_connection_linger
//     of silence once a side closed (ExpireTimer, checked every
//     tcp_session_timer), or after the inactivity timeout (1 min before the
//     handshake ends, 5 min after: Session::InactivityTimer);
//   - or seg is a SYN that reuses the 5-tuple (TCPSessionAdapter::IsReuse):
//     a SYN (or a SYN/ACK while the originator is inactive) after a side
//     closed or reset, or one whose sequence number differs from the
//     originator's initial one.
//
// Each lone RST in llc.pcap is its own record because the RST closes the
// connection (RESET is a complete close), its delete timer removes it 5 s
// later, and the next RST, 60 s on, creates a new connection.
func (c *Conn) NewConnection(seg *fsm.Segment) bool {
	if c.Expired(seg.Time) {
		return true
	}
	return c.isReuse(seg)
}

// Expired advances the connection's timers to now and reports whether Zeek
// would have removed it (and so logged it) by then.
func (c *Conn) Expired(now int64) bool {
	for !c.is(removed) {
		k := -1
		for i := 0; i < nTimers; i++ {
			if c.timerSet&(1<<i) == 0 || c.timerAt[i] > now {
				continue
			}
			if k < 0 || c.timerAt[i] < c.timerAt[k] || c.timerAt[i] == c.timerAt[k] && c.rank(i) < c.rank(k) {
				k = i
			}
		}
		if k < 0 {
			break
		}
		c.clearTimer(k)
		c.dispatch(k, now)
	}
	return c.is(removed)
}

func (c *Conn) isReuse(seg *fsm.Segment) bool {
	f := seg.Flags
	if f&fsm.SYN == 0 {
		return false
	}
	connOrig := c.o()
	if f&fsm.ACK != 0 {
		if c.o().state != Inactive {
			return false // not a half connection
		}
		connOrig = c.r()
	}
	if !c.isClosed() {
		if seg.Seq == connOrig.startSeq {
			return false
		}
		if f&fsm.ACK == 0 && connOrig.state == SynAckSent && c.r().state == Inactive && seg.Seq == c.r().startSeq {
			return false // SYN and SYN/ACK seen in reverse order
		}
	}
	return true
}

// setTimer arms timer k. Timers due at the same time run in the order they
// were set, as in Zeek's queue; all that takes is each timer's rank in that
// order, a nibble a timer in timerOrder: the one set last is ranked highest
// (nTimers-1), and those ranked above k move down one. Timers never set
// keep rank 0 below all that were, so the ranks of the timers set are
// distinct.
func (c *Conn) setTimer(k int, at int64) {
	// Adding 7-r to every nibble carries into a nibble's top bit exactly
	// where its rank is above r (ranks are at most 6, so nothing spills
	// into the next nibble): one subtraction moves them all down.
	r := c.rank(k)
	above := (c.timerOrder + rankOnes*(7-r)) >> 3 & rankOnes
	c.timerOrder = (c.timerOrder-above)&^(rankMask<<(rankBits*k)) | (nTimers-1)<<(rankBits*k)
	c.timerAt[k] = at
	c.timerSet |= 1 << k
}

const (
	rankBits = 4
	rankMask = 1<<rankBits - 1
	rankOnes = 0x1111111 // 1 in each timer's nibble
)

// rank is timer k's place in the order the timers were set.
func (c *Conn) rank(k int) uint32 { return c.timerOrder >> (rankBits * k) & rankMask }

func (c *Conn) clearTimer(k int) { c.timerSet &^= 1 << k }

// addExpire arms another ExpireTimer chain.
func (c *Conn) addExpire(at int64) {
	for k := tExpire0; k <= tExpire2; k++ {
		if c.timerSet&(1<<k) == 0 {
			c.setTimer(k, at)
			return
		}
	}
	// All chains busy: keep the earliest checks.
	last := tExpire0
	for k := tExpire0; k <= tExpire2; k++ {
		if c.timerAt[k] > c.timerAt[last] {
			last = k
		}
	}
	if at < c.timerAt[last] {
		c.setTimer(last, at)
	}
}

// cancelAnalyzerTimers is Analyzer::CancelTimers: all but the session's
// inactivity timer.
func (c *Conn) cancelAnalyzerTimers() { c.timerSet &= 1 << tInactivity }

// inactivityTimeouts are the inactivity timeouts a connection can have:
// none yet, UDP's while the handshake lasts, TCP's after it.
var inactivityTimeouts = [...]int64{0, udpInactivityTimeout, tcpInactivityTimeout}

const (
	udpInactivity = 1 // index of udpInactivityTimeout in inactivityTimeouts
	tcpInactivity = 2 // index of tcpInactivityTimeout
)

// inactivityTimeout is the connection's current inactivity timeout.
func (c *Conn) inactivityTimeout() int64 { return inactivityTimeouts[c.inactivity] }

// setInactivityTimeout is Session::SetInactivityTimeout, to the timeout
// inactivityTimeouts[k].
func (c *Conn) setInactivityTimeout(k uint8) {
	if k == c.inactivity {
		return
	}
	c.clearTimer(tInactivity)
	if k != 0 { // inactivityTimeouts[0], no timeout
		c.setTimer(tInactivity, c.lastTime+inactivityTimeouts[k])
	}
	c.inactivity = k
}

func (c *Conn) dispatch(k int, now int64) {
	o, r := c.o(), c.r()
	switch k {
	case tAttempt:
		if c.is(isActive) && (o.state == SynSent || o.state == SynAckSent) && r.state == Inactive {
			c.set(isActive, false)
			c.set(removed, true)
		}
	case tReset:
		if c.is(isActive) {
			c.set(removed, true)
		}
	case tDelete:
		c.set(removed, true)
	case tInactivity:
		if c.lastTime+c.inactivityTimeout() <= now {
			c.set(removed, true)
		} else {
			c.setTimer(tInactivity, c.lastTime+c.inactivityTimeout())
		}
	default: // ExpireTimer
		if !c.is(isActive) {
			return
		}
		if c.lastTime+tcpConnectionLinger < now {
			if o.didClose || r.didClose {
				if o.didClose && r.didClose || o.state == Reset || r.state == Reset ||
					o.state == Inactive || r.state == Inactive {
					c.set(isActive, false)
					c.set(removed, true)
					return
				}
			}
			if r.state == Inactive && o.state == Inactive {
				c.set(removed, true)
				return
			}
		}
		c.setTimer(k, now+tcpSessionTimer)
	}
}
