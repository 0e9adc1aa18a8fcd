package zeek

import (
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/tcpfsm/tcpfsm/fsm"
)

// Hand-built segment sequences. The client is 10.0.0.1:40000 and the server
// 10.0.0.2:port; c→ marks a segment from the client, s→ one from the server.

const (
	cISN = 1000
	sISN = 5000
	ms   = int64(1e6)
	sec  = int64(1e9)
)

type pk struct {
	at    int64 // ms after the start unless abs is set
	dir   fsm.Dir
	flags fsm.Flags
	seq   uint32
	ack   uint32
	n     int
	win   uint16
	bad   bool // bad checksum
	cut   bool // payload not captured
}

func c2s(at int64, f fsm.Flags, seq, ack uint32, n int) pk {
	return pk{at: at, dir: fsm.FromClient, flags: f, seq: seq, ack: ack, n: n, win: 1000}
}

func s2c(at int64, f fsm.Flags, seq, ack uint32, n int) pk {
	return pk{at: at, dir: fsm.FromServer, flags: f, seq: seq, ack: ack, n: n, win: 1000}
}

const (
	S  = fsm.SYN
	SA = fsm.SYN | fsm.ACK
	A  = fsm.ACK
	PA = fsm.PSH | fsm.ACK
	FA = fsm.FIN | fsm.ACK
	R  = fsm.RST
	RA = fsm.RST | fsm.ACK
)

// handshake: S, h, A at 0, 1, 2 ms.
func handshake() []pk {
	return []pk{
		c2s(0, S, cISN, 0, 0),
		s2c(1, SA, sISN, cISN+1, 0),
		c2s(2, A, cISN+1, sISN+1, 0),
	}
}

