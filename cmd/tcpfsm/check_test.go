package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/internal/golden"
)

// TestCheckKernelSnapshots runs "tcpfsm check" over every kernel capture
// against its snapshot (x.pcap.golden.json); go test -update rewrites
// them with "tcpfsm check --update".
func TestCheckKernelSnapshots(t *testing.T) {
	t.Chdir(kernelDir)
	var names []string
	for _, p := range kernelCaptures(t) {
		names = append(names, filepath.Base(p))
	}
	if golden.Updating() {
		if code, out, errOut := runCmd(append([]string{"check", "--update"}, names...)...); code != exitOK {
			t.Fatalf("check --update: exit %d\n%s%s", code, out, errOut)
		}
	}
	code, out, errOut := runCmd(append([]string{"check"}, names...)...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if want := "48 passed, 0 failed\n"; len(names) != 48 || out != want {
		t.Errorf("%d captures; output %q, want %q", len(names), out, want)
	}
}

// runCmd runs tcpfsm with args and returns its exit code and output.
func runCmd(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, nil, &out, &errOut)
	return code, out.String(), errOut.String()
}

// scratch copies kernel captures (and their snapshots, with snapshots)
// into a temporary directory, which becomes the working directory.
func scratch(t *testing.T, snapshots bool, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		files := []string{n}
		if snapshots {
			files = append(files, n+".golden.json")
		}
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(kernelDir, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Chdir(dir)
	return dir
}

// writeHere writes a file in the working directory.
func writeHere(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCheckNamesTheDifference edits a snapshot the way a behaviour change
// would show and checks the diff names the capture, connection and field.
func TestCheckNamesTheDifference(t *testing.T) {
	const name = "accept-overflow-noabort.pcap"
	scratch(t, true, name)
	b, err := os.ReadFile(name + ".golden.json")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), `"server_state": "SYN_RCVD"`, `"server_state": "ESTABLISHED"`, 1)
	s = strings.Replace(s, `"evicted": 0`, `"evicted": 2`, 1)
	writeHere(t, name+".golden.json", s)

	code, out, _ := runCmd("check", "--color", "never", name)
	if code != exitCheck {
		t.Fatalf("exit %d, want %d\n%s", code, exitCheck, out)
	}
	want := "FAIL accept-overflow-noabort.pcap: snapshot accept-overflow-noabort.pcap.golden.json: connection 3 (10.0.0.1:55784 -> 10.0.0.2:8080): server_state: want \"ESTABLISHED\", got \"SYN_RCVD\"\n" +
		"FAIL accept-overflow-noabort.pcap: snapshot accept-overflow-noabort.pcap.golden.json: summary: evicted: want 2, got 0\n" +
		"0 passed, 1 failed\n"
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
}

