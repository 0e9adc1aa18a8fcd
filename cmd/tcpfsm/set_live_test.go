package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/capture/testenv"
)

// TestRotatedSetEqualsMergecap records real connections on lo with
// tcpdump rotating its file every second and every megabyte (-G 1 -C 1),
// so that connections span files, and reads the files as one capture
// (-r 'dir/*', the glob expanded by tcpfsm): the report is that of the
// same packets merged into one file by mergecap, to the byte; the long
// connections, each over several files, are each one connection, opened
// and closed.
func TestRotatedSetEqualsMergecap(t *testing.T) {
	requireCapture(t)
	for _, tool := range []string{"tcpdump", "mergecap"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.CannotRun(t, tool+" is not installed (mergecap comes with Wireshark's wireshark-common)")
		}
	}
	svc := startService(t)
	dir := t.TempDir()
	var tcpdumpErr bytes.Buffer
	// -Z root: tcpdump would otherwise open each new file as its own
	// user, who may not write here; -U writes each packet as it comes.
	cmd := exec.Command("tcpdump", "-i", "lo", "-n", "-U", "-Z", "root", "-G", "1", "-C", "1",
		"-w", filepath.Join(dir, "rot-%H%M%S.pcap"), fmt.Sprintf("tcp port %d", svc.port))
	cmd.Stderr = &tcpdumpErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(tcpdumpErr.String(), "listening on") {
		if time.Now().After(deadline) {
			t.Fatalf("tcpdump did not start: %s", tcpdumpErr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Four connections echo 16 KB every 50 ms for 2.5 s, some 12 MB
	// captured; short connections come and go beside them.
	const conns, shorts = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- echoFor(svc.port, 2500*time.Millisecond)
		}()
	}
	for range shorts {
		burst(t, svc.port, 1)
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// libpcap hands tcpdump the kernel's packets a block at a time, after
	// its 1 s timeout at the latest (later on a busy machine): wait until
	// the files hold every connection's end.
	glob := filepath.Join(dir, "rot-*")
	closed := func() (all, long int) {
		r := tcpfsm(t, nil, "-r", glob, "--format", "json")
		if r.code != exitOK {
			return 0, 0
		}
		objs := jsonLines(t, r.stdout)
		for _, o := range objs[:len(objs)-1] {
			if o["handshake"] == "complete" && o["close"] == "fin" {
				all++
				if o["packets"].(map[string]any)["client"].(float64) > 20 { // a short one has 6
					long++
				}
			}
		}
		return all, long
	}
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		all, long := closed()
		if all == conns+shorts && long == conns {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("after 20 s the files hold %d connections closed, %d long ones; want %d and %d", all, long, conns+shorts, conns)
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()

	files, _ := filepath.Glob(filepath.Join(dir, "rot-*"))
	if len(files) < 3 {
		t.Fatalf("tcpdump wrote %d files, want a rotation of several: %s", len(files), tcpdumpErr.String())
	}
	merged := filepath.Join(t.TempDir(), "merged.pcapng")
	if out, err := exec.Command("mergecap", append([]string{"-w", merged}, files...)...).CombinedOutput(); err != nil {
		t.Fatalf("mergecap: %v\n%s", err, out)
	}

	source := fmt.Sprintf("%s (%d files)", glob, len(files))
	// Loopback captures hold the odd packet stamped a microsecond or two
	// before the one ahead of it: each such warning names its file and
	// packet, so the two runs word them differently. There must be as
	// many, and nothing else.
	for _, format := range []string{"json", "text"} {
		set := tcpfsm(t, nil, "-r", glob, "--format", format, "--color", "never")
		one := tcpfsm(t, nil, "-r", merged, "--format", format, "--color", "never")
		if set.code != exitOK || one.code != exitOK {
			t.Fatalf("%s: exit %d and %d; stderr %q %q", format, set.code, one.code, set.stderr, one.stderr)
		}
		if n := strings.Count(set.stderr, "timestamp goes backwards"); n != strings.Count(set.stderr, "\n") || n != strings.Count(one.stderr, "timestamp goes backwards") {
			t.Errorf("%s: warnings differ:\n%s\nwant the like of\n%s", format, set.stderr, one.stderr)
		}
		if !strings.Contains(set.stdout, source) {
			t.Errorf("%s: the report does not name the set as %q", format, source)
		}
		got, want := strings.Replace(set.stdout, source, merged, 1), one.stdout
		if format == "json" {
			// The conn records byte for byte, the summary but for the
			// capture's name and the warnings' wording.
			conns := func(out string) string { return out[:strings.LastIndex(strings.TrimSpace(out), "\n")+1] }
			if conns(got) != conns(want) || !jsonEqual(t, withoutSource(t, got), withoutSource(t, want)) {
				t.Errorf("json: the set's report differs from mergecap's file's:\n%s\nwant\n%s", got, want)
			}
		} else if dropWarnings(got) != dropWarnings(want) {
			t.Errorf("text: the set's report differs from mergecap's file's:\n%s\nwant\n%s", got, want)
		}
	}

}

// echoFor holds a connection to the echo service for d, sending 16 KB
// every 50 ms and reading it back, then closes it.
func echoFor(port uint16, d time.Duration) error {
	c, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte{'e'}); err != nil {
		return err
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		return err
	}
	chunk := bytes.Repeat([]byte("x"), 16<<10)
	back := make([]byte, len(chunk))
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if _, err := c.Write(chunk); err != nil {
			return err
		}
		if _, err := io.ReadFull(c, back); err != nil {
			return err
		}
	}
	c.(*net.TCPConn).CloseWrite()
	_, err = io.Copy(io.Discard, c)
	return err
}
