package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/capture/testenv"
	"github.com/tcpfsm/tcpfsm/cmd/internal/pipeline"
	"github.com/tcpfsm/tcpfsm/report"
)

// The live tests capture real connections on the loopback interface with
// the tcpfsm binary itself, stopped by a real SIGINT. Capturing needs root
// or CAP_NET_RAW; CI runs as root.

func requireCapture(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.CannotRun(t, "live capture needs root or CAP_NET_RAW: run the tests as root (as CI does) to include them")
	}
	if testing.Short() {
		t.Skip("live capture takes a few seconds; skipped with -short")
	}
}

var (
	buildOnce  sync.Once
	binaryPath string
	buildErr   error
)

// tcpfsmBinary builds the command once, into a directory any user can
// read, so that the permission test can run it as nobody.
func tcpfsmBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tcpfsm-live-")
		if err == nil {
			err = os.Chmod(dir, 0o755)
		}
		if err != nil {
			buildErr = err
			return
		}
		binaryPath = filepath.Join(dir, "tcpfsm")
		out, err := exec.Command("go", "build", "-o", binaryPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binaryPath
}

// liveRun is a tcpfsm capturing in the background.
type liveRun struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
}

// startLive starts tcpfsm with args and waits until it says it is
// listening.
func startLive(t *testing.T, args ...string) *liveRun {
	t.Helper()
	return startLiveCommand(t, exec.Command(tcpfsmBinary(t), args...))
}

// startLiveCommand is startLive for a command that runs tcpfsm (under
// prlimit, say).
func startLiveCommand(t *testing.T, cmd *exec.Cmd) *liveRun {
	t.Helper()
	r := &liveRun{cmd: cmd, done: make(chan struct{})}
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.cmd.Process.Kill(); <-r.done })
	listening := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			r.mu.Lock()
			r.stderr.WriteString(sc.Text() + "\n")
			r.mu.Unlock()
			if strings.Contains(sc.Text(), "listening on") {
				once.Do(func() { close(listening) })
			}
		}
	}()
	go func() {
		defer wg.Done()
		buf := make([]byte, 4096)
		for {
			n, err := stdout.Read(buf)
			r.mu.Lock()
			r.stdout.Write(buf[:n])
			r.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { wg.Wait(); r.cmd.Wait(); close(r.done) }()
	select {
	case <-listening:
	case <-r.done:
		t.Fatalf("tcpfsm exited before capturing: %s", r.errText())
	case <-time.After(10 * time.Second):
		t.Fatalf("tcpfsm did not start capturing: %s", r.errText())
	}
	return r
}

func (r *liveRun) outText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stdout.String()
}

func (r *liveRun) errText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stderr.String()
}

