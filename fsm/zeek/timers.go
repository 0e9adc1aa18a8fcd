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
	for !c.removed {
		k := -1
		for i := 0; i < nTimers; i++ {
			if c.timerSet&(1<<i) == 0 || c.timerAt[i] > now {
				continue
			}
			if k < 0 || c.timerAt[i] < c.timerAt[k] || c.timerAt[i] == c.timerAt[k] && c.timerSeq[i] < c.timerSeq[k] {
				k = i
			}
		}
		if k < 0 {
			break
		}
		c.clearTimer(k)
		c.dispatch(k, now)
	}
	return c.removed
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

func (c *Conn) setTimer(k int, at int64) {
	c.seq++
	c.timerAt[k], c.timerSeq[k] = at, c.seq
	c.timerSet |= 1 << k
}

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

// setInactivityTimeout is Session::SetInactivityTimeout.
func (c *Conn) setInactivityTimeout(d int64) {
	if d == c.inactivity {
		return
	}
	c.clearTimer(tInactivity)
	if d != 0 {
		c.setTimer(tInactivity, c.lastTime+d)
	}
	c.inactivity = d
}

func (c *Conn) dispatch(k int, now int64) {
	o, r := c.o(), c.r()
	switch k {
	case tAttempt:
		if c.isActive && (o.state == SynSent || o.state == SynAckSent) && r.state == Inactive {
			c.isActive = false
			c.removed = true
		}
	case tReset:
		if c.isActive {
			c.removed = true
		}
	case tDelete:
		c.removed = true
	case tInactivity:
		if c.lastTime+c.inactivity <= now {
			c.removed = true
		} else {
			c.setTimer(tInactivity, c.lastTime+c.inactivity)
		}
	default: // ExpireTimer
		if !c.isActive {
			return
		}
		if c.lastTime+tcpConnectionLinger < now {
			if o.didClose || r.didClose {
				if o.didClose && r.didClose || o.state == Reset || r.state == Reset ||
					o.state == Inactive || r.state == Inactive {
					c.isActive = false
					c.removed = true
					return
				}
			}
			if r.state == Inactive && o.state == Inactive {
				c.removed = true
				return
			}
		}
		c.setTimer(k, now+tcpSessionTimer)
	}
}
