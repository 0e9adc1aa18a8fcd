package fsm

import (
	"fmt"
	"net/netip"
)

// ICMP errors that end a connect(). A router with no route to the server,
// or a firewall that rejects the SYN, answers it with an ICMP or ICMPv6
// error quoting it, and Linux's TCP turns the error into the errno its
// connect() returns. The state machines follow segments only; an error is
// kept beside them, on the side whose SYN it quotes, for the application
// view alone.

// The errors ICMP brings, beyond those of AppSide's other outcomes, as Linux
// spells them.
const (
	EHOSTUNREACH = "EHOSTUNREACH" // no route to host
	ENETUNREACH  = "ENETUNREACH"  // network is unreachable
	EACCES       = "EACCES"       // ICMPv6 administratively prohibited
	ENOPROTOOPT  = "ENOPROTOOPT"  // ICMP protocol unreachable
	EOPNOTSUPP   = "EOPNOTSUPP"   // ICMP source route failed
	EHOSTDOWN    = "EHOSTDOWN"    // ICMP destination host unknown
	ENONET       = "ENONET"       // ICMP source host isolated
	EPROTO       = "EPROTO"       // ICMP parameter problem
)

// ICMPError is an ICMP or ICMPv6 error quoting a segment of the connection.
type ICMPError struct {
	Time int64  // Unix nanoseconds
	Dir  Dir    // the side that sent the quoted segment
	Seq  uint32 // the quoted sequence number
	// V6: an ICMPv6 error (RFC 4443), else ICMP (RFC 792).
	V6         bool
	Type, Code uint8
	// From is the error's sender: the router with no way on, or the
	// firewall that rejected the segment.
	From netip.Addr
}

// What names the error for a person: "ICMP host unreachable (type 3,
// code 1)".
func (m *ICMPError) What() string { return icmpWhat(m.V6, m.Type, m.Code) }

// Errno is the errno Linux's TCP takes from the error in SYN_SENT, or ""
// for one it ignores.
func (m *ICMPError) Errno() string { return linuxICMPErrno(m.V6, m.Type, m.Code) }

// icmpNote is an ICMP error a side's connect() took, for the app view.
type icmpNote struct {
	ICMPError
	errno string
}

// what names the error and its sender: "ICMP host unreachable (type 3,
// code 1) from 10.0.0.254".
func (n *icmpNote) what() string {
	if !n.From.IsValid() {
		return n.What()
	}
	return n.What() + " from " + n.From.Unmap().String()
}

// linuxICMPErrno is the errno Linux's TCP takes from an ICMP error, or ""
// for one it ignores. ICMP: tcp_v4_err (net/ipv4/tcp_ipv4.c) reads
// destination unreachable through icmp_err_convert (net/ipv4/icmp.c),
// except fragmentation needed (path MTU) and codes past 15, and gives
// EHOSTUNREACH for time exceeded and EPROTO for parameter problem. ICMPv6:
// tcp_v6_err (net/ipv6/tcp_ipv6.c) reads all three through
// icmpv6_err_convert (net/ipv6/icmp.c), whose destination unreachable codes
// past 6 are EPROTO.
func linuxICMPErrno(v6 bool, typ, code uint8) string {
	if v6 {
		switch typ {
		case 1: // destination unreachable
			if int(code) < len(icmpv6Unreachable) {
				return icmpv6Unreachable[code].errno
			}
			return EPROTO
		case 3: // time exceeded
			return EHOSTUNREACH
		case 4: // parameter problem
			return EPROTO
		}
		return ""
	}
	switch typ {
	case 3: // destination unreachable
		if code == 4 || int(code) >= len(icmpUnreachable) {
			return ""
		}
		return icmpUnreachable[code].errno
	case 11: // time exceeded
		return EHOSTUNREACH
	case 12: // parameter problem
		return EPROTO
	}
	return ""
}

// icmpCode is a destination unreachable code's name and the errno Linux
// gives it.
type icmpCode struct{ name, errno string }

// icmpUnreachable is icmp_err_convert: ICMP destination unreachable, by
// code (RFC 792, RFC 1812 section 5.2.7.1), and the errno Linux gives it.
// Its fatal flag, which UDP and raw sockets heed, is not TCP's business: in
// SYN_SENT tcp_v4_err ends the connect() on every one of them.
var icmpUnreachable = [...]icmpCode{
	{"net unreachable", ENETUNREACH},
	{"host unreachable", EHOSTUNREACH},
	{"protocol unreachable", ENOPROTOOPT},
	{"port unreachable", ECONNREFUSED},
	{"fragmentation needed", ""},
	{"source route failed", EOPNOTSUPP},
	{"destination network unknown", ENETUNREACH},
	{"destination host unknown", EHOSTDOWN},
	{"source host isolated", ENONET},
	{"network administratively prohibited", ENETUNREACH},
	{"host administratively prohibited", EHOSTUNREACH},
	{"network unreachable for TOS", ENETUNREACH},
	{"host unreachable for TOS", EHOSTUNREACH},
	{"communication administratively prohibited", EHOSTUNREACH},
	{"host precedence violation", EHOSTUNREACH},
	{"precedence cutoff in effect", EHOSTUNREACH},
}

