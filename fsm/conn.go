package fsm

import (
	"fmt"
	"strconv"
)

// endpoint is what the observer knows about one side of a connection: its
// inferred state and the sequence space it sends.
type endpoint struct {
	// Fields are ordered so that the struct packs: two are in every
	// connection.
	state State
	dir   Dir
	tx    direction // what this endpoint sends

	isn        seq  // initial sequence number, valid when sentSYN
	finSeq     seq  // sequence number of the FIN, valid when sentFIN
	sentSYN    bool // sent a SYN (bare or SYN/ACK)
	sentFIN    bool
	sentRST    bool
	synAcked   bool       // the peer acknowledged this side's SYN
	finAcked   bool       // the peer acknowledged this side's FIN
	gotSYN     bool       // this side has received the peer's SYN (it acknowledged it)
	gotFIN     bool       // this side has received the peer's FIN
	passive    bool       // entered the connection from LISTEN (RFC 9293 section 3.10.7.4 returns it there on RST)
	spoke      bool       // sent a segment without SYN or RST: proof it is synchronized
	droppedAck bool       // resent its SYN/ACK after the peer's ACK: its ACKs must be proven, not assumed
	nSent      uint8      // handshake transmissions (see counted), up to MaxSYNTimes
	synOpts    synOptions // options on this side's first SYN or SYN/ACK
	bareSYNs   uint16
	synAcks    uint16
	lastSYN    int64 // time of the latest handshake transmission (see counted)
	firstSent  int64 // time of the first handshake transmission (see counted)
	finTime    int64
	closeTime  int64 // when this side reached TIME_WAIT or CLOSED
	// closeWaitAt is when this side received the peer's FIN while open
	// (entered CLOSE_WAIT), for diagnoses.
	closeWaitAt int64

	packets, bytes, ipBytes uint64
	retransmits             uint32
}

// counted reports whether seg, a SYN or SYN/ACK from e, is one of the
// handshake transmissions e's retransmit count is made of: the client's
// bare SYNs (Result.SynRetransmits) or the server's SYN/ACKs
// (SynAckRetransmits). Their times (Side.SYNTimes) are the retry schedule
// and the start of a handshake round trip; the other kind, the client's
// SYN/ACK or the server's bare SYN of a simultaneous open, answers the
// peer and is no retry.
func (e *endpoint) counted(seg *Segment) bool {
	return (seg.Flags&ACK != 0) == (e.dir == FromServer)
}

// Conn is the observer's view of one TCP connection. The zero value is not
// ready: use NewConn. A Conn is not safe for concurrent use.
type Conn struct {
	ep [2]endpoint // indexed by Dir

	first, last   int64 // first and latest segment time, Unix nanoseconds
	establishedAt int64 // when the client first acknowledged the server's SYN
	rttClient     int64 // SYN -> SYN/ACK, -1 when not measured
	rttServer     int64 // SYN/ACK -> ACK, -1 when not measured

	rare *rare // nil until a retry, probe, stall or anomaly needs it

	midstream         bool // no SYN from the client was seen before other segments
	simultaneousOpen  bool
	simultaneousClose bool
	halfClose         bool
	closedEarly       bool // a side sent FIN from SYN_RCVD (RFC 9293 section 3.10.4)
	established       bool // some side reached ESTABLISHED (or was assumed there)
	reused            bool // an earlier connection used the same 5-tuple
	synWithData       bool
	refused           bool
	resetBy           int8  // -1: no accepted RST; else the Dir of the first accepted RST
	resetFrom         State // state of the resetting side when it sent the RST
	resetPeerState    State // state of the other side when the RST arrived

	before, via [2]State // during Step: a state each side passed through, for StepResult
}

// NewConn returns a connection whose first segment is seg; it does not step
// it: call Step(seg) next. A connection that starts with a bare SYN starts
// with the client CLOSED and the server LISTEN. Anything else was picked up
// mid-stream: both sides are taken to be ESTABLISHED, except for a first
// SYN/ACK, which still lets the handshake be followed from the client's
// SYN_SENT.
func NewConn(seg *Segment) *Conn {
	c := new(Conn)
	c.Start(seg)
	return c
}

// Reset makes c a new connection whose first segment is seg, as NewConn
// does, reusing c's memory: a table that ends connections by the million
// recycles their state machines instead of leaving them to the collector.
// Nothing c returned before (a Result's anomalies) is changed.
func (c *Conn) Reset(seg *Segment) {
	*c = Conn{}
	c.Start(seg)
}

