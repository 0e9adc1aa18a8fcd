package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// pkt is one segment of a crafted capture: who sent it, its flags
// ("S", "S.", ".", "P.", "F.", "R", "R."), sequence and acknowledgement
// numbers, payload length, and time in milliseconds.
type pkt struct {
	client   bool
	flags    string
	seq, ack uint32
	len      int
	ms       int
}

// craft writes the packets as a capture file and returns its path. Each
// advertises a window of 64240 bytes, or what windows gives for its index.
func craft(t *testing.T, name string, pkts []pkt, windows map[int]uint16) string {
	t.Helper()
	var frames [][]byte
	var times []time.Duration
	for i, p := range pkts {
		has := func(c string) bool { return strings.Contains(p.flags, c) }
		win, ok := windows[i]
		if !ok {
			win = 64240
		}
		frames = append(frames, frameWindow(t, p.client, has("S"), has("."), has("F"), has("R"), p.seq, p.ack, p.len, win))
		times = append(times, time.Duration(p.ms)*time.Millisecond)
	}
	return writeFile(t, name, writePcap(t, frames, times...))
}

// onlyFrom keeps the packets one side sent: a capture of one direction.
func onlyFrom(client bool, pkts []pkt) []pkt {
	var out []pkt
	for _, p := range pkts {
		if p.client == client {
			out = append(out, p)
		}
	}
	return out
}

