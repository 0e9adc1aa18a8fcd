package zeek

import "github.com/tcpfsm/tcpfsm/fsm"

// Conn follows one TCP connection as Zeek's TCP analyzer does. The zero
// value is not ready: use NewConn.
//
// Every followed connection has one, held by value (flow's slabs), so it
// is kept small: fields widest first, so that nothing is padded; the
// history's letters in 5 bits each; the scaled counters' thresholds as
// indexes; the timers' order as ranks; flags read only when a connection
// closes or a timer runs, in bits.
type Conn struct {
	ep [2]endpoint

	hist                [histWords]uint64 // histLen letters, see setLetter
	startTime, lastTime int64
	timerAt             [nTimers]int64

	histSeen   uint32
	timerOrder uint32 // each timer's rank in the order they were set, see setTimer

	orig            uint8 // index of the originator in ep
	origIsClient    bool
	isPartial       bool
	firstPacketSeen uint8 // 1: orig, 2: resp
	histLen         uint8
	timerSet        uint8 // a bit per timer
	inactivity      uint8 // the current inactivity timeout, an index in inactivityTimeouts
	flags           connFlags
}

// connFlags are the Conn's flags that only closing and the timers read.
type connFlags uint8

const (
	isActive         connFlags = 1 << iota // Connection::is_active (not reset or finished)
	closeDeferred                          // a close waits for pending data
	deferredGenEvent                       // the deferred close generates its event
	removed                                // a timer removed the connection
)

func (c *Conn) is(f connFlags) bool { return c.flags&f != 0 }

func (c *Conn) set(f connFlags, on bool) {
	if on {
		c.flags |= f
	} else {
		c.flags &^= f
	}
}

// Summary is a connection as conn.log shows it.
type Summary struct {
	State   string // conn_state
	History string
	// OrigIsClient is false when Zeek's originator is tcpfsm's server.
	OrigIsClient bool
	// Packet and IP byte counts per side (the ConnSize analyzer), without
	// the packets dropped for a bad checksum.
	OrigPkts, RespPkts, OrigIPBytes, RespIPBytes uint64
	// OrigBytes and RespBytes come from sequence numbers (TCP_Endpoint::Size).
	// Zeek logs them only when Duration > 0; HaveBytes says so.
	OrigBytes, RespBytes uint64
	HaveBytes            bool
	// Duration is last_time - start_time in nanoseconds. Zeek stops
	// advancing last_time once both sides have closed.
	Duration int64
	// OrigState and RespState are the endpoint states conn_state derives from.
	OrigState, RespState EndpointState
}

// NewConn returns the connection whose first packet is first; call Step(first)
// next. clientPort and serverPort are the ports of tcpfsm's client and
// server: first.Dir tells which one sent it. Zeek's originator is the sender
// of the first packet, unless that packet is not a bare SYN and
// TCPAnalyzer::WantConnection flips the roles by likely_server_ports: the
// source port is a likely server port and the destination is not, or both
// are and the packet carries no SYN and the source port is the lower.
func NewConn(first *fsm.Segment, clientPort, serverPort uint16, likely *Ports) *Conn {
	c := new(Conn)
	c.Start(first, clientPort, serverPort, likely)
	return c
}

// Reset makes c the new connection NewConn would return, reusing c's
// memory; nothing it returned before is changed.
func (c *Conn) Reset(first *fsm.Segment, clientPort, serverPort uint16, likely *Ports) {
	*c = Conn{}
	c.Start(first, clientPort, serverPort, likely)
}

