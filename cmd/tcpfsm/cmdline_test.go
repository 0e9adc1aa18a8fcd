package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/tcpfsm/tcpfsm/capture/libpcap"
	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/report"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

// TestCommandLine: the command line as tcpdump users type it. Options
// may follow the filter expression, whose words are kept as they are; a
// lone -- ends the options; tcpdump's -n, -nn and -nr FILE are accepted;
// --ladder's value is optional.
func TestCommandLine(t *testing.T) {
	tests := []struct {
		name   string
		args   string
		read   string
		filter string
		format string
		ladder string
		count  uint64
		err    string // a part of the error; "" none
	}{
		{"options after the filter", "-r f.pcap port 9503 --format json", "f.pcap", "port 9503", "json", "", 0, ""},
		{"options on both sides", "--format json -r f.pcap tcp port 80 -c 5", "f.pcap", "tcp port 80", "json", "", 5, ""},
		{"BPF words kept", "-r f.pcap tcp[13] & 2 != 0 and len - 40 > 0", "f.pcap", "tcp[13] & 2 != 0 and len - 40 > 0", "text", "", 0, ""},
		{"-- ends the options", "-r f.pcap -- port 9503 --format", "f.pcap", "port 9503 --format", "text", "", 0, ""},
		{"-n", "-n -r f.pcap", "f.pcap", "", "text", "", 0, ""},
		{"-nn", "-nn -r f.pcap port 80", "f.pcap", "port 80", "text", "", 0, ""},
		{"-nr FILE", "-nr f.pcap", "f.pcap", "", "text", "", 0, ""},
		{"-nnr FILE", "-nnr f.pcap -c 1", "f.pcap", "", "text", "", 1, ""},
		{"--ladder alone", "-r f.pcap --ladder", "f.pcap", "", "text", "all", 0, ""},
		{"--ladder alone before a filter", "-r f.pcap --ladder port 80", "f.pcap", "port 80", "text", "all", 0, ""},
		{"--ladder before an option", "--ladder -r f.pcap", "f.pcap", "", "text", "all", 0, ""},
		{"--ladder ID", "-r f.pcap --ladder 3", "f.pcap", "", "text", "3", 0, ""},
		{"--ladder :PORT then a filter", "-r f.pcap --ladder :9502 host 10.0.0.1", "f.pcap", "host 10.0.0.1", "text", ":9502", 0, ""},
		{"--ladder=ADDR", "-r f.pcap --ladder=10.0.0.1", "f.pcap", "", "text", "10.0.0.1", 0, ""},
		{"--ladder ADDR:PORT", "-r f.pcap --ladder [::1]:80", "f.pcap", "", "text", "[::1]:80", 0, ""},
		{"--ladder, then --", "-r f.pcap --ladder -- 3", "f.pcap", "3", "text", "all", 0, ""},
		{"--ladder=bad", "-r f.pcap --ladder=port", "", "", "", "", 0, "--ladder port: want all, a connection id (3), an address, :PORT or ADDR:PORT"},
		{"--ladder meant as an id", "-r f.pcap --ladder 0 port 80", "", "", "", "", 0, "--ladder 0: not a connection id"},
		{"--ladder meant as an endpoint", "-r f.pcap --ladder x:y", "", "", "", "", 0, "--ladder x:y: want"},
		{"a negative number is an option", "-r f.pcap ip[0] > -1", "", "", "", "", 0, "unknown shorthand flag: '1'"},
		{"misspelt --fail-on", "-r f.pcap --fail-on syn_flod", "", "", "", "", 0, `"syn_flod" is not a diagnosis, anomaly or label name: did you mean syn_flood? (tcpfsm names lists them)`},
		{"--fail-on far from any name", "-r f.pcap --fail-on zzzzzzzz", "", "", "", "", 0, `"zzzzzzzz" is not a diagnosis, anomaly or label name (tcpfsm names`},
		{"misspelt --fail-on in a list", "-r f.pcap --fail-on syn_flood,half_close,keepalvie", "", "", "", "", 0, "did you mean keepalive?"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags(strings.Fields(tc.args), io.Discard)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(o.read, " ") != tc.read || o.filter != tc.filter || o.format != tc.format || o.ladder != tc.ladder || o.count != tc.count {
				t.Errorf("read %q filter %q format %q ladder %q count %d; want %q %q %q %q %d",
					o.read, o.filter, o.format, o.ladder, o.count, tc.read, tc.filter, tc.format, tc.ladder, tc.count)
			}
		})
	}
}

