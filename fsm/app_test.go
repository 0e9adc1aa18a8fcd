package fsm

import (
	"fmt"
	"strings"
	"testing"
)

// appWant is one side's expected application view; at is in milliseconds
// since the first segment (-1: no time), why a part of AppSide.Why.
type appWant struct {
	call, setup, recv, send string
	errno                   int
	at                      int64
	why                     string
}

func (w appWant) check(t *testing.T, side string, got AppSide) {
	t.Helper()
	at := int64(-1)
	if ts := got.Time(); ts != 0 {
		at = (ts - 1_700_000_000e9) / 1e6
	}
	if got.Call != w.call || got.Setup != w.setup || got.Recv != w.recv || got.Send != w.send || got.Errno != w.errno || at != w.at {
		t.Errorf("%s: %s %s, recv %q, send %q, errno %d, at %d ms; want %s %s, recv %q, send %q, errno %d, at %d ms (why %q)",
			side, got.Call, got.Setup, got.Recv, got.Send, got.Errno, at, w.call, w.setup, w.recv, w.send, w.errno, w.at, got.Why)
	}
	if w.why == "" && got.Why != "" || !strings.Contains(got.Why, w.why) {
		t.Errorf("%s: why %q, want it to say %q", side, got.Why, w.why)
	}
}

