package fsm

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// icmpStep is an ICMP error in a script: after the segments before it, at
// ms milliseconds, quoting side dir's sequence number ISN+seq.
type icmpStep struct {
	dir        Dir
	seq        uint32
	at         int64
	v6         bool
	typ, code  uint8
	afterSteps int // how many of the script's segments come before it
}

// The scripts the ICMP tests share: a SYN; three SYNs, unanswered, 1 s and
// 2 s apart; and a host unreachable quoting the first SYN 5 ms after it.
var (
	icmpSYN             = []step{{dir: FromClient, flags: SYN}}
	icmpSYNsUnanswered  = []step{{dir: FromClient, flags: SYN}, {dir: FromClient, flags: SYN, at: 1000}, {dir: FromClient, flags: SYN, at: 3000}}
	icmpHostUnreachable = icmpStep{dir: FromClient, at: 5, typ: 3, code: 1, afterSteps: 1}
)

// TestAppICMP: an ICMP error quoting the SYN of a connect() in SYN_SENT
// ends it with the errno Linux gives that error, at the error's time;
// one the connect() went on after is the errno of its timeout; one that
// Linux would not take changes nothing.
func TestAppICMP(t *testing.T) {
	syn, synsUnanswered, hostUnreachable := icmpSYN, icmpSYNsUnanswered, icmpHostUnreachable
	ended := func(errno string, n int, what string) appWant {
		return appWant{call: CallConnect, setup: errno, errno: n, at: 5, why: what + " from 10.0.0.254 quoting its SYN, which Linux takes in SYN_SENT"}
	}
	neverWhy := func(what string) appWant {
		return appWant{call: CallAccept, setup: AppNever, at: -1, why: "answered with an " + what}
	}
	einprogress := appWant{call: CallConnect, setup: EINPROGRESS, errno: 115, at: 0, why: "one SYN"}
	unanswered := appWant{call: CallAccept, setup: AppNever, at: -1, why: "never answered"}
	tests := []struct {
		name           string
		steps          []step
		icmp           []icmpStep
		end            int64
		client, server appWant
	}{
		{"host unreachable: EHOSTUNREACH", syn, []icmpStep{hostUnreachable}, 0,
			ended(EHOSTUNREACH, 113, "ICMP host unreachable (type 3, code 1)"), neverWhy("ICMP host unreachable")},
		{"net unreachable: ENETUNREACH", syn, []icmpStep{{dir: FromClient, at: 5, typ: 3, code: 0, afterSteps: 1}}, 0,
			ended(ENETUNREACH, 101, "ICMP net unreachable (type 3, code 0)"), neverWhy("ICMP net unreachable")},
		{"port unreachable: ECONNREFUSED", syn, []icmpStep{{dir: FromClient, at: 5, typ: 3, code: 3, afterSteps: 1}}, 0,
			ended(ECONNREFUSED, 111, "ICMP port unreachable (type 3, code 3)"), neverWhy("ICMP port unreachable")},
		{"communication administratively prohibited: EHOSTUNREACH", syn, []icmpStep{{dir: FromClient, at: 5, typ: 3, code: 13, afterSteps: 1}}, 0,
			ended(EHOSTUNREACH, 113, "ICMP communication administratively prohibited (type 3, code 13)"), neverWhy("ICMP communication")},
		{"time exceeded: EHOSTUNREACH", syn, []icmpStep{{dir: FromClient, at: 5, typ: 11, afterSteps: 1}}, 0,
			ended(EHOSTUNREACH, 113, "ICMP time exceeded (type 11, code 0)"), neverWhy("ICMP time exceeded")},
		{"protocol unreachable: ENOPROTOOPT", syn, []icmpStep{{dir: FromClient, at: 5, typ: 3, code: 2, afterSteps: 1}}, 0,
			ended(ENOPROTOOPT, 92, "ICMP protocol unreachable (type 3, code 2)"), neverWhy("ICMP protocol unreachable")},
		{"quoting ISN+1 (SND.NXT)", syn, []icmpStep{{dir: FromClient, seq: 1, at: 5, typ: 3, code: 1, afterSteps: 1}}, 0,
			ended(EHOSTUNREACH, 113, "ICMP host unreachable (type 3, code 1)"), neverWhy("ICMP host unreachable")},
		{"ICMPv6 no route: ENETUNREACH", syn, []icmpStep{{dir: FromClient, at: 5, v6: true, typ: 1, code: 0, afterSteps: 1}}, 0,
			ended(ENETUNREACH, 101, "ICMPv6 no route to destination (type 1, code 0)"), neverWhy("ICMPv6 no route")},
		{"ICMPv6 administratively prohibited: EACCES", syn, []icmpStep{{dir: FromClient, at: 5, v6: true, typ: 1, code: 1, afterSteps: 1}}, 0,
			ended(EACCES, 13, "ICMPv6 communication administratively prohibited (type 1, code 1)"), neverWhy("ICMPv6 communication")},
		{"ICMPv6 address unreachable: EHOSTUNREACH", syn, []icmpStep{{dir: FromClient, at: 5, v6: true, typ: 1, code: 3, afterSteps: 1}}, 0,
			ended(EHOSTUNREACH, 113, "ICMPv6 address unreachable (type 1, code 3)"), neverWhy("ICMPv6 address unreachable")},
		{"ICMPv6 unknown unreachable code: EPROTO", syn, []icmpStep{{dir: FromClient, at: 5, v6: true, typ: 1, code: 9, afterSteps: 1}}, 0,
			ended(EPROTO, 71, "ICMPv6 destination unreachable (type 1, code 9)"), neverWhy("ICMPv6 destination unreachable")},
		{"fragmentation needed: not an end", syn, []icmpStep{{dir: FromClient, at: 5, typ: 3, code: 4, afterSteps: 1}}, 0,
			einprogress, unanswered},
		{"unreachable code past 15: ignored", syn, []icmpStep{{dir: FromClient, at: 5, typ: 3, code: 16, afterSteps: 1}}, 0,
			einprogress, unanswered},
		{"quoting another sequence number: ignored", syn, []icmpStep{{dir: FromClient, seq: 2, at: 5, typ: 3, code: 1, afterSteps: 1}}, 0,
			einprogress, unanswered},
		{"quoting the server's side: ignored", syn, []icmpStep{{dir: FromServer, at: 5, typ: 3, code: 1, afterSteps: 1}}, 0,
			einprogress, unanswered},
		{"after the handshake: connected, the error is soft", handshake, []icmpStep{{dir: FromClient, at: 25, typ: 3, code: 1, afterSteps: 3}}, 0,
			appWant{call: CallConnect, setup: AppConnected, recv: AppOpen, at: 20}, appWant{call: CallAccept, setup: AppAccepted, recv: AppOpen, at: 20}},
		{"while the SYN/ACK is on its way: the connect() still completes if the client went on", handshake, []icmpStep{{dir: FromClient, at: 5, typ: 3, code: 1, afterSteps: 1}}, 0,
			appWant{call: CallConnect, setup: AppConnected, recv: AppOpen, at: 20}, appWant{call: CallAccept, setup: AppAccepted, recv: AppOpen, at: 20}},
		{"SYNs sent after it, then given up: the soft error instead of ETIMEDOUT", synsUnanswered, []icmpStep{hostUnreachable}, 7500,
			appWant{call: CallConnect, setup: EHOSTUNREACH, errno: 113, at: 3000, why: "soft error a timeout returns"}, neverWhy("ICMP host unreachable")},
		{"SYNs sent after it, still pending: EINPROGRESS", synsUnanswered, []icmpStep{hostUnreachable}, 6000,
			appWant{call: CallConnect, setup: EINPROGRESS, errno: 115, at: 3000, why: "it went on after an ICMP host unreachable"}, neverWhy("ICMP host unreachable")},
		{"one after the latest SYN ends it, at its time", synsUnanswered, []icmpStep{hostUnreachable, {dir: FromClient, at: 3005, typ: 3, code: 0, afterSteps: 3}}, 7500,
			appWant{call: CallConnect, setup: ENETUNREACH, errno: 101, at: 3005, why: "ICMP net unreachable"}, neverWhy("ICMP net unreachable")},
		{"after a refusing RST: ECONNREFUSED stands", []step{{dir: FromClient, flags: SYN}, {dir: FromServer, flags: RST | ACK, ack: 1, at: 3}}, []icmpStep{{dir: FromClient, at: 5, typ: 3, code: 1, afterSteps: 2}}, 0,
			appWant{call: CallConnect, setup: ECONNREFUSED, errno: 111, at: 3}, appWant{call: CallAccept, setup: AppNever, at: 3, why: "refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := runICMP(t, tt.steps, tt.icmp)
			r := checkApp(t, c, tt.end, tt.client, tt.server)
			if r.Client.Packets+r.Server.Packets != uint64(len(tt.steps)) {
				t.Errorf("%d packets counted, want the %d segments", r.Client.Packets+r.Server.Packets, len(tt.steps))
			}
		})
	}
}