// TestFilterAfterOptionsRuns: the filter and the options after it reach
// the analysis (the report is JSON, of the filtered packets only).
func TestFilterAfterOptionsRuns(t *testing.T) {
	path := kernelCaptures(t)[0]
	all := tcpfsm(t, nil, "-r", path, "--format", "json")
	none := tcpfsm(t, nil, "-nr", path, "port", "1", "--format", "json")
	if all.code != exitOK || none.code != exitOK {
		t.Fatalf("exit %d and %d: %s%s", all.code, none.code, all.stderr, none.stderr)
	}
	objs := jsonLines(t, none.stdout)
	last := objs[len(objs)-1]
	if len(objs) != 1 || last["type"] != "summary" || last["filtered"] == float64(0) {
		t.Errorf("port 1 --format json after the filter: %s", none.stdout)
	}
	if len(jsonLines(t, all.stdout)) < 2 {
		t.Errorf("no connections without the filter: %s", all.stdout)
	}
}

// TestFilterKeepsICMPOnlyWhenAsked: a filter means what it means to
// tcpdump, so "tcp port 8080" drops the ICMP errors quoting the segments
// it keeps, and the half-open connections they dropped go unseen; README's
// "or icmp or icmp6" keeps them.
func TestFilterKeepsICMPOnlyWhenAsked(t *testing.T) {
	path := filepath.Join(kernelDir, "synack-icmp-dropped.pcap")
	for _, tc := range []struct {
		filter string
		drops  bool
	}{{"tcp port 8080", false}, {"tcp port 8080 or icmp or icmp6", true}} {
		r := tcpfsm(t, nil, "-r", path, "--format", "json", tc.filter)
		if r.code != exitOK {
			t.Fatalf("%s: exit %d: %s", tc.filter, r.code, r.stderr)
		}
		first := jsonLines(t, r.stdout)[0]
		if _, drops := first["synack_icmp"]; drops != tc.drops {
			t.Errorf("%s: synack_icmp %v, want it: %v", tc.filter, first["synack_icmp"], tc.drops)
		}
	}
}