// icmpv6Unreachable is the table of icmpv6_err_convert: ICMPv6 destination
// unreachable, by code (RFC 4443 section 3.1).
var icmpv6Unreachable = [...]icmpCode{
	{"no route to destination", ENETUNREACH},
	{"communication administratively prohibited", EACCES},
	{"beyond scope of source address", EHOSTUNREACH},
	{"address unreachable", EHOSTUNREACH},
	{"port unreachable", ECONNREFUSED},
	{"source address failed ingress/egress policy", EACCES},
	{"reject route to destination", EACCES},
}

// icmpWhat names an ICMP error for a person: "ICMP host unreachable
// (type 3, code 1)".
func icmpWhat(v6 bool, typ, code uint8) string {
	proto, codes := "ICMP", icmpUnreachable[:]
	unreachable, exceeded, problem := uint8(3), uint8(11), uint8(12)
	if v6 {
		proto, codes = "ICMPv6", icmpv6Unreachable[:]
		unreachable, exceeded, problem = 1, 3, 4
	}
	name := ""
	switch typ {
	case unreachable:
		name = "destination unreachable"
		if int(code) < len(codes) {
			name = codes[code].name
		}
	case exceeded:
		name = "time exceeded"
	case problem:
		name = "parameter problem"
	}
	return fmt.Sprintf("%s %s (type %d, code %d)", proto, name, typ, code)
}

// ICMPError takes an ICMP or ICMPv6 error quoting a segment of the
// connection, in capture order with its segments. Two kinds count, as
// Linux's tcp_v4_err and tcp_v6_err read them. An error quoting the SYN of
// a side in SYN_SENT (the quoted sequence number between its SND.UNA and
// SND.NXT, that is its ISN or ISN+1) that the kernel turns into an errno
// ends its connect(): the state machine keeps the side in SYN_SENT, and
// the error beside it (see icmpClosed). An error quoting the SYN/ACK of a
// server still in SYN_RCVD drops its half-open connection (see
// dropHalfOpen). Anything else, an error arriving once the side is
// synchronized (Linux keeps it as a soft error that a later timeout
// reports), or after a RST ended the connection, changes nothing here.
// The counts never change: the error is no segment. It returns
// EventUnreachable when the error ended the connect() (see icmpClosed),
// for the event stream.
func (c *Conn) ICMPError(m *ICMPError) Event {
	if m.Dir != FromClient && m.Dir != FromServer {
		return 0
	}
	e := &c.ep[m.Dir]
	if e.passive && e.state == SynRcvd && e.sentSYN && c.resetBy < 0 && seq(m.Seq) == e.isn && linuxDropsHalfOpen(m.V6, m.Type, m.Code) {
		c.dropHalfOpen(e, m)
		return 0
	}
	if e.state != SynSent || !e.sentSYN || c.resetBy >= 0 || !seq(m.Seq).inWindow(e.isn, 2) {
		return 0
	}
	errno := m.Errno()
	if errno == "" {
		return 0
	}
	_, ended := c.icmpClosed(e)
	n := icmpNote{ICMPError: *m, errno: errno}
	ev := c.rareFor(m.Dir)
	ev.icmpLatest = n
	if ev.icmpSinceSYN.Time == 0 || ev.icmpSinceSYN.Time < e.lastSYN {
		ev.icmpSinceSYN = n
	}
	if _, now := c.icmpClosed(e); now && !ended {
		return EventUnreachable
	}
	return 0
}

