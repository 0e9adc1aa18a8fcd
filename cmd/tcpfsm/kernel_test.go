package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/fsm"
)

// want is what a network engineer reads off one connection of a kernel
// capture; testdata/README.md gives the packets behind each row.
type want struct {
	handshake, close   string
	client, server     string // end states
	labels, anomalies  []string
	resetBy, resetFrom string // for RST closes
	synackRetransmits  int
	minRTTms           float64 // both handshake RTTs at least this: the recorder holds each packet 5 ms on arrival in a namespace
	// noServerRTT: the server's SYN/ACK → ACK is null (and only the
	// client's RTT is held to minRTTms): in a simultaneous open each
	// SYN/ACK answers a SYN, and no ACK answers a SYN/ACK.
	noServerRTT bool
	// noRetransmits: syn_retransmits and retransmits are 0, as the
	// kernels' own counters (TcpRetransSegs) said when it was recorded.
	noRetransmits bool
	// clientBytes, serverBytes: a side's payload bytes, when not 0: what
	// its receiver took (the peer's TCP_INFO bytes_received, logged when it
	// was recorded).
	clientBytes, serverBytes int
	// halfOpenDropped: the server's half-open connections an ICMP error
	// quoting their SYN/ACK made Linux drop ("synack_icmp"), as its
	// ListenDrops counter said when it was recorded; none when 0.
	halfOpenDropped int
}