// TestInterfaceByNumber: -i takes a number from the -D list, as tcpdump
// does, unless an interface has that name.
func TestInterfaceByNumber(t *testing.T) {
	list := func() ([]libpcap.Interface, error) {
		return []libpcap.Interface{{Name: "eth0"}, {Name: "any"}, {Name: "7"}, {Name: "lo"}}, nil
	}
	broken := func() ([]libpcap.Interface, error) { return nil, errors.New("no permission") }
	tests := []struct {
		arg  string
		list func() ([]libpcap.Interface, error)
		want string
		err  string
	}{
		{"eth0", list, "eth0", ""},
		{"1", list, "eth0", ""},
		{"4", list, "lo", ""},
		{"7", list, "7", ""}, // an interface of that name
		{"5", list, "", "-i 5: no interface number 5: tcpfsm -D lists 4 interfaces"},
		{"0", list, "", "-i 0: no interface number 0: tcpfsm -D lists 4 interfaces"},
		{"2x", list, "2x", ""},
		{"-3", list, "-3", ""},
		{"lo", broken, "lo", ""},
		{"2", broken, "", "-i 2: listing the interfaces to number them: no permission"},
	}
	for _, tc := range tests {
		got, err := interfaceByNumber(tc.arg, tc.list)
		switch {
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("-i %s: error %v, want %q", tc.arg, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("-i %s: %q, %v; want %q", tc.arg, got, err, tc.want)
		}
	}
}

// TestLadderSelectionThatMatchesNothing: a --ladder selection no
// connection matches says so, with the forms; one that matches does not.
func TestLadderSelectionThatMatchesNothing(t *testing.T) {
	path := kernelCaptures(t)[0]
	tests := []struct {
		args   []string
		ladder bool // a ladder is drawn
		note   bool
	}{
		{[]string{"--ladder"}, true, false},
		{[]string{"--ladder", "1"}, true, false},
		{[]string{"--ladder", "99"}, false, true},
		{[]string{"--ladder", ":9505"}, false, true},
		{[]string{"--ladder=192.0.2.1"}, false, true},
	}
	for _, tc := range tests {
		r := tcpfsm(t, nil, append([]string{"-r", path, "--color", "never"}, tc.args...)...)
		drawn := strings.Contains(r.stdout, "       time client ")
		note := "no connection matched, so no ladder is drawn; WHICH is all, a connection id (3), an address, :PORT or ADDR:PORT"
		if r.code != exitOK || drawn != tc.ladder || strings.Contains(r.stderr, note) != tc.note {
			t.Errorf("%v: exit %d, ladder %v, stderr %q; want a ladder %v, the note %v", tc.args, r.code, drawn, r.stderr, tc.ladder, tc.note)
		}
	}
}

// TestVersion: --version prints the commit as the build recorded it
// (test binaries record none) and libpcap's version.
func TestVersion(t *testing.T) {
	r := tcpfsm(t, nil, "--version")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != exitOK || len(lines) != 2 || !strings.HasPrefix(lines[0], "tcpfsm") || !strings.HasPrefix(lines[1], "libpcap version ") {
		t.Errorf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestVersionLine: the commit line of --version, from what go build
// records of the checkout.
func TestVersionLine(t *testing.T) {
	const rev = "4f50254c0ffee4f50254c0ffee4f50254c0ffee4"
	tests := []struct {
		settings []debug.BuildSetting
		want     string
	}{
		{nil, "tcpfsm, commit unknown (built without version control information)"},
		{[]debug.BuildSetting{{Key: "-buildmode", Value: "exe"}}, "tcpfsm, commit unknown (built without version control information)"},
		{[]debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: "2026-12-07T19:16:40Z"}, {Key: "vcs.modified", Value: "false"}},
			"tcpfsm commit " + rev + " (2026-12-07T19:16:40Z)"},
		{[]debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: "2026-12-07T19:16:40Z"}, {Key: "vcs.modified", Value: "true"}},
			"tcpfsm commit " + rev + " (2026-12-07T19:16:40Z), with local changes"},
	}
	for _, tc := range tests {
		if got := versionLine(tc.settings); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.settings, got, tc.want)
		}
	}
}

// TestHelpFitsAndMatchesTheREADME: --help fits 80 columns, for tcpfsm and
// each of its commands, and lists every flag of the README's flag table, which
// lists every flag --help does.
func TestHelpFitsAndMatchesTheREADME(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"check", "--help"}, {"names", "--help"}, {"merge", "--help"}} {
		r := tcpfsm(t, nil, args...)
		if !strings.HasPrefix(r.stderr, "Usage: tcpfsm") {
			t.Errorf("%v: no usage on standard error: %q", args, r.stderr)
		}
		for _, line := range strings.Split(r.stderr, "\n") {
			if n := len([]rune(line)); n > helpColumns {
				t.Errorf("%v: a line of %d columns: %q", args, n, line)
			}
		}
	}
	help := tcpfsm(t, nil, "--help").stderr
	flag := regexp.MustCompile(`^\s+(?:-(\w), )?--([\w-]+)`)
	inHelp := map[string]string{} // long name -> shorthand
	for _, line := range strings.Split(help, "\n") {
		if m := flag.FindStringSubmatch(line); m != nil {
			inHelp[m[2]] = m[1]
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "| flag | meaning |")
	end := strings.Index(text[start:], "\n\n")
	if start < 0 || end < 0 {
		t.Fatal("README.md: no flag table (| flag | meaning |)")
	}
	word := regexp.MustCompile("(?:^|[ `,])(--?[a-zA-Z][\\w-]*)")
	inREADME := map[string]bool{}
	for _, row := range strings.Split(text[start:start+end], "\n")[2:] {
		for _, m := range word.FindAllStringSubmatch(strings.Split(row, "|")[1], -1) {
			inREADME[m[1]] = true
		}
	}
	if len(inHelp) < 30 || len(inREADME) < 30 {
		t.Fatalf("read %d flags from --help and %d from README.md: the parsing is wrong", len(inHelp), len(inREADME))
	}
	for long, short := range inHelp {
		if !inREADME["--"+long] && (short == "" || !inREADME["-"+short]) {
			t.Errorf("--%s is in --help, not in README.md's flag table", long)
		}
	}
	for f := range inREADME {
		name := strings.TrimLeft(f, "-")
		_, long := inHelp[name]
		short := len(name) == 1 && slices.ContainsFunc(mapValues(inHelp), func(s string) bool { return s == name })
		if (strings.HasPrefix(f, "--") && !long) || (!strings.HasPrefix(f, "--") && !short) {
			t.Errorf("README.md's flag table has %s, which --help does not list", f)
		}
	}
}

