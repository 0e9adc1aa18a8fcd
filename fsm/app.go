package fsm

import "fmt"

// What each side's application saw: the results its socket calls returned
// or will return, read from the endpoint's state machine alone. The values
// are those of the JSON "app" object: one vocabulary for every call, so that
// programs can match on it.
const (
	AppConnected = "connected" // connect() returned 0
	AppAccepted  = "accepted"  // the connection reached the accept queue: accept() returns it
	AppNever     = "never"     // accept() never returns this connection
	AppEOF       = "EOF"       // recv() returns 0: the peer's FIN arrived
	AppOpen      = "open"      // nothing yet: recv() blocks, the connection is still open
	AppUnknown   = "unknown"   // the capture cannot decide; AppSide.Why says why

	ECONNREFUSED = "ECONNREFUSED" // RST answering the SYN
	ETIMEDOUT    = "ETIMEDOUT"    // retries or keepalive probes ran out
	EINPROGRESS  = "EINPROGRESS"  // connect() still pending at the end
	ECONNRESET   = "ECONNRESET"   // a RST accepted in a synchronized state
	EPIPE        = "EPIPE"        // a write after a RST that reached CLOSE_WAIT
)

// Errnos maps the error names of AppSide to their numbers, as Linux defines
// them (asm-generic/errno.h and errno-base.h).
var Errnos = map[string]int{
	ECONNREFUSED: 111,
	ETIMEDOUT:    110,
	EINPROGRESS:  115,
	ECONNRESET:   104,
	EPIPE:        32,
	EHOSTUNREACH: 113,
	ENETUNREACH:  101,
	EACCES:       13,
	ENOPROTOOPT:  92,
	EOPNOTSUPP:   95,
	EHOSTDOWN:    112,
	ENONET:       64,
	EPROTO:       71,
}

// errnoOf is Errnos[name], without hashing the outcomes that are no errno
// (every errno's name starts with E; of the words, only EOF does): two
// sides of every connection ask it three times.
func errnoOf(name string) (int, bool) {
	if name == "" || name[0] != 'E' || name == AppEOF {
		return 0, false
	}
	n, ok := Errnos[name]
	return n, ok
}

// AppOutcomes lists every value an AppSide call can hold.
var AppOutcomes = []string{
	AppConnected, AppAccepted, AppNever, AppEOF, AppOpen, AppUnknown,
	ECONNREFUSED, ETIMEDOUT, EINPROGRESS, ECONNRESET, EPIPE,
	EHOSTUNREACH, ENETUNREACH, EACCES, ENOPROTOOPT, EOPNOTSUPP, EHOSTDOWN, ENONET, EPROTO,
}

// Socket calls, as the JSON "app" object names them.
const (
	CallConnect = "connect"
	CallAccept  = "accept"
	CallRecv    = "recv"
	CallSend    = "send"
)

// AppSide is what one side's application saw: the outcome of the call that
// set the connection up (connect() on the client and on both sides of a
// simultaneous open, accept() on the server), then, once it was set up,
// what the next recv() returns and, where it differs from what the
// recv() says, a write (send()).
type AppSide struct {
	Call    string // CallConnect or CallAccept
	Setup   string // the outcome of Call
	SetupAt int64  // time of the packet that decided Setup; 0 if none
	// Recv and Send are empty when the connection never reached this
	// application, or when this side closed it with its own RST (an
	// abortive close: its application holds no socket any more).
	Recv, Send string
	// Errno is the number of the error this side's application saw (at
	// most one: a connect() that failed sets up nothing; EPIPE comes with
	// an EOF), 0 if none.
	Errno int
	// At is the time of the packet that decided the last outcome (the RST,
	// the peer's FIN, the last unanswered retransmission); 0 if none.
	At int64
	// Why says why an outcome is unknown, or which assumption a verdict
	// rests on (a retry schedule read as given up); "" otherwise.
	Why string
}

// App is what both sides' applications saw.
type App struct{ Client, Server AppSide }

// Has reports whether the side saw the outcome name in any of its calls.
func (s *AppSide) Has(name string) bool {
	return s.Setup == name || s.Recv == name || s.Send == name
}

