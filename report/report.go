// Package report turns finished connections into what the user reads: a
// text report for terminals and JSON Lines for programs.
//
// Both formats stream: each connection is written as it leaves the
// connection table, and a summary (totals, a netstat-like census of the
// endpoint states at the end of the capture, anomaly counts) closes the
// output. Nothing here reads packets; the caller supplies the capture-level
// counts in Totals.
package report

import (
	"fmt"
	"io"
	"net/netip"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

// Options configure a Reporter.
type Options struct {
	Format string // "text", "json", "zeek" or "parquet"
	Color  bool   // colour the text format
	// Thresholds are the evidence each diagnosis needs; the zero value
	// means diagnose.DefaultThresholds.
	Thresholds *diagnose.Thresholds
	// Stream also writes connection events, a running census and each
	// diagnosis as it is raised (see Event and Tick), and writes every
	// line out at once: for a live capture.
	Stream bool
	// Verbose writes the trace of every packet given to Trace (-v).
	Verbose bool
	// Ladder, if set, draws a ladder diagram after each chosen connection,
	// from the segments given to Trace; only the text format draws.
	Ladder *LadderSelect
	// Mergeable adds to the JSON format what "tcpfsm merge" needs to
	// rebuild the report of one run from those of its shards: each
	// record whole (the "merge" key of a conn object) and the summary's
	// "merge" object (see MergeState). --shard asks for it.
	Mergeable bool
	// AppError, an error name as ParseAppError returns it, lists only the
	// connections where a side's application saw that error, and groups
	// them by server endpoint with the diagnoses that explain them (text
	// and JSON). The summary and the diagnoses are of every connection.
	AppError string
	// Stamps is how the text format begins its trace, event and census
	// lines (tcpdump's -t, -tt, ...).
	Stamps Stamps
}

// Totals are the capture-level facts the summary needs, gathered by the
// caller from the packet source and the connection table.
type Totals struct {
	Source     string // file name, "-" for standard input, or interface
	Packets    uint64 // every record read
	TCPPackets uint64
	NonTCP     uint64
	Fragments  uint64 // IP fragments held for reassembly (not the one completing a datagram)
	// Reassembled and DroppedDatagrams count fragmented datagrams: put
	// back together (and counted by what they held), or given up.
	Reassembled      uint64
	DroppedDatagrams uint64
	Filtered         uint64 // rejected by the BPF filter
	Malformed        uint64
	Truncated        uint64 // TCP packets cut short by the snaplen, still analysed
	BadChecksum      uint64 // TCP segments with a wrong checksum (--verify-checksums), ignored
	BadIPChecksum    uint64 // packets with a wrong IPv4 header checksum (--verify-checksums), dropped
	First, Last      int64  // first and last packet time, Unix nanoseconds
	Flow             flow.Stats
	// Census is the netstat-like census of endpoint states per host, at
	// the end of the capture or the instant asked for.
	Census          *flow.Census
	Warnings        []string // problems met while reading, worst last
	WarningsOmitted uint64   // warnings beyond those listed
	Incomplete      bool     // reading stopped early: the capture is cut short
	// Interrupted: a signal stopped the reading of a file before its end
	// (Incomplete too). A Zeek log then has no #close line, as Zeek's
	// own has none when it is killed.
	Interrupted bool
	// Live holds libpcap's counters of a live capture; nil for a file.
	Live *LiveCounters
	// Shard is the share of the capture's connections the report covers
	// (--shard); the zero Shard is all of them.
	Shard flow.Shard
	// ICMPErrors counts the ICMP and ICMPv6 errors quoting a TCP segment
	// that were read (each is also a packet not TCP).
	ICMPErrors uint64
}

// MergeState is the summary's "merge" object, written with
// Options.Mergeable: what the summary's other keys do not say exactly, and
// "tcpfsm merge" needs to add up the reports of shards.
type MergeState struct {
	// Version is MergeVersion: the layout of the "merge" keys.
	Version int `json:"version"`
	// Shard is the report's share of the capture, "INDEX/COUNT".
	Shard string `json:"shard"`
	// First and Last are the first and last packet times in nanoseconds.
	First int64 `json:"first"`
	Last  int64 `json:"last"`
	// Thresholds are the diagnoses' thresholds the report judged by.
	Thresholds diagnose.Thresholds `json:"thresholds"`
	// Census is the census as the counts it was built from.
	Census *flow.CensusState `json:"census"`
}

// MergeVersion is the version of the "merge" keys' layout this tcpfsm
// writes and reads.
const MergeVersion = 1

// TraceLine is one packet of the -v trace.
type TraceLine struct {
	// Index is the packet's number in its file, and File that file when
	// the capture is a set of several ("" otherwise).
	Index    uint64
	File     string
	Time     int64
	ConnID   uint64
	From, To netip.AddrPort
	Seg      fsm.Segment
	Result   fsm.StepResult
	// ICMP is set when the packet is an ICMP or ICMPv6 error quoting a
	// segment of the connection: From, To and Seg.Seq are then the quoted
	// segment's, Result holds only the states before and after the error
	// (as netstat shows them at its time), and ConnID is 0 when no
	// connection was followed for it.
	ICMP *fsm.ICMPError
}

// Reporter receives connections as they finish and writes them.
type Reporter interface {
	Conn(r *flow.Record) error
	Trace(l *TraceLine) error
	// Event and Tick write the stream of Options.Stream; without it they
	// write nothing.
	Event(e *Event) error
	Tick(t *Tick) error
	Finish(t *Totals) error
}

// HoldsOutput tells whether a report made with opt writes nothing to its
// writer before Finish: the text report holds its connections until it
// has written the diagnoses, which come first, unless it streams events
// or the per-packet trace (-v), which are read as they come; the
// diagnoses then come last.
func HoldsOutput(opt Options) bool {
	return (opt.Format == "" || opt.Format == "text") && !opt.Stream && !opt.Verbose
}

// New returns a Reporter for opt.Format writing to w.
func New(w io.Writer, opt Options) (Reporter, error) {
	th := diagnose.DefaultThresholds()
	if opt.Thresholds != nil {
		th = *opt.Thresholds
	}
	switch opt.Format {
	case "", "text":
		t := newText(w, opt.Color, th, opt.Stream, HoldsOutput(opt))
		t.verbose, t.ladder, t.appErr, t.stamps = opt.Verbose, opt.Ladder, newAppErrors(opt.AppError), opt.Stamps
		return t, nil
	case "json":
		j := newJSON(w, th, opt.Stream)
		j.mergeable, j.appErr = opt.Mergeable, newAppErrors(opt.AppError)
		return j, nil
	case "zeek":
		if opt.AppError != "" {
			return nil, fmt.Errorf("--app-error lists connections in the text and json formats, not zeek")
		}
		return newZeek(w, opt.Stream), nil
	case "parquet":
		return newParquet(w, th, opt.Mergeable), nil
	}
	return nil, fmt.Errorf("unknown format %q (want text, json, zeek or parquet)", opt.Format)
}

// warnings are the summary's warnings, the same in every format: first,
// for a live capture that missed packets, that (it casts doubt on all the
// rest), then those met while reading.
func (t *Totals) warnings() []string {
	n := t.Live.Lost()
	if n == 0 {
		return t.Warnings
	}
	return append([]string{lostAdvice(n)}, t.Warnings...)
}

// lostAdvice is the warning for a live capture that missed packets.
func lostAdvice(n uint64) string {
	return fmt.Sprintf("the capture missed %d packets, so connections may be misreported: "+
		"give libpcap a bigger buffer (-B), keep fewer bytes per packet (-s) or narrow the filter", n)
}