// TestCheckDifferencesLayout edits snapshots as a change of behaviour
// would and checks how the differences are laid out: the connections'
// first, then the summary's; the cap counts connections, so a changed
// connection is listed whatever the summary's lines; a long value (a
// port scan's listeners, 13,000 characters on one line) is shortened to
// the part that differs.
func TestCheckDifferencesLayout(t *testing.T) {
	const (
		overflow = "accept-overflow-noabort.pcap"
		scan     = "diag-port-scan.pcap" // 100 connections, 100 listeners
	)
	tests := []struct {
		name, capture string
		edit          func(snapshot map[string]any)
		want          []string // the failure lines after the case's name, in order; "…" ends a prefix
		maxLen        int      // no failure line is longer
	}{
		{
			name: "a connection and many summary lines", capture: overflow,
			edit: func(s map[string]any) {
				snapshotConn(s, 2)["server_state"] = "ESTABLISHED"
				census := map[string]any{}
				for i := range 25 {
					census[fmt.Sprintf("X%02d", i)] = 1
				}
				snapshotSummary(s)["census"] = census // 25 gone, 4 new: 29 lines
			},
			want: append(append([]string{`connection 3 (10.0.0.1:55784 -> 10.0.0.2:8080): server_state: want "ESTABLISHED", got "SYN_RCVD"`},
				repeat("summary: census.…", 20)...),
				"... and 9 more differences in the summary; tcpfsm check --update accept-overflow-noabort.pcap accepts them"),
			maxLen: 200,
		},
		{
			name: "the cap counts connections", capture: scan,
			edit: func(s map[string]any) {
				for i := range 13 {
					c := snapshotConn(s, i)
					c["close"], c["conn_state"] = "fin", "SF" // two lines each
				}
				snapshotSummary(s)["packets"] = 1
			},
			want: append(append(twice(10, "connection …"), "summary: packets: want 1, got 200"),
				"... and 3 more connections with differences; tcpfsm check --update diag-port-scan.pcap accepts them"),
			maxLen: 200,
		},
		{
			name: "one connection more than the cap", capture: scan,
			edit: func(s map[string]any) {
				for i := range 11 {
					snapshotConn(s, i)["close"] = "fin"
				}
			},
			want: append(repeat("connection …", 10),
				"... and 1 more connection with differences; tcpfsm check --update diag-port-scan.pcap accepts them"),
			maxLen: 200,
		},
		{
			name: "a long listeners line", capture: scan,
			edit: func(s map[string]any) {
				l := snapshotSummary(s)["listeners"].([]any)
				snapshotSummary(s)["listeners"] = l[:len(l)-1]
			},
			want:   []string{`summary: listeners: want …`},
			maxLen: 400,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			scratch(t, true, tc.capture)
			b, err := os.ReadFile(tc.capture + ".golden.json")
			if err != nil {
				t.Fatal(err)
			}
			var snapshot map[string]any
			d := json.NewDecoder(bytes.NewReader(b))
			d.UseNumber()
			if err := d.Decode(&snapshot); err != nil {
				t.Fatal(err)
			}
			tc.edit(snapshot)
			if b, err = json.Marshal(snapshot); err != nil {
				t.Fatal(err)
			}
			writeHere(t, tc.capture+".golden.json", string(b))
			code, out, errOut := runCmd("check", "--color", "never", tc.capture)
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if code != exitCheck || lines[len(lines)-1] != "0 passed, 1 failed" {
				t.Fatalf("exit %d, want %d\n%s%s", code, exitCheck, out, errOut)
			}
			lines = lines[:len(lines)-1]
			prefix := "FAIL " + tc.capture + ": snapshot " + tc.capture + ".golden.json: "
			if len(lines) != len(tc.want) {
				t.Errorf("%d lines, want %d:\n%s", len(lines), len(tc.want), out)
			}
			for i, line := range lines {
				if len(line) > tc.maxLen {
					t.Errorf("line %d is %d bytes, want at most %d: %.300s", i+1, len(line), tc.maxLen, line)
				}
				if i >= len(tc.want) {
					continue
				}
				want, isPrefix := strings.CutSuffix(tc.want[i], "…")
				if got, ok := strings.CutPrefix(line, prefix); !ok || got != want && !(isPrefix && strings.HasPrefix(got, want)) {
					t.Errorf("line %d:\n%s\nwant %s%s", i+1, line, prefix, tc.want[i])
				}
			}
		})
	}
}

// snapshotConn returns the i-th connection of a decoded snapshot.
func snapshotConn(snapshot map[string]any, i int) map[string]any {
	return snapshot["connections"].([]any)[i].(map[string]any)
}