func join(parts ...[]pk) []pk {
	var out []pk
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func toSeg(p pk) fsm.Segment {
	return fsm.Segment{Time: p.at * ms, Dir: p.dir, Flags: p.flags, Seq: p.seq, Ack: p.ack, Window: p.win,
		Len: p.n, IPLen: 40 + p.n, WindowScale: -1}
}

// run feeds the packets to one Conn (no splitting) and returns its summary.
func run(t *testing.T, serverPort uint16, pkts []pk) Summary {
	t.Helper()
	var c *Conn
	for _, p := range pkts {
		seg := toSeg(p)
		if c == nil {
			c = NewConn(&seg, 40000, serverPort, nil)
		}
		captured := seg.Len
		if p.cut {
			captured = 0
		}
		c.StepCaptured(&seg, p.bad, captured)
	}
	return c.Summary()
}

// records splits the packets with NewConnection, as a flow table would.
func records(pkts []pk) []Summary {
	var out []Summary
	var c *Conn
	for _, p := range pkts {
		seg := toSeg(p)
		if c != nil && c.NewConnection(&seg) {
			out = append(out, c.Summary())
			c = nil
		}
		if c == nil {
			c = NewConn(&seg, 40000, 9999, nil)
		}
		c.Step(&seg, p.bad)
	}
	if c != nil {
		out = append(out, c.Summary())
	}
	return out
}

func TestConnState(t *testing.T) {
	data := []pk{
		c2s(3, PA, cISN+1, sISN+1, 100),
		s2c(4, PA, sISN+1, cISN+101, 50),
	}
	tests := []struct {
		name   string
		port   uint16
		pkts   []pk
		state  string
		hist   string
		origCl bool
	}{
		// conn_state() in scripts/base/protocols/conn/main.zeek, on
		// the endpoint states UpdateStateMachine leaves.
		{"S0: SYN unanswered (orig SYN_SENT, resp INACTIVE)", 9999,
			[]pk{c2s(0, S, cISN, 0, 0)}, "S0", "S", true},
		{"REJ: SYN answered by RST (UpdateInactiveState is_reject)", 9999,
			[]pk{c2s(0, S, cISN, 0, 0), s2c(1, RA, 0, cISN+1, 0)}, "REJ", "Sr", true},
		{"S1: established, not closed", 9999, handshake(), "S1", "ShA", true},
		{"SF: both FINs (UpdateEstablishedState)", 9999, join(handshake(), data, []pk{
			c2s(5, FA, cISN+101, sISN+51, 0),
			s2c(6, FA, sISN+51, cISN+102, 0),
			c2s(7, A, cISN+102, sISN+52, 0),
		}), "SF", "ShADdFf", true},
		{"S2: only the originator's FIN", 9999, join(handshake(), []pk{c2s(5, FA, cISN+1, sISN+1, 0)}), "S2", "ShAF", true},
		{"S3: only the responder's FIN", 9999, join(handshake(), []pk{s2c(5, FA, sISN+1, cISN+1, 0)}), "S3", "ShAf", true},
		{"RSTO: originator aborts", 9999, join(handshake(), data, []pk{c2s(5, RA, cISN+101, sISN+51, 0)}), "RSTO", "ShADdR", true},
		{"RSTR: responder aborts", 9999, join(handshake(), data, []pk{s2c(5, RA, sISN+51, cISN+101, 0)}), "RSTR", "ShADdr", true},
		{"RSTOS0: SYN then the originator's RST (history ^?S[^HAFGIQ]*R)", 9999,
			[]pk{c2s(0, S, cISN, 0, 0), c2s(1, R, cISN+1, 0, 0)}, "RSTOS0", "SR", true},
		{"OTH instead of RSTOS0 when the history has an A", 9999,
			[]pk{c2s(0, S, cISN, 0, 0), c2s(1, A, cISN+1, sISN+1, 0), c2s(2, R, cISN+1, 0, 0)}, "OTH", "SAR", true},
		{"RSTRH: SYN/ACK (flipped by port 80) then the responder's RST", 80,
			[]pk{s2c(0, SA, sISN, cISN+1, 0), s2c(1, R, sISN+1, 0, 0)}, "RSTRH", "^hr", true},
		{"SH: SYN then the originator's FIN (UpdateSYN_SentState)", 9999,
			[]pk{c2s(0, S, cISN, 0, 0), c2s(1, FA, cISN+1, 0, 0)}, "SH", "SF", true},
		{"SHR: SYN/ACK (flipped by port 80) then the responder's FIN", 80,
			[]pk{s2c(0, SA, sISN, cISN+1, 0), s2c(1, FA, sISN+1, cISN+1, 0)}, "SHR", "^hf", true},
		{"OTH: mid-stream, both PARTIAL", 9999,
			[]pk{c2s(0, PA, cISN+1, sISN+1, 10), s2c(1, A, sISN+1, cISN+11, 0)}, "OTH", "Da", true},
		{"REJ: both reset, no bytes", 9999,
			[]pk{c2s(0, S, cISN, 0, 0), c2s(1, R, cISN+1, 0, 0), s2c(2, R, 0, 0, 0)}, "REJ", "SRr", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := run(t, tt.port, tt.pkts)
			if s.State != tt.state || s.History != tt.hist || s.OrigIsClient != tt.origCl {
				t.Errorf("got %s %q origIsClient=%v (%s/%s), want %s %q %v",
					s.State, s.History, s.OrigIsClient, s.OrigState, s.RespState, tt.state, tt.hist, tt.origCl)
			}
		})
	}
}

func rexmits(k int) []pk {
	var out []pk
	for i := range k {
		out = append(out, c2s(10+int64(i), PA, cISN+1, sISN+1, 100))
	}
	return out
}

// zeroWindows: k segments from the server announcing a window of 0.
func zeroWindows(k int) []pk {
	var out []pk
	for i := range k {
		out = append(out, pk{at: 10 + int64(i), dir: fsm.FromServer, flags: A, seq: sISN + 1, ack: cISN + 1})
	}
	return out
}

// badChecksums: k data segments from the server with a bad checksum.
func badChecksums(k int) []pk {
	var out []pk
	for i := range k {
		out = append(out, pk{at: 10 + int64(i), dir: fsm.FromServer, flags: PA, seq: sISN + 1, ack: cISN + 1, n: 5, win: 1000, bad: true})
	}
	return out
}

