package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fatih/color"
	"github.com/spf13/pflag"

	"github.com/tcpfsm/tcpfsm/report/check"
)

const checkUsageHead = `Usage: tcpfsm check [options] CAPTURE...

Analyses each capture and compares the analysis with what is expected of
it, for regression checks in CI:
  CAPTURE.golden.json  a snapshot of the whole analysis (connections,
                       labels, diagnoses, census), written by --update
  CAPTURE.expect       rules a person writes, one a line, such as
                         no accept_queue_overflow
                         every connection to :9502 completes its handshake
                         synack_retransmits == 0
                         handshake_rtt p99 < 5ms
                         at least 100 connections
A CAPTURE that is a directory is one capture, its files read as one (see
tcpfsm --help), with its snapshot and rules beside it: DIR.golden.json,
DIR.expect. Each capture needs at least one of them (or --expect). A
snapshot records the analysis flags it was written with; check with the
same ones. A CAPTURE of - reads standard input (tcpdump -w - | tcpfsm
check --expect ci.expect -), checked against the --expect rules only.

Examples:
  tcpfsm check --update testdata/*.pcap    # record (or accept) the snapshots
  tcpfsm check testdata/*.pcap             # compare; exit 1 on a difference
  tcpfsm check --expect ci.expect --junit report.xml integration.pcap

Options:
`

const checkUsageTail = `
A capture cut short (a truncated last record) is checked as far as it
was read, with a WARN line; --strict fails it.

Exit status: 0 every expectation holds, 1 one failed (or, with --strict,
a capture was cut short), 2 usage or input error (a capture that cannot
be read, a malformed expectations file), 130 or 143 when SIGINT or
SIGTERM stopped the run (no snapshot is written for the capture being
read).
`

type checkOptions struct {
	options
	update bool
	strict bool // a capture cut short fails, rather than warns
	expect []string
	junit  string
	// analysisFlags are the analysis flags given, as --name=value: a
	// snapshot records those it was written with, and a check with
	// others says so rather than list what they change.
	analysisFlags []string
}