// waitFor polls the output until ok says it is complete.
func (r *liveRun) waitFor(t *testing.T, what string, ok func(out string) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok(r.outText()) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s in the live output after 15 s:\n%s\nstderr:\n%s", what, r.outText(), r.errText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends sig and waits for the exit; it returns the exit code.
func (r *liveRun) stop(t *testing.T, sig os.Signal) int {
	t.Helper()
	if sig != nil {
		if err := r.cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-r.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("tcpfsm did not stop:\n%s", r.errText())
	}
	return r.cmd.ProcessState.ExitCode()
}

// service is a real TCP server on 127.0.0.1. The first byte a client sends
// picks what it does: 'e' echoes until the client closes, then closes;
// 'h' reads to the client's FIN, then answers with 1000 bytes and closes:
// data flowing after a half-close.
type service struct {
	ln   net.Listener
	port uint16
}

func startService(t *testing.T) *service {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:9502")
	if err != nil {
		// 9502 is taken here: any free port shows the same.
		if ln, err = net.Listen("tcp4", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	s := &service{ln: ln, port: uint16(ln.Addr().(*net.TCPAddr).Port)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *service) serve(c net.Conn) {
	defer c.Close()
	mode := make([]byte, 1)
	if _, err := io.ReadFull(c, mode); err != nil {
		return
	}
	switch mode[0] {
	case 'e':
		c.Write(mode)
		io.Copy(c, c)
	case 'h':
		io.Copy(io.Discard, c)
		c.Write(bytes.Repeat([]byte("x"), 1000))
	}
}

// closedPort returns a port on 127.0.0.1 nobody listens on.
func closedPort(t *testing.T) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	return port
}

// clientKinds are the connections the live test drives, by the client
// port each got.
type clientKinds map[string]string

// driveClients runs a normal connection, a refused one, one reset with
// SO_LINGER 0 and a half-closed one, in turn, and returns which client
// address did which.
func driveClients(t *testing.T, port, closed uint16) clientKinds {
	t.Helper()
	kinds := clientKinds{}
	dial := func(kind string, p uint16) *net.TCPConn {
		c, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", p), 5*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		kinds[c.LocalAddr().String()] = kind
		return c.(*net.TCPConn)
	}
	exchange := func(c *net.TCPConn, mode byte) {
		if _, err := c.Write([]byte{mode}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
	}

	// Normal: the client closes first, the server follows.
	c := dial("normal", port)
	exchange(c, 'e')
	c.Close()

	// Refused: nobody listens. The kernel's RST names no local address to
	// the dialer, so the refused attempt is found by its server port.
	if _, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", closed), 5*time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial the closed port: %v, want connection refused", err)
	}

	// Reset: SO_LINGER 0 makes close send RST from ESTABLISHED.
	c = dial("reset", port)
	exchange(c, 'e')
	c.SetLinger(0)
	c.Close()

	// Half-close: the client shuts down its sending side and keeps reading.
	c = dial("half-close", port)
	if _, err := c.Write([]byte{'h'}); err != nil {
		t.Fatal(err)
	}
	c.CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil || len(got) != 1000 {
		t.Fatalf("half-close: read %d bytes, %v", len(got), err)
	}
	c.Close()
	return kinds
}

// streamLines splits the JSON output of a run by type.
func streamLines(t *testing.T, out string) map[string][]map[string]any {
	t.Helper()
	by := map[string][]map[string]any{}
	for _, m := range jsonLines(t, out) {
		typ, _ := m["type"].(string)
		by[typ] = append(by[typ], m)
	}
	return by
}

// eventsByConn lists each connection's events in order, keyed by what the
// client did.
func eventsByConn(evs []map[string]any, kinds clientKinds, closed uint16) map[string][]string {
	out := map[string][]string{}
	for _, e := range evs {
		kind := kinds[e["client"].(string)]
		if strings.HasSuffix(e["server"].(string), fmt.Sprintf(":%d", closed)) {
			kind = "refused"
		}
		desc := e["event"].(string)
		if desc == "fin" || desc == "reset" {
			desc += " from " + e["from"].(string)
		}
		out[kind] = append(out[kind], desc)
	}
	return out
}

func TestLiveCapture(t *testing.T) {
	requireCapture(t)
	svc := startService(t)
	closed := closedPort(t)
	pcap := filepath.Join(t.TempDir(), "live.pcap")
	lr := startLive(t, "-i", "lo", "--format", "json", "--interval", "1s", "-w", pcap,
		fmt.Sprintf("tcp port %d or tcp port %d", svc.port, closed))

	kinds := driveClients(t, svc.port, closed)
	// Every event streams as it happens, before the capture ends.
	wantEvents := map[string][]string{
		"normal":     {"established", "fin from client", "fin from server", "closed"},
		"refused":    {"refused"},
		"reset":      {"established", "reset from client"},
		"half-close": {"established", "fin from client", "fin from server", "closed"},
	}
	lr.waitFor(t, "event of every connection and a census", func(out string) bool {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var evs []map[string]any
		census := false
		for _, l := range lines {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) != nil {
				return false
			}
			switch m["type"] {
			case "event":
				evs = append(evs, m)
			case "census":
				census = true
			}
		}
		got := eventsByConn(evs, kinds, closed)
		for k, want := range wantEvents {
			if !slices.Equal(got[k], want) {
				return false
			}
		}
		return census
	})
	if code := lr.stop(t, os.Interrupt); code != exitOK {
		t.Fatalf("exit %d after SIGINT; stderr:\n%s", code, lr.errText())
	}

	by := streamLines(t, lr.outText())
	if got := eventsByConn(by["event"], kinds, closed); len(got) != len(wantEvents) {
		t.Errorf("events for %d kinds of connection, want %d: %v", len(got), len(wantEvents), got)
	}
	for _, e := range by["event"] {
		switch e["event"] {
		case "established":
			rtt := e["handshake_rtt_ms"].(map[string]any)
			if rtt["client"] == nil || rtt["server"] == nil {
				t.Errorf("established without its round-trip times: %v", e)
			}
		case "reset":
			r := e["reset"].(map[string]any)
			if r["by"] != "client" || r["state"] != "ESTABLISHED" {
				t.Errorf("reset event %v, want by the client in ESTABLISHED", r)
			}
		}
	}

	// The final report: every connection, and libpcap's counters.
	conns := map[string]map[string]any{}
	for _, c := range by["conn"] {
		kind := kinds[c["client"].(string)]
		if strings.HasSuffix(c["server"].(string), fmt.Sprintf(":%d", closed)) {
			kind = "refused"
		}
		conns[kind] = c
	}
	for kind, want := range map[string][2]string{
		"normal": {"complete", "fin"}, "refused": {"refused", "none"},
		"reset": {"complete", "rst_client"}, "half-close": {"complete", "fin"},
	} {
		c := conns[kind]
		if c == nil || c["handshake"] != want[0] || c["close"] != want[1] {
			t.Errorf("%s connection: %v, want handshake %s, close %s", kind, c, want[0], want[1])
		}
	}
	if labels := conns["half-close"]["labels"]; !slices.Contains(labels.([]any), any("half_close")) {
		t.Errorf("half-close connection labels %v, want half_close", labels)
	}
	sum := by["summary"]
	if len(sum) != 1 {
		t.Fatalf("%d summaries", len(sum))
	}
	s := sum[0]
	capt, _ := s["capture"].(map[string]any)
	if capt == nil || capt["interface"] != "lo" || capt["received"].(float64) < s["tcp_packets"].(float64) {
		t.Errorf("summary capture counters %v (tcp_packets %v)", capt, s["tcp_packets"])
	}
	if s["bad_checksums"].(float64) != 0 || len(s["anomalies"].(map[string]any)) != 0 {
		t.Errorf("loopback capture reports bad checksums or anomalies: %v %v", s["bad_checksums"], s["anomalies"])
	}

	// Replaying the -w file gives the same report: the same connection
	// records in the same order, the same summary apart from the source and
	// libpcap's counters, and the same events.
	replay := tcpfsm(t, nil, "-r", pcap, "--format", "json", "--events", "--interval", "0")
	if replay.code != exitOK {
		t.Fatalf("replay: exit %d: %s", replay.code, replay.stderr)
	}
	rb := streamLines(t, replay.stdout)
	for _, typ := range []string{"conn", "event"} {
		if !jsonEqual(t, by[typ], rb[typ]) {
			t.Errorf("%s lines differ between the live run and the replay of its -w file:\nlive:   %v\nreplay: %v", typ, by[typ], rb[typ])
		}
	}
	ls, rs := s, rb["summary"][0]
	for _, m := range []map[string]any{ls, rs} {
		// A warning names its source: the interface live, the file on
		// replay ("lo: packet 11: timestamp goes backwards", as loopback
		// packets stamped on two CPUs may be).
		if ws, ok := m["warnings"].([]any); ok {
			for i, w := range ws {
				if src, ok := m["source"].(string); ok {
					ws[i] = strings.TrimPrefix(w.(string), src+": ")
				}
			}
		}
		delete(m, "source")
		delete(m, "capture")
	}
	if !jsonEqual(t, []map[string]any{ls}, []map[string]any{rs}) {
		t.Errorf("summaries differ:\nlive:   %v\nreplay: %v", ls, rs)
	}
}

func jsonEqual(t *testing.T, a, b []map[string]any) bool {
	t.Helper()
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return bytes.Equal(ja, jb)
}

// TestLiveTextStopsAfterDurationAndCount checks the text stream and the
// two other ways a capture ends: --duration and -c.
func TestLiveTextStopsAfterDurationAndCount(t *testing.T) {
	requireCapture(t)
	svc := startService(t)
	filter := fmt.Sprintf("tcp port %d", svc.port)

	lr := startLive(t, "-i", "lo", "--duration", "2s", "--color", "never", filter)
	started := time.Now()
	c, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", svc.port))
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte{'e'})
	io.ReadFull(c, make([]byte, 1))
	c.Close()
	if code := lr.stop(t, nil); code != exitOK {
		t.Fatalf("--duration: exit %d: %s", code, lr.errText())
	}
	if took := time.Since(started); took > 10*time.Second {
		t.Errorf("--duration 2s ran for %v", took)
	}
	out := lr.outText()
	for _, want := range []string{
		"handshake complete (rtt SYN→SYN/ACK", "client sent FIN", "close fin  client TIME_WAIT",
		"census  ", "Summary lo", "capture      lo: ", "dropped by the kernel",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}

	// -B, -p and -s are handed to libpcap; the capture works with them.
	lr = startLive(t, "-i", "lo", "-c", "3", "-B", "4096", "-p", "-s", "96", "--format", "json", filter)
	c, err = net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", svc.port))
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte{'e'})
	io.ReadFull(c, make([]byte, 1))
	if code := lr.stop(t, nil); code != exitOK {
		t.Fatalf("-c 3: exit %d: %s", code, lr.errText())
	}
	c.Close()
	by := streamLines(t, lr.outText())
	if s := by["summary"]; len(s) != 1 || s[0]["tcp_packets"].(float64) != 3 {
		t.Errorf("-c 3: summary %v, want 3 TCP packets", s)
	}

	// SIGTERM ends it as Ctrl-C does; --verify-checksums earns a note
	// about offloaded checksums (on loopback, Linux leaves them all unfilled,
	// so every segment would be ignored).
	lr = startLive(t, "-i", "lo", "--verify-checksums", "--interval", "200ms", "--format", "json", filter)
	if !strings.Contains(lr.errText(), "offload") {
		t.Errorf("--verify-checksums on a live capture: no note about offload in %q", lr.errText())
	}
	c, err = net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", svc.port))
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte{'e'})
	io.ReadFull(c, make([]byte, 1))
	c.Close()
	lr.waitFor(t, "census after the connection", func(out string) bool {
		for _, m := range regexp.MustCompile(`"tcp_packets":(\d+)`).FindAllStringSubmatch(out, -1) {
			if len(m[1]) > 1 || m[1] >= "8" {
				return true // the handshake, the exchange and the closing FINs
			}
		}
		return false
	})
	if code := lr.stop(t, syscall.SIGTERM); code != exitOK {
		t.Fatalf("SIGTERM: exit %d: %s", code, lr.errText())
	}
	by = streamLines(t, lr.outText())
	if s := by["summary"]; len(s) != 1 || len(by["conn"]) != 1 || s[0]["tcp_packets"].(float64) < 8 {
		t.Errorf("after SIGTERM: summary %v, %d connections; want the report of the one connection", s, len(by["conn"]))
	}
}

