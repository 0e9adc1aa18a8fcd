package fsm

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// step is one segment of a scripted connection and what must hold after it.
// Sequence numbers are relative to the sender's ISN (client 1000, server
// 5000 unless a test says otherwise), as tcpdump prints them.
type step struct {
	dir      Dir
	flags    Flags
	seq, ack uint32 // relative
	len      int
	win      uint16
	at       int64 // milliseconds since the first segment
	client   State // 0 (Unknown) = do not check
	server   State
	kind     Kind // 0 = do not check
	notKind  Kind // kinds the segment must not be
	rule     Rule // RuleNone = do not check
}

const (
	cISN uint32 = 1000
	sISN uint32 = 5000
)

func (s step) segment(cisn, sisn uint32) Segment {
	own, peer := cisn, sisn
	if s.dir == FromServer {
		own, peer = sisn, cisn
	}
	win := s.win
	if win == 0 && s.flags&RST == 0 {
		win = 65535
	} else if win == 1 {
		win = 0 // 1 in a script means "advertise a zero window"
	}
	seg := Segment{Time: 1_700_000_000e9 + s.at*1e6, Dir: s.dir, Flags: s.flags, Seq: own + s.seq, Len: s.len, IPLen: 40 + s.len, Window: win, WindowScale: -1}
	if s.flags&ACK != 0 {
		seg.Ack = peer + s.ack
	}
	return seg
}

// run feeds the steps and checks each; it returns the connection.
func run(t *testing.T, cisn, sisn uint32, steps []step) *Conn {
	t.Helper()
	return runFrom(t, nil, cisn, sisn, steps)
}

// runOn feeds more steps to c (nil: a new connection), with the ISNs cISN
// and sISN.
func runOn(t *testing.T, c *Conn, steps []step) *Conn {
	t.Helper()
	return runFrom(t, c, cISN, sISN, steps)
}

func runFrom(t *testing.T, c *Conn, cisn, sisn uint32, steps []step) *Conn {
	t.Helper()
	for i, s := range steps {
		seg := s.segment(cisn, sisn)
		if c == nil {
			c = NewConn(&seg)
		}
		res := c.Step(&seg)
		cl, sv := c.States()
		where := fmt.Sprintf("step %d (%s %s seq %d ack %d len %d)", i+1, s.dir, s.flags, s.seq, s.ack, s.len)
		if s.client != Unknown && cl != s.client {
			t.Errorf("%s: client state %s, want %s", where, cl, s.client)
		}
		if s.server != Unknown && sv != s.server {
			t.Errorf("%s: server state %s, want %s", where, sv, s.server)
		}
		if s.kind != 0 && res.Kind&s.kind != s.kind {
			t.Errorf("%s: kind %s, want %s", where, res.Kind, s.kind)
		}
		if res.Kind&s.notKind != 0 {
			t.Errorf("%s: kind %s, want none of %s", where, res.Kind, s.notKind)
		}
		if s.rule != RuleNone && res.Rule != s.rule {
			t.Errorf("%s: rule %q, want %q", where, res.Rule, s.rule)
		}
	}
	return c
}

// handshake is the three-way handshake of RFC 9293 figure 7.
var handshake = []step{
	{dir: FromClient, flags: SYN, client: SynSent, server: Listen},
	{dir: FromServer, flags: SYNACK, ack: 1, at: 10, client: SynSent, server: SynRcvd},
	{dir: FromClient, flags: ACK, seq: 1, ack: 1, at: 20, client: Established, server: Established},
}

func with(base []step, more ...step) []step { return append(slices.Clone(base), more...) }

