package report

import (
	"iter"

	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/report/diagnose"
)

// The stream is what a live capture shows while it runs (Options.Stream):
// one line per connection event as it happens, a census line every
// interval, and each diagnosis the moment its evidence is enough. The
// connection records and the closing summary are written as without it, so
// the final report is that of an offline capture of the same packets.

// Event is one connection event.
type Event struct {
	Time int64
	What fsm.Event // a single event
	Dir  fsm.Dir   // the side whose segment caused it
	// Conn is the connection as it stands after the segment (Reason
	// flow.ReasonOpen).
	Conn *flow.Record
}

// Tick is the running view of a capture, taken every interval.
type Tick struct {
	Time int64
	// Census is the state census now; nil writes no census line.
	Census *flow.Census
	// Open yields the connections still open that have been quiet for a
	// moment, to judge provisionally what would be diagnosed now.
	Open       iter.Seq[*flow.Record]
	TCPPackets uint64        // TCP packets read so far
	Live       *LiveCounters // libpcap's counters so far; nil for a file
}

// LiveCounters are libpcap's counters for a live capture (pcap_stats).
type LiveCounters struct {
	Interface string
	Received  uint64 // packets that passed the filter
	Dropped   uint64 // dropped by the kernel: the capture buffer was full
	IfDropped uint64 // dropped by the interface or its driver
}

// Lost is how many packets the capture missed.
func (l *LiveCounters) Lost() uint64 {
	if l == nil {
		return 0
	}
	return l.Dropped + l.IfDropped
}

// announcer remembers which diagnoses the stream has announced.
type announcer struct {
	seen map[[2]string]bool
}

// raised returns the diagnoses, judged over the finished connections in
// diag plus the open ones, that were not announced before.
func (a *announcer) raised(diag *diagnose.Collector, open iter.Seq[*flow.Record]) []diagnose.Diagnosis {
	if a.seen == nil {
		a.seen = map[[2]string]bool{}
	}
	if open != nil {
		diag = diag.Clone()
		for r := range open {
			diag.Add(r)
		}
	}
	var out []diagnose.Diagnosis
	for _, d := range diag.Diagnoses() {
		k := [2]string{d.Name, d.Endpoint}
		if !a.seen[k] {
			a.seen[k] = true
			out = append(out, d)
		}
	}
	return out
}

// unanswered says whether a finished connection's handshake went
// unanswered, which no single segment announces: it shows only when the
// connection leaves the table (idle, or the capture ends).
func unanswered(r *flow.Record) bool {
	return r.Handshake == fsm.HandshakeUnanswered || r.Handshake == fsm.HandshakeSynAckUnanswered
}