// icmpRouter is the sender of a script's ICMP errors.
var icmpRouter = netip.MustParseAddr("10.0.0.254")

// runICMP runs a script of segments with its ICMP errors among them.
func runICMP(t *testing.T, steps []step, icmp []icmpStep) *Conn {
	t.Helper()
	done := 0
	var c *Conn
	feed := func(upTo int) {
		c = runOn(t, c, steps[done:upTo])
		done = upTo
	}
	for _, m := range icmp {
		feed(m.afterSteps)
		own := cISN
		if m.dir == FromServer {
			own = sISN
		}
		c.ICMPError(&ICMPError{Time: 1_700_000_000e9 + m.at*1e6, Dir: m.dir, Seq: own + m.seq, V6: m.v6, Type: m.typ, Code: m.code, From: icmpRouter})
	}
	feed(len(steps))
	return c
}

// TestICMPClosesConnect: an ICMP error that ends a connect() closes the
// client (Linux tcp_done_with_error) from the error's time, and the
// handshake is unreachable, naming the error; an error the connect() went
// on after leaves the client in SYN_SENT, as Linux does.
func TestICMPClosesConnect(t *testing.T) {
	syn, synsUnanswered, hostUnreachable := icmpSYN, icmpSYNsUnanswered, icmpHostUnreachable
	tests := []struct {
		name      string
		steps     []step
		icmp      []icmpStep
		client    State
		handshake string
		errorAt   int64 // ms; 0: no error ended the connect()
	}{
		{"host unreachable", syn, []icmpStep{hostUnreachable}, Closed, HandshakeUnreachable, 5},
		{"port unreachable", syn, []icmpStep{{dir: FromClient, at: 5, typ: 3, code: 3, afterSteps: 1}}, Closed, HandshakeUnreachable, 5},
		{"ICMPv6 no route", syn, []icmpStep{{dir: FromClient, at: 5, v6: true, typ: 1, afterSteps: 1}}, Closed, HandshakeUnreachable, 5},
		{"soft: SYNs sent after it", synsUnanswered, []icmpStep{hostUnreachable}, SynSent, HandshakeUnanswered, 0},
		{"soft, then one after the latest SYN", synsUnanswered, []icmpStep{hostUnreachable, {dir: FromClient, at: 3005, typ: 3, code: 0, afterSteps: 3}}, Closed, HandshakeUnreachable, 3005},
		{"a SYN/ACK after it the client never answered", []step{{dir: FromClient, flags: SYN}, {dir: FromServer, flags: SYN | ACK, ack: 1, at: 10}}, []icmpStep{hostUnreachable}, Closed, HandshakeUnreachable, 5},
		{"the handshake completed after it", handshake, []icmpStep{hostUnreachable}, Established, HandshakeComplete, 0},
		{"fragmentation needed", syn, []icmpStep{{dir: FromClient, at: 5, typ: 3, code: 4, afterSteps: 1}}, SynSent, HandshakeUnanswered, 0},
		{"after a refusing RST", []step{{dir: FromClient, flags: SYN}, {dir: FromServer, flags: RST | ACK, ack: 1, at: 3}}, []icmpStep{{dir: FromClient, at: 5, typ: 3, code: 1, afterSteps: 2}}, Closed, HandshakeRefused, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := runICMP(t, tt.steps, tt.icmp)
			r := c.Result(c.Last())
			if r.Client.State != tt.client || r.Handshake != tt.handshake {
				t.Errorf("client %s, handshake %s; want %s, %s", r.Client.State, r.Handshake, tt.client, tt.handshake)
			}
			if tt.errorAt == 0 {
				if r.Unreachable != (ICMPError{}) {
					t.Errorf("unreachable %+v, want none", r.Unreachable)
				}
				return
			}
			at := 1_700_000_000e9 + tt.errorAt*1e6
			if r.Unreachable.Time != at || r.Unreachable.From != icmpRouter || r.Unreachable.Dir != FromClient {
				t.Errorf("unreachable %+v, want from %s at %d ms", r.Unreachable, icmpRouter, tt.errorAt)
			}
			// netstat before the error still lists the SYN_SENT socket.
			if cl, _ := c.StatesAt(at - 1); cl != SynSent {
				t.Errorf("just before the error the client is %s, want SYN_SENT", cl)
			}
			if cl, _ := c.StatesAt(at); cl != Closed {
				t.Errorf("at the error the client is %s, want CLOSED", cl)
			}
		})
	}
}

