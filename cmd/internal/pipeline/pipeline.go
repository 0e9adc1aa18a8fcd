// Package pipeline is tcpfsm's analysis of one capture: the one pipeline
// both sources feed, packets from capture files or an interface going
// through the connection table (flow, which steps fsm) to a reporter,
// with the clocks of --interval and --duration, -c's count and the end of
// the reading (the capture's end, a stop request, a -w file that cannot be
// written). Run takes Options and returns a Result and an error; it reads
// a source the caller opened and writes to a reporter the caller made, so
// that the command (cmd/tcpfsm) keeps the flags, the messages about them,
// the exit codes and the opening of files and interfaces.
package pipeline

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/tcpfsm/tcpfsm/capture"
	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/report"
)

// JudgeAfter is how old an open connection must be before the running
// diagnoses count it: a handshake still in flight is not an unanswered one.
// Linux resends an unanswered SYN or SYN/ACK after 1 s.
const JudgeAfter int64 = 1e9

// ProgressEvery is how many packets pass between calls to
// Progress.Update, so that a progress bar costs nothing per packet.
const ProgressEvery = 1 << 14

// Source is what the pipeline reads: a capture.Reader (a live capture, or
// standard input) or the capture files read as one (a capture.Set, with
// no live counters and nothing to flush).
type Source interface {
	Next(p *capture.Packet) error
	Now() time.Time
	Stats() capture.Stats
	LiveStats() (capture.LiveStats, bool)
	Flush() error
}

// Progress is told how far the reading of files has got: a progress bar.
type Progress interface {
	Update(packets uint64) // every ProgressEvery packets
	Finish()               // once the reading ends
}

// Options configure one analysis.
type Options struct {
	// Source is read to its end (or a stop), then closed with Close, once
	// the report no longer needs its counters. Close's error is a
	// warning, or, wrapping capture.ErrSave, a -w file that could not be
	// written.
	Source Source
	Close  func() error
	// Reporter is given every connection, trace line, event and census.
	// Run does not call Finish: the caller, who may add to Totals first,
	// does.
	Reporter report.Reporter
	// Totals are filled with the capture's counts; Warn usually appends
	// to its Warnings.
	Totals *report.Totals
	// Warn is told of what does not stop the analysis, and of the error
	// that ended a capture cut short.
	Warn func(error)

	// Flow configures the connection table. Run sets its Done, Census and
	// Trace.
	Flow flow.Config
	// Jobs is how many connection tables share the work of reading files
	// (flow.Parallel); a live capture, Trace and Events take one.
	Jobs int
	// Interface names the interface of a live capture; "" for files.
	Interface string
	// Trace gives the reporter every packet (report.TraceLine): -v,
	// --ladder and --html draw them. TraceICMP gives it a line for each
	// ICMP error quoting a TCP segment too (-v).
	Trace, TraceICMP bool
	// Events gives the reporter every connection event as it happens
	// (report.Event) and a census every Interval (0: none).
	Events   bool
	Interval time.Duration
	// Count stops the reading after this many TCP packets (0: no limit);
	// Duration after this much capture time since the first packet, or
	// since a live capture opened (0: no limit).
	Count    uint64
	Duration time.Duration

	// Stop, once set (by a signal), ends the reading: a file's where it
	// is (Result.Interrupted), a live capture's once it has read what was
	// captured before the request, for DrainFor at most.
	Stop     *atomic.Bool
	DrainFor time.Duration

	// SaveFailed is told, once, of the error writing a live capture's -w
	// file (a full disk), which ends the capture; the report covers the
	// packets read until then. nil: it goes to Warn.
	SaveFailed func(error)
	// Progress, if set, is told how far the reading has got.
	Progress Progress
}

// Result is how the analysis ended. The counts are in Options.Totals.
type Result struct {
	// Interrupted: Stop ended the reading of files before their end.
	Interrupted bool
	// SaveErr is the error writing the -w file, given to SaveFailed,
	// which ended the capture.
	SaveErr error
}