// regexpLo is the line -D prints for the loopback interface.
var regexpLo = regexp.MustCompile(`(?m)^\d+\.lo\b.*Loopback`)

// TestLiveErrors checks the messages a user gets when a live capture
// cannot start, and -D.
func TestLiveErrors(t *testing.T) {
	requireCapture(t)
	bin := tcpfsmBinary(t)
	runAs := func(uid uint32, args ...string) (int, string, string) {
		cmd := exec.Command(bin, args...)
		if uid != 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
			cmd.Dir = "/"
		}
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
	}

	tests := []struct {
		name string
		uid  uint32
		args []string
		want []string
	}{
		{"no such interface", 0, []string{"-i", "nosuch0"}, []string{"nosuch0", "no such interface", "lo"}},
		{"bad filter", 0, []string{"-i", "lo", "tcp", "prot", "80"}, []string{"lo", `"tcp prot 80"`, "syntax error"}},
		{"no permission", 65534, []string{"-i", "lo"}, []string{"lo", "root", "CAP_NET_RAW", "setcap cap_net_raw"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runAs(tt.uid, tt.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr %q", code, exitUsage, stderr)
			}
			if lines := strings.Count(strings.TrimSpace(stderr), "\n"); lines != 0 {
				t.Errorf("error takes %d lines, want one: %q", lines+1, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
		})
	}

	code, out, _ := runAs(0, "-D")
	if code != exitOK || !regexpLo.MatchString(out) {
		t.Errorf("-D: exit %d, output %q: want a numbered line for lo", code, out)
	}
}

// TestLiveFailedStartKeepsWriteFile: a capture that cannot start leaves a
// file of the -w name as it was, as tcpdump does; a -w file that cannot be
// created is an error naming it.
func TestLiveFailedStartKeepsWriteFile(t *testing.T) {
	requireCapture(t)
	dir := t.TempDir()
	prev := filepath.Join(dir, "prev.pcap")
	const content = "an earlier capture the user kept"
	for _, args := range [][]string{
		{"-i", "nosuch0", "-w", prev},
		{"-i", "lo", "-w", prev, "tcp", "prot", "80"},
	} {
		if err := os.WriteFile(prev, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(tcpfsmBinary(t), args...)
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != exitUsage {
			t.Errorf("%v: exit %d, want %d: %s", args, code, exitUsage, out)
		}
		if got, err := os.ReadFile(prev); err != nil || string(got) != content {
			t.Errorf("%v: the existing -w file is now %q (%v), want it untouched", args, got, err)
		}
	}

	missing := filepath.Join(dir, "no-such-dir", "x.pcap")
	cmd := exec.Command(tcpfsmBinary(t), "-i", "lo", "-w", missing, "tcp")
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != exitUsage || strings.Count(string(out), "\n") != 1 ||
		!strings.Contains(string(out), missing) || !strings.Contains(string(out), "no such file") {
		t.Errorf("-w in a missing directory: exit %d, %q: want exit %d and one line naming the file", code, out, exitUsage)
	}
}

// pause stops the process (SIGSTOP) and waits until the kernel has.
func (r *liveRun) pause(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stat := fmt.Sprintf("/proc/%d/stat", r.cmd.Process.Pid)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(stat)
		if err != nil {
			t.Fatal(err)
		}
		// "pid (comm) S ...": the state follows the last parenthesis.
		if f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])); len(f) > 0 && f[0] == "T" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tcpfsm not stopped 10 s after SIGSTOP: %s", b)
		}
	}
}

