package fsm

// Flags is the TCP flag byte plus NS, in wire order (RFC 9293 section 3.1).
type Flags uint16

// TCP header flags.
const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
	NS
)

// SYNACK is the second segment of the three-way handshake.
const SYNACK = SYN | ACK

// Has reports whether every flag in want is set.
func (f Flags) Has(want Flags) bool { return f&want == want }

// String spells the flags as tcpdump does ("S", "S.", "F.", "R.", "P.").
func (f Flags) String() string {
	var b [9]byte
	n := 0
	for _, c := range flagLetters {
		if f&c.flag != 0 {
			b[n] = c.letter
			n++
		}
	}
	if n == 0 {
		return "none"
	}
	return string(b[:n])
}

var flagLetters = [...]struct {
	flag   Flags
	letter byte
}{{SYN, 'S'}, {FIN, 'F'}, {PSH, 'P'}, {RST, 'R'}, {URG, 'U'}, {ECE, 'E'}, {CWR, 'W'}, {NS, 'N'}, {ACK, '.'}}

// Dir says which endpoint sent a segment.
type Dir uint8

// Directions. The client is the endpoint that sent the first SYN; for a
// connection picked up mid-stream, the one package flow chose.
const (
	FromClient Dir = iota
	FromServer
)

func (d Dir) String() string {
	if d == FromClient {
		return "client"
	}
	return "server"
}

// Segment is what the state machine needs from one TCP segment.
type Segment struct {
	Time   int64 // packet timestamp, Unix nanoseconds
	Dir    Dir
	Flags  Flags
	Seq    uint32
	Ack    uint32
	Window uint16
	Len    int // payload bytes, from the IP length fields
	IPLen  int // bytes of the IP packet, for per-side IP byte counts

	// Options from a SYN or SYN/ACK.
	MSS         uint16
	WindowScale int8 // -1 when absent
	SACKOK      bool
	Timestamps  bool
}

// seqNum is the segment's sequence number, SEG.SEQ, in sequence space.
func (s *Segment) seqNum() seq { return seq(s.Seq) }

// ackNum is the segment's acknowledgement number, SEG.ACK, in sequence
// space.
func (s *Segment) ackNum() seq { return seq(s.Ack) }

// seqEnd is the sequence number after the sequence space the segment
// occupies: SEG.SEQ+SEG.LEN.
func (s *Segment) seqEnd() seq { return s.seqNum().add(s.seqLen()) }

// seqLen is the sequence space the segment occupies, SEG.LEN: SYN and FIN
// count one each (RFC 9293 section 3.4).
func (s *Segment) seqLen() seqSize {
	n := seqSize(s.Len)
	if s.Flags&SYN != 0 {
		n++
	}
	if s.Flags&FIN != 0 {
		n++
	}
	return n
}
