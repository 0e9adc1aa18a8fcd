package zeek

// The history string of conn.log: one letter per event, upper case for the
// originator, lower case for the responder (TCP_Endpoint::HistoryMasks).

// History masks (TCP_Endpoint::HistoryMasks); the responder's are shifted
// left by 16.
const (
	histSYN    uint32 = 0x1
	histFIN    uint32 = 0x2
	histRST    uint32 = 0x4
	histFINRST uint32 = 0x8
	histData   uint32 = 0x10
	histACK    uint32 = 0x20
	histMulti  uint32 = 0x40
)

// MaxHistory bounds the history string. Zeek's is unbounded, but only S, H,
// F and R can repeat without the logarithmic scale, and only when the
// sequence number changes.
const MaxHistory = 48

// histAlphabet holds every letter a history can have: '^' and each event's
// letter in upper and lower case. A letter is kept as its index here, in
// histBits bits, histPerWord to a word of Conn.hist.
const histAlphabet = "^SHADFRCTWGIQshadfrctwgiq"

const (
	histBits    = 5
	histPerWord = 64 / histBits
	histWords   = (MaxHistory + histPerWord - 1) / histPerWord
	histMask    = 1<<histBits - 1
)

// histCodes maps a letter of histAlphabet to its index, and histLetters
// an index back to its letter (a table of every 5-bit value, so that
// reading one needs no bounds check).
var histCodes, histLetters = func() (codes [256]uint8, letters [histMask + 1]byte) {
	for i := range len(histAlphabet) {
		codes[histAlphabet[i]] = uint8(i)
		letters[i] = histAlphabet[i]
	}
	return codes, letters
}()

// setLetter stores letter b at position i of the history.
func (c *Conn) setLetter(i int, b byte) {
	w, shift := i/histPerWord, uint(i%histPerWord)*histBits
	c.hist[w] = c.hist[w]&^(histMask<<shift) | uint64(histCodes[b])<<shift
}

// letter returns the letter at position i of the history.
func (c *Conn) letter(i int) byte {
	return histLetters[c.hist[i/histPerWord]>>(uint(i%histPerWord)*histBits)&histMask]
}

// history returns the history string.
func (c *Conn) history() string {
	var b [MaxHistory]byte
	n := int(c.histLen)
	for i, w := 0, 0; i < n; w++ {
		word := c.hist[w]
		for j := 0; j < histPerWord && i < n; j++ {
			b[i] = histLetters[word&histMask]
			word >>= histBits
			i++
		}
	}
	return string(b[:n])
}

// addByte appends letter b to the history, unless it is full. The bits
// past the last letter are always zero (a new Conn has none set, and
// setLetter rewrites only letters there are), so appending is an or.
func (c *Conn) addByte(b byte) {
	if n := c.histLen; n < MaxHistory {
		c.hist[n/histPerWord] |= uint64(histCodes[b]) << (n % histPerWord * histBits)
		c.histLen = n + 1
	}
}

// addLetter is TCP_Endpoint::AddHistory: lower case for the responder.
func (c *Conn) addLetter(e *endpoint, code byte) {
	if !e.isOrig {
		code += 'a' - 'A'
	}
	c.addByte(code)
}

// checkHistory is TCP_Endpoint::CheckHistory / Connection::CheckHistory:
// it adds the letter the first time and reports whether it was seen before.
func (c *Conn) checkHistory(e *endpoint, mask uint32, code byte) bool {
	if !e.isOrig {
		mask <<= 16
	}
	if c.histSeen&mask == 0 {
		c.histSeen |= mask
		c.addLetter(e, code)
		return false
	}
	return true
}

// updateHistory is update_history.
func (c *Conn) updateHistory(e *endpoint, syn, fin, rst, ack bool, relSeq uint64, n int) {
	bits := 0
	for _, b := range [3]bool{syn, fin, rst} {
		if b {
			bits++
		}
	}
	switch {
	case bits > 1:
		if fin && rst {
			c.checkHistory(e, histFINRST, 'I')
		} else {
			c.checkHistory(e, histMulti, 'Q')
		}
	case bits == 1:
		if syn {
			code := byte('S')
			if ack {
				code = 'H'
			}
			if c.checkHistory(e, histSYN, code) && relSeq != e.histLastSYN {
				c.addLetter(e, code)
			}
			e.histLastSYN = relSeq
		}
		if fin {
			// A FIN's sequence number is the one after its data.
			if c.checkHistory(e, histFIN, 'F') && relSeq+uint64(n) != e.histLastFIN {
				c.addLetter(e, 'F')
			}
			e.histLastFIN = relSeq + uint64(n)
		}
		if rst {
			if c.checkHistory(e, histRST, 'R') && relSeq != e.histLastRST {
				c.addLetter(e, 'R')
			}
			e.histLastRST = relSeq
		}
	default:
		if n > 0 {
			c.checkHistory(e, histData, 'D')
		} else if ack {
			c.checkHistory(e, histACK, 'A')
		}
	}
}

// rstos0History matches /\^?S[^HAFGIQ]*R.*/ against the whole history.
func rstos0History(h string) bool {
	if len(h) > 0 && h[0] == '^' {
		h = h[1:]
	}
	if len(h) == 0 || h[0] != 'S' {
		return false
	}
	for i := 1; i < len(h); i++ {
		switch h[i] {
		case 'R':
			return true
		case 'H', 'A', 'F', 'G', 'I', 'Q':
			return false
		}
	}
	return false
}
