package fsm

// direction tracks the sequence space one endpoint sends, in capture order,
// without buffering payload: enough to tell new data from retransmissions
// and to recognise probes and duplicate ACKs (the same distinctions
// Wireshark's tcp.analysis makes).
type direction struct {
	// Fields are ordered widest first so that the struct packs: two of
	// these are in every connection.
	nxt seq // next expected sequence number (highest seq+len seen)
	ack seq // highest acknowledgement this side sent

	// One remembered hole [holeStart, holeEnd): a segment landing in it was
	// out of order rather than retransmitted. An empty hole (holeStart =
	// holeEnd, as in the zero direction) is none.
	holeStart, holeEnd seq

	win uint16 // last window advertised, unscaled
	// slack is how far the largest right edge of the windows this side
	// advertised lies past the latest one, in units of 2^shift rounded
	// up; 0 when the latest is the largest (see rightEdge).
	slack     uint16
	lastProbe Kind // KindKeepAlive or KindZeroWindowProbe if the latest segment was one

	valid    bool // nxt is known
	ackValid bool
	winValid bool
	winInSYN bool  // win came from a SYN, where it is never scaled (RFC 7323 section 2.2)
	shift    uint8 // window scale applied to win, once both SYNs agreed on it
	wscale   int8  // window scale offered in this side's SYN, -1 if none, wscaleUnseen before its SYN
}

// wscaleUnseen is direction.wscale before the side's SYN was seen (a
// connection picked up mid-stream): whether it offered a scale, and so
// whether the windows it and its peer advertise are scaled, is unknown.
const wscaleUnseen int8 = -2

// start sets the next expected sequence number, after a SYN.
func (d *direction) start(nxt seq) {
	d.valid, d.nxt, d.holeStart, d.holeEnd = true, nxt, 0, 0
}

