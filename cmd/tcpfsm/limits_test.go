package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tcpfsm/tcpfsm/capture"
	"github.com/tcpfsm/tcpfsm/flow"
)

// writeSynFlood writes a capture of n SYNs from n spoofed sources to
// 10.0.0.2:80, 10 µs apart: a flood no answer follows.
func writeSynFlood(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "flood.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := capture.NewPcapWriter(f, 1, 65535)
	if err != nil {
		t.Fatal(err)
	}
	frame := frame(t, true, true, false, false, false, 0, 0, 0) // Ethernet, IPv4, TCP SYN
	ip, tcp := frame[14:], frame[34:]
	binary.BigEndian.PutUint16(tcp[2:], 80)
	copy(ip[16:], []byte{10, 0, 0, 2})
	for i := range n {
		copy(ip[12:], []byte{100, byte(i >> 16), byte(i >> 8), byte(i)})
		binary.BigEndian.PutUint16(tcp[0:], uint16(1024+i%60000))
		binary.BigEndian.PutUint32(tcp[4:], uint32(i)*2654435761)
		if err := w.WritePacket(time.Unix(0, 1_700_000_000e9+int64(i)*10_000), frame, len(frame)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return path
}

// peakHeap runs f while sampling the live heap, with what the connection
// tables hold out of it (flow.MappedBytes), and returns the highest
// sample after a collection (HeapAlloc right after GC is the live data).
func peakHeap(f func()) uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.GC()
			runtime.ReadMemStats(&m)
			if live := m.HeapAlloc + uint64(flow.MappedBytes()); live > peak.Load() {
				peak.Store(live)
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	return peak.Load()
}

// TestFloodMemoryIsBounded feeds a flood of 300,000 spoofed SYNs through
// the whole analyser: with --max-conns 10000 the live heap stays small
// and the summary counts the evicted; without a low limit it grows with
// the flood, which shows the limit is what holds it.
//
// The heap is the process's, so the test runs itself again in a process
// of its own: in the test binary's, what other tests leave running would
// be measured too.
func TestFloodMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("a 300,000-packet flood; skipped with -short")
	}
	const alone = "TCPFSM_TEST_FLOOD_MEMORY_ALONE"
	if os.Getenv(alone) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFloodMemoryIsBounded$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), alone+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestFloodMemoryIsBounded") {
			t.Fatalf("in a process of its own: %v\n%s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, "live heap:") {
				t.Log(strings.TrimSpace(line))
			}
		}
		return
	}
	const n = 300_000
	path := writeSynFlood(t, n)
	analyse := func(maxConns int, more ...string) (summary map[string]any, peak uint64) {
		var last string
		peak = peakHeap(func() {
			pr, pw := io.Pipe()
			go func() {
				run(append([]string{"-r", path, "--format", "json", "-j", "1", "--max-conns", strconv.Itoa(maxConns)}, more...), nil, pw, io.Discard)
				pw.Close()
			}()
			sc := bufio.NewScanner(pr)
			sc.Buffer(nil, 64<<20) // the summary lists up to 16,384 hosts
			for sc.Scan() {
				last = sc.Text()
			}
			if err := sc.Err(); err != nil {
				io.Copy(io.Discard, pr)
				t.Errorf("reading the report: %v", err)
			}
		})
		if err := json.Unmarshal([]byte(last), &summary); err != nil || summary["type"] != "summary" {
			t.Fatalf("last line %q: %v", last, err)
		}
		return summary, peak
	}

	bounded, peakBounded := analyse(10_000)
	if bounded["connections"] != float64(n) || bounded["evicted"] != float64(n-10_000) {
		t.Errorf("bounded run: %v connections, %v evicted; want %d and %d", bounded["connections"], bounded["evicted"], n, n-10_000)
	}
	// Generous: 10,000 connections need about 2 MB, and the report's
	// own bounded tables (diagnosis aggregates and census hosts, 16,384
	// each) fill up with a flood's sources to some 10 MB.
	const bound = 96 << 20
	if peakBounded > bound {
		t.Errorf("with --max-conns 10000 the live heap reached %d MiB, over %d MiB", peakBounded>>20, bound>>20)
	}
	// The HTML report holds its rows in a temporary file, not in memory:
	// it follows every connection's packets for its ladder, which costs
	// per connection followed, so the limit bounds it too.
	html := filepath.Join(t.TempDir(), "flood.html")
	_, peakHTML := analyse(10_000, "--html", html)
	if peakHTML > bound {
		t.Errorf("with --max-conns 10000 and --html the live heap reached %d MiB, over %d MiB", peakHTML>>20, bound>>20)
	}
	if fi, err := os.Stat(html); err != nil || fi.Size() < n*20 {
		t.Errorf("the HTML report of %d connections: %v, %v", n, fi, err)
	}
	_, peakUnbounded := analyse(10 * n)
	if saved := int64(peakUnbounded) - int64(peakBounded); saved < (n-10_000)*100 {
		t.Errorf("live heap %d MiB without the limit, %d MiB with it: under 100 bytes saved per evicted connection", peakUnbounded>>20, peakBounded>>20)
	}
	t.Logf("live heap: %.1f MiB with --max-conns 10000, %.1f MiB with --html too, %.1f MiB without the limit",
		float64(peakBounded)/(1<<20), float64(peakHTML)/(1<<20), float64(peakUnbounded)/(1<<20))
}