// TestReceiverAcceptance rebuilds, as small crafted captures, the patterns
// of public captures where what a receiver accepts (RFC 5961, RFC 9293
// section 3.10.7) decides the outcome, and checks the connection record
// and the -v trace's rule for each. The client's ISN is 100, the server's
// 900.
func TestReceiverAcceptance(t *testing.T) {
	open := []pkt{
		{true, "S", 100, 0, 0, 0},
		{false, "S.", 900, 101, 0, 5},
		{true, ".", 101, 901, 0, 10},
		{true, "P.", 101, 901, 100, 11},
		{false, ".", 901, 201, 0, 16},
		{false, "P.", 901, 201, 300, 20},
		{true, ".", 201, 1201, 0, 25},
	}
	// A second request and response, then the client closes first.
	more := []pkt{
		{true, "P.", 201, 1201, 100, 1000},
		{false, "P.", 1201, 301, 300, 1010},
		{true, "F.", 301, 1501, 0, 1020},
		{false, "F.", 1501, 302, 0, 1025},
		{true, ".", 302, 1502, 0, 1030},
	}
	join := func(parts ...[]pkt) []pkt { return slices.Concat(parts...) }
	// The handshake, the server's SYN/ACK offering a window of 1000 bytes
	// (see smallWindow), and a request from the client filling it.
	filled := join(open[:3], []pkt{{true, "P.", 101, 901, 1000, 11}})
	smallWindow := map[int]uint16{1: 1000}
	// The client closes first, its FIN at seq, the server's at 901.
	clientCloses := func(seq uint32, ms int) []pkt {
		return []pkt{{true, "F.", seq, 901, 0, ms}, {false, "F.", 901, seq + 1, 0, ms + 5}, {true, ".", seq + 1, 902, 0, ms + 10}}
	}
	tests := []struct {
		name             string
		pkts             []pkt
		handshake, close string
		client, server   string
		labels           []string
		anomalies        []string
		synRetransmits   float64
		retransmits      float64
		rules            []string       // in the -v trace, in order
		clientBytes      float64        // the client's payload bytes, when not 0
		windows          map[int]uint16 // packet index: the window it advertises, when not 64240
	}{
		{
			// A RST forged into the window, 2000 bytes past the server's
			// RCV.NXT: the server answers with a challenge ACK and the
			// connection carries on to a normal close.
			name: "RST in the window",
			pkts: join(open, []pkt{
				{true, "R", 2201, 0, 0, 500},
				{false, ".", 1201, 201, 0, 505},
			}, more),
			handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED",
			labels: []string{"rst_challenged"}, anomalies: []string{"rst_in_window"}, rules: []string{"rst_in_window"},
		},
		{
			name: "RST out of the window",
			pkts: join(open, []pkt{
				{true, "R", 1_000_201, 0, 0, 500},
			}, more),
			handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED",
			anomalies: []string{"rst_out_of_window"}, rules: []string{"rst_out_of_window"},
		},
		{
			// Data forged 100,000 bytes past the server's RCV.NXT, beyond
			// its window of 64240: the server answers with an ACK and drops
			// it, and the client's real data after it is new data, neither
			// a retransmission nor out of order (RFC 9293 section
			// 3.10.7.4). Its bytes are not the client's.
			name: "data beyond the window",
			pkts: join(open, []pkt{
				{true, "P.", 100_201, 1201, 100, 500},
				{false, ".", 1201, 201, 0, 505},
			}, more),
			handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED",
			anomalies: []string{"segment_beyond_window"}, rules: []string{"beyond_window"}, clientBytes: 200,
		},
		{
			// The server's SYN/ACK offers 1000 bytes, which the client's
			// first request fills; the window update that opened the
			// window was not captured, so the client's next 2000 bytes
			// look past its right edge. The server's acknowledgement of
			// them shows it took them: they count, and no segment was
			// dropped.
			name: "window update not captured",
			pkts: join(filled, []pkt{
				{true, "P.", 1101, 901, 1000, 12},
				{true, "P.", 2101, 901, 1000, 13},
				{false, ".", 901, 3101, 0, 20},
			}, clientCloses(3101, 30)),
			windows:   smallWindow,
			handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED",
			anomalies: []string{"window_update_not_captured"}, rules: []string{"beyond_window", "beyond_window"}, clientBytes: 3000,
		},
		{
			// The same window, and a client sending past it: the server's
			// ACK answering the segment opens the window without covering
			// it, and the client sends it again. The first was dropped.
			name: "data beyond the window, sent again once it opened",
			pkts: join(filled, []pkt{
				{true, "P.", 1101, 901, 1000, 12},
				{false, ".", 901, 1101, 0, 13},
				{true, "P.", 1101, 901, 1000, 220},
				{false, ".", 901, 2101, 0, 225},
			}, clientCloses(2101, 230)),
			windows:   smallWindow,
			handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED",
			anomalies: []string{"segment_beyond_window"}, rules: []string{"beyond_window"}, clientBytes: 2000,
		},
		{
			// A SYN with a new ISN on the established connection, as a
			// blind attacker or a restarted client would send: one
			// challenge ACK, and nothing after it is a retransmission.
			name: "SYN on the established connection",
			pkts: join(open, []pkt{
				{true, "S", 777777, 0, 0, 500},
				{false, ".", 1201, 201, 0, 505},
			}, more),
			handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED",
			labels: []string{"syn_challenged"}, anomalies: []string{"syn_on_synchronized"}, rules: []string{"syn_challenged"},
		},
		{
			// A server (or a firewall) answering the SYN with a bare RST
			// whose ack field happens to hold ISN+1: without the ACK bit
			// the client drops it and resends its SYN.
			name: "bare RST answering the SYN",
			pkts: []pkt{
				{true, "S", 100, 0, 0, 0},
				{false, "R", 0, 101, 0, 5},
				{true, "S", 100, 0, 0, 1000},
				{false, "R", 0, 101, 0, 1005},
			},
			handshake: "unanswered", close: "none", client: "SYN_SENT", server: "LISTEN",
			labels: []string{"syn_retransmitted"}, anomalies: []string{"rst_without_ack"}, synRetransmits: 1,
			rules: []string{"rst_without_ack", "rst_without_ack"},
		},
		{
			// A TLS client's SYN meets a stray ACK from the server's side
			// (an old connection's); the client answers it with a RST of
			// that ack number, resends its SYN, and the handshake and the
			// exchange go on.
			name: "RST from SYN_SENT answering a stray ACK",
			pkts: join([]pkt{
				{true, "S", 100, 0, 0, 0},
				{false, ".", 555555, 424242, 0, 2},
				{true, "R", 424242, 0, 0, 3},
				{true, "S", 100, 0, 0, 1000},
				{false, "S.", 900, 101, 0, 1005},
				{true, ".", 101, 901, 0, 1010},
				{true, "P.", 101, 901, 100, 1011},
				{false, ".", 901, 201, 0, 1016},
				{false, "P.", 901, 201, 300, 1020},
				{true, ".", 201, 1201, 0, 1025},
			}, more[:0], []pkt{
				{true, "P.", 201, 1201, 100, 2000},
				{false, "P.", 1201, 301, 300, 2010},
				{true, "F.", 301, 1501, 0, 2020},
				{false, "F.", 1501, 302, 0, 2025},
				{true, ".", 302, 1502, 0, 2030},
			}),
			handshake: "complete", close: "fin", client: "TIME_WAIT", server: "CLOSED",
			labels: []string{"syn_retransmitted"}, anomalies: []string{"ack_unacceptable"}, synRetransmits: 1,
			rules: []string{"ack_unacceptable", "rst_for_unacceptable_ack"},
		},
		{
			// Picked up mid-stream: the server had acknowledged nothing
			// yet when a RST from the client's side came, so its RCV.NXT
			// was not known; it went on sending, so it never took the RST.
			name: "RST mid-stream, the receiver sends on",
			pkts: []pkt{
				{true, "P.", 201, 1201, 100, 0},
				{true, "R", 9301, 0, 0, 5},
				{false, "P.", 1201, 301, 300, 10},
				{true, "F.", 301, 1501, 0, 20},
				{false, "F.", 1501, 302, 0, 25},
				{true, ".", 302, 1502, 0, 30},
			},
			handshake: "midstream", close: "fin", client: "TIME_WAIT", server: "CLOSED",
			labels: []string{"midstream"}, anomalies: []string{"rst_not_accepted"},
			rules: []string{"rst_unknown_rcv_nxt", "rst_not_accepted"},
		},
		{
			// A span port that copies one direction: only the server's
			// segments. Its SYN/ACK shows the client's SYN, and its data
			// the client's ACK; its FIN is the last thing seen.
			name:      "the server's direction only",
			pkts:      onlyFrom(false, join(open, more)),
			handshake: "complete", close: "fin_server", client: "ESTABLISHED", server: "FIN_WAIT_1",
			labels: []string{"one_sided"},
		},
		{
			// Only the client's segments: its first ACK shows the
			// server's SYN/ACK, and the ACK after its FIN that the FIN
			// reached the server.
			name:      "the client's direction only",
			pkts:      onlyFrom(true, join(open, more)),
			handshake: "complete", close: "fin_client", client: "FIN_WAIT_1", server: "CLOSE_WAIT",
			labels: []string{"one_sided"},
		},
		{
			// Picked up at the server's SYN/ACK, the client unseen until
			// the server's RST, which is taken on trust. The client's next
			// segment shows it never took it, and lies far past the
			// server's window: one step, two rules, both in the trace.
			name: "RST not accepted, shown by a segment beyond the window",
			pkts: []pkt{
				{false, "S.", 900, 101, 0, 0},
				{false, "P.", 901, 101, 300, 5},
				{false, "R", 1201, 0, 0, 10},
				{true, "P.", 1_000_101, 1201, 100, 20},
			},
			handshake: "complete", close: "open", client: "ESTABLISHED", server: "ESTABLISHED",
			anomalies: []string{"rst_not_accepted", "segment_beyond_window"},
			rules:     []string{"rst_unknown_rcv_nxt", "rst_not_accepted", "beyond_window"},
		},
		{
			name: "RST mid-stream, the receiver silent after it",
			pkts: []pkt{
				{true, "P.", 201, 1201, 100, 0},
				{true, "R", 9301, 0, 0, 5},
			},
			handshake: "midstream", close: "rst_client", client: "CLOSED", server: "CLOSED",
			labels: []string{"midstream"}, rules: []string{"rst_unknown_rcv_nxt"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := craft(t, "x.pcap", tt.pkts, tt.windows)
			objs := jsonLines(t, tcpfsm(t, nil, "-r", path, "--format", "json").stdout)
			if len(objs) != 2 {
				t.Fatalf("%d objects, want one conn and the summary: %v", len(objs), objs)
			}
			c := objs[0]
			for key, want := range map[string]any{
				"handshake": tt.handshake, "close": tt.close, "client_state": tt.client, "server_state": tt.server,
				"syn_retransmits": tt.synRetransmits, "retransmits": tt.retransmits,
			} {
				if fmt.Sprint(c[key]) != fmt.Sprint(want) {
					t.Errorf("%s = %v, want %v", key, c[key], want)
				}
			}
			if bytes := c["bytes"].(map[string]any); tt.clientBytes != 0 && bytes["client"] != tt.clientBytes {
				t.Errorf("client bytes %v, want %v", bytes["client"], tt.clientBytes)
			}
			labels := strs(c["labels"])
			for _, l := range tt.labels {
				if !slices.Contains(labels, l) {
					t.Errorf("labels %v lack %s", labels, l)
				}
			}
			var names []string
			for _, a := range c["anomalies"].([]any) {
				names = append(names, a.(map[string]any)["name"].(string))
			}
			if !slices.Equal(names, tt.anomalies) {
				t.Errorf("anomalies %v, want %v", names, tt.anomalies)
			}
			// The Zeek view keeps Zeek's own reading: a RST is in its
			// history whatever the receiver did with it.
			if strings.Contains(tt.name, "RST") && !strings.ContainsAny(c["history"].(string), "Rr") {
				t.Errorf("Zeek history %q has no RST", c["history"])
			}

			var rules []string
			for _, o := range jsonLines(t, tcpfsm(t, nil, "-r", path, "--format", "json", "-v").stdout) {
				for _, key := range []string{"rule", "then_rule"} {
					if r, ok := o[key].(string); ok && o["type"] == "packet" {
						rules = append(rules, r)
					}
				}
			}
			if !slices.Equal(rules, tt.rules) {
				t.Errorf("trace rules %v, want %v", rules, tt.rules)
			}
			text := tcpfsm(t, nil, "-r", path, "-v", "--color", "never").stdout
			for _, r := range tt.rules {
				if !strings.Contains(text, "("+r+": ") {
					t.Errorf("the text trace does not name %s:\n%s", r, text)
				}
			}
		})
	}
}

