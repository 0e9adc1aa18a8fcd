package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/tcpfsm/tcpfsm/capture"
	"github.com/tcpfsm/tcpfsm/capture/libpcap"
	"github.com/tcpfsm/tcpfsm/cmd/internal/pipeline"
	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm/zeek"
	"github.com/tcpfsm/tcpfsm/report"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

// Exit codes are part of the interface.
const (
	exitOK    = 0 // success
	exitCheck = 1 // a check the user asked for failed
	exitUsage = 2 // usage or input error
)

// maxWarnings is how many read warnings are printed one by one; the rest
// are counted.
const maxWarnings = 10

const usageHead = `Usage: tcpfsm -r FILE [-r FILE...] [options] [filter expression]
       tcpfsm -i INTERFACE [options] [filter expression]
       tcpfsm check [options] CAPTURE...   (see tcpfsm check --help)
       tcpfsm merge [options] REPORT...    (shards' reports as one report)
       tcpfsm names                        (what --fail-on and rules name)

Reads a tcpdump capture (pcap or pcapng, optionally gzip-compressed; "-" is
standard input), or captures live on an interface, and reports every TCP
connection: how it opened, how it closed, the RFC 793 state each endpoint
is left in, and what went wrong. Several files (-r once for each, a
directory, or a quoted glob) are read as one capture, merged in time
order, as mergecap would merge them. The words that are not options
(which may come before or after them; -- ends the options) are a
tcpdump/BPF filter expression, never files. A live capture shows each
connection event as it happens and a census every --interval; Ctrl-C ends
it with the rest of the report.

Examples:
  tcpfsm -r capture.pcap
  tcpfsm -r capture.pcap tcp port 9502
  tcpfsm -r 'rot/*.pcap.gz' port 443  # a tcpdump -G/-C rotation as one capture
  tcpfsm -r day/ --shard 0/4          # one of 4 processes sharing the work
  tcpdump -i eth0 -w - 'tcp port 443' | tcpfsm -r -
  tcpfsm -r capture.pcap.gz --format json | jq 'select(.close == "rst_server")'
  tcpfsm -r capture.pcap -v          # each packet and the state changes it made
  sudo tcpfsm -i eth0 tcp port 9502  # watch a service live; Ctrl-C: the report
  sudo tcpfsm -i any -w session.pcap --duration 1m tcp port 443
  tcpfsm -r capture.pcap --ladder :9502 --html report.html
  tcpfsm -r capture.pcap --fail-on accept_queue_overflow,syn_flood

Options:
`

const usageTail = `
Exit status: 0 success, 1 a check that was asked for failed, 2 usage or
input error (a capture that could not be read at all) or an output that
could not be written, 130 or 143 when SIGINT or SIGTERM interrupted -r
(the report of what was read is written, marked incomplete).
`

