package fsm

import (
	"net/netip"
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
