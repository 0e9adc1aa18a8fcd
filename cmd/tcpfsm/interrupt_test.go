package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The interrupt tests run the tcpfsm binary on a FIFO whose writer sends a
// capture and then stalls, holding the FIFO open: the reading can end
// only by a signal.

// stalledFIFO makes a FIFO in dir that, once opened, receives data and
// then nothing more until the test ends. drained is closed once the
// reader has taken all of data out of the FIFO.
func stalledFIFO(t *testing.T, dir string, data []byte) (path string, drained <-chan struct{}) {
	t.Helper()
	path = filepath.Join(dir, "stalled.pcap")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	release, empty := make(chan struct{}), make(chan struct{})
	go func() {
		w, err := os.OpenFile(path, os.O_WRONLY, 0) // waits for the reader
		if err != nil {
			return
		}
		defer w.Close()
		w.Write(data)
		for {
			// FIONREAD: the bytes in the pipe not read yet.
			n, err := unix.IoctlGetInt(int(w.Fd()), unix.TIOCINQ) // FIONREAD
			if err != nil || n == 0 {
				close(empty)
				break
			}
			select {
			case <-release:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
		<-release
	}()
	t.Cleanup(func() {
		close(release)
		// Unblock the writer's open if nothing ever read the FIFO.
		if r, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			r.Close()
		}
	})
	return path, empty
}

// interruptRun is the binary started on a stalled FIFO.
type interruptRun struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
}

func startInterruptRun(t *testing.T, dir string, args ...string) *interruptRun {
	t.Helper()
	r := &interruptRun{cmd: exec.Command(tcpfsmBinary(t), args...), done: make(chan struct{})}
	r.cmd.Dir = dir
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() { r.cmd.Process.Kill(); <-r.done })
	return r
}

// waitRead waits until the run has taken everything from the FIFO, and
// half a second more to analyse it: it is then stalled, waiting for more.
func (r *interruptRun) waitRead(t *testing.T, drained <-chan struct{}) {
	t.Helper()
	select {
	case <-drained:
		// The FIFO is empty once read into tcpfsm's buffers; the packets
		// are analysed moments later, more on a loaded machine.
		time.Sleep(500 * time.Millisecond)
	case <-r.done:
		t.Fatalf("tcpfsm ended before reading the FIFO: %s", r.stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("tcpfsm did not read the FIFO in 10 s")
	}
}

// signal sends sig and waits for the exit, returning its status. A run
// that ignores the signal fails the test rather than hang it.
func (r *interruptRun) signal(t *testing.T, sig os.Signal) int {
	t.Helper()
	if err := r.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("tcpfsm reading a stalled FIFO did not end 10 s after %v", sig)
	}
	return r.cmd.ProcessState.ExitCode()
}