type options struct {
	read        []string // -r, as given
	files       []string // -r's files: globs and directories expanded
	shard       flow.Shard
	iface       string
	list        bool
	snaplen     int
	bufferKiB   int
	noPromisc   bool
	write       string
	interval    time.Duration
	duration    time.Duration
	events      bool
	jobs        int
	count       uint64
	format      string
	verbose     bool
	color       string
	idleTimeout time.Duration
	closeDelay  time.Duration
	maxConns    int
	checksums   bool
	zeekPorts   string
	thresholds  diagnose.Thresholds
	at          string
	filter      string
	failOn      string
	appError    string // --app-error, as report.ParseAppError names it
	ladder      string // --ladder, "all" for every connection
	ladderSel   *report.LadderSelect
	numeric     bool // -n: accepted, and changes nothing
	stamps      int  // -t, -tt, ...: report.Stamps
	version     bool
	quiet       bool                    // -q
	html        string                  // --html FILE
	dropTo      string                  // -Z
	rotation    capture.Rotation        // -w with -C, -G and -W
	save        *capture.RotatingWriter // -w's files, once the capture is open
	account     *account                // -Z's user, looked up
	cpuProfile  string                  // --cpuprofile FILE
	memProfile  string                  // --memprofile FILE
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	var o options
	fs := pflag.NewFlagSet("tcpfsm", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.StringArrayVarP(&o.read, "read", "r", nil, "read packets from `FILE` (pcap, pcapng, gzip; - for standard input); several\n(-r once for each, a directory, or a quoted glob) are read as one capture, merged in time order")
	fs.StringVarP(&o.iface, "interface", "i", "", "capture live on `INTERFACE` (any and lo included; needs root or CAP_NET_RAW)")
	fs.BoolVarP(&o.list, "list-interfaces", "D", false, "list the interfaces -i can capture on, and exit")
	fs.IntVarP(&o.snaplen, "snapshot-length", "s", capture.DefaultLiveSnaplen, "keep `BYTES` of each live packet (headers only by default: fewer copies, fewer drops)")
	fs.IntVarP(&o.bufferKiB, "buffer-size", "B", 0, "kernel capture buffer of `KiB` for -i (default libpcap's, 2048)")
	fs.BoolVarP(&o.noPromisc, "no-promiscuous-mode", "p", false, "do not put the interface into promiscuous mode")
	fs.StringVarP(&o.write, "write", "w", "", "also write the live packets to pcap `FILE`, to replay later with -r")
	var fileSize string
	var rotateSeconds int
	fs.StringVarP(&fileSize, "file-size", "C", "", "with -w, start a new file (FILE1, FILE2 …) rather than take the current one past `MB`\nmillion bytes, as tcpdump -C")
	fs.IntVarP(&rotateSeconds, "rotate-seconds", "G", 0, "with -w, start a new file every `SECONDS` of packet time, FILE's name passed through\nstrftime(3) ('trace-%H%M%S.pcap'), as tcpdump -G")
	fs.IntVarP(&o.rotation.Files, "file-count", "W", 0, "with -C, at most `COUNT` files, numbered with zeros to COUNT's width and reused\ncyclically; with -G alone, stop once COUNT files are written (as tcpdump -W)")
	fs.StringVarP(&o.dropTo, "relinquish-privileges", "Z", "", "once the capture is open, run as `USER` (and its groups) instead of root, as tcpdump -Z")
	fs.BoolVar(&o.events, "events", false, "show connection events as they happen, a census every --interval and\ndiagnoses as they are raised (default with -i)")
	fs.DurationVar(&o.interval, "interval", 5*time.Second, "with --events, a census line every `DURATION` (0: none)")
	fs.DurationVar(&o.duration, "duration", 0, "stop after `DURATION` (of packet time for -r)")
	fs.Uint64VarP(&o.count, "count", "c", 0, "stop after `COUNT` TCP packets")
	fs.StringVar(&o.format, "format", "text", "output `FORMAT`: text, json (JSON Lines), zeek (a Zeek conn.log) or parquet (the\nconnections as a Parquet file, to a file or pipe: > conns.parquet)")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "trace every packet with the state transitions it caused")
	fs.StringVar(&o.html, "html", "", "also write a self-contained HTML report to `FILE`: summary, diagnoses, census and\ntimeline charts, a table of connections with their ladders")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "no progress bar (shown on a terminal while a file over 8 MB is read)")
	fs.StringVar(&o.ladder, "ladder", "", "draw a ladder diagram of the connections `WHICH` names: all (alone, --ladder\ndraws all), a connection id, an address, :PORT or ADDR:PORT (text format)")
	fs.Lookup("ladder").NoOptDefVal = "all"
	fs.StringVar(&o.color, "color", "auto", "colour the text report: `WHEN` = auto, always or never (NO_COLOR is respected)")
	addAnalysisFlags(fs, &o)
	var shard string
	fs.StringVar(&shard, "shard", "", "follow only the connections of shard `I/N` (I from 0 to N-1) of N processes sharing\na capture: each connection falls in one shard, by a hash of its addresses and ports")
	fs.StringVar(&o.failOn, "fail-on", "", "exit with status 1 when any of these `NAMES` (comma-separated diagnoses, anomalies\nor labels) is found")
	fs.StringVar(&o.appError, "app-error", "", "list only the connections where an application saw `ERROR` (ECONNRESET or 104,\nECONNREFUSED, ETIMEDOUT, EINPROGRESS, EPIPE), by server, with the diagnoses that explain them")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to `FILE` (go tool pprof reads it)")
	fs.StringVar(&o.memProfile, "memprofile", "", "write a heap profile to `FILE` once the report is written")
	fs.BoolVarP(&o.numeric, "numeric", "n", false, "print addresses and ports as numbers (tcpfsm always does: accepted as tcpdump's -n)")
	fs.CountVarP(&o.stamps, "timestamps", "t", "begin -v and --events lines as tcpdump -t does: -t no time, -tt seconds since 1970,\n-ttt since the line before, -tttt with the date, -ttttt since the first line")
	fs.BoolVar(&o.version, "version", false, "print tcpfsm's commit and libpcap's version, and exit")
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fmt.Fprint(stderr, flagUsages(fs))
		fmt.Fprint(stderr, usageTail)
	}
	// Options may come after the filter expression, as tcpdump takes
	// them: a BPF word never starts with a dash, and a lone -- ends the
	// options.
	if err := fs.Parse(ladderValues(args)); err != nil {
		return nil, err
	}
	o.filter = strings.Join(fs.Args(), " ")
	if o.version {
		return &o, nil
	}
	if o.iface != "" && !fs.Changed("events") {
		o.events = true
	}
	switch {
	case o.list:
		return &o, nil
	case len(o.read) == 0 && o.iface == "":
		return nil, errors.New("no capture to read: give -r FILE (or -r - for standard input) or -i INTERFACE")
	case len(o.read) > 0 && o.iface != "":
		return nil, errors.New("give either -r FILE or -i INTERFACE, not both")
	case o.write != "" && o.iface == "":
		return nil, errors.New("-w writes the packets of a live capture (-i); a file given to -r is already a capture")
	case o.write == "-":
		return nil, errors.New("-w -: standard output carries the report; give -w a file name")
	case o.write == "" && (fileSize != "" || rotateSeconds != 0 || o.rotation.Files != 0):
		return nil, errors.New("-C, -G and -W rotate the -w file: give -w FILE")
	case rotateSeconds < 0:
		return nil, fmt.Errorf("-G %d: want a number of seconds above 0", rotateSeconds)
	case o.rotation.Files < 0:
		return nil, fmt.Errorf("-W %d: want a number of files above 0", o.rotation.Files)
	case o.rotation.Files != 0 && fileSize == "" && rotateSeconds == 0:
		return nil, errors.New("-W limits the files of a rotation: give -C MB or -G SECONDS with it")
	case o.snaplen <= 0 || o.snaplen > 262144:
		return nil, fmt.Errorf("-s %d: want a snapshot length from 1 to 262144 bytes", o.snaplen)
	case o.bufferKiB < 0:
		return nil, fmt.Errorf("-B %d: want a buffer size in KiB", o.bufferKiB)
	case o.interval < 0 || o.duration < 0:
		return nil, errors.New("--interval and --duration cannot be negative")
	case o.format != "text" && o.format != "json" && o.format != "zeek" && o.format != "parquet":
		return nil, fmt.Errorf("unknown --format %q: want text, json, zeek or parquet", o.format)
	case o.format == "parquet" && o.verbose:
		return nil, errors.New("-v traces packets in the text and json formats; a Parquet file holds the connections only")
	case o.color != "auto" && o.color != "always" && o.color != "never":
		return nil, fmt.Errorf("unknown --color %q: want auto, always or never", o.color)
	case len(o.read) > 1 && slices.Contains(o.read, "-"):
		return nil, errors.New("-r -: standard input is read alone, not as part of a set of files")
	}
	if fileSize != "" {
		n, err := parseFileSize(fileSize)
		if err != nil {
			return nil, err
		}
		o.rotation.FileSize = n
	}
	o.rotation.Name = o.write
	o.rotation.Interval = time.Duration(rotateSeconds) * time.Second
	if shard != "" {
		sh, err := flow.ParseShard(shard)
		if err != nil {
			return nil, err
		}
		o.shard = sh
	}
	if _, err := parseFailOn(o.failOn); err != nil {
		return nil, err
	}
	if o.appError != "" {
		name, err := report.ParseAppError(o.appError)
		if err != nil {
			return nil, err
		}
		if o.format == "zeek" {
			return nil, errors.New("--app-error lists connections in the text and json formats, not zeek")
		}
		o.appError = name
	}
	if o.ladder != "" {
		sel, err := report.ParseLadder(o.ladder)
		if err != nil {
			return nil, err
		}
		if o.format != "text" {
			return nil, fmt.Errorf("--ladder draws in the text format, not %s", o.format)
		}
		o.ladderSel = sel
	}
	if o.iface != "" {
		name, err := interfaceByNumber(o.iface, libpcap.Interfaces)
		if err != nil {
			return nil, err
		}
		o.iface = name
	}
	if o.dropTo != "" {
		a, err := lookupAccount(o.dropTo)
		if err != nil {
			return nil, err
		}
		o.account = a
	}
	return &o, checkAnalysisFlags(&o)
}