// Start makes c, which must be the zero Conn, a new connection whose first
// segment is seg, as NewConn does, in memory the caller provides: flow
// keeps its connections' state machines by value, in slabs, and starts
// those of a fresh slot with Start, one that held a connection with Reset.
// Neither NewConn nor Start clears the new, already zero, memory again:
// while the collector marks, the write barrier of a struct assignment
// first reads the pointer fields it overwrites, and a read is what maps a
// fresh page to the kernel's shared zero page, which the write that
// follows must then replace, interrupting every other core running the
// process to flush its TLB. With -j 2 on a capture of 350,000
// connections that was a tenth of the CPU time.
func (c *Conn) Start(seg *Segment) {
	c.resetBy, c.rttClient, c.rttServer = -1, -1, -1
	c.first, c.last = seg.Time, seg.Time
	c.ep[FromServer].passive = true
	c.ep[FromClient].dir, c.ep[FromServer].dir = FromClient, FromServer
	c.ep[FromClient].tx.wscale, c.ep[FromServer].tx.wscale = wscaleUnseen, wscaleUnseen
	switch {
	case seg.Flags&(SYN|ACK|RST) == SYN && seg.Dir == FromClient:
		c.ep[FromClient].state = Closed
		c.ep[FromServer].state = Listen
	case seg.Flags&(SYN|ACK|RST) == SYNACK && seg.Dir == FromServer:
		c.midstream = true
		c.ep[FromClient].state = SynSent
		c.ep[FromClient].sentSYN = true
		c.ep[FromClient].isn = seg.ackNum() - 1
		c.ep[FromClient].tx.start(seg.ackNum())
		c.ep[FromServer].state = Listen
	default:
		c.midstream, c.established = true, true
		c.ep[FromClient].state = Established
		c.ep[FromServer].state = Established
		c.ep[FromClient].gotSYN, c.ep[FromServer].gotSYN = true, true
		c.ep[FromClient].synAcked, c.ep[FromServer].synAcked = true, true
	}
}

// StepResult tells what one segment was and what it did.
type StepResult struct {
	Kind          Kind
	Before, After [2]State // indexed by Dir
	// Via is a state a side passed through on the way from Before to
	// After (FIN_WAIT_1 → CLOSING → TIME_WAIT when one segment proves both
	// the peer's FIN and the ACK of ours), or Unknown.
	Via [2]State
	// Events are the connection-wide moments this segment caused.
	Events Event
	// Noted: this segment was the first occurrence of one of the
	// connection's anomalies (Result.Anomalies holds its time and side).
	Noted bool
	// Rule is what decided the segment's effect on its receiver where it
	// was not simply taken: a RST or SYN answered with a challenge ACK, a
	// segment dropped, a RST taken on trust or found not accepted.
	Rule Rule
	// ThenRule is a second rule the same step applied, after Rule, or
	// RuleNone: the segment that showed its sender had not taken a RST
	// (Rule is RuleRSTNotAccepted, which undid the reset) was itself
	// dropped by its receiver (RuleBeyondWindow, RuleSYNChallenged,
	// RuleACKUnacceptable). Both decided something: the first the
	// connection's fate, the second the segment's.
	ThenRule Rule
}

// enter moves e to state st, remembering the state it leaves if e already
// changed state during this step. Reaching ESTABLISHED is recorded here,
// not from the states a step ends in: one segment can carry a side through
// ESTABLISHED and on (the handshake ACK that also acknowledges a FIN sent
// from SYN_RCVD leaves the client in CLOSE_WAIT).
func (c *Conn) enter(e *endpoint, st State) {
	if e.state == st {
		return
	}
	if e.state != c.before[e.dir] {
		c.via[e.dir] = e.state
	}
	e.state = st
	if st == Established {
		c.established = true
	}
}

// Step feeds one segment, in capture order, and returns its classification,
// the states of both sides before and after it, and the events it caused.
func (c *Conn) Step(seg *Segment) StepResult {
	if seg.Flags&(SYN|FIN|RST) == 0 && c.established && !(c.ep[0].sentFIN && c.ep[1].sentFIN) && (c.rare == nil || c.rare.dropped == nil) {
		// The data phase, most segments: nothing here can cause an event
		// (see events), so skip comparing milestones. (An acknowledgement
		// taking back a FIN dropped beyond the window can, see takeBack.)
		return c.step(seg)
	}
	was := c.milestones()
	res := c.step(seg)
	res.Events = c.events(was, seg, res.Kind)
	return res
}

// anomalyKinds is how many anomalies the connection has noted: one more
// after a step means the step was an anomaly's first occurrence.
func (c *Conn) anomalyKinds() int {
	if c.rare == nil {
		return 0
	}
	return len(c.rare.anomalies)
}