func TestConnScenarios(t *testing.T) {
	tests := []struct {
		name      string
		steps     []step
		handshake string
		close     string
		labels    []string
		anomalies []string
	}{
		{
			name: "client closes first (figure 13)",
			steps: with(handshake,
				step{dir: FromClient, flags: PSH | ACK, seq: 1, ack: 1, len: 100, kind: KindNewData},
				step{dir: FromServer, flags: ACK, seq: 1, ack: 101},
				step{dir: FromClient, flags: FIN | ACK, seq: 101, ack: 1, client: FinWait1, server: Established},
				step{dir: FromServer, flags: ACK, seq: 1, ack: 102, client: FinWait2, server: CloseWait},
				step{dir: FromServer, flags: FIN | ACK, seq: 1, ack: 102, client: FinWait2, server: LastAck},
				step{dir: FromClient, flags: ACK, seq: 102, ack: 2, client: TimeWait, server: Closed},
			),
			handshake: HandshakeComplete, close: CloseFIN,
		},
		{
			name: "server closes first with FIN/ACK answered by FIN/ACK",
			steps: with(handshake,
				step{dir: FromServer, flags: FIN | ACK, seq: 1, ack: 1, client: Established, server: FinWait1},
				step{dir: FromClient, flags: FIN | ACK, seq: 1, ack: 2, client: LastAck, server: FinWait2},
				step{dir: FromServer, flags: ACK, seq: 2, ack: 2, client: Closed, server: TimeWait},
			),
			handshake: HandshakeComplete, close: CloseFIN,
		},
		{
			name: "refused",
			steps: []step{
				{dir: FromClient, flags: SYN, client: SynSent},
				{dir: FromServer, flags: RST | ACK, ack: 1, client: Closed, server: Closed},
			},
			handshake: HandshakeRefused, close: CloseNone,
		},
		{
			name: "SYN unanswered, retransmitted",
			steps: []step{
				{dir: FromClient, flags: SYN},
				{dir: FromClient, flags: SYN, at: 1000, kind: KindSynRetransmission},
				{dir: FromClient, flags: SYN, at: 3000, client: SynSent, server: Listen},
			},
			handshake: HandshakeUnanswered, close: CloseNone, labels: []string{LabelSynRetransmitted},
		},
		{
			name: "SYN/ACK never acknowledged",
			steps: []step{
				{dir: FromClient, flags: SYN},
				{dir: FromServer, flags: SYNACK, ack: 1, at: 1},
				{dir: FromServer, flags: SYNACK, ack: 1, at: 1000, client: SynSent, server: SynRcvd, kind: KindSynRetransmission},
			},
			handshake: HandshakeSynAckUnanswered, close: CloseNone, labels: []string{LabelSynAckRetransmitted},
		},
		{
			name: "simultaneous open (figure 8)",
			steps: []step{
				{dir: FromClient, flags: SYN, client: SynSent},
				{dir: FromServer, flags: SYN, server: SynSent},
				{dir: FromClient, flags: SYNACK, ack: 1, client: SynRcvd, server: SynSent},
				{dir: FromServer, flags: SYNACK, ack: 1, client: Established, server: Established},
			},
			handshake: HandshakeSimultaneous, close: CloseOpen, labels: []string{LabelSimultaneousOpen},
		},
		{
			name: "simultaneous close (figure 14)",
			steps: with(handshake,
				step{dir: FromClient, flags: FIN | ACK, seq: 1, ack: 1, client: FinWait1, server: Established},
				step{dir: FromServer, flags: FIN | ACK, seq: 1, ack: 1, client: FinWait1, server: FinWait1},
				step{dir: FromClient, flags: ACK, seq: 2, ack: 2, client: Closing, server: TimeWait},
				step{dir: FromServer, flags: ACK, seq: 2, ack: 2, client: TimeWait, server: TimeWait},
			),
			handshake: HandshakeComplete, close: CloseFIN, labels: []string{LabelSimultaneousClose},
		},
		{
			name: "half-close: server sends after the client's FIN",
			steps: with(handshake,
				step{dir: FromClient, flags: FIN | ACK, seq: 1, ack: 1},
				step{dir: FromServer, flags: PSH | ACK, seq: 1, ack: 2, len: 500, client: FinWait2, server: CloseWait},
				step{dir: FromClient, flags: ACK, seq: 2, ack: 501},
				step{dir: FromServer, flags: FIN | ACK, seq: 501, ack: 2, server: LastAck},
				step{dir: FromClient, flags: ACK, seq: 2, ack: 502, client: TimeWait, server: Closed},
			),
			handshake: HandshakeComplete, close: CloseFIN, labels: []string{LabelHalfClose},
		},
		{
			name: "CLOSE_WAIT left open",
			steps: with(handshake,
				step{dir: FromClient, flags: FIN | ACK, seq: 1, ack: 1},
				step{dir: FromServer, flags: ACK, seq: 1, ack: 2, client: FinWait2, server: CloseWait},
			),
			handshake: HandshakeComplete, close: CloseFINClient,
		},
		{
			name: "accept queue full, tcp_abort_on_overflow=0",
			steps: with(handshake,
				step{dir: FromClient, flags: PSH | ACK, seq: 1, ack: 1, len: 10, at: 21},
				step{dir: FromServer, flags: SYNACK, ack: 1, at: 1010, client: Established, server: SynRcvd, kind: KindSynRetransmission},
				step{dir: FromClient, flags: ACK, seq: 11, ack: 1, at: 1011, server: SynRcvd},
				step{dir: FromClient, flags: PSH | ACK, seq: 1, ack: 1, len: 10, at: 1300, server: SynRcvd, kind: KindRetransmission},
			),
			handshake: HandshakeComplete, close: CloseOpen,
			labels:    []string{LabelSynAckRetransmitted, LabelRetransmissions, LabelClientOnlyEstablished},
			anomalies: []string{AnomalySynAckAfterAck},
		},
		{
			name: "accept queue full, tcp_abort_on_overflow=1",
			steps: with(handshake,
				step{dir: FromClient, flags: PSH | ACK, seq: 1, ack: 1, len: 10, at: 21},
				step{dir: FromServer, flags: RST, seq: 1, at: 22, client: Closed, server: Closed},
			),
			handshake: HandshakeComplete, close: CloseRSTServer,
		},
		{
			name: "accept queue drained: the server finally acknowledges the data",
			steps: with(handshake,
				step{dir: FromClient, flags: PSH | ACK, seq: 1, ack: 1, len: 10, at: 21},
				step{dir: FromServer, flags: SYNACK, ack: 1, at: 1010, server: SynRcvd},
				step{dir: FromClient, flags: ACK, seq: 11, ack: 1, at: 1011, server: SynRcvd},
				step{dir: FromServer, flags: ACK, seq: 1, ack: 11, at: 1012, client: Established, server: Established},
			),
			handshake: HandshakeComplete, close: CloseOpen,
			labels:    []string{LabelSynAckRetransmitted},
			anomalies: []string{AnomalySynAckAfterAck},
		},
		{
			name: "client resets the SYN/ACK",
			steps: []step{
				{dir: FromClient, flags: SYN},
				{dir: FromServer, flags: SYNACK, ack: 1},
				{dir: FromClient, flags: RST, seq: 1, client: Closed, server: Listen},
			},
			handshake: HandshakeReset, close: CloseNone,
		},
		{
			name: "keepalive answered",
			steps: with(handshake,
				step{dir: FromClient, flags: ACK, seq: 0, ack: 1, at: 1020, kind: KindKeepAlive},
				step{dir: FromServer, flags: ACK, seq: 1, ack: 1, at: 1021, kind: KindKeepAliveAck},
			),
			handshake: HandshakeComplete, close: CloseOpen, labels: []string{LabelKeepAlive},
		},
		{
			name: "zero window, Linux probe, window update",
			steps: with(handshake,
				step{dir: FromClient, flags: ACK, seq: 1, ack: 1, len: 1000},
				step{dir: FromServer, flags: ACK, seq: 1, ack: 1001, win: 1, kind: KindZeroWindow},
				step{dir: FromClient, flags: ACK, seq: 1000, ack: 1, at: 200, kind: KindZeroWindowProbe},
				step{dir: FromServer, flags: ACK, seq: 1, ack: 1001, win: 1, at: 201},
				step{dir: FromServer, flags: ACK, seq: 1, ack: 1001, win: 8000, at: 900, kind: KindWindowUpdate},
			),
			handshake: HandshakeComplete, close: CloseOpen, labels: []string{LabelZeroWindow},
		},
		{
			name: "RST outside the window is ignored",
			steps: with(handshake,
				step{dir: FromServer, flags: RST, seq: 1 << 30, client: Established, server: Established},
			),
			handshake: HandshakeComplete, close: CloseOpen, anomalies: []string{AnomalyRSTOutOfWindow},
		},
		{
			name: "mid-stream pickup",
			steps: []step{
				{dir: FromClient, flags: PSH | ACK, seq: 100, ack: 100, len: 10, client: Established, server: Established},
				{dir: FromServer, flags: FIN | ACK, seq: 100, ack: 110, client: Established, server: FinWait1},
			},
			handshake: HandshakeMidstream, close: CloseFINServer, labels: []string{LabelMidstream},
		},
		{
			name: "gap, then the missing segment out of order, then a true retransmission",
			steps: with(handshake,
				step{dir: FromClient, flags: ACK, seq: 101, ack: 1, len: 100, kind: KindGap},
				step{dir: FromClient, flags: ACK, seq: 1, ack: 1, len: 100, kind: KindOutOfOrder},
				step{dir: FromClient, flags: ACK, seq: 1, ack: 1, len: 100, kind: KindRetransmission},
			),
			handshake: HandshakeComplete, close: CloseOpen, labels: []string{LabelRetransmissions},
			anomalies: []string{AnomalySegmentNotCaptured},
		},
		{
			name: "SYN/ACK with a different ISN",
			steps: []step{
				{dir: FromClient, flags: SYN},
				{dir: FromServer, flags: SYNACK, ack: 1},
				// Counted as a retransmit, but not the same segment again.
				{dir: FromServer, flags: SYNACK, seq: 777, ack: 1, at: 1000, notKind: KindSynRetransmission},
			},
			handshake: HandshakeSynAckUnanswered, close: CloseNone,
			labels: []string{LabelSynAckRetransmitted}, anomalies: []string{AnomalySynAckISNChanged},
		},
		{
			name: "duplicate ACK while the peer has data outstanding",
			steps: with(handshake,
				step{dir: FromClient, flags: PSH | ACK, seq: 1, ack: 1, len: 100, kind: KindNewData},
				step{dir: FromClient, flags: PSH | ACK, seq: 101, ack: 1, len: 100, kind: KindNewData},
				step{dir: FromServer, flags: ACK, seq: 1, ack: 101},
				// The same ACK and window again, with 100 bytes beyond it
				// sent: the receiver is missing them.
				step{dir: FromServer, flags: ACK, seq: 1, ack: 101, kind: KindDupAck},
			),
			handshake: HandshakeComplete, close: CloseOpen,
		},
		{
			name: "ACK of data the capture never showed",
			steps: with(handshake,
				step{dir: FromServer, flags: ACK, seq: 1, ack: 500, kind: KindAckUnseen},
			),
			handshake: HandshakeComplete, close: CloseOpen, anomalies: []string{AnomalyAckUnseen},
		},
		{
			name: "SYN with 20 bytes of data (TCP Fast Open)",
			steps: []step{
				{dir: FromClient, flags: SYN, len: 20, client: SynSent},
				{dir: FromServer, flags: SYNACK, ack: 21, at: 10, server: SynRcvd},
				{dir: FromClient, flags: ACK, seq: 21, ack: 1, at: 20, client: Established, server: Established},
			},
			handshake: HandshakeComplete, close: CloseOpen, labels: []string{LabelSynWithData},
		},
		{
			name: "server sends FIN from SYN_RCVD (RFC 9293 section 3.10.4)",
			steps: []step{
				{dir: FromClient, flags: SYN},
				{dir: FromServer, flags: SYNACK, ack: 1, at: 10, server: SynRcvd},
				{dir: FromServer, flags: FIN | ACK, seq: 1, ack: 1, at: 11, client: SynSent, server: FinWait1},
				{dir: FromClient, flags: ACK, seq: 1, ack: 2, at: 20, client: CloseWait, server: FinWait2},
			},
			handshake: HandshakeComplete, close: CloseFINServer, labels: []string{LabelClosedBeforeHandshake},
		},
		{
			name: "server data before the client's handshake ACK",
			steps: []step{
				{dir: FromClient, flags: SYN},
				{dir: FromServer, flags: SYNACK, ack: 1, at: 10},
				{dir: FromServer, flags: PSH | ACK, seq: 1, ack: 1, len: 10, at: 11, client: SynSent, server: SynRcvd},
				{dir: FromClient, flags: ACK, seq: 1, ack: 11, at: 20, client: Established, server: Established},
			},
			handshake: HandshakeComplete, close: CloseOpen, anomalies: []string{AnomalyDataBeforeHandshake},
		},
		{
			name: "data after the sender's own FIN",
			steps: with(handshake,
				step{dir: FromClient, flags: FIN | ACK, seq: 1, ack: 1, client: FinWait1},
				step{dir: FromClient, flags: PSH | ACK, seq: 2, ack: 1, len: 10},
			),
			handshake: HandshakeComplete, close: CloseFINClient, anomalies: []string{AnomalyDataAfterFIN},
		},
		{
			name: "segment after a RST",
			steps: with(handshake,
				step{dir: FromServer, flags: RST | ACK, seq: 1, ack: 1, at: 30, client: Closed, server: Closed},
				step{dir: FromClient, flags: PSH | ACK, seq: 1, ack: 1, len: 10, at: 40, client: Closed, server: Closed},
			),
			handshake: HandshakeComplete, close: CloseRSTServer, anomalies: []string{AnomalySegmentAfterReset},
		},
		{
			// The flow table keeps such a SYN on the live connection
			// (IsNewAttempt); the server answers it with a challenge ACK
			// (RFC 5961 section 4), so it is no handshake transmission.
			name: "SYN with a new ISN on a live connection",
			steps: with(handshake,
				step{dir: FromClient, flags: SYN, seq: 99999, at: 30, client: Established, server: Established, notKind: KindSynRetransmission, rule: RuleSYNChallenged},
			),
			handshake: HandshakeComplete, close: CloseOpen,
			labels: []string{LabelSYNChallenged}, anomalies: []string{AnomalySYNOnSynchronized},
		},
		{
			name: "SYN and FIN together",
			steps: []step{
				{dir: FromClient, flags: SYN | FIN},
			},
			handshake: HandshakeUnanswered, close: CloseNone, anomalies: []string{AnomalyInvalidFlags},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := run(t, cISN, sISN, tt.steps)
			r := c.Result(c.Last())
			if r.Handshake != tt.handshake || r.Close != tt.close {
				t.Errorf("handshake %q close %q, want %q %q", r.Handshake, r.Close, tt.handshake, tt.close)
			}
			for _, l := range tt.labels {
				if !slices.Contains(r.Labels, l) {
					t.Errorf("labels %v lack %q", r.Labels, l)
				}
			}
			var names []string
			for _, a := range r.Anomalies {
				names = append(names, a.Name)
			}
			if !slices.Equal(names, tt.anomalies) {
				t.Errorf("anomalies %v, want %v", names, tt.anomalies)
			}
		})
	}
}