// gaps: k client segments whose payload was not captured, each
// acknowledged by the server: k content gaps.
func gaps(k int) []pk {
	var out []pk
	for i := range k {
		seq := cISN + 1 + uint32(i)*100
		out = append(out,
			pk{at: 10 + 2*int64(i), dir: fsm.FromClient, flags: PA, seq: seq, ack: sISN + 1, n: 100, win: 1000, cut: true},
			s2c(11+2*int64(i), A, sISN+1, seq+100, 0))
	}
	return out
}

func TestHistoryRules(t *testing.T) {
	tests := []struct {
		name string
		port uint16
		pkts []pk
		hist string
	}{
		// update_history in TCPSessionAdapter.cc: D and A once per
		// direction (CheckHistory with HIST_DATA_PKT / HIST_ACK_PKT).
		{"a/d once per direction", 9999, join(handshake(), []pk{
			c2s(3, PA, cISN+1, sISN+1, 10), c2s(4, PA, cISN+11, sISN+1, 10),
			s2c(5, A, sISN+1, cISN+21, 0), s2c(6, A, sISN+1, cISN+21, 0),
		}), "ShADa"},
		// A FIN or SYN with data is F or S only: D needs no flag set.
		{"data on a FIN is F only", 9999, join(handshake(), []pk{c2s(3, FA, cISN+1, sISN+1, 10)}), "ShAF"},
		// HIST_FIN_PKT: F again only if rel_seq+len differs from hist_last_FIN.
		{"f repeats only with a new sequence number", 9999, join(handshake(), []pk{
			c2s(3, FA, cISN+1, sISN+1, 0), c2s(4, FA, cISN+1, sISN+1, 0), c2s(5, FA, cISN+1, sISN+1, 5),
		}), "ShAFF"},
		// HIST_SYN_PKT with hist_last_SYN: a retransmitted SYN adds nothing.
		{"s: retransmitted SYN", 9999, []pk{c2s(0, S, cISN, 0, 0), c2s(1000, S, cISN, 0, 0)}, "S"},
		// init_endpoint re-initialises a SYN_SENT side on a SYN with a new
		// ISN, so its rel_seq is 0 again: no second S (IsReuse would split).
		{"s: SYN with a new ISN (same record when not split)", 9999, []pk{c2s(0, S, cISN, 0, 0), c2s(1000, S, cISN+77, 0, 0)}, "S"},
		{"s: SYN again after data, same record", 9999, []pk{c2s(0, PA, cISN+1, sISN+1, 10), c2s(1, S, cISN+900, 0, 0)}, "DS"},
		{"h: retransmitted SYN/ACK", 9999, []pk{c2s(0, S, cISN, 0, 0), s2c(1, SA, sISN, cISN+1, 0), s2c(2, SA, sISN, cISN+1, 0)}, "Sh"},
		// HIST_RST_PKT with hist_last_RST.
		{"r repeats only with a new sequence number", 9999, join(handshake(), []pk{
			s2c(3, R, sISN+1, 0, 0), s2c(4, R, sISN+1, 0, 0), s2c(5, R, sISN+9, 0, 0),
		}), "ShArr"},
		// More than one of SYN/FIN/RST: I for FIN+RST, Q otherwise.
		{"i: FIN and RST together", 9999, join(handshake(), []pk{s2c(3, fsm.FIN|fsm.RST|fsm.ACK, sISN+1, cISN+1, 0)}), "ShAi"},
		{"q: SYN and FIN together", 9999, []pk{c2s(0, fsm.SYN|fsm.FIN, cISN, 0, 0)}, "Q"},
		// update_last_seq → DidRxmit → ScaledHistoryEntry('T'): at 1, 10, 100.
		{"t: one retransmission", 9999, join(handshake(), rexmits(2)), "ShADT"},
		{"t: ten retransmissions", 9999, join(handshake(), rexmits(11)), "ShADTT"},
		{"t: a hundred retransmissions", 9999, join(handshake(), rexmits(101)), "ShADTTT"},
		// update_window → ZeroWindow → ScaledHistoryEntry('W').
		{"w: zero window", 9999, join(handshake(), []pk{{at: 3, dir: fsm.FromServer, flags: A, seq: sISN + 1, ack: cISN + 1}}), "ShAaw"},
		{"w: ten zero windows", 9999, join(handshake(), zeroWindows(10)), "ShAaww"},
		{"w: a hundred zero windows", 9999, join(handshake(), zeroWindows(100)), "ShAawww"},
		// ValidateChecksum → ChecksumError → ScaledHistoryEntry('C'); the
		// packet is otherwise dropped.
		{"c: bad checksum", 9999, join(handshake(), []pk{{at: 3, dir: fsm.FromServer, flags: PA, seq: sISN + 1, ack: cISN + 1, n: 5, win: 1000, bad: true}}), "ShAc"},
		{"c: ten bad checksums", 9999, join(handshake(), badChecksums(10)), "ShAcc"},
		{"c: a hundred bad checksums", 9999, join(handshake(), badChecksums(100)), "ShAccc"},
		// TCP_Reassembler::Undelivered → Gap → 'G' (both established); the
		// ACK's own letter comes first (update_history runs before
		// AckReceived).
		{"g: acknowledged data never seen", 9999, join(handshake(), []pk{
			{at: 3, dir: fsm.FromClient, flags: PA, seq: cISN + 1, ack: sISN + 1, n: 100, win: 1000, cut: true},
			s2c(4, A, sISN+1, cISN+101, 0),
		}), "ShADaG"},
		{"g: ten gaps", 9999, join(handshake(), gaps(10)), "ShADaGG"},
		{"g: a hundred gaps", 9999, join(handshake(), gaps(100)), "ShADaGGG"},
		{"no g when the data was seen", 9999, join(handshake(), []pk{
			c2s(3, PA, cISN+1, sISN+1, 100), s2c(4, A, sISN+1, cISN+101, 0),
		}), "ShADa"},
		{"g: a hole acknowledged", 9999, join(handshake(), []pk{
			c2s(3, PA, cISN+1, sISN+1, 100), c2s(4, PA, cISN+201, sISN+1, 100), s2c(5, A, sISN+1, cISN+301, 0),
		}), "ShADaG"},
		// IPBasedAnalyzer::NewConn + WantConnection: a first SYN/ACK from a
		// likely server port is flipped before any letter.
		{"^: SYN/ACK first from port 80", 80, []pk{s2c(0, SA, sISN, cISN+1, 0)}, "^h"},
		{"no ^: SYN/ACK first from an unknown port", 9999, []pk{s2c(0, SA, sISN, cISN+1, 0)}, "H"},
		// A SYN/ACK then an ACK or data: flipped as from the start.
		{"^: SYN/ACK then its ACK", 9999, []pk{s2c(0, SA, sISN, cISN+1, 0), c2s(1, A, cISN+1, sISN+1, 0)}, "^hA"},
		{"no late ^ after another letter", 9999, []pk{s2c(0, SA, sISN, cISN+1, 0), c2s(1, R, cISN+1, 0, 0), c2s(2, A, cISN+1, sISN+1, 0)}, "Hra"},
		// UpdateInactiveState: the SYN after its SYN/ACK flips mid-history.
		{"^: SYN/ACK before SYN", 9999, []pk{s2c(0, SA, sISN, cISN+1, 0), c2s(1, S, cISN, 0, 0), c2s(2, A, cISN+1, sISN+1, 0)}, "Hs^A"},
		// Data without ACK from a mid-stream start (first packet data).
		{"first packet mid-stream from a likely server port is flipped", 80, []pk{s2c(0, PA, sISN+1, cISN+1, 10)}, "^d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s := run(t, tt.port, tt.pkts); s.History != tt.hist {
				t.Errorf("history %q, want %q (%s %s/%s)", s.History, tt.hist, s.State, s.OrigState, s.RespState)
			}
		})
	}
}

