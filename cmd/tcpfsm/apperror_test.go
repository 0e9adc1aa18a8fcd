package main

import (
	"cmp"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/report"
)

func TestParseAppError(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{"ECONNRESET", "ECONNRESET", ""},
		{"econnreset", "ECONNRESET", ""},
		{"104", "ECONNRESET", ""},
		{"111", "ECONNREFUSED", ""},
		{" 110 ", "ETIMEDOUT", ""},
		{"32", "EPIPE", ""},
		{"113", "EHOSTUNREACH", ""},
		{"enetunreach", "ENETUNREACH", ""},
		{"EAGAIN", "", `--app-error "EAGAIN": want one of EACCES (13), ECONNREFUSED (111), ECONNRESET (104), EHOSTDOWN (112), EHOSTUNREACH (113), EINPROGRESS (115), ENETUNREACH (101), ENONET (64), ENOPROTOOPT (92), EOPNOTSUPP (95), EPIPE (32), EPROTO (71), ETIMEDOUT (110), by name or number`},
		{"42", "", "want one of"},
	} {
		got, err := report.ParseAppError(tt.in)
		if got != tt.want || (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ParseAppError(%q) = %q, %v; want %q, %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// TestAppErrorLookup: --app-error lists only the connections where a side
// saw the error, grouped by server with the diagnoses that can cause it,
// while the summary still counts every connection, in text and JSON.
func TestAppErrorLookup(t *testing.T) {
	const dir = "../../testdata/kernel/"
	for _, tt := range []struct {
		capture, app string
		ids          []float64 // the connections listed
		server       string
		calls        string
		diagnoses    []any
	}{
		// The accept queue was full and tcp_abort_on_overflow=1: the
		// client that believed it was connected got ECONNRESET.
		{"accept-overflow-abort.pcap", "104", []float64{3}, "10.0.0.2:8080", "client recv", []any{"accept_queue_overflow"}},
		// The server closed with unread data: a RST, and no diagnosis.
		{"close-unread-rst.pcap", "ECONNRESET", []float64{1}, "10.0.0.2:8080", "client recv", []any{}},
		{"connection-refused.pcap", "econnrefused", []float64{1}, "10.0.0.2:8081", "client connect", []any{}},
		// The client's keepalives went unanswered, then it reset the
		// connection: the server it reset got ECONNRESET, the client
		// ETIMEDOUT, both explained by the peer that vanished.
		{"diag-half-open-peer.pcap", "ECONNRESET", []float64{1}, "10.0.0.2:8080", "server recv", []any{"half_open_peer"}},
		{"diag-half-open-peer.pcap", "110", []float64{1}, "10.0.0.2:8080", "client recv", []any{"half_open_peer", "keepalive"}},
		{"normal-client-close.pcap", "ECONNRESET", nil, "", "", nil},
	} {
		t.Run(tt.capture+"/"+tt.app, func(t *testing.T) {
			r := tcpfsm(t, nil, "-r", dir+tt.capture, "--app-error", tt.app, "--format", "json")
			if r.code != exitOK {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			all := tcpfsm(t, nil, "-r", dir+tt.capture, "--format", "json")
			objs := jsonLines(t, r.stdout)
			var ids []float64
			var sum map[string]any
			for _, o := range objs {
				switch o["type"] {
				case "conn":
					ids = append(ids, o["id"].(float64))
				case "summary":
					sum = o
				}
			}
			if len(ids) != len(tt.ids) || len(ids) > 0 && ids[0] != tt.ids[0] {
				t.Errorf("connections listed %v, want %v", ids, tt.ids)
			}
			allObjs := jsonLines(t, all.stdout)
			if want := allObjs[len(allObjs)-1]["connections"]; sum["connections"] != want {
				t.Errorf("summary counts %v connections, want every one: %v", sum["connections"], want)
			}
			ae := sum["app_error"].(map[string]any)
			if int(ae["connections"].(float64)) != len(tt.ids) {
				t.Errorf("app_error %v", ae)
			}
			servers := ae["servers"].([]any)
			if tt.server == "" {
				if len(servers) != 0 {
					t.Errorf("servers %v, want none", servers)
				}
				return
			}
			g := servers[0].(map[string]any)
			if g["server"] != tt.server || g["calls"].(map[string]any)[tt.calls] == nil || !slices.Equal(g["diagnoses"].([]any), tt.diagnoses) {
				t.Errorf("group %v, want server %s, calls %s, diagnoses %v", g, tt.server, tt.calls, tt.diagnoses)
			}
			text := tcpfsm(t, nil, "-r", dir+tt.capture, "--app-error", tt.app, "--color", "never")
			if !strings.Contains(text.stdout, "Application error ") || strings.Count(text.stdout, "\n#") != len(tt.ids) {
				t.Errorf("text report:\n%s", text.stdout)
			}
		})
	}
	if r := tcpfsm(t, nil, "-r", dir+"close-unread-rst.pcap", "--app-error", "EAGAIN"); r.code != exitUsage || !strings.Contains(r.stderr, "want one of") {
		t.Errorf("an unknown error: exit %d, %q", r.code, r.stderr)
	}
	if r := tcpfsm(t, nil, "-r", dir+"close-unread-rst.pcap", "--app-error", "104", "--format", "zeek"); r.code != exitUsage || !strings.Contains(r.stderr, "not zeek") {
		t.Errorf("zeek: exit %d, %q", r.code, r.stderr)
	}
}

// flowPkt is a packet of a crafted capture of several connections to
// 10.0.0.2:9502: its client's address and port, and the packet.
type flowPkt struct {
	ip   net.IP
	port uint16
	pkt
}

// craftFlows writes the packets as a capture file, in the order of their
// times, and returns its path.
func craftFlows(t *testing.T, pkts []flowPkt) string {
	t.Helper()
	pkts = slices.Clone(pkts)
	slices.SortStableFunc(pkts, func(a, b flowPkt) int { return cmp.Compare(a.ms, b.ms) })
	var frames [][]byte
	var times []time.Duration
	for _, p := range pkts {
		has := func(c string) bool { return strings.Contains(p.flags, c) }
		frames = append(frames, frameBetween(t, p.ip, p.port, p.client, has("S"), has("."), has("F"), has("R"), p.seq, p.ack, p.len, 64240))
		times = append(times, time.Duration(p.ms)*time.Millisecond)
	}
	return writeFile(t, "flows.pcap", writePcap(t, frames, times...))
}

// TestAppErrorExplainedByDiagnosis: a group of --app-error names the
// diagnosis raised on its server that explains why its applications saw
// the error, on crafted captures of the causes no kernel capture has a
// connection for: a client whose connect() timed out, or is still
// pending, while a SYN flood hit the listener, and a server leaking
// CLOSE_WAIT sockets whose late write met the client's RST (EPIPE).
func TestAppErrorExplainedByDiagnosis(t *testing.T) {
	client := net.IP{10, 0, 0, 1}
	// 60 SYNs from 60 spoofed sources, 150 ms apart, never answered,
	// and a real client's SYN sent at 0, 1 and 3 s, never answered
	// either: the capture goes on past the due time of a fourth.
	var flood []flowPkt
	for i := range 60 {
		flood = append(flood, flowPkt{net.IP{100, 0, 0, byte(i)}, uint16(1024 + i), pkt{true, "S", uint32(i) * 7919, 0, 0, i * 150}})
	}
	for _, ms := range []int{0, 1000, 3000} {
		flood = append(flood, flowPkt{client, 40000, pkt{true, "S", 100, 0, 0, ms}})
	}
	// Four connections the client closes at once; the server acknowledges
	// each FIN and never closes. At 6 s it writes on the fourth, whose
	// client socket is gone (its FIN_WAIT_2 timed out): a RST.
	var leak []flowPkt
	for i := range 4 {
		at := 10 * i
		for _, p := range []pkt{
			{true, "S", 100, 0, 0, at}, {false, "S.", 900, 101, 0, at + 1}, {true, ".", 101, 901, 0, at + 2},
			{true, "F.", 101, 901, 0, at + 3}, {false, ".", 901, 102, 0, at + 4},
		} {
			leak = append(leak, flowPkt{client, uint16(40001 + i), p})
		}
	}
	leak = append(leak, flowPkt{client, 40004, pkt{false, "P.", 901, 102, 10, 6000}}, flowPkt{client, 40004, pkt{true, "R", 102, 0, 0, 6001}})

	tests := []struct {
		name      string
		pkts      []flowPkt
		app       string
		n         float64 // connections listed
		calls     string
		diagnosis string
	}{
		{"connect() timed out in a SYN flood", flood, "ETIMEDOUT", 1, "client connect", "syn_flood"},
		{"connect() still pending in a SYN flood", flood, "EINPROGRESS", 8, "client connect", "syn_flood"},
		{"a write on a socket left in CLOSE_WAIT", leak, "EPIPE", 1, "server send", "close_wait_leak"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := craftFlows(t, tt.pkts)
			r := tcpfsm(t, nil, "-r", path, "--app-error", tt.app, "--format", "json")
			if r.code != exitOK {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			objs := jsonLines(t, r.stdout)
			ae := objs[len(objs)-1]["app_error"].(map[string]any)
			if ae["connections"] != tt.n || len(ae["servers"].([]any)) != 1 {
				t.Fatalf("app_error %v, want %v connections on one server", ae, tt.n)
			}
			g := ae["servers"].([]any)[0].(map[string]any)
			if g["server"] != "10.0.0.2:9502" || g["calls"].(map[string]any)[tt.calls] != tt.n || !slices.Contains(g["diagnoses"].([]any), any(tt.diagnosis)) {
				t.Errorf("group %v, want %v connections of %s explained by %s", g, tt.n, tt.calls, tt.diagnosis)
			}
			text := tcpfsm(t, nil, "-r", path, "--app-error", tt.app, "--color", "never").stdout
			if !strings.Contains(text, "see "+tt.diagnosis+" above") {
				t.Errorf("the text report does not point to %s:\n%s", tt.diagnosis, text)
			}
		})
	}
}
