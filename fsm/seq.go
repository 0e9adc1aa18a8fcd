package fsm

// seq is a TCP sequence (or acknowledgement) number. RFC 9293 section 3.4
// ("sequence numbers") defines its space: 0 to 2^32-1, all arithmetic
// modulo 2^32, so that "less than" means "comes before" in a space that
// wraps. The methods compare it so; the plain operators < and <= on a seq
// would be wrong across the wrap. The exported API (Segment.Seq and Ack,
// ICMPError.Seq) keeps uint32 and converts at the boundary.
type seq uint32

// seqSize is a length of sequence space, such as the octets a segment
// occupies (SYN and FIN counted) or a receive window.
type seqSize uint32

// lessThan reports whether s comes before t: s < t modulo 2^32 (RFC 9293
// section 3.4), correct across the wrap while the two are less than 2^31
// apart. Exactly 2^31 apart, each comes before the other.
func (s seq) lessThan(t seq) bool { return int32(s-t) < 0 }

// lessThanEq reports whether s is t or comes before it: s =< t modulo 2^32
// (RFC 9293 section 3.4), that is, t does not come before s. Exactly 2^31
// apart, neither is =< the other.
func (s seq) lessThanEq(t seq) bool { return !t.lessThan(s) }

// inWindow reports whether s lies in the window of size sequence numbers
// that starts at first: first =< s < first+size modulo 2^32, as RFC 9293
// section 3.10.7.4 tests RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND. A window of
// size 0 holds nothing.
func (s seq) inWindow(first seq, size seqSize) bool { return seqSize(s-first) < size }

// add returns the sequence number n past s: the first after the n
// sequence numbers [s, s+n).
func (s seq) add(n seqSize) seq { return s + seq(n) }

// size returns the length of [s, t): how far t lies past s, modulo 2^32.
func (s seq) size(t seq) seqSize { return seqSize(t - s) }