// maxJobs bounds -j: each job keeps a connection table and buffers of
// its own, so a mistyped -j 1000000 would take all memory before reading
// a packet; no machine tcpfsm runs on has more cores than this to use.
const maxJobs = 256

// checkAnalysisFlags validates what addAnalysisFlags defines.
func checkAnalysisFlags(o *options) error {
	switch {
	case o.jobs < 1:
		return fmt.Errorf("-j %d: want at least 1", o.jobs)
	case o.jobs > maxJobs:
		return fmt.Errorf("-j %d: want at most %d", o.jobs, maxJobs)
	case o.maxConns <= 0:
		return fmt.Errorf("--max-conns must be positive, not %d", o.maxConns)
	}
	if _, err := parsePorts(o.zeekPorts); err != nil {
		return err
	}
	_, _, err := parseAt(o.at)
	return err
}

// addAnalysisFlags defines the flags that change what the analysis finds,
// which "tcpfsm check" shares.
func addAnalysisFlags(fs *pflag.FlagSet, o *options) {
	fs.IntVarP(&o.jobs, "jobs", "j", runtime.NumCPU(), "follow connections on `N` cores when reading a file (the output is the same for every N)")
	fs.DurationVar(&o.idleTimeout, "idle-timeout", time.Duration(flow.DefaultIdleTimeout), "report and forget a connection silent for this `DURATION` of capture time")
	fs.DurationVar(&o.closeDelay, "close-delay", time.Duration(flow.DefaultCloseDelay), "report a connection that ended once it has been quiet for this `DURATION` of capture\ntime, and forget it that long after both its sides are CLOSED (TIME_WAIT ran out); 0: when idle")
	fs.IntVar(&o.maxConns, "max-conns", flow.DefaultMaxConns, "track at most `N` connections at once; the least recently active is evicted")
	fs.BoolVar(&o.checksums, "verify-checksums", false, "check TCP checksums and ignore segments whose checksum is wrong, as Zeek does\n(off by default: captures taken on a sending host hold checksums the NIC fills in later)")
	fs.StringVar(&o.zeekPorts, "zeek-server-ports", "", "Zeek's likely_server_ports as `PORTS` (comma-separated, or none), which orient\nconnections seen without their SYN in conn_state and history (default: Zeek's)")
	fs.StringVar(&o.at, "at", "", "take the census of endpoint states at `TIME`: an offset from the first packet (2.5s, 1m)\nor a UTC time (2026-11-22T05:45:20.5Z, \"2026-11-22 05:45:20\"); default: the end")
	d := diagnose.DefaultThresholds()
	th := &o.thresholds
	fs.DurationVar(&th.CloseWait, "close-wait", d.CloseWait, "diagnose close_wait_leak when a side stays in CLOSE_WAIT this `LONG` after the peer's FIN")
	fs.IntVar(&th.TimeWaits, "time-wait", d.TimeWaits, "diagnose time_wait_pileup when a host holds `N` actively closed connections in TIME_WAIT at once")
	fs.IntVar(&th.TimeWaits, "time-wait-closes", d.TimeWaits, "")
	fs.MarkDeprecated("time-wait-closes", "use --time-wait, which counts the TIME_WAITs a host holds at once")
	fs.IntVar(&th.SynFloodHalfOpen, "syn-flood", d.SynFloodHalfOpen, "diagnose syn_flood at `N` half-open connections on one listener...")
	fs.IntVar(&th.SynFloodSources, "syn-flood-sources", d.SynFloodSources, "...from at least `N` source addresses")
	fs.IntVar(&th.ScanTargets, "scan-ports", d.ScanTargets, "diagnose port_scan when one source fails on `N` host:port pairs")
	fs.DurationVar(&th.ZeroWindow, "zero-window", d.ZeroWindow, "diagnose zero_window_stall when a window stays 0 this `LONG`")
	fs.IntVar(&th.Unanswered, "unanswered", d.Unanswered, "diagnose half_open_peer after `N` retransmissions or probes in a row with no answer")
	fs.IntVar(&th.SynRetries, "syn-retries", d.SynRetries, "diagnose syn_unanswered when an attempt's SYN was retried `N` times")
}