// classify places seg, sent by e to p, in e's sequence space and updates
// both directions' trackers and counters. Step calls it only for a segment
// p takes: one p drops as unacceptable, beyond its window (RFC 9293 section
// 3.10.7.4, see beyondWindow), never reaches here, so none of the branches
// below moves e's highest sequence number, retransmissions or bytes for
// it.
func (c *Conn) classify(e, p *endpoint, seg *Segment) Kind {
	var kind Kind
	tx, rx := &e.tx, &p.tx
	n := seg.seqLen()
	start, end := seg.seqNum(), seg.seqEnd()
	syn := seg.Flags&SYN != 0
	peerProbe := rx.lastProbe
	expected := tx.nxt
	largestEdge, edgeKnown := tx.rightEdge(rx)
	tx.lastProbe = 0

	if syn && seg.WindowScale >= 0 {
		tx.wscale = seg.WindowScale
		if rx.wscale >= 0 && seg.Flags&ACK != 0 {
			// RFC 7323 section 2.2: scaling is on only when both SYNs carry it.
			tx.shift, rx.shift = uint8(min(tx.wscale, 14)), uint8(min(rx.wscale, 14))
		}
	} else if syn {
		tx.wscale = -1
	}

	switch {
	case !tx.valid, syn && e.sentSYN && start != e.isn:
		// First segment, or a SYN with a new ISN (see sendSYN): a new
		// sequence space (RFC 9293 section 3.4), nothing to test it
		// against.
		tx.start(end)
		if seg.Len > 0 {
			kind |= KindNewData
		}
	case keepaliveShaped(tx, rx, seg):
		// Below RCV.NXT, so unacceptable and answered with an ACK (RFC
		// 9293 section 3.10.7.4), which is what a probe is for: it moves
		// nothing.
		if rx.winValid && rx.win == 0 {
			kind |= KindZeroWindowProbe
		} else {
			kind |= KindKeepAlive
			c.rareFor(e.dir).keepalives++
		}
		tx.lastProbe = kind
	case n == 0:
		// No sequence space: acceptable in the window (RFC 9293 section
		// 3.10.7.4, the first two cases). Past the sender's next
		// sequence number, it shows that segments before it were not
		// captured.
		if tx.nxt.lessThan(start) {
			kind |= KindGap
			tx.nxt = start
		}
	case start == tx.nxt:
		// In order (RFC 9293 section 3.10.7.4, the fourth case: its
		// first octet in the window). A zero-window probe, unacceptable
		// in a zero window (the third case), keeps the place the
		// sender gives its byte.
		if zeroWindowProbeShaped(tx, rx, seg) {
			kind |= KindZeroWindowProbe
			tx.lastProbe = KindZeroWindowProbe
		} else if seg.Len > 0 {
			kind |= KindNewData
		}
		tx.nxt = end
	case tx.nxt.lessThan(start):
		// Past the sender's next sequence number but in the window (the
		// fourth case; the receiver queues it out of order): the
		// segments before it were not captured.
		kind |= KindGap
		if seg.Len > 0 {
			kind |= KindNewData
		}
		tx.holeStart, tx.holeEnd = tx.nxt, start
		tx.nxt = end
	default:
		// Starts before the sender's next sequence number: it fills a
		// hole left by a gap, or the sender sent it again. If it reaches
		// past RCV.NXT it is acceptable (the fourth case: its last octet
		// in the window; Linux tcp_sequence takes a segment overlapping
		// the left edge too); if it ends before, the receiver answers it
		// with an ACK and drops it, but its sender did retransmit it
		// (see beyondWindow).
		if tx.holeStart.lessThanEq(start) && start.lessThan(tx.holeEnd) {
			kind |= KindOutOfOrder
			if start == tx.holeStart {
				tx.holeStart = end
			}
			if tx.holeEnd.lessThanEq(tx.holeStart) {
				tx.holeStart = tx.holeEnd // filled
			}
		} else if !syn {
			kind |= KindRetransmission
			e.retransmits++
		}
		if tx.nxt.lessThan(end) {
			tx.nxt = end
		}
	}
	if len(c.droppedFrom(e.dir)) > 0 && c.passDropped(e, expected, seg, kind&KindGap != 0) {
		// The segments before it were seen: its receiver dropped them
		// beyond its window (see takeBack). No gap, and no hole for them
		// to fill: sent again, they are retransmissions.
		kind &^= KindGap
		if tx.holeStart == expected && tx.holeEnd == start {
			tx.holeStart = tx.holeEnd
		}
	}
	if kind&KindGap != 0 {
		if a := c.note(AnomalySegmentNotCaptured, seg); a != nil {
			a.Detail = "segment starts at seq " + uitoa(seg.Seq) + ", expected " + uitoa(uint32(expected))
		}
	}

	if seg.Flags&ACK != 0 {
		ack := seg.ackNum()
		if rx.valid && rx.nxt.lessThan(ack) {
			// An acknowledgement of more than p was seen sending. RFC
			// 9293 section 3.10.7.4 ("fifth, check the ACK field") has p
			// drop a segment acknowledging what p never sent; the
			// observer, which cannot tell that from a capture that
			// missed p's segments, takes the latter, as Wireshark does,
			// and moves p's next sequence number to it.
			kind |= KindAckUnseen
			// A capture of one direction only (p never seen) cannot show
			// what e acknowledges: no anomaly there.
			if oneSided := p.packets == 0 && c.rare != nil && c.rare.oneSided; !oneSided {
				if a := c.note(AnomalyAckUnseen, seg); a != nil {
					a.Detail = "ack " + uitoa(seg.Ack) + " beyond the " + Dir(1-seg.Dir).String() + "'s next sequence number " + uitoa(uint32(rx.nxt))
				}
			}
			rx.nxt = ack
		}
		if n == 0 && tx.ackValid && ack == tx.ack && kind&(KindKeepAlive|KindZeroWindowProbe) == 0 {
			switch {
			case tx.winValid && !tx.winInSYN && seg.Window != tx.win:
				kind |= KindWindowUpdate
			case peerProbe == KindKeepAlive:
				kind |= KindKeepAliveAck
			case peerProbe == KindZeroWindowProbe:
				kind |= KindZeroWindowProbeAck
			case rx.valid && ack.lessThan(rx.nxt):
				kind |= KindDupAck
				c.rareFor(e.dir).dupAcks++
			}
		}
		if !tx.ackValid || tx.ack.lessThan(ack) {
			tx.ack, tx.ackValid = ack, true
		}
	}
	if seg.Window == 0 {
		kind |= KindZeroWindow
		if !tx.winValid || tx.win != 0 {
			c.rareFor(e.dir).zeroWindows++
		}
	}
	tx.win, tx.winValid, tx.winInSYN = seg.Window, true, syn
	// RFC 9293 section 3.8.6: a receiver should not shrink its window
	// (move its right edge left), and a sender may have sent up to the
	// edge it saw before: remember the largest.
	tx.slack = 0
	if edge, ok := tx.rightEdge(rx); ok && edgeKnown && edge.lessThan(largestEdge) {
		tx.slack = uint16(min((edge.size(largestEdge)+1<<tx.shift-1)>>tx.shift, 0xffff))
	}
	return kind
}

