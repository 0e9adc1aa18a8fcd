package fsm

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestAcceptability holds each rule a receiver applies before it acts on a
// RST, a SYN or an ACK (RFC 9293 section 3.10.7, RFC 5961) to a short
// script: whether the connection was reset, which rule the trace names,
// and that what follows a segment the receiver did not take is read as if
// the segment had never been sent (no segment_after_reset, no
// retransmissions, no handshake transmission).
func TestAcceptability(t *testing.T) {
	// A request and its acknowledgement after the handshake: the server's
	// RCV.NXT is client seq 101, its window 65535 (unscaled).
	request := with(handshake,
		step{dir: FromClient, flags: PSH | ACK, seq: 1, ack: 1, len: 100, at: 30},
		step{dir: FromServer, flags: ACK, seq: 1, ack: 101, at: 35},
	)
	// The rest of a connection that goes on: a response, a second
	// request, a close from the client.
	goesOn := []step{
		{dir: FromServer, flags: PSH | ACK, seq: 1, ack: 101, len: 50, at: 50, notKind: KindRetransmission},
		{dir: FromClient, flags: PSH | ACK, seq: 101, ack: 51, len: 100, at: 55, notKind: KindRetransmission},
		{dir: FromServer, flags: ACK, seq: 51, ack: 201, at: 60},
		{dir: FromClient, flags: FIN | ACK, seq: 201, ack: 51, at: 70, notKind: KindRetransmission, client: FinWait1},
		{dir: FromServer, flags: FIN | ACK, seq: 51, ack: 202, at: 75, notKind: KindRetransmission},
		{dir: FromClient, flags: ACK, seq: 202, ack: 52, at: 80, client: TimeWait, server: Closed},
	}
	tests := []struct {
		name             string
		steps            []step
		handshake, close string
		labels           []string
		anomalies        []string
		detail           string // in the first anomaly's detail
		synRetransmits   int
	}{
		{
			name: "RST at RCV.NXT resets (RFC 5961 section 3.2)",
			steps: with(request,
				step{dir: FromClient, flags: RST, seq: 101, at: 40, client: Closed, server: Closed, rule: RuleNone},
			),
			handshake: HandshakeComplete, close: CloseRSTClient,
		},
		{
			name: "RST at the sender's next sequence number, the receiver's ACK of it not yet seen, resets",
			steps: with(request[:len(request)-1],
				step{dir: FromClient, flags: RST, seq: 101, at: 40, client: Closed, server: Closed},
			),
			handshake: HandshakeComplete, close: CloseRSTClient,
		},
		{
			name: "RST in the window, not at RCV.NXT: challenge ACK, the connection goes on",
			steps: append(with(request,
				step{dir: FromClient, flags: RST, seq: 2101, at: 40, client: Established, server: Established, rule: RuleRSTInWindow},
				step{dir: FromServer, flags: ACK, seq: 1, ack: 101, at: 41}, // the challenge ACK
			), goesOn...),
			handshake: HandshakeComplete, close: CloseFIN,
			labels: []string{LabelRSTChallenged}, anomalies: []string{AnomalyRSTInWindow},
			detail: "RCV.NXT+2000, in its window of 65535: challenge ACK",
		},
		{
			name: "RST outside the window is dropped",
			steps: append(with(request,
				step{dir: FromClient, flags: RST, seq: 70101, at: 40, client: Established, server: Established, rule: RuleRSTOutOfWindow},
			), goesOn...),
			handshake: HandshakeComplete, close: CloseFIN, anomalies: []string{AnomalyRSTOutOfWindow},
		},
		{
			name: "RST just below RCV.NXT is outside the window",
			steps: with(request,
				step{dir: FromClient, flags: RST, seq: 100, at: 40, client: Established, server: Established, rule: RuleRSTOutOfWindow},
			),
			handshake: HandshakeComplete, close: CloseOpen, anomalies: []string{AnomalyRSTOutOfWindow},
		},
		{
			name: "RST at RCV.NXT-1 after the sender's FIN resets CLOSE_WAIT (Linux tcp_reset_check)",
			steps: with(request,
				step{dir: FromClient, flags: FIN | ACK, seq: 101, ack: 1, at: 40},
				step{dir: FromServer, flags: ACK, seq: 1, ack: 102, at: 45, server: CloseWait},
				step{dir: FromClient, flags: RST, seq: 101, at: 50, client: Closed, server: Closed, rule: RuleRSTAfterFIN},
			),
			handshake: HandshakeComplete, close: CloseRSTClient,
		},
		{
			name: "RST in a zero window, not at RCV.NXT, is outside it",
			steps: with(request[:len(request)-1],
				step{dir: FromServer, flags: ACK, seq: 1, ack: 101, win: 1, at: 35},
				step{dir: FromClient, flags: RST, seq: 102, at: 40, client: Established, server: Established, rule: RuleRSTOutOfWindow},
			),
			handshake: HandshakeComplete, close: CloseOpen, labels: []string{LabelZeroWindow}, anomalies: []string{AnomalyRSTOutOfWindow},
		},
		{
			name: "RST in the window of a listener's SYN_RCVD drops the request (Linux tcp_check_req)",
			steps: []step{
				{dir: FromClient, flags: SYN},
				{dir: FromServer, flags: SYNACK, ack: 1, at: 10},
				{dir: FromClient, flags: RST, seq: 500, at: 20, client: Closed, server: Listen, rule: RuleRSTInWindowSynRcvd},
			},
			handshake: HandshakeReset, close: CloseNone,
		},
		{
			name: "RCV.NXT unknown, the receiver silent after: the RST is taken",
			steps: []step{
				{dir: FromClient, flags: PSH | ACK, seq: 100, ack: 100, len: 10},
				{dir: FromClient, flags: RST, seq: 3000, at: 10, client: Closed, server: Closed, rule: RuleRSTUnknownRcvNxt},
			},
			handshake: HandshakeMidstream, close: CloseRSTClient, labels: []string{LabelMidstream},
		},
		{
			name: "RCV.NXT unknown, the receiver sends on: the RST was not accepted",
			steps: []step{
				{dir: FromClient, flags: PSH | ACK, seq: 100, ack: 100, len: 10},
				{dir: FromClient, flags: RST, seq: 3000, at: 10, client: Closed, server: Closed, rule: RuleRSTUnknownRcvNxt},
				{dir: FromServer, flags: ACK, seq: 100, ack: 110, at: 11, client: Established, server: Established, rule: RuleRSTNotAccepted},
				{dir: FromClient, flags: PSH | ACK, seq: 110, ack: 100, len: 10, at: 20, kind: KindNewData},
				{dir: FromServer, flags: PSH | ACK, seq: 100, ack: 120, len: 10, at: 25, kind: KindNewData, rule: RuleNone},
			},
			handshake: HandshakeMidstream, close: CloseOpen, labels: []string{LabelMidstream},
			anomalies: []string{AnomalyRSTNotAccepted}, detail: "the server sent . after the client's RST",
		},
		{
			name: "RST without ACK in SYN_SENT is dropped: not refused (RFC 9293 section 3.10.7.3)",
			steps: []step{
				{dir: FromClient, flags: SYN},
				{dir: FromServer, flags: RST, seq: 0, at: 10, client: SynSent, server: Listen, rule: RuleRSTWithoutACK},
				{dir: FromServer, flags: SYNACK, ack: 1, at: 15},
				{dir: FromClient, flags: ACK, seq: 1, ack: 1, at: 20, client: Established, server: Established},
			},
			handshake: HandshakeComplete, close: CloseOpen, anomalies: []string{AnomalyRSTWithoutACK},
		},
		{
			name: "RST whose ACK is not of the SYN, in SYN_SENT, is dropped",
			steps: []step{
				{dir: FromClient, flags: SYN},
				{dir: FromServer, flags: RST | ACK, ack: 77, at: 10, client: SynSent, server: Listen, rule: RuleRSTOutOfWindow},
			},
			handshake: HandshakeUnanswered, close: CloseNone, anomalies: []string{AnomalyRSTOutOfWindow},
		},
		{
			// A stray ACK (an old connection's) reaches the client in
			// SYN_SENT; it answers with a RST of that ack number and
			// resends its SYN, which the server then answers.
			name: "RST from SYN_SENT answering an unacceptable ACK: the handshake goes on",
			steps: append([]step{
				{dir: FromClient, flags: SYN, client: SynSent, server: Listen},
				{dir: FromServer, flags: ACK, seq: 90000, ack: 77777, at: 5, client: SynSent, server: Listen, rule: RuleACKUnacceptable},
				{dir: FromClient, flags: RST, seq: 77777, at: 6, client: SynSent, server: Listen, rule: RuleRSTForUnacceptableACK},
				{dir: FromClient, flags: SYN, at: 1000, kind: KindSynRetransmission},
				{dir: FromServer, flags: SYNACK, ack: 1, at: 1005, kind: 0, notKind: KindRetransmission | KindGap},
				{dir: FromClient, flags: ACK, seq: 1, ack: 1, at: 1010, client: Established, server: Established},
				{dir: FromClient, flags: PSH | ACK, seq: 1, ack: 1, len: 100, at: 1030},
				{dir: FromServer, flags: ACK, seq: 1, ack: 101, at: 1035},
			}, goesOn...),
			handshake: HandshakeComplete, close: CloseFIN, labels: []string{LabelSynRetransmitted},
			anomalies: []string{AnomalyACKUnacceptable}, detail: "acknowledges 78777, the client's SYN was 1000", synRetransmits: 1,
		},
		{
			name: "SYN/ACK acknowledging something else, in SYN_SENT: dropped, not the server's answer",
			steps: []step{
				{dir: FromClient, flags: SYN},
				{dir: FromServer, flags: SYNACK, seq: 300, ack: 77, at: 10, client: SynSent, server: Listen, rule: RuleACKUnacceptable},
				{dir: FromClient, flags: RST, seq: 77, at: 11, client: SynSent, server: Listen, rule: RuleRSTForUnacceptableACK},
				{dir: FromClient, flags: SYN, at: 1000, kind: KindSynRetransmission},
				{dir: FromServer, flags: SYNACK, ack: 1, at: 1005, server: SynRcvd},
				{dir: FromClient, flags: ACK, seq: 1, ack: 1, at: 1010, client: Established, server: Established},
			},
			handshake: HandshakeComplete, close: CloseOpen, labels: []string{LabelSynRetransmitted},
			anomalies: []string{AnomalyACKUnacceptable}, synRetransmits: 1,
		},
		{
			name: "SYN with a new ISN on an established connection: challenge ACK, no retransmissions after it (RFC 5961 section 4)",
			steps: append(with(request,
				step{dir: FromClient, flags: SYN, seq: 50000, at: 40, client: Established, server: Established, rule: RuleSYNChallenged, notKind: KindSynRetransmission},
				step{dir: FromServer, flags: ACK, seq: 1, ack: 101, at: 41}, // the challenge ACK
			), goesOn...),
			handshake: HandshakeComplete, close: CloseFIN, labels: []string{LabelSYNChallenged},
			anomalies: []string{AnomalySYNOnSynchronized}, detail: "reached the server in ESTABLISHED",
		},
		{
			name: "SYN with the handshake's ISN on an established connection: challenged too",
			steps: append(with(request,
				step{dir: FromClient, flags: SYN, seq: 0, at: 40, rule: RuleSYNChallenged, notKind: KindSynRetransmission},
			), goesOn...),
			handshake: HandshakeComplete, close: CloseFIN, labels: []string{LabelSYNChallenged},
			anomalies: []string{AnomalySYNOnSynchronized},
		},
		{
			name: "SYN from the server on an established connection: challenged",
			steps: append(with(request,
				step{dir: FromServer, flags: SYN, seq: 9000, at: 40, rule: RuleSYNChallenged},
			), goesOn...),
			handshake: HandshakeComplete, close: CloseFIN, labels: []string{LabelSYNChallenged},
			anomalies: []string{AnomalySYNOnSynchronized},
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
			for _, l := range []string{LabelRetransmissions, LabelRSTChallenged, LabelSYNChallenged, LabelSynRetransmitted} {
				if slices.Contains(r.Labels, l) && !slices.Contains(tt.labels, l) {
					t.Errorf("labels %v: %q unexpected", r.Labels, l)
				}
			}
			var names []string
			for _, a := range r.Anomalies {
				names = append(names, a.Name)
			}
			if !slices.Equal(names, tt.anomalies) {
				t.Errorf("anomalies %v, want %v", names, tt.anomalies)
			}
			if tt.detail != "" && (len(r.Anomalies) == 0 || !strings.Contains(r.Anomalies[0].Detail, tt.detail)) {
				t.Errorf("anomalies %+v: the first does not say %q", r.Anomalies, tt.detail)
			}
			if r.SynRetransmits != tt.synRetransmits || r.Client.Retransmits+r.Server.Retransmits != 0 {
				t.Errorf("syn_retransmits %d, retransmits %d+%d; want %d and none", r.SynRetransmits, r.Client.Retransmits, r.Server.Retransmits, tt.synRetransmits)
			}
		})
	}
}

