package fsm

import (
	"fmt"
	"slices"
)

// MaxDroppedSegments bounds the segments of one side, dropped beyond its
// peer's window, that are remembered for the peer's acknowledgement to
// take back (see takeBack). Later ones stay dropped.
const MaxDroppedSegments = 64

// droppedSegment is a segment its receiver dropped beyond its window
// (beyondWindow), remembered in case the receiver's acknowledgement later
// covers it.
type droppedSegment struct {
	seq    seq     // the sequence space it occupies, [seq, seq+seqLen)
	seqLen seqSize // SYN and FIN counted
	time   int64
	fin    bool
	resent bool // it repeats sequence space of an earlier dropped segment
}

func (d *droppedSegment) end() seq { return d.seq.add(d.seqLen) }

// droppedSegments holds, for each side (indexed by Dir), the segments it
// sent that its peer dropped beyond the window, in capture order.
type droppedSegments [2][]droppedSegment

// rememberDrop keeps seg, from e, which its receiver drops beyond its
// window, for takeBack.
func (c *Conn) rememberDrop(e *endpoint, seg *Segment) {
	if c.rare.dropped == nil {
		c.rare.dropped = new(droppedSegments)
	}
	segs := &c.rare.dropped[e.dir]
	if len(*segs) >= MaxDroppedSegments {
		return
	}
	d := droppedSegment{seq: seg.seqNum(), seqLen: seg.seqLen(), time: seg.Time, fin: seg.Flags&FIN != 0}
	for _, o := range *segs {
		if d.seqLen > 0 && d.seq.lessThan(o.end()) && o.seq.lessThan(d.end()) {
			d.resent = true
			break
		}
	}
	*segs = append(*segs, d)
}

// droppedFrom returns the dropped segments side d sent and still
// remembers.
func (c *Conn) droppedFrom(d Dir) []droppedSegment {
	if c.rare == nil || c.rare.dropped == nil {
		return nil
	}
	return c.rare.dropped[d]
}

// passDropped updates e's dropped segments for seg, which its receiver
// took, and reports whether seg's gap (it starts past expected, e's next
// sequence number before it) is made of them: the capture did not miss
// the segments before it, its receiver dropped them. A dropped segment
// that seg covers again was sent again and taken: its drop was real, and
// seg is what the receiver has, so it is forgotten.
func (c *Conn) passDropped(e *endpoint, expected seq, seg *Segment, gap bool) (explained bool) {
	segs := c.droppedFrom(e.dir)
	start, end := seg.seqNum(), seg.seqEnd()
	if gap {
		pos := expected
		for moved := true; moved && pos.lessThan(start); {
			moved = false
			for i := range segs {
				if d := &segs[i]; d.seq.lessThanEq(pos) && pos.lessThan(d.end()) {
					pos, moved = d.end(), true
				}
			}
		}
		explained = start.lessThanEq(pos)
	}
	if end != start {
		c.rare.dropped[e.dir] = slices.DeleteFunc(segs, func(d droppedSegment) bool {
			return d.seq.lessThan(end) && start.lessThan(d.end())
		})
	}
	return explained
}

// takeBack applies what r's acknowledgement in seg proves about the
// segments of s that r was taken to drop beyond its window: r has
// received everything before seg.Ack, so it took each one that ends
// there or before. Its window was larger than the capture showed: the
// segment that advertised it (a window update, or an acknowledgement
// with a larger window) was not captured. Each such segment now counts as
// it would have when it was seen: its bytes, its place in s's sequence
// space (a retransmission if it repeated an earlier one), its FIN; its
// segment_beyond_window is taken back, and window_update_not_captured,
// noted on seg, says why. It reports whether that noted the anomaly
// first.
func (c *Conn) takeBack(s, r *endpoint, seg *Segment) (noted bool) {
	segs := c.droppedFrom(s.dir)
	if len(segs) == 0 {
		return false
	}
	var taken int
	var first droppedSegment
	keep := segs[:0]
	for _, d := range segs {
		if seg.ackNum().lessThan(d.end()) {
			keep = append(keep, d)
			continue
		}
		if taken == 0 {
			first = d
		}
		taken++
		payload := d.seqLen
		if d.fin {
			payload--
		}
		s.bytes += uint64(payload)
		if d.resent {
			s.retransmits++
		}
		switch {
		case !s.tx.valid:
			s.tx.start(d.end())
		case s.tx.nxt.lessThan(d.end()):
			s.tx.nxt = d.end()
		}
		if payload > 0 || d.fin {
			flags := ACK
			if d.fin {
				flags |= FIN
			}
			as := Segment{Time: d.time, Dir: s.dir, Flags: flags, Seq: uint32(d.seq), Len: int(payload)}
			if d.fin {
				c.sendFIN(s, r, &as, 0)
			}
			if payload > 0 {
				c.checkData(s, r, &as)
			}
		}
	}
	c.rare.dropped[s.dir] = keep
	if taken == 0 {
		return false
	}
	c.unnote(AnomalySegmentBeyondWindow, taken)
	kinds := len(c.rare.anomalies)
	if a := c.note(AnomalyWindowUpdateNotCaptured, seg); a != nil {
		a.Detail = fmt.Sprintf("ack %d from the %s covers seq %d len %d from the %s, seen past the right edge of its window: it took it, and the segment that opened its window was not captured",
			seg.Ack, seg.Dir, first.seq, uint32(first.seqLen)-boolToUint32(first.fin), s.dir)
		a.Count += taken - 1
	} else {
		c.addCount(AnomalyWindowUpdateNotCaptured, taken-1)
	}
	return len(c.rare.anomalies) > kinds
}

func boolToUint32(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// unnote takes back n occurrences of the anomaly name, removing it when
// none is left.
func (c *Conn) unnote(name string, n int) {
	r := c.rare
	for i := range r.anomalies {
		if r.anomalies[i].Name != name {
			continue
		}
		if r.anomalies[i].Count > n {
			r.anomalies[i].Count -= n
			return
		}
		// A copy: a Result returned before keeps the list it had.
		r.anomalies = slices.Delete(slices.Clone(r.anomalies), i, i+1)
		return
	}
}

// addCount adds n occurrences to the anomaly name, already noted.
func (c *Conn) addCount(name string, n int) {
	for i := range c.rare.anomalies {
		if c.rare.anomalies[i].Name == name {
			c.rare.anomalies[i].Count += n
			return
		}
	}
}
