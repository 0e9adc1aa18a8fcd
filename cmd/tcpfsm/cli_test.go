package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// result is one run of the command.
type result struct {
	code           int
	stdout, stderr string
}

func tcpfsm(t *testing.T, stdin []byte, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	// Hide Seek: standard input is a pipe.
	code := run(args, struct{ io.Reader }{bytes.NewReader(stdin)}, &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// jsonLines splits JSON Lines output into objects.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q: %v", line, err)
		}
		objs = append(objs, m)
	}
	return objs
}

// frame builds an Ethernet/IPv4/TCP frame from 10.0.0.1:40000 (client) or
// 10.0.0.2:9502 (server).
func frame(t *testing.T, fromClient bool, syn, ack, fin, rst bool, seq, ackNo uint32, payload int) []byte {
	t.Helper()
	return frameWindow(t, fromClient, syn, ack, fin, rst, seq, ackNo, payload, 64240)
}

// frameWindow is frame advertising the window win.
func frameWindow(t *testing.T, fromClient bool, syn, ack, fin, rst bool, seq, ackNo uint32, payload int, win uint16) []byte {
	t.Helper()
	return frameBetween(t, net.IP{10, 0, 0, 1}, 40000, fromClient, syn, ack, fin, rst, seq, ackNo, payload, win)
}

// frameBetween is frameWindow with the client at clientIP:clientPort.
func frameBetween(t *testing.T, clientIP net.IP, clientPort uint16, fromClient bool, syn, ack, fin, rst bool, seq, ackNo uint32, payload int, win uint16) []byte {
	t.Helper()
	src, dst := clientIP.To4(), net.IP{10, 0, 0, 2}
	sport, dport := layers.TCPPort(clientPort), layers.TCPPort(9502)
	if !fromClient {
		src, dst, sport, dport = dst, src, dport, sport
	}
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
	tcp := &layers.TCP{SrcPort: sport, DstPort: dport, Seq: seq, Ack: ackNo, SYN: syn, ACK: ack, FIN: fin, RST: rst, Window: win}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, tcp, gopacket.Payload(make([]byte, payload)))
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// handshakeFrames is a complete connection: open, a request, close.
func handshakeFrames(t *testing.T) [][]byte {
	return [][]byte{
		frame(t, true, true, false, false, false, 100, 0, 0),
		frame(t, false, true, true, false, false, 900, 101, 0),
		frame(t, true, false, true, false, false, 101, 901, 0),
		frame(t, true, false, true, false, false, 101, 901, 20),
		frame(t, true, false, true, true, false, 121, 901, 0),
		frame(t, false, false, true, true, false, 901, 122, 0),
		frame(t, true, false, true, false, false, 122, 902, 0),
	}
}

