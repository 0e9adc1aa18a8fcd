package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkEndToEnd times the built command on captures made by tcpgen,
// each against bench/limitref (gopacket's decode-only loop) on the same
// file in the same iteration, since these machines are shared and their
// speed varies from minute to minute: the figures to compare across runs
// are the ratios. It builds tcpfsm, tcpgen and limitref, so it takes a
// while the first time:
//
//	go test -run XXX -bench EndToEnd -benchtime 3x ./cmd/tcpfsm
//
// Each sub-benchmark reports, in CPU time (user + system) of a process
// pinned to one CPU: ns/pkt for tcpfsm -j 1 --format json and for
// limitref, %limitref (tcpfsm's packets/s as a percentage of limitref's),
// and tcpfsm's peak RSS in MiB when GNU time is installed to read it
// (apt-get install time). The captures are those of bench/run.sh, smaller: big (many
// connections, 10,000 at once), snap96 (the same cut to 96 bytes a frame)
// and wide (50,000 at once).
func BenchmarkEndToEnd(b *testing.B) {
	dir := b.TempDir()
	bin := func(name, pkg string) string {
		out := filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = "../.."
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("go build %s: %v\n%s", pkg, err, msg)
		}
		return out
	}
	tcpfsmBin, tcpgenBin, limitrefBin := bin("tcpfsm", "./cmd/tcpfsm"), bin("tcpgen", "./cmd/tcpgen"), bin("limitref", "./bench/limitref")
	captures := []struct {
		name  string
		conns int
		args  []string
	}{
		{"big", 60_000, []string{"-concurrent", "10000"}},
		{"snap96", 60_000, []string{"-concurrent", "10000", "-snaplen", "96"}},
		{"wide", 60_000, []string{"-concurrent", "50000"}},
	}
	for _, c := range captures {
		b.Run(c.name, func(b *testing.B) {
			path := filepath.Join(dir, c.name+".pcap")
			if _, err := os.Stat(path); err != nil {
				args := append([]string{"-o", path, "-seed", "1", "-q", "-conns", fmt.Sprint(c.conns)}, c.args...)
				if msg, err := exec.Command(tcpgenBin, args...).CombinedOutput(); err != nil {
					b.Fatalf("tcpgen: %v\n%s", err, msg)
				}
			}
			packets := countPackets(b, path)
			var ours, ref time.Duration
			var peak int64
			for range b.N {
				ref += cpuTime(b, limitrefBin, path)
				t, rss := cpuTimeRSS(b, tcpfsmBin, "-r", path, "-j", "1", "--format", "json", "-q")
				ours += t
				peak = max(peak, rss)
			}
			n := float64(b.N * packets)
			b.ReportMetric(float64(ours.Nanoseconds())/n, "ns/pkt")
			b.ReportMetric(float64(ref.Nanoseconds())/n, "limitref-ns/pkt")
			b.ReportMetric(100*float64(ref)/float64(ours), "%limitref")
			if peak > 0 {
				b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
			}
		})
	}
}

// countPackets counts the records of a classic pcap with tcpfsm's own
// reader's view of it: limitref prints the count.
func countPackets(b *testing.B, path string) int {
	b.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var n int
	hdr := make([]byte, 16)
	for off := int64(24); off < fi.Size(); n++ {
		if _, err := f.ReadAt(hdr, off); err != nil {
			b.Fatal(err)
		}
		capLen := int64(hdr[8]) | int64(hdr[9])<<8 | int64(hdr[10])<<16 | int64(hdr[11])<<24
		off += 16 + capLen
	}
	return n
}

func cpuTime(b *testing.B, name string, args ...string) time.Duration {
	t, _ := cpuTimeRSS(b, name, args...)
	return t
}

// cpuTimeRSS runs a command pinned to CPU 0, output discarded, and returns
// its CPU time and, when GNU time is installed, its peak RSS in bytes (else
// 0). The peak is GNU time's reading of its own child: the rusage of a
// child of this process would count this process's memory too, since Go
// starts a child in the parent's address space (vfork), whose high-water
// mark Linux carries across the exec.
func cpuTimeRSS(b *testing.B, name string, args ...string) (time.Duration, int64) {
	b.Helper()
	argv := append([]string{"taskset", "-c", "0", name}, args...)
	gnuTime := false
	if out, err := exec.Command("/usr/bin/time", "--version").CombinedOutput(); err == nil && strings.Contains(string(out), "GNU") {
		argv, gnuTime = append([]string{"/usr/bin/time", "-f", "maxrss %M"}, argv...), true
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	var rss int64
	if gnuTime {
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if _, err := fmt.Sscanf(lines[len(lines)-1], "maxrss %d", &rss); err != nil {
			b.Fatalf("GNU time said %q", stderr.String())
		}
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), rss << 10
}