// TestResetStates checks the states reported for the side that sent a RST
// and for its peer when the RST arrived, and the states both end in: RFC
// 9293 section 3.10.7.4 ("second, check the RST bit") sends the receiver
// to CLOSED from every synchronized state, TIME_WAIT included, and a
// passive SYN_RCVD back to LISTEN; the sender aborted, so it is CLOSED too
// (Linux deschedules a TIME_WAIT socket once it has sent a RST).
func TestResetStates(t *testing.T) {
	tests := []struct {
		name           string
		steps          []step
		by             Dir
		from           State
		peerState      State
		client, server State // after the RST
	}{
		{"refusal comes from a CLOSED port", []step{
			{dir: FromClient, flags: SYN},
			{dir: FromServer, flags: RST | ACK, ack: 1},
		}, FromServer, Closed, SynSent, Closed, Closed},
		{"server that never spoke resets from SYN_RCVD (tcp_abort_on_overflow=1)", with(handshake,
			step{dir: FromClient, flags: PSH | ACK, seq: 1, ack: 1, len: 10},
			step{dir: FromServer, flags: RST, seq: 1},
		), FromServer, SynRcvd, Established, Closed, Closed},
		{"server that sent data resets from ESTABLISHED", with(handshake,
			step{dir: FromServer, flags: PSH | ACK, seq: 1, ack: 1, len: 10},
			step{dir: FromServer, flags: RST | ACK, seq: 11, ack: 1},
		), FromServer, Established, Established, Closed, Closed},
		{"server aborts in CLOSE_WAIT (close with unread data after the client's FIN)", with(handshake,
			step{dir: FromClient, flags: PSH | ACK, seq: 1, ack: 1, len: 10},
			step{dir: FromClient, flags: FIN | ACK, seq: 11, ack: 1},
			step{dir: FromServer, flags: ACK, seq: 1, ack: 12},
			step{dir: FromServer, flags: RST | ACK, seq: 1, ack: 12},
		), FromServer, CloseWait, FinWait2, Closed, Closed},
		{"client resets the SYN/ACK it was sent: the passive server returns to LISTEN", []step{
			{dir: FromClient, flags: SYN},
			{dir: FromServer, flags: SYNACK, ack: 1},
			{dir: FromClient, flags: RST, seq: 1},
		}, FromClient, SynSent, SynRcvd, Closed, Listen},
		{"server in LAST_ACK resets", with(handshake,
			step{dir: FromClient, flags: FIN | ACK, seq: 1, ack: 1},
			step{dir: FromServer, flags: FIN | ACK, seq: 1, ack: 2},
			step{dir: FromServer, flags: RST, seq: 2},
		), FromServer, LastAck, FinWait2, Closed, Closed},
		{"client aborts in FIN_WAIT_2 (SO_LINGER 0 after shutdown)", with(handshake,
			step{dir: FromClient, flags: FIN | ACK, seq: 1, ack: 1},
			step{dir: FromServer, flags: ACK, seq: 1, ack: 2},
			step{dir: FromClient, flags: RST, seq: 2},
		), FromClient, FinWait2, CloseWait, Closed, Closed},
		{"client aborts in FIN_WAIT_1, its FIN not yet acknowledged", with(handshake,
			step{dir: FromClient, flags: FIN | ACK, seq: 1, ack: 1, client: FinWait1, server: Established},
			step{dir: FromClient, flags: RST | ACK, seq: 2, ack: 1},
		), FromClient, FinWait1, Established, Closed, Closed},
		{"client aborts in CLOSING after the FINs crossed; the server leaves TIME_WAIT", with(handshake,
			step{dir: FromClient, flags: FIN | ACK, seq: 1, ack: 1},
			step{dir: FromServer, flags: FIN | ACK, seq: 1, ack: 1},
			step{dir: FromClient, flags: ACK, seq: 2, ack: 2, client: Closing, server: TimeWait},
			step{dir: FromClient, flags: RST, seq: 2},
		), FromClient, Closing, TimeWait, Closed, Closed},
		{"client resets from TIME_WAIT; the server leaves TIME_WAIT too", with(handshake,
			step{dir: FromClient, flags: FIN | ACK, seq: 1, ack: 1},
			step{dir: FromServer, flags: FIN | ACK, seq: 1, ack: 1},
			step{dir: FromClient, flags: ACK, seq: 2, ack: 2},
			step{dir: FromServer, flags: ACK, seq: 2, ack: 2, client: TimeWait, server: TimeWait},
			step{dir: FromClient, flags: RST, seq: 2},
		), FromClient, TimeWait, TimeWait, Closed, Closed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := run(t, cISN, sISN, tt.steps)
			r := c.Result(c.Last())
			if !r.Reset || r.ResetBy != tt.by || r.ResetFrom != tt.from || r.ResetPeerState != tt.peerState {
				t.Errorf("reset %v by %s from %s, peer %s; want by %s from %s, peer %s",
					r.Reset, r.ResetBy, r.ResetFrom, r.ResetPeerState, tt.by, tt.from, tt.peerState)
			}
			if r.Client.State != tt.client || r.Server.State != tt.server {
				t.Errorf("client %s, server %s after the RST; want %s, %s", r.Client.State, r.Server.State, tt.client, tt.server)
			}
		})
	}
}