// burst makes n connections to the service one after the other, each a
// byte echoed and both FINs, and returns their client addresses.
func burst(t *testing.T, port uint16, n int) []string {
	t.Helper()
	var clients []string
	for range n {
		c, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c.LocalAddr().String())
		c.Write([]byte{'e'})
		c.(*net.TCPConn).CloseWrite()
		// The echo, then the server's FIN: the connection is over.
		if got, err := io.ReadAll(c); err != nil || string(got) != "e" {
			t.Fatalf("connection %d: read %q, %v", len(clients), got, err)
		}
		c.Close()
	}
	return clients
}

// burstConns is how many connections stoppedBurst makes: some 500 packets,
// which libpcap's default buffer (2 MiB) holds several times over, and a
// buffer of 64 KiB (-B 64) not even once. On lo the kernel copies each
// packet twice into the buffer, once leaving and once arriving.
const burstConns = 50

// stoppedBurst runs tcpfsm with args (and a filter for svc) while it is
// stopped (SIGSTOP) and burstConns connections are made, then sends it
// SIGINT as it is continued. All it holds then was captured before the
// stop request. It returns the run, ended, and the connections' clients.
func stoppedBurst(t *testing.T, svc *service, args ...string) (*liveRun, []string) {
	t.Helper()
	args = append(args, "-i", "lo", "--format", "json", "--interval", "0", fmt.Sprintf("tcp port %d", svc.port))
	lr := startLive(t, args...)
	lr.pause(t)
	clients := burst(t, svc.port, burstConns)
	if err := lr.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := lr.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if code := lr.stop(t, nil); code != exitOK {
		t.Fatalf("exit %d: %s", code, lr.errText())
	}
	return lr, clients
}