// Start makes c, which must be the zero Conn, the connection NewConn
// would return, in memory the caller provides (flow's slabs). Neither
// clears the new memory again, for the reason fsm.Conn.Start gives: the
// write barrier's reads would map fresh pages to the zero page, and each
// first write after would cost a TLB flush on every core.
func (c *Conn) Start(first *fsm.Segment, clientPort, serverPort uint16, likely *Ports) {
	if likely == nil {
		likely = defaultPorts
	}
	c.flags, c.startTime, c.lastTime = isActive, first.Time, first.Time
	c.orig = 0
	c.ep[0].isOrig = true
	c.origIsClient = first.Dir == fsm.FromClient
	src, dst := clientPort, serverPort
	if first.Dir == fsm.FromServer {
		src, dst = serverPort, clientPort
	}
	f := first.Flags
	if f&fsm.SYN == 0 || f&fsm.ACK != 0 {
		flip := false
		if likely.Has(src) {
			if likely.Has(dst) {
				flip = f&fsm.SYN == 0 && src < dst
			} else {
				flip = true
			}
		}
		if flip {
			// Connection::FlipRoles before the analyzers exist: only
			// the addresses swap, and the history gets its '^'.
			c.origIsClient = !c.origIsClient
			c.addByte('^')
		}
	}
	// TCPSessionAdapter's constructor and TCPAnalyzer::MakeSessionAdapter.
	c.setTimer(tExpire0, first.Time+tcpSYNTimeout)
	c.setInactivityTimeout(udpInactivity)
}

func (c *Conn) o() *endpoint { return &c.ep[c.orig] }

func (c *Conn) r() *endpoint { return &c.ep[1-c.orig] }

func (c *Conn) peer(e *endpoint) *endpoint {
	if e == &c.ep[0] {
		return &c.ep[1]
	}
	return &c.ep[0]
}

// role returns the endpoint that sent seg.
func (c *Conn) sender(seg *fsm.Segment) *endpoint {
	if (seg.Dir == fsm.FromClient) == c.origIsClient {
		return c.o()
	}
	return c.r()
}

// Step feeds a segment in capture order. seg.Dir is relative to tcpfsm's
// client. badChecksum: the segment's TCP checksum is wrong and checksum
// validation is on; Zeek then records C/c (logarithmically) and ignores the
// segment otherwise (TCPAnalyzer::ValidateChecksum).
func (c *Conn) Step(seg *fsm.Segment, badChecksum bool) {
	c.StepCaptured(seg, badChecksum, seg.Len)
}

// StepCaptured is Step for a segment of which only captured payload bytes
// are in the capture (a snap length cut it short). Zeek hands only fully
// captured payload to its reassembler, so an acknowledgement of the rest
// later shows as a content gap (G/g); it also skips checksum validation
// for such a packet, so badChecksum should then be false.
func (c *Conn) StepCaptured(seg *fsm.Segment, badChecksum bool, captured int) {
	e := c.sender(seg)
	if badChecksum {
		if e.scaled.hit(scaledChecksum) {
			c.addLetter(e, 'C')
		}
		return
	}
	if c.histLen == 1 && c.letter(0) == 'H' && seg.Flags&(fsm.SYN|fsm.FIN|fsm.RST) == 0 &&
		(seg.Flags&fsm.ACK != 0 || seg.Len > 0) {
		// The connection began with a SYN/ACK that WantConnection did not
		// flip, and an ACK or data follows: Zeek (since 5.1, "flip
		// connections that begin with SYN-ACKs if subsequent acks or data
		// seen") takes the receiver of the SYN/ACK as originator, and
		// logs it as if flipped from the start ("^h...").
		c.lateFlip()
	}
	c.process(e, c.peer(e), seg, captured >= seg.Len)
	e.pkts++
	e.ipBytes += uint64(seg.IPLen)
}

// lateFlip turns a connection that so far holds only the originator's
// SYN/ACK(s) into one flipped when it was created.
func (c *Conn) lateFlip() {
	old := c.o()
	c.flipEndpoints()
	c.setLetter(0, '^')
	c.setLetter(1, 'h')
	c.histLen = 2
	c.histSeen = c.histSeen<<16 | c.histSeen>>16
	old.state, old.prevState = Established, Inactive
	c.clearTimer(tAttempt)
	c.setInactivityTimeout(tcpInactivity)
	c.isPartial = false
}