// writePcap writes frames as a classic pcap, 1 ms apart unless times says.
func writePcap(t *testing.T, frames [][]byte, times ...time.Duration) []byte {
	t.Helper()
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	base := time.Unix(1_700_000_000, 0)
	for i, f := range frames {
		at := time.Duration(i) * time.Millisecond
		if i < len(times) {
			at = times[i]
		}
		ci := gopacket.CaptureInfo{Timestamp: base.Add(at), CaptureLength: len(f), Length: len(f)}
		if err := w.WritePacket(ci, f); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no capture", nil, "no capture to read"},
		{"unknown format", []string{"-r", "x.pcap", "--format", "xml"}, `unknown --format "xml"`},
		{"unknown flag", []string{"--frobnicate"}, "unknown flag: --frobnicate"},
		{"bad color", []string{"-r", "x", "--color", "sometimes"}, `unknown --color "sometimes"`},
		{"bad Zeek port", []string{"-r", "x", "--zeek-server-ports", "80,http"}, `--zeek-server-ports: "http" is not a port number`},
		{"negative --at offset", []string{"-r", "x", "--at", "-2s"}, `--at "-2s"`},
		{"--at past 2262", []string{"-r", "x", "--at", "2300-01-01T00:00:00Z"}, `--at "2300-01-01T00:00:00Z": after 2262-04-11 23:47:16, the latest time a packet can have`},
		{"--at before 1677", []string{"-r", "x", "--at", "1600-01-01 00:00:00"}, `--at "1600-01-01 00:00:00": before 1677-09-21 00:12:43, the earliest time a packet can have`},
		{"file and interface", []string{"-r", "x", "-i", "lo"}, "either -r FILE or -i INTERFACE"},
		{"-w without -i", []string{"-r", "x", "-w", "y.pcap"}, "-w writes the packets of a live capture"},
		{"-w to stdout", []string{"-i", "lo", "-w", "-"}, "standard output carries the report"},
		{"-C without -w", []string{"-i", "lo", "-C", "1"}, "-C, -G and -W rotate the -w file: give -w FILE"},
		{"-G without -w", []string{"-i", "lo", "-G", "60"}, "-C, -G and -W rotate the -w file: give -w FILE"},
		{"-W without -C or -G", []string{"-i", "lo", "-w", "y.pcap", "-W", "3"}, "-W limits the files of a rotation: give -C MB or -G SECONDS"},
		{"-C not a number", []string{"-i", "lo", "-w", "y.pcap", "-C", "10M"}, "-C 10M: want a file size in millions of bytes"},
		{"-C zero", []string{"-i", "lo", "-w", "y.pcap", "-C", "0"}, "-C 0: want a file size from"},
		{"-C negative", []string{"-i", "lo", "-w", "y.pcap", "-C", "-1"}, "-C -1: want a file size from"},
		{"-G negative", []string{"-i", "lo", "-w", "y.pcap", "-G", "-1"}, "-G -1: want a number of seconds above 0"},
		{"-W negative", []string{"-i", "lo", "-w", "y.pcap", "-C", "1", "-W", "-2"}, "-W -2: want a number of files above 0"},
		{"bad snaplen", []string{"-i", "lo", "-s", "0"}, "-s 0: want a snapshot length"},
		{"negative interval", []string{"-i", "lo", "--interval", "-1s"}, "cannot be negative"},
		{"no jobs", []string{"-r", "x", "-j", "0"}, "-j 0: want at least 1"},
		{"too many jobs", []string{"-r", "x", "-j", "10000000"}, "-j 10000000: want at most 256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tcpfsm(t, nil, tt.args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, exitUsage, tt.want)
			}
		})
	}
	if r := tcpfsm(t, nil, "--help"); r.code != exitOK || !strings.Contains(r.stderr, "Examples:") {
		t.Errorf("--help: exit %d, stderr %q", r.code, r.stderr)
	}
}

// A flag tcpfsm or a subcommand does not know is said on one line, then
// where that command's usage is, with exit 2 and nothing on standard
// output; its --help exits 0.
func TestFlagErrorsOfEachCommand(t *testing.T) {
	for _, tt := range []struct {
		command []string
		usage   string
	}{
		{nil, "tcpfsm --help"},
		{[]string{"check"}, "tcpfsm check --help"},
		{[]string{"merge"}, "tcpfsm merge --help"},
	} {
		t.Run(tt.usage, func(t *testing.T) {
			r := tcpfsm(t, nil, append(tt.command, "--frobnicate")...)
			want := "tcpfsm: unknown flag: --frobnicate\nRun '" + tt.usage + "' for usage.\n"
			if r.code != exitUsage || r.stdout != "" || r.stderr != want {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, nothing and %q", r.code, r.stdout, r.stderr, exitUsage, want)
			}
			if r := tcpfsm(t, nil, append(tt.command, "--help")...); r.code != exitOK || r.stdout != "" || !strings.HasPrefix(r.stderr, "Usage:") {
				t.Errorf("--help: exit %d, stdout %q, stderr starts %.40q", r.code, r.stdout, r.stderr)
			}
		})
	}
}