// TestChallengedSYNLeavesTheSequenceSpace: a SYN the receiver challenges
// takes no place in its sender's sequence space, so the sender's bytes
// and its next segment's classification are as without it.
func TestChallengedSYNLeavesTheSequenceSpace(t *testing.T) {
	c := run(t, cISN, sISN, with(handshake,
		step{dir: FromClient, flags: SYN, seq: 70000, len: 20, at: 30, rule: RuleSYNChallenged},
		step{dir: FromClient, flags: PSH | ACK, seq: 1, ack: 1, len: 100, at: 40, kind: KindNewData, notKind: KindRetransmission | KindGap},
	))
	r := c.Result(c.Last())
	if r.Client.Bytes != 100 || r.Client.SYNs != 1 || len(r.Client.SYNTimes) != 1 {
		t.Errorf("client bytes %d, SYNs %d, SYN times %v; want 100, 1, one", r.Client.Bytes, r.Client.SYNs, r.Client.SYNTimes)
	}
}

// TestUnacceptableChangesNothingElse: a segment its receiver drops (a RST
// not at RCV.NXT or outside the window, one without ACK in SYN_SENT, a
// SYN on a synchronized connection, data beyond the window, an ACK
// SYN_SENT cannot take) is an anomaly and changes nothing else: the
// connection's result is that of the same capture without it, but for the
// packet counts and the anomaly (RFC 5961, RFC 9293 section 3.10.7). The
// segment comes while its receiver retransmits into silence: a dropped one
// does not show the receiver's peer alive, so the receiver's unanswered
// tail and what its application is told stand.
func TestUnacceptableChangesNothingElse(t *testing.T) {
	// The client's second request is never acknowledged: retransmitted
	// at 300, 700 and 1500 ms (backoff), nothing after it.
	retransmitting := with(handshake,
		step{dir: FromClient, flags: PSH | ACK, seq: 1, ack: 1, len: 100, at: 30},
		step{dir: FromServer, flags: ACK, seq: 1, ack: 101, at: 35},
		step{dir: FromClient, flags: PSH | ACK, seq: 101, ack: 1, len: 100, at: 100},
		step{dir: FromClient, flags: PSH | ACK, seq: 101, ack: 1, len: 100, at: 300},
		step{dir: FromClient, flags: PSH | ACK, seq: 101, ack: 1, len: 100, at: 700},
		step{dir: FromClient, flags: PSH | ACK, seq: 101, ack: 1, len: 100, at: 1500},
	)
	// The client's SYN resent at 1 s and 3 s, never answered.
	synsUnanswered := []step{
		{dir: FromClient, flags: SYN},
		{dir: FromClient, flags: SYN, at: 1000},
		{dir: FromClient, flags: SYN, at: 3000},
	}
	tests := []struct {
		name    string
		base    []step
		after   int  // the dropped segment comes after base[after]
		dropped step // its rule is checked
		end     int64
		anomaly string
	}{
		{"RST in the window, not at RCV.NXT", retransmitting, 6,
			step{dir: FromServer, flags: RST, seq: 2001, at: 1000, rule: RuleRSTInWindow}, 10_000, AnomalyRSTInWindow},
		{"RST with a payload, outside the window", retransmitting, 6,
			step{dir: FromServer, flags: RST | ACK, seq: 900_001, ack: 101, len: 20, at: 1000, rule: RuleRSTOutOfWindow}, 10_000, AnomalyRSTOutOfWindow},
		{"RST from the client's address, outside the server's window", retransmitting, 6,
			step{dir: FromClient, flags: RST, seq: 900_001, len: 20, at: 1000, rule: RuleRSTOutOfWindow}, 10_000, AnomalyRSTOutOfWindow},
		{"SYN on the synchronized connection", retransmitting, 6,
			step{dir: FromServer, flags: SYN, seq: 70_000, len: 20, at: 1000, rule: RuleSYNChallenged}, 10_000, AnomalySYNOnSynchronized},
		{"data beyond the window", retransmitting, 6,
			step{dir: FromServer, flags: PSH | ACK, seq: 900_001, ack: 101, len: 50, at: 1000, rule: RuleBeyondWindow}, 10_000, AnomalySegmentBeyondWindow},
		{"RST without ACK in SYN_SENT", synsUnanswered, 1,
			step{dir: FromServer, flags: RST, seq: 0, len: 20, at: 1500, rule: RuleRSTWithoutACK}, 10_000, AnomalyRSTWithoutACK},
		{"RST whose ACK is not of the SYN, in SYN_SENT", synsUnanswered, 1,
			step{dir: FromServer, flags: RST | ACK, ack: 77, at: 1500, rule: RuleRSTOutOfWindow}, 10_000, AnomalyRSTOutOfWindow},
		{"ACK not of the SYN, in SYN_SENT", synsUnanswered, 1,
			step{dir: FromServer, flags: ACK, seq: 300, ack: 77, len: 20, at: 1500, rule: RuleACKUnacceptable}, 10_000, AnomalyACKUnacceptable},
	}
	// comparable is what the dropped segment may not change: the result
	// less its packet counts and its anomalies (and the label an anomaly
	// brings, see LabelRSTChallenged and LabelSYNChallenged).
	comparable := func(r Result) Result {
		for _, s := range []*Side{&r.Client, &r.Server} {
			s.Packets, s.IPBytes = 0, 0
		}
		r.Anomalies = nil
		r.Labels = slices.DeleteFunc(r.Labels, func(l string) bool { return l == LabelRSTChallenged || l == LabelSYNChallenged })
		return r
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			end := int64(1_700_000_000e9) + tt.end*1e6
			without := run(t, cISN, sISN, tt.base).Result(end)
			steps := slices.Insert(slices.Clone(tt.base), tt.after+1, tt.dropped)
			c := run(t, cISN, sISN, steps)
			with := c.Result(end)
			if len(with.Anomalies) != 1 || with.Anomalies[0].Name != tt.anomaly || with.Anomalies[0].Count != 1 {
				t.Errorf("anomalies %+v, want %s once", with.Anomalies, tt.anomaly)
			}
			if got, want := comparable(with), comparable(without); !reflect.DeepEqual(got, want) {
				t.Errorf("the dropped segment changed the result:\n with it   %+v\n without  %+v", got, want)
			}
		})
	}
}

