package fsm

// maxRetries bounds the SYN (or SYN/ACK) transmission times remembered per
// side: enough to read Linux's backoff (1 s, 2 s, 4 s, …) and count retries.
const maxRetries = 8

// evidence is what diagnoses need beyond the states: when probes, waits and
// retries happened. It lives in fixed-size fields per endpoint.
type evidence struct {
	sentAt [maxRetries]int64 // times of this side's SYN or SYN/ACK transmissions
	nSent  uint8

	synOpts synOptions // options on this side's first SYN or SYN/ACK

	closeWaitAt int64 // when this side received the peer's FIN while open (entered CLOSE_WAIT)

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
	ev, pev := &e.ev, &p.ev

	// p has heard from e: p's unanswered tail ends.
	pev.tail = 0

	if kind&(KindRetransmission|KindKeepAlive|KindZeroWindowProbe|KindSynRetransmission) != 0 {
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
		if ev.keepFirst == 0 {
			ev.keepFirst = t
		}
		if ev.keepPending {
			ev.keepUnanswered++
		}
		ev.keepLast, ev.keepPending = t, true
	}
	if kind&KindKeepAlive == 0 {
		pev.keepPending = false // any other segment from e shows it is alive
	}
	if kind&KindZeroWindowProbe != 0 {
		ev.probes++
	}

	if seg.Flags&RST == 0 {
		switch {
		case seg.Window == 0 && ev.zeroSince == 0:
			ev.zeroSince = t
		case seg.Window != 0 && ev.zeroSince != 0:
			ev.zeroLongest = max(ev.zeroLongest, t-ev.zeroSince)
			ev.zeroSince = 0
		}
	}

	if seg.Flags&SYN != 0 {
		if ev.nSent < maxRetries {
			ev.sentAt[ev.nSent] = t
			ev.nSent++
		}
		if ev.synOpts == 0 {
			ev.synOpts = optionsOf(seg)
		}
	}
}