// The earliest and latest times --at can name: those a packet can have.
var (
	earliestAt = time.Unix(0, math.MinInt64).UTC() // 1677-09-21 00:12:43.145224192 UTC
	latestAt   = time.Unix(0, math.MaxInt64).UTC() // 2262-04-11 23:47:16.854775807 UTC
)

// parseAt reads --at: a duration is an offset from the first packet
// (fromStart), anything else a UTC time. "" means the end of the capture.
func parseAt(at string) (ns int64, fromStart bool, err error) {
	if at == "" {
		return 0, false, nil
	}
	if d, err := time.ParseDuration(strings.TrimPrefix(at, "+")); err == nil {
		if d < 0 {
			return 0, false, fmt.Errorf("--at %q: an offset cannot be negative", at)
		}
		return int64(d), true, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		t, err := time.Parse(layout, at)
		switch {
		case err != nil:
			continue
		// A time no packet can have (nanoseconds since 1970 in an int64,
		// as capture holds them) would wrap round: 2300 read as 1715.
		case t.Before(earliestAt):
			return 0, false, fmt.Errorf("--at %q: before %s, the earliest time a packet can have", at, earliestAt.Format(time.DateTime))
		case t.After(latestAt):
			return 0, false, fmt.Errorf("--at %q: after %s, the latest time a packet can have", at, latestAt.Format(time.DateTime))
		}
		return t.UnixNano(), false, nil
	}
	return 0, false, fmt.Errorf("--at %q: want an offset such as 2.5s or a time such as 2026-11-22T05:45:20Z", at)
}