func (c *Conn) step(seg *Segment) StepResult {
	e, p := &c.ep[seg.Dir], &c.ep[1-seg.Dir]
	res := StepResult{Before: [2]State{c.ep[0].state, c.ep[1].state}}
	c.before, c.via = res.Before, [2]State{}
	kinds := c.anomalyKinds()
	if seg.Time > c.last {
		c.last = seg.Time
	}
	e.packets++
	e.ipBytes += uint64(seg.IPLen)

	if bad := invalidFlags(seg.Flags); bad != "" {
		if a := c.note(AnomalyInvalidFlags, seg); a != nil {
			a.Detail = bad
		}
	}
	if seg.Flags&RST != 0 {
		res.Kind = KindReset
		var accepted bool
		accepted, res.Rule = c.reset(e, p, seg)
		if accepted {
			// A RST its receiver drops (RFC 5961 section 3.2, RFC 9293
			// sections 3.10.7.3-4) is an anomaly and nothing else: its
			// bytes are not its sender's, and it ends no unanswered tail
			// of the receiver's, whose timers run on (it may be a blind
			// attacker's, not the peer's).
			e.bytes += uint64(seg.Len)
			c.gather(e, p, seg, res.Kind)
		}
		return c.stepped(res, kinds)
	}
	if c.rare != nil && c.rare.trusted.active && seg.Dir != c.rare.trusted.by {
		// The receiver of a RST taken on trust sends again: it never
		// acted on the RST.
		c.untrustReset(seg)
		res.Rule = RuleRSTNotAccepted
	}
	if c.resetBy >= 0 {
		if a := c.note(AnomalySegmentAfterReset, seg); a != nil {
			a.Detail = fmt.Sprintf("%s %s after the %s's RST", seg.Dir, seg.Flags, Dir(c.resetBy))
		}
	}
	if seg.Flags&SYN == 0 && p.packets == 0 {
		c.inferUnseen(e, p, seg)
	}
	if rule := c.unacceptable(e, p, seg); rule != RuleNone {
		// Dropped by its receiver: it takes no place in the sender's
		// sequence space, counts no bytes and moves no state.
		if res.Rule == RuleNone {
			res.Rule = rule
		} else {
			res.ThenRule = rule
		}
		return c.stepped(res, kinds)
	}
	tookBack := false
	if seg.Flags&ACK != 0 {
		// Before classify reads the acknowledgement: what it covers of
		// the segments p sent beyond e's window, e took.
		tookBack = c.takeBack(p, e, seg)
	}
	e.bytes += uint64(seg.Len)

	res.Kind = c.classify(e, p, seg)
	if seg.Flags&SYN == 0 {
		e.spoke = true
		if e.state == SynRcvd && e.synAcked && e.gotSYN {
			// Sending an ordinary segment proves SYN_RCVD took the ACK
			// of its SYN (needed after a dropped ACK, see droppedAck).
			c.enter(e, Established)
			if e.droppedAck {
				c.rareFor(e.dir)
				c.rare.establishedAt[e.dir] = seg.Time
			}
		}
	}
	if seg.Flags&SYN != 0 {
		c.sendSYN(e, p, seg, &res.Kind)
	}
	if seg.Flags&ACK != 0 {
		c.receiveEvidence(e, p, seg)
	}
	if seg.Flags&FIN != 0 {
		c.sendFIN(e, p, seg, res.Kind)
	}
	if seg.Len > 0 {
		c.checkData(e, p, seg)
	}
	c.gather(e, p, seg, res.Kind)
	res = c.stepped(res, kinds)
	res.Noted = res.Noted || tookBack
	return res
}

// stepped completes res, the result of a step begun when the connection
// had noted kinds anomalies: both sides' states after it, those passed
// through, and whether it noted an anomaly first.
func (c *Conn) stepped(res StepResult, kinds int) StepResult {
	res.After, res.Via = [2]State{c.ep[0].state, c.ep[1].state}, c.via
	res.Noted = c.anomalyKinds() > kinds
	return res
}

// StepBadChecksum counts a segment whose checksum is wrong. The receiving
// TCP drops such a segment before looking at it (RFC 9293 section 3.10.7),
// so it moves no state and takes no place in the sequence space.
func (c *Conn) StepBadChecksum(seg *Segment) StepResult {
	e := &c.ep[seg.Dir]
	e.packets++
	e.ipBytes += uint64(seg.IPLen)
	if seg.Time > c.last {
		c.last = seg.Time
	}
	if a := c.note(AnomalyBadChecksum, seg); a != nil {
		a.Detail = seg.Flags.String() + " segment from the " + seg.Dir.String() + " ignored"
	}
	states := [2]State{c.ep[0].state, c.ep[1].state}
	return StepResult{Before: states, After: states}
}

// invalidFlags names a flag combination no conforming TCP sends.
func invalidFlags(f Flags) string {
	switch {
	case f.Has(SYN | FIN):
		return "SYN and FIN together"
	case f.Has(SYN | RST):
		return "SYN and RST together"
	case f&(SYN|FIN|RST|ACK|PSH|URG) == 0:
		return "no flags set"
	case f&FIN != 0 && f&ACK == 0:
		return "FIN without ACK"
	}
	return ""
}

