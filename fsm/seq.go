package fsm

// seqLess reports whether a comes before b in sequence space (RFC 9293
// section 3.4), correct across the 2^32 wrap as long as the two are less
// than 2^31 apart.
func seqLess(a, b uint32) bool { return int32(a-b) < 0 }

// seqInWindow reports whether s lies in [start, start+size).
func seqInWindow(s, start uint32, size uint32) bool {
	return s-start < size
}