func parseCheckFlags(args []string, stderr io.Writer) (*checkOptions, []string, error) {
	var o checkOptions
	fs := pflag.NewFlagSet("tcpfsm check", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.BoolVar(&o.update, "update", false, "write each capture's snapshot (CAPTURE.golden.json) from this analysis instead of comparing")
	fs.StringArrayVar(&o.expect, "expect", nil, "also check the rules in `FILE` against every capture (repeatable)")
	fs.StringVar(&o.junit, "junit", "", "also write the results as a JUnit XML report to `FILE`")
	fs.BoolVar(&o.strict, "strict", false, "fail a capture that is cut short (a truncated last record), which otherwise is checked as far as it was read, with a WARN line")
	fs.StringVar(&o.color, "color", "auto", "colour PASS, WARN and FAIL: `WHEN` = auto, always or never")
	analysis := pflag.NewFlagSet("analysis", pflag.ContinueOnError)
	addAnalysisFlags(analysis, &o.options)
	fs.AddFlagSet(analysis)
	fs.Usage = func() {
		fmt.Fprint(stderr, checkUsageHead)
		fmt.Fprint(stderr, flagUsages(fs))
		fmt.Fprint(stderr, checkUsageTail)
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if fs.NArg() == 0 {
		return nil, nil, errors.New("check: no capture given")
	}
	if o.color != "auto" && o.color != "always" && o.color != "never" {
		return nil, nil, fmt.Errorf("unknown --color %q: want auto, always or never", o.color)
	}
	if err := checkAnalysisFlags(&o.options); err != nil {
		return nil, nil, err
	}
	analysis.VisitAll(func(f *pflag.Flag) {
		name, value := f.Name, f.Value.String()
		switch {
		case !f.Changed || value == f.DefValue || name == "jobs": // -j changes nothing in the analysis
			return
		case f.Deprecated != "":
			name = "time-wait" // --time-wait-closes, its old name
		case name == "at":
			value = canonicalAt(value) // +2s and 2s, 2.5s and 2500ms are one instant
		}
		o.analysisFlags = append(o.analysisFlags, "--"+name+"="+value)
	})
	slices.Sort(o.analysisFlags)
	o.analysisFlags = slices.Compact(o.analysisFlags)
	if n := countOf(fs.Args(), "-"); n > 0 {
		switch {
		case n > 1:
			return nil, nil, errors.New("check: standard input (-) can be read only once")
		case o.update:
			return nil, nil, errors.New("check: --update cannot write a snapshot for standard input (-): save the capture to a file")
		case len(o.expect) == 0:
			return nil, nil, errors.New("check: standard input (-) has no snapshot or rules file of its own: give the rules with --expect FILE")
		}
	}
	return &o, fs.Args(), nil
}

// runCheck is "tcpfsm check".
func runCheck(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, captures, err := parseCheckFlags(args, stderr)
	if code, ok := flagsParsed(err, "tcpfsm check --help", stderr); !ok {
		return code
	}
	if err := checkOutputs(o, captures, stdin); err != nil {
		printf(stderr, "tcpfsm: %v", err)
		return exitUsage
	}
	shared, err := readRules(o.expect)
	if err != nil {
		printf(stderr, "tcpfsm: %v", err)
		return exitUsage
	}
	// Caught for the whole run, not capture by capture: a signal between
	// two captures stops the run there, as one during a capture does.
	intr := newInterrupt()
	defer intr.catch()()

	pass, fail, warn := color.New(color.FgGreen), color.New(color.FgRed, color.Bold), color.New(color.FgYellow)
	for _, c := range []*color.Color{pass, fail, warn} {
		if useColor(o.color, stdout) {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
	}

	var cases []check.Case
	inputErr := false
	cutShort := 0
	for i, path := range captures {
		interrupted := intr.requested()
		var cs []check.Case
		var short string
		var err error
		if !interrupted {
			cs, short, err = checkCapture(o, path, shared, stdin, stderr, intr)
			interrupted = err != nil && intr.requested() // the analysis was cut short
		}
		if interrupted {
			// Stop: no partial snapshot, no further capture, no JUnit
			// report that would read as the whole run's.
			msg := fmt.Sprintf("tcpfsm: interrupted by %s: %s not checked", intr.signalName(), quoteName(path))
			if rest := len(captures) - i - 1; rest > 0 {
				msg += ", " + plural(rest, "more capture") + " not read"
			}
			if o.update {
				msg += "; no snapshot of it written"
			}
			printf(stderr, "%s", msg)
			return intr.exitCode()
		}
		if err != nil {
			var reported reportedError
			if !errors.As(err, &reported) {
				printf(stderr, "tcpfsm: %v", err)
			}
			inputErr = true
			cases = append(cases, check.Case{Capture: path, Name: "read " + quoteName(path), Error: oneLine(err.Error())})
			continue
		}
		if short != "" && !o.strict {
			cutShort++
			fmt.Fprintf(stdout, "%s %s\n", warn.Sprint("WARN"), oneLine(fmt.Sprintf("%s: checked as far as it was read (--strict fails it): %s", quoteName(path), short)))
		}
		for _, c := range cs {
			for _, f := range c.Failures {
				fmt.Fprintf(stdout, "%s %s\n", fail.Sprint("FAIL"), oneLine(fmt.Sprintf("%s: %s: %s", quoteName(path), c.Name, f)))
			}
		}
		cases = append(cases, cs...)
	}

	passed, failed, unread := 0, 0, 0
	for _, c := range cases {
		switch {
		case c.Error != "":
			unread++
		case len(c.Failures) == 0:
			passed++
		default:
			failed++
		}
	}
	summary := fmt.Sprintf("%d passed, %d failed", passed, failed)
	if unread > 0 {
		summary += fmt.Sprintf(", %s not read", plural(unread, "capture"))
	}
	if cutShort > 0 {
		summary += fmt.Sprintf(", %s cut short", plural(cutShort, "capture"))
	}
	switch {
	case failed > 0 || unread > 0:
		fmt.Fprintln(stdout, fail.Sprint(summary))
	case len(cases) > 0 || !o.update:
		fmt.Fprintln(stdout, pass.Sprint(summary))
	}
	if o.junit != "" {
		if err := writeJUnit(o.junit, cases); err != nil {
			printf(stderr, "tcpfsm: --junit: %v", err)
			return exitUsage
		}
	}
	switch {
	case inputErr:
		return exitUsage
	case failed > 0:
		return exitCheck
	}
	return exitOK
}

func writeJUnit(path string, cases []check.Case) error {
	var b bytes.Buffer
	if err := check.WriteJUnit(&b, cases); err != nil {
		return err
	}
	return writeOutput(path, b.Bytes())
}

// checkOutputs refuses outputs that are inputs of the same run: --junit
// naming a capture or a file of expectations, or a capture whose snapshot
// --update would write over another capture.
func checkOutputs(o *checkOptions, captures []string, stdin io.Reader) error {
	inputs := append(slices.Clone(captures), o.expect...)
	for _, c := range captures {
		if c != "-" {
			inputs = append(inputs, c+".golden.json", c+".expect")
		}
	}
	if err := outputIsInput("--junit", o.junit, stdin, inputs...); err != nil {
		return err
	}
	if o.update {
		for _, c := range captures {
			if err := outputIsInput("--update: the snapshot", c+".golden.json", stdin, captures...); err != nil {
				return err
			}
		}
	}
	return nil
}

func readRules(files []string) ([]*check.Rule, error) {
	var all []*check.Rule
	for _, name := range files {
		rules, err := readRuleFile(name)
		if err != nil {
			return nil, err
		}
		all = append(all, rules...)
	}
	return all, nil
}

func readRuleFile(name string) ([]*check.Rule, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, quotePath(err)
	}
	defer f.Close()
	return check.ParseRules(f, quoteName(name))
}

// readOwnRules reads CAPTURE.expect, found by its name beside the capture
// rather than given: never through a symbolic link (a link to a secret
// would have its first words quoted in a syntax error).
func readOwnRules(name string) ([]*check.Rule, error) {
	f, err := openRegular(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return check.ParseRules(f, quoteName(name))
}

// openRegular opens a file check finds by name (a snapshot, a capture's
// rules) for reading, only if it is a regular file and not a symbolic
// link. O_NONBLOCK: opening a FIFO does not wait for a writer.
func openRegular(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s: a symbolic link: tcpfsm check reads and writes snapshots and CAPTURE.expect files only as regular files, not through links", quoteName(name))
	}
	if err != nil {
		return nil, quotePath(err)
	}
	if !isRegular(f) {
		f.Close()
		return nil, fmt.Errorf("%s: not a regular file", quoteName(name))
	}
	return f, nil
}

// createSnapshot starts writing a snapshot atomically, refusing to
// replace anything but a regular file: the rename would replace a link,
// not write through it, but the link was put there for a reason.
func createSnapshot(name string) (*atomicFile, error) {
	if fi, err := os.Lstat(name); err == nil && !fi.Mode().IsRegular() {
		if fi.Mode()&fs.ModeSymlink != 0 {
			return nil, fmt.Errorf("%s: a symbolic link: tcpfsm check reads and writes snapshots and CAPTURE.expect files only as regular files, not through links", quoteName(name))
		}
		return nil, fmt.Errorf("%s: not a regular file", quoteName(name))
	}
	return createAtomic(name)
}

// checkCapture analyses one capture and checks it: against its snapshot
// (or writes it, with --update), its own rules, and the shared ones. An
// error means the capture or its expectations could not be read.
// cutShort says why, when the capture was cut short (the analysis marks
// its summary incomplete), which fails the capture with --strict: a
// pipeline that lost the end of its capture otherwise checks what it
// has, and the rules and snapshot alone cannot tell.
//
// The analysis is checked as it is read, one connection at a time, as
// the snapshot is read and written: a flood's million connections take
// no more memory here than in the plain analyser (see check.Comparison
// and check.Tally for what is kept).
func checkCapture(o *checkOptions, path string, shared []*check.Rule, stdin io.Reader, stderr io.Writer, intr *interrupt) (cases []check.Case, cutShort string, err error) {
	// A directory is one capture (its files read as a set), with its
	// snapshot and rules beside it: dir.golden.json, not dir/.golden.json.
	base := path
	if path != "-" {
		base = filepath.Clean(path)
	}
	golden, rulesFile := base+".golden.json", base+".expect"
	var own []*check.Rule
	if path != "-" {
		own, err = readOwnRules(rulesFile)
		if errors.Is(err, fs.ErrNotExist) {
			own, err = nil, nil
		}
		if err != nil {
			return nil, "", err
		}
	}
	rules := append(own, shared...)
	tallies := make([]*check.Tally, len(rules))
	for i, r := range rules {
		tallies[i] = r.NewTally()
	}

	var want *check.SnapshotReader
	var compare *check.Comparison
	if !o.update && path != "-" {
		f, err := openSnapshot(golden)
		if errors.Is(err, fs.ErrNotExist) {
			if len(own) == 0 && len(shared) == 0 {
				return nil, "", fmt.Errorf("%s: nothing to check it against: write %s, or record a snapshot with tcpfsm check --update %s",
					quoteName(path), quoteName(rulesFile), quoteName(path))
			}
		} else if err != nil {
			return nil, "", err
		} else {
			defer f.Close()
			if want, err = check.NewSnapshotReader(f); err != nil {
				return nil, "", fmt.Errorf("%s: %v", quoteName(golden), err)
			}
			next := func() (map[string]any, error) {
				c, err := want.Next()
				if err != nil && err != io.EOF {
					err = fmt.Errorf("%s: %v", quoteName(golden), err)
				}
				return c, err
			}
			compare = check.NewComparison(next, maxDiffConns)
		}
	}
	var snap *atomicFile
	var write *check.SnapshotWriter
	if o.update {
		if snap, err = createSnapshot(golden); err != nil {
			return nil, "", err
		}
		defer func() {
			if snap != nil {
				snap.discard() // not complete: the old snapshot stays
			}
		}()
		write = check.NewSnapshotWriter(snap, filepath.Base(path), o.analysisFlags)
	}

	summary, err := analyseForCheck(o, path, stdin, stderr, intr, func(c map[string]any) error {
		for _, t := range tallies {
			t.Add(c)
		}
		if write != nil {
			if err := write.Conn(c); err != nil {
				return fmt.Errorf("%s: %w", quoteName(golden), unwrapPath(err))
			}
		}
		if compare != nil {
			return compare.Got(c)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}

	switch {
	case o.update:
		if err := write.Finish(summary); err != nil {
			return nil, "", fmt.Errorf("%s: %w", quoteName(golden), unwrapPath(err))
		}
		err, snap = snap.commit(), nil
		if err != nil {
			return nil, "", err
		}
		printf(stderr, "tcpfsm: wrote %s (%s)", quoteName(golden), plural(write.Conns(), "connection"))
	case compare != nil:
		if err := compare.Finish(); err != nil {
			return nil, "", err
		}
		c := check.Case{Capture: path, Name: "snapshot " + quoteName(golden)}
		if !slices.Equal(want.Flags, o.analysisFlags) {
			c.Failures = append(c.Failures, fmt.Sprintf("the snapshot was written with %s, this check runs with %s: give the same analysis flags, or accept the analysis with tcpfsm check --update",
				flagList(want.Flags), flagList(o.analysisFlags)))
		}
		d := compare.Differences(want.Summary, summary)
		for _, diff := range d.Conns {
			c.Failures = append(c.Failures, diff.String())
		}
		var more []string
		switch {
		case !d.Complete:
			c.Failures = append(c.Failures, fmt.Sprintf("connections not compared: over %d of the snapshot and of this analysis are not in both, or not in the same order, too many to pair; tcpfsm check --update %s accepts them",
				check.MaxUnpaired, quoteName(path)))
		case d.ConnsDiffering > maxDiffConns:
			more = append(more, plural(d.ConnsDiffering-maxDiffConns, "more connection")+" with differences")
		}
		for i, diff := range d.Summary {
			if i == maxSummaryLines {
				more = append(more, plural(len(d.Summary)-i, "more difference")+" in the summary")
				break
			}
			c.Failures = append(c.Failures, diff.String())
		}
		if len(more) > 0 {
			c.Failures = append(c.Failures, fmt.Sprintf("... and %s; tcpfsm check --update %s accepts them", strings.Join(more, ", and "), quoteName(path)))
		}
		cases = append(cases, c)
	}
	for i, r := range rules {
		c := check.Case{Capture: path, Name: fmt.Sprintf("%s:%d: %s", r.File, r.Line, r.Text)}
		if ok, why := tallies[i].Result(summary); !ok {
			c.Failures = []string{why}
		}
		cases = append(cases, c)
	}
	if incomplete, _ := summary["incomplete"].(bool); incomplete {
		cutShort = "cut short"
		if w, _ := summary["warnings"].([]any); len(w) > 0 {
			why, _ := w[len(w)-1].(string) // the worst, last
			name := path
			if path == "-" {
				name = "stdin" // as the analysis names it
			}
			cutShort += ": " + strings.TrimPrefix(why, name+": ")
		}
	}
	if o.strict {
		// A case whether or not it holds: a JUnit test that appears only
		// when it fails has no history in CI.
		c := check.Case{Capture: path, Name: "read to its end (--strict)"}
		if cutShort != "" {
			c.Failures = []string{cutShort}
		}
		cases = append(cases, c)
	}
	return cases, cutShort, nil
}

// canonicalAt writes a valid --at value one way: an offset as
// time.Duration writes it, a time in RFC 3339 UTC.
func canonicalAt(at string) string {
	ns, fromStart, err := parseAt(at)
	switch {
	case err != nil || at == "":
		return at
	case fromStart:
		return time.Duration(ns).String()
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

// flagList names analysis flags for a reader.
func flagList(flags []string) string {
	if len(flags) == 0 {
		return "the default analysis flags"
	}
	return strings.Join(flags, " ")
}

// reportedError is an error already written to stderr (by analyse).
type reportedError struct{ msg string }

func (e reportedError) Error() string { return e.msg }

func countOf(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

// A snapshot's differences are listed for at most maxDiffConns
// connections, each with all its differences (a connection has a few
// dozen fields), then at most maxSummaryLines of the summary's. The cap
// counts connections so that a changed connection is listed however many
// lines of the summary it changed with it.
const (
	maxDiffConns    = 10
	maxSummaryLines = 20
)

// openSnapshot opens a snapshot to compare with, and reads it through
// once first: a snapshot that is not one is said before the capture is
// analysed, and the comparison, which reads it alongside the analysis,
// then meets no error of its own.
func openSnapshot(path string) (*os.File, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	err = scanSnapshot(f)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %v", quoteName(path), err)
	}
	return f, nil
}

func scanSnapshot(r io.Reader) error {
	s, err := check.NewSnapshotReader(r)
	if err != nil {
		return err
	}
	for {
		more, err := s.Skip()
		if err == io.EOF || (err == nil && !more) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// analyseForCheck runs the analysis of one capture with JSON output and
// reads it back as it is written, each connection to conn, and returns
// the summary. Warnings about the capture (a truncated file) go to stderr
// and into the analysis, as for the plain analyser. An error from conn
// stops the analysis, and is returned.
func analyseForCheck(o *checkOptions, path string, stdin io.Reader, stderr io.Writer, intr *interrupt, conn func(map[string]any) error) (map[string]any, error) {
	opt := o.options
	opt.read, opt.format, opt.events = []string{path}, "json", false
	// Once the reading stops on an error of its own, what the analysis
	// then says of the report it can no longer write is beside the point.
	quiet := &mutable{w: stderr}
	pr, pw := io.Pipe()
	analysed := make(chan error, 1)
	go func() {
		_, err := analyse(&opt, stdin, pw, quiet, intr)
		pw.Close()
		analysed <- err
	}()
	var connErr error
	summary, err := check.ReadReport(pr, path, func(c map[string]any) error {
		connErr = conn(c)
		return connErr
	})
	if err != nil {
		// Stop the analysis, if it is still writing.
		quiet.mute()
		pr.CloseWithError(err)
	}
	analyseErr := <-analysed
	if connErr != nil {
		return nil, connErr
	}
	if analyseErr != nil {
		return nil, analyseErr // analyse said it already
	}
	return summary, err
}

// mutable is a writer that can be silenced.
type mutable struct {
	mu    sync.Mutex
	w     io.Writer
	muted bool
}

func (m *mutable) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.muted {
		return len(p), nil
	}
	return m.w.Write(p)
}

func (m *mutable) mute() {
	m.mu.Lock()
	m.muted = true
	m.mu.Unlock()
}