// parsePorts reads --zeek-server-ports: "" for Zeek's defaults (nil),
// "none" for the empty set, else a comma-separated list.
func parsePorts(list string) (*zeek.Ports, error) {
	switch list {
	case "":
		return nil, nil
	case "none":
		return new(zeek.Ports), nil
	}
	var ports []uint16
	for _, f := range strings.Split(list, ",") {
		p, err := strconv.ParseUint(strings.TrimSpace(f), 10, 16)
		if err != nil || p == 0 {
			return nil, fmt.Errorf("--zeek-server-ports: %q is not a port number (1-65535)", f)
		}
		ports = append(ports, uint16(p))
	}
	return zeek.NewPorts(ports), nil
}

// useColor decides the text report's colour: "auto" colours only a
// terminal, and never when NO_COLOR is set to anything but the empty string
// (https://no-color.org) or TERM is dumb.
func useColor(mode string, out io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	return isTerminal(out)
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	out := &stickyWriter{w: stdout}
	code := runCommand(args, stdin, out, stderr)
	if out.err != nil && code != exitUsage {
		// The report, or check's verdicts, are lost: that is no success.
		printf(stderr, "tcpfsm: writing to standard output: %v", out.err)
		code = max(code, exitUsage)
	}
	return code
}

func runCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "check" {
		return runCheck(args[1:], stdin, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "names" {
		return runNames(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "merge" {
		return runMerge(args[1:], stdin, stdout, stderr)
	}
	o, err := parseFlags(args, stderr)
	if code, ok := flagsParsed(err, "tcpfsm --help", stderr); !ok {
		return code
	}
	if o.version {
		printVersion(stdout)
		return exitOK
	}
	if o.list {
		return listInterfaces(stdout, stderr)
	}
	if len(o.read) > 0 {
		inputs := o.read
		if files, err := capture.SetFiles(o.read); err == nil {
			inputs = files // a directory or a glob: its files (its errors are openSource's to tell)
		}
		for _, out := range []struct{ flag, name string }{{"--html", o.html}, {"--cpuprofile", o.cpuProfile}, {"--memprofile", o.memProfile}} {
			if err := outputIsInput(out.flag, out.name, stdin, inputs...); err != nil {
				printf(stderr, "tcpfsm: %v", err)
				return exitUsage
			}
		}
	}
	stopProfiles, err := startProfiles(o.cpuProfile, o.memProfile)
	if err != nil {
		printf(stderr, "tcpfsm: %v", quotePath(err))
		return exitUsage
	}
	code, _ := analyse(o, stdin, stdout, stderr, newInterrupt())
	if err := stopProfiles(); err != nil {
		printf(stderr, "tcpfsm: %v", quotePath(err))
		code = max(code, exitUsage)
	}
	return code
}

// stickyWriter keeps the first error writing standard output: a report
// lost to a full disk or a closed descriptor must not end in success,
// whichever part of the program wrote it.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(b []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(b)
	if err != nil {
		s.err = err
	}
	return n, err
}

// reportOptions are the report's options from the command line's.
func reportOptions(o *options, color bool) report.Options {
	return report.Options{
		Format: o.format, Color: color, Thresholds: &o.thresholds, Stream: o.events,
		Verbose: o.verbose, Ladder: o.ladderSel, Mergeable: o.shard.Count > 0, AppError: o.appError,
		Stamps: report.Stamps(min(o.stamps, int(report.StampsSinceFirst))),
	}
}

// analyse runs the analysis the options ask for and writes its report.
// intr turns SIGINT and SIGTERM into the end of the reading, from the
// moment the source is open. It returns the exit status and, with any
// status but exitOK, the error that decided it, which it wrote to stderr
// already (a reportedError): tcpfsm check reads it there.
func analyse(o *options, stdin io.Reader, stdout, stderr io.Writer, intr *interrupt) (int, error) {
	failed := func(code int, format string, args ...any) (int, error) {
		err := reportedError{oneLine(fmt.Sprintf(format, args...))}
		printf(stderr, "tcpfsm: %s", err.msg)
		return code, err
	}
	if o.format == "parquet" && isTerminal(stdout) {
		// Binary garbage on a terminal helps no one, and can upset it.
		return failed(exitUsage, "--format parquet writes a binary file: redirect standard output to a file (> conns.parquet) or a pipe")
	}
	rep, err := report.New(stdout, reportOptions(o, useColor(o.color, stdout)))
	if err != nil {
		return failed(exitUsage, "%v", err)
	}

	tot := &report.Totals{Source: strings.Join(o.read, " "), Shard: o.shard}
	warn := func(err error) {
		if len(tot.Warnings) < maxWarnings {
			tot.Warnings = append(tot.Warnings, oneLine(err.Error()))
			printf(stderr, "tcpfsm: warning: %v", err)
		} else {
			tot.WarningsOmitted++
		}
	}

	src, closeSource, bar, err := openSource(o, stdin, stdout, stderr, warn, intr.done)
	if err != nil {
		return failed(exitUsage, "%v%s", quotePath(err), filterHint(err, o))
	}
	if len(o.files) > 1 {
		tot.Source = setName(o.read, o.files)
	}
	// From here Ctrl-C asks for the report rather than killing the
	// process, as the listening message promises.
	release := intr.catch()
	defer release()
	if o.iface != "" {
		tot.Source = o.iface
		printf(stderr, "tcpfsm: listening on %s, link-type %s, snapshot length %d bytes; Ctrl-C to stop",
			quoteName(o.iface), src.(*capture.Reader).LinkType(), o.snaplen)
	}

	var html *atomicFile
	if o.html != "" {
		// Written beside the old report and renamed over it when
		// complete: a run that dies leaves the old one whole.
		if html, err = createOutput(o.html); err != nil {
			closeSource()
			return failed(exitUsage, "--html: %v", err)
		}
		defer func() {
			if html != nil {
				html.discard()
			}
		}()
		rep = report.WithHTML(rep, html, o.thresholds, o.verbose || o.ladderSel != nil)
	}

	var found *failOn
	if o.failOn != "" {
		names, _ := parseFailOn(o.failOn)
		found, rep = watchFailOn(names, rep, o.thresholds)
	}

	var saveMsg string
	popt := pipelineOptions(o, src, closeSource, rep, tot, warn)
	popt.Stop = &intr.stop
	popt.SaveFailed = func(err error) { saveMsg = saveFailed(o, tot, stderr, err) }
	if bar != nil {
		popt.Progress = bar
	}
	res, repErr := pipeline.Run(popt)
	var interrupted error
	if res.Interrupted {
		// Past the cap on warnings: this one says what the report is.
		tot.Incomplete, tot.Interrupted = true, true
		msg := oneLine(fmt.Sprintf("%s: interrupted by %s after %d packets: the rest of the capture is not in the report",
			readName(o.read, o.files), intr.signalName(), tot.Packets))
		tot.Warnings = append(tot.Warnings, msg)
		printf(stderr, "tcpfsm: warning: %s", msg)
		interrupted = reportedError{msg}
	}
	if o.save.Complete() {
		printf(stderr, "tcpfsm: note: -W %d: the last file of the rotation is written (%s): the capture ends there", o.rotation.Files, quoteName(o.save.Name()))
	}
	if n := tot.Live.Lost(); n > 0 {
		printf(stderr, "tcpfsm: warning: the capture missed %d packets: the report may be wrong about their connections", n)
	}
	if tot.WarningsOmitted > 0 {
		printf(stderr, "tcpfsm: warning: %d more warnings not shown", tot.WarningsOmitted)
	}
	if repErr == nil {
		repErr = rep.Finish(tot)
	}
	if repErr != nil {
		return failed(exitUsage, "writing the report: %v", repErr)
	}
	if o.ladderSel != nil && !o.ladderSel.Matched() {
		printf(stderr, "tcpfsm: --ladder %s: no connection matched, so no ladder is drawn; WHICH is %s", o.ladder, report.LadderForms)
	}
	if html != nil {
		err, html = html.commit(), nil
		if err != nil {
			return failed(exitUsage, "--html: %v", err)
		}
	}
	code, err := exitOK, error(nil)
	if found != nil {
		lines, ferr := found.failures()
		if ferr != nil {
			return failed(exitUsage, "--fail-on: %v", ferr)
		}
		for _, l := range lines {
			code, err = failed(exitCheck, "--fail-on: %s", l)
		}
	}
	switch {
	case res.SaveErr != nil:
		return exitUsage, reportedError{saveMsg} // said once, by saveFailed
	case res.Interrupted:
		return intr.exitCode(), interrupted
	}
	return code, err
}

// drainFor bounds how long a live capture asked to stop goes on reading the
// packets libpcap captured before the request: a full default buffer (some
// thousands of packets) takes milliseconds. A variable for tests.
var drainFor = time.Second

// pipelineOptions are the pipeline's options from the command line's, for
// the source opened and the report made from them.
func pipelineOptions(o *options, src pipeline.Source, closeSource func() error, rep report.Reporter, tot *report.Totals, warn func(error)) pipeline.Options {
	cfg := flow.Config{
		IdleTimeout: int64(o.idleTimeout),
		CloseDelay:  int64(o.closeDelay),
		MaxConns:    o.maxConns,
		ZeekRecords: o.format == "zeek",
		Zeek:        o.format == "json", // the text report shows no conn_state or history
		Shard:       o.shard,
	}
	if o.idleTimeout <= 0 {
		cfg.IdleTimeout = -1
	}
	if o.closeDelay <= 0 {
		cfg.CloseDelay = -1
	}
	cfg.ZeekServerPorts, _ = parsePorts(o.zeekPorts) // checked by parseFlags
	cfg.CensusAt, cfg.CensusFromStart, _ = parseAt(o.at)
	return pipeline.Options{
		Source: src, Close: closeSource, Reporter: rep, Totals: tot, Warn: warn,
		Flow: cfg, Jobs: o.jobs, Interface: o.iface,
		Trace:     o.verbose || o.ladderSel != nil || o.html != "",
		TraceICMP: o.verbose,
		Events:    o.events, Interval: o.interval,
		Count: o.count, Duration: o.duration,
		DrainFor: drainFor,
	}
}

// saveFailed says that a live capture's -w file cannot be written (a full
// disk), which ended the capture: one message naming the file and why,
// on stderr and in the report, which covers the packets read until then.
// It returns the message.
func saveFailed(o *options, tot *report.Totals, stderr io.Writer, err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the file's name comes first already
	}
	msg := oneLine(fmt.Sprintf("-w %s: %v: the capture stopped there; the report covers the packets read until then", quoteName(o.save.Name()), err))
	tot.Warnings = append(tot.Warnings, msg)
	printf(stderr, "tcpfsm: %s", msg)
	return msg
}

// readName is how messages name the capture -r reads.
func readName(read, files []string) string {
	switch {
	case len(files) > 1:
		return setName(read, files)
	case len(read) == 1 && read[0] == "-":
		return "stdin" // as the capture package names it
	case len(read) == 1:
		return quoteName(read[0])
	}
	return quoteName(strings.Join(read, " "))
}

// fileSet is the capture files -r names, read as one capture.
type fileSet struct{ *capture.Set }

func (fileSet) LiveStats() (capture.LiveStats, bool) { return capture.LiveStats{}, false }
func (fileSet) Flush() error                         { return nil }

// openSource opens the files or interface the options name, with a
// progress bar when big files are read on a terminal. The returned
// function closes it, and the -w file, once the report no longer needs
// the source's counters. A source that is not a regular file (a FIFO, a
// pipe) is read so that closing stop ends a read blocked on it.
func openSource(o *options, stdin io.Reader, stdout, stderr io.Writer, warn func(error), stop <-chan struct{}) (pipeline.Source, func() error, *progress, error) {
	// ICMP errors quoting a SYN say how a connect() ended (the app view).
	copts := capture.Options{Filter: o.filter, FilterCompiler: libpcap.Compiler{}, Warn: warn, VerifyChecksums: o.checksums, ICMPErrors: true}
	switch {
	case o.iface != "":
		if o.checksums {
			fmt.Fprintln(stderr, "tcpfsm: note: packets this host sends are captured before the network card fills in their checksums (offload); --verify-checksums ignores them as bad")
		}
		lo := capture.LiveOptions{Snaplen: o.snaplen, BufferSize: o.bufferKiB << 10, Promiscuous: !o.noPromisc}
		// The -w file (or the first of its rotation) is created once the
		// interface and the filter are open, so a capture that cannot
		// start leaves a file of that name as it was (tcpdump too opens
		// its -w file last).
		var save *capture.RotatingWriter
		if o.write != "" {
			var err error
			if save, err = capture.NewRotatingWriter(o.rotation); err != nil {
				return nil, nil, nil, fmt.Errorf("-w %s: %v", quoteName(o.write), err)
			}
			lo.SaveFiles = save
			o.save = save
		}
		copts.ShowName = quoteName
		src, err := libpcap.OpenLive(o.iface, lo, copts)
		if err == nil && o.account != nil {
			if err = dropPrivileges(o.account, save.File()); err != nil {
				src.Close()
				save.Remove()
			}
		}
		if err != nil {
			return nil, nil, nil, err
		}
		closeSave := func() error {
			if err := save.Close(); err != nil {
				return fmt.Errorf("%w: %w", capture.ErrSave, err)
			}
			return nil
		}
		return src, func() error { return errors.Join(src.Close(), closeSave()) }, nil, nil
	case len(o.read) == 1 && o.read[0] == "-":
		if f, ok := stdin.(*os.File); !ok || !isRegular(f) {
			stdin = capture.Interruptible(stdin, stop)
		}
		src, err := capture.NewReader(stdin, "-", copts)
		if err == nil && o.account != nil {
			err = dropPrivileges(o.account)
		}
		if err != nil {
			return nil, nil, nil, err
		}
		return src, src.Close, nil, nil
	}
	files, err := capture.SetFiles(o.read)
	if err != nil {
		return nil, nil, nil, quotePath(err)
	}
	o.files = files
	copts.Stop, copts.ShowName = stop, quoteName
	set, err := capture.OpenSet(files, copts)
	if err == nil && o.account != nil {
		// The files not yet opened are opened as the user -Z names.
		if err = dropPrivileges(o.account); err != nil {
			set.Close()
		}
	}
	if err != nil {
		return nil, nil, nil, err
	}
	var bar *progress
	if wantProgress(o, set.Size(), stdout, stderr) {
		bar = newProgress(set.BytesRead, set.Size(), stderr)
	}
	return fileSet{set}, set.Close, bar, nil
}

// parseFileSize reads -C's millions of bytes, as tcpdump does; a
// fraction ("0.5") is taken too, for files smaller than a megabyte.
func parseFileSize(s string) (int64, error) {
	mb, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil || math.IsNaN(mb) || math.IsInf(mb, 0):
		return 0, fmt.Errorf("-C %s: want a file size in millions of bytes (1 for 1,000,000 bytes)", s)
	case mb*1e6 < 1 || mb > 1e12:
		return 0, fmt.Errorf("-C %s: want a file size from 0.000001 to 1000000000000 million bytes", s)
	}
	return int64(mb * 1e6), nil
}

