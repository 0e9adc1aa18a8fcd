package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"time"

	"github.com/tcpfsm/tcpfsm/capture"
	"github.com/tcpfsm/tcpfsm/flow"
	"github.com/tcpfsm/tcpfsm/fsm"
	"github.com/tcpfsm/tcpfsm/report"
)

// judgeAfter is how old an open connection must be before the running
// diagnoses count it: a handshake still in flight is not an unanswered one.
// Linux resends an unanswered SYN or SYN/ACK after 1 s.
const judgeAfter int64 = 1e9

// analysis is the one pipeline both sources feed: packets from a file or
// an interface go through the connection table to the reporter.
type analysis struct {
	o        *options
	progress *progress // the bar while a file is read on a terminal, or nil
	rep      report.Reporter
	tot      *report.Totals
	warn     func(error)
	stderr   io.Writer      // where saveFailed says why the capture ended
	table    *flow.Table    // one table: live captures, --events, -v, -j 1
	shards   *flow.Parallel // or, reading a file with -j N, N of them
	repErr   error          // the first error writing the report ends the reading
	saveErr  error          // the error writing the -w file, which ends the capture

	// interrupted: a signal stopped the reading of a file before its end.
	// (A live capture has no end of its own: a signal is how it ends.)
	interrupted bool

	packets  uint64 // TCP packets read
	icmp     uint64 // ICMP errors quoting TCP read, within --duration
	start    int64  // when the capture started: first packet, or opening the interface
	nextTick int64  // when the next census is due; 0 before the start
	src      packetSource
	event    report.Event
	snap     flow.Record
}

