package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/pflag"

	"github.com/tcpfsm/tcpfsm/capture"
	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
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

const usageHead = `Usage: tcpfsm -r FILE [options] [filter expression]

Reads a tcpdump capture (pcap or pcapng, optionally gzip-compressed; "-" is
standard input) and reports every TCP connection in it: how it opened, how
it closed, the RFC 793 state each endpoint is left in, and what went wrong.
A filter expression after the options is a tcpdump/BPF filter.

Examples:
  tcpfsm -r capture.pcap
  tcpfsm -r capture.pcap tcp port 9502
  tcpdump -i eth0 -w - 'tcp port 443' | tcpfsm -r -
  tcpfsm -r capture.pcap.gz --format json | jq 'select(.handshake != "complete")'
  tcpfsm -r capture.pcap -v          # every packet with the state changes it caused

Options:
`

const usageTail = `
Exit status: 0 success, 1 a check that was asked for failed, 2 usage or
input error (a capture that could not be read at all).
`

type options struct {
	read        string
	count       uint64
	format      string
	verbose     bool
	color       string
	idleTimeout time.Duration
	maxConns    int
	checksums   bool
	zeekPorts   string
	thresholds  diagnose.Thresholds
	at          string
	filter      string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	var o options
	fs := pflag.NewFlagSet("tcpfsm", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.StringVarP(&o.read, "read", "r", "", "read packets from `FILE` (pcap, pcapng, gzip; - for standard input)")
	fs.Uint64VarP(&o.count, "count", "c", 0, "stop after `COUNT` TCP packets")
	fs.StringVar(&o.format, "format", "text", "output `FORMAT`: text, json (JSON Lines) or zeek (a Zeek conn.log)")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "trace every packet with the state transitions it caused")
	fs.StringVar(&o.color, "color", "auto", "colour the text report: `WHEN` = auto, always or never (NO_COLOR is respected)")
	fs.DurationVar(&o.idleTimeout, "idle-timeout", time.Duration(flow.DefaultIdleTimeout), "report and forget a connection silent for this `DURATION` of capture time")
	fs.IntVar(&o.maxConns, "max-conns", flow.DefaultMaxConns, "track at most `N` connections at once; the least recently active is evicted")
	fs.BoolVar(&o.checksums, "verify-checksums", false, "check TCP checksums and ignore segments whose checksum is wrong, as Zeek does\n(off by default: captures taken on a sending host hold checksums the NIC fills in later)")
	fs.StringVar(&o.zeekPorts, "zeek-server-ports", "", "Zeek's likely_server_ports as `PORTS` (comma-separated, or none), which orient\nconnections seen without their SYN in conn_state and history (default: Zeek's)")
	fs.StringVar(&o.at, "at", "", "take the census of endpoint states at `TIME`: an offset from the first packet (2.5s, 1m)\nor a UTC time (2026-11-22T05:45:20.5Z, \"2026-11-22 05:45:20\"); default: the end")
	d := diagnose.DefaultThresholds()
	th := &o.thresholds
	fs.DurationVar(&th.CloseWait, "close-wait", d.CloseWait, "diagnose close_wait_leak when a side stays in CLOSE_WAIT this `LONG` after the peer's FIN")
	fs.IntVar(&th.TimeWaitCloses, "time-wait-closes", d.TimeWaitCloses, "diagnose time_wait_pileup when a host actively closes `N` connections")
	fs.IntVar(&th.SynFloodHalfOpen, "syn-flood", d.SynFloodHalfOpen, "diagnose syn_flood at `N` half-open connections on one listener...")
	fs.IntVar(&th.SynFloodSources, "syn-flood-sources", d.SynFloodSources, "...from at least `N` source addresses")
	fs.IntVar(&th.ScanTargets, "scan-ports", d.ScanTargets, "diagnose port_scan when one source fails on `N` host:port pairs")
	fs.DurationVar(&th.ZeroWindow, "zero-window", d.ZeroWindow, "diagnose zero_window_stall when a window stays 0 this `LONG`")
	fs.IntVar(&th.Unanswered, "unanswered", d.Unanswered, "diagnose half_open_peer after `N` retransmissions or probes in a row with no answer")
	fs.IntVar(&th.SynRetries, "syn-retries", d.SynRetries, "diagnose syn_unanswered when an attempt's SYN was retried `N` times")
	fs.SetInterspersed(false)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
		fmt.Fprint(stderr, usageTail)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.filter = strings.Join(fs.Args(), " ")
	switch {
	case o.read == "":
		return nil, errors.New("no capture to read: give -r FILE (or -r - for standard input)")
	case o.format != "text" && o.format != "json" && o.format != "zeek":
		return nil, fmt.Errorf("unknown --format %q: want text, json or zeek", o.format)
	case o.color != "auto" && o.color != "always" && o.color != "never":
		return nil, fmt.Errorf("unknown --color %q: want auto, always or never", o.color)
	case o.maxConns <= 0:
		return nil, fmt.Errorf("--max-conns must be positive, not %d", o.maxConns)
	}
	if _, err := parsePorts(o.zeekPorts); err != nil {
		return nil, err
	}
	if _, _, err := parseAt(o.at); err != nil {
		return nil, err
	}
	return &o, nil
}

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
		if t, err := time.Parse(layout, at); err == nil {
			return t.UnixNano(), false, nil
		}
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
	f, ok := out.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, pflag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "tcpfsm: %v\nRun 'tcpfsm --help' for usage.\n", err)
		return exitUsage
	}
	rep, err := report.New(stdout, report.Options{Format: o.format, Color: useColor(o.color, stdout), Thresholds: &o.thresholds})
	if err != nil {
		fmt.Fprintf(stderr, "tcpfsm: %v\n", err)
		return exitUsage
	}

	tot := &report.Totals{Source: o.read}
	warn := func(err error) {
		if len(tot.Warnings) < maxWarnings {
			tot.Warnings = append(tot.Warnings, err.Error())
			fmt.Fprintf(stderr, "tcpfsm: warning: %v\n", err)
		} else {
			tot.WarningsOmited++
		}
	}

	copts := capture.Options{Filter: o.filter, Warn: warn, VerifyChecksums: o.checksums}
	var src *capture.Reader
	if o.read == "-" {
		src, err = capture.NewReader(stdin, "-", copts)
	} else {
		src, err = capture.Open(o.read, copts)
	}
	if err != nil {
		fmt.Fprintf(stderr, "tcpfsm: %v\n", err)
		return exitUsage
	}
	defer src.Close()

	var repErr error
	cfg := flow.Config{
		IdleTimeout: int64(o.idleTimeout),
		MaxConns:    o.maxConns,
		ZeekRecords: o.format == "zeek",
		Zeek:        o.format == "json", // the text report shows no conn_state or history
		Done: func(r *flow.Record) {
			if repErr == nil {
				repErr = rep.Conn(r)
			}
		},
	}
	if o.idleTimeout <= 0 {
		cfg.IdleTimeout = -1
	}
	cfg.ZeekServerPorts, _ = parsePorts(o.zeekPorts) // checked by parseFlags
	cfg.CensusAt, cfg.CensusFromStart, _ = parseAt(o.at)
	cfg.Census = func(c *flow.Census) { tot.Census = c }
	if o.verbose {
		var line report.TraceLine
		cfg.Trace = func(c *flow.Conn, p *capture.Packet, seg *fsm.Segment, res fsm.StepResult) {
			line = report.TraceLine{
				Index: p.Index, Time: seg.Time, ConnID: c.ID, Seg: *seg, Result: res,
				From: c.Client, To: c.Server,
			}
			if seg.Dir == fsm.FromServer {
				line.From, line.To = c.Server, c.Client
			}
			if repErr == nil {
				repErr = rep.Trace(&line)
			}
		}
	}
	table := flow.New(cfg)

	var p capture.Packet
	var n uint64
	for o.count == 0 || n < o.count {
		err := src.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			// The capture is cut short or corrupt: keep what was read.
			tot.Incomplete = true
			warn(err)
			break
		}
		n++
		ts := p.Timestamp.UnixNano()
		if n == 1 || ts < tot.First {
			tot.First = ts
		}
		tot.Last = max(tot.Last, ts)
		table.Add(&p)
		if repErr != nil {
			break
		}
	}
	table.Flush()

	st := src.Stats()
	tot.Packets, tot.TCPPackets, tot.NonTCP, tot.Fragments = st.Packets, st.TCP, st.NonTCP, st.Fragments
	tot.Filtered, tot.Malformed, tot.Truncated = st.Filtered, st.Malformed, st.Truncated
	tot.BadChecksum, tot.BadIPChecksum = st.BadChecksum, st.BadIPChecksum
	tot.Flow = table.Stats()
	if tot.WarningsOmited > 0 {
		fmt.Fprintf(stderr, "tcpfsm: warning: %d more warnings not shown\n", tot.WarningsOmited)
	}
	if repErr == nil {
		repErr = rep.Finish(tot)
	}
	if repErr != nil {
		fmt.Fprintf(stderr, "tcpfsm: writing the report: %v\n", repErr)
		return exitUsage
	}
	return exitOK
}