// sendSYN applies what sending a SYN or SYN/ACK means for the sender
// (RFC 9293 section 3.10.1 OPEN, section 3.10.7.2 LISTEN, figure 8 for the
// simultaneous open).
func (c *Conn) sendSYN(e, p *endpoint, seg *Segment, kind *Kind) {
	isSYNACK := seg.Flags&ACK != 0
	switch {
	case isSYNACK && c.rare != nil && c.rare.ev[e.dir].halfOpenPending:
		// The first SYN/ACK of a new request socket, after an ICMP error
		// made Linux drop the last (see dropHalfOpen): a new ISN, no
		// resend, and the start of a new retry schedule.
		c.rare.ev[e.dir].halfOpenPending = false
		e.isn, e.nSent = seg.seqNum(), 0
	case !e.sentSYN:
		e.sentSYN, e.isn = true, seg.seqNum()
		if seg.Len > 0 {
			c.synWithData = true
		}
	case seg.seqNum() == e.isn:
		if !isSYNACK || e.synAcks > 0 {
			// (A first SYN/ACK after our own bare SYN is the answer of
			// a simultaneous open, not a resend.)
			*kind |= KindSynRetransmission
		}
	case isSYNACK:
		if a := c.note(AnomalySynAckISNChanged, seg); a != nil {
			a.Detail = fmt.Sprintf("SYN/ACK ISN %d, earlier %d", seg.Seq, e.isn)
		}
		e.isn = seg.seqNum()
	default:
		if a := c.note(AnomalySynISNChanged, seg); a != nil {
			a.Detail = fmt.Sprintf("SYN ISN %d, earlier %d", seg.Seq, e.isn)
		}
		e.isn = seg.seqNum()
	}
	if e.counted(seg) {
		e.lastSYN = seg.Time
	}

	if !isSYNACK {
		e.bareSYNs++
		if p.bareSYNs > 0 {
			c.simultaneousOpen = true
		}
		// OPEN in CLOSED, or SEND in LISTEN (RFC 9293 section 3.10.1).
		if e.state == Closed || e.state == Listen || e.state == Unknown {
			c.enter(e, SynSent)
			e.passive = false
		}
		return
	}
	e.synAcks++
	if e.synAcks == 1 && seg.Dir == FromServer && p.bareSYNs > 0 && c.rttClient < 0 {
		// A SYN/ACK answers a bare SYN: p.lastSYN is the client's latest.
		// In a simultaneous open the client has by now also sent its own
		// SYN/ACK, answering our SYN; the two SYN/ACKs cross (RFC 9293
		// figure 8), and the time between them is no round trip. A client
		// whose SYN was not captured has nothing to measure from.
		c.rttClient = seg.Time - p.lastSYN
	}
	switch {
	case e.synAcks > 1 && e.synAcked && !c.simultaneousOpen && seg.seqNum() == e.isn:
		// The peer acknowledged our SYN, yet we send it again: we never
		// took that ACK. Back to SYN_RCVD (Linux keeps the request socket
		// when the accept queue is full and tcp_abort_on_overflow=0).
		if a := c.note(AnomalySynAckAfterAck, seg); a != nil {
			a.Detail = fmt.Sprintf("SYN/ACK #%d sent %s after the %s's ACK", e.synAcks, fmtDur(seg.Time-c.establishedAt), Dir(1-seg.Dir))
		}
		if e.state == Established {
			c.enter(e, SynRcvd)
		}
		e.synAcked, e.droppedAck = false, true
	case e.synAcked && c.simultaneousOpen && e.state == SynSent:
		// Crossing SYN/ACKs of a simultaneous open: sending ours means
		// we were in SYN_RCVD; the peer's SYN/ACK, already seen, arrives
		// after it (RFC 9293 figure 8, lines 4-6).
		c.enter(e, SynRcvd)
		c.enter(e, Established)
	}
}

// receiveEvidence applies what an acknowledgement from e proves and what e's
// segment does on arrival at p. Order matters: first what e had received
// (its ACK covers p's SYN or FIN), then what p receives.
func (c *Conn) receiveEvidence(e, p *endpoint, seg *Segment) {
	// e received p's SYN: it acknowledges it (RFC 9293 section 3.10.7.2-3).
	if p.sentSYN && !e.gotSYN && p.isn.lessThan(seg.ackNum()) {
		e.gotSYN = true
		switch e.state {
		case Listen, Closed, Unknown:
			c.enter(e, SynRcvd)
		case SynSent:
			if e.synAcked && seg.Flags&SYN == 0 {
				// Client in SYN_SENT got SYN/ACK and ACKs it.
				c.enter(e, Established)
				if seg.Dir == FromClient {
					c.establishedAt = seg.Time
					if p.synAcks > 0 {
						c.rttServer = seg.Time - p.lastSYN
					}
				}
			} else {
				// SYN_SENT receives a bare SYN: simultaneous open, figure 8.
				c.enter(e, SynRcvd)
			}
		}
	}
	// p receives our acknowledgement of its SYN. A side that already
	// dropped such an ACK once must show it took this one (see Step).
	if p.sentSYN && !p.synAcked && p.isn.lessThan(seg.ackNum()) {
		p.synAcked = true
		if p.state == SynRcvd && !p.droppedAck {
			c.enter(p, Established)
			if seg.Dir == FromClient && c.establishedAt == 0 {
				c.establishedAt = seg.Time
			}
		}
	}
	// A later segment from e reaching p carries e's FIN before it (TCP
	// delivers in order), so p has received that FIN too.
	if e.sentFIN && !p.gotFIN && e.finSeq.lessThan(seg.seqNum()) {
		c.receiveFIN(p, e, seg.Time)
	}
	// e received p's FIN: it acknowledges it.
	if p.sentFIN && !e.gotFIN && p.finSeq.lessThan(seg.ackNum()) {
		c.receiveFIN(e, p, seg.Time)
	}
	// p receives our acknowledgement of its FIN.
	if p.sentFIN && !p.finAcked && p.finSeq.lessThan(seg.ackNum()) {
		p.finAcked = true
		switch p.state {
		case FinWait1:
			c.enter(p, FinWait2)
		case Closing:
			c.enter(p, TimeWait)
			p.closeTime = seg.Time
		case LastAck:
			c.enter(p, Closed)
			p.closeTime = seg.Time
		}
	}
}