// TestHandshakeTimes checks the handshake round trips and the retry
// schedule: each RTT pairs a segment with the one that answers it, and the
// SYN times are the transmissions the retransmit counts count, so that a
// report's gaps and counts agree.
func TestHandshakeTimes(t *testing.T) {
	const none = -1
	tests := []struct {
		name                 string
		steps                []step
		rttClient, rttServer int64   // ms; none: not measured
		clientSYNs           []int64 // ms: the client's SYNs
		serverSYNACKs        []int64 // ms: the server's SYN/ACKs
	}{
		{"three-way handshake", []step{
			{dir: FromClient, flags: SYN},
			{dir: FromServer, flags: SYNACK, ack: 1, at: 10},
			{dir: FromClient, flags: ACK, seq: 1, ack: 1, at: 25},
		}, 10, 15, []int64{0}, []int64{10}},
		{"SYN resent: measured from the latest", []step{
			{dir: FromClient, flags: SYN},
			{dir: FromClient, flags: SYN, at: 1000},
			{dir: FromServer, flags: SYNACK, ack: 1, at: 1010},
			{dir: FromClient, flags: ACK, seq: 1, ack: 1, at: 1020},
		}, 10, 10, []int64{0, 1000}, []int64{1010}},
		{"SYN/ACK resent after a lost ACK", []step{
			{dir: FromClient, flags: SYN},
			{dir: FromServer, flags: SYNACK, ack: 1, at: 10},
			{dir: FromServer, flags: SYNACK, ack: 1, at: 1010},
			{dir: FromClient, flags: ACK, seq: 1, ack: 1, at: 1020},
		}, 10, 10, []int64{0}, []int64{10, 1010}},
		{"SYN/ACK resent with another ISN: still a retransmit (synack_isn_changed says the rest)", []step{
			{dir: FromClient, flags: SYN},
			{dir: FromServer, flags: SYNACK, ack: 1, at: 10},
			{dir: FromServer, flags: SYNACK, seq: 777, ack: 1, at: 1010},
			{dir: FromClient, flags: ACK, seq: 1, ack: 778, at: 1020, client: Established, server: Established},
		}, 10, 10, []int64{0}, []int64{10, 1010}},
		{"simultaneous open, with the ACKs Linux adds", []step{
			{dir: FromClient, flags: SYN},
			{dir: FromServer, flags: SYN, at: 1},
			{dir: FromClient, flags: SYNACK, ack: 1, at: 6},
			{dir: FromServer, flags: SYNACK, ack: 1, at: 7},
			{dir: FromServer, flags: ACK, seq: 1, ack: 1, at: 11},
			{dir: FromClient, flags: ACK, seq: 1, ack: 1, at: 12, client: Established, server: Established},
		}, 7, none, []int64{0}, []int64{7}},
		{"picked up at the SYN/ACK: no SYN to measure from", []step{
			{dir: FromServer, flags: SYNACK, ack: 1},
			{dir: FromClient, flags: ACK, seq: 1, ack: 1, at: 10},
		}, none, 10, nil, []int64{0}},
	}
	ms := func(v int64) int64 {
		if v == none {
			return none
		}
		return v * 1e6
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := run(t, cISN, sISN, tt.steps)
			r := c.Result(c.Last())
			if r.RTTClient != ms(tt.rttClient) || r.RTTServer != ms(tt.rttServer) {
				t.Errorf("RTT client %d ns, server %d ns; want %d, %d", r.RTTClient, r.RTTServer, ms(tt.rttClient), ms(tt.rttServer))
			}
			for _, side := range []struct {
				what  string
				got   []int64
				want  []int64
				count int
			}{
				{"client SYN", r.Client.SYNTimes, tt.clientSYNs, r.SynRetransmits},
				{"server SYN/ACK", r.Server.SYNTimes, tt.serverSYNACKs, r.SynAckRetransmits},
			} {
				var got []int64
				for _, at := range side.got {
					got = append(got, (at-r.First)/1e6)
				}
				if !slices.Equal(got, side.want) {
					t.Errorf("%s times %v ms, want %v", side.what, got, side.want)
				}
				if side.count != max(len(side.got)-1, 0) {
					t.Errorf("%s: %d times but %d retransmits", side.what, len(side.got), side.count)
				}
			}
		})
	}
}