func mapValues(m map[string]string) []string {
	var v []string
	for _, s := range m {
		v = append(v, s)
	}
	return v
}

// TestNames: tcpfsm names lists every diagnosis, anomaly and label, each
// on one line with what it means.
func TestNames(t *testing.T) {
	r := tcpfsm(t, nil, "names")
	if r.code != exitOK || r.stderr != "" {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	sections := strings.Split(r.stdout, "\n\n")
	want := [][]string{diagnose.Names(), fsm.AnomalyNames, fsm.LabelNames}
	if len(sections) != len(want) {
		t.Fatalf("%d sections, want %d:\n%s", len(sections), len(want), r.stdout)
	}
	for i, names := range want {
		lines := strings.Split(strings.TrimSpace(sections[i]), "\n")[1:]
		var listed []string
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) < 4 {
				t.Errorf("a name without what it means: %q", l)
				continue
			}
			listed = append(listed, f[0])
		}
		if !slices.Equal(listed, names) {
			t.Errorf("section %d lists %v, want %v", i, listed, names)
		}
	}
	if r := tcpfsm(t, nil, "names", "x"); r.code != exitUsage {
		t.Errorf("names x: exit %d, want %d", r.code, exitUsage)
	}
	if n := len(report.FindingNames()); n != len(diagnose.Names())+len(fsm.AnomalyNames)+len(fsm.LabelNames) {
		t.Errorf("FindingNames has %d names", n)
	}
}

// TestTimestampFlags: tcpdump's -t options set how the -v trace lines
// begin: the clock, no time, seconds since 1970, the time since the line
// before, the date too, the time since the first line.
func TestTimestampFlags(t *testing.T) {
	path := "../../testdata/kernel/connection-refused.pcap" // SYN, then RST/ACK 5.104 ms later
	for _, tt := range []struct {
		flag          string
		first, second string // the start of the two trace lines
	}{
		{"", "05:45:12.002084 [1] ", "05:45:12.007188 [2] "},
		{"-t", "[1] ", "[2] "},
		{"-tt", "1795326312.002084 [1] ", "1795326312.007188 [2] "},
		{"-ttt", "0.000000s [1] ", "0.005104s [2] "},
		{"-tttt", "2026-11-22 05:45:12.002084 [1] ", "2026-11-22 05:45:12.007188 [2] "},
		{"-ttttt", "0.000000s [1] ", "0.005104s [2] "},
		{"-tttttt", "0.000000s [1] ", "0.005104s [2] "}, // as many as tcpdump takes, and more
	} {
		args := []string{"-r", path, "-v", "--color", "never"}
		if tt.flag != "" {
			args = append(args, tt.flag)
		}
		r := tcpfsm(t, nil, args...)
		lines := strings.Split(r.stdout, "\n")
		if r.code != exitOK || len(lines) < 2 || !strings.HasPrefix(lines[0], tt.first) || !strings.HasPrefix(lines[1], tt.second) {
			t.Errorf("%q: exit %d, lines %q; want them to start %q, %q", tt.flag, r.code, lines[:min(2, len(lines))], tt.first, tt.second)
		}
	}
}
