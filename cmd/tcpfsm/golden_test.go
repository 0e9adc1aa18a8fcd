package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tcpfsm/tcpfsm/internal/golden"
	"github.com/tcpfsm/tcpfsm/report"
)

// kernelDir holds the captures recorded from the Linux kernel by
// testdata/record.sh; testdata/README.md says what each shows.
const kernelDir = "../../testdata/kernel"

// TestGoldenKernelCaptures runs tcpfsm over every kernel capture in both
// formats and compares with the golden output beside it
// (x.pcap → x.pcap.golden.jsonl, x.pcap.golden.txt). Review changes to the
// golden files like code: they are the tool's behaviour.
func TestGoldenKernelCaptures(t *testing.T) {
	captures := kernelCaptures(t)
	for _, path := range captures {
		for _, format := range []string{"json", "txt"} {
			t.Run(filepath.Base(path)+"/"+format, func(t *testing.T) {
				checkGoldenRun(t, filepath.Base(path), format, ".golden.")
			})
		}
	}
	if len(captures) < 16 {
		t.Errorf("only %d kernel captures in %s; testdata/README.md lists at least 16", len(captures), kernelDir)
	}
}

// kernelCaptures returns the paths of the captures in kernelDir, golden
// files left out.
func kernelCaptures(t *testing.T) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join(kernelDir, "*.pcap*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, path := range all {
		if !strings.Contains(filepath.Base(path), ".golden.") {
			out = append(out, path)
		}
	}
	return out
}

// checkGoldenRun runs tcpfsm on the kernel capture name in format ("json"
// or "txt", for text), with extra flags, and compares the output with the
// golden file name+suffix+extension (jsonl for JSON Lines, txt). The
// name+".golden.json" files are "tcpfsm check" snapshots (check_test.go).
func checkGoldenRun(t *testing.T, name, format, suffix string, extra ...string) {
	t.Helper()
	t.Chdir(kernelDir)
	f := format
	if f == "txt" {
		f = "text"
	}
	var out, errOut bytes.Buffer
	args := append([]string{"-r", name, "--format", f, "--color", "never"}, extra...)
	if code := run(args, nil, &out, &errOut); code != exitOK || errOut.Len() > 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	ext := format
	if format == "json" {
		ext = "jsonl"
	}
	golden.Check(t, name+suffix+ext, out.Bytes())
}

// eventCaptures are the kernel captures whose event stream (--events, as a
// live capture shows it) is kept as golden output: between them every
// event, a running census and diagnoses raised while connections are open.
var eventCaptures = []string{
	"normal-client-close.pcap", "connection-refused.pcap", "linger0-rst.pcap", "half-close.pcap",
	"simultaneous-open.pcap", "simultaneous-close.pcap", "syn-timeout.pcap", "synack-retransmit.pcap",
	"accept-overflow-noabort.pcap", "accept-overflow-abort.pcap", "diag-close-wait-leak.pcap",
	"app-icmp-unreachable.pcap",
}

// TestGoldenEvents replays kernel captures with --events, the stream a live
// capture writes, in packet time: x.pcap → x.pcap.golden.events.txt and
// x.pcap.golden.events.jsonl.
func TestGoldenEvents(t *testing.T) {
	for _, name := range eventCaptures {
		for _, format := range []string{"json", "txt"} {
			t.Run(name+"/"+format, func(t *testing.T) {
				checkGoldenRun(t, name, format, ".golden.events.", "--events", "--interval", "1s")
			})
		}
	}
}

// TestJobsGiveTheSameReport: -j N follows connections on N cores and must
// not change a byte of the report, in any format.
func TestJobsGiveTheSameReport(t *testing.T) {
	for _, path := range kernelCaptures(t) {
		for _, format := range []string{"text", "json", "zeek"} {
			var outs [3]string
			for i, jobs := range []string{"1", "2", "5"} {
				var out, errOut bytes.Buffer
				if code := run([]string{"-r", path, "-j", jobs, "--format", format, "--color", "never"}, nil, &out, &errOut); code != exitOK {
					t.Fatalf("%s -j %s: exit %d: %s", path, jobs, code, errOut.String())
				}
				outs[i] = out.String()
			}
			if outs[1] != outs[0] || outs[2] != outs[0] {
				t.Errorf("%s, %s: -j 2 or -j 5 differs from -j 1", filepath.Base(path), format)
			}
		}
	}
}

// ladderCaptures are the kernel captures whose ladder diagrams (--ladder
// all) are kept as golden output: x.pcap → x.pcap.golden.ladder.txt.
var ladderCaptures = []string{
	"simultaneous-open.pcap", "simultaneous-close.pcap", "accept-overflow-noabort.pcap", "accept-overflow-abort.pcap",
	"half-close.pcap", "connection-refused.pcap", "linger0-rst.pcap", "zero-window.pcap", "synack-retransmit.pcap",
}

func TestGoldenLadders(t *testing.T) {
	for _, name := range ladderCaptures {
		t.Run(name, func(t *testing.T) {
			checkGoldenRun(t, name, "txt", ".golden.ladder.", "--ladder", "all")
		})
	}
}

// TestLaddersFit draws every connection of every kernel capture and checks
// that each line of a ladder fits in report.LadderWidth columns.
func TestLaddersFit(t *testing.T) {
	for _, path := range kernelCaptures(t) {
		code, out, errOut := runCmd("-r", path, "--ladder", "all", "--color", "never")
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", path, code, errOut)
		}
		in := false
		drawn := 0
		for _, line := range strings.Split(out, "\n") {
			switch {
			case strings.HasPrefix(line, "       time client "):
				in = true
				drawn++
			case line == "":
				in = false
			}
			if n := utf8.RuneCountInString(line); in && n > report.LadderWidth {
				t.Errorf("%s: a ladder line of %d columns:\n%s", filepath.Base(path), n, line)
			}
		}
		if want := strings.Count(out, "\n#"); drawn != want+boolInt(strings.HasPrefix(out, "#")) {
			t.Errorf("%s: %d ladders for %d connections", filepath.Base(path), drawn, want)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestLadderSelection draws one connection by id, by endpoint, and refuses
// what cannot be drawn.
func TestLadderSelection(t *testing.T) {
	path := filepath.Join(kernelDir, "accept-overflow-noabort.pcap")
	for _, tc := range []struct {
		which string
		want  int // ladders drawn
	}{{"3", 1}, {"10.0.0.2:8080", 4}, {":8080", 4}, {"10.0.0.1", 4}, {":9999", 0}, {"all", 4}, {"99", 0}} {
		code, out, errOut := runCmd("-r", path, "--ladder", tc.which, "--color", "never")
		if got := strings.Count(out, "       time client "); code != exitOK || got != tc.want {
			t.Errorf("--ladder %s: exit %d, %d ladders, want %d; %s", tc.which, code, got, tc.want, errOut)
		}
	}
	for _, args := range [][]string{{"--ladder", "x:y"}, {"--ladder", "3", "--format", "json"}, {"--ladder", "0"}} {
		if code, _, errOut := runCmd(append([]string{"-r", path}, args...)...); code != exitUsage || !strings.Contains(errOut, "--ladder") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}