// TestTransitionsPassedThrough checks the intermediate states a single
// segment moves a side through, and that the answers of a simultaneous open
// are not taken for retransmissions.
func TestTransitionsPassedThrough(t *testing.T) {
	var c *Conn
	feed := func(s step) StepResult {
		seg := s.segment(cISN, sISN)
		if c == nil {
			c = NewConn(&seg)
		}
		return c.Step(&seg)
	}
	feed(step{dir: FromClient, flags: SYN})
	feed(step{dir: FromServer, flags: SYN})
	if r := feed(step{dir: FromClient, flags: SYNACK, ack: 1}); r.Kind&KindSynRetransmission != 0 {
		t.Errorf("first SYN/ACK of a simultaneous open classified %s", r.Kind)
	}
	r := feed(step{dir: FromServer, flags: SYNACK, ack: 1})
	if r.Before[FromServer] != SynSent || r.Via[FromServer] != SynRcvd || r.After[FromServer] != Established {
		t.Errorf("server %s → %s → %s, want SYN_SENT → SYN_RCVD → ESTABLISHED", r.Before[FromServer], r.Via[FromServer], r.After[FromServer])
	}
	if r.Kind&KindSynRetransmission != 0 {
		t.Errorf("crossing SYN/ACK classified %s", r.Kind)
	}
	// The first ACKs after the SYNs carry scaled windows: not window updates.
	if r := feed(step{dir: FromServer, flags: ACK, seq: 1, ack: 1, win: 63}); r.Kind&KindWindowUpdate != 0 {
		t.Errorf("first ACK after the SYN classified %s", r.Kind)
	}

	// Crossing FINs: the server's ACK shows the client both the server's
	// FIN and the ACK of its own.
	c = nil
	for _, s := range with(handshake,
		step{dir: FromClient, flags: FIN | ACK, seq: 1, ack: 1},
		step{dir: FromServer, flags: FIN | ACK, seq: 1, ack: 1},
	) {
		feed(s)
	}
	r = feed(step{dir: FromServer, flags: ACK, seq: 2, ack: 2})
	if r.Before[FromClient] != FinWait1 || r.Via[FromClient] != Closing || r.After[FromClient] != TimeWait {
		t.Errorf("client %s → %s → %s, want FIN_WAIT_1 → CLOSING → TIME_WAIT", r.Before[FromClient], r.Via[FromClient], r.After[FromClient])
	}
}