func TestSplitting(t *testing.T) {
	tests := []struct {
		name string
		pkts []pk
		want string // records as state:history, space separated
	}{
		// Each lone RST: RESET completes the close, the delete timer
		// (tcp_close_delay) removes the connection 5 s later.
		{"lone RSTs a minute apart", []pk{c2s(0, R, 7, 0, 0), c2s(60000, R, 7, 0, 0), c2s(120000, R, 7, 0, 0)},
			"OTH:R OTH:R OTH:R"},
		{"lone RSTs 1 s apart stay one record", []pk{c2s(0, R, 7, 0, 0), c2s(1000, R, 9, 0, 0)}, "OTH:RR"},
		// IsReuse: any SYN after a side closed or reset.
		{"SYN after REJ", []pk{c2s(0, S, cISN, 0, 0), s2c(1, RA, 0, cISN+1, 0), c2s(500, S, cISN, 0, 0), s2c(501, RA, 0, cISN+1, 0)},
			"REJ:Sr REJ:Sr"},
		// IsReuse: a SYN with the originator's ISN is a retransmission.
		{"SYN retransmission", []pk{c2s(0, S, cISN, 0, 0), c2s(1000, S, cISN, 0, 0), c2s(3000, S, cISN, 0, 0)}, "S0:S"},
		{"SYN with a new ISN", []pk{c2s(0, S, cISN, 0, 0), c2s(1000, S, cISN+5, 0, 0)}, "S0:S S0:S"},
		// AttemptTimer: tcp_attempt_delay after the SYN, still unanswered.
		{"SYN retransmitted after 7 s", []pk{c2s(0, S, cISN, 0, 0), c2s(1000, S, cISN, 0, 0), c2s(7000, S, cISN, 0, 0)},
			"S0:S S0:S"},
		// Half-duplex capture: the S0 record ends at 5 s, the rest is SH.
		{"client side only", []pk{c2s(0, S, cISN, 0, 0), c2s(2, A, cISN+1, sISN+1, 0), c2s(6000, PA, cISN+1, sISN+1, 10), c2s(6001, FA, cISN+11, sISN+1, 0)},
			"S0:SA SH:DF"},
		// Session::InactivityTimer: tcp_inactivity_timeout (5 min).
		{"inactivity", []pk{c2s(0, PA, cISN+1, sISN+1, 10), s2c(1, A, sISN+1, cISN+11, 0), c2s(301001, PA, cISN+1, sISN+1, 10)},
			"OTH:Da OTH:D"},
		{"just under the inactivity timeout", []pk{c2s(0, PA, cISN+1, sISN+1, 10), s2c(1, A, sISN+1, cISN+11, 0), c2s(300000, PA, cISN+11, sISN+1, 10)},
			"OTH:Da"},
		// The delete timer after a full close.
		{"SYN 10 s after a clean close", join(handshake(), []pk{
			c2s(5, FA, cISN+1, sISN+1, 0), s2c(6, FA, sISN+1, cISN+2, 0), c2s(7, A, cISN+2, sISN+2, 0),
			c2s(10000, S, cISN+100, 0, 0)}), "SF:ShAFf S0:S"},
		{"ACK 10 s after a clean close", join(handshake(), []pk{
			c2s(5, FA, cISN+1, sISN+1, 0), s2c(6, FA, sISN+1, cISN+2, 0), c2s(10000, A, cISN+2, sISN+2, 0)}), "SF:ShAFf OTH:A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, s := range records(tt.pkts) {
				got = append(got, s.State+":"+s.History)
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("records %q, want %q", g, tt.want)
			}
		})
	}
}