// Time is the time of the packet that decided the side's last outcome: At,
// or SetupAt when nothing came after the setup; 0 if none did.
func (s *AppSide) Time() int64 {
	if s.At != 0 {
		return s.At
	}
	return s.SetupAt
}

// Outcomes returns the side's calls and their outcomes in the order the
// application makes them, for reports.
func (s *AppSide) Outcomes() [][2]string {
	var out [][2]string
	if s.Call != "" && s.Setup != "" {
		out = append(out, [2]string{s.Call, s.Setup})
	}
	if s.Recv != "" {
		out = append(out, [2]string{CallRecv, s.Recv})
	}
	if s.Send != "" {
		out = append(out, [2]string{CallSend, s.Send})
	}
	return out
}

// retryDue is how long after the latest of a side's unanswered
// transmissions the next was due, from the gap before it: twice the gap
// for retransmissions, which back off (RFC 6298 section 5.5; Linux doubles
// its SYN timeout too), the gap itself for keepalive probes, which keep
// their interval. A little slack covers timer jitter.
func retryDue(gap int64, backoff bool) int64 {
	if backoff {
		gap *= 2
	}
	return gap + gap/20
}

// app derives what each side's application saw.
func (c *Conn) app(end int64) App {
	var a App
	cl, sv := &c.ep[FromClient], &c.ep[FromServer]
	a.Client = AppSide{Call: CallConnect}
	a.Server = AppSide{Call: CallAccept}
	if c.simultaneousOpen {
		a.Server.Call = CallConnect
		c.connectOutcome(&a.Client, cl, end)
		c.connectOutcome(&a.Server, sv, end)
	} else {
		c.connectOutcome(&a.Client, cl, end)
		c.acceptOutcome(&a.Server, sv, cl)
	}
	for i, s := range [2]*AppSide{&a.Client, &a.Server} {
		if s.Setup == AppConnected || s.Setup == AppAccepted || s.Setup == AppUnknown && c.midstream && c.established {
			c.streamOutcome(s, &c.ep[i], &c.ep[1-i], end)
		}
		if n, ok := errnoOf(s.Send); ok {
			s.Errno = n
		} else if n, ok := errnoOf(s.Recv); ok {
			s.Errno = n
		} else if n, ok := errnoOf(s.Setup); ok {
			s.Errno = n
		}
	}
	return a
}

// stateAtReset is e's state when the connection's RST was sent or arrived.
func (c *Conn) stateAtReset(e *endpoint) State {
	if c.resetBy == int8(e.dir) {
		return c.resetFrom
	}
	return c.resetPeerState
}

// wasSynchronized reports whether e completed its handshake: it is in a
// synchronized state, it was in one when the connection was reset, or it
// closed with a FIN (LAST_ACK → CLOSED).
func (c *Conn) wasSynchronized(e *endpoint) bool {
	if c.resetBy >= 0 {
		return c.stateAtReset(e).Synchronized()
	}
	return e.state.Synchronized() || e.state == Closed && e.sentFIN
}

// establishedTime is when e reached ESTABLISHED, as far as the capture
// shows: the client's handshake ACK, or for a side that was only shown
// synchronized by its own later segment, that segment.
func (c *Conn) establishedTime(e *endpoint) int64 {
	if c.rare != nil && c.rare.establishedAt[e.dir] != 0 {
		return c.rare.establishedAt[e.dir]
	}
	return c.establishedAt
}

// connectOutcome is what connect() returned on e, an active opener.
func (c *Conn) connectOutcome(s *AppSide, e *endpoint, end int64) {
	switch {
	case c.midstream && !e.sentSYN:
		s.Setup, s.Why = AppUnknown, "picked up mid-stream: the handshake is not in the capture"
	case c.wasSynchronized(e):
		s.Setup, s.SetupAt = AppConnected, c.establishedTime(e)
	case c.icmpEndedConnect(s, e):
	case c.resetBy >= 0 && c.resetBy != int8(e.dir):
		// Linux tcp_reset: ECONNREFUSED in SYN_SENT, ECONNRESET in the
		// SYN_RCVD of a simultaneous open.
		s.Setup, s.SetupAt = ECONNREFUSED, e.closeTime
		if c.stateAtReset(e) != SynSent {
			s.Setup = ECONNRESET
		}
	case c.resetBy >= 0:
		s.Setup, s.SetupAt = AppUnknown, e.closeTime
		s.Why = fmt.Sprintf("it sent a RST from %s before its handshake completed", c.resetFrom)
	case e.state == SynSent || e.state == SynRcvd:
		c.pendingConnect(s, e, end)
	default:
		s.Setup, s.Why = AppUnknown, fmt.Sprintf("its handshake did not complete and it is in %s", e.state)
	}
}