func TestUnreadableInput(t *testing.T) {
	notCapture := writeFile(t, "notes.pcap", []byte("<html>this is not a capture</html>\n"))
	tests := []struct {
		name string
		path string
		want string
	}{
		{"missing file", filepath.Join(t.TempDir(), "nosuch.pcap"), "nosuch.pcap: open"},
		{"not a capture", notCapture, "notes.pcap: not a pcap or pcapng file"},
		{"empty", writeFile(t, "empty.pcap", nil), "empty.pcap: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tcpfsm(t, nil, "-r", tt.path)
			if r.code != exitUsage {
				t.Errorf("exit %d, want %d", r.code, exitUsage)
			}
			if !strings.Contains(r.stderr, tt.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Errorf("stderr %q: want one line containing %q", r.stderr, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
		})
	}
}

// TestTruncatedCaptureKeepsConnections cuts a capture in the middle of its
// last record: the connection read so far is still reported, with a warning.
func TestTruncatedCaptureKeepsConnections(t *testing.T) {
	full := writePcap(t, handshakeFrames(t))
	path := writeFile(t, "cut.pcap", full[:len(full)-10])
	r := tcpfsm(t, nil, "-r", path, "--format", "json")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "cut.pcap: packet 7") || !strings.Contains(r.stderr, "truncated") {
		t.Errorf("stderr %q: want a warning naming the file, packet 7 and the truncation", r.stderr)
	}
	objs := jsonLines(t, r.stdout)
	if len(objs) != 2 || objs[0]["type"] != "conn" || objs[1]["incomplete"] != true {
		t.Fatalf("want one conn and an incomplete summary, got %v", objs)
	}
	// The last ACK was lost with the cut: the client has not acknowledged
	// the server's FIN, so the server is still in LAST_ACK.
	if objs[0]["server_state"] != "LAST_ACK" || objs[0]["client_state"] != "FIN_WAIT_2" {
		t.Errorf("states %v / %v", objs[0]["client_state"], objs[0]["server_state"])
	}
}

