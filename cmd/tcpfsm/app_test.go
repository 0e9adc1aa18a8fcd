package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/fsm"
)

// kernelApp is what one socket call returned on a kernel capture's
// connection, as testdata/recorder's scenario checked it when it recorded
// the capture (expectErr, readEOF, its logged connects), and what tcpfsm
// must read off the packets alone.
type kernelApp struct {
	capture    string
	id         int    // the conn record's id
	side, call string // "client"/"server", "connect"/"accept"/"recv"/"send"
	want       string // tcpfsm's outcome
	errno      int    // 0: no errno key
	kernel     string // what the recorder saw the call return, where it differs from want
}

var kernelApps = []kernelApp{
	// refused(): connect to a closed port, ECONNREFUSED.
	{capture: "connection-refused.pcap", id: 1, side: "client", call: "connect", want: "ECONNREFUSED", errno: 111},
	{capture: "connection-refused.pcap", id: 1, side: "server", call: "accept", want: "never"},
	// closeUnread(): the client's read after the server's close with its
	// request unread, ECONNRESET.
	{capture: "close-unread-rst.pcap", id: 1, side: "client", call: "connect", want: "connected", errno: 104},
	{capture: "close-unread-rst.pcap", id: 1, side: "client", call: "recv", want: "ECONNRESET", errno: 104},
	// closeWait(): the server reads EOF and keeps the socket.
	{capture: "close-wait.pcap", id: 1, side: "server", call: "recv", want: "EOF"},
	{capture: "close-wait.pcap", id: 1, side: "client", call: "recv", want: "open"},
	// closeInTurn(): the second closer reads EOF.
	{capture: "normal-client-close.pcap", id: 1, side: "server", call: "recv", want: "EOF"},
	{capture: "normal-server-close.pcap", id: 1, side: "client", call: "recv", want: "EOF"},
	// acceptOverflow(): client 3 connected "as far as it knows" and
	// wrote; the server never accepted it and, with
	// tcp_abort_on_overflow=1, reset it (its SO_ERROR ECONNRESET).
	{capture: "accept-overflow-abort.pcap", id: 3, side: "client", call: "connect", want: "connected", errno: 104},
	{capture: "accept-overflow-abort.pcap", id: 3, side: "client", call: "recv", want: "ECONNRESET", errno: 104},
	{capture: "accept-overflow-abort.pcap", id: 3, side: "server", call: "accept", want: "never"},
	{capture: "accept-overflow-abort.pcap", id: 1, side: "server", call: "accept", want: "accepted"},
	// With tcp_abort_on_overflow=0 client 3 is connected and never
	// accepted: the accept-queue trap.
	{capture: "accept-overflow-noabort.pcap", id: 3, side: "client", call: "connect", want: "connected"},
	{capture: "accept-overflow-noabort.pcap", id: 3, side: "server", call: "accept", want: "never"},
	// Client 4's SYNs dropped while the queue is full; the capture ends
	// during its schedule, connect() still pending.
	{capture: "accept-overflow-noabort.pcap", id: 4, side: "client", call: "connect", want: "EINPROGRESS", errno: 115},
	// keepaliveUnanswered(): the client's read, ETIMEDOUT after its
	// unanswered probes and its RST; the server's socket took the RST.
	{capture: "diag-keepalive-unanswered.pcap", id: 1, side: "client", call: "recv", want: "ETIMEDOUT", errno: 110},
	{capture: "diag-keepalive-unanswered.pcap", id: 1, side: "server", call: "recv", want: "ECONNRESET", errno: 104},
	{capture: "diag-half-open-peer.pcap", id: 1, side: "client", call: "recv", want: "ETIMEDOUT", errno: 110},
	// The kernel returned ETIMEDOUT, but the capture ends at the last
	// retransmission: nothing in it shows the sender gave up.
	{capture: "diag-half-open-peer.pcap", id: 2, side: "client", call: "recv", want: "unknown", kernel: "ETIMEDOUT"},
	{capture: "data-retransmit-timeout.pcap", id: 1, side: "client", call: "recv", want: "unknown", kernel: "ETIMEDOUT"},
	{capture: "syn-timeout.pcap", id: 1, side: "client", call: "connect", want: "EINPROGRESS", errno: 115, kernel: "ETIMEDOUT"},
	// lingerZeroRST(): the client's abortive close; the server's socket
	// took its RST.
	{capture: "linger0-rst.pcap", id: 1, side: "server", call: "recv", want: "ECONNRESET", errno: 104},
	{capture: "simultaneous-open.pcap", id: 1, side: "server", call: "connect", want: "connected"},
}