// TestLiveStopReadsWhatWasCaptured: what the kernel captured before Ctrl-C
// is in the report, even a buffer's worth that tcpfsm had not read yet.
func TestLiveStopReadsWhatWasCaptured(t *testing.T) {
	requireCapture(t)
	svc := startService(t)
	lr, clients := stoppedBurst(t, svc)
	const n = burstConns

	by := streamLines(t, lr.outText())
	conns := map[string]map[string]any{}
	for _, c := range by["conn"] {
		conns[c["client"].(string)] = c
	}
	missing := 0
	for _, cl := range clients {
		c := conns[cl]
		if c == nil {
			missing++
			continue
		}
		if c["handshake"] != "complete" || c["close"] != "fin" {
			t.Errorf("connection from %s: handshake %v, close %v; want complete, fin", cl, c["handshake"], c["close"])
		}
	}
	if missing > 0 || len(conns) != n {
		t.Errorf("%d of the %d connections made while tcpfsm was stopped are missing; %d reported\nstderr:\n%s",
			missing, n, len(conns), lr.errText())
	}
	if s := by["summary"]; len(s) != 1 || len(s[0]["warnings"].([]any)) != 0 || s[0]["incomplete"] != false {
		t.Errorf("summary %v: want no warning (no packet dropped), not incomplete", s)
	}
}