// TestZeekKeepsItsReading: where the receiver did not take a segment, the
// Zeek columns keep Zeek's answer and tcpfsm's own view what the kernel
// did, on the kernel captures docs/zeek.md cites: a challenged RST is still
// RSTO, a challenged SYN with a new ISN starts a new Zeek record, and
// Zeek's sizes, read from sequence numbers, reach as far as a dropped
// segment.
func TestZeekKeepsItsReading(t *testing.T) {
	for _, tt := range []struct {
		capture     string
		zeek        []string // conn_state history orig_bytes of each row
		close       string   // tcpfsm's
		clientBytes float64
	}{
		{"rst-in-window.pcap", []string{"RSTO ShADadRFf 2017"}, "fin", 36},
		{"syn-established.pcap", []string{"S1 ShADad", "SF SaDTdAFf"}, "fin", 36},
		{"data-beyond-window.pcap", []string{"SF ShADadTFf 16777333"}, "fin", 36},
	} {
		t.Run(tt.capture, func(t *testing.T) {
			path := filepath.Join(kernelDir, tt.capture)
			var got []string
			for i, row := range readZeekRows(t, tcpfsm(t, nil, "-r", path, "--format", "zeek").stdout) {
				s := row.state + " " + row.history
				if i < len(tt.zeek) && strings.Count(tt.zeek[i], " ") == 2 {
					s += " " + row.origBytes
				}
				got = append(got, s)
			}
			if !slices.Equal(got, tt.zeek) {
				t.Errorf("conn.log rows %q, want %q", got, tt.zeek)
			}
			objs := jsonLines(t, tcpfsm(t, nil, "-r", path, "--format", "json").stdout)
			if c := objs[0]; c["close"] != tt.close || c["bytes"].(map[string]any)["client"] != tt.clientBytes || len(objs) != 2 {
				t.Errorf("tcpfsm's view: close %v, bytes %v, %d records; want %s, client %v, one", c["close"], c["bytes"], len(objs)-1, tt.close, tt.clientBytes)
			}
		})
	}
}