func TestCounters(t *testing.T) {
	pkts := join(handshake(), []pk{
		c2s(3, PA, cISN+1, sISN+1, 100),
		c2s(4, PA, cISN+1, sISN+1, 100), // retransmission: counted once in bytes
		s2c(5, PA, sISN+1, cISN+101, 300),
		c2s(6, FA, cISN+101, sISN+301, 0),
		s2c(7, FA, sISN+301, cISN+102, 0),
		c2s(8, A, cISN+102, sISN+302, 0),
	})
	s := run(t, 9999, pkts)
	if s.OrigPkts != 6 || s.RespPkts != 3 || s.OrigBytes != 100 || s.RespBytes != 300 || !s.HaveBytes {
		t.Errorf("pkts %d/%d bytes %d/%d have=%v", s.OrigPkts, s.RespPkts, s.OrigBytes, s.RespBytes, s.HaveBytes)
	}
	if s.OrigIPBytes != 6*40+200 || s.RespIPBytes != 3*40+300 {
		t.Errorf("ip bytes %d/%d", s.OrigIPBytes, s.RespIPBytes)
	}
	// last_time stops once both sides closed (Process: SetLastTime only
	// while ! (orig->did_close && resp->did_close)).
	if s.Duration != 7*ms {
		t.Errorf("duration %d", s.Duration)
	}
	// Bytes come from sequence numbers: acknowledged data never seen counts.
	s = run(t, 9999, join(handshake(), []pk{s2c(3, A, sISN+1, cISN+1001, 0)}))
	if s.OrigBytes != 1000 {
		t.Errorf("orig bytes from the peer's ACK: %d", s.OrigBytes)
	}
	// A bad-checksum packet is neither counted nor analysed.
	s = run(t, 9999, join(handshake(), []pk{{at: 3, dir: fsm.FromClient, flags: PA, seq: cISN + 1, ack: sISN + 1, n: 50, bad: true}}))
	if s.OrigPkts != 2 || s.OrigBytes != 0 || s.History != "ShAC" {
		t.Errorf("bad checksum: pkts %d bytes %d history %q", s.OrigPkts, s.OrigBytes, s.History)
	}
}