// Run reads opt.Source to its end, or until opt.Stop, Count or Duration
// ends it, reports every connection still open, and closes the source.
// The error is the first one writing the report, which ends the reading
// too (the connections still open are flushed to the reporter all the
// same, as at any end).
//
// A live capture asked to stop first reads what libpcap already holds:
// the kernel captured it before the request, so it belongs to the report
// (after a burst, or when the process was stopped for a while, that can be
// a whole buffer). It stops at the first packet captured after the
// request, or when nothing more is pending, or after DrainFor.
func Run(opt Options) (Result, error) {
	a := newAnalysis(opt)
	a.run()
	switch err := opt.Close(); {
	case err == nil || a.saveErr != nil:
	case errors.Is(err, capture.ErrSave):
		a.saveFailed(err)
	case a.repErr == nil:
		opt.Warn(err)
	}
	return Result{Interrupted: a.interrupted, SaveErr: a.saveErr}, a.repErr
}

// analysis is one run of the pipeline.
type analysis struct {
	opt     Options
	tot     *report.Totals
	table   *flow.Table    // one table: live captures, Events, Trace, Jobs 1
	shards  *flow.Parallel // or, reading files with Jobs > 1, that many
	repErr  error          // the first error writing the report ends the reading
	saveErr error          // the error writing the -w file, which ends the capture

	// interrupted: Stop ended the reading of a file before its end. (A
	// live capture has no end of its own: a stop request is how it ends.)
	interrupted bool

	packets  uint64 // TCP packets read
	icmp     uint64 // ICMP errors quoting TCP read, within Duration
	start    int64  // when the capture started: first packet, or opening the interface
	nextTick int64  // when the next census is due; 0 before the start
	event    report.Event
	snap     flow.Record
}

func newAnalysis(opt Options) *analysis {
	a := &analysis{opt: opt, tot: opt.Totals}
	if a.opt.SaveFailed == nil {
		a.opt.SaveFailed = opt.Warn
	}
	if a.opt.Stop == nil {
		a.opt.Stop = new(atomic.Bool)
	}
	cfg := opt.Flow
	cfg.Done = func(r *flow.Record) { a.report(a.opt.Reporter.Conn(r)) }
	cfg.Census = func(c *flow.Census) { a.tot.Census = c }
	cfg.Trace = nil
	if opt.Trace || opt.Events {
		cfg.Trace = a.trace
	}
	cfg.TraceICMP = nil
	if opt.TraceICMP || opt.Events {
		cfg.TraceICMP = a.traceICMP
	}
	if opt.Jobs > 1 && opt.Interface == "" && cfg.Trace == nil {
		a.shards = flow.NewParallel(cfg, opt.Jobs)
	} else {
		a.table = flow.New(cfg)
	}
	return a
}

// report keeps the first error writing the report.
func (a *analysis) report(err error) {
	if a.repErr == nil {
		a.repErr = err
	}
}

// trace sees every packet with what it did: the trace line, and the
// events it caused for the stream.
func (a *analysis) trace(c *flow.Conn, p *capture.Packet, seg *fsm.Segment, res fsm.StepResult) {
	if a.opt.Trace {
		client, server := a.table.Endpoints(c)
		line := report.TraceLine{
			Index: p.Index, File: p.File, Time: seg.Time, ConnID: c.ID, Seg: *seg, Result: res,
			From: client, To: server,
		}
		if seg.Dir == fsm.FromServer {
			line.From, line.To = server, client
		}
		a.report(a.opt.Reporter.Trace(&line))
	}
	if a.opt.Events && res.Events != 0 {
		a.table.Snapshot(c, seg.Time, &a.snap)
		res.Events.Each(func(ev fsm.Event) {
			a.event = report.Event{Time: seg.Time, What: ev, Dir: seg.Dir, Conn: &a.snap}
			a.report(a.opt.Reporter.Event(&a.event))
		})
	}
}