// TestIsNewAttemptAfterChallengedSYN: a peer that restarted sends a SYN
// with a new ISN on the 5-tuple of a connection the other side still
// holds. The SYN is challenged, the challenge ACK draws the restarted
// peer's RST at RCV.NXT, and its next SYN, the same new ISN again, opens
// a new connection (the flow table asks IsNewAttempt).
func TestIsNewAttemptAfterChallengedSYN(t *testing.T) {
	c := run(t, cISN, sISN, with(handshake,
		step{dir: FromClient, flags: SYN, seq: 70000, at: 30, rule: RuleSYNChallenged},
		step{dir: FromServer, flags: ACK, seq: 1, ack: 1, at: 31},
		step{dir: FromClient, flags: RST, seq: 1, at: 32, client: Closed, server: Closed},
	))
	retry := step{dir: FromClient, flags: SYN, seq: 70000, at: 1030}.segment(cISN, sISN)
	if !c.IsNewAttempt(&retry) {
		t.Error("the restarted peer's SYN after the RST did not open a new connection")
	}
	live := run(t, cISN, sISN, with(handshake, step{dir: FromClient, flags: SYN, seq: 70000, at: 30}))
	if live.IsNewAttempt(&retry) {
		t.Error("the SYN's retry on the live connection opened a new one")
	}
}

