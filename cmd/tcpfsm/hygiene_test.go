package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestDropPrivileges captures live with -Z nobody: once the capture is
// open the process runs as nobody, with nobody's groups only, still
// captures, and the -w file it writes belongs to nobody.
func TestDropPrivileges(t *testing.T) {
	requireCapture(t)
	svc := startService(t)
	save := filepath.Join(t.TempDir(), "session.pcap")
	r := startLive(t, "-i", "lo", "-Z", "nobody", "-w", save, "--format", "json", "--interval", "0",
		fmt.Sprintf("tcp port %d", svc.port))

	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, line := range strings.Split(string(status), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && (k == "Uid" || k == "Gid" || k == "Groups") {
			ids[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	if ids["Uid"] != "65534 65534 65534 65534" || ids["Gid"] != "65534 65534 65534 65534" || ids["Groups"] != "65534" {
		t.Errorf("after -Z nobody: %v, want uid, gid and groups 65534", ids)
	}

	c, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", svc.port))
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte{'e'})
	bufio.NewReader(c).ReadByte()
	c.Close()
	r.waitFor(t, "the connection's events", func(out string) bool { return strings.Count(out, `"event":"closed"`) > 0 })
	if code := r.stop(t, os.Interrupt); code != exitOK {
		t.Fatalf("exit %d: %s", code, r.errText())
	}
	if !strings.Contains(r.outText(), `"handshake":"complete"`) {
		t.Errorf("the connection is not in the report:\n%s", r.outText())
	}
	fi, err := os.Stat(save)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 || st.Gid != 65534 || fi.Size() <= 24 {
		t.Errorf("-w file owned by %d:%d with %d bytes, want nobody's, with packets", st.Uid, st.Gid, fi.Size())
	}
}

func TestDropPrivilegesUnknownUser(t *testing.T) {
	code, out, errOut := runCmd("-r", filepath.Join(kernelDir, "close-wait.pcap"), "-Z", "no-such-user-here")
	if code != exitUsage || out != "" || errOut != "tcpfsm: -Z no-such-user-here: no such user\nRun 'tcpfsm --help' for usage.\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestSIGPIPEIsSilent: "tcpfsm ... | head -1" ends tcpfsm by SIGPIPE,
// as with any Unix filter, without a word on stderr.
func TestSIGPIPEIsSilent(t *testing.T) {
	cmd := exec.Command(tcpfsmBinary(t), "-r", filepath.Join(kernelDir, "diag-busy-normal.pcap"), "--format", "json")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, `{"type":"conn"`) {
		t.Fatalf("first line %q, %v", line, err)
	}
	stdout.Close() // as head does after its line
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !exit.Sys().(syscall.WaitStatus).Signaled() || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGPIPE {
		t.Errorf("ended with %v, want SIGPIPE (the output is over 64 KiB, more than a pipe holds)", err)
	}
	if stderr.Len() > 0 {
		t.Errorf("stderr: %q", stderr.String())
	}
}