// TestApp derives what each application saw from short scripts, one per
// outcome: the socket call, its errno as Linux numbers it, and the time of
// the packet that decided it.
func TestApp(t *testing.T) {
	request := with(handshake,
		step{dir: FromClient, flags: PSH | ACK, seq: 1, ack: 1, len: 10, at: 30},
		step{dir: FromServer, flags: ACK, seq: 1, ack: 11, at: 35},
	)
	synsUnanswered := []step{
		{dir: FromClient, flags: SYN},
		{dir: FromClient, flags: SYN, at: 1000},
		{dir: FromClient, flags: SYN, at: 3000},
	}
	// Unanswered data retransmitted with backoff: 200, 400, 800 ms.
	retransmitted := with(request,
		step{dir: FromClient, flags: PSH | ACK, seq: 11, ack: 1, len: 10, at: 100},
		step{dir: FromClient, flags: PSH | ACK, seq: 11, ack: 1, len: 10, at: 300, kind: KindRetransmission},
		step{dir: FromClient, flags: PSH | ACK, seq: 11, ack: 1, len: 10, at: 700, kind: KindRetransmission},
		step{dir: FromClient, flags: PSH | ACK, seq: 11, ack: 1, len: 10, at: 1500, kind: KindRetransmission},
	)
	accepted := appWant{call: CallAccept, setup: AppAccepted, recv: AppOpen, at: 20}
	connected := appWant{call: CallConnect, setup: AppConnected, recv: AppOpen, at: 20}
	tests := []struct {
		name           string
		steps          []step
		end            int64 // ms; 0: the last segment
		client, server appWant
	}{
		{
			name:   "refused: RST/ACK answering the SYN",
			steps:  []step{{dir: FromClient, flags: SYN}, {dir: FromServer, flags: RST | ACK, ack: 1, at: 10}},
			client: appWant{call: CallConnect, setup: ECONNREFUSED, errno: 111, at: 10},
			server: appWant{call: CallAccept, setup: AppNever, at: 10, why: "refused"},
		},
		{
			name:   "SYNs unanswered, the capture ends before the next was due: EINPROGRESS",
			steps:  synsUnanswered,
			end:    6000,
			client: appWant{call: CallConnect, setup: EINPROGRESS, errno: 115, at: 3000, why: "3 SYNs unanswered"},
			server: appWant{call: CallAccept, setup: AppNever, at: -1, why: "never answered"},
		},
		{
			name:   "SYNs unanswered, none when the next was due: ETIMEDOUT, the retries stated",
			steps:  synsUnanswered,
			end:    7500,
			client: appWant{call: CallConnect, setup: ETIMEDOUT, errno: 110, at: 3000, why: "tcp_syn_retries=2"},
			server: appWant{call: CallAccept, setup: AppNever, at: -1, why: "never answered"},
		},
		{
			name:   "one SYN and a long silence: unknown",
			steps:  synsUnanswered[:1],
			end:    5000,
			client: appWant{call: CallConnect, setup: AppUnknown, at: 0, why: "one SYN"},
			server: appWant{call: CallAccept, setup: AppNever, at: -1, why: "never answered"},
		},
		{
			name:   "established and open",
			steps:  request,
			client: connected, server: accepted,
		},
		{
			name: "four-way close: each recv() reads the other's FIN as EOF",
			steps: with(request,
				step{dir: FromClient, flags: FIN | ACK, seq: 11, ack: 1, at: 40},
				step{dir: FromServer, flags: FIN | ACK, seq: 1, ack: 12, at: 45},
				step{dir: FromClient, flags: ACK, seq: 12, ack: 2, at: 50, client: TimeWait, server: Closed},
			),
			client: appWant{call: CallConnect, setup: AppConnected, recv: AppEOF, at: 45},
			server: appWant{call: CallAccept, setup: AppAccepted, recv: AppEOF, at: 40},
		},
		{
			name: "RST in ESTABLISHED: ECONNRESET at its receiver, nothing more for the side that sent it",
			steps: with(request,
				step{dir: FromServer, flags: RST | ACK, seq: 1, ack: 11, at: 40, client: Closed, server: Closed},
			),
			client: appWant{call: CallConnect, setup: AppConnected, recv: ECONNRESET, errno: 104, at: 40},
			server: appWant{call: CallAccept, setup: AppAccepted, at: 20},
		},
		{
			name: "RST in CLOSE_WAIT: EOF, then EPIPE on a write (Linux tcp_reset)",
			steps: with(request,
				step{dir: FromServer, flags: FIN | ACK, seq: 1, ack: 11, at: 40},
				step{dir: FromClient, flags: ACK, seq: 11, ack: 2, at: 45, client: CloseWait},
				step{dir: FromClient, flags: PSH | ACK, seq: 11, ack: 2, len: 10, at: 50},
				step{dir: FromServer, flags: RST, seq: 2, at: 55, client: Closed},
			),
			client: appWant{call: CallConnect, setup: AppConnected, recv: AppEOF, send: EPIPE, errno: 32, at: 55},
			server: appWant{call: CallAccept, setup: AppAccepted, at: 20},
		},
		{
			name: "keepalive probes unanswered, then the prober's RST: ETIMEDOUT there, ECONNRESET at the peer",
			steps: with(request,
				step{dir: FromClient, flags: ACK, seq: 10, ack: 1, at: 1000, kind: KindKeepAlive},
				step{dir: FromClient, flags: ACK, seq: 10, ack: 1, at: 2000, kind: KindKeepAlive},
				step{dir: FromClient, flags: ACK, seq: 10, ack: 1, at: 3000, kind: KindKeepAlive},
				step{dir: FromClient, flags: RST | ACK, seq: 11, ack: 1, at: 4000, client: Closed, server: Closed},
			),
			client: appWant{call: CallConnect, setup: AppConnected, recv: ETIMEDOUT, errno: 110, at: 4000, why: "3 unanswered keepalive probes"},
			server: appWant{call: CallAccept, setup: AppAccepted, recv: ECONNRESET, errno: 104, at: 4000},
		},
		{
			name:   "retransmissions unanswered until the capture ends: unknown",
			steps:  retransmitted,
			client: appWant{call: CallConnect, setup: AppConnected, recv: AppUnknown, at: 1500, why: "capture ended during its retry schedule"},
			server: accepted,
		},
		{
			name:   "retransmissions unanswered, none when the next was due: ETIMEDOUT, assumed",
			steps:  retransmitted,
			end:    3200,
			client: appWant{call: CallConnect, setup: AppConnected, recv: ETIMEDOUT, errno: 110, at: 1500, why: "assumed given up"},
			server: accepted,
		},
		{
			name: "accept-queue trap: the client is connected, the server resends its SYN/ACK",
			steps: with(handshake,
				step{dir: FromClient, flags: PSH | ACK, seq: 1, ack: 1, len: 10, at: 25},
				step{dir: FromServer, flags: SYNACK, ack: 1, at: 1010, server: SynRcvd},
			),
			client: connected,
			server: appWant{call: CallAccept, setup: AppNever, at: 20, why: "accept queue was full"},
		},
		{
			name: "accept-queue overflow with tcp_abort_on_overflow=1: RST from SYN_RCVD",
			steps: with(handshake,
				step{dir: FromServer, flags: RST, seq: 1, at: 25},
			),
			client: appWant{call: CallConnect, setup: AppConnected, recv: ECONNRESET, errno: 104, at: 25},
			server: appWant{call: CallAccept, setup: AppNever, at: 25, why: "tcp_abort_on_overflow=1"},
		},
		{
			// A SYN scan, or a client whose socket was closed before
			// the SYN/ACK came: reset in SYN_RCVD, never queued.
			name: "reset before the handshake completed: never accepted",
			steps: []step{
				{dir: FromClient, flags: SYN},
				{dir: FromServer, flags: SYNACK, ack: 1, at: 10},
				{dir: FromClient, flags: RST, seq: 1, at: 15, server: Listen},
			},
			client: appWant{call: CallConnect, setup: AppUnknown, at: 15, why: "it sent a RST from SYN_SENT"},
			server: appWant{call: CallAccept, setup: AppNever, at: 15, why: "reset in SYN_RCVD"},
		},
		{
			name: "SYN/ACK never acknowledged",
			steps: []step{
				{dir: FromClient, flags: SYN},
				{dir: FromServer, flags: SYNACK, ack: 1, at: 10},
			},
			client: appWant{call: CallConnect, setup: EINPROGRESS, errno: 115, at: 0, why: "one SYN"},
			server: appWant{call: CallAccept, setup: AppNever, at: -1, why: "never acknowledged"},
		},
		{
			name:   "picked up mid-stream: the setup is unknown, the stream is read",
			steps:  []step{{dir: FromClient, flags: PSH | ACK, seq: 1, ack: 1, len: 10}, {dir: FromServer, flags: FIN | ACK, seq: 1, ack: 11, at: 5}, {dir: FromClient, flags: ACK, seq: 11, ack: 2, at: 6}},
			client: appWant{call: CallConnect, setup: AppUnknown, recv: AppEOF, at: 5, why: "mid-stream"},
			server: appWant{call: CallAccept, setup: AppUnknown, recv: AppOpen, at: -1, why: "mid-stream"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkApp(t, run(t, cISN, sISN, tt.steps), tt.end, tt.client, tt.server)
		})
	}
}

