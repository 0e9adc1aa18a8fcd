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

// announcer remembers which diagnoses, and which unanswered handshakes,
// the stream has announced.
type announcer struct {
	seen      map[[2]string]bool
	abandoned map[uint64]bool // connection ids whose unanswered handshake was announced
}

// tick looks once at the open connections: each whose unanswered
// handshake has been given up since the last tick goes to abandoned, and
// all of them are judged with the finished ones in diag. It returns the
// diagnoses not announced before.
func (a *announcer) tick(diag *diagnose.Collector, open iter.Seq[*flow.Record], now int64, abandoned func(r *flow.Record)) []diagnose.Diagnosis {
	if a.seen == nil {
		a.seen = map[[2]string]bool{}
	}
	if open != nil {
		diag = diag.Clone()
		for r := range open {
			if unanswered(r) && !a.abandoned[r.ID] && gaveUp(r, now) {
				if a.abandoned == nil {
					a.abandoned = map[uint64]bool{}
				}
				a.abandoned[r.ID] = true
				abandoned(r)
			}
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

// announcedAtEnd says whether a finished connection's unanswered handshake
// still needs its event, and forgets it either way.
func (a *announcer) announcedAtEnd(r *flow.Record) bool {
	if a.abandoned[r.ID] {
		delete(a.abandoned, r.ID)
		return true
	}
	return false
}

// gaveUp says whether the side still sending SYNs (or SYN/ACKs) of an
// unanswered handshake has given up by now. Linux doubles the wait before
// each retransmission and, after the last one, waits once more as long
// before giving up (tcp_syn_retries=6: SYNs at 0, 1, 3, 7, 15, 31 and 63 s,
// and the connect() fails at 127 s): so no retransmission for twice the
// last gap, with a quarter more for timer slack, means no more will come.
// A single SYN not retried within 3 s will not be either (the first retry
// comes after 1 s). With all the SYN times the Result keeps used up, the
// end of the connection says it instead.
func gaveUp(r *flow.Record, now int64) bool {
	times := retrierSide(r).SYNTimes
	n := len(times)
	if n == 0 || n >= fsm.MaxSYNTimes {
		return false
	}
	wait := int64(3e9)
	if n >= 2 {
		gap := times[n-1] - times[n-2]
		wait = 2*gap + gap/4
	}
	return now-times[n-1] > wait
}

// unanswered says whether a finished connection's handshake went
// unanswered, which no single segment announces: it shows only when the
// connection leaves the table (idle, or the capture ends).
func unanswered(r *flow.Record) bool {
	return r.Handshake == fsm.HandshakeUnanswered || r.Handshake == fsm.HandshakeSynAckUnanswered
}

// retrier is the side that sent the unanswered SYNs (or SYN/ACKs).
func retrier(r *flow.Record) fsm.Dir {
	if r.Handshake == fsm.HandshakeSynAckUnanswered {
		return fsm.FromServer
	}
	return fsm.FromClient
}

func retrierSide(r *flow.Record) *fsm.Side {
	if retrier(r) == fsm.FromServer {
		return &r.Server
	}
	return &r.Client
}