// icmpEndedConnect sets s to the errno of the ICMP error that ended e's
// connect() and reports whether there was one.
func (c *Conn) icmpEndedConnect(s *AppSide, e *endpoint) bool {
	n, ok := c.icmpEnded(e)
	if !ok {
		return false
	}
	s.Setup, s.SetupAt = n.errno, n.Time
	s.Why = fmt.Sprintf("%s quoting its SYN, which Linux takes in SYN_SENT as the end of the connect() (assumed: its application did not hold the socket at that instant, and sent no SYN after it)", n.what())
	return true
}

// pendingConnect decides a connect() whose SYNs were never answered: still
// pending at end (EINPROGRESS), or given up (ETIMEDOUT) when the capture
// went on past the time its next SYN was due and showed none.
func (c *Conn) pendingConnect(s *AppSide, e *endpoint, end int64) {
	n := int(e.nSent)
	last := e.lastSYN
	s.At = last
	if n < 2 {
		if end-last > retryDue(1e9, false) {
			// Linux's first SYN timeout is 1 s (TCP_TIMEOUT_INIT).
			s.Setup = AppUnknown
			// Concatenated rather than formatted: a flood of spoofed
			// SYNs gives a million of these.
			s.Why = "one SYN and no retry in the " + fmtDur(end-last) + " the capture went on: its retry schedule cannot be read (tcp_syn_retries 0, a spoofed source, or retries not captured)"
			return
		}
		s.Setup, s.Why = EINPROGRESS, "one SYN, still unanswered when the capture ended"
		return
	}
	// The latest transmission and the one before it; with more than
	// MaxSYNTimes, the latest remembered stands for the one before: the
	// span is then several gaps, a later due time, a more cautious verdict.
	syns := int(e.bareSYNs)
	if e.dir == FromServer {
		syns = int(e.synAcks)
	}
	prev := c.sentTime(e, n-2)
	if syns > n {
		prev = c.sentTime(e, n-1)
	}
	gap := last - prev
	if end-last > retryDue(gap, true) {
		s.Setup = ETIMEDOUT
		s.Why = fmt.Sprintf("assumed given up: %d SYNs unanswered, none in the %s the capture went on after the last (the next was due about %s after it); that is tcp_syn_retries=%d", syns, fmtDur(end-last), fmtDur(2*gap), syns-1)
		if n, ok := c.icmpSoft(e); ok {
			// tcp_write_err: a connect() that times out returns the
			// socket's soft error, if it has one, rather than ETIMEDOUT.
			s.Setup = n.errno
			s.Why += fmt.Sprintf("; it went on after an %s quoting its SYN, which Linux keeps as the soft error a timeout returns", n.what())
		}
		return
	}
	s.Setup, s.Why = EINPROGRESS, fmt.Sprintf("%d SYNs unanswered, the capture ended before the next was due", syns)
	if n, ok := c.icmpSoft(e); ok {
		s.Why += fmt.Sprintf("; it went on after an %s quoting its SYN", n.what())
	}
}

