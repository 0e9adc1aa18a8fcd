package fsm

// Handshake outcomes, as the JSON "handshake" key spells them.
const (
	HandshakeComplete         = "complete"          // the client acknowledged the server's SYN/ACK
	HandshakeRefused          = "refused"           // the SYN was answered by RST: nobody listening
	HandshakeUnreachable      = "unreachable"       // an ICMP or ICMPv6 error quoting the SYN ended the connect()
	HandshakeUnanswered       = "unanswered"        // the SYN was never answered
	HandshakeSynAckUnanswered = "synack_unanswered" // SYN/ACK sent, never acknowledged
	HandshakeReset            = "reset"             // RST before the handshake completed, other than a refusal
	HandshakeSimultaneous     = "simultaneous"      // both sides sent a bare SYN (RFC 9293 figure 8)
	HandshakeMidstream        = "midstream"         // the client's SYN was not seen
)

// HandshakeOutcomes lists every handshake outcome.
var HandshakeOutcomes = []string{
	HandshakeComplete, HandshakeRefused, HandshakeUnreachable, HandshakeUnanswered, HandshakeSynAckUnanswered,
	HandshakeReset, HandshakeSimultaneous, HandshakeMidstream,
}

// Close outcomes, as the JSON "close" key spells them.
const (
	CloseFIN       = "fin"        // both sides sent FIN
	CloseFINClient = "fin_client" // only the client sent FIN
	CloseFINServer = "fin_server" // only the server sent FIN
	CloseRSTClient = "rst_client" // an accepted RST from the client ended it
	CloseRSTServer = "rst_server" // an accepted RST from the server ended it
	CloseOpen      = "open"       // established, neither FIN nor RST seen
	CloseNone      = "none"       // never established
)

// CloseOutcomes lists every close outcome.
var CloseOutcomes = []string{CloseFIN, CloseFINClient, CloseFINServer, CloseRSTClient, CloseRSTServer, CloseOpen, CloseNone}

// Labels describe a connection beyond its handshake and close outcomes.
const (
	LabelSimultaneousOpen      = "simultaneous_open"
	LabelSimultaneousClose     = "simultaneous_close"
	LabelHalfClose             = "half_close"
	LabelMidstream             = "midstream"
	LabelSynRetransmitted      = "syn_retransmitted"
	LabelSynAckRetransmitted   = "synack_retransmitted"
	LabelKeepAlive             = "keepalive"
	LabelZeroWindow            = "zero_window"
	LabelSynWithData           = "syn_with_data"
	LabelClosedBeforeHandshake = "closed_before_established"
	LabelRetransmissions       = "retransmissions"
	LabelPortReuse             = "port_reuse"
	// LabelClientOnlyEstablished: at the end the client believes the
	// connection is ESTABLISHED while the server still holds it in
	// SYN_RCVD: the accept-queue trap.
	LabelClientOnlyEstablished = "client_only_established"
	// LabelSynCookie: the server's only SYN/ACK has the shape of a Linux
	// SYN cookie (see Result.SynAckOptionsReduced): a server answering
	// with a cookie keeps no state for the connection until the client's
	// ACK comes back, so netstat shows no SYN_RCVD for it.
	LabelSynCookie = "syn_cookie"
	// LabelRSTChallenged: a RST in the receiver's window but not at its
	// RCV.NXT was answered with a challenge ACK and the connection went on
	// (RFC 5961 section 3.2; the anomaly rst_in_window says where).
	LabelRSTChallenged = "rst_challenged"
	// LabelSYNChallenged: a SYN on the synchronized connection was answered
	// with a challenge ACK and the connection went on (RFC 5961 section 4).
	LabelSYNChallenged = "syn_challenged"
	// LabelSynAckUnreachable: an ICMP or ICMPv6 error quoting the
	// server's SYN/ACK made Linux drop its half-open connection
	// (Result.HalfOpenDropped says how often, see Conn.ICMPError).
	LabelSynAckUnreachable = "synack_unreachable"
	// LabelOneSided: the capture holds one direction of the connection
	// only; the other side's handshake was inferred from what the seen
	// side acknowledged and sent.
	LabelOneSided = "one_sided"
)