// traceICMP sees every ICMP error quoting a TCP segment with what it did:
// its trace line, and the event of the connect() it ended for the stream.
func (a *analysis) traceICMP(c *flow.Conn, p *capture.Packet, m *fsm.ICMPError, before, after [2]fsm.State, ev fsm.Event) {
	if a.opt.Events && ev != 0 && c != nil {
		a.table.Snapshot(c, m.Time, &a.snap)
		ev.Each(func(one fsm.Event) {
			a.event = report.Event{Time: m.Time, What: one, Dir: m.Dir, Conn: &a.snap}
			a.report(a.opt.Reporter.Event(&a.event))
		})
	}
	if !a.opt.TraceICMP {
		return
	}
	line := report.TraceLine{
		Index: p.Index, File: p.File, Time: m.Time, ICMP: m,
		From: netip.AddrPortFrom(p.Src, p.SrcPort), To: netip.AddrPortFrom(p.Dst, p.DstPort),
		Seg: fsm.Segment{Time: m.Time, Dir: m.Dir, Seq: m.Seq},
	}
	if c != nil {
		line.ConnID = c.ID
	}
	line.Result.Before, line.Result.After = before, after
	a.report(a.opt.Reporter.Trace(&line))
}

// icmpError hands an ICMP error quoting a TCP segment to the connection
// it quotes, for what its connect() was told. It is no TCP packet: it
// counts as non-TCP (the reader counted it), moves no clock, and one past
// Duration is not part of the capture analysed.
func (a *analysis) icmpError(p *capture.Packet) {
	if a.opt.Duration > 0 && a.start != 0 && p.Timestamp.UnixNano()-a.start >= int64(a.opt.Duration) {
		return
	}
	a.icmp++
	if a.shards != nil {
		a.shards.AddICMPError(p)
	} else {
		a.table.AddICMPError(p)
	}
}

// saveFailed ends a live capture whose -w file cannot be written.
func (a *analysis) saveFailed(err error) {
	if a.saveErr != nil {
		return
	}
	a.saveErr = err
	a.opt.SaveFailed(err)
}