// setName names a capture of several files in the report: what -r was
// given, if that was one directory or glob, else the first and last files.
func setName(read, files []string) string {
	if len(read) == 1 {
		return fmt.Sprintf("%s (%d files)", quoteName(read[0]), len(files))
	}
	return fmt.Sprintf("%s ... %s (%d files)", quoteName(files[0]), quoteName(files[len(files)-1]), len(files))
}

// filterHint explains a filter libpcap rejects when its first word is a
// file: the words after the options are the filter, as for tcpdump, never
// more files to read, whatever exists on disk.
func filterHint(err error, o *options) string {
	if !errors.Is(err, capture.ErrFilter) {
		return ""
	}
	word, _, _ := strings.Cut(o.filter, " ")
	if _, statErr := os.Stat(word); statErr != nil || len(o.read) == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s is a file, but the words after the options are a filter: read several files with -r once for each, a directory, or a quoted glob)", word)
}

// isRegular tells whether f is a regular file, which a read never waits on.
func isRegular(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode().IsRegular()
}

// interrupt is the first SIGINT or SIGTERM, once caught: a request to stop
// reading and write the report. A second one kills the process as usual.
type interrupt struct {
	stop     atomic.Bool   // set at the signal, before done closes
	done     chan struct{} // closed at the signal: ends a read blocked on a pipe
	sig      os.Signal     // the signal, once stop is set
	catching bool
}