// TestLiveBufferSize: -B sets the size of libpcap's buffer. The burst
// TestLiveStopReadsWhatWasCaptured sees whole in the default buffer
// overflows one of 64 KiB: the kernel drops packets, and the summary says
// so in its counters and its warnings, and on standard error.
func TestLiveBufferSize(t *testing.T) {
	requireCapture(t)
	svc := startService(t)
	lr, _ := stoppedBurst(t, svc, "-B", "64")
	sum := streamLines(t, lr.outText())["summary"]
	if len(sum) != 1 {
		t.Fatalf("%d summaries:\n%s", len(sum), lr.outText())
	}
	capt := sum[0]["capture"].(map[string]any)
	warnings := sum[0]["warnings"].([]any)
	if capt["dropped"].(float64) == 0 || len(warnings) == 0 ||
		!strings.HasPrefix(warnings[0].(string), fmt.Sprintf("the capture missed %v packets", capt["dropped"])) {
		t.Errorf("-B 64 and %d connections while stopped: capture %v, warnings %q; want drops, and a warning of them first",
			burstConns, capt, warnings)
	}
	if !strings.Contains(lr.errText(), "tcpfsm: warning: the capture missed") {
		t.Errorf("no warning of the drops on standard error:\n%s", lr.errText())
	}
}

