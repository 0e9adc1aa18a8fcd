package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// sameAsLive reads the files of dir back as one capture (-r dir/) and
// checks that its connection records and its summary (but for the source
// and libpcap's counters) are the live run's.
func sameAsLive(t *testing.T, dir string, live map[string][]map[string]any) {
	t.Helper()
	replay := tcpfsm(t, nil, "-r", dir+"/", "--format", "json", "--interval", "0")
	if replay.code != exitOK {
		t.Fatalf("-r %s/: exit %d: %s", dir, replay.code, replay.stderr)
	}
	rb := streamLines(t, replay.stdout)
	if len(live["conn"]) == 0 || !jsonEqual(t, live["conn"], rb["conn"]) {
		t.Errorf("connections differ between the live run and its rotated files read back:\nlive:   %v\nreplay: %v", live["conn"], rb["conn"])
	}
	if len(live["summary"]) != 1 || len(rb["summary"]) != 1 {
		t.Fatalf("%d summaries live, %d read back", len(live["summary"]), len(rb["summary"]))
	}
	ls, rs := live["summary"][0], rb["summary"][0]
	for _, m := range []map[string]any{ls, rs} {
		// A warning names its source: the interface live, the file on
		// replay (loopback packets stamped on two CPUs may go backwards).
		if ws, ok := m["warnings"].([]any); ok {
			for i, w := range ws {
				ws[i] = regexp.MustCompile(`^[^:]*: `).ReplaceAllString(w.(string), "")
			}
		}
		delete(m, "source")
		delete(m, "capture")
	}
	if !jsonEqual(t, []map[string]any{ls}, []map[string]any{rs}) {
		t.Errorf("summaries differ:\nlive:   %v\nreplay: %v", ls, rs)
	}
}

// TestLiveRotateBySize: -C starts a new file rather than take one past
// its size, named as tcpdump names them (live.pcap, live.pcap1, …), each a
// whole capture; the set read back (-r dir/) gives the live report.
func TestLiveRotateBySize(t *testing.T) {
	requireCapture(t)
	svc := startService(t)
	dir := t.TempDir()
	const size = 10_000 // -C 0.01: some 500 packets of 50 connections fill a few files
	lr, clients := stoppedBurst(t, svc, "-w", filepath.Join(dir, "live.pcap"), "-C", "0.01")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 3 {
		t.Fatalf("%d files, want several of at most %d bytes", len(entries), size)
	}
	var names, want []string
	for i, e := range entries {
		names = append(names, e.Name())
		if i == 0 {
			want = append(want, "live.pcap")
		} else {
			want = append(want, fmt.Sprintf("live.pcap%d", i))
		}
		if fi, _ := e.Info(); fi.Size() > size {
			t.Errorf("%s: %d bytes, over -C 0.01's %d", e.Name(), fi.Size(), size)
		}
	}
	slices.Sort(want) // as ReadDir sorts: live.pcap10 before live.pcap2
	if !slices.Equal(names, want) {
		t.Errorf("files %q, want %q", names, want)
	}
	live := streamLines(t, lr.outText())
	if len(live["conn"]) != len(clients) {
		t.Errorf("%d connections live, want the %d made", len(live["conn"]), len(clients))
	}
	sameAsLive(t, dir, live)
}

// TestLiveRotateByTime: -G 1 starts a file each second of packet time,
// named through strftime; with -W 2 the capture ends by itself once the
// second file is written, exit 0 with the report, and the two files read
// back give that report.
func TestLiveRotateByTime(t *testing.T) {
	requireCapture(t)
	svc := startService(t)
	dir := t.TempDir()
	lr := startLive(t, "-w", filepath.Join(dir, "t-%Y%m%d-%H%M%S.pcap"), "-G", "1", "-W", "2",
		"-i", "lo", "--format", "json", "--interval", "0", fmt.Sprintf("tcp port %d", svc.port))
	// A connection every 100 ms until the capture ends, some 2 s on.
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-lr.done:
		default:
			if time.Now().After(deadline) {
				t.Fatalf("the capture did not end by itself after 2 files:\n%s", lr.errText())
			}
			burst(t, svc.port, 1)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		break
	}
	if code := lr.stop(t, nil); code != exitOK {
		t.Fatalf("exit %d: %s", code, lr.errText())
	}
	if !strings.Contains(lr.errText(), "tcpfsm: note: -W 2: the last file of the rotation is written") {
		t.Errorf("stderr %q: want the note that the rotation is complete", lr.errText())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`^t-\d{8}-\d{6}\.pcap$`)
	if len(entries) != 2 || !name.MatchString(entries[0].Name()) || !name.MatchString(entries[1].Name()) {
		t.Fatalf("files %v, want 2 named t-YYYYmmdd-HHMMSS.pcap", entries)
	}
	// The files began at least a second apart, their names say.
	var began [2]time.Time
	for i, e := range entries {
		began[i], err = time.ParseInLocation("t-20060102-150405.pcap", e.Name(), time.Local)
		if err != nil {
			t.Fatal(err)
		}
	}
	if d := began[1].Sub(began[0]); d < time.Second {
		t.Errorf("files %v began %v apart, want at least 1s", entries, d)
	}
	sameAsLive(t, dir, streamLines(t, lr.outText()))
}