// LabelNames lists every label, for tools that check names given by a
// person.
var LabelNames = []string{
	LabelSimultaneousOpen, LabelSimultaneousClose, LabelHalfClose, LabelMidstream,
	LabelSynRetransmitted, LabelSynAckRetransmitted, LabelKeepAlive, LabelZeroWindow,
	LabelSynWithData, LabelClosedBeforeHandshake, LabelRetransmissions, LabelPortReuse,
	LabelClientOnlyEstablished, LabelSynCookie, LabelRSTChallenged, LabelSYNChallenged, LabelOneSided,
	LabelSynAckUnreachable,
}

// TimeWaitDuration is how long Linux keeps a socket in TIME_WAIT
// (TCP_TIMEWAIT_LEN, 60 s; RFC 9293 asks for 2·MSL). An endpoint that entered
// TIME_WAIT longer ago than this at the end of the capture is reported CLOSED,
// as netstat would show it.
const TimeWaitDuration int64 = 60e9

// Side is the per-endpoint part of a Result.
type Side struct {
	State       State
	Packets     uint64
	Bytes       uint64 // TCP payload bytes
	IPBytes     uint64
	Retransmits uint32
	Keepalives  uint32
	ZeroWindows uint32
	DupAcks     uint32
	SYNs        uint16 // bare SYNs sent
	SYNACKs     uint16 // SYN/ACKs sent
	SentFIN     bool
	SentRST     bool
	FINAt       int64 // time of this side's first FIN, 0 if none
	// TimeWaitAt is when this side entered TIME_WAIT, if State is
	// TIME_WAIT; 0 otherwise. Its TIME_WAIT lasts TimeWaitDuration.
	TimeWaitAt int64

	// SYNTimes are the times of this side's first SYN (client) or SYN/ACK
	// (server) transmissions, at most MaxSYNTimes: their gaps show the
	// backoff. A server's are those of its latest half-open connection
	// (see Result.HalfOpenDropped).
	SYNTimes []int64
	// CloseWaitAt is when this side received the peer's FIN while open,
	// entering CLOSE_WAIT; 0 if it never did.
	CloseWaitAt int64
	// ZeroWindowLongest is the longest time this side advertised a zero
	// window (up to the end for one still closed), in nanoseconds.
	ZeroWindowLongest int64
	// WindowProbes counts the zero-window probes this side sent.
	WindowProbes uint32
	// KeepaliveFirst and KeepaliveLast are the times of this side's first
	// and latest keepalive probes; KeepalivesUnanswered counts those the
	// peer did not answer.
	KeepaliveFirst, KeepaliveLast int64
	KeepalivesUnanswered          uint32
	// Unanswered counts the retransmissions, keepalives and window probes
	// this side sent after it last heard from the peer, from UnansweredFirst
	// to UnansweredLast; UnansweredBackoff says whether their spacing grew,
	// as retransmission timers back off.
	Unanswered                      uint32
	UnansweredFirst, UnansweredLast int64
	UnansweredBackoff               bool
}