// dropHalfOpen applies an ICMP error that made Linux drop e's half-open
// connection. A server in SYN_RCVD holds a request socket, not a full one;
// tcp_v4_err and tcp_v6_err hand an error quoting its SYN/ACK (the quoted
// sequence number its ISN) to tcp_req_err, which, for the errors
// linuxDropsHalfOpen names, removes the request from the listener's queue
// without a word to either side and counts a ListenDrop. The server's
// side of the connection is back in LISTEN, as a RST would leave it (RFC
// 9293 section 3.10.7.4); a SYN the client sends again meets a new request
// socket, whose SYN/ACK carries a new ISN (see sendSYN). A SYN flood from
// spoofed sources is where this happens most: routers answer the SYN/ACKs
// sent to addresses nobody holds.
func (c *Conn) dropHalfOpen(e *endpoint, m *ICMPError) {
	ev := c.rareFor(e.dir)
	ev.halfOpenDrops++
	ev.halfOpenDrop = icmpNote{ICMPError: *m}
	ev.halfOpenPending = true
	// Not a transition of a segment (see enter): no step is under way.
	e.state = Listen
	e.gotSYN, e.synAcked, e.droppedAck = false, false, false
}

// linuxDropsHalfOpen reports whether Linux drops a half-open connection on
// an ICMP error quoting its SYN/ACK. tcp_v4_err asks tcp_req_err to abort
// for parameter problem, time exceeded, and net or host unreachable;
// tcp_v6_err for what icmpv6_err_convert calls fatal: parameter problem and
// destination unreachable but for no route (code 0), beyond the scope of
// the source (2) and address unreachable (3). Every other error, such as
// the administratively prohibited of a firewall's REJECT, leaves the
// request in place: the server resends its SYN/ACK.
func linuxDropsHalfOpen(v6 bool, typ, code uint8) bool {
	if v6 {
		switch typ {
		case 1: // destination unreachable
			return code != 0 && code != 2 && code != 3
		case 4: // parameter problem
			return true
		}
		return false
	}
	switch typ {
	case 3: // destination unreachable
		return code == 0 || code == 1
	case 11, 12: // time exceeded, parameter problem
		return true
	}
	return false
}

// halfOpenDrops returns how many half-open connections of e an ICMP error
// made Linux drop, and the latest error.
func (c *Conn) halfOpenDrops(e *endpoint) (int, icmpNote) {
	if c.rare == nil {
		return 0, icmpNote{}
	}
	ev := &c.rare.ev[e.dir]
	return int(ev.halfOpenDrops), ev.halfOpenDrop
}

// halfOpensReopened counts the SYN/ACKs of e that opened a new half-open
// connection after an ICMP error dropped the one before: its drops, but
// for a last one no SYN/ACK followed.
func (c *Conn) halfOpensReopened(e *endpoint) int {
	n, _ := c.halfOpenDrops(e)
	if n > 0 && c.rare.ev[e.dir].halfOpenPending {
		n--
	}
	return n
}

// icmpEnded returns the ICMP error that ended e's connect(): the first to
// arrive after its latest SYN. In SYN_SENT Linux ends the connect() on the
// error at once (tcp_done_with_error), unless a system call of its
// application held the socket locked at that instant; then the error is
// kept as the soft error and the SYNs go on. A SYN sent after the error
// shows that, so only an error after the latest SYN ended the connect().
func (c *Conn) icmpEnded(e *endpoint) (icmpNote, bool) {
	if c.rare == nil {
		return icmpNote{}, false
	}
	n := c.rare.ev[e.dir].icmpSinceSYN
	return n, n.Time != 0 && n.Time >= e.lastSYN
}

// icmpClosed returns the ICMP error that ended e's connect() if e is still
// in SYN_SENT: Linux's tcp_done_with_error has closed the socket, so e is
// CLOSED from the error's time, though the state machine, which follows
// segments only, keeps it in SYN_SENT. An error e's connect() went on
// after (a soft error) leaves it in SYN_SENT, as Linux does until its
// SYN retries run out.
func (c *Conn) icmpClosed(e *endpoint) (icmpNote, bool) {
	if e.state != SynSent {
		return icmpNote{}, false
	}
	return c.icmpEnded(e)
}

// icmpDone reports whether an ICMP error ended a side's connect() (see
// icmpClosed) while its peer never took part in the connection (still
// LISTEN, or gone): the connection is over, as a refused one is, and
// Linux has no socket left for it on either side.
func (c *Conn) icmpDone() bool {
	if c.rare == nil {
		return false
	}
	for d := range c.ep {
		if _, ok := c.icmpClosed(&c.ep[d]); ok {
			if p := &c.ep[1-d]; p.state == Listen || p.state.gone() {
				return true
			}
		}
	}
	return false
}

// icmpSoft returns the latest ICMP error e's connect() went on after (it
// sent its SYN again), which Linux keeps as the socket's soft error.
func (c *Conn) icmpSoft(e *endpoint) (icmpNote, bool) {
	if c.rare == nil {
		return icmpNote{}, false
	}
	n := c.rare.ev[e.dir].icmpLatest
	return n, n.Time != 0
}