// TestWrapAround runs a whole connection whose sequence numbers cross 2^32.
func TestWrapAround(t *testing.T) {
	steps := with(handshake,
		step{dir: FromClient, flags: ACK, seq: 1, ack: 1, len: 1000, kind: KindNewData},
		step{dir: FromClient, flags: ACK, seq: 1001, ack: 1, len: 1000, kind: KindNewData},
		step{dir: FromClient, flags: ACK, seq: 1, ack: 1, len: 1000, kind: KindRetransmission},
		step{dir: FromClient, flags: FIN | ACK, seq: 2001, ack: 1, client: FinWait1},
		step{dir: FromServer, flags: FIN | ACK, seq: 1, ack: 2002, client: FinWait2, server: LastAck},
		step{dir: FromClient, flags: ACK, seq: 2002, ack: 2, client: TimeWait, server: Closed},
	)
	c := run(t, ^uint32(0)-1500, ^uint32(0), steps)
	if r := c.Result(c.Last()); len(r.Anomalies) != 0 {
		t.Errorf("anomalies across the wrap: %+v", r.Anomalies)
	}
}

func TestBadChecksumChangesNothing(t *testing.T) {
	c := run(t, cISN, sISN, handshake)
	fin := step{dir: FromClient, flags: FIN | ACK, seq: 1, ack: 1}.segment(cISN, sISN)
	res := c.StepBadChecksum(&fin)
	if res.After != res.Before || res.After[FromClient] != Established {
		t.Errorf("a bad-checksum FIN moved the states: %v → %v", res.Before, res.After)
	}
	// The same FIN arriving intact is new, not a retransmission.
	if res := c.Step(&fin); res.Kind&KindRetransmission != 0 || res.After[FromClient] != FinWait1 {
		t.Errorf("the intact FIN after it: kind %s, client %s", res.Kind, res.After[FromClient])
	}
	r := c.Result(c.Last())
	if len(r.Anomalies) != 1 || r.Anomalies[0].Name != AnomalyBadChecksum || r.Client.Packets != 4 { // SYN, ACK, the bad FIN, the good one
		t.Errorf("anomalies %+v, client packets %d", r.Anomalies, r.Client.Packets)
	}
}