// snapshotSummary returns the summary of a decoded snapshot.
func snapshotSummary(snapshot map[string]any) map[string]any {
	return snapshot["summary"].(map[string]any)
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// twice is repeat(s, 2n): n connections of two differences each.
func twice(n int, s string) []string { return repeat(s, 2*n) }

// TestCheckCutShort: a capture whose last record is truncated is checked
// as far as it was read with a WARN line, and fails with --strict, which
// gives every capture a check of its own; a whole capture is unchanged.
func TestCheckCutShort(t *testing.T) {
	const (
		whole = "accept-overflow-noabort.pcap"
		cut   = "cut.pcap" // whole, less the last 10 bytes
		why   = "cut short: packet 30: capture truncated mid-record (record header says 66 bytes, 56 present)"
	)
	tests := []struct {
		name    string
		args    []string
		code    int
		out     string
		written bool // --update wrote the snapshot
	}{
		{"whole", []string{whole}, exitOK, "1 passed, 0 failed\n", false},
		{"whole, strict", []string{"--strict", whole}, exitOK, "2 passed, 0 failed\n", false},
		{"cut", []string{cut}, exitOK,
			"WARN cut.pcap: checked as far as it was read (--strict fails it): " + why + "\n1 passed, 0 failed, 1 capture cut short\n", false},
		{"cut and whole", []string{cut, whole}, exitOK,
			"WARN cut.pcap: checked as far as it was read (--strict fails it): " + why + "\n2 passed, 0 failed, 1 capture cut short\n", false},
		{"cut, strict", []string{"--strict", cut}, exitCheck,
			"FAIL cut.pcap: read to its end (--strict): " + why + "\n1 passed, 1 failed\n", false},
		{"cut and whole, strict", []string{"--strict", cut, whole}, exitCheck,
			"FAIL cut.pcap: read to its end (--strict): " + why + "\n3 passed, 1 failed\n", false},
		{"cut, rules only, strict", []string{"--strict", "--expect", "rules.expect", "-"}, exitCheck,
			"FAIL -: read to its end (--strict): " + why + "\n1 passed, 1 failed\n", false},
		{"cut, update", []string{"--update", cut}, exitOK,
			"WARN cut.pcap: checked as far as it was read (--strict fails it): " + why + "\n", true},
		{"cut, update, strict", []string{"--update", "--strict", cut}, exitCheck,
			"FAIL cut.pcap: read to its end (--strict): " + why + "\n0 passed, 1 failed\n", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			scratch(t, true, whole)
			b, err := os.ReadFile(whole)
			if err != nil {
				t.Fatal(err)
			}
			writeHere(t, cut, string(b[:len(b)-10]))
			writeHere(t, "rules.expect", "at least 1 connection\n")
			if !tc.written {
				if code, out, errOut := runCmd("check", "--update", cut); code != exitOK {
					t.Fatalf("check --update: exit %d\n%s%s", code, out, errOut)
				}
			}
			var out, errOut bytes.Buffer
			code := run(append([]string{"check", "--color", "never"}, tc.args...), bytes.NewReader(b[:len(b)-10]), &out, &errOut)
			if code != tc.code || out.String() != tc.out {
				t.Errorf("exit %d, want %d; output:\n%s\nwant:\n%s\nstderr:\n%s", code, tc.code, out.String(), tc.out, errOut.String())
			}
			if _, err := os.Stat(cut + ".golden.json"); err != nil && tc.written {
				t.Errorf("no snapshot written: %v", err)
			}
		})
	}
}

// TestCheckFlagsInTheREADME: each flag of tcpfsm check's own, those its
// --help lists and tcpfsm --help does not (the README's flag table lists
// those), is in the README's section on check.
func TestCheckFlagsInTheREADME(t *testing.T) {
	flag := regexp.MustCompile(`(?m)^\s+(?:-\w, )?(--[\w-]+)`)
	_, _, mainHelp := runCmd("--help")
	_, _, checkHelp := runCmd("check", "--help")
	inMain := map[string]bool{}
	for _, m := range flag.FindAllStringSubmatch(mainHelp, -1) {
		inMain[m[1]] = true
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "## Regression checks in CI (`tcpfsm check`)")
	section, _, _ = strings.Cut(section, "\n## ")
	var own []string
	for _, m := range flag.FindAllStringSubmatch(checkHelp, -1) {
		if !inMain[m[1]] {
			own = append(own, m[1])
			if !strings.Contains(section, "`"+m[1]) {
				t.Errorf("%s is in tcpfsm check --help, not in the README's section on tcpfsm check", m[1])
			}
		}
	}
	if len(inMain) < 30 || !slices.Contains(own, "--strict") || !slices.Contains(own, "--update") {
		t.Errorf("check's own flags read as %v, of %d flags of tcpfsm: the parsing is wrong", own, len(inMain))
	}
}