// flipEndpoints swaps the roles, as TCPSessionAdapter::FlipRoles does; the
// history's seen-masks stay by role (Connection::hist_seen is not flipped).
func (c *Conn) flipEndpoints() {
	c.orig ^= 1
	c.ep[0].isOrig, c.ep[1].isOrig = !c.ep[0].isOrig, !c.ep[1].isOrig
	c.origIsClient = !c.origIsClient
	fp := c.firstPacketSeen
	c.firstPacketSeen = (fp&1)<<1 | (fp&2)>>1
	c.isPartial = false
}

// flipRoles is Connection::FlipRoles inside the analyzer: swap, then '^'.
func (c *Conn) flipRoles() {
	c.flipEndpoints()
	c.addByte('^')
}

func isHandshake(s EndpointState) bool { return s == Inactive || s == SynSent || s == SynAckSent }

// setState is TCP_Endpoint::SetState: finishing the handshake switches the
// inactivity timeout from UDP's to TCP's.
func (c *Conn) setState(e *endpoint, st EndpointState) {
	if st == e.state {
		return
	}
	if !isHandshake(st) && isHandshake(e.state) && isHandshake(c.peer(e).state) {
		c.setInactivityTimeout(tcpInactivity)
	}
	e.prevState, e.state = e.state, st
}

// process is TCPSessionAdapter::Process for a packet with a good checksum.
func (c *Conn) process(e, p *endpoint, seg *fsm.Segment, complete bool) {
	f := seg.Flags
	syn, fin, rst, ack := f&fsm.SYN != 0, f&fsm.FIN != 0, f&fsm.RST != 0, f&fsm.ACK != 0
	n := seg.Len
	c.setPartialStatus(e.isOrig, syn, ack)

	segLen := n
	if syn {
		segLen++
	}
	if fin {
		segLen++
	}
	if rst {
		segLen -= n
	}
	onePast := seg.Seq + uint32(segLen)
	initEndpoint(e, syn, seg.Seq, onePast)
	relSeq, underflow := relativeSeq(e, seg.Seq, e.lastSeq, e.seqWraps)

	c.updateHistory(e, syn, fin, rst, ack, relSeq, n)
	// update_window: only the zero-window letter matters here.
	if seg.Window == 0 && !rst && p.state != Closed && e.state != Reset {
		if e.scaled.hit(scaledZeroWin) {
			c.addLetter(e, 'W')
		}
	}
	if !c.ep[0].didClose || !c.ep[1].didClose {
		c.lastTime = seg.Time
	}
	if fin {
		e.finCnt++
		e.finSeq = relSeq + uint64(segLen)
	}
	var relAck uint64
	if ack {
		if p.state == Inactive {
			relAck = 1
			// init_peer: number the peer as though its SYN was seen.
			p.startSeq, p.ackSeq, p.lastSeq = seg.Ack-1, seg.Ack-1, seg.Ack-1
		} else {
			r, under := relativeSeq(p, seg.Ack, p.ackSeq, p.ackWraps)
			if under {
				relAck = 0
			} else {
				relAck = r
				if !rst {
					// update_ack_seq
					d := seqDelta(seg.Ack, p.ackSeq)
					if !(seg.Ack == 0 && d > tooLargeSeqDelta) && d > 0 {
						p.updateAckSeq(seg.Ack)
					}
				}
			}
		}
	}
	deltaLast := c.updateLastSeq(e, onePast, syn, fin, rst, n)

	doClose, genEvent := c.updateStateMachine(seg.Time, e, p, seg, deltaLast)

	if ack {
		c.ackReceived(p, relAck)
	}
	if e.isOrig {
		c.firstPacketSeen |= 1
	} else {
		c.firstPacketSeen |= 2
	}
	relData := relSeq
	if syn {
		relData++
	}
	if n > 0 && !rst && !underflow && complete {
		// TCP_Endpoint::DataSent hands the payload to the reassembler
		// only when all of it was captured.
		c.dataSent(e, relData, uint64(n))
	}
	c.checkEOF(e)
	if doClose {
		c.connectionClosed(e, p, genEvent)
	}
}

