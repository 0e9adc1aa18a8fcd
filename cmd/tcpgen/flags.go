package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

const usageHead = `Usage: tcpgen -o FILE [options]

Writes a deterministic synthetic capture (classic pcap, Ethernet, nanosecond
timestamps) of TCP connections of known kinds: normal ones closed by FIN,
reset ones, retransmitted SYN/ACKs, half-open, refused and unanswered
handshakes, and optionally a spoofed SYN flood. The same flags and seed give
the same bytes. A summary goes to standard error; -manifest writes exact
counts as JSON, to compare with an analyzer's report. Flags take one dash
or two (-conns or --conns).

Examples:
  tcpgen -o big.pcap -seed 1 -conns 352000 -concurrent 10000
  tcpgen -o flood.pcap -seed 2 -conns 100000 -concurrent 10000 -synflood 1000000
  tcpgen -o - -conns 1000 -mix refused=1,unanswered=1 | tcpfsm -r -
  tcpgen -o small.pcap -conns 5000 -snaplen 96 -manifest small.json

Options:
`

const usageTail = `
Kinds for -mix: normal (FIN close by either side), rst (reset by either
side), synack_retransmit, half_open, refused, unanswered. Weights need not
add up to 100; kinds not named get 0.
`

// maxCount bounds -conns and -synflood: far more than any disk holds, and
// below where client ports or flood addresses would run out.
const maxCount = 100_000_000

// defaultStart is the capture's first instant unless -start says otherwise.
var defaultStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// defaultMix is the default share of each kind, in percent.
var defaultMix = [numKinds]float64{
	kindNormal: 80, kindRST: 5, kindSynAckRetransmit: 4, kindHalfOpen: 3, kindRefused: 4, kindUnanswered: 4,
}

// config is what the flags ask for.
type config struct {
	out            string
	manifest       string
	seed           uint64
	conns          int
	concurrent     int
	ipv6           float64
	synflood       int
	snaplen        int
	start          time.Time
	mix            [numKinds]float64
	dataRetransmit float64
	quiet          bool
	hostile        string
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	var c config
	var start, mix string
	fs := pflag.NewFlagSet("tcpgen", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.StringVarP(&c.out, "output", "o", "", "write the capture to `FILE` (- for standard output)")
	fs.Uint64Var(&c.seed, "seed", 1, "`N` seeds the generator: the same flags and seed give the same bytes")
	fs.IntVar(&c.conns, "conns", 10000, "`N` connections")
	fs.IntVar(&c.concurrent, "concurrent", 1000, "`W` connections under way at once")
	fs.Float64Var(&c.ipv6, "ipv6", 0.1, "`FRACTION` of the connections over IPv6")
	fs.IntVar(&c.synflood, "synflood", 0, "add `M` spoofed-source SYNs to 198.51.100.10:80, never answered")
	fs.IntVar(&c.snaplen, "snaplen", 0, "keep at most `BYTES` of each frame (the wire length stays in the record); 0: whole frames")
	fs.StringVar(&start, "start", defaultStart.Format(time.RFC3339), "the capture starts at `TIME`: RFC 3339 (2026-01-01T00:00:00Z) or Unix seconds")
	fs.StringVar(&mix, "mix", mixString(defaultMix), "`WEIGHTS` of the connection kinds, kind=weight,...")
	fs.Float64Var(&c.dataRetransmit, "data-retransmit", 0.03, "`FRACTION` of normal connections with one response segment retransmitted")
	fs.StringVar(&c.manifest, "manifest", "", "also write the exact counts as JSON to `FILE`")
	fs.BoolVarP(&c.quiet, "quiet", "q", false, "no summary on standard error")
	fs.StringVar(&c.hostile, "hostile", "", "instead, write the hostile-capture suite (broken files, odd headers) into `DIR`")
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
		fmt.Fprint(stderr, usageTail)
	}
	if err := fs.Parse(longDashes(fs, args)); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if c.start, err = parseStart(start); err != nil {
		return nil, err
	}
	if c.mix, err = parseMix(mix); err != nil {
		return nil, err
	}
	switch {
	case c.hostile != "":
		return &c, nil
	case c.out == "":
		return nil, errors.New("no output: give -o FILE (or -o - for standard output), or -hostile DIR")
	case c.conns < 0 || c.synflood < 0:
		return nil, errors.New("-conns and -synflood cannot be negative")
	case c.conns > maxCount || c.synflood > maxCount:
		return nil, fmt.Errorf("-conns and -synflood: at most %d each", maxCount)
	case c.concurrent < 1:
		return nil, fmt.Errorf("-concurrent %d: want at least 1", c.concurrent)
	case c.concurrent > 10_000_000:
		return nil, fmt.Errorf("-concurrent %d: want at most 10000000", c.concurrent)
	case !(c.ipv6 >= 0 && c.ipv6 <= 1):
		return nil, fmt.Errorf("-ipv6 %v: want a fraction from 0 to 1", c.ipv6)
	case !(c.dataRetransmit >= 0 && c.dataRetransmit <= 1):
		return nil, fmt.Errorf("-data-retransmit %v: want a fraction from 0 to 1", c.dataRetransmit)
	case c.snaplen < 0 || c.snaplen > 262144:
		return nil, fmt.Errorf("-snaplen %d: want 0 (whole frames) to 262144 bytes", c.snaplen)
	case c.snaplen > 0 && c.snaplen < 14:
		return nil, fmt.Errorf("-snaplen %d: less than an Ethernet header", c.snaplen)
	}
	return &c, nil
}

