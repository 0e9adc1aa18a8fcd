package zeek

// reassembler models what of Zeek's TCP_Reassembler (src/Reassem.cc,
// src/analyzer/protocol/tcp/TCP_Reassembler.cc) decides conn.log: content
// gaps (G/g) when an acknowledgement covers data never seen, and whether
// data is still pending when a side closes (ConnectionClosed defers the
// close). Zeek turns reassembly on for every TCP connection
// (dpd_reassemble_first_packets defaults to true). Payload is not kept:
// only sequence ranges, relative to the endpoint's start (data starts at 1).
type reassembler struct {
	lastReassem uint64 // next octet to deliver (last_reassem_seq)
	trimSeq     uint64 // below this, everything was acknowledged (trim_seq)
	high        uint64 // upper end of the buffered blocks, delivered or not
	// holes are the blocks above the first hole, lowest first; allocated
	// with the first, since most connections arrive in order and this
	// saves a tenth of a connection's memory.
	holes   *[maxHoleBlocks]span
	nHoles  uint8
	skip    bool // skip_deliveries
	didEOF  bool
	started bool
}

// span is a block received above a hole: [lo, hi).
type span struct{ lo, hi uint64 }

const maxHoleBlocks = 4

func (re *reassembler) init() {
	if !re.started {
		re.started, re.lastReassem, re.trimSeq = true, 1, 1
	}
}

// hasBlocks is Reassembler::HasBlocks: data buffered, delivered or not,
// that the peer has not acknowledged.
func (re *reassembler) hasBlocks() bool { return re.high > re.trimSeq }

// dataSent is TCP_Reassembler::DataSent followed by Reassembler::NewBlock
// and BlockInserted.
func (c *Conn) dataSent(e *endpoint, seq, n uint64) {
	re := &e.re
	re.init()
	if re.skip {
		return
	}
	ack := full(e.ackSeq, e.ackWraps) - uint64(e.startSeq)
	upper := seq + n
	if seq < ack {
		if upper <= ack {
			return // delivered and acknowledged already
		}
		seq = ack
	}
	if upper <= re.trimSeq {
		return
	}
	if seq < re.trimSeq {
		seq = re.trimSeq
	}
	if upper > re.high {
		re.high = upper
	}
	if seq > re.lastReassem {
		re.addHole(seq, upper)
	} else if upper > re.lastReassem {
		re.lastReassem = upper
		re.drainHoles()
		if e.noDataAcked() && e.size(c.peer(e)) > maxInitialWindow {
			// BlockInserted: much data, none acknowledged: the peer's
			// ACKs are probably not seen; stop holding delivered data.
			c.trim(e, re.lastReassem)
		}
	}
	if e.noDataAcked() && re.nHoles > 0 && re.holes[re.nHoles-1].hi-re.lastReassem > maxAboveHole {
		// tcp_max_above_hole_without_any_acks
		re.nHoles, re.high, re.skip = 0, re.trimSeq, true
	}
}

// addHole records [lo, hi) above the first hole, merging overlaps.
func (re *reassembler) addHole(lo, hi uint64) {
	if re.holes == nil {
		re.holes = new([maxHoleBlocks]span)
	}
	i := 0
	for i < int(re.nHoles) && re.holes[i].hi < lo {
		i++
	}
	j := i
	for j < int(re.nHoles) && re.holes[j].lo <= hi {
		lo, hi = min(lo, re.holes[j].lo), max(hi, re.holes[j].hi)
		j++
	}
	if i == j && int(re.nHoles) == maxHoleBlocks {
		// No room: fold it into the nearest neighbour.
		if i == maxHoleBlocks {
			i--
		}
		re.holes[i] = span{min(lo, re.holes[i].lo), max(hi, re.holes[i].hi)}
		return
	}
	// Replace holes[i:j] by the merged span.
	copy(re.holes[i+1:], re.holes[j:re.nHoles])
	re.nHoles = uint8(int(re.nHoles) - (j - i) + 1)
	re.holes[i] = span{lo, hi}
}