// setPartialStatus is TCPSessionAdapter::SetPartialStatus.
func (c *Conn) setPartialStatus(isOrig, syn, ack bool) {
	if isOrig {
		if c.firstPacketSeen&1 == 0 {
			c.isPartial = !syn || ack
		}
	} else if c.firstPacketSeen&2 == 0 && !c.isPartial {
		c.isPartial = !syn
	}
}

// updateLastSeq is update_last_seq; a segment that advances nothing but
// carries data is a retransmission (T/t).
func (c *Conn) updateLastSeq(e *endpoint, last uint32, syn, fin, rst bool, n int) int32 {
	d := seqDelta(last, e.lastSeq)
	switch {
	case (syn || rst) && (d > tooLargeSeqDelta || d < -tooLargeSeqDelta):
	case fin && e.lastSeq == e.startSeq+1:
		e.updateLastSeq(last)
	case e.state == Reset:
	case d > 0:
		e.updateLastSeq(last)
	case n > 0:
		if e.scaled.hit(scaledRexmit) {
			c.addLetter(e, 'T')
		}
	}
	return d
}

// updateStateMachine is TCPSessionAdapter::UpdateStateMachine.
func (c *Conn) updateStateMachine(t int64, e, p *endpoint, seg *fsm.Segment, deltaLast int32) (doClose, genEvent bool) {
	f := seg.Flags
	syn, fin, rst, ack := f&fsm.SYN != 0, f&fsm.FIN != 0, f&fsm.RST != 0, f&fsm.ACK != 0
	isOrig := e.isOrig
	switch e.state {
	case Inactive:
		// UpdateInactiveState
		if syn {
			if isOrig {
				if ack {
					c.setState(e, SynAckSent)
				} else {
					c.setState(e, SynSent)
				}
				c.setTimer(tAttempt, t+tcpAttemptDelay)
			} else {
				if !ack && p.state == SynAckSent && seg.Seq == e.startSeq {
					// A SYN/SYN-ACK reversal: flip and establish.
					c.isPartial = false
					c.flipRoles()
					c.setState(p, Established)
					c.firstPacketSeen |= 1
				}
				if p.state == SynSent {
					c.setState(p, Established)
				}
				c.setState(e, Established)
			}
		}
		if fin {
			c.setState(e, Closed)
			doClose, genEvent = true, true
		}
		if rst {
			c.setState(e, Reset)
			reject := false
			if isOrig {
				// A SYN/ACK seen but no SYN: a reverse scan.
				reject = p.state == Established
			} else {
				reject = p.state == SynSent || p.state == SynAckSent
			}
			doClose, genEvent = true, !reject
		}
		if e.state == Inactive { // no control flags
			switch {
			case !isOrig && seg.Len == 0 && c.o().state == SynSent:
				// An ACK of the SYN ahead of the SYN/ACK: not partial.
			case ack && p.state == Established:
				// The SYN/ACK was seen and now its ACK: the SYN was missed.
				c.setState(e, Established)
				c.isPartial = false
				if isOrig {
					c.firstPacketSeen |= 1
				} else {
					c.firstPacketSeen |= 2
				}
			default:
				c.setState(e, Partial)
			}
		}
	case SynSent, SynAckSent:
		// UpdateSYN_SentState
		if fin {
			c.setState(e, Closed)
			doClose, genEvent = true, true
		}
		if rst {
			c.setState(e, Reset)
			c.set(isActive, false) // ConnectionReset
			doClose = true
		}
	case Established, Partial:
		// UpdateEstablishedState
		if syn && e.state == Partial && p.state == Inactive && !ack {
			c.setState(e, SynSent)
		}
		if fin && !rst {
			c.setState(e, Closed)
			if p.state == Reset && p.prevState == Closed {
				// The peer sent FIN then RST: a normal termination.
				c.setState(p, Closed)
			}
			doClose, genEvent = true, true
		}
		if rst {
			c.setState(e, Reset)
			doClose = true
			if p.state != Reset || p.prevState != Established {
				c.set(isActive, false) // ConnectionReset
			}
		}
	case Closed:
		// UpdateClosedState: a RST after our FIN, unless the peer closed too.
		if rst && p.state != Closed {
			c.setState(e, Reset)
			if !e.didClose {
				doClose = true
			}
			// Older sources arm it only with a connection_reset handler;
			// a btest of the snapshot ("resets after fins would expire
			// only after tcp_inactivity_timeout ... when no
			// connection_reset() handler was implemented") says it now
			// always runs.
			c.setTimer(tReset, t+tcpResetDelay)
		}
	case Reset:
		// UpdateResetState: weirds only.
	}
	return doClose, genEvent
}