// longDashes lets long flags take one dash, as in "-conns 1000": an
// argument "-name" or "-name=value" whose name is a long flag (and not a
// run of shorthands) becomes "--name".
func longDashes(fs *pflag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			name, _, _ := strings.Cut(a[1:], "=")
			if fs.Lookup(name) != nil {
				a = "-" + a
			}
		}
		out = append(out, a)
	}
	return out
}

// parseStart reads -start: RFC 3339 or (fractional) Unix seconds.
func parseStart(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f < 1<<32 {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("-start %q: want a time such as 2026-01-01T00:00:00Z or Unix seconds", s)
}

// parseMix reads -mix: kind=weight pairs; kinds not named get 0.
func parseMix(s string) ([numKinds]float64, error) {
	var mix [numKinds]float64
	var total float64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, val, ok := strings.Cut(f, "=")
		k, known := kindByName(strings.TrimSpace(name))
		if !ok || !known {
			return mix, fmt.Errorf("-mix: %q: want kind=weight, kind one of %s", f, strings.Join(kindNames[:], ", "))
		}
		w, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil || w < 0 || math.IsInf(w, 0) || math.IsNaN(w) {
			return mix, fmt.Errorf("-mix: %q: the weight must be a number, 0 or more", f)
		}
		mix[k] = w
		total += w
	}
	if total <= 0 {
		return mix, errors.New("-mix: give at least one kind a weight above 0")
	}
	return mix, nil
}

func mixString(mix [numKinds]float64) string {
	var parts []string
	for k, w := range mix {
		if w > 0 {
			parts = append(parts, kindNames[k]+"="+strconv.FormatFloat(w, 'g', -1, 64))
		}
	}
	return strings.Join(parts, ",")
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "tcpgen: %v\nRun 'tcpgen --help' for usage.\n", err)
		return 2
	}
	if cfg.hostile != "" {
		if err := writeHostile(cfg.hostile); err != nil {
			fmt.Fprintf(stderr, "tcpgen: %v\n", err)
			return 1
		}
		return 0
	}
	out := stdout
	var file *os.File
	if cfg.out != "-" {
		if file, err = os.Create(cfg.out); err != nil {
			fmt.Fprintf(stderr, "tcpgen: %v\n", err)
			return 1
		}
		out = file
	}
	began := time.Now()
	m, err := generate(cfg, out)
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "tcpgen: writing %s: %v\n", cfg.out, err)
		return 1
	}
	elapsed := time.Since(began)
	if cfg.manifest != "" {
		if err := m.writeFile(cfg.manifest); err != nil {
			fmt.Fprintf(stderr, "tcpgen: %v\n", err)
			return 1
		}
	}
	if !cfg.quiet {
		fmt.Fprintln(stderr, m.line(cfg.out, elapsed))
	}
	return 0
}
