package fsm

// MaxSYNTimes bounds the SYN (or SYN/ACK) transmission times remembered
// per side (Side.SYNTimes): enough to read Linux's backoff (1 s, 2 s,
// 4 s, …) and count retries.
const MaxSYNTimes = 8

// rare is what few connections need: the evidence of retries, probes and
// stalls, and anomalies. A connection allocates it on first need, so the
// common one (a handshake, some data, a close) carries only a nil pointer:
// that keeps memory per tracked connection small when a table holds
// hundreds of thousands.
type rare struct {
	ev        [2]evidence // indexed by Dir
	anomalies []Anomaly

	// A RST taken on trust (RuleRSTUnknownRcvNxt), undone if its receiver
	// sends again.
	trusted trustedReset
	// badAck[d]: the acknowledgement number of the latest unacceptable ACK
	// side d received in SYN_SENT (RuleACKUnacceptable), which d answers
	// with a RST of that sequence number; valid when badAckValid[d].
	badAck      [2]seq
	badAckValid [2]bool

	// establishedAt[d]: when side d, which had dropped the peer's ACK of
	// its SYN (endpoint.droppedAck), showed it took a later one by
	// sending; 0 otherwise.
	establishedAt [2]int64

	// dropped: the segments dropped beyond the window that an
	// acknowledgement may yet take back (takeBack); nil until one is.
	dropped *droppedSegments

	rstChallenged bool // LabelRSTChallenged
	synChallenged bool // LabelSYNChallenged
	oneSided      bool // the handshake of a side never seen was inferred (inferUnseen)
}

// trustedReset is what a RST taken on trust changed, to undo it.
type trustedReset struct {
	active     bool
	by         Dir      // the RST's sender
	states     [2]State // both sides' states before it
	closeTimes [2]int64
}

// rareFor returns the rare evidence of side d, allocating it.
func (c *Conn) rareFor(d Dir) *evidence {
	if c.rare == nil {
		c.rare = new(rare)
	}
	return &c.rare.ev[d]
}

// evidence is what diagnoses need beyond the states: when probes, waits and
// retries happened, and the counters that are zero on most connections.
type evidence struct {
	// sentAt holds the times of this side's second to eighth SYN (client)
	// or SYN/ACK (server) transmissions; the first is endpoint.firstSent.
	sentAt [MaxSYNTimes]int64

	keepalives  uint32
	zeroWindows uint32 // episodes: window went from open to 0
	dupAcks     uint32

	zeroSince   int64 // start of the current zero-window advertisement, 0 when open
	zeroLongest int64
	probes      uint32 // zero-window probes sent

	keepFirst, keepLast int64
	keepPending         bool   // the latest keepalive has not been answered yet
	keepUnanswered      uint32 // keepalives the peer did not answer

	// The unanswered tail: retransmissions, keepalives and window probes
	// this side sent since it last heard from the peer, and whether their
	// spacing grew (retransmission backoff).
	tail                uint32
	tailFirst, tailLast int64
	tailGap             int64
	tailBackoff         bool

	// ICMP errors quoting this side's SYN in SYN_SENT (Conn.ICMPError): the
	// latest, and the first since its latest SYN at the time it came.
	icmpLatest, icmpSinceSYN icmpNote

	// Half-open connections of this side, a server in SYN_RCVD, that an
	// ICMP error quoting its SYN/ACK made Linux drop (see dropHalfOpen):
	// how many, the latest error, and whether the side has sent no
	// SYN/ACK since, which would open the next one.
	halfOpenDrops   uint32
	halfOpenDrop    icmpNote
	halfOpenPending bool
}

// synOptions records which options a SYN or SYN/ACK carried.
type synOptions uint8

const (
	optSeen synOptions = 1 << iota // the segment was seen
	optMSS
	optWindowScale
	optSACK
	optTimestamps
)

func optionsOf(seg *Segment) synOptions {
	o := optSeen
	if seg.MSS != 0 {
		o |= optMSS
	}
	if seg.WindowScale >= 0 {
		o |= optWindowScale
	}
	if seg.SACKOK {
		o |= optSACK
	}
	if seg.Timestamps {
		o |= optTimestamps
	}
	return o
}

// gather updates the evidence for a segment from e to p, after it was
// classified and the states moved.
func (c *Conn) gather(e, p *endpoint, seg *Segment, kind Kind) {
	t := seg.Time
	if c.rare != nil {
		pev := &c.rare.ev[p.dir]
		pev.tail = 0 // p has heard from e: p's unanswered tail ends
		if kind&KindKeepAlive == 0 {
			pev.keepPending = false // any other segment from e shows it is alive
		}
	}

	if kind&(KindRetransmission|KindKeepAlive|KindZeroWindowProbe|KindSynRetransmission) != 0 {
		ev := c.rareFor(e.dir)
		if ev.tail == 0 {
			ev.tailFirst, ev.tailGap, ev.tailBackoff = t, 0, true
		} else {
			gap := t - ev.tailLast
			// Backoff: every gap at least as long as the one before
			// (with slack for timer jitter).
			if gap < ev.tailGap*4/5 {
				ev.tailBackoff = false
			}
			ev.tailGap = gap
		}
		ev.tail++
		ev.tailLast = t
	}

	if kind&KindKeepAlive != 0 {
		ev := c.rareFor(e.dir)
		if ev.keepFirst == 0 {
			ev.keepFirst = t
		}
		if ev.keepPending {
			ev.keepUnanswered++
		}
		ev.keepLast, ev.keepPending = t, true
	}
	if kind&KindZeroWindowProbe != 0 {
		c.rareFor(e.dir).probes++
	}

	if seg.Flags&RST == 0 {
		switch {
		case seg.Window == 0:
			if ev := c.rareFor(e.dir); ev.zeroSince == 0 {
				ev.zeroSince = t
			}
		case c.rare != nil && c.rare.ev[e.dir].zeroSince != 0:
			ev := &c.rare.ev[e.dir]
			ev.zeroLongest = max(ev.zeroLongest, t-ev.zeroSince)
			ev.zeroSince = 0
		}
	}

	if seg.Flags&SYN != 0 {
		if e.counted(seg) {
			switch {
			case e.nSent == 0:
				e.firstSent = t
			case e.nSent < MaxSYNTimes:
				c.rareFor(e.dir).sentAt[e.nSent] = t
			}
			if e.nSent < MaxSYNTimes {
				e.nSent++
			}
		}
		if e.synOpts == 0 {
			e.synOpts = optionsOf(seg)
		}
	}
}