// receiveFIN moves r, which has just received s's FIN, along RFC 9293
// section 3.10.7.4 "eighth, check the FIN bit".
func (c *Conn) receiveFIN(r, s *endpoint, now int64) {
	r.gotFIN = true
	switch r.state {
	case SynRcvd, Established:
		c.enter(r, CloseWait)
		r.closeWaitAt = now
	case FinWait1:
		if r.finAcked {
			c.enter(r, TimeWait)
			r.closeTime = now
		} else {
			c.enter(r, Closing)
			c.simultaneousClose = true
		}
	case FinWait2:
		c.enter(r, TimeWait)
		r.closeTime = now
	}
}

// sendFIN applies the sender's CLOSE (RFC 9293 section 3.10.4).
func (c *Conn) sendFIN(e, p *endpoint, seg *Segment, kind Kind) {
	finSeq := seg.seqNum().add(seqSize(seg.Len))
	if seg.Flags&SYN != 0 {
		finSeq++
	}
	if e.sentFIN {
		if finSeq == e.finSeq {
			return // a retransmitted FIN, counted by classify
		}
		if finSeq.lessThan(e.finSeq) {
			return
		}
	}
	e.sentFIN, e.finSeq, e.finTime = true, finSeq, seg.Time
	switch e.state {
	case SynRcvd:
		c.closedEarly = true
		c.enter(e, FinWait1)
	case Established:
		c.enter(e, FinWait1)
	case CloseWait:
		c.enter(e, LastAck)
	case SynSent:
		// CLOSE in SYN_SENT deletes the TCB and sends nothing; a FIN here
		// is the peer's business only if it ever acknowledges it.
		c.enter(e, FinWait1)
		c.closedEarly = true
	}
}

// checkData looks at payload against the sender's progress.
func (c *Conn) checkData(e, p *endpoint, seg *Segment) {
	if (e.state == SynSent || e.state == SynRcvd) && seg.Flags&SYN == 0 {
		if a := c.note(AnomalyDataBeforeHandshake, seg); a != nil {
			a.Detail = fmt.Sprintf("%d bytes from the %s in %s", seg.Len, seg.Dir, e.state)
		}
	}
	if e.sentFIN && e.finSeq.lessThan(seg.seqNum().add(seqSize(seg.Len))) && seg.Flags&FIN == 0 {
		if a := c.note(AnomalyDataAfterFIN, seg); a != nil {
			a.Detail = fmt.Sprintf("%d bytes at seq %d, FIN was at %d", seg.Len, seg.Seq, e.finSeq)
		}
	}
	if p.sentFIN && !e.sentFIN {
		// Data still flowing towards a side that already closed: a
		// half-close (RFC 9293 section 3.6).
		c.halfClose = true
	}
}

// unacceptable applies RFC 9293 section 3.10.7's tests that make a
// receiver drop a segment other than a RST before it can change anything,
// and says which one did (RuleNone: the segment goes on to be taken):
//
//   - In SYN_SENT, an ACK that does not acknowledge the SYN
//     (section 3.10.7.3, "first check the ACK bit"): the receiver answers
//     with a RST whose sequence number is that ACK's acknowledgement
//     number, and stays in SYN_SENT. It is a stray ACK (an old
//     connection's, a middlebox's), not the peer's answer.
//   - A SYN reaching a synchronized side (RFC 5961 section 4, which RFC
//     9293 section 3.10.7.4 "fourth, check the SYN bit" adopts): answered
//     with a challenge ACK, whatever its sequence number, and otherwise
//     ignored. It is no handshake transmission and starts no sequence space.
//     TIME_WAIT is left out: a SYN there may open a new connection (RFC
//     6191), which the flow table decides (IsNewAttempt). So is a
//     connection picked up mid-stream, whose states were only assumed.
//   - A segment beyond a synchronized receiver's window (section 3.10.7.4,
//     "first, check sequence number"; see beyondWindow): answered with an
//     ACK and dropped. It moves neither the sender's highest sequence
//     number nor its retransmission count, and its bytes are not counted.
func (c *Conn) unacceptable(e, p *endpoint, seg *Segment) Rule {
	switch {
	case seg.Flags&ACK != 0 && p.state == SynSent && !p.gotSYN && !synSentAcceptsAck(p, seg.ackNum()):
		c.rareFor(p.dir)
		c.rare.badAck[p.dir], c.rare.badAckValid[p.dir] = seg.ackNum(), true
		if a := c.note(AnomalyACKUnacceptable, seg); a != nil {
			a.Detail = fmt.Sprintf("%s from the %s acknowledges %d, the %s's SYN was %d: the %s stays in SYN_SENT", seg.Flags, seg.Dir, seg.Ack, p.dir, p.isn, p.dir)
		}
		return RuleACKUnacceptable
	case seg.Flags&(SYN|ACK) == SYN && !c.midstream && p.state.Synchronized() && p.state != TimeWait:
		c.rareFor(e.dir)
		c.rare.synChallenged = true
		if a := c.note(AnomalySYNOnSynchronized, seg); a != nil {
			a.Detail = fmt.Sprintf("SYN seq %d from the %s reached the %s in %s: challenge ACK", seg.Seq, seg.Dir, p.dir, p.state)
		}
		return RuleSYNChallenged
	case c.beyondWindow(e, p, seg):
		return RuleBeyondWindow
	}
	return RuleNone
}