// TestKernelAppOutcomes compares the app objects tcpfsm writes for kernel
// captures with what their sockets' calls returned when they were
// recorded.
func TestKernelAppOutcomes(t *testing.T) {
	runs := map[string][]map[string]any{}
	for _, k := range kernelApps {
		objs, ok := runs[k.capture]
		if !ok {
			r := tcpfsm(t, nil, "-r", filepath.Join("..", "..", "testdata", "kernel", k.capture), "--format", "json")
			if r.code != exitOK {
				t.Fatalf("%s: exit %d: %s", k.capture, r.code, r.stderr)
			}
			objs = jsonLines(t, r.stdout)
			runs[k.capture] = objs
		}
		var side map[string]any
		for _, o := range objs {
			if o["type"] == "conn" && o["id"] == float64(k.id) {
				side, _ = o["app"].(map[string]any)[k.side].(map[string]any)
			}
		}
		if side == nil {
			t.Errorf("%s #%d: no app.%s", k.capture, k.id, k.side)
			continue
		}
		errno, _ := side["errno"].(float64)
		if side[k.call] != k.want || int(errno) != k.errno {
			t.Errorf("%s #%d %s %s: %v (errno %v), want %s (errno %d); the kernel said %s; %v", k.capture, k.id, k.side, k.call, side[k.call], errno, k.want, k.errno, k.kernel, side)
		}
		if k.kernel != "" && (side["why"] == nil || fmt.Sprint(side["why"]) == "") {
			t.Errorf("%s #%d %s: %s differs from the kernel's %s without a why", k.capture, k.id, k.side, k.want, k.kernel)
		}
	}
}

// callLog is a kernel capture's NAME.errno.json, written by
// testdata/recorder when it recorded the capture: for each connection, in
// the order of its connects, what each socket call its scenario made
// returned (an errno name as Linux spells it, or connected, accepted, EOF).
type callLog struct {
	Connections []struct {
		ClientPort int               `json:"client_port"`
		Client     map[string]string `json:"client"`
		Server     map[string]string `json:"server"`
	} `json:"connections"`
}

// TestKernelCallLogs compares, call by call, the app objects tcpfsm writes
// for every kernel capture that has a call log with what the kernel
// returned to the recording program. An unknown, or an EINPROGRESS where
// connect() had already failed, is a difference like any other: these
// captures go on past every give-up, so the packets can show each one.
func TestKernelCallLogs(t *testing.T) {
	logs, err := filepath.Glob(filepath.Join(kernelDir, "*.errno.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) < 4 {
		t.Fatalf("%d call logs in %s, want at least 4", len(logs), kernelDir)
	}
	for _, path := range logs {
		name := strings.TrimSuffix(filepath.Base(path), ".errno.json") + ".pcap"
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var log callLog
			if err := json.Unmarshal(b, &log); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			r := tcpfsm(t, nil, "-r", filepath.Join(kernelDir, name), "--format", "json")
			if r.code != exitOK {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			// The conn records from each client port, in capture order:
			// the n-th connect from a port is its n-th record.
			byPort := map[int][]map[string]any{}
			for _, o := range jsonLines(t, r.stdout) {
				if o["type"] != "conn" {
					continue
				}
				ap, err := netip.ParseAddrPort(fmt.Sprint(o["client"]))
				if err != nil {
					t.Fatalf("conn %v: client %v: %v", o["id"], o["client"], err)
				}
				byPort[int(ap.Port())] = append(byPort[int(ap.Port())], o)
			}
			compared := 0
			for _, c := range log.Connections {
				if len(byPort[c.ClientPort]) == 0 {
					t.Errorf("no connection from client port %d (or fewer than the log's)", c.ClientPort)
					continue
				}
				o := byPort[c.ClientPort][0]
				byPort[c.ClientPort] = byPort[c.ClientPort][1:]
				app, _ := o["app"].(map[string]any)
				for _, s := range []struct {
					name  string
					calls map[string]string
				}{{"client", c.Client}, {"server", c.Server}} {
					side, _ := app[s.name].(map[string]any)
					for _, call := range slices.Sorted(maps.Keys(s.calls)) {
						compared++
						if got, want := side[call], s.calls[call]; got != want {
							t.Errorf("#%v port %d %s %s(): tcpfsm says %v, the kernel returned %s; %v", o["id"], c.ClientPort, s.name, call, got, want, side)
						}
					}
					// The side's errno is that of its last failing call
					// (send, then recv, then the setup).
					wantErrno := 0
					for _, call := range []string{"send", "recv", "connect", "accept"} {
						if n, ok := fsm.Errnos[s.calls[call]]; ok {
							wantErrno = n
							break
						}
					}
					if got, _ := side["errno"].(float64); wantErrno != 0 && int(got) != wantErrno {
						t.Errorf("#%v port %d %s: errno %v, want %d; %v", o["id"], c.ClientPort, s.name, side["errno"], wantErrno, side)
					}
				}
			}
			if compared == 0 {
				t.Errorf("%s logs no call", path)
			}
		})
	}
}