// TestInterruptedReadSaysIncomplete: SIGINT or SIGTERM while -r waits on
// a FIFO ends the read at once; the report of what was read is written and
// says it is incomplete in every format (Zeek's log has no #close line),
// and the exit status is 128 plus the signal.
func TestInterruptedReadSaysIncomplete(t *testing.T) {
	capture := writePcap(t, append(handshakeFrames(t), frame(t, true, true, false, false, false, 5000, 0, 0)))
	tests := []struct {
		sig    syscall.Signal
		code   int
		format string
		check  func(out, html string) bool
	}{
		{syscall.SIGINT, 130, "text", func(out, _ string) bool {
			return strings.Contains(out, "connections  2") && strings.Contains(out, "warning: stalled.pcap: interrupted by SIGINT after 8 packets")
		}},
		{syscall.SIGTERM, 143, "text", func(out, _ string) bool {
			return strings.Contains(out, "warning: stalled.pcap: interrupted by SIGTERM after 8 packets")
		}},
		{syscall.SIGINT, 130, "json", func(out, _ string) bool {
			return strings.Contains(out, `"incomplete":true`) && strings.Contains(out, `"warnings":["stalled.pcap: interrupted by SIGINT after 8 packets`) &&
				strings.Count(out, `"type":"conn"`) == 2
		}},
		{syscall.SIGINT, 130, "zeek", func(out, _ string) bool {
			return strings.Count(out, "\ttcp\t") == 2 && strings.Contains(out, "#open") && !strings.Contains(out, "#close")
		}},
		{syscall.SIGINT, 130, "html", func(_, html string) bool {
			return strings.Contains(html, "interrupted by SIGINT after 8 packets")
		}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%v", tc.format, tc.sig), func(t *testing.T) {
			dir := t.TempDir()
			fifo, drained := stalledFIFO(t, dir, capture)
			args := []string{"-r", filepath.Base(fifo), "--color", "never"}
			if tc.format == "html" {
				args = append(args, "--html", "report.html")
			} else {
				args = append(args, "--format", tc.format)
			}
			r := startInterruptRun(t, dir, args...)
			r.waitRead(t, drained)
			code := r.signal(t, tc.sig)
			html, _ := os.ReadFile(filepath.Join(dir, "report.html"))
			if code != tc.code || !tc.check(r.stdout.String(), string(html)) {
				t.Errorf("exit %d (want %d); stdout:\n%s\nstderr:\n%s", code, tc.code, r.stdout.String(), r.stderr.String())
			}
			want := fmt.Sprintf("tcpfsm: warning: stalled.pcap: interrupted by %s after 8 packets: the rest of the capture is not in the report\n",
				map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[tc.sig])
			if r.stderr.String() != want {
				t.Errorf("stderr %q, want %q", r.stderr.String(), want)
			}
		})
	}
}