// TestOneSided: a capture of one direction only. The seen side's own
// segments show the unseen side's handshake (inferUnseen), so neither
// contradicts the other: a server seen sending its SYN/ACK, data and FIN
// is in FIN_WAIT_1 on a connection whose handshake completed and which the
// server closed, not a mid-stream pickup never established.
func TestOneSided(t *testing.T) {
	tests := []struct {
		name             string
		steps            []step
		handshake, close string
		client, server   State
		labels           []string
	}{
		{
			name: "the server's side only",
			steps: []step{
				{dir: FromServer, flags: SYNACK, ack: 1, client: SynSent, server: SynRcvd},
				{dir: FromServer, flags: PSH | ACK, seq: 1, ack: 101, len: 300, at: 20, client: Established, server: Established},
				{dir: FromServer, flags: FIN | ACK, seq: 301, ack: 101, at: 30, server: FinWait1},
				// A segment after its FIN: the FIN reached the client first.
				{dir: FromServer, flags: ACK, seq: 302, ack: 102, at: 40, client: CloseWait},
			},
			handshake: HandshakeComplete, close: CloseFINServer, client: CloseWait, server: FinWait1,
			labels: []string{LabelOneSided},
		},
		{
			name: "the client's side only",
			steps: []step{
				{dir: FromClient, flags: SYN, client: SynSent, server: Listen},
				{dir: FromClient, flags: ACK, seq: 1, ack: 1, at: 10, client: Established, server: Established},
				{dir: FromClient, flags: PSH | ACK, seq: 1, ack: 1, len: 100, at: 11},
				{dir: FromClient, flags: ACK, seq: 101, ack: 301, at: 30},
				{dir: FromClient, flags: FIN | ACK, seq: 101, ack: 301, at: 40, client: FinWait1},
			},
			handshake: HandshakeComplete, close: CloseFINClient, client: FinWait1, server: Established,
			labels: []string{LabelOneSided},
		},
		{
			// Not one-sided: the server is seen, its SYN/ACK merely
			// missed; nothing is inferred from a peer the capture shows.
			name: "both sides, the SYN/ACK not captured",
			steps: []step{
				{dir: FromClient, flags: SYN},
				{dir: FromServer, flags: ACK, seq: 1, ack: 1, at: 5},
				{dir: FromClient, flags: ACK, seq: 1, ack: 1, at: 10},
			},
			handshake: HandshakeUnanswered, close: CloseNone, client: SynSent, server: SynRcvd,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := run(t, cISN, sISN, tt.steps)
			r := c.Result(c.Last())
			if r.Handshake != tt.handshake || r.Close != tt.close || r.Client.State != tt.client || r.Server.State != tt.server {
				t.Errorf("handshake %s close %s, client %s server %s; want %s %s, %s %s",
					r.Handshake, r.Close, r.Client.State, r.Server.State, tt.handshake, tt.close, tt.client, tt.server)
			}
			if !slices.Equal(r.Labels, tt.labels) {
				t.Errorf("labels %v, want %v", r.Labels, tt.labels)
			}
			if len(r.Anomalies) != 0 {
				t.Errorf("anomalies %+v, want none", r.Anomalies)
			}
		})
	}
}