func TestTimeWaitExpires(t *testing.T) {
	c := run(t, cISN, sISN, with(handshake,
		step{dir: FromClient, flags: FIN | ACK, seq: 1, ack: 1, at: 30},
		step{dir: FromServer, flags: FIN | ACK, seq: 1, ack: 2, at: 40},
		step{dir: FromClient, flags: ACK, seq: 2, ack: 2, at: 50, client: TimeWait},
	))
	if got := c.Result(c.Last() + 59e9).Client; got.State != TimeWait || got.TimeWaitAt != c.Last() {
		t.Errorf("59 s after: %s since %d, want TIME_WAIT since %d", got.State, got.TimeWaitAt, c.Last())
	}
	if got := c.Result(c.Last() + 61e9).Client.State; got != Closed {
		t.Errorf("61 s after: %s, want CLOSED", got)
	}
}

func TestClosedFrom(t *testing.T) {
	const base = int64(1_700_000_000e9)
	tests := []struct {
		name  string
		steps []step
		want  int64 // ms after the first segment; -1: not ended
	}{
		{"open", handshake, -1},
		{"half closed", with(handshake, step{dir: FromClient, flags: FIN | ACK, seq: 1, ack: 1, at: 30}), -1},
		{"reset: its latest segment", with(handshake,
			step{dir: FromServer, flags: RST | ACK, seq: 1, ack: 1, at: 30},
			step{dir: FromClient, flags: ACK, seq: 1, ack: 1, at: 40}), 40},
		{"closed: when TIME_WAIT runs out", with(handshake,
			step{dir: FromClient, flags: FIN | ACK, seq: 1, ack: 1, at: 30},
			step{dir: FromServer, flags: FIN | ACK, seq: 1, ack: 2, at: 40},
			step{dir: FromClient, flags: ACK, seq: 2, ack: 2, at: 50, client: TimeWait, server: Closed}), 50 + TimeWaitDuration/1e6},
	}
	for _, tt := range tests {
		c := run(t, cISN, sISN, tt.steps)
		got, ok := c.ClosedFrom()
		switch {
		case tt.want < 0 && ok:
			t.Errorf("%s: closed from %d, want not ended", tt.name, got)
		case tt.want >= 0 && !ok:
			t.Errorf("%s: not ended", tt.name)
		case tt.want >= 0 && got != base+tt.want*1e6 && got != base+tt.want*1e6+1:
			t.Errorf("%s: closed from %+d ns, want %d ms", tt.name, got-base, tt.want)
		case ok:
			if cl, sv := c.StatesAt(got); cl != Closed || sv != Closed {
				t.Errorf("%s: at ClosedFrom, %s and %s", tt.name, cl, sv)
			}
			if cl, sv := c.StatesAt(got - 1); got > c.Last() && cl == Closed && sv == Closed {
				t.Errorf("%s: CLOSED already before ClosedFrom", tt.name)
			}
		}
	}
}