// TestInterruptedCheckWritesNoSnapshot: check --update interrupted while
// it reads a capture writes no snapshot of it, leaves the old one as it
// was, and stops there: the captures after it are not read.
func TestInterruptedCheckWritesNoSnapshot(t *testing.T) {
	capture := writePcap(t, handshakeFrames(t))
	dir := t.TempDir()
	fifo, drained := stalledFIFO(t, dir, capture)
	const old = "an older snapshot\n"
	if err := os.WriteFile(fifo+".golden.json", []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "next.pcap"), capture, 0o644); err != nil {
		t.Fatal(err)
	}
	r := startInterruptRun(t, dir, "check", "--update", "stalled.pcap", "next.pcap")
	r.waitRead(t, drained)
	code := r.signal(t, syscall.SIGINT)
	if code != 130 || !strings.HasSuffix(r.stderr.String(), "tcpfsm: interrupted by SIGINT: stalled.pcap not checked, 1 more capture not read; no snapshot of it written\n") {
		t.Errorf("exit %d (want 130); stderr:\n%s", code, r.stderr.String())
	}
	if b, err := os.ReadFile(fifo + ".golden.json"); err != nil || string(b) != old {
		t.Errorf("the old snapshot became %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "next.pcap.golden.json")); err == nil {
		t.Error("the capture after the interrupted one was checked")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left: %q", left)
	}

	// Comparing the last capture: nothing more to read, nothing to write.
	fifo, drained = stalledFIFO(t, t.TempDir(), capture)
	if err := os.WriteFile(fifo+".expect", []byte("at least 1 connection\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = startInterruptRun(t, filepath.Dir(fifo), "check", "stalled.pcap")
	r.waitRead(t, drained)
	if code, want := r.signal(t, syscall.SIGTERM), "tcpfsm: interrupted by SIGTERM: stalled.pcap not checked\n"; code != 143 || !strings.HasSuffix(r.stderr.String(), want) {
		t.Errorf("exit %d (want 143); stderr:\n%s\nwant it to end %q", code, r.stderr.String(), want)
	}
}

// TestKilledHTMLKeepsTheOldReport: --html writes beside the old report and
// replaces it only once complete, so a run killed while reading leaves the
// old report whole; a run that completes replaces it.
func TestKilledHTMLKeepsTheOldReport(t *testing.T) {
	capture := writePcap(t, handshakeFrames(t))
	dir := t.TempDir()
	_, drained := stalledFIFO(t, dir, capture)
	report := filepath.Join(dir, "report.html")
	const old = "<p>the report of yesterday</p>\n"
	if err := os.WriteFile(report, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	r := startInterruptRun(t, dir, "-r", "stalled.pcap", "--html", "report.html")
	r.waitRead(t, drained)
	r.signal(t, syscall.SIGKILL)
	if b, err := os.ReadFile(report); err != nil || string(b) != old {
		t.Fatalf("after the run was killed the report holds %d bytes (%v), not the old one", len(b), err)
	}

	// A complete run replaces the file, not what another link to it names.
	if err := os.Link(report, filepath.Join(dir, "yesterday.html")); err != nil {
		t.Fatal(err)
	}
	res := tcpfsm(t, nil, "-r", writeFile(t, "x.pcap", capture), "--html", report)
	html, _ := os.ReadFile(report)
	kept, _ := os.ReadFile(filepath.Join(dir, "yesterday.html"))
	if res.code != exitOK || !strings.Contains(string(html), "<html") || string(kept) != old {
		t.Errorf("exit %d, stderr %q; the report holds %d bytes, its old link %q", res.code, res.stderr, len(html), kept)
	}
}

// TestPipeReaderKeptThroughCtrlC: Ctrl-C in a terminal signals the whole
// pipeline; the README's form, a reader that ignores SIGINT, still gets
// tcpfsm's last records and summary, which tcpfsm writes on the signal,
// where a plain reader dies with the pipeline and gets none of them (what
// the README warns of). Run as a terminal runs it: the shell is the session
// leader of a pseudo-terminal, and Ctrl-C is typed on it, so the terminal
// sends SIGINT to the pipeline's process group.
func TestPipeReaderKeptThroughCtrlC(t *testing.T) {
	capture := writePcap(t, append(handshakeFrames(t), frame(t, true, true, false, false, false, 5000, 0, 0)))
	tests := []struct {
		name   string
		reader string // cat stands in for jq
		kept   bool   // the reader gets the records and the summary
	}{
		{"the README's form", "(trap '' INT; cat > out.jsonl)", true},
		{"a plain reader", "cat > out.jsonl", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fifo, drained := stalledFIFO(t, dir, capture)
			script := fmt.Sprintf(`%q -r %q --format json | %s`, tcpfsmBinary(t), filepath.Base(fifo), tc.reader)
			terminal, screen, done := startOnTerminal(t, dir, script)
			select {
			case <-drained:
				time.Sleep(500 * time.Millisecond)
			case <-time.After(10 * time.Second):
				t.Fatal("tcpfsm did not read the FIFO in 10 s")
			}
			if _, err := terminal.Write([]byte{0x03}); err != nil { // Ctrl-C
				t.Fatal(err)
			}
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the pipeline did not end 10 s after Ctrl-C")
			}
			out, err := os.ReadFile(filepath.Join(dir, "out.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			n := strings.Count(string(out), `"type":"conn"`)
			kept := n == 2 && strings.Contains(string(out), `"type":"summary"`) && strings.Contains(string(out), `"incomplete":true`)
			if kept != tc.kept || !tc.kept && n != 0 {
				t.Errorf("the reader got %d connections and the summary %v, want it %v:\n%s\nterminal: %q", n, kept, tc.kept, out, screen())
			}
		})
	}
}

// startOnTerminal runs script with bash as the session leader of a new
// pseudo-terminal, its standard input, output and error. It returns the
// terminal's master side, to type on, what was written to the terminal so
// far, and a channel closed when bash has ended.
func startOnTerminal(t *testing.T, dir, script string) (master *os.File, screen func() string, done <-chan struct{}) {
	t.Helper()
	master, slave := openPTY(t)
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	// A session of its own with the terminal as its controlling terminal
	// (descriptor 0): bash's process group, which the pipeline stays in
	// (no job control), is the terminal's foreground group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var mu sync.Mutex
	var written bytes.Buffer
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			mu.Lock()
			written.Write(b[:n])
			mu.Unlock()
			if err != nil {
				return // EIO once every process holding the terminal has ended
			}
		}
	}()
	ended := make(chan struct{})
	go func() { cmd.Wait(); close(ended) }()
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); <-ended })
	return master, func() string { mu.Lock(); defer mu.Unlock(); return written.String() }, ended
}