// TestThenRule: a segment can meet two rules in one step. Its sender had
// received a RST taken on trust, so sending shows the RST was not taken
// (RuleRSTNotAccepted, undoing the reset), and its receiver drops it
// (RuleBeyondWindow, RuleACKUnacceptable). Both are in the step's result,
// in that order: the reset is undone whatever becomes of the segment.
func TestThenRule(t *testing.T) {
	tests := []struct {
		name       string
		steps      []step
		rule, then Rule
		client     State
		server     State
	}{
		{
			// Picked up at the server's SYN/ACK (no window scale), the
			// client's segments unseen until the server's RST: the
			// client's RCV.NXT is unknown. Its data then lies far past the
			// server's window.
			name: "RST not accepted, then data beyond the window",
			steps: []step{
				{dir: FromServer, flags: SYNACK, ack: 1},
				{dir: FromServer, flags: PSH | ACK, seq: 1, ack: 1, len: 300, at: 5},
				{dir: FromServer, flags: RST, seq: 301, at: 10, rule: RuleRSTUnknownRcvNxt, client: Closed, server: Closed},
				{dir: FromClient, flags: PSH | ACK, seq: 1 + 1_000_000, ack: 301, len: 100, at: 20},
			},
			rule: RuleRSTNotAccepted, then: RuleBeyondWindow, client: Established, server: Established,
		},
		{
			// The client's RST from SYN_SENT reaches a listener that never
			// acknowledged anything; its SYN/ACK then shows it did not
			// take the RST, and acknowledges something other than the
			// client's SYN, which the client drops.
			name: "RST not accepted, then an unacceptable ACK",
			steps: []step{
				{dir: FromClient, flags: SYN},
				{dir: FromClient, flags: RST, seq: 1, at: 5, rule: RuleRSTUnknownRcvNxt},
				{dir: FromServer, flags: SYNACK, ack: 555, at: 10},
			},
			rule: RuleRSTNotAccepted, then: RuleACKUnacceptable, client: SynSent, server: Listen,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := run(t, cISN, sISN, tt.steps[:len(tt.steps)-1])
			seg := tt.steps[len(tt.steps)-1].segment(cISN, sISN)
			res := c.Step(&seg)
			if res.Rule != tt.rule || res.ThenRule != tt.then {
				t.Errorf("rules %q then %q, want %q then %q", res.Rule, res.ThenRule, tt.rule, tt.then)
			}
			if res.After != [2]State{tt.client, tt.server} {
				t.Errorf("states %v, want client %s server %s", res.After, tt.client, tt.server)
			}
		})
	}
}