// run reads the source to its end, or until a stop, Count or Duration,
// then reports every connection still open.
func (a *analysis) run() {
	src, stop := a.opt.Source, a.opt.Stop
	tot := a.tot
	live := a.opt.Interface != ""
	if live {
		a.begin(src.Now().UnixNano())
	}
	var p capture.Packet
	unread := false  // p was read, but is past --duration
	var stopAt int64 // when a live capture saw the stop request; 0 before
	var drainEnd time.Time
	for a.repErr == nil && (a.opt.Count == 0 || a.packets < a.opt.Count) {
		if stopAt == 0 && stop.Load() {
			if !live {
				a.interrupted = true // a file: what was read is the report
				break
			}
			stopAt = src.Now().UnixNano()
			drainEnd = time.Now().Add(a.opt.DrainFor)
		}
		err := src.Next(&p)
		if errors.Is(err, capture.ErrTimeout) {
			if stopAt != 0 {
				break // nothing was pending: all of it was read
			}
			// A live capture with nothing to read: time still passes.
			now := src.Now().UnixNano()
			a.table.Advance(now)
			if a.clock(now) {
				break
			}
			if err := src.Flush(); err != nil {
				a.saveFailed(err)
				break
			}
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil && !live && stop.Load() {
			a.interrupted = true // the signal ended a read that waited on a pipe
			break
		}
		if errors.Is(err, capture.ErrSave) {
			a.saveFailed(err)
			break
		}
		if err != nil {
			// The capture is cut short or corrupt: keep what was read.
			tot.Incomplete = true
			a.opt.Warn(err)
			break
		}
		if p.IsICMPError() {
			a.icmpError(&p)
			continue
		}
		ts := p.Timestamp.UnixNano()
		if a.packets == 0 && !live {
			a.begin(ts)
		}
		if a.clock(ts) {
			// --duration ran out before this packet: it is not part of
			// the capture analysed.
			unread = true
			break
		}
		if a.packets == 0 {
			tot.First = ts
		}
		a.packets++
		if a.opt.Progress != nil && a.packets%ProgressEvery == 0 {
			a.opt.Progress.Update(a.packets)
		}
		tot.First = min(tot.First, ts)
		tot.Last = max(tot.Last, ts)
		if a.shards != nil {
			a.shards.Add(&p)
		} else {
			a.table.Add(&p)
		}
		if stopAt != 0 {
			if ts > stopAt {
				// Captured after the request: the drain is over. This
				// packet is analysed all the same, as the -w file,
				// which has it already, will be on replay.
				break
			}
			if time.Now().After(drainEnd) {
				tot.Incomplete = true
				a.opt.Warn(fmt.Errorf("%s: stopped reading %v after the stop request, still among packets captured before it: any left are not in the report", a.opt.Interface, a.opt.DrainFor))
				break
			}
		}
	}
	if set, ok := src.(interface{ Incomplete() bool }); ok && set.Incomplete() {
		tot.Incomplete = true // a file of the set was cut short: Warn named it
	}
	if a.opt.Progress != nil {
		a.opt.Progress.Finish()
	}
	if a.shards != nil {
		a.shards.Flush()
		tot.Flow = a.shards.Stats()
	} else {
		a.table.Flush()
		tot.Flow = a.table.Stats()
	}

	st := src.Stats()
	tot.Packets, tot.TCPPackets, tot.NonTCP, tot.Fragments = st.Packets, st.TCP, st.NonTCP, st.Fragments
	tot.Filtered, tot.Malformed, tot.Truncated = st.Filtered, st.Malformed, st.Truncated
	tot.BadChecksum, tot.BadIPChecksum = st.BadChecksum, st.BadIPChecksum
	tot.Reassembled, tot.DroppedDatagrams = st.ReassembledDatagrams, st.DroppedDatagrams
	tot.ICMPErrors = a.icmp
	if unread {
		tot.Packets--
		tot.TCPPackets--
		if p.Truncated {
			tot.Truncated--
		}
		if p.BadChecksum {
			tot.BadChecksum--
		}
	}
	tot.Live = a.liveCounters()
}

// begin starts the clocks of --interval and --duration.
func (a *analysis) begin(now int64) {
	a.start = now
	if a.opt.Events && a.opt.Interval > 0 {
		a.nextTick = now + int64(a.opt.Interval)
	}
}

// clock is called as the capture's time reaches now (a packet, before it
// is added, or a live capture's clock while nothing arrives): it writes the
// census due and says whether --duration has run out.
func (a *analysis) clock(now int64) (stop bool) {
	if a.nextTick > 0 && now >= a.nextTick {
		// The table holds everything before now: the census is as of the
		// latest interval boundary. Intervals that passed with no packet
		// at all show nothing new and are skipped.
		step := int64(a.opt.Interval)
		at := a.nextTick + (now-a.nextTick)/step*step
		a.nextTick = at + step
		a.report(a.opt.Reporter.Tick(&report.Tick{
			Time: at, Census: a.table.CensusNow(at), Open: a.table.Open(at, JudgeAfter),
			TCPPackets: a.packets, Live: a.liveCounters(),
		}))
	}
	return a.opt.Duration > 0 && now-a.start >= int64(a.opt.Duration)
}

// liveCounters are libpcap's counters so far; nil for a file.
func (a *analysis) liveCounters() *report.LiveCounters {
	st, ok := a.opt.Source.LiveStats()
	if !ok {
		return nil
	}
	return &report.LiveCounters{Interface: a.opt.Interface, Received: st.Received, Dropped: st.Dropped, IfDropped: st.IfDropped}
}