// TestICMPDropsHalfOpen: an ICMP error quoting the SYN/ACK of a server in
// SYN_RCVD (its ISN exactly) drops the half-open connection, back to
// LISTEN, for the errors Linux's tcp_req_err is told to abort on
// (tcp_v4_err: net or host unreachable, time exceeded, parameter problem;
// tcp_v6_err: what icmpv6_err_convert calls fatal), and for no other;
// nor once the handshake completed, nor quoting another sequence number.
func TestICMPDropsHalfOpen(t *testing.T) {
	synSynAck := []step{{dir: FromClient, flags: SYN}, {dir: FromServer, flags: SYN | ACK, ack: 1, at: 5}}
	quoting := func(v6 bool, typ, code uint8) []icmpStep {
		return []icmpStep{{dir: FromServer, at: 10, v6: v6, typ: typ, code: code, afterSteps: 2}}
	}
	tests := []struct {
		name  string
		steps []step
		icmp  []icmpStep
		drops bool
	}{
		{"net unreachable", synSynAck, quoting(false, 3, 0), true},
		{"host unreachable", synSynAck, quoting(false, 3, 1), true},
		{"time exceeded", synSynAck, quoting(false, 11, 0), true},
		{"parameter problem", synSynAck, quoting(false, 12, 0), true},
		{"port unreachable: kept", synSynAck, quoting(false, 3, 3), false},
		{"communication administratively prohibited: kept", synSynAck, quoting(false, 3, 13), false},
		{"host administratively prohibited: kept", synSynAck, quoting(false, 3, 10), false},
		{"fragmentation needed: kept", synSynAck, quoting(false, 3, 4), false},
		{"ICMPv6 no route: kept", synSynAck, quoting(true, 1, 0), false},
		{"ICMPv6 administratively prohibited", synSynAck, quoting(true, 1, 1), true},
		{"ICMPv6 beyond scope: kept", synSynAck, quoting(true, 1, 2), false},
		{"ICMPv6 address unreachable: kept", synSynAck, quoting(true, 1, 3), false},
		{"ICMPv6 port unreachable", synSynAck, quoting(true, 1, 4), true},
		{"ICMPv6 reject route", synSynAck, quoting(true, 1, 6), true},
		{"ICMPv6 unknown unreachable code", synSynAck, quoting(true, 1, 9), true},
		{"ICMPv6 parameter problem", synSynAck, quoting(true, 4, 0), true},
		{"ICMPv6 time exceeded: kept", synSynAck, quoting(true, 3, 0), false},
		{"ICMPv6 packet too big: kept", synSynAck, quoting(true, 2, 0), false},
		{"quoting ISN+1: kept", synSynAck, []icmpStep{{dir: FromServer, seq: 1, at: 10, typ: 3, code: 1, afterSteps: 2}}, false},
		{"quoting the client's SYN: the connect() ends instead", synSynAck, []icmpStep{{dir: FromClient, at: 10, typ: 3, code: 1, afterSteps: 2}}, false},
		{"after the handshake: kept", handshake, []icmpStep{{dir: FromServer, at: 25, typ: 3, code: 1, afterSteps: 3}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := runICMP(t, tt.steps, tt.icmp)
			r := c.Result(c.Last())
			dropped := slices.Contains(r.Labels, LabelSynAckUnreachable)
			if dropped != tt.drops || (r.HalfOpenDropped == 1) != tt.drops || (r.Server.State == Listen) != tt.drops {
				t.Errorf("dropped %d, labels %v, server %s; want dropped: %v", r.HalfOpenDropped, r.Labels, r.Server.State, tt.drops)
			}
			if tt.drops && (r.HalfOpenDrop.Time != 1_700_000_000e9+10e6 || r.HalfOpenDrop.From != icmpRouter) {
				t.Errorf("half-open drop %+v, want the error at 10 ms from %s", r.HalfOpenDrop, icmpRouter)
			}
		})
	}
}