func newAnalysis(o *options, rep report.Reporter, tot *report.Totals, warn func(error)) *analysis {
	a := &analysis{o: o, rep: rep, tot: tot, warn: warn, stderr: io.Discard}
	cfg := flow.Config{
		IdleTimeout: int64(o.idleTimeout),
		CloseDelay:  int64(o.closeDelay),
		MaxConns:    o.maxConns,
		ZeekRecords: o.format == "zeek",
		Zeek:        o.format == "json", // the text report shows no conn_state or history
		Done:        func(r *flow.Record) { a.report(a.rep.Conn(r)) },
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
	cfg.Census = func(c *flow.Census) { tot.Census = c }
	if o.verbose || o.events || o.ladderSel != nil || o.html != "" {
		cfg.Trace = a.trace
	}
	if o.verbose {
		cfg.TraceICMP = a.traceICMP
	}
	if o.jobs > 1 && o.iface == "" && cfg.Trace == nil {
		a.shards = flow.NewParallel(cfg, o.jobs)
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

// trace sees every packet with what it did: the -v line, and the events it
// caused for the stream.
func (a *analysis) trace(c *flow.Conn, p *capture.Packet, seg *fsm.Segment, res fsm.StepResult) {
	if a.o.verbose || a.o.ladderSel != nil || a.o.html != "" {
		line := report.TraceLine{
			Index: p.Index, Time: seg.Time, ConnID: c.ID, Seg: *seg, Result: res,
			From: c.Client(), To: c.Server(),
		}
		if seg.Dir == fsm.FromServer {
			line.From, line.To = c.Server(), c.Client()
		}
		a.report(a.rep.Trace(&line))
	}
	if a.o.events && res.Events != 0 {
		a.table.Snapshot(c, seg.Time, &a.snap)
		res.Events.Each(func(ev fsm.Event) {
			a.event = report.Event{Time: seg.Time, What: ev, Dir: seg.Dir, Conn: &a.snap}
			a.report(a.rep.Event(&a.event))
		})
	}
}

// traceICMP writes the -v line of an ICMP error quoting a TCP segment.
func (a *analysis) traceICMP(c *flow.Conn, p *capture.Packet, m *fsm.ICMPError, before, after [2]fsm.State) {
	line := report.TraceLine{
		Index: p.Index, Time: m.Time, ICMP: m,
		From: netip.AddrPortFrom(p.Src, p.SrcPort), To: netip.AddrPortFrom(p.Dst, p.DstPort),
		Seg: fsm.Segment{Time: m.Time, Dir: m.Dir, Seq: m.Seq},
	}
	if c != nil {
		line.ConnID = c.ID
	}
	line.Result.Before, line.Result.After = before, after
	a.report(a.rep.Trace(&line))
}

// icmpError hands an ICMP error quoting a TCP segment to the connection
// it quotes, for what its connect() was told. It is no TCP packet: it
// counts as non-TCP (the reader counted it), moves no clock, and one past
// --duration is not part of the capture analysed.
func (a *analysis) icmpError(p *capture.Packet) {
	if a.o.duration > 0 && a.start != 0 && p.Timestamp.UnixNano()-a.start >= int64(a.o.duration) {
		return
	}
	a.icmp++
	if a.shards != nil {
		a.shards.AddICMPError(p)
	} else {
		a.table.AddICMPError(p)
	}
}

// drainFor bounds how long a live capture asked to stop goes on reading the
// packets libpcap captured before the request: a full default buffer (some
// thousands of packets) takes milliseconds. A variable for tests.
var drainFor = time.Second

// saveFailed ends a live capture whose -w file cannot be written (a full
// disk): one message naming the file and why, here and in the report,
// which covers the packets read until then.
func (a *analysis) saveFailed(err error) {
	if a.saveErr != nil {
		return
	}
	a.saveErr = err
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the file's name comes first already
	}
	msg := oneLine(fmt.Sprintf("-w %s: %v: the capture stopped there; the report covers the packets read until then", quoteName(a.o.save.Name()), err))
	a.tot.Warnings = append(a.tot.Warnings, msg)
	printf(a.stderr, "tcpfsm: %s", msg)
}

// run reads src to its end, or until a signal, -c packets were read or
// --duration has passed, then reports every connection still open.
//
// A live capture asked to stop first reads what libpcap already holds:
// the kernel captured it before the request, so it belongs to the report
// (after a burst, or when the process was stopped for a while, that can be
// a whole buffer). It stops at the first packet captured after the
// request, or when nothing more is pending, or after drainFor.
func (a *analysis) run(src packetSource, intr *interrupt) {
	stop := &intr.stop
	a.src = src
	tot := a.tot
	live := a.o.iface != ""
	if live {
		a.begin(src.Now().UnixNano())
	}
	var p capture.Packet
	unread := false  // p was read, but is past --duration
	var stopAt int64 // when a live capture saw the stop request; 0 before
	var drainEnd time.Time
	for a.repErr == nil && (a.o.count == 0 || a.packets < a.o.count) {
		if stopAt == 0 && stop.Load() {
			if !live {
				a.interrupted = true // a file: what was read is the report
				break
			}
			stopAt = src.Now().UnixNano()
			drainEnd = time.Now().Add(drainFor)
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
			a.warn(err)
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
		if a.progress != nil && a.packets%progressEvery == 0 {
			a.progress.update(a.packets)
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
				a.warn(fmt.Errorf("%s: stopped reading %v after the stop request, still among packets captured before it: any left are not in the report", a.o.iface, drainFor))
				break
			}
		}
	}
	if set, ok := src.(fileSet); ok && set.Incomplete() {
		tot.Incomplete = true // a file of the set was cut short: Warn named it
	}
	if a.progress != nil {
		a.progress.finish()
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
	if a.o.events && a.o.interval > 0 {
		a.nextTick = now + int64(a.o.interval)
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
		step := int64(a.o.interval)
		at := a.nextTick + (now-a.nextTick)/step*step
		a.nextTick = at + step
		a.report(a.rep.Tick(&report.Tick{
			Time: at, Census: a.table.CensusNow(at), Open: a.table.Open(at, judgeAfter),
			TCPPackets: a.packets, Live: a.liveCounters(),
		}))
	}
	return a.o.duration > 0 && now-a.start >= int64(a.o.duration)
}

// liveCounters are libpcap's counters so far; nil for a file.
func (a *analysis) liveCounters() *report.LiveCounters {
	st, ok := a.src.LiveStats()
	if !ok {
		return nil
	}
	return &report.LiveCounters{Interface: a.o.iface, Received: st.Received, Dropped: st.Dropped, IfDropped: st.IfDropped}
}
