package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// TestProgressOnATerminal runs tcpfsm under script(1), whose pseudo
// terminal makes stderr a terminal: reading a file over 8 MB shows the
// bar (bytes read of the size, packets/s); -q, or stderr not a terminal,
// shows none.
func TestProgressOnATerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 10 MB capture; skipped with -short")
	}
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) (util-linux) is not installed")
	}
	path := writeSynFlood(t, 160_000) // 70 bytes a record: over 8 MB
	bin := tcpfsmBinary(t)
	onTerminal := func(args string) string {
		// Standard output goes to /dev/null; what script records is
		// stderr, a terminal.
		cmd := exec.Command(script, "-qec", bin+" -r "+path+" --format json -j 1 "+args+" >/dev/null", "/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return string(out)
	}
	if out := onTerminal(""); !strings.Contains(out, "packets/s") || !strings.Contains(out, "MB") || !strings.Contains(out, "%") {
		t.Errorf("no progress bar on a terminal:\n%q", out)
	}
	if out := onTerminal("-q"); strings.Contains(out, "packets/s") {
		t.Errorf("a progress bar with -q:\n%q", out)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-r", path, "--format", "json")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Errorf("stderr not a terminal: %v, %q", err, stderr.String())
	}
}