// TestRecordWrittenAsItEnds: with --events (the default of -i), each
// connection's record reaches standard output as the connection ends, not
// when the report does, so that a reader of a pipe has it even if it dies
// with a Ctrl-C. The first connection closes and leaves the table when a
// new SYN comes 10 s later (past the close delay); the reading then
// stalls, and the record must already be in the output file: the SYN,
// the last packet that came, is analysed without waiting for another.
func TestRecordWrittenAsItEnds(t *testing.T) {
	syn := frame(t, true, true, false, false, false, 7000, 0, 0)
	frames := append(handshakeFrames(t), syn)
	times := []time.Duration{0, 1, 2, 3, 4, 5, 6, 10_000}
	for i := range times {
		times[i] *= time.Millisecond
	}
	capture := writePcap(t, frames, times...)
	for _, tc := range []struct {
		format string
		record string // what begins the first connection's record
	}{
		{"json", `{"type":"conn","id":1,`},
		{"text", "#1 10.0.0.1:40000 → 10.0.0.2:9502  22:13:20.000000  0.006000s\n"}, // not an event's line
	} {
		t.Run(tc.format, func(t *testing.T) {
			dir := t.TempDir()
			fifo, drained := stalledFIFO(t, dir, capture)
			outPath := filepath.Join(dir, "out")
			out, err := os.Create(outPath)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			cmd := exec.Command(tcpfsmBinary(t), "-r", fifo, "--events", "--format", tc.format, "--color", "never")
			cmd.Stdout = out
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			ended := make(chan struct{})
			go func() { cmd.Wait(); close(ended) }()
			t.Cleanup(func() { cmd.Process.Kill(); <-ended })
			select {
			case <-drained:
			case <-time.After(10 * time.Second):
				t.Fatal("tcpfsm did not read the FIFO in 10 s")
			}
			// The record is written moments after the FIFO is read: poll.
			var written []byte
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if written, err = os.ReadFile(outPath); err != nil || bytes.Contains(written, []byte(tc.record)) {
					break
				}
			}
			select {
			case <-ended:
				t.Fatalf("tcpfsm ended before its input did: %s", stderr.String())
			default:
			}
			if !bytes.Contains(written, []byte(tc.record)) {
				t.Errorf("while the read is stalled, the output has no record of the connection that ended (%q):\n%s", tc.record, written)
			}
			if bytes.Contains(written, []byte("Summary")) || bytes.Contains(written, []byte(`"type":"summary"`)) {
				t.Errorf("a summary before the end:\n%s", written)
			}
		})
	}
}

// TestIgnoredSIGINTStaysIgnored: a run started with SIGINT ignored (as a
// shell without job control starts a background job) is not stopped by
// one, which the terminal's Ctrl-C meant for the job in the foreground:
// it reads the capture to its end and reports it whole.
func TestIgnoredSIGINTStaysIgnored(t *testing.T) {
	capture := writePcap(t, append(handshakeFrames(t), frame(t, true, true, false, false, false, 5000, 0, 0)))
	dir := t.TempDir()
	fifo := filepath.Join(dir, "stalled.pcap")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	half := len(capture) / 2
	rest := make(chan struct{})
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer w.Close()
		w.Write(capture[:half])
		<-rest
		w.Write(capture[half:])
	}()
	cmd := exec.Command("sh", "-c", `trap '' INT; exec "$0" "$@"`, tcpfsmBinary(t), "-r", "stalled.pcap", "--format", "json")
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	time.Sleep(500 * time.Millisecond) // reading, then waiting for the rest
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		t.Fatalf("SIGINT ended a run that was started with it ignored: exit %d, stderr %q", cmd.ProcessState.ExitCode(), stderr.String())
	case <-time.After(500 * time.Millisecond):
	}
	close(rest)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("tcpfsm did not end 10 s after the capture did")
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 || stderr.Len() != 0 || strings.Count(stdout.String(), `"type":"conn"`) != 2 {
		t.Errorf("exit %d; stdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
}