// TestCheckRules checks rules against kernel captures whose content
// testdata/README.md describes: each rule alone, held or failed, and the
// reason a failure gives.
func TestCheckRules(t *testing.T) {
	tests := []struct {
		capture, rule string
		fail          string // "" = holds; else a regexp the failure line matches
	}{
		{"accept-overflow-noabort.pcap", "no syn_flood", ""},
		{"accept-overflow-noabort.pcap", "no accept_queue_overflow",
			`found diagnosis accept_queue_overflow at 10\.0\.0\.2:8080 \(1 connection, e\.g\. 3\)`},
		{"accept-overflow-noabort.pcap", "no synack_after_ack", `found synack_after_ack on 1 connection \(e\.g\. 3\)`},
		{"accept-overflow-noabort.pcap", "no accept_queue_overflow to :9999", ""},
		{"accept-overflow-noabort.pcap", "every connection to :8080 completes its handshake",
			`1 of 4 connections do not: connection 4 \(10\.0\.0\.1:\d+ -> 10\.0\.0\.2:8080\) has handshake unanswered`},
		{"accept-overflow-noabort.pcap", "every connection to :9502 completes its handshake", `no connection to :9502 in the capture`},
		{"accept-overflow-noabort.pcap", "every connection from 10.0.0.0/8 has server_state != SYN_RCVD",
			`1 of 4 connections do not: connection 3 .* has server_state SYN_RCVD`},
		{"accept-overflow-noabort.pcap", "synack_retransmits == 0", `synack_retransmits is|sum of synack_retransmits is [1-9]`},
		{"normal-client-close.pcap", "synack_retransmits == 0", ""},
		{"normal-client-close.pcap", "handshake_rtt p99 < 1s", ""},
		{"normal-client-close.pcap", "handshake_rtt max < 1us", `max of handshake_rtt is [0-9.]+[mµu]s over 1 connection`},
		{"accept-overflow-noabort.pcap", "at least 4 connections", ""},
		{"accept-overflow-noabort.pcap", "at least 100 connections", `^4 connections$`},
		{"accept-overflow-noabort.pcap", "connections to 10.0.0.2:8080 == 4", ""},
		{"connection-refused.pcap", "handshakes.refused == 0", `handshakes\.refused is 1`},
		{"connection-refused.pcap", "handshakes.complete == 0", ""},
		{"connection-refused.pcap", "every connection has conn_state == REJ", ""},
		{"connection-refused.pcap", "every connection has reset_by == server", ""},
		{"close-wait.pcap", "census.CLOSE_WAIT <= 0", `census\.CLOSE_WAIT is 1`},
		{"close-wait.pcap", "evicted == 0", ""},
		{"close-wait.pcap", "diagnoses == 0", ""},
		{"diag-close-wait-leak.pcap", "no close_wait_leak", `found diagnosis close_wait_leak at`},
		{"normal-client-close.pcap", "duration median < 1m", ""},
		{"normal-client-close.pcap", "packets>=1", ""},
	}
	for _, tc := range tests {
		t.Run(tc.capture+"/"+tc.rule, func(t *testing.T) {
			scratch(t, false, tc.capture)
			writeHere(t, tc.capture+".expect", "# one rule\n"+tc.rule+"\n")
			code, out, errOut := runCmd("check", "--color", "never", tc.capture)
			if tc.fail == "" {
				if code != exitOK || out != "1 passed, 0 failed\n" {
					t.Errorf("exit %d, want 0\n%s%s", code, out, errOut)
				}
				return
			}
			prefix := "FAIL " + tc.capture + ": " + tc.capture + ".expect:2: " + tc.rule + ": "
			first, _, _ := strings.Cut(out, "\n")
			reason, ok := strings.CutPrefix(first, prefix)
			if code != exitCheck || !ok || !regexp.MustCompile(tc.fail).MatchString(reason) || !strings.HasSuffix(out, "0 passed, 1 failed\n") {
				t.Errorf("exit %d, want 1; output:\n%s\nwant a first line %q followed by a reason matching %q", code, out, prefix, tc.fail)
			}
		})
	}
}

// TestCheckMalformedRules: a bad rule stops the check with exit 2 and an
// error that names the file, line and column.
func TestCheckMalformedRules(t *testing.T) {
	tests := []struct{ rules, want string }{
		{"no accept_queue_overfow", "x.expect:1:4: \"accept_queue_overfow\" is not a diagnosis, anomaly or label: did you mean accept_queue_overflow?"},
		{"# fine\nat least ten connections", "x.expect:2:10: want a whole number of connections, found \"ten\""},
		{"at least 2.5 connections", "x.expect:1:10: want a whole number of connections, found \"2.5\""},
		{"handshake_rtt p99 < -5ms", "x.expect:1:21: handshake_rtt is a duration, never negative: found \"-5ms\""},
		{"handshake_rtt < 5ms", "x.expect:1:1: handshake_rtt is a duration: say which over the connections: min, max, mean, median or a percentile (p99)"},
		{"handshake_rtt p99 < 5", "x.expect:1:21: handshake_rtt is a duration: want a value with a unit such as 5ms or 1.5s, found \"5\""},
		{"every connection to :70000 completes its handshake", "x.expect:1:21: \":70000\": want a port from 1 to 65535"},
		{"every connection has handshake == done", "x.expect:1:35: \"done\" is not a value of handshake (complete, refused, unreachable, unanswered, synack_unanswered, reset, simultaneous, midstream)"},
		{"every connection completes", "x.expect:1:27: want \"its\", found the end of the line"},
		{"retransmits <= 3 please", "x.expect:1:18: unexpected \"please\" after a complete rule"},
		{"handshakes.finished == 0", "x.expect:1:1: \"finished\" is not one of the handshakes (complete, refused, unreachable, unanswered, synack_unanswered, reset, simultaneous, midstream)"},
		{"retransmit == 0", "x.expect:1:1: \"retransmit\" is not a connection field or a summary counter: did you mean retransmits?"},
	}
	for _, tc := range tests {
		t.Run(tc.rules, func(t *testing.T) {
			scratch(t, true, "close-wait.pcap")
			writeHere(t, "x.expect", tc.rules+"\n")
			code, out, errOut := runCmd("check", "--expect", "x.expect", "close-wait.pcap")
			if code != exitUsage || errOut != "tcpfsm: "+tc.want+"\n" || out != "" {
				t.Errorf("exit %d (want 2), stdout %q, stderr:\n%s\nwant:\ntcpfsm: %s", code, out, errOut, tc.want)
			}
		})
	}
}