func TestIsNewAttempt(t *testing.T) {
	closed := run(t, cISN, sISN, with(handshake,
		step{dir: FromClient, flags: FIN | ACK, seq: 1, ack: 1},
		step{dir: FromServer, flags: FIN | ACK, seq: 1, ack: 2},
		step{dir: FromClient, flags: ACK, seq: 2, ack: 2},
	))
	retry := Segment{Dir: FromClient, Flags: SYN, Seq: cISN}
	fresh := Segment{Dir: FromClient, Flags: SYN, Seq: cISN + 99999}
	if closed.IsNewAttempt(&retry) {
		t.Error("a retransmitted SYN opened a new connection")
	}
	if !closed.IsNewAttempt(&fresh) {
		t.Error("a SYN with a new ISN after TIME_WAIT did not open a new connection")
	}
	live := run(t, cISN, sISN, handshake)
	if live.IsNewAttempt(&fresh) {
		t.Error("a SYN with a new ISN on a live connection opened a new one")
	}
}

func TestStateString(t *testing.T) {
	for _, s := range States() {
		got, ok := ParseState(s.String())
		if !ok || got != s {
			t.Errorf("ParseState(%q) = %v, %v", s.String(), got, ok)
		}
	}
	if got := State(200).String(); got != "State(200)" {
		t.Errorf("State(200) = %q", got)
	}
	if got := (SYN | ACK).String(); got != "S." {
		t.Errorf("SYN|ACK = %q", got)
	}
	if got := (KindNewData | KindZeroWindow).String(); !strings.Contains(got, "zero_window") {
		t.Errorf("kind string %q", got)
	}
}

// TestResetIsNewConn checks that a recycled connection starts exactly as a
// new one, and that what the old one returned is left alone.
func TestResetIsNewConn(t *testing.T) {
	old := run(t, cISN, sISN, with(handshake,
		step{dir: FromServer, flags: RST, seq: 1 << 30},                          // out of window: an anomaly
		step{dir: FromClient, flags: SYN | ACK, seq: 1, ack: 1, at: 30, len: 10}, // a second one
	))
	kept := old.Result(1_700_000_001e9)
	if len(kept.Anomalies) == 0 {
		t.Fatal("the first connection has no anomalies: the test proves nothing")
	}
	want := slices.Clone(kept.Anomalies)

	first := handshake[0].segment(cISN+7, sISN)
	first.Time += 5e9
	old.Reset(&first)
	if fresh := NewConn(&first); !reflect.DeepEqual(old, fresh) {
		t.Errorf("after Reset:\n%+v\nNewConn:\n%+v", old, fresh)
	}
	for _, s := range handshake[1:] {
		seg := s.segment(cISN+7, sISN)
		old.Step(&seg)
		old.Step(&seg)
	}
	if !reflect.DeepEqual(kept.Anomalies, want) {
		t.Errorf("an earlier Result's anomalies changed: %v, want %v", kept.Anomalies, want)
	}
}

// TestStepNotesAnAnomalyOnce: a step says when it was the first
// occurrence of one of the connection's anomalies (ladders keep that
// segment), not when it only counts a repeat.
func TestStepNotesAnAnomalyOnce(t *testing.T) {
	syn := Segment{Time: 1, Dir: FromClient, Flags: SYN, Seq: 100}
	c := NewConn(&syn)
	var noted []bool
	for _, seg := range []Segment{
		syn,
		{Time: 2, Dir: FromServer, Flags: SYN | ACK, Seq: 500, Ack: 101},
		{Time: 3, Dir: FromClient, Flags: SYN | FIN, Seq: 101, Ack: 501}, // invalid flags
		{Time: 4, Dir: FromClient, Flags: SYN | FIN, Seq: 101, Ack: 501}, // again
	} {
		noted = append(noted, c.Step(&seg).Noted)
	}
	if want := []bool{false, false, true, false}; !slices.Equal(noted, want) {
		t.Errorf("Noted %v, want %v (anomalies %v)", noted, want, c.Result(5).Anomalies)
	}
}