// TestCheckMemoryIsBounded: tcpfsm check holds no more of a capture's
// analysis than the plain analyser does. On floods of n and 4n SYNs it
// writes each snapshot (--update), then compares the capture with it and
// checks rules over it, and measures the live heap against that of -r on
// the same flood: what check holds beyond the analysis must not grow with
// the connections the snapshots hold. Before check read the analysis as it
// was written, it held every connection as decoded JSON, and the snapshot
// twice over: some kilobytes a connection (827 MiB at 100,000 SYNs).
//
// In a process of its own, as TestFloodMemoryIsBounded is.
func TestCheckMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("floods of 25,000 and 100,000 SYNs; skipped with -short")
	}
	const alone = "TCPFSM_TEST_CHECK_MEMORY_ALONE"
	if os.Getenv(alone) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCheckMemoryIsBounded$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), alone+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestCheckMemoryIsBounded") {
			t.Fatalf("in a process of its own: %v\n%s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, "live heap") {
				t.Log(strings.TrimSpace(line))
			}
		}
		return
	}
	const n = 25_000
	rules := filepath.Join(t.TempDir(), "flood.expect")
	if err := os.WriteFile(rules, []byte("at least 1 connection\nevery connection to :80 has client_packets >= 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	modes := []string{"-r", "check --update", "check"}
	peaks := map[string]map[int]uint64{}
	for _, m := range modes {
		peaks[m] = map[int]uint64{}
	}
	for _, conns := range []int{n, 4 * n} {
		path := writeSynFlood(t, conns)
		for _, mode := range modes {
			var out, errOut strings.Builder
			code := -1
			switch mode {
			case "-r":
				peaks[mode][conns] = peakHeap(func() {
					code = run([]string{"-r", path, "--format", "json", "-j", "1", "--max-conns", "10000"}, nil, io.Discard, &errOut)
				})
				if code != exitOK {
					t.Fatalf("-r of %d SYNs: exit %d: %s", conns, code, errOut.String())
				}
				continue
			case "check --update":
				peaks[mode][conns] = peakHeap(func() {
					code = runCheck([]string{"--update", "-j", "1", "--max-conns", "10000", "--expect", rules, path}, nil, &out, &errOut)
				})
				if want := fmt.Sprintf("(%d connections)", conns); !strings.Contains(errOut.String(), want) {
					t.Errorf("%s of %d SYNs: %q, want it to say %s", mode, conns, errOut.String(), want)
				}
			case "check":
				peaks[mode][conns] = peakHeap(func() {
					code = runCheck([]string{"-j", "1", "--max-conns", "10000", "--expect", rules, path}, nil, &out, &errOut)
				})
			}
			if code != exitOK || !strings.Contains(out.String(), " 0 failed") {
				t.Fatalf("%s of %d SYNs: exit %d\n%s%s", mode, conns, code, out.String(), errOut.String())
			}
		}
	}
	// Generous: what check adds to the analysis (a pipe, a line, a
	// record, buffers) is the same at n and 4n; the 3n connections more
	// would cost kilobytes each if held.
	const growth = 32 << 20
	analysisGrowth := int64(peaks["-r"][4*n]) - int64(peaks["-r"][n])
	for _, mode := range modes[1:] {
		small, big := peaks[mode][n], peaks[mode][4*n]
		if int64(big)-int64(small) > analysisGrowth+growth {
			t.Errorf("%s: the live heap grew from %d MiB at %d SYNs to %d MiB at %d, -r's by %d MiB: over %d MiB more",
				mode, small>>20, n, big>>20, 4*n, analysisGrowth>>20, growth>>20)
		}
	}
	for _, mode := range modes {
		t.Logf("%s: live heap %.1f MiB at %d SYNs, %.1f MiB at %d", mode, float64(peaks[mode][n])/(1<<20), n, float64(peaks[mode][4*n])/(1<<20), 4*n)
	}
}