// beyondWindow applies RFC 9293 section 3.10.7.4's acceptability test
// ("first, check sequence number", see acceptable) to seg, sent by e to p,
// and reports, noting the anomaly, a segment p drops as lying beyond its
// window. p answers it with an ACK (RFC 9293: "If an incoming segment is
// not acceptable, an acknowledgment should be sent in reply (unless the
// RST bit is set ...) After sending the acknowledgment, drop the
// unacceptable segment"; Linux tcp_validate_incoming, tcp_send_dupack).
//
// The observer does not know p's RCV.NXT, only bounds on it: at least the
// latest acknowledgement p sent, and more if p has received e's later
// segments without acknowledging them yet. The window's right edge stays
// where p advertised it, RCV.NXT plus RCV.WND at that acknowledgement
// (RCV.WND shrinks as data arrives; Linux accepts up to rcv_wup + rcv_wnd
// until it sends its next ACK), and it is the largest edge p advertised,
// not the latest (direction.rightEdge): RFC 9293 section 3.8.6 asks a
// receiver not to shrink its window, and a sender that saw the larger
// edge may have sent up to it. A segment is called unacceptable only when
// no RCV.NXT within those bounds would take it:
//
//   - One acceptable at p's latest acknowledgement is taken.
//   - One that ends before it (an old duplicate) is unacceptable as well,
//     and answered with an ACK, but its sender did send that data again:
//     it stays the retransmission classify finds (Linux counts it in
//     TcpRetransSegs; Wireshark calls it one). Only a segment beyond the
//     window has no place in the sequence space.
//   - A segment of no length at the right edge is acceptable once RCV.NXT
//     has reached the edge and the window closed (the first case).
//   - Anything else starts at or past the right edge: unacceptable.
//
// Keepalives and zero-window probes are unacceptable by the test too (a
// probe into a zero window has SEG.LEN > 0), and drawing that ACK is what
// they are for: they stay what classify finds them. SYNs and RSTs have
// their own rules (unacceptable's SYN case, sendSYN; rstCheck). The test
// is applied only where the window is known: p acknowledged something
// (RCV.NXT), its window was seen, and its scale is known (see
// direction.window: a connection picked up mid-stream may not know it);
// elsewhere no segment is called unacceptable. It is applied to
// synchronized receivers only (section 3.10.7.4 "Otherwise"; SYN_RCVD,
// whose ACK of the handshake may not have been seen, is left out).
// Linux's PAWS check (RFC 7323 section 5), which drops segments by their
// timestamps before this test, is not applied: the observer does not
// read timestamp values.
func (c *Conn) beyondWindow(e, p *endpoint, seg *Segment) bool {
	if seg.Flags&(SYN|RST) != 0 || !p.state.Synchronized() || !p.tx.ackValid {
		return false
	}
	edge, known := p.tx.rightEdge(&e.tx)
	if !known || keepaliveShaped(&e.tx, &p.tx, seg) || zeroWindowProbeShaped(&e.tx, &p.tx, seg) {
		return false
	}
	rcvNxt, n := p.tx.ack, seg.seqLen()
	wnd := rcvNxt.size(edge)
	if acceptable(seg.seqNum(), n, rcvNxt, wnd) || seg.seqNum().lessThan(rcvNxt) {
		return false
	}
	if n == 0 && seg.seqNum() == edge {
		return false
	}
	if a := c.note(AnomalySegmentBeyondWindow, seg); a != nil {
		a.Detail = fmt.Sprintf("%s seq %d len %d from the %s is the %s's RCV.NXT+%d, past its window of %d: dropped and answered with an ACK",
			seg.Flags, seg.Seq, seg.Len, seg.Dir, p.dir, rcvNxt.size(seg.seqNum()), wnd)
	}
	c.rememberDrop(e, seg)
	return true
}