// Result is a connection's outcome, for reports.
type Result struct {
	First, Last int64 // Unix nanoseconds
	Client      Side
	Server      Side
	Handshake   string
	Close       string
	// RTTClient is SYN → SYN/ACK: from the client's latest bare SYN to
	// the server's first SYN/ACK. RTTServer is SYN/ACK → ACK: from the
	// server's latest SYN/ACK to the client's ACK of it. In nanoseconds; -1
	// when not seen. A simultaneous open has only the first: each side's
	// SYN/ACK answers the other's SYN (RFC 9293 figure 8), and the
	// server's SYN was acknowledged by the client's SYN/ACK before any ACK
	// could answer the server's, so RTTServer is -1.
	RTTClient, RTTServer int64
	SynRetransmits       int
	SynAckRetransmits    int
	ResetBy              Dir
	Reset                bool
	ResetFrom            State // state of the resetting side when it sent the RST
	ResetPeerState       State // state of the other side when the RST arrived
	// SynAckOptionsReduced: the client's SYN offered window scaling or
	// SACK without timestamps, and the SYN/ACK granted neither: the shape of
	// a Linux SYN cookie, which cannot remember those options without the
	// timestamp to encode them in.
	SynAckOptionsReduced bool
	Labels               []string
	Anomalies            []Anomaly
	// App is what each side's application saw (see AppSide).
	App App
	// Unreachable is the ICMP or ICMPv6 error that ended the client's
	// connect() when Handshake is HandshakeUnreachable; its Time is 0
	// otherwise.
	Unreachable ICMPError
	// HalfOpenDropped counts the server's half-open connections (in
	// SYN_RCVD) that an ICMP or ICMPv6 error quoting their SYN/ACK made
	// Linux drop, HalfOpenDrop the latest such error (see
	// Conn.ICMPError). A SYN/ACK that opened the next one after such a
	// drop is no retransmission (SynAckRetransmits), and the server's
	// SYNTimes are those of the latest one.
	HalfOpenDropped int
	HalfOpenDrop    ICMPError
}

// MarkReused records that this connection reuses the 5-tuple of an earlier one.
func (c *Conn) MarkReused() { c.reused = true }

// First and Last return the times of the first and latest segments.
func (c *Conn) First() int64 { return c.first }

// Last returns the time of the latest segment.
func (c *Conn) Last() int64 { return c.last }

// States returns the current states of the client and the server.
func (c *Conn) States() (client, server State) {
	return c.ep[FromClient].state, c.ep[FromServer].state
}

// StatesAt returns the states as netstat would show them at time t, at or
// after the latest segment: a TIME_WAIT older than TimeWaitDuration has
// become CLOSED, and so has a SYN_SENT that an ICMP error at or before t
// ended (see icmpClosed).
func (c *Conn) StatesAt(t int64) (client, server State) {
	return c.stateAt(&c.ep[FromClient], t), c.stateAt(&c.ep[FromServer], t)
}

func (c *Conn) stateAt(e *endpoint, t int64) State {
	if e.state == TimeWait && t-e.closeTime > TimeWaitDuration {
		return Closed
	}
	if n, ok := c.icmpClosed(e); ok && n.Time <= t {
		return Closed
	}
	return e.state
}

// synAckOptionsReduced is Result.SynAckOptionsReduced.
func (c *Conn) synAckOptionsReduced() bool {
	co, so := c.ep[FromClient].synOpts, c.ep[FromServer].synOpts
	return co&optSeen != 0 && so&optSeen != 0 && c.ep[FromServer].synAcks > 0 &&
		co&optTimestamps == 0 && co&(optWindowScale|optSACK) != 0 && so&(optWindowScale|optSACK) == 0
}

// SynCookie reports whether the server answered with what looks like a
// SYN cookie: one SYN/ACK, never resent (a cookie is never resent; a
// queued half-open connection is, tcp_synack_retries times), with the
// options reduced as a cookie must reduce them (LabelSynCookie).
func (c *Conn) SynCookie() bool {
	return c.ep[FromServer].synAcks == 1 && c.synAckOptionsReduced()
}

// Listening reports whether the server answered a SYN with a SYN/ACK, so
// that a listener was seen on its endpoint.
func (c *Conn) Listening() bool { return c.ep[FromServer].synAcks > 0 && !c.simultaneousOpen }

