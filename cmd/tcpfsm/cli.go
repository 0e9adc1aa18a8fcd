package main

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/tcpfsm/tcpfsm/capture/libpcap"
	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/report"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

// The command line's tcpdump habits (--ladder's optional value, -i by
// number, --version), and tcpfsm names.

// helpColumns is the width --help fits in.
const helpColumns = 80

// flagUsages lists the flags for --help, each flag's text wrapped to
// helpColumns (a line break written in it is a space).
func flagUsages(fs *pflag.FlagSet) string {
	fs.VisitAll(func(f *pflag.Flag) { f.Usage = strings.ReplaceAll(f.Usage, "\n", " ") })
	return fs.FlagUsagesWrapped(helpColumns)
}

// flagsParsed says what parsing a command's flags came to, for tcpfsm and
// its subcommands alike: --help, which the parser has printed, ends the
// command with exit 0; an error is said on one line, followed by where the
// usage is (help, the command with --help), and ends it with exit 2. ok is
// whether the command goes on.
func flagsParsed(err error, help string, stderr io.Writer) (code int, ok bool) {
	switch {
	case errors.Is(err, pflag.ErrHelp):
		return exitOK, false
	case err != nil:
		printf(stderr, "tcpfsm: %v", err)
		fmt.Fprintf(stderr, "Run '%s' for usage.\n", help)
		return exitUsage, false
	}
	return exitOK, true
}

// ladderValues joins "--ladder WHICH" into "--ladder=WHICH" when WHICH is
// a selection (looksLikeSelection): the value of --ladder is optional (--ladder alone draws
// every connection), and pflag takes an optional value only after "=".
// A word that is no selection (an option, a filter word) stays the next
// argument.
func ladderValues(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if a == "--ladder" && i+1 < len(args) && looksLikeSelection(args[i+1]) {
			out = append(out, a+"="+args[i+1])
			i++
			continue
		}
		out = append(out, a)
	}
	return out
}

// looksLikeSelection tells whether the word after --ladder is its value:
// a selection, or what is meant as one (a number, an endpoint) and gets
// --ladder's error rather than the filter's. A filter expression starts
// with a word (port, host, tcp, not) or a parenthesis.
func looksLikeSelection(word string) bool {
	if _, err := report.ParseLadder(word); err == nil {
		return true
	}
	return word != "" && (strings.ContainsAny(word[:1], "0123456789:[") || strings.Contains(word, ":"))
}

// interfaceByNumber reads -i as tcpdump does: a number that names no
// interface is its number in the list -D prints (from 1).
func interfaceByNumber(name string, list func() ([]libpcap.Interface, error)) (string, error) {
	n, err := strconv.Atoi(name)
	if err != nil || strings.Trim(name, "0123456789") != "" {
		return name, nil
	}
	ifs, err := list()
	if err != nil {
		return "", fmt.Errorf("-i %s: listing the interfaces to number them: %v", name, err)
	}
	for _, ifc := range ifs {
		if ifc.Name == name {
			return name, nil
		}
	}
	if n < 1 || n > len(ifs) {
		return "", fmt.Errorf("-i %s: no interface number %d: tcpfsm -D lists %s", name, n, plural(len(ifs), "interface"))
	}
	return ifs[n-1].Name, nil
}

// printVersion is --version: tcpfsm's commit, as the build recorded it,
// and libpcap's version, as tcpdump --version prints them.
func printVersion(w io.Writer) {
	var settings []debug.BuildSetting
	if info, ok := debug.ReadBuildInfo(); ok {
		settings = info.Settings
	}
	fmt.Fprintln(w, versionLine(settings))
	fmt.Fprintln(w, libpcap.Version())
}

// versionLine says which commit tcpfsm was built from, as go build
// records it from the checkout (vcs.revision, vcs.time, vcs.modified); a
// build outside one (go test, -buildvcs=false) records none.
func versionLine(settings []debug.BuildSetting) string {
	commit, modified, when := "", false, ""
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		case "vcs.time":
			when = s.Value
		}
	}
	switch {
	case commit == "":
		return "tcpfsm, commit unknown (built without version control information)"
	case modified:
		return fmt.Sprintf("tcpfsm commit %s (%s), with local changes", commit, when)
	}
	return fmt.Sprintf("tcpfsm commit %s (%s)", commit, when)
}

// runNames is "tcpfsm names": every name --fail-on and a check's rules
// take, one line each.
func runNames(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "--help" {
			fmt.Fprintln(stderr, "Usage: tcpfsm names\n\nLists every diagnosis, anomaly and label name, which --fail-on and the rules of\ntcpfsm check take, with one line on each.")
			return exitOK
		}
		printf(stderr, "tcpfsm: names takes no arguments, not %q", args[0])
		return exitUsage
	}
	width := 0
	for _, n := range report.FindingNames() {
		width = max(width, len(n))
	}
	section := func(title string, names []string, summary func(string) string) {
		fmt.Fprintln(stdout, title)
		for _, n := range names {
			fmt.Fprintf(stdout, "  %-*s  %s\n", width, n, summary(n))
		}
	}
	section("Diagnoses (of a listener or a host, in the summary):", diagnose.Names(), diagnose.Summary)
	fmt.Fprintln(stdout)
	section("Anomalies (of a connection):", fsm.AnomalyNames, fsm.AnomalySummary)
	fmt.Fprintln(stdout)
	section("Labels (of a connection):", fsm.LabelNames, fsm.LabelSummary)
	return exitOK
}