// connectionClosed is TCPSessionAdapter::ConnectionClosed.
func (c *Conn) connectionClosed(e, p *endpoint, genEvent bool) {
	if c.dataPending(e) {
		c.set(closeDeferred, true)
		if !c.is(deferredGenEvent) {
			c.set(deferredGenEvent, genEvent)
		}
		return
	}
	c.set(closeDeferred, false)
	if e.didClose {
		return
	}
	e.didClose = true
	if e.state == Reset || p.didClose || p.state == Inactive {
		if e.prevState != Inactive || p.state != Inactive {
			if c.is(deferredGenEvent) {
				genEvent = true
				c.set(deferredGenEvent, false)
			}
			if genEvent {
				c.set(isActive, false) // ConnectionFinished
			}
		}
		c.cancelAnalyzerTimers()
		c.setTimer(tDelete, c.lastTime+tcpCloseDelay)
		return
	}
	if e.prevState != Inactive {
		// Look for the other side closing too.
		c.addExpire(c.lastTime + tcpSessionTimer)
	}
	// (A side's first packet being its FIN would arm a PartialCloseTimer,
	// but only with a connection_partial_close handler, which Zeek's base
	// scripts do not define.)
}

// Summary returns the connection as conn.log would log it now.
func (c *Conn) Summary() Summary {
	o, r := c.o(), c.r()
	s := Summary{
		History:      c.history(),
		OrigIsClient: c.origIsClient,
		OrigPkts:     o.pkts, RespPkts: r.pkts,
		OrigIPBytes: o.ipBytes, RespIPBytes: r.ipBytes,
		OrigBytes: o.size(r), RespBytes: r.size(o),
		Duration:  c.lastTime - c.startTime,
		OrigState: o.state, RespState: r.state,
	}
	s.HaveBytes = s.Duration > 0
	s.State = connState(o, r, s.History)
	return s
}

// connState is Conn::conn_state() in scripts/base/protocols/conn/main.zeek.
func connState(o, r *endpoint, history string) string {
	os, rs := o.state, r.state
	oInactive := os == Inactive || os == Partial
	rInactive := rs == Inactive || rs == Partial
	switch {
	case rs == Reset:
		switch {
		case os == SynSent || os == SynAckSent || (os == Reset && o.size(r) == 0 && r.size(o) == 0):
			return "REJ"
		case oInactive:
			return "RSTRH"
		default:
			return "RSTR"
		}
	case os == Reset:
		if rInactive {
			if rstos0History(history) {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case rs == Closed && os == Closed:
		return "SF"
	case os == Closed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rs == Closed:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case os == SynSent && rs == Inactive:
		return "S0"
	case os == Established && rs == Established:
		return "S1"
	}
	return "OTH"
}