// checkApp checks c's application view at endMS milliseconds (0: its
// last segment) and returns its result.
func checkApp(t *testing.T, c *Conn, endMS int64, client, server appWant) Result {
	t.Helper()
	end := c.Last()
	if endMS != 0 {
		end = 1_700_000_000e9 + endMS*1e6
	}
	r := c.Result(end)
	client.check(t, "client", r.App.Client)
	server.check(t, "server", r.App.Server)
	return r
}

// TestErrnoOf: errnoOf, which skips the outcomes that are no errno, says
// what Errnos says of every outcome and of the empty string.
func TestErrnoOf(t *testing.T) {
	for _, o := range append([]string{""}, AppOutcomes...) {
		want, wantOK := Errnos[o]
		if got, ok := errnoOf(o); got != want || ok != wantOK {
			t.Errorf("errnoOf(%q) = %d, %v; Errnos says %d, %v", o, got, ok, want, wantOK)
		}
	}
}

// TestFmtDur: fmtDur, written with strconv, gives what the fmt verbs it
// replaced give, rounding included.
func TestFmtDur(t *testing.T) {
	fmtDurByFmt := func(ns int64) string {
		switch {
		case ns < 0:
			return fmt.Sprintf("%dns", ns)
		case ns < 1e6:
			return fmt.Sprintf("%dµs", ns/1e3)
		case ns < 1e9:
			return fmt.Sprintf("%.1fms", float64(ns)/1e6)
		}
		return fmt.Sprintf("%.3fs", float64(ns)/1e9)
	}
	for _, ns := range []int64{-1, -5e9, 0, 999, 1000, 999_999, 1e6, 1_049_999, 1_050_000, 1_250_000, 999_999_999,
		1e9, 1_000_499_999, 1_000_500_000, 1_002_500_000, 7_654_321_987, 86_400e9, 1<<62 + 12345} {
		if got, want := fmtDur(ns), fmtDurByFmt(ns); got != want {
			t.Errorf("fmtDur(%d) = %q, want %q", ns, got, want)
		}
	}
}

// TestAppSetupTime: the time of a side's setup call's outcome is kept
// apart from that of its last outcome: connect() returned, and the
// server's connection reached the accept queue, with the handshake's ACK
// (the capture's evidence that the SYN/ACK arrived), whatever recv()
// later read.
func TestAppSetupTime(t *testing.T) {
	closed := with(handshake,
		step{dir: FromClient, flags: FIN | ACK, seq: 1, ack: 1, at: 40},
		step{dir: FromServer, flags: FIN | ACK, seq: 1, ack: 2, at: 45},
		step{dir: FromClient, flags: ACK, seq: 2, ack: 2, at: 50},
	)
	for _, tt := range []struct {
		name                     string
		steps                    []step
		clientSetup, serverSetup int64 // ms; -1: none
		clientLast, serverLast   int64
	}{
		{"four-way close", closed, 20, 20, 45, 40},
		{"refused", []step{{dir: FromClient, flags: SYN}, {dir: FromServer, flags: RST | ACK, ack: 1, at: 10}}, 10, 10, 10, 10},
	} {
		r := run(t, cISN, sISN, tt.steps).Result(1_700_000_000e9 + 60e6)
		ms := func(ts int64) int64 {
			if ts == 0 {
				return -1
			}
			return (ts - 1_700_000_000e9) / 1e6
		}
		for _, s := range []struct {
			side        string
			got         AppSide
			setup, last int64
		}{{"client", r.App.Client, tt.clientSetup, tt.clientLast}, {"server", r.App.Server, tt.serverSetup, tt.serverLast}} {
			if ms(s.got.SetupAt) != s.setup || ms(s.got.Time()) != s.last {
				t.Errorf("%s, %s: %s at %d ms, last outcome at %d ms; want %d and %d",
					tt.name, s.side, s.got.Setup, ms(s.got.SetupAt), ms(s.got.Time()), s.setup, s.last)
			}
		}
	}
}
