package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/capture/testenv"
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
		testenv.CannotRun(t, "script(1) (util-linux) is not installed")
	}
	path := writeSynFlood(t, 160_000) // 70 bytes a record: over 8 MB
	bin := tcpfsmBinary(t)
	onTerminal := func(args string) string {
		// Standard output goes to /dev/null unless args say otherwise;
		// what script records is the terminal.
		if !strings.Contains(args, ">") {
			args += " >/dev/null"
		}
		cmd := exec.Command(script, "-qec", bin+" -r "+path+" -j 1 "+args, "/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return string(out)
	}
	if out := onTerminal("--format json"); !strings.Contains(out, "packets/s") || !strings.Contains(out, "MB") || !strings.Contains(out, "%") {
		t.Errorf("no progress bar on a terminal:\n%q", out)
	}
	if out := onTerminal("--format json -q"); strings.Contains(out, "packets/s") {
		t.Errorf("a progress bar with -q:\n%q", out)
	}
	// Standard output on the same terminal: the bar would cut the lines
	// of a report being written, so JSON gets none; the text report,
	// written whole at the end, keeps it, and its lines come out intact.
	if out := onTerminal("--format json >/dev/tty"); strings.Contains(out, "packets/s") {
		t.Errorf("a progress bar on the terminal the JSON report is written to:\n%q", out[:min(len(out), 300)])
	}
	out := onTerminal("--format text --color never >/dev/tty")
	if !strings.Contains(out, "packets/s") {
		t.Errorf("no progress bar while the text report is held:\n%q", out[:min(len(out), 300)])
	}
	i := strings.Index(out, "Diagnoses")
	if i < 0 || strings.Contains(out[i:], "packets/s") || strings.Count(out[i:], "\n#") < 100_000 || !strings.Contains(out[i:], "Summary") {
		t.Errorf("the text report is not whole after the bar:\n%q", out[:min(len(out), 300)])
	}
	// Two files under 8 MB each, over it together: the bar counts the
	// bytes of the whole set.
	half1, half2 := writeSynFlood(t, 80_000), writeSynFlood(t, 80_000)
	set, err := exec.Command(script, "-qec", bin+" -r "+half1+" -r "+half2+" -j 1 --format json >/dev/null", "/dev/null").CombinedOutput()
	if out := string(set); err != nil || !strings.Contains(out, "packets/s") || !strings.Contains(out, "/12 MB") { // 2 × 5.6 MB, as the bar rounds it
		t.Errorf("no progress bar over the bytes of a set of two files:\n%q", out[:min(len(out), 300)])
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-r", path, "--format", "json")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Errorf("stderr not a terminal: %v, %q", err, stderr.String())
	}
}