func TestStepAllocs(t *testing.T) {
	pkts := join(handshake(), rexmits(5), []pk{c2s(20, FA, cISN+101, sISN+1, 0)})
	segs := make([]fsm.Segment, len(pkts))
	for i, p := range pkts {
		segs[i] = toSeg(p)
	}
	c := NewConn(&segs[0], 40000, 9999, nil)
	allocs := testing.AllocsPerRun(100, func() {
		for i := range segs {
			c.NewConnection(&segs[i])
			c.Step(&segs[i], false)
		}
	})
	if allocs != 0 {
		t.Errorf("Step allocates %.1f times per run", allocs)
	}
	t.Logf("sizeof(Conn) = %d bytes", unsafe.Sizeof(Conn{}))
}

// FuzzStep feeds arbitrary segments: no panic, and the summary stays sane.
func FuzzStep(f *testing.F) {
	f.Add([]byte{2, 0, 0, 18, 1, 16, 0, 5, 0, 1, 4, 0, 3, 17, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		var c *Conn
		var now int64
		for len(b) >= 5 {
			seg := fsm.Segment{
				Time:  now,
				Dir:   fsm.Dir(b[0] & 1),
				Flags: fsm.Flags(b[1]),
				Seq:   uint32(b[2]) << 24 * uint32(b[0]>>1&1),
				Ack:   uint32(b[3]) << 8,
				Len:   int(b[4] & 0x3f),
			}
			seg.Seq += uint32(b[3])
			now += int64(b[4]) * int64(1e8)
			if c != nil && c.NewConnection(&seg) {
				_ = c.Summary()
				c = nil
			}
			if c == nil {
				c = NewConn(&seg, uint16(b[2]), 80, nil)
			}
			c.StepCaptured(&seg, b[0]&4 != 0, int(b[0]>>3))
			b = b[5:]
		}
		if c != nil {
			if s := c.Summary(); len(s.History) > MaxHistory || s.State == "" {
				t.Fatalf("summary %+v", s)
			}
		}
	})
}

// TestResetIsNewConn checks that a recycled connection starts exactly as a
// new one, and that a Summary taken before is left alone.
func TestResetIsNewConn(t *testing.T) {
	var c *Conn
	for _, p := range join(handshake(), []pk{c2s(3, PA, cISN+1, sISN+1, 100), s2c(4, FA, sISN+1, cISN+101, 0)}) {
		seg := toSeg(p)
		if c == nil {
			c = NewConn(&seg, 40000, 80, nil)
		}
		c.StepCaptured(&seg, false, seg.Len)
	}
	before := c.Summary()
	want := before

	first := toSeg(s2c(9, SA, sISN, cISN+1, 0)) // a first SYN/ACK: the roles flip
	c.Reset(&first, 40000, 80, nil)
	if fresh := NewConn(&first, 40000, 80, nil); !reflect.DeepEqual(c, fresh) {
		t.Errorf("after Reset:\n%+v\nNewConn:\n%+v", c, fresh)
	}
	c.StepCaptured(&first, false, 0)
	if before != want || before.History == c.Summary().History {
		t.Errorf("an earlier Summary changed or the new connection kept its history: %+v, new %+v", before, c.Summary())
	}
}