// acceptOutcome is what accept() does on the passive opener sv for the
// connection the client cl opened.
func (c *Conn) acceptOutcome(s *AppSide, sv, cl *endpoint) {
	switch {
	case c.midstream && !sv.sentSYN:
		s.Setup, s.Why = AppUnknown, "picked up mid-stream: the handshake is not in the capture"
	case c.wasSynchronized(sv):
		s.Setup, s.SetupAt = AppAccepted, c.establishedTime(sv)
	case c.refused:
		s.Setup, s.SetupAt, s.Why = AppNever, sv.closeTime, "nothing listened: the port refused the SYN"
	case sv.synAcks == 0 && c.rare != nil && c.rare.ev[cl.dir].icmpLatest.Time != 0:
		s.Setup, s.Why = AppNever, "the SYN was answered with an "+c.rare.ev[cl.dir].icmpLatest.what()+", not by a listener"
	case sv.synAcks == 0:
		s.Setup, s.Why = AppNever, "the SYN was never answered"
	case c.wasSynchronized(cl) && c.resetBy == int8(FromServer):
		s.Setup, s.SetupAt = AppNever, sv.closeTime
		s.Why = "the server answered the client's completed handshake with a RST from SYN_RCVD: its accept queue was full and tcp_abort_on_overflow=1"
	case c.wasSynchronized(cl):
		s.Setup, s.SetupAt = AppNever, c.establishedAt
		s.Why = "the client completed the handshake, the server never took its ACK (still in SYN_RCVD): its accept queue was full"
	case c.resetBy >= 0:
		s.Setup, s.SetupAt = AppNever, sv.closeTime
		s.Why = "reset in SYN_RCVD, before the handshake completed"
	case sv.state == Listen && c.rare != nil && c.rare.ev[sv.dir].halfOpenPending:
		drop := c.rare.ev[sv.dir].halfOpenDrop
		s.Setup, s.SetupAt = AppNever, drop.Time
		s.Why = "the server dropped its half-open connection on an " + drop.what() + " quoting its SYN/ACK (Linux tcp_req_err)"
	default:
		s.Setup, s.Why = AppNever, "the client never acknowledged the SYN/ACK"
	}
}

// streamOutcome is what e's application sees on the established
// connection with the peer p: the next recv(), and a write where that
// differs (Linux tcp_reset: a RST sets ECONNRESET, EPIPE in CLOSE_WAIT).
func (c *Conn) streamOutcome(s *AppSide, e, p *endpoint, end int64) {
	if c.resetBy == int8(p.dir) {
		switch c.resetPeerState {
		case Established, FinWait1, FinWait2:
			s.Recv, s.At = ECONNRESET, e.closeTime
			return
		case CloseWait:
			// The FIN came first: recv() reads it as the end of the
			// stream; a write gets the RST's EPIPE (and SIGPIPE).
			s.Recv, s.Send, s.At = AppEOF, EPIPE, e.closeTime
			return
		}
	}
	if e.gotFIN {
		s.Recv, s.At = AppEOF, p.finTime
		return
	}
	var ev *evidence
	if c.rare != nil {
		ev = &c.rare.ev[e.dir]
	}
	if c.resetBy == int8(e.dir) {
		if ev != nil && ev.tail > 0 {
			s.Recv, s.At = ETIMEDOUT, e.closeTime
			s.Why = fmt.Sprintf("%d unanswered %s, then its own RST (Linux sends one when its keepalive probes run out)", ev.tail, tailWhat(ev))
		}
		return // an abortive close: its application gave the socket up
	}
	if ev != nil && ev.tail > 0 {
		s.At = ev.tailLast
		keepalives := ev.keepPending && ev.keepLast == ev.tailLast
		if ev.tail < 2 {
			s.Recv = AppUnknown
			s.Why = fmt.Sprintf("its last %s was unanswered when the capture ended", tailWhat(ev))
			return
		}
		if silence := end - ev.tailLast; silence > retryDue(ev.tailGap, !keepalives) {
			s.Recv = ETIMEDOUT
			s.Why = fmt.Sprintf("assumed given up: %d unanswered %s, none in the %s the capture went on after the last (the next was due about %s after it); Linux sends nothing when tcp_retries2 runs out", ev.tail, tailWhat(ev), fmtDur(silence), fmtDur(retryDue(ev.tailGap, !keepalives)))
			return
		}
		s.Recv = AppUnknown
		s.Why = fmt.Sprintf("the capture ended during its retry schedule: %d unanswered %s", ev.tail, tailWhat(ev))
		return
	}
	s.Recv = AppOpen
}

// tailWhat names what an unanswered tail is made of.
func tailWhat(ev *evidence) string {
	if ev.keepPending && ev.keepLast == ev.tailLast {
		return "keepalive probes"
	}
	return "retransmissions"
}

// sentTime is the time of e's i-th handshake transmission (0 the first),
// for i below e.nSent.
func (c *Conn) sentTime(e *endpoint, i int) int64 {
	if i == 0 {
		return e.firstSent
	}
	return c.rare.ev[e.dir].sentAt[i]
}