// inferUnseen reads the handshake segment of a peer p that the capture has
// never shown (it holds one direction only: a span port, an asymmetric
// route) from e's segment seg, other than a SYN, where only that segment
// proves it:
//
//   - A listener in SYN_RCVD sends nothing but its SYN/ACK until it takes
//     the client's ACK (RFC 9293 section 3.10.7.4: data is queued until
//     ESTABLISHED; Linux sends none from a request socket): its first other
//     segment shows the client acknowledged the SYN/ACK.
//   - A client in SYN_SENT acknowledges nothing before a SYN/ACK (RFC 9293
//     section 3.10.7.3): its first ACK shows the server's SYN/ACK, whose
//     ISN is that acknowledgement number less one.
//
// Both sides are then synchronized, and the connection is one_sided.
func (c *Conn) inferUnseen(e, p *endpoint, seg *Segment) {
	switch {
	case e.passive && e.state == SynRcvd && e.gotSYN && !e.synAcked && !e.droppedAck && p.state == SynSent:
		e.synAcked, p.gotSYN = true, true
		c.enter(p, Established)
		c.midstream = false // the SYN/ACK showed the SYN, this segment the ACK
		if c.establishedAt == 0 {
			c.establishedAt = seg.Time
		}
	case !e.passive && e.state == SynSent && e.sentSYN && !e.gotSYN && seg.Flags&ACK != 0 && !p.sentSYN:
		p.sentSYN, p.isn, p.gotSYN, e.synAcked = true, seg.ackNum()-1, true, true
		p.tx.start(seg.ackNum())
		c.enter(p, SynRcvd) // receiveEvidence takes both on to ESTABLISHED
	default:
		return
	}
	c.rareFor(e.dir)
	c.rare.oneSided = true
}

// synSentAcceptsAck applies the SYN_SENT acceptability test to an
// acknowledgement number: SND.UNA < SEG.ACK =< SND.NXT (RFC 9293 section
// 3.10.7.3), where SND.UNA is the ISN.
func synSentAcceptsAck(e *endpoint, ack seq) bool {
	if !e.sentSYN {
		return true // nothing known to test against
	}
	return e.isn.lessThan(ack) && (!e.tx.valid || ack.lessThanEq(e.tx.nxt))
}

// reset applies a RST from e and returns whether its receiver took it and
// the rule that decided it (RFC 9293 section 3.10.7.3 for SYN_SENT;
// section 3.10.7.4 "first, check sequence number" and "second, check the
// RST bit" with RFC 5961 section 3.2's exact match elsewhere; see
// rstCheck).
func (c *Conn) reset(e, p *endpoint, seg *Segment) (accepted bool, rule Rule) {
	accept, rule := c.rstCheck(e, p, seg)
	if !accept {
		return false, rule
	}
	e.sentRST = true
	if c.resetBy >= 0 {
		return true, rule // already reset; later RSTs change nothing
	}
	if rule == RuleRSTUnknownRcvNxt {
		c.rareFor(e.dir)
		c.rare.trusted = trustedReset{active: true, by: e.dir,
			states:     [2]State{c.ep[0].state, c.ep[1].state},
			closeTimes: [2]int64{c.ep[0].closeTime, c.ep[1].closeTime}}
	}
	c.resetBy = int8(seg.Dir)
	c.resetFrom, c.resetPeerState = e.state, p.state
	switch {
	case p.state == SynSent && e.synAcks == 0 && e.bareSYNs == 0:
		// A RST answering a SYN: no TCB, the port is CLOSED (RFC 9293
		// section 3.10.7.1).
		c.refused = true
		c.resetFrom = Closed
	case e.passive && e.state == Established && !e.spoke:
		// A server that never sent anything but its SYN/ACK was only
		// assumed to have taken the client's ACK; a RST now is the
		// answer of SYN_RCVD (Linux, accept queue full with
		// tcp_abort_on_overflow=1).
		c.resetFrom = SynRcvd
	}
	c.enter(e, Closed)
	e.closeTime = seg.Time
	if p.state == SynRcvd && p.passive {
		c.enter(p, Listen)
	} else {
		c.enter(p, Closed)
	}
	p.closeTime = seg.Time
	return true, rule
}

// untrustReset undoes the RST taken on trust whose receiver has just sent
// seg: a receiver that had taken it would have nothing left to send with.
func (c *Conn) untrustReset(seg *Segment) {
	t := &c.rare.trusted
	t.active = false
	if a := c.note(AnomalyRSTNotAccepted, seg); a != nil {
		a.Detail = fmt.Sprintf("the %s sent %s after the %s's RST", seg.Dir, seg.Flags, t.by)
	}
	c.resetBy, c.resetFrom, c.resetPeerState = -1, Unknown, Unknown
	c.ep[t.by].sentRST = false
	for i := range c.ep {
		c.enter(&c.ep[i], t.states[i])
		c.ep[i].closeTime = t.closeTimes[i]
	}
}