// TestCheckRulesWithAByteOrderMark: a rules file an editor saved with a
// UTF-8 byte order mark reads as without.
func TestCheckRulesWithAByteOrderMark(t *testing.T) {
	scratch(t, true, "close-wait.pcap")
	writeHere(t, "x.expect", "\ufeffat least 1 connection\n")
	if code, out, errOut := runCmd("check", "--expect", "x.expect", "close-wait.pcap"); code != exitOK {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestCheckUpdateRoundTrip: a capture with no expectations is an input
// error; --update records its snapshot, which then passes.
func TestCheckUpdateRoundTrip(t *testing.T) {
	const name = "half-close.pcap"
	committedPath, err := filepath.Abs(filepath.Join(kernelDir, name+".golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	scratch(t, false, name)
	code, _, errOut := runCmd("check", name)
	if code != exitUsage || !strings.Contains(errOut, "half-close.pcap: nothing to check it against") {
		t.Fatalf("no expectations: exit %d, stderr %q", code, errOut)
	}
	if code, out, errOut := runCmd("check", "--update", name); code != exitOK || errOut != "tcpfsm: wrote half-close.pcap.golden.json (1 connection)\n" {
		t.Fatalf("--update: exit %d\n%s%s", code, out, errOut)
	}
	written, err := os.ReadFile(name + ".golden.json")
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(committedPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(written, committed) {
		t.Error("the snapshot written here differs from the committed one")
	}
	if code, out, errOut := runCmd("check", name); code != exitOK || out != "1 passed, 0 failed\n" {
		t.Errorf("after --update: exit %d\n%s%s", code, out, errOut)
	}
}

// TestCheckSnapshotFlags: a snapshot records the analysis flags it was
// written with; a check run with other flags says so first, and passes
// with the same ones (-j changes nothing and is not recorded).
func TestCheckSnapshotFlags(t *testing.T) {
	const name = "accept-overflow-noabort.pcap"
	scratch(t, false, name)
	if code, out, errOut := runCmd("check", "--update", "--at", "2s", "--syn-retries", "5", "-j", "1", name); code != exitOK {
		t.Fatalf("--update: exit %d\n%s%s", code, out, errOut)
	}
	b, err := os.ReadFile(name + ".golden.json")
	if err != nil || !bytes.Contains(b, []byte(`"flags": [
    "--at=2s",
    "--syn-retries=5"
  ],`)) {
		t.Fatalf("the snapshot does not record its flags: %v\n%.300s", err, b)
	}
	if code, out, _ := runCmd("check", "--syn-retries", "5", "--at", "2s", name); code != exitOK {
		t.Errorf("the same flags: exit %d\n%s", code, out)
	}
	// The same instant written otherwise, and a flag given at its default,
	// are the same flags.
	if code, out, _ := runCmd("check", "--syn-retries", "5", "--at", "+2000ms", "--close-wait", "5s", name); code != exitOK {
		t.Errorf("the same flags written otherwise: exit %d\n%s", code, out)
	}
	code, out, _ := runCmd("check", "--at", "2s", name)
	first, _, _ := strings.Cut(out, "\n")
	want := "FAIL accept-overflow-noabort.pcap: snapshot accept-overflow-noabort.pcap.golden.json: the snapshot was written with --at=2s --syn-retries=5, this check runs with --at=2s: give the same analysis flags, or accept the analysis with tcpfsm check --update"
	if code != exitCheck || first != want {
		t.Errorf("other flags: exit %d, first line\n%s\nwant\n%s", code, first, want)
	}
}

// TestCheckInputErrors: captures that cannot be read are exit 2 with the
// reader's message, and the other captures are still checked.
func TestCheckInputErrors(t *testing.T) {
	scratch(t, true, "close-wait.pcap")
	writeHere(t, "bad.pcap", "not a capture at all")
	writeHere(t, "bad.pcap.expect", "at least 1 connection\n")
	code, out, errOut := runCmd("check", "bad.pcap", "missing.pcap", "close-wait.pcap")
	if code != exitUsage {
		t.Errorf("exit %d, want 2", code)
	}
	if out != "1 passed, 0 failed, 2 captures not read\n" {
		t.Errorf("stdout %q: the readable capture was not checked, or the unread ones not counted", out)
	}
	for _, want := range []string{"bad.pcap", "missing.pcap"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not name %s:\n%s", want, errOut)
		}
	}
	if n := strings.Count(errOut, "\n"); n != 2 {
		t.Errorf("stderr has %d lines, want one per bad capture:\n%s", n, errOut)
	}
}

// TestCheckStdin: "tcpdump -w - | tcpfsm check --expect R -" checks the
// capture on standard input against R; a snapshot, --update or a second
// "-" cannot apply to it.
func TestCheckStdin(t *testing.T) {
	capture, err := os.ReadFile(filepath.Join(kernelDir, "connection-refused.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	scratch(t, false)
	writeHere(t, "ci.expect", "at least 1 connection\nhandshakes.refused == 0\n")
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"--expect", "ci.expect", "-"}, exitCheck,
			"FAIL -: ci.expect:2: handshakes.refused == 0: handshakes.refused is 1\n1 passed, 1 failed\n", ""},
		{[]string{"-"}, exitUsage, "", "has no snapshot or rules file of its own"},
		{[]string{"--update", "--expect", "ci.expect", "-"}, exitUsage, "", "--update cannot write a snapshot for standard input"},
		{[]string{"--expect", "ci.expect", "-", "-"}, exitUsage, "", "can be read only once"},
	}
	for _, tc := range tests {
		var out, errOut bytes.Buffer
		code := run(append([]string{"check"}, tc.args...), bytes.NewReader(capture), &out, &errOut)
		if code != tc.code || out.String() != tc.stdout || !strings.Contains(errOut.String(), tc.stderr) {
			t.Errorf("check %q: exit %d, stdout %q, stderr %q; want %d, %q, stderr containing %q",
				tc.args, code, out.String(), errOut.String(), tc.code, tc.stdout, tc.stderr)
		}
	}
}

// TestCheckJUnitNamesUnreadCaptures: a capture that cannot be read is a
// JUnit <error>, so CI shows a broken test rather than fewer tests.
func TestCheckJUnitNamesUnreadCaptures(t *testing.T) {
	scratch(t, true, "close-wait.pcap")
	writeHere(t, "bad.pcap", "not a capture at all")
	writeHere(t, "bad.pcap.expect", "at least 1 connection\n")
	code, _, _ := runCmd("check", "--junit", "report.xml", "bad.pcap", "close-wait.pcap")
	if code != exitUsage {
		t.Errorf("exit %d, want 2", code)
	}
	b, err := os.ReadFile("report.xml")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Tests  int `xml:"tests,attr"`
		Errors int `xml:"errors,attr"`
		Suites []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Error *struct {
					Message string `xml:"message,attr"`
				} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &got); err != nil {
		t.Fatalf("report.xml does not parse: %v\n%s", err, b)
	}
	if got.Tests != 2 || got.Errors != 1 || len(got.Suites) != 2 || got.Suites[0].Name != "bad.pcap" ||
		got.Suites[0].Cases[0].Error == nil || !strings.HasPrefix(got.Suites[0].Cases[0].Error.Message, "bad.pcap: ") {
		t.Errorf("report.xml:\n%s", b)
	}
}

// TestCheckJUnit writes a JUnit report of passing and failing checks and
// reads it back.
func TestCheckJUnit(t *testing.T) {
	scratch(t, true, "connection-refused.pcap", "close-wait.pcap")
	writeHere(t, "shared.expect", "no accept_queue_overflow\nhandshakes.refused == 0\n")
	code, out, _ := runCmd("check", "--expect", "shared.expect", "--junit", "report.xml", "connection-refused.pcap", "close-wait.pcap")
	if code != exitCheck || !strings.HasSuffix(out, "5 passed, 1 failed\n") {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
	b, err := os.ReadFile("report.xml")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &got); err != nil {
		t.Fatalf("report.xml does not parse: %v\n%s", err, b)
	}
	if got.Tests != 6 || got.Failures != 1 || len(got.Suites) != 2 || got.Suites[0].Name != "connection-refused.pcap" {
		t.Fatalf("tests %d failures %d suites %d:\n%s", got.Tests, got.Failures, len(got.Suites), b)
	}
	var failed []string
	for _, s := range got.Suites {
		for _, c := range s.Cases {
			if c.Failure != nil {
				failed = append(failed, s.Name+": "+c.Name+": "+c.Failure.Message)
			}
		}
	}
	want := "connection-refused.pcap: shared.expect:2: handshakes.refused == 0: handshakes.refused is 1"
	if len(failed) != 1 || failed[0] != want {
		t.Errorf("failures %q, want %q", failed, want)
	}
}

// TestFailOn: the plain analyser exits 1 when a named finding appears,
// after writing its report.
func TestFailOn(t *testing.T) {
	tests := []struct {
		capture, names string
		code           int
		stderr         string
	}{
		{"accept-overflow-noabort.pcap", "syn_flood,port_scan", exitOK, ""},
		{"accept-overflow-noabort.pcap", "syn_flood,accept_queue_overflow", exitCheck,
			"tcpfsm: --fail-on: found diagnosis accept_queue_overflow at 10.0.0.2:8080 (1 connection, e.g. 3)\n"},
		{"accept-overflow-noabort.pcap", "synack_after_ack", exitCheck,
			"tcpfsm: --fail-on: found synack_after_ack on 1 connection (e.g. 3)\n"},
		{"simultaneous-open.pcap", "simultaneous_open", exitCheck,
			"tcpfsm: --fail-on: found simultaneous_open on 1 connection (e.g. 1)\n"},
		{"accept-overflow-noabort.pcap", "accept_queue_overflw", exitUsage,
			"tcpfsm: --fail-on: \"accept_queue_overflw\" is not a diagnosis, anomaly or label name: did you mean accept_queue_overflow? (tcpfsm names lists them)\nRun 'tcpfsm --help' for usage.\n"},
	}
	for _, tc := range tests {
		t.Run(tc.capture+"/"+tc.names, func(t *testing.T) {
			t.Chdir(kernelDir)
			code, out, errOut := runCmd("-r", tc.capture, "--fail-on", tc.names, "--format", "json")
			if code != tc.code || errOut != tc.stderr {
				t.Errorf("exit %d, stderr %q; want %d, %q", code, errOut, tc.code, tc.stderr)
			}
			if tc.code != exitUsage && !strings.Contains(out, `"type":"summary"`) {
				t.Error("the report was not written")
			}
		})
	}
}

// TestFailOnAgreesWithCheck: --fail-on NAME and the check rule "no NAME"
// are one rule, so on the same kernel capture they find the same names and
// say the same of them, in every format the report is written in (zeek's
// writes no diagnoses: the rule judges them all the same).
func TestFailOnAgreesWithCheck(t *testing.T) {
	captures := []string{"accept-overflow-noabort.pcap", "accept-overflow-abort.pcap"}
	scratch(t, false, captures...)
	tests := []struct {
		capture string
		names   []string
		found   int // how many of the names the capture has
	}{
		{"accept-overflow-noabort.pcap", []string{"accept_queue_overflow"}, 1},          // a diagnosis
		{"accept-overflow-noabort.pcap", []string{"synack_retransmitted"}, 1},           // a label
		{"accept-overflow-noabort.pcap", []string{"synack_after_ack"}, 1},               // an anomaly
		{"accept-overflow-noabort.pcap", []string{"syn_flood", "simultaneous_open"}, 0}, // none of them
		{"accept-overflow-abort.pcap", []string{"syn_unanswered", "port_scan", "syn_retransmitted", "retransmissions"}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.capture+"/"+strings.Join(tc.names, ","), func(t *testing.T) {
			var rules strings.Builder
			for _, n := range tc.names {
				rules.WriteString("no " + n + "\n")
			}
			writeHere(t, "failon.expect", rules.String())
			checkCode, out, errOut := runCmd("check", "--expect", "failon.expect", tc.capture)
			var checkSays []string
			for _, l := range strings.Split(out, "\n") {
				if _, why, ok := strings.Cut(l, ": no "); ok && strings.HasPrefix(l, "FAIL ") {
					_, why, _ = strings.Cut(why, ": ") // after the rule's name
					checkSays = append(checkSays, why)
				}
			}
			if len(checkSays) != tc.found {
				t.Fatalf("check found %d of the names, want %d; exit %d, stdout:\n%s\nstderr:\n%s", len(checkSays), tc.found, checkCode, out, errOut)
			}
			// check says a rule's findings on its line, joined by "; ";
			// --fail-on says each on a line of its own.
			var findings []string
			for _, why := range checkSays {
				for _, f := range strings.Split(strings.TrimPrefix(why, "found "), "; ") {
					findings = append(findings, "found "+f)
				}
			}
			for _, format := range []string{"text", "json", "zeek", "parquet"} {
				code, _, errOut := runCmd("-r", tc.capture, "--fail-on", strings.Join(tc.names, ","), "--format", format)
				var failOnSays []string
				for _, l := range strings.Split(strings.TrimSuffix(errOut, "\n"), "\n") {
					if why, ok := strings.CutPrefix(l, "tcpfsm: --fail-on: "); ok {
						failOnSays = append(failOnSays, why)
					}
				}
				if code != checkCode || !slices.Equal(failOnSays, findings) {
					t.Errorf("--format %s: --fail-on exits %d and says %q; check exits %d and says %q", format, code, failOnSays, checkCode, checkSays)
				}
			}
		})
	}
}

// TestAnalyseReturnsItsError: what decided a status other than exitOK is
// returned as well as written to stderr, the last thing written there, so
// that tcpfsm check has it without reading stderr.
func TestAnalyseReturnsItsError(t *testing.T) {
	t.Chdir(kernelDir)
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"read", []string{"-r", "simultaneous-open.pcap"}, exitOK},
		{"a missing file", []string{"-r", "missing.pcap"}, exitUsage},
		{"a filter libpcap rejects", []string{"-r", "simultaneous-open.pcap", "tcp", "prot", "80"}, exitUsage},
		{"an --html that cannot be written", []string{"-r", "simultaneous-open.pcap", "--html", "no/such/dir/x.html"}, exitUsage},
		{"--fail-on finds two", []string{"-r", "accept-overflow-noabort.pcap", "--fail-on", "accept_queue_overflow,synack_after_ack"}, exitCheck},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(tc.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			code, err := analyse(o, strings.NewReader(""), io.Discard, &stderr, newInterrupt())
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.code, &stderr)
			}
			if code == exitOK {
				if err != nil {
					t.Errorf("exitOK with error %v", err)
				}
				return
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if want := strings.TrimPrefix(lines[len(lines)-1], "tcpfsm: "); err == nil || err.Error() != want {
				t.Errorf("error %v, want stderr's last line %q", err, want)
			}
			if !errors.As(err, new(reportedError)) {
				t.Errorf("error %T, want a reportedError: check must not write it again", err)
			}
		})
	}
}