// keepaliveShaped reports whether seg, sent by tx's side to rx's, has the
// shape of a keepalive: RFC 9293 section 3.8.4 sends it with SEG.SEQ =
// SND.NXT-1; Linux sends SND.UNA-1 (tcp_xmit_probe_skb), for keepalives
// and for zero-window probes alike. It carries 0 or 1 byte.
func keepaliveShaped(tx, rx *direction, seg *Segment) bool {
	return seg.Flags&(SYN|FIN) == 0 && seg.Len <= 1 && (seg.seqNum() == tx.nxt-1 || rx.ackValid && seg.seqNum() == rx.ack-1)
}

// zeroWindowProbeShaped reports whether seg is one byte of new data sent
// into rx's zero window: the probe of RFC 9293 section 3.8.6.1 as most
// stacks other than Linux send it.
func zeroWindowProbeShaped(tx, rx *direction, seg *Segment) bool {
	return seg.Flags&(SYN|FIN) == 0 && seg.Len == 1 && seg.seqNum() == tx.nxt && rx.winValid && rx.win == 0
}

// acceptable is RFC 9293 section 3.10.7.4's acceptability test ("first,
// check sequence number") of a segment at seq occupying segLen of sequence
// space (SYN and FIN count) by a receiver at rcvNxt with a window of rcvWnd
// bytes, in its four cases:
//
//	SEG.LEN  RCV.WND  acceptable when
//	0        0        SEG.SEQ = RCV.NXT
//	0        >0       RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
//	>0       0        never
//	>0       >0       RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND, or
//	                  RCV.NXT =< SEG.SEQ+SEG.LEN-1 < RCV.NXT+RCV.WND
//
// The comparisons are in sequence space, modulo 2^32 (see seq.inWindow).
func acceptable(segSeq seq, segLen seqSize, rcvNxt seq, rcvWnd seqSize) bool {
	switch {
	case segLen == 0 && rcvWnd == 0:
		return segSeq == rcvNxt
	case segLen == 0:
		return segSeq.inWindow(rcvNxt, rcvWnd)
	case rcvWnd == 0:
		return false
	}
	return segSeq.inWindow(rcvNxt, rcvWnd) || segSeq.add(segLen-1).inWindow(rcvNxt, rcvWnd)
}

// window returns, in bytes, the receive window the side d tracks last
// advertised, and whether it is known: d's window was seen, and its scale
// is known (RFC 7323 section 2.2: a window in a SYN is never scaled;
// after the SYNs, only when both offered a scale). peer is the other
// side. Where a SYN was not seen (a connection picked up mid-stream) the
// scale is unknown, and so is the window, unless the other SYN, seen
// without the option, shows that neither side scales.
func (d *direction) window(peer *direction) (seqSize, bool) {
	if !d.winValid {
		return 0, false
	}
	win := seqSize(d.win)
	switch {
	case d.winInSYN:
		return win, true
	case d.wscale == -1 || peer.wscale == -1:
		return win, d.shift == 0
	case d.wscale == wscaleUnseen || peer.wscale == wscaleUnseen:
		return 0, false
	}
	// Both SYNs offered a scale: classify set the shift when the second
	// carried the ACK; one out of capture order leaves it unset.
	return win << d.shift, d.shift == uint8(min(d.wscale, 14))
}

// rightEdge returns the right edge of the windows the side d tracks
// advertised, RCV.NXT+RCV.WND in its peer's sequence space, and whether it
// is known (d acknowledged something and its window is known, see
// window). It is the largest edge d advertised (see slack), not the
// latest, unless d's latest window is 0: a receiver closing its window
// takes no data (RFC 9293 section 3.10.7.4's table), and Linux, which
// never moves its edge left (tcp_select_window), advertises a zero window
// only once RCV.NXT has reached the edge.
func (d *direction) rightEdge(peer *direction) (seq, bool) {
	wnd, known := d.window(peer)
	if !known || !d.ackValid {
		return 0, false
	}
	if wnd == 0 {
		return d.ack, true
	}
	return d.ack.add(wnd + seqSize(d.slack)<<d.shift), true
}

// uitoa formats without fmt, for details built on the first anomaly only.
func uitoa(v uint32) string {
	var b [10]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}