// ListenerSeen returns the evidence this connection gives of a listener on
// the server's endpoint: when it answered the SYN (its first SYN/ACK), or
// when it refused it (a RST answering the SYN proves no listener then); 0
// for what did not happen.
func (c *Conn) ListenerSeen() (answered, refused int64) {
	if c.Listening() {
		answered = c.ep[FromServer].firstSent
	}
	if c.refused {
		refused = c.ep[FromServer].closeTime
	}
	return answered, refused
}

// Ended reports whether the connection is over for both sides (each CLOSED
// or in TIME_WAIT, or reset, or a side's connect() ended by an ICMP error
// while its peer never took part): a new SYN on its 5-tuple starts a new
// connection.
func (c *Conn) Ended() bool {
	return c.resetBy >= 0 || c.ep[0].state.gone() && c.ep[1].state.gone() || c.icmpDone()
}

// ClosedFrom returns, for a connection that has ended, the time from which
// both endpoints are CLOSED if no further segment comes: its latest
// segment's, or the end of a side's TIME_WAIT (TimeWaitDuration after it
// began), whichever is later. ok is false while the connection has not
// ended (see Ended).
func (c *Conn) ClosedFrom() (t int64, ok bool) {
	if !c.Ended() {
		return 0, false
	}
	t = c.last
	for i := range c.ep {
		if e := &c.ep[i]; e.state == TimeWait {
			t = max(t, e.closeTime+TimeWaitDuration+1)
		}
	}
	return t, true
}

// IsNewAttempt reports whether seg, a segment on this connection's 5-tuple,
// opens a new connection instead of belonging to this one: a bare SYN after
// this one ended, or a bare SYN with a new ISN from a side whose own
// handshake never completed (the application called connect() again).
func (c *Conn) IsNewAttempt(seg *Segment) bool {
	if seg.Flags&(SYN|ACK|RST) != SYN {
		return false
	}
	e := &c.ep[seg.Dir]
	if e.sentSYN && seg.seqNum() == e.isn {
		return false // a retransmission
	}
	if c.Ended() {
		return true
	}
	return e.sentSYN && !c.established
}

// Result summarises the connection as it stands at time end (normally the
// last packet of the capture).
func (c *Conn) Result(end int64) Result {
	cl, sv := &c.ep[FromClient], &c.ep[FromServer]
	r := Result{
		First: c.first, Last: c.last,
		Client: c.side(cl, end), Server: c.side(sv, end),
		RTTClient: c.rttClient, RTTServer: c.rttServer,
		ResetBy: Dir(max(c.resetBy, 0)), Reset: c.resetBy >= 0,
		ResetFrom: c.resetFrom, ResetPeerState: c.resetPeerState,
	}
	r.SynRetransmits = max(int(cl.bareSYNs)-1, 0)
	if c.rare != nil {
		r.Anomalies = c.rare.anomalies
	}
	r.SynAckOptionsReduced = c.synAckOptionsReduced()
	dropped, drop := c.halfOpenDrops(sv)
	r.SynAckRetransmits = max(int(sv.synAcks)-1-c.halfOpensReopened(sv), 0)
	if dropped > 0 {
		r.HalfOpenDropped, r.HalfOpenDrop = dropped, drop.ICMPError
	}
	r.App = c.app(end)
	if n, ok := c.icmpClosed(cl); ok && !c.simultaneousOpen {
		r.Unreachable = n.ICMPError
	}

	switch {
	case c.simultaneousOpen:
		r.Handshake = HandshakeSimultaneous
	case c.midstream:
		r.Handshake = HandshakeMidstream
	case c.refused:
		r.Handshake = HandshakeRefused
	case c.established:
		r.Handshake = HandshakeComplete
	case c.resetBy >= 0:
		r.Handshake = HandshakeReset
	case r.Unreachable.Time != 0:
		r.Handshake = HandshakeUnreachable
	case sv.synAcks > 0:
		r.Handshake = HandshakeSynAckUnanswered
	default:
		r.Handshake = HandshakeUnanswered
	}

	switch {
	case !c.established:
		r.Close = CloseNone
	case c.resetBy == int8(FromClient):
		r.Close = CloseRSTClient
	case c.resetBy == int8(FromServer):
		r.Close = CloseRSTServer
	case cl.sentFIN && sv.sentFIN:
		r.Close = CloseFIN
	case cl.sentFIN:
		r.Close = CloseFINClient
	case sv.sentFIN:
		r.Close = CloseFINServer
	default:
		r.Close = CloseOpen
	}

	add := func(ok bool, label string) {
		if ok {
			r.Labels = append(r.Labels, label)
		}
	}
	add(c.simultaneousOpen, LabelSimultaneousOpen)
	add(c.midstream, LabelMidstream)
	add(c.reused, LabelPortReuse)
	add(r.SynRetransmits > 0, LabelSynRetransmitted)
	add(r.SynAckRetransmits > 0, LabelSynAckRetransmitted)
	add(c.synWithData, LabelSynWithData)
	add(c.closedEarly, LabelClosedBeforeHandshake)
	add(r.Client.State.Synchronized() && r.Server.State == SynRcvd, LabelClientOnlyEstablished)
	add(c.SynCookie(), LabelSynCookie)
	add(c.halfClose, LabelHalfClose)
	add(c.simultaneousClose, LabelSimultaneousClose)
	add(r.Client.Keepalives+r.Server.Keepalives > 0, LabelKeepAlive)
	add(r.Client.ZeroWindows+r.Server.ZeroWindows > 0, LabelZeroWindow)
	add(cl.retransmits+sv.retransmits > 0, LabelRetransmissions)
	if c.rare != nil {
		add(c.rare.rstChallenged, LabelRSTChallenged)
		add(c.rare.synChallenged, LabelSYNChallenged)
		add(c.rare.oneSided && (cl.packets == 0 || sv.packets == 0), LabelOneSided)
		add(dropped > 0, LabelSynAckUnreachable)
	}
	return r
}