// kernelExpectations states the outcome of every kernel capture
// independently of the golden files, so that "go test -update" cannot
// quietly bless a wrong answer.
var kernelExpectations = map[string][]want{
	"normal-client-close.pcap": {{handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED", minRTTms: 4.5}},
	"normal-server-close.pcap": {{handshake: "complete", close: "fin", client: "CLOSED", server: "TIME_WAIT", minRTTms: 4.5}},
	"normal-sll2.pcap":         {{handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED", minRTTms: 4.5}},
	"normal-pcapng.pcapng":     {{handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED", minRTTms: 4.5}},
	"ipv6-normal.pcap":         {{handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED", minRTTms: 4.5}},
	// Over a VXLAN overlay: the inner connection, as on the veth.
	"vxlan-normal.pcap": {{handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED", minRTTms: 4.5, noRetransmits: true}},
	// Each side's 1400-byte segment in two outer IPv4 fragments, which
	// the receiving kernel reassembled (IpReasmOKs 1 each) and took whole:
	// read from reassembled datagrams, all 1400 bytes each way, and no
	// segment missing.
	"vxlan-fragmented.pcap": {{handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED", minRTTms: 4.5, noRetransmits: true,
		clientBytes: 1400, serverBytes: 1400}},
	"connection-refused.pcap": {{handshake: "refused", close: "none", client: "CLOSED", server: "CLOSED", resetBy: "server", resetFrom: "CLOSED"}},
	// The client's FIN is acknowledged; the server never closes.
	"close-wait.pcap": {{handshake: "complete", close: "fin_client", client: "FIN_WAIT_2", server: "CLOSE_WAIT"}},
	// Backlog 1, accept() never called: two connections sit in the accept
	// queue, the third overflows, the fourth's SYNs are dropped.
	"accept-overflow-noabort.pcap": {
		{handshake: "complete", close: "open", client: "ESTABLISHED", server: "ESTABLISHED"},
		{handshake: "complete", close: "open", client: "ESTABLISHED", server: "ESTABLISHED"},
		{handshake: "complete", close: "open", client: "ESTABLISHED", server: "SYN_RCVD", synackRetransmits: 3,
			labels: []string{"synack_retransmitted", "retransmissions", "client_only_established"}, anomalies: []string{"synack_after_ack"}},
		{handshake: "unanswered", close: "none", client: "SYN_SENT", server: "LISTEN", labels: []string{"syn_retransmitted"}},
	},
	// Backlog 1, accept() never called: two connections fill the accept
	// queue one after the other, so no SYN/ACK is resent; the third
	// client's SYNs are dropped without an answer.
	"accept-overflow-syndrop.pcap": {
		{handshake: "complete", close: "open", client: "ESTABLISHED", server: "ESTABLISHED"},
		{handshake: "complete", close: "open", client: "ESTABLISHED", server: "ESTABLISHED"},
		{handshake: "unanswered", close: "none", client: "SYN_SENT", server: "LISTEN", labels: []string{"syn_retransmitted"}},
	},
	"accept-overflow-abort.pcap": {
		{handshake: "complete", close: "open", client: "ESTABLISHED", server: "ESTABLISHED"},
		{handshake: "complete", close: "open", client: "ESTABLISHED", server: "ESTABLISHED"},
		{handshake: "complete", close: "rst_server", client: "CLOSED", server: "CLOSED", resetBy: "server", resetFrom: "SYN_RCVD"},
		{handshake: "unanswered", close: "none", client: "SYN_SENT", server: "LISTEN", labels: []string{"syn_retransmitted"}},
	},
	"keepalive.pcap":        {{handshake: "complete", close: "open", client: "ESTABLISHED", server: "ESTABLISHED", labels: []string{"keepalive"}}},
	"close-unread-rst.pcap": {{handshake: "complete", close: "rst_server", client: "CLOSED", server: "CLOSED", resetBy: "server", resetFrom: "ESTABLISHED"}},
	"linger0-rst.pcap":      {{handshake: "complete", close: "rst_client", client: "CLOSED", server: "CLOSED", resetBy: "client", resetFrom: "ESTABLISHED"}},
	// The client's RTT runs from its SYN to the server's SYN/ACK (5 ms
	// held), not from its own SYN/ACK to the server's, which crossed it
	// 4 µs apart.
	"simultaneous-open.pcap": {{handshake: "simultaneous", close: "fin", client: "TIME_WAIT", server: "CLOSED", labels: []string{"simultaneous_open"},
		minRTTms: 4.5, noServerRTT: true}},
	"simultaneous-close.pcap": {{handshake: "complete", close: "fin", client: "TIME_WAIT", server: "TIME_WAIT",
		labels: []string{"simultaneous_close"}}},
	"zero-window.pcap": {{handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED", labels: []string{"zero_window"}}},
	"half-close.pcap":  {{handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED", labels: []string{"half_close"}}},
	"syn-timeout.pcap": {{handshake: "unanswered", close: "none", client: "SYN_SENT", server: "LISTEN", labels: []string{"syn_retransmitted"}}},
	"port-reuse.pcap": {
		{handshake: "complete", close: "fin", client: "CLOSED", server: "TIME_WAIT"},
		{handshake: "complete", close: "fin", client: "CLOSED", server: "TIME_WAIT", labels: []string{"port_reuse"}},
	},
	"data-retransmit-timeout.pcap": {{handshake: "complete", close: "open", client: "ESTABLISHED", server: "ESTABLISHED", labels: []string{"retransmissions"}}},
	// The client's final ACK was dropped once: one SYN/ACK resent.
	"synack-retransmit.pcap": {{handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED", synackRetransmits: 1,
		labels: []string{"synack_retransmitted"}, anomalies: []string{"synack_after_ack"}}},
	// A RST injected 2000 bytes past the server's RCV.NXT: the server
	// answered with a challenge ACK (its TcpExtTCPChallengeACK 1, no
	// TcpEstabResets), and the second exchange and the close were
	// ordinary (RFC 5961 section 3.2).
	"rst-in-window.pcap": {{handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED", minRTTms: 4.5,
		labels: []string{"rst_challenged"}, anomalies: []string{"rst_in_window"}, noRetransmits: true}},
	// 2^30 bytes past it: dropped without a word (no challenge ACK).
	"rst-out-of-window.pcap": {{handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED", minRTTms: 4.5,
		anomalies: []string{"rst_out_of_window"}, noRetransmits: true}},
	// At RCV.NXT: the server was reset (TcpEstabResets 1) and answered
	// the client's next request with a RST. The RST carries the client's
	// address: the capture cannot tell it was not the client's own.
	"rst-exact.pcap": {{handshake: "complete", close: "rst_client", client: "CLOSED", server: "CLOSED", minRTTms: 4.5,
		resetBy: "client", resetFrom: "ESTABLISHED", anomalies: []string{"segment_after_reset"}, noRetransmits: true}},
	// In SYN_SENT, a RST without ACK (dropped) and a stray ACK (answered
	// with a RST at its ack number, TcpOutRsts 1) reach the client; its
	// SYN retries complete the handshake (TcpAttemptFails 0).
	"synsent-stray.pcap": {{handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED",
		labels: []string{"syn_retransmitted"}, anomalies: []string{"rst_without_ack", "ack_unacceptable"}}},
	// A SYN with a new ISN injected into the established connection: a
	// challenge ACK (TcpExtTCPSYNChallenge 1), and not one segment
	// retransmitted (RFC 5961 section 4).
	"syn-established.pcap": {{handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED", minRTTms: 4.5,
		labels: []string{"syn_challenged"}, anomalies: []string{"syn_on_synchronized"}, noRetransmits: true}},
	// 100 bytes injected 2^24 past the server's RCV.NXT: answered with an
	// ACK and dropped (TcpExtBeyondWindow 1; bytes_received unchanged), so
	// the client's bytes are its two 18-byte requests, and nothing after
	// them is a retransmission or a gap (RFC 9293 section 3.10.7.4).
	"data-beyond-window.pcap": {{handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED", minRTTms: 4.5,
		anomalies: []string{"segment_beyond_window"}, noRetransmits: true, clientBytes: 36}},

	// Recorded for what each socket call returned (NAME.errno.json): a
	// call that ends in an error, then a second, ordinary connection.
	// SYNs at 0, 1, 3 s dropped by the server's firewall; connect()
	// returned ETIMEDOUT at 7 s; a second connection at 8 s.
	"app-connect-timeout.pcap": {
		{handshake: "unanswered", close: "none", client: "SYN_SENT", server: "LISTEN", labels: []string{"syn_retransmitted"}},
		{handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED", minRTTms: 4.5, noRetransmits: true},
	},
	// The server vanished after the exchange: the client's data
	// retransmitted until tcp_retries2=4 ran out, silently.
	"app-retransmit-timeout.pcap": {
		{handshake: "complete", close: "open", client: "ESTABLISHED", server: "ESTABLISHED", minRTTms: 4.5, labels: []string{"retransmissions"}},
		{handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED", minRTTms: 4.5, noRetransmits: true},
	},
	// Two keepalive probes unanswered, then the client's RST (which the
	// vanished server's firewall dropped: on the wire it is a reset).
	"app-keepalive-timeout.pcap": {
		{handshake: "complete", close: "rst_client", client: "CLOSED", server: "CLOSED", minRTTms: 4.5, resetBy: "client", resetFrom: "ESTABLISHED", labels: []string{"keepalive"}},
		{handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED", minRTTms: 4.5, noRetransmits: true},
	},
	// The accept-overflow-* scenarios again, with their call logs.
	"app-accept-overflow-noabort.pcap": {
		{handshake: "complete", close: "open", client: "ESTABLISHED", server: "ESTABLISHED"},
		{handshake: "complete", close: "open", client: "ESTABLISHED", server: "ESTABLISHED"},
		{handshake: "complete", close: "open", client: "ESTABLISHED", server: "SYN_RCVD", synackRetransmits: 3,
			labels: []string{"synack_retransmitted", "retransmissions", "client_only_established"}, anomalies: []string{"synack_after_ack"}},
		{handshake: "unanswered", close: "none", client: "SYN_SENT", server: "LISTEN", labels: []string{"syn_retransmitted"}},
	},
	"app-accept-overflow-abort.pcap": {
		{handshake: "complete", close: "open", client: "ESTABLISHED", server: "ESTABLISHED"},
		{handshake: "complete", close: "open", client: "ESTABLISHED", server: "ESTABLISHED"},
		{handshake: "complete", close: "rst_server", client: "CLOSED", server: "CLOSED", resetBy: "server", resetFrom: "SYN_RCVD"},
		{handshake: "unanswered", close: "none", client: "SYN_SENT", server: "LISTEN", labels: []string{"syn_retransmitted"}},
	},
	// A refused connect(); a server's close with the request unread; a
	// client's close with SO_LINGER 0.
	"app-resets.pcap": {
		{handshake: "refused", close: "none", client: "CLOSED", server: "CLOSED", resetBy: "server", resetFrom: "CLOSED"},
		{handshake: "complete", close: "rst_server", client: "CLOSED", server: "CLOSED", minRTTms: 4.5, resetBy: "server", resetFrom: "ESTABLISHED", noRetransmits: true},
		{handshake: "complete", close: "rst_client", client: "CLOSED", server: "CLOSED", minRTTms: 4.5, resetBy: "client", resetFrom: "ESTABLISHED", noRetransmits: true},
	},
	// The server closed; the client, in CLOSE_WAIT, wrote, and the
	// closed server reset it from FIN_WAIT_2.
	"app-write-epipe.pcap": {
		{handshake: "complete", close: "rst_server", client: "CLOSED", server: "CLOSED", minRTTms: 4.5, resetBy: "server", resetFrom: "FIN_WAIT_2", labels: []string{"half_close"}, noRetransmits: true},
		{handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED", minRTTms: 4.5, noRetransmits: true},
	},
	// Each SYN answered by an ICMP error, which ends its connect(): Linux
	// closes the socket (tcp_done_with_error). Over IPv6 the first error
	// came while connect() held the socket, so each SYN was sent again and
	// the second error ended it.
	"app-icmp-unreachable.pcap": {
		{handshake: "unreachable", close: "none", client: "CLOSED", server: "LISTEN"},
		{handshake: "unreachable", close: "none", client: "CLOSED", server: "LISTEN"},
		{handshake: "unreachable", close: "none", client: "CLOSED", server: "LISTEN"},
		{handshake: "unreachable", close: "none", client: "CLOSED", server: "LISTEN"},
	},
	// Every SYN/ACK answered by an ICMP error from the client's firewall.
	// Host unreachable: Linux dropped the server's half-open connection
	// each time (ListenDrops 3), so each SYN retry met a new one with a
	// new ISN, none resent, and the server holds nothing at the end.
	// Administratively prohibited: ignored in SYN_RECV, the SYN/ACK resent
	// by the server's timer and for each SYN retry. Both connect()s timed
	// out; then an ordinary connection.
	"synack-icmp-dropped.pcap": {
		{handshake: "synack_unanswered", close: "none", client: "SYN_SENT", server: "LISTEN", labels: []string{"syn_retransmitted", "synack_unreachable"}, halfOpenDropped: 3},
		{handshake: "synack_unanswered", close: "none", client: "SYN_SENT", server: "SYN_RCVD", labels: []string{"syn_retransmitted", "synack_retransmitted"}, synackRetransmits: 4},
		{handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED", minRTTms: 4.5, noRetransmits: true},
	},
	"app-icmp-unreachable-ipv6.pcap": {
		{handshake: "unreachable", close: "none", client: "CLOSED", server: "LISTEN", labels: []string{"syn_retransmitted"}},
		{handshake: "unreachable", close: "none", client: "CLOSED", server: "LISTEN", labels: []string{"syn_retransmitted"}},
		{handshake: "unreachable", close: "none", client: "CLOSED", server: "LISTEN", labels: []string{"syn_retransmitted"}},
		{handshake: "unreachable", close: "none", client: "CLOSED", server: "LISTEN", labels: []string{"syn_retransmitted"}},
		{handshake: "unreachable", close: "none", client: "CLOSED", server: "LISTEN", labels: []string{"syn_retransmitted"}},
	},
}

func TestKernelCaptureExpectations(t *testing.T) {
	seen := map[string]bool{}
	for _, path := range kernelCaptures(t) {
		name := filepath.Base(path)
		if strings.HasPrefix(name, "diag-") {
			continue // hundreds of connections: checked by totals in TestKernelCaptureDiagnoses
		}
		seen[name] = true
		wants, ok := kernelExpectations[name]
		if !ok {
			t.Errorf("%s: no expectations: add it to kernelExpectations", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			r := tcpfsm(t, nil, "-r", path, "--format", "json")
			objs := jsonLines(t, r.stdout)
			conns := objs[:len(objs)-1]
			if len(conns) != len(wants) {
				t.Fatalf("%d connections, want %d", len(conns), len(wants))
			}
			for i, w := range wants {
				c := conns[i]
				check := func(key string, want any) {
					if fmt.Sprint(c[key]) != fmt.Sprint(want) {
						t.Errorf("conn %d: %s = %v, want %v", i+1, key, c[key], want)
					}
				}
				check("handshake", w.handshake)
				check("close", w.close)
				check("client_state", w.client)
				check("server_state", w.server)
				check("synack_retransmits", w.synackRetransmits)
				if w.noRetransmits {
					check("syn_retransmits", 0)
					check("retransmits", 0)
				}
				if drops, _ := c["synack_icmp"].(map[string]any); fmt.Sprint(drops["dropped"]) != fmt.Sprint(w.halfOpenDropped) && (w.halfOpenDropped != 0 || drops != nil) {
					t.Errorf("conn %d: synack_icmp %v, want %d half-open connections dropped", i+1, c["synack_icmp"], w.halfOpenDropped)
				}
				for side, want := range map[string]int{"client": w.clientBytes, "server": w.serverBytes} {
					bytes, _ := c["bytes"].(map[string]any)
					if want != 0 && fmt.Sprint(bytes[side]) != fmt.Sprint(want) {
						t.Errorf("conn %d: %s bytes %v, want %d", i+1, side, bytes[side], want)
					}
				}
				for _, l := range w.labels {
					if !slices.Contains(strs(c["labels"]), l) {
						t.Errorf("conn %d: labels %v lack %s", i+1, c["labels"], l)
					}
				}
				var names []string
				for _, a := range c["anomalies"].([]any) {
					names = append(names, a.(map[string]any)["name"].(string))
				}
				if !slices.Equal(names, w.anomalies) {
					t.Errorf("conn %d: anomalies %v, want %v", i+1, names, w.anomalies)
				}
				if w.resetBy != "" {
					rst, _ := c["reset"].(map[string]any)
					if rst["by"] != w.resetBy || rst["state"] != w.resetFrom {
						t.Errorf("conn %d: reset %v, want by %s from %s", i+1, rst, w.resetBy, w.resetFrom)
					}
				}
				rtt := c["handshake_rtt_ms"].(map[string]any)
				if w.minRTTms > 0 {
					for _, side := range []string{"client", "server"} {
						if side == "server" && w.noServerRTT {
							continue
						}
						if v, _ := rtt[side].(float64); v < w.minRTTms {
							t.Errorf("conn %d: %s handshake RTT %v ms, want ≥ %v", i+1, side, rtt[side], w.minRTTms)
						}
					}
				}
				if w.noServerRTT && rtt["server"] != nil {
					t.Errorf("conn %d: server handshake RTT %v ms, want null", i+1, rtt["server"])
				}
				// The retry gaps are between the transmissions the
				// retransmit counts count: one gap per retransmission.
				gaps := c["retry_gaps_ms"].(map[string]any)
				for side, key := range map[string]string{"client": "syn_retransmits", "server": "synack_retransmits"} {
					n := int(c[key].(float64))
					if got := len(gaps[side].([]any)); got != min(n, fsm.MaxSYNTimes-1) {
						t.Errorf("conn %d: %d %s retry gaps %v, but %s %d", i+1, got, side, gaps[side], key, n)
					}
				}
			}
		})
	}
	for name := range kernelExpectations {
		if !seen[name] {
			t.Errorf("%s: expected in %s but missing", name, kernelDir)
		}
	}
}

func strs(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

// kernelDiagnoses are the diagnoses each kernel capture must raise, in
// order, and no others.
var kernelDiagnoses = map[string][]string{
	"accept-overflow-noabort.pcap": {"accept_queue_overflow@10.0.0.2:8080", "syn_unanswered@10.0.0.2:8080"},
	"accept-overflow-abort.pcap":   {"accept_queue_overflow@10.0.0.2:8080", "syn_unanswered@10.0.0.2:8080"},
	// The silent form: only the dropped SYNs, while the listener held the
	// two connections it had answered.
	"accept-overflow-syndrop.pcap": {"accept_queue_overflow@10.0.0.2:8080", "syn_unanswered@10.0.0.2:8080"},
	// The server vanished: the client's data retransmissions back off.
	"data-retransmit-timeout.pcap": {"half_open_peer@10.0.0.2:8080"},
	"keepalive.pcap":               {"keepalive@10.0.0.2:8080"},
	"syn-timeout.pcap":             {"syn_unanswered@10.0.0.2:8080"},
	// The receiver stopped reading for 2.4 s.
	"zero-window.pcap": {"zero_window_stall@10.0.0.2:8080"},
	// One lost final ACK is not an accept-queue overflow; a CLOSE_WAIT
	// 0.1 s old is not a leak.
	"synack-retransmit.pcap": nil,
	"close-wait.pcap":        nil,

	// Recorded for what each socket call returned.
	"app-connect-timeout.pcap":         {"syn_unanswered@10.0.0.2:8080"},
	"app-retransmit-timeout.pcap":      {"half_open_peer@10.0.0.2:8080"},
	"app-keepalive-timeout.pcap":       {"keepalive@10.0.0.2:8080"},
	"app-write-epipe.pcap":             nil,
	"app-resets.pcap":                  nil,
	"app-icmp-unreachable.pcap":        nil,
	"app-icmp-unreachable-ipv6.pcap":   nil,
	"synack-icmp-dropped.pcap":         nil,
	"app-accept-overflow-noabort.pcap": {"accept_queue_overflow@10.0.0.2:8080", "syn_unanswered@10.0.0.2:8080"},
	"app-accept-overflow-abort.pcap":   {"accept_queue_overflow@10.0.0.2:8080", "syn_unanswered@10.0.0.2:8080"},

	// Recorded for the diagnoses (testdata/README.md).
	"diag-syn-flood-cookies.pcap":    {"syn_flood@10.0.0.2:8080"},
	"diag-syn-flood-nocookies.pcap":  {"syn_flood@10.0.0.2:8080"},
	"diag-close-wait-leak.pcap":      {"close_wait_leak@10.0.0.2:8080"},
	"diag-time-wait-pileup.pcap":     {"time_wait_pileup@10.0.0.1"},
	"diag-half-open-peer.pcap":       {"half_open_peer@10.0.0.2:8080", "keepalive@10.0.0.2:8080"},
	"diag-keepalive-unanswered.pcap": {"half_open_peer@10.0.0.2:8080", "keepalive@10.0.0.2:8080"},
	"diag-port-scan.pcap":            {"port_scan@10.0.0.1"},
	"diag-zero-window-stall.pcap":    {"zero_window_stall@10.0.0.2:8080"},
	"diag-busy-normal.pcap":          nil,
}

// kernelTotals are the handshake and close outcomes of the captures
// recorded for the diagnoses, and a phrase their first diagnosis must say.
var kernelTotals = map[string]struct{ handshakes, closes, says string }{
	"diag-syn-flood-cookies.pcap":    {`{"complete":1,"synack_unanswered":200}`, `{"fin":1,"none":200}`, "shape of SYN cookies"},
	"diag-syn-flood-nocookies.pcap":  {`{"complete":1,"synack_unanswered":9,"unanswered":191}`, `{"fin":1,"none":200}`, "no SYN cookies were in use"},
	"diag-close-wait-leak.pcap":      {`{"complete":6}`, `{"fin":1,"fin_client":5}`, "5 connections left in CLOSE_WAIT"},
	"diag-time-wait-pileup.pcap":     {`{"complete":200}`, `{"fin":200}`, "up to 100 at once, and 100 at the end of the capture. 100 connections reused a 5-tuple"},
	"diag-half-open-peer.pcap":       {`{"complete":2}`, `{"open":1,"rst_client":1}`, "stopped answering"},
	"diag-keepalive-unanswered.pcap": {`{"complete":1}`, `{"rst_client":1}`, "ended with the survivor's RST"},
	"diag-port-scan.pcap":            {`{"refused":94,"reset":3,"unanswered":3}`, `{"none":100}`, "94 refused, 3 unanswered, 3 answered"},
	"diag-zero-window-stall.pcap":    {`{"complete":1}`, `{"fin":1}`, "advertised a zero window"},
	"diag-busy-normal.pcap":          {`{"complete":320}`, `{"fin":320}`, ""},
}

func TestKernelCaptureDiagnoses(t *testing.T) {
	for _, path := range kernelCaptures(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			objs := jsonLines(t, tcpfsm(t, nil, "-r", path, "--format", "json").stdout)
			sum := objs[len(objs)-1]
			var got []string
			diags := sum["diagnoses"].([]any)
			for _, d := range diags {
				m := d.(map[string]any)
				got = append(got, fmt.Sprint(m["name"], "@", m["endpoint"]))
			}
			if want := kernelDiagnoses[name]; !slices.Equal(got, want) {
				t.Errorf("diagnoses %q, want %q", got, want)
			}
			tot, ok := kernelTotals[name]
			if !ok {
				return
			}
			hs, _ := json.Marshal(sum["handshakes"])
			cl, _ := json.Marshal(sum["closes"])
			if string(hs) != tot.handshakes || string(cl) != tot.closes {
				t.Errorf("handshakes %s closes %s, want %s %s", hs, cl, tot.handshakes, tot.closes)
			}
			if tot.says != "" && (len(diags) == 0 || !strings.Contains(diags[0].(map[string]any)["explanation"].(string), tot.says)) {
				t.Errorf("first diagnosis does not say %q: %v", tot.says, diags)
			}
		})
	}
}

// TestSynCookiesKeepNoState: in the kernel capture of a SYN flood met
// with SYN cookies, ss showed 9 sockets in SYN-RECV (testdata/README.md):
// the 191 flood SYNs answered with a cookie are labelled so and, holding
// no socket, are not counted as SYN_RCVD by the census; so is the real
// client's connection, which completed its handshake through a cookie.
// The SYN flood without cookies has no connection labelled so.
func TestSynCookiesKeepNoState(t *testing.T) {
	for _, tc := range []struct {
		capture         string
		cookies, synRcv int
	}{
		{"diag-syn-flood-cookies.pcap", 191 + 1, 9},
		{"diag-syn-flood-nocookies.pcap", 0, 9},
	} {
		objs := jsonLines(t, tcpfsm(t, nil, "-r", filepath.Join(kernelDir, tc.capture), "--format", "json", "--at", "0.5s").stdout)
		cookies := 0
		for _, o := range objs[:len(objs)-1] {
			if slices.Contains(o["labels"].([]any), any(fsm.LabelSynCookie)) {
				cookies++
			}
		}
		server := objs[len(objs)-1]["census_hosts"].(map[string]any)["10.0.0.2"].(map[string]any)
		if cookies != tc.cookies || server["SYN_RCVD"] != float64(tc.synRcv) {
			t.Errorf("%s: %d connections labelled %s, server %v; want %d and SYN_RCVD %d",
				tc.capture, cookies, fsm.LabelSynCookie, server, tc.cookies, tc.synRcv)
		}
	}
}

// TestListenersNotAccepted: a handshake the client completed while the
// server's accept queue was full is complete from the client's side; the
// listener's line says how many of them the server never took in.
func TestListenersNotAccepted(t *testing.T) {
	for capture, want := range map[string]float64{
		"accept-overflow-noabort.pcap": 1, // left in SYN_RCVD
		"accept-overflow-abort.pcap":   1, // reset from SYN_RCVD
		"synack-retransmit.pcap":       0, // one lost ACK, then accepted
		"diag-busy-normal.pcap":        0,
	} {
		objs := jsonLines(t, tcpfsm(t, nil, "-r", filepath.Join(kernelDir, capture), "--format", "json").stdout)
		ls := objs[len(objs)-1]["listeners"].([]any)
		if got := ls[0].(map[string]any)["not_accepted"]; len(ls) != 1 || got != want {
			t.Errorf("%s: listeners %v, want one with not_accepted %v", capture, ls, want)
		}
	}
}

// TestAcceptQueueToldConnected: the accept-queue diagnosis says how many
// clients connect() told they were connected on a connection the server
// never accepted (client 3 in both forms), and which of them then saw the
// reset.
func TestAcceptQueueToldConnected(t *testing.T) {
	for capture, want := range map[string]string{
		"accept-overflow-noabort.pcap": "What the applications saw: 1 client was told connected (connect() returned 0) on a connection accept() never returned.",
		"accept-overflow-abort.pcap":   "What the applications saw: 1 client was told connected (connect() returned 0) on a connection accept() never returned; 1 of them then got ECONNRESET (104).",
	} {
		objs := jsonLines(t, tcpfsm(t, nil, "-r", filepath.Join(kernelDir, capture), "--format", "json").stdout)
		d := objs[len(objs)-1]["diagnoses"].([]any)[0].(map[string]any)
		if !strings.Contains(d["explanation"].(string), want) {
			t.Errorf("%s: %s says %q, want %q in it", capture, d["name"], d["explanation"], want)
		}
	}
}

// TestSynAckBackoff: the SYN/ACK retry schedules of the kernel captures
// (tcp_synack_retries=3, README of testdata) are read as Linux's backoff.
func TestSynAckBackoff(t *testing.T) {
	for capture, want := range map[string]string{
		"accept-overflow-noabort.pcap":  "The first SYN/ACK was resent after 1.03s, 2.016s, 4.192s: exponential backoff, as Linux resends a SYN/ACK, so tcp_synack_retries allowed at least 3 retries.",
		"diag-syn-flood-nocookies.pcap": "The first SYN/ACK was resent after 1.017s, 2.016s: exponential backoff, as Linux resends a SYN/ACK, so tcp_synack_retries allowed at least 2 retries.",
	} {
		objs := jsonLines(t, tcpfsm(t, nil, "-r", filepath.Join(kernelDir, capture), "--format", "json").stdout)
		d := objs[len(objs)-1]["diagnoses"].([]any)[0].(map[string]any)
		if !strings.Contains(d["explanation"].(string), want) {
			t.Errorf("%s: %s says %q, want %q in it", capture, d["name"], d["explanation"], want)
		}
	}
}

// TestCensusClientOnlyEstablished: the census counts the connections the
// client believes ESTABLISHED while the server holds them in SYN_RCVD,
// at the end and while the SYN/ACKs are being resent, and none before
// the client's ACK or where the server accepted every connection.
func TestCensusClientOnlyEstablished(t *testing.T) {
	for _, tc := range []struct {
		capture, at string
		want        float64
	}{
		{"accept-overflow-noabort.pcap", "", 1},
		{"accept-overflow-noabort.pcap", "2s", 1},
		{"accept-overflow-noabort.pcap", "0.008s", 0}, // mid-handshake
		{"synack-retransmit.pcap", "", 0},
		{"diag-busy-normal.pcap", "", 0},
	} {
		objs := jsonLines(t, tcpfsm(t, nil, "-r", filepath.Join(kernelDir, tc.capture), "--format", "json", "--at", tc.at).stdout)
		if got := objs[len(objs)-1]["census_client_only_established"]; got != tc.want {
			t.Errorf("%s at %q: census_client_only_established %v, want %v", tc.capture, tc.at, got, tc.want)
		}
	}
}