// TestMalformedPackets mixes broken packets into a good connection: each is
// reported with its packet number and skipped, the connection survives.
func TestMalformedPackets(t *testing.T) {
	good := handshakeFrames(t)
	badOffset := frame(t, true, false, true, false, false, 121, 901, 0)
	badOffset[14+20+12] = 3 << 4 // TCP data offset 3 words
	badIHL := frame(t, true, false, true, false, false, 121, 901, 0)
	badIHL[14] = 0x43 // IPv4 header length 12 bytes
	short := frame(t, true, false, true, false, false, 121, 901, 0)[:14+20+8]
	frames := append(append(append([][]byte{}, good[:4]...), badOffset, badIHL, short), good[4:]...)
	// The last packet's clock steps back one second.
	times := []time.Duration{0, 1, 2, 3, 4, 5, 6, 7, 8, -time.Second}
	for i := range times[:9] {
		times[i] *= time.Millisecond
	}
	path := writeFile(t, "bad.pcap", writePcap(t, frames, times...))
	r := tcpfsm(t, nil, "-r", path, "--format", "json")
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	for _, want := range []string{"bad.pcap: packet 5: ", "data offset", "bad.pcap: packet 6: ", "bad.pcap: packet 7: ", "bad.pcap: packet 10: timestamp goes backwards"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	objs := jsonLines(t, r.stdout)
	sum := objs[len(objs)-1]
	if sum["malformed"] != 3.0 || sum["connections"] != 1.0 || objs[0]["close"] != "fin" {
		t.Errorf("summary %v, conn %v", sum, objs[0])
	}
}

// TestWarningsAreBounded: past maxWarnings, warnings are counted, not
// listed, on standard error and in the report.
func TestWarningsAreBounded(t *testing.T) {
	short := frame(t, true, false, true, false, false, 121, 901, 0)[:10] // not even an Ethernet header
	frames := make([][]byte, maxWarnings+5)
	for i := range frames {
		frames[i] = short
	}
	path := writeFile(t, "short.pcap", writePcap(t, frames))
	for _, format := range []string{"json", "text"} {
		r := tcpfsm(t, nil, "-r", path, "--format", format)
		if r.code != exitOK || strings.Count(r.stderr, "short.pcap: packet ") != maxWarnings ||
			!strings.HasSuffix(r.stderr, "tcpfsm: warning: 5 more warnings not shown\n") {
			t.Errorf("%s: exit %d, stderr:\n%s", format, r.code, r.stderr)
		}
		if strings.Count(r.stdout, "short.pcap: packet ") != maxWarnings {
			t.Errorf("%s: the report lists %d warnings, want %d:\n%s", format, strings.Count(r.stdout, "short.pcap: packet "), maxWarnings, r.stdout)
		}
	}
}

func TestStdinFilterAndCount(t *testing.T) {
	pcap := writePcap(t, handshakeFrames(t))
	path := writeFile(t, "c.pcap", pcap)
	fromFile := tcpfsm(t, nil, "-r", path, "--format", "json")
	fromStdin := tcpfsm(t, pcap, "-r", "-", "--format", "json")
	if fromStdin.code != exitOK {
		t.Fatalf("stdin: exit %d %q", fromStdin.code, fromStdin.stderr)
	}
	strip := func(s string) string { return strings.ReplaceAll(s, path, "-") }
	if strip(fromFile.stdout) != fromStdin.stdout {
		t.Errorf("standard input and file differ:\n%s\n%s", fromFile.stdout, fromStdin.stdout)
	}

	none := jsonLines(t, tcpfsm(t, nil, "-r", path, "--format", "json", "tcp", "port", "9").stdout)
	if len(none) != 1 || none[0]["connections"] != 0.0 || none[0]["filtered"] != 7.0 {
		t.Errorf("filter tcp port 9: %v", none)
	}
	if r := tcpfsm(t, nil, "-r", path, "tcp", "port"); r.code != exitUsage || !strings.Contains(r.stderr, "tcp port") {
		t.Errorf("bad filter: exit %d stderr %q", r.code, r.stderr)
	}

	three := jsonLines(t, tcpfsm(t, nil, "-r", path, "--format", "json", "-c", "3").stdout)
	if three[0]["handshake"] != "complete" || three[0]["close"] != "open" || three[1]["tcp_packets"] != 3.0 {
		t.Errorf("-c 3: %v", three)
	}
}

func TestColor(t *testing.T) {
	path := writeFile(t, "c.pcap", writePcap(t, handshakeFrames(t)))
	if r := tcpfsm(t, nil, "-r", path, "--color", "always"); !strings.Contains(r.stdout, "\x1b[") {
		t.Error("--color always wrote no escape codes")
	}
	// A buffer is not a terminal: auto means no colour.
	if r := tcpfsm(t, nil, "-r", path); strings.Contains(r.stdout, "\x1b[") {
		t.Error("--color auto coloured a pipe")
	}
}

func TestVerboseTrace(t *testing.T) {
	path := writeFile(t, "c.pcap", writePcap(t, handshakeFrames(t)))
	// JSON: one "packet" object per packet before the connection, with
	// the state changes it caused.
	objs := jsonLines(t, tcpfsm(t, nil, "-r", path, "-v", "--format", "json").stdout)
	if len(objs) != 9 || objs[0]["type"] != "packet" || objs[7]["type"] != "conn" {
		t.Fatalf("want 7 packets, a conn, a summary: %v", objs)
	}
	if tr := objs[2]["transitions"].([]any); len(tr) != 2 || tr[0] != "client SYN_SENT → ESTABLISHED" || tr[1] != "server SYN_RCVD → ESTABLISHED" {
		t.Errorf("third packet's transitions %v", tr)
	}
	r := tcpfsm(t, nil, "-r", path, "-v", "--color", "never")
	for _, want := range []string{
		"client CLOSED → SYN_SENT",
		"server LISTEN → SYN_RCVD",
		"client SYN_SENT → ESTABLISHED",
		"server SYN_RCVD → ESTABLISHED",
		"client FIN_WAIT_2 → TIME_WAIT",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("trace lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestVerboseTraceICMP: each ICMP error quoting a TCP segment has its -v
// line where it came among the packets, naming the error, its sender and
// the segment it quotes, and what it did; the summary counts them, and
// with -j 2 the same.
func TestVerboseTraceICMP(t *testing.T) {
	const dir = "../../testdata/kernel/"
	tests := []struct {
		capture string
		ended   []string // the connect() outcome of each error's line, in order; "" soft
	}{
		{"app-icmp-unreachable.pcap", []string{"ENETUNREACH (101)", "EHOSTUNREACH (113)", "EHOSTUNREACH (113)", "ECONNREFUSED (111)"}},
		{"app-icmp-unreachable-ipv6.pcap", []string{"ENETUNREACH (101)", "ENETUNREACH (101)", "ENETUNREACH (101)", "ENETUNREACH (101)", "EACCES (13)", "EACCES (13)", "EHOSTUNREACH (113)", "EHOSTUNREACH (113)", "ECONNREFUSED (111)", "ECONNREFUSED (111)"}},
	}
	for _, tt := range tests {
		t.Run(tt.capture, func(t *testing.T) {
			path := dir + tt.capture
			r := tcpfsm(t, nil, "-r", path, "-v", "--color", "never")
			var icmp []string
			lines := strings.Split(r.stdout, "\n")
			for i, l := range lines {
				if !strings.Contains(l, " quoting seq ") {
					continue
				}
				icmp = append(icmp, l)
				// It follows the SYN it quotes, of the same connection.
				prev := strings.Fields(lines[i-1])
				if f := strings.Fields(l); len(prev) < 3 || f[2] != prev[2] || !strings.Contains(lines[i-1], "[S]") {
					t.Errorf("ICMP line %q does not follow its SYN: %q", l, lines[i-1])
				}
			}
			if len(icmp) != len(tt.ended) {
				t.Fatalf("%d ICMP lines, want %d:\n%s", len(icmp), len(tt.ended), r.stdout)
			}
			for i, l := range icmp {
				want := "client SYN_SENT → CLOSED  (connect() → " + tt.ended[i]
				if !strings.Contains(l, want) || !strings.Contains(l, " from 10.0.0.2 ") && !strings.Contains(l, " from fd00::2 ") {
					t.Errorf("ICMP line %q lacks %q or the sender", l, want)
				}
			}
			n := len(tt.ended)
			if want := fmt.Sprintf("%d not TCP (%d ICMP errors quoting TCP)", n, n); !strings.Contains(r.stdout, want) {
				t.Errorf("summary lacks %q", want)
			}
			for _, jobs := range []string{"1", "2"} {
				objs := jsonLines(t, tcpfsm(t, nil, "-r", path, "--format", "json", "-j", jobs).stdout)
				if got := objs[len(objs)-1]["icmp_errors"]; got != float64(n) {
					t.Errorf("-j %s: icmp_errors %v, want %d", jobs, got, n)
				}
			}
			objs := jsonLines(t, tcpfsm(t, nil, "-r", path, "-v", "--format", "json").stdout)
			var traced int
			for _, o := range objs {
				if o["type"] != "icmp" {
					continue
				}
				traced++
				if o["id"] == nil || o["sender"] == nil || o["client_state"] != "CLOSED" || o["what"] == nil {
					t.Errorf("icmp line %v", o)
				}
			}
			if traced != n {
				t.Errorf("%d icmp lines in JSON, want %d", traced, n)
			}
		})
	}
	// A capture without ICMP errors has no count.
	objs := jsonLines(t, tcpfsm(t, nil, "-r", dir+"connection-refused.pcap", "--format", "json").stdout)
	if _, ok := objs[len(objs)-1]["icmp_errors"]; ok {
		t.Error("icmp_errors written for a capture without ICMP errors")
	}
}

// TestVerifyChecksums corrupts the client's FIN, and the IPv4 header of a
// copy of its ACK: with --verify-checksums the FIN is ignored, as the
// server's kernel would drop it, and reported, and the copy is skipped
// before TCP (bad_checksums is of the TCP packets, bad_ip_checksums is
// not); without, both count like any packet.
func TestVerifyChecksums(t *testing.T) {
	frames := handshakeFrames(t)[:5] // up to the client's FIN
	frames[4][14+20+16] ^= 0xff      // its TCP checksum
	badIP := bytes.Clone(frames[2])
	badIP[14+10] ^= 0xff // the IPv4 header checksum
	frames = append(frames, badIP)
	path := writeFile(t, "badsum.pcap", writePcap(t, frames))

	checked := jsonLines(t, tcpfsm(t, nil, "-r", path, "--format", "json", "--verify-checksums").stdout)
	for _, c := range []struct {
		objs []map[string]any
		what string
		want [4]float64 // packets, tcp_packets, bad_checksums, bad_ip_checksums
	}{
		{checked, "checked", [4]float64{6, 5, 1, 1}},
		{jsonLines(t, tcpfsm(t, nil, "-r", path, "--format", "json").stdout), "unchecked", [4]float64{6, 6, 0, 0}},
	} {
		sum := c.objs[len(c.objs)-1]
		if got := [4]float64{sum["packets"].(float64), sum["tcp_packets"].(float64), sum["bad_checksums"].(float64), sum["bad_ip_checksums"].(float64)}; got != c.want {
			t.Errorf("%s: packets, tcp_packets, bad_checksums, bad_ip_checksums %v, want %v", c.what, got, c.want)
		}
	}
	conn := checked[0]
	if conn["client_state"] != "ESTABLISHED" || conn["close"] != "open" {
		t.Errorf("checked: client %v close %v; want the FIN ignored", conn["client_state"], conn["close"])
	}
	if a := conn["anomalies"].([]any); len(a) != 1 || a[0].(map[string]any)["name"] != "bad_checksum" {
		t.Errorf("checked: anomalies %v", conn["anomalies"])
	}
	if h := conn["history"]; h != "ShADC" {
		t.Errorf("checked: history %v, want ShADC (Zeek records C for the bad segment)", h)
	}

	unchecked := jsonLines(t, tcpfsm(t, nil, "-r", path, "--format", "json").stdout)[0]
	if unchecked["client_state"] != "FIN_WAIT_1" || len(unchecked["anomalies"].([]any)) != 0 {
		t.Errorf("unchecked: client %v anomalies %v", unchecked["client_state"], unchecked["anomalies"])
	}
}

// TestZeekFormatOnKernelCapture checks a conn.log written from a kernel
// capture: header lines, one row per connection, Zeek's verdicts.
func TestZeekFormatOnKernelCapture(t *testing.T) {
	r := tcpfsm(t, nil, "-r", filepath.Join(kernelDir, "accept-overflow-abort.pcap"), "--format", "zeek")
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	rows := readZeekRows(t, r.stdout)
	var got []string
	for _, row := range rows {
		got = append(got, row.state+" "+row.history)
	}
	// Two connections sit in the full accept queue (S1), the third is reset
	// by the server right after its handshake (RSTR), the fourth's SYNs are
	// dropped: Zeek ends a SYN-only record 5 s after the SYN (S0), so its
	// retransmission falls in the same one.
	want := []string{"S1 ShADa", "S1 ShADa", "RSTR ShADr", "S0 S"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("conn.log rows %q, want %q", got, want)
	}
	if !strings.HasPrefix(r.stdout, "#separator \\x09\n") || !strings.Contains(r.stdout, "\n#close\t") {
		t.Errorf("not a conn.log:\n%s", r.stdout)
	}
}

// TestThresholdFlags: the zero-window capture's 2.4 s stall is a diagnosis
// at the default threshold (2 s) and not at 5 s.
func TestThresholdFlags(t *testing.T) {
	// Each flag, set just above the evidence of the capture recorded for
	// its diagnosis, clears that diagnosis; at its default it is raised.
	tests := []struct {
		capture, name string
		flag          []string
	}{
		{"zero-window.pcap", "zero_window_stall", []string{"--zero-window", "5s"}},
		{"diag-close-wait-leak.pcap", "close_wait_leak", []string{"--close-wait", "9s"}},
		{"diag-syn-flood-cookies.pcap", "syn_flood", []string{"--syn-flood", "201"}},
		{"diag-syn-flood-cookies.pcap", "syn_flood", []string{"--syn-flood-sources", "201"}},
		{"diag-time-wait-pileup.pcap", "time_wait_pileup", []string{"--time-wait", "101"}},
		{"diag-time-wait-pileup.pcap", "time_wait_pileup", []string{"--time-wait-closes", "101"}}, // the old name
		{"diag-port-scan.pcap", "port_scan", []string{"--scan-ports", "101"}},
		{"diag-half-open-peer.pcap", "half_open_peer", []string{"--unanswered", "10"}},
		{"syn-timeout.pcap", "syn_unanswered", []string{"--syn-retries", "3"}},
	}
	for _, tc := range tests {
		names := func(args ...string) []string {
			r := tcpfsm(t, nil, append([]string{"-r", filepath.Join(kernelDir, tc.capture), "--format", "json"}, args...)...)
			objs := jsonLines(t, r.stdout)
			var out []string
			for _, d := range objs[len(objs)-1]["diagnoses"].([]any) {
				out = append(out, d.(map[string]any)["name"].(string))
			}
			return out
		}
		if got := names(); !slices.Contains(got, tc.name) {
			t.Errorf("%s: diagnoses %q at the defaults, want %s", tc.capture, got, tc.name)
		}
		if got := names(tc.flag...); slices.Contains(got, tc.name) {
			t.Errorf("%s %q: diagnoses %q, want no %s", tc.capture, tc.flag, got, tc.name)
		}
	}
}

// TestCensusAt takes the census of the accept-queue capture at three
// instants: mid-handshake, while the third client's SYN/ACKs are resent,
// and at the end.
func TestCensusAt(t *testing.T) {
	path := filepath.Join(kernelDir, "accept-overflow-noabort.pcap")
	census := func(at string) string {
		objs := jsonLines(t, tcpfsm(t, nil, "-r", path, "--format", "json", "--at", at).stdout)
		b, _ := json.Marshal(objs[len(objs)-1]["census_hosts"])
		return string(b)
	}
	for _, tt := range []struct{ at, want string }{
		{"0.008s", `{"10.0.0.1":{"SYN_SENT":1},"10.0.0.2":{"LISTEN":1,"SYN_RCVD":1}}`},
		{"2s", `{"10.0.0.1":{"ESTABLISHED":3,"SYN_SENT":1},"10.0.0.2":{"ESTABLISHED":2,"LISTEN":1,"SYN_RCVD":1}}`},
		{"", `{"10.0.0.1":{"ESTABLISHED":3,"SYN_SENT":1},"10.0.0.2":{"ESTABLISHED":2,"LISTEN":1,"SYN_RCVD":1}}`},
		{"2026-01-01T00:00:00Z", `{}`}, // before the capture: nothing yet
	} {
		if got := census(tt.at); got != tt.want {
			t.Errorf("--at %q: census %s, want %s", tt.at, got, tt.want)
		}
	}
	// An offset that takes the census past the latest time there is is
	// taken then, in 2262, as one long after the capture is: it wrapped
	// round to 1715, before the capture, and counted nothing.
	for _, at := range []string{"1000h", "2500000h"} {
		objs := jsonLines(t, tcpfsm(t, nil, "-r", path, "--format", "json", "--at", at).stdout)
		sum := objs[len(objs)-1]
		b, _ := json.Marshal(sum["census_hosts"])
		ts, _ := sum["census_ts"].(float64)
		latest := float64(math.MaxInt64/1e9) - 1 // within a second of 2262-04-11 23:47:16
		if want := `{"10.0.0.1":{"ESTABLISHED":3,"SYN_SENT":1},"10.0.0.2":{"ESTABLISHED":2,"LISTEN":1,"SYN_RCVD":1}}`; string(b) != want || at == "2500000h" && ts < latest {
			t.Errorf("--at %s: census %s at %f, want %s (at %.0f or later for 2500000h)", at, b, ts, want, latest)
		}
	}
	if r := tcpfsm(t, nil, "-r", path, "--at", "yesterday"); r.code != exitUsage || !strings.Contains(r.stderr, `--at "yesterday"`) {
		t.Errorf("bad --at: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestBusyNormalTrafficHasNoDiagnosis: 500 ordinary connections, opened,
// used and closed, eight at a time, raise nothing.
func TestBusyNormalTrafficHasNoDiagnosis(t *testing.T) {
	path, _ := syntheticCapture(t, 500)
	objs := jsonLines(t, tcpfsm(t, nil, "-r", path, "--format", "json").stdout)
	sum := objs[len(objs)-1]
	if sum["connections"] != 500.0 || len(sum["diagnoses"].([]any)) != 0 {
		t.Errorf("%v connections, diagnoses %v", sum["connections"], sum["diagnoses"])
	}
	if hs := sum["handshakes"].(map[string]any); hs["complete"] != 500.0 {
		t.Errorf("handshakes %v", hs)
	}
}

// TestDurationOnAFile: --duration counts packet time from the first packet
// of a file, and the packets after it are not read.
func TestDurationOnAFile(t *testing.T) {
	frames := handshakeFrames(t) // 7 packets
	times := make([]time.Duration, len(frames))
	for i := range times {
		times[i] = time.Duration(i) * 500 * time.Millisecond // 0, 0.5 s, ... 3 s
	}
	path := writeFile(t, "d.pcap", writePcap(t, frames, times...))
	objs := jsonLines(t, tcpfsm(t, nil, "-r", path, "--format", "json", "--duration", "1200ms").stdout)
	if sum := objs[len(objs)-1]; sum["tcp_packets"] != 3.0 {
		t.Errorf("--duration 1.2s over packets 0.5 s apart: %v TCP packets, want 3 (0, 0.5 and 1 s)", sum["tcp_packets"])
	}
}

// TestStreamSaysWhatScrolledBy: with --events, connections are reported as
// each ends, and the end of the report says how many scrolled by above
// (the summary counts them all), so that the last screen is not taken for
// the whole report.
func TestStreamSaysWhatScrolledBy(t *testing.T) {
	r := tcpfsm(t, nil, "-r", "../../testdata/kernel/diag-time-wait-pileup.pcap", "--events", "--color", "never")
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// Those reported as they ended are those that left before the end
	// of the capture: their reason is not "end".
	var above, all int
	for _, o := range jsonLines(t, tcpfsm(t, nil, "-r", "../../testdata/kernel/diag-time-wait-pileup.pcap", "--format", "json").stdout) {
		if o["type"] == "conn" {
			all++
			if o["reason"] != "end" {
				above++
			}
		}
	}
	want := fmt.Sprintf("\n%d of the %d connections were reported above, each as it ended; the summary counts them all.\nSummary ", above, all)
	if above == 0 || above == all || !strings.Contains(r.stdout, want) {
		t.Errorf("want the line %q in\n%s", want, r.stdout[max(0, len(r.stdout)-800):])
	}
	// Without the stream, every connection comes after the diagnoses and
	// nothing needs saying.
	if r := tcpfsm(t, nil, "-r", "../../testdata/kernel/diag-time-wait-pileup.pcap", "--color", "never"); strings.Contains(r.stdout, "reported above") {
		t.Errorf("without --events: %q", r.stdout[max(0, len(r.stdout)-800):])
	}
}

// -C counts millions of bytes, as tcpdump does, and takes fractions.
func TestParseFileSize(t *testing.T) {
	for _, tt := range []struct {
		arg  string
		want int64
	}{
		{"1", 1_000_000}, {"100", 100_000_000}, {"0.5", 500_000}, {"0.01", 10_000}, {"1e-6", 1},
		{"0", 0}, {"1e-7", 0}, {"-3", 0}, {"NaN", 0}, {"Inf", 0}, {"1M", 0}, {"", 0},
	} {
		got, err := parseFileSize(tt.arg)
		if got != tt.want || (err == nil) != (tt.want != 0) {
			t.Errorf("parseFileSize(%q) = %d, %v; want %d", tt.arg, got, err, tt.want)
		}
	}
}