func (c *Conn) side(e *endpoint, end int64) Side {
	s := Side{
		State: e.state, Packets: e.packets, Bytes: e.bytes, IPBytes: e.ipBytes,
		Retransmits: e.retransmits, SYNs: e.bareSYNs, SYNACKs: e.synAcks, SentFIN: e.sentFIN, SentRST: e.sentRST,
		CloseWaitAt: e.closeWaitAt,
	}
	if e.sentFIN {
		s.FINAt = e.finTime
	}
	if e.nSent > 0 {
		s.SYNTimes = make([]int64, e.nSent)
		s.SYNTimes[0] = e.firstSent
	}
	s.State = c.stateAt(e, end)
	if _, ok := c.icmpClosed(e); ok {
		// The error is in the capture even when it came after the
		// latest segment, and so after end.
		s.State = Closed
	}
	if s.State == TimeWait {
		s.TimeWaitAt = e.closeTime
	}
	if c.rare == nil {
		return s
	}
	ev := &c.rare.ev[e.dir]
	copy(s.SYNTimes[min(1, len(s.SYNTimes)):], ev.sentAt[1:])
	s.Keepalives, s.ZeroWindows, s.DupAcks = ev.keepalives, ev.zeroWindows, ev.dupAcks
	s.ZeroWindowLongest, s.WindowProbes = ev.zeroLongest, ev.probes
	s.KeepaliveFirst, s.KeepaliveLast, s.KeepalivesUnanswered = ev.keepFirst, ev.keepLast, ev.keepUnanswered
	s.Unanswered, s.UnansweredFirst, s.UnansweredLast, s.UnansweredBackoff = ev.tail, ev.tailFirst, ev.tailLast, ev.tailBackoff
	if ev.zeroSince != 0 {
		s.ZeroWindowLongest = max(s.ZeroWindowLongest, end-ev.zeroSince)
	}
	if ev.keepPending {
		s.KeepalivesUnanswered++
	}
	return s
}
