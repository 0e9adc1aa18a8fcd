package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProfiles(t *testing.T) {
	capture := writeFile(t, "hs.pcap", writePcap(t, handshakeFrames(t)))
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "mem.prof")
	r := tcpfsm(t, nil, "-r", capture, "--format", "json", "--cpuprofile", cpu, "--memprofile", mem)
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, name := range []string{cpu, mem} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		// pprof's format is gzip-compressed protobuf.
		if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s: %d bytes, not a gzip-compressed profile", name, len(b))
		}
	}

	r = tcpfsm(t, nil, "-r", capture, "--cpuprofile", filepath.Join(dir, "no", "such", "dir", "cpu.prof"))
	if r.code != exitUsage || !strings.Contains(r.stderr, "--cpuprofile") || r.stdout != "" {
		t.Errorf("unwritable --cpuprofile: exit %d, stdout %q, stderr %q; want exit 2 before any report", r.code, r.stdout, r.stderr)
	}
}