func newInterrupt() *interrupt { return &interrupt{done: make(chan struct{})} }

// ignoredAtStart are the signals tcpfsm was started with ignored, which
// it leaves so: a shell without job control starts its background jobs
// with SIGINT ignored, and the Ctrl-C of its terminal is not meant for
// them. Read before any is caught, which would make it not ignored.
var ignoredAtStart = map[os.Signal]bool{
	os.Interrupt:    signal.Ignored(os.Interrupt),
	syscall.SIGTERM: signal.Ignored(syscall.SIGTERM),
}

// catch starts turning the signals into the request, and returns what
// stops it. When the interrupt catches already (tcpfsm check catches them
// for the whole run, not capture by capture), it does nothing.
func (in *interrupt) catch() (release func()) {
	if in.catching {
		return func() {}
	}
	in.catching = true
	sig := make(chan os.Signal, 1)
	released := make(chan struct{})
	for _, s := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		if !ignoredAtStart[s] {
			signal.Notify(sig, s)
		}
	}
	go func() {
		select {
		case s := <-sig:
			in.request(s)
			signal.Stop(sig)
		case <-released:
		}
	}()
	return func() {
		signal.Stop(sig)
		close(released)
		in.catching = false
	}
}

// request is what a signal does: stop, then wake a blocked read.
func (in *interrupt) request(s os.Signal) {
	in.sig = s
	in.stop.Store(true)
	close(in.done)
}

// requested tells whether a signal asked to stop.
func (in *interrupt) requested() bool { return in.stop.Load() }

// signalName names the signal caught, as kill -l does.
func (in *interrupt) signalName() string {
	if in.sig == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}

// exitCode is the status of a read the signal interrupted: 128 plus the
// signal's number, as shells report a command a signal ended (130 for
// SIGINT, 143 for SIGTERM).
func (in *interrupt) exitCode() int {
	if s, ok := in.sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 128 + int(syscall.SIGINT)
}

// listInterfaces prints what -i can capture on, numbered as tcpdump -D does.
func listInterfaces(stdout, stderr io.Writer) int {
	ifs, err := libpcap.Interfaces()
	if err != nil {
		printf(stderr, "tcpfsm: listing interfaces: %v", err)
		return exitUsage
	}
	for i, ifc := range ifs {
		fmt.Fprintf(stdout, "%d.%s", i+1, ifc.Name)
		if ifc.Description != "" {
			fmt.Fprintf(stdout, " (%s)", ifc.Description)
		}
		if len(ifc.Flags) > 0 {
			fmt.Fprintf(stdout, " [%s]", strings.Join(ifc.Flags, ", "))
		}
		fmt.Fprintln(stdout)
	}
	return exitOK
}