// TestHalfOpenReopened: after Linux dropped the server's half-open
// connection on an ICMP error, the client's SYN retry meets a new one
// (the recorded synack-icmp-dropped.pcap): its SYN/ACK, with a new ISN,
// takes the server back to SYN_RCVD, is no retransmission and no
// synack_isn_changed, and starts the server's retry schedule again; a
// SYN/ACK the new request resends is a retransmission, and the
// handshake completes on it as on any other.
func TestHalfOpenReopened(t *testing.T) {
	const newISN = 77_777 // the second request's ISN, relative to the first's
	hostUnreachable := func(seq uint32, at int64, after int) icmpStep {
		return icmpStep{dir: FromServer, seq: seq, at: at, typ: 3, code: 1, afterSteps: after}
	}
	steps := []step{
		{dir: FromClient, flags: SYN},
		{dir: FromServer, flags: SYN | ACK, ack: 1, at: 5, server: SynRcvd},
		{dir: FromClient, flags: SYN, at: 1000, server: Listen, kind: KindSynRetransmission},
		{dir: FromServer, flags: SYN | ACK, seq: newISN, ack: 1, at: 1005, server: SynRcvd, notKind: KindSynRetransmission},
		{dir: FromServer, flags: SYN | ACK, seq: newISN, ack: 1, at: 2005, server: SynRcvd, kind: KindSynRetransmission},
		{dir: FromClient, flags: ACK, seq: 1, ack: newISN + 1, at: 2010, client: Established, server: Established},
	}
	c := runICMP(t, steps, []icmpStep{hostUnreachable(0, 10, 2)})
	r := c.Result(c.Last())
	if r.Handshake != HandshakeComplete || r.HalfOpenDropped != 1 || r.SynAckRetransmits != 1 || len(r.Anomalies) != 0 {
		t.Errorf("handshake %s, %d dropped, %d SYN/ACK retransmits, anomalies %v; want complete, 1, 1, none",
			r.Handshake, r.HalfOpenDropped, r.SynAckRetransmits, r.Anomalies)
	}
	if want := []int64{1_700_000_001_005e6, 1_700_000_002_005e6}; !slices.Equal(r.Server.SYNTimes, want) {
		t.Errorf("server SYN/ACK times %v, want the second request's %v", r.Server.SYNTimes, want)
	}

	// Dropped each time, as the recording shows: none resent, the server
	// in LISTEN at the end, and its accept() never saw a connection.
	steps = []step{
		{dir: FromClient, flags: SYN},
		{dir: FromServer, flags: SYN | ACK, ack: 1, at: 5},
		{dir: FromClient, flags: SYN, at: 1000},
		{dir: FromServer, flags: SYN | ACK, seq: newISN, ack: 1, at: 1005},
	}
	c = runICMP(t, steps, []icmpStep{hostUnreachable(0, 10, 2), hostUnreachable(newISN, 1010, 4)})
	r = c.Result(c.Last())
	if r.Server.State != Listen || r.HalfOpenDropped != 2 || r.SynAckRetransmits != 0 || r.Server.SYNACKs != 2 || len(r.Anomalies) != 0 {
		t.Errorf("server %s, %d dropped, %d SYN/ACK retransmits of %d, anomalies %v; want LISTEN, 2, 0 of 2, none",
			r.Server.State, r.HalfOpenDropped, r.SynAckRetransmits, r.Server.SYNACKs, r.Anomalies)
	}
	if s := r.App.Server; s.Setup != AppNever || !strings.Contains(s.Why, "dropped its half-open connection on an ICMP host unreachable") {
		t.Errorf("server app %+v, want accept() never, dropped on the ICMP error", s)
	}
}