// drainHoles delivers the blocks the advance of lastReassem reached.
func (re *reassembler) drainHoles() {
	k := 0
	for k < int(re.nHoles) && re.holes[k].lo <= re.lastReassem {
		re.lastReassem = max(re.lastReassem, re.holes[k].hi)
		k++
	}
	if k > 0 {
		copy(re.holes[:], re.holes[k:re.nHoles])
		re.nHoles -= uint8(k)
	}
}

// ackReceived is TCP_Endpoint::AckReceived / TCP_Reassembler::AckReceived
// on endpoint e, whose data the peer acknowledged up to seq (relative).
func (c *Conn) ackReceived(e *endpoint, seq uint64) {
	re := &e.re
	re.init()
	if e.finCnt > 0 && seq >= e.finSeq {
		seq = e.finSeq - 1
	}
	if seq <= re.trimSeq {
		return
	}
	c.trim(e, seq)
	c.checkEOF(e)
}

// trim is Reassembler::TrimToSeq: data acknowledged but never delivered is
// undelivered (TCP_Reassembler::Undelivered), and its holes are gaps.
func (c *Conn) trim(e *endpoint, seq uint64) {
	re := &e.re
	if seq > re.lastReassem {
		c.undelivered(e, seq)
	}
	re.trimSeq = seq
	for re.nHoles > 0 && re.holes[0].hi <= seq {
		copy(re.holes[:], re.holes[1:re.nHoles])
		re.nHoles--
	}
	if re.nHoles > 0 && re.holes[0].lo < seq {
		re.holes[0].lo = seq
	}
}

func (c *Conn) undelivered(e *endpoint, upTo uint64) {
	re := &e.re
	if upTo <= 2 && c.isPartial {
		// A partial connection's faked-up initial sequence numbers.
		return
	}
	if !re.skip {
		for re.nHoles > 0 && re.holes[0].lo < upTo {
			if re.holes[0].lo > re.lastReassem {
				c.gap(e)
				re.lastReassem = re.holes[0].lo
			}
			re.drainHoles()
		}
		if upTo > re.lastReassem {
			c.gap(e)
		}
	}
	if upTo > re.lastReassem {
		re.lastReassem = upTo
	}
}

func isClean(e *endpoint) bool {
	return e.state == Established || e.state == Closed && e.prevState == Established
}

// gap is TCP_Reassembler::Gap: the G/g letter, for connections established
// or cleanly closing on both sides.
func (c *Conn) gap(e *endpoint) {
	if isClean(e) && isClean(c.peer(e)) && e.scaled.hit(scaledGap) {
		c.addLetter(e, 'G')
	}
}

// dataPending is TCP_Reassembler::DataPending for the closing endpoint e.
func (c *Conn) dataPending(e *endpoint) bool {
	re := &e.re
	re.init()
	if re.skip {
		return false
	}
	delivered := uint64(e.startSeq) + re.lastReassem
	last := full(e.lastSeq, e.seqWraps)
	if last < delivered {
		return false
	}
	if delivered != last-1 && delivered != last {
		return true
	}
	p := c.peer(e)
	p.re.init()
	return e.state != Reset && p.re.hasBlocks()
}

// checkEOF is TCP_Reassembler::CheckEOF and TCPSessionAdapter::EndpointEOF:
// once a closing side has delivered everything, a deferred close happens.
func (c *Conn) checkEOF(e *endpoint) {
	re := &e.re
	re.init()
	if re.didEOF || !(e.finCnt > 0 || e.state == Closed || e.state == Reset) || c.dataPending(e) {
		return
	}
	re.didEOF = true
	if c.is(closeDeferred) {
		c.connectionClosed(e, c.peer(e), c.is(deferredGenEvent))
		c.set(closeDeferred, false)
	}
}