// rstCheck decides whether p acts on a RST from e, and which rule says so.
func (c *Conn) rstCheck(e, p *endpoint, seg *Segment) (accept bool, rule Rule) {
	if p.state == SynSent && !p.gotSYN {
		// RFC 9293 section 3.10.7.3: "first check the ACK bit", then the
		// RST bit: a RST is acceptable only if it acknowledges the SYN.
		if seg.Flags&ACK == 0 {
			if a := c.note(AnomalyRSTWithoutACK, seg); a != nil {
				a.Detail = fmt.Sprintf("RST seq %d from the %s reached the %s in SYN_SENT without an ACK: dropped", seg.Seq, seg.Dir, p.dir)
			}
			return false, RuleRSTWithoutACK
		}
		if synSentAcceptsAck(p, seg.ackNum()) {
			return true, RuleNone
		}
		if a := c.note(AnomalyRSTOutOfWindow, seg); a != nil {
			a.Detail = fmt.Sprintf("RST ack %d does not acknowledge the %s's SYN %d", seg.Ack, p.dir, p.isn)
		}
		return false, RuleRSTOutOfWindow
	}
	if e.state == SynSent && c.rare != nil && c.rare.badAckValid[e.dir] && seg.seqNum() == c.rare.badAck[e.dir] {
		// The RST SYN_SENT sends for an unacceptable ACK (see
		// unacceptable): it answers a segment that was no part of this
		// connection, and its sender goes on with its handshake.
		c.rare.badAckValid[e.dir] = false
		return false, RuleRSTForUnacceptableACK
	}
	if !p.tx.ackValid {
		// p never acknowledged anything: its RCV.NXT is not known. Take
		// the RST, and undo it if p sends again (untrustReset).
		return true, RuleRSTUnknownRcvNxt
	}
	// RCV.NXT is p's latest acknowledgement, or, if p received more of
	// e's sequence space than it acknowledged in the capture, e's next
	// sequence number.
	next, segSeq := p.tx.ack, seg.seqNum()
	if segSeq == next || e.tx.valid && segSeq == e.tx.nxt {
		return true, RuleNone
	}
	if segSeq == next-1 && (p.state == CloseWait || p.state == LastAck || p.state == Closing) {
		return true, RuleRSTAfterFIN
	}
	// The window is p's largest right edge where that is known, as for
	// data (see beyondWindow; a receiver does not shrink its window, RFC
	// 9293 section 3.8.6); else the latest window, scaled as far as the
	// capture shows.
	window := seqSize(p.tx.win)
	if !p.tx.winInSYN {
		window <<= p.tx.shift // RFC 7323 section 2.2: never scaled in a SYN
	}
	if edge, known := p.tx.rightEdge(&e.tx); known {
		window = next.size(edge)
	}
	if segSeq.inWindow(next, window) {
		if p.state == SynRcvd && p.passive {
			return true, RuleRSTInWindowSynRcvd
		}
		c.rareFor(p.dir)
		c.rare.rstChallenged = true
		if a := c.note(AnomalyRSTInWindow, seg); a != nil {
			answer := "challenge ACK"
			if p.state == TimeWait {
				answer = "dropped" // Linux tcp_timewait_state_process
			}
			a.Detail = fmt.Sprintf("RST seq %d is the %s's RCV.NXT+%d, in its window of %d: %s", seg.Seq, p.dir, next.size(segSeq), window, answer)
		}
		return false, RuleRSTInWindow
	}
	if a := c.note(AnomalyRSTOutOfWindow, seg); a != nil {
		a.Detail = fmt.Sprintf("seq %d outside the %s's window", seg.Seq, p.dir)
	}
	return false, RuleRSTOutOfWindow
}

// note counts an anomaly. It returns the new record on its first occurrence
// on this connection, for the caller to fill in the detail, and nil after,
// so repeats cost no allocation.
func (c *Conn) note(name string, seg *Segment) *Anomaly {
	if c.rare == nil {
		c.rare = new(rare)
	}
	r := c.rare
	for i := range r.anomalies {
		if r.anomalies[i].Name == name {
			r.anomalies[i].Count++
			return nil
		}
	}
	if len(r.anomalies) >= maxAnomalyKinds {
		return nil
	}
	r.anomalies = append(r.anomalies, Anomaly{Name: name, Time: seg.Time, Dir: seg.Dir, Count: 1})
	return &r.anomalies[len(r.anomalies)-1]
}

func fmtDur(ns int64) string {
	// strconv rather than fmt: the app view of every connection of a
	// flood says one of these (fmt's %d and %.Nf are strconv's).
	switch {
	case ns < 0:
		return strconv.FormatInt(ns, 10) + "ns"
	case ns < 1e6:
		return strconv.FormatInt(ns/1e3, 10) + "µs"
	case ns < 1e9:
		return strconv.FormatFloat(float64(ns)/1e6, 'f', 1, 64) + "ms"
	default:
		return strconv.FormatFloat(float64(ns)/1e9, 'f', 3, 64) + "s"
	}
}
