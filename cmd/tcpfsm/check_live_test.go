package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/capture/testenv"
)

// TestCheckARecordedIntegrationTest does what the README's CI example
// does: tcpdump records real connections to a service on the loopback
// interface, then "tcpfsm check" holds the capture to rules.
func TestCheckARecordedIntegrationTest(t *testing.T) {
	requireCapture(t)
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		testenv.CannotRun(t, "tcpdump is not installed (.ci/setup installs it)")
	}
	svc := startService(t)
	closed := closedPort(t)
	dir := t.TempDir()
	pcap := filepath.Join(dir, "integration.pcap")

	// Headers only (-s): a ring of 256 KiB frames, the default for
	// loopback's MTU, holds a handful of packets and drops the rest.
	rec := exec.Command(tcpdump, "-i", "lo", "--immediate-mode", "-s", "256", "-U", "-n", "-w", pcap,
		fmt.Sprintf("tcp port %d or tcp port %d", svc.port, closed))
	stderr, err := rec.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan struct{})
	var tail []string
	stderrDone := make(chan struct{})
	go func() {
		defer close(stderrDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			tail = append(tail, sc.Text())
			if strings.Contains(sc.Text(), "listening on") {
				close(listening)
			}
		}
	}()
	select {
	case <-listening:
	case <-time.After(10 * time.Second):
		rec.Process.Kill()
		t.Fatal("tcpdump did not start listening")
	}
	driveClients(t, svc.port, closed)
	time.Sleep(200 * time.Millisecond) // the last FIN/ACKs
	rec.Process.Signal(syscall.SIGINT)
	<-stderrDone
	if err := rec.Wait(); err != nil {
		t.Fatalf("tcpdump: %v", err)
	}
	if said := strings.Join(tail, "; "); !strings.Contains(said, " 0 packets dropped by kernel") {
		t.Fatalf("tcpdump lost packets: %s", said)
	}

	rules := filepath.Join(dir, "integration.expect")
	writeRules := func(text string) {
		if err := os.WriteFile(rules, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	checkRun := func() (int, string) {
		cmd := exec.Command(tcpfsmBinary(t), "check", "--expect", rules, pcap)
		out, err := cmd.CombinedOutput()
		if _, isExit := err.(*exec.ExitError); err != nil && !isExit {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), string(out)
	}

	writeRules(fmt.Sprintf(`# what driveClients does: three connections to the service, one refused
every connection to :%d completes its handshake
connections to :%d == 3
connections to :%d == 1
handshakes.refused == 1
closes.rst_client == 1
no accept_queue_overflow
no syn_flood
synack_retransmits == 0
handshake_rtt p99 < 1s
`, svc.port, svc.port, closed))
	if code, out := checkRun(); code != exitOK || !strings.HasSuffix(out, "9 passed, 0 failed\n") {
		b, _ := exec.Command(tcpfsmBinary(t), "-r", pcap).CombinedOutput()
		t.Logf("the capture:\n%s", b)
		t.Fatalf("exit %d, want 0:\n%s", code, out)
	}

	writeRules("every connection completes its handshake\nat least 100 connections\n")
	code, out := checkRun()
	want := fmt.Sprintf("integration.expect:1: every connection completes its handshake: 1 of 4 connections do not: connection 2 (127.0.0.1:")
	if code != exitCheck || !strings.Contains(out, want) || !strings.Contains(out, fmt.Sprintf("-> 127.0.0.1:%d) has handshake refused", closed)) ||
		!strings.Contains(out, "integration.expect:2: at least 100 connections: 4 connections") || !strings.HasSuffix(out, "0 passed, 2 failed\n") {
		t.Errorf("exit %d, want 1; output:\n%s", code, out)
	}
}