// TestLiveStopDrainIsBounded: a stop request reads what libpcap holds from
// before it, but for drainFor at most; past that the report says it left
// packets out. The packets are captured before the reading starts, with
// the stop already requested.
func TestLiveStopDrainIsBounded(t *testing.T) {
	requireCapture(t)
	svc := startService(t)
	saved := drainFor
	t.Cleanup(func() { drainFor = saved })
	const n = 10
	for _, tt := range []struct {
		drain    time.Duration
		complete bool
	}{{time.Second, true}, {0, false}} {
		drainFor = tt.drain
		o, err := parseFlags([]string{"-i", "lo", "--format", "json", "--interval", "0", fmt.Sprintf("tcp port %d", svc.port)}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		tot := &report.Totals{Source: o.iface}
		warn := func(err error) { tot.Warnings = append(tot.Warnings, err.Error()) }
		src, closeSource, _, err := openSource(o, nil, io.Discard, io.Discard, warn, nil)
		if err != nil {
			t.Fatal(err)
		}
		burst(t, svc.port, n)
		var out bytes.Buffer
		rep, err := report.New(&out, report.Options{Format: "json", Stream: true})
		if err != nil {
			t.Fatal(err)
		}
		stop := newInterrupt()
		stop.request(os.Interrupt)
		popt := pipelineOptions(o, src, closeSource, rep, tot, warn)
		popt.Stop = &stop.stop
		if _, err := pipeline.Run(popt); err != nil {
			t.Fatal(err)
		}
		if err := rep.Finish(tot); err != nil {
			t.Fatal(err)
		}

		conns := len(streamLines(t, out.String())["conn"])
		if tt.complete {
			if conns != n || tot.Incomplete || len(tot.Warnings) != 0 {
				t.Errorf("drain %v: %d connections, incomplete %v, warnings %q; want %d, complete, none",
					tt.drain, conns, tot.Incomplete, tot.Warnings, n)
			}
			continue
		}
		if tot.TCPPackets != 1 || !tot.Incomplete || len(tot.Warnings) != 1 ||
			!strings.HasPrefix(tot.Warnings[0], "lo: stopped reading 0s after the stop request") {
			t.Errorf("drain 0: %d TCP packets, incomplete %v, warnings %q; want 1 packet, incomplete, a warning naming lo",
				tot.TCPPackets, tot.Incomplete, tot.Warnings)
		}
	}
}

// TestLiveInterruptedAtOnce: Ctrl-C as soon as tcpfsm says it is listening
// already gives the report, as the message promises. Started a few times,
// since the moment matters.
func TestLiveInterruptedAtOnce(t *testing.T) {
	requireCapture(t)
	for range 10 {
		lr := startLive(t, "-i", "lo", "--format", "json", "tcp port 9")
		if code := lr.stop(t, os.Interrupt); code != exitOK {
			t.Fatalf("exit %d after SIGINT at once (%v); stderr:\n%s", code, lr.cmd.ProcessState, lr.errText())
		}
		if s := streamLines(t, lr.outText())["summary"]; len(s) != 1 {
			t.Fatalf("no summary after SIGINT at once:\n%s", lr.outText())
		}
	}
}

// TestLiveWriteErrorEndsTheCapture: when the -w file cannot be written
// (here past a file size limit, as on a full disk) the capture ends by
// itself with exit status 2 and one message naming the file and the
// error, and the report of what was read is still written.
func TestLiveWriteErrorEndsTheCapture(t *testing.T) {
	requireCapture(t)
	if _, err := exec.LookPath("prlimit"); err != nil {
		testenv.CannotRun(t, "prlimit (util-linux) is needed to limit the size of the -w file")
	}
	svc := startService(t)
	save := filepath.Join(t.TempDir(), "x.pcap")
	// The file header fits; the first batch of packets does not.
	lr := startLiveCommand(t, exec.Command("prlimit", "--fsize=4096", tcpfsmBinary(t),
		"-i", "lo", "-w", save, "--format", "json", "--interval", "0", fmt.Sprintf("tcp port %d", svc.port)))
	burst(t, svc.port, burstConns)
	code := lr.stop(t, nil)
	want := fmt.Sprintf("-w %s: file too large: the capture stopped there; the report covers the packets read until then", save)
	errText := lr.errText()
	if code != exitUsage || strings.Count(errText, save) != 1 || !strings.Contains(errText, "tcpfsm: "+want+"\n") {
		t.Errorf("exit %d (want 2); stderr:\n%s\nwant one line: tcpfsm: %s", code, errText, want)
	}
	summary := streamLines(t, lr.outText())["summary"]
	if len(summary) != 1 || !slices.Contains(strs(summary[0]["warnings"]), want) || summary[0]["tcp_packets"].(float64) == 0 {
		t.Errorf("the report of what was read: %v", summary)
	}
}