// TestFailOnOneFindingALine: where a name is found at several endpoints
// (tcpgen's accept-queue overflows, at several listeners), --fail-on
// writes each finding on a line of its own, and they are the findings
// check joins on the rule's one line.
func TestFailOnOneFindingALine(t *testing.T) {
	path := tcpgenCapture(t, "-seed", "1", "-q", "-conns", "400", "-concurrent", "200")
	t.Chdir(filepath.Dir(path))
	writeHere(t, "aqo.expect", "no accept_queue_overflow\n")
	_, out, _ := runCmd("check", "--expect", "aqo.expect", filepath.Base(path))
	_, why, ok := strings.Cut(out, ": no accept_queue_overflow: found ")
	if !ok {
		t.Fatalf("check does not fail the rule:\n%s", out)
	}
	why, _, _ = strings.Cut(why, "\n")
	found := strings.Split(why, "; ")
	if len(found) < 2 {
		t.Fatalf("the capture has %d finding of accept_queue_overflow, the test needs several: %q", len(found), why)
	}
	code, _, errOut := runCmd("-r", path, "-q", "--fail-on", "accept_queue_overflow")
	var lines []string
	for _, f := range found {
		lines = append(lines, "tcpfsm: --fail-on: found "+f)
	}
	if want := strings.Join(lines, "\n") + "\n"; code != exitCheck || errOut != want {
		t.Errorf("exit %d, stderr:\n%s\nwant exit %d and:\n%s", code, errOut, exitCheck, want)
	}
}
