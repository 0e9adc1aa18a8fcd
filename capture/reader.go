package capture

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/gopacket"
)

// Options tune a Reader.
type Options struct {
	// Filter is a tcpdump-style BPF expression ("tcp port 443"), compiled
	// by FilterCompiler for the file's link type and applied to every
	// record before decoding. "" keeps everything.
	Filter string
	// FilterCompiler compiles Filter: capture/libpcap's Compiler. Without
	// one, a Filter fails with ErrFilter. A live capture (OpenLive in
	// capture/libpcap) needs none: its filter runs in the kernel.
	FilterCompiler FilterCompiler
	// Warn is told about problems that do not stop the reading: a
	// malformed packet (skipped), a timestamp going backwards (packet still
	// delivered), a pcapng interface with an unsupported link type. The
	// error is a *PacketError. nil ignores them; Stats counts them anyway.
	Warn func(error)
	// VerifyChecksums checks the TCP checksum of every segment captured
	// whole and sets Packet.BadChecksum; Stats.BadChecksum counts them.
	// Such segments are still delivered: Zeek, which validates checksums
	// unless run with -C, ignores them apart from a C/c in the history,
	// and whether to do the same is the caller's choice. It costs a pass
	// over every payload byte, hence off by default.
	VerifyChecksums bool
	// ICMPErrors delivers, besides the TCP segments, the ICMP and ICMPv6
	// errors that quote one (Packet.IsICMPError), for what they tell of a
	// connect(). They are counted as non-TCP all the same (Stats.NonTCP),
	// and, not being segments, are not checked for time going backwards.
	ICMPErrors bool
	// Stop, when closed, ends a read blocked on a pipe or FIFO that a Set
	// reads (see Interruptible); nil leaves reads to block. Regular files
	// are read as they are.
	Stop <-chan struct{}
	// ShowName, if set, is how messages print a file's name (quoted when
	// it holds control characters, say); nil prints names as they are.
	ShowName func(name string) string
}

// Reader reads the TCP segments of one pcap or pcapng capture, in file
// order, or of a live capture (OpenLive), in the order libpcap delivers
// them. It is not safe for concurrent use: to stop a live capture from
// another goroutine, set a flag there and check it each time Next returns
// ErrTimeout.
type Reader struct {
	name     string
	opt      Options
	src      recordSource
	live     *liveSource // the same as src for a live capture; nil for a file
	closers  []io.Closer // innermost first: the gzip read-ahead, then the file; or the live handle
	dec      *decoder
	links    map[linkType]*linkState
	current  *linkState // the link type of the previous record, to skip the map lookup
	rec      record
	stats    Stats
	lastTime time.Time // of the previous delivered packet
	err      error     // sticky: once Next fails it keeps failing the same way
	// fragsShared: dec.frags is a Set's, shared by the readers of its
	// files (a datagram's fragments may be split by a rotation); the Set
	// ends it and counts its datagrams, not this reader.
	fragsShared bool
}

// linkState is what the Reader keeps per link type seen in the file.
type linkState struct {
	link   linkType
	parser *gopacket.DecodingLayerParser // nil: link type not supported
	filter Filter                        // nil: no filter
	warned bool                          // the unsupported link type was reported
}

// stdinName is how standard input is named in messages.
const stdinName = "stdin"

// Open opens a capture file, "-" meaning standard input. Errors name the
// file: "x.pcap: open x.pcap: no such file or directory",
// "x.pcap: not a pcap or pcapng file (magic 0x3c68746d)".
func Open(name string, opt Options) (*Reader, error) {
	if name == "-" {
		return NewReader(os.Stdin, name, opt)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	r, err := NewReader(f, name, opt)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closers = append(r.closers, f)
	return r, nil
}

// NewReader reads a capture from r, which need not be seekable. name is
// used in error messages only ("-" becomes "stdin"). Closing the Reader
// does not close r.
func NewReader(r io.Reader, name string, opt Options) (*Reader, error) {
	if name == "-" {
		name = stdinName
	}
	src, closer, err := openSource(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var closers []io.Closer
	if closer != nil {
		closers = append(closers, closer)
	}
	return newReader(name, src, opt, closers...)
}

// newReader builds the Reader over an open source, which is closed (with
// closers) if the source turns out unusable.
func newReader(name string, src recordSource, opt Options, closers ...io.Closer) (*Reader, error) {
	rd := &Reader{
		name:    name,
		opt:     opt,
		src:     src,
		closers: closers,
		dec:     newDecoder(opt.VerifyChecksums),
		links:   make(map[linkType]*linkState),
	}
	// Set up the link types known from the file header now, so that an
	// unusable file or filter fails here, not after the first packet.
	for _, lt := range src.linkTypes() {
		if _, err := rd.link(lt); err != nil {
			rd.Close()
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return rd, nil
}

// link returns the state for link type lt, setting it up on first sight.
func (r *Reader) link(lt linkType) (*linkState, error) {
	if s, ok := r.links[lt]; ok {
		return s, nil
	}
	s := &linkState{link: lt}
	if p, ok := r.dec.parser(lt); ok {
		s.parser = p
	} else if r.singleLinkType() {
		// A classic pcap file or an interface has one link type: nothing
		// in it can be read.
		return nil, fmt.Errorf("%w %s (supported: %s)", ErrUnsupportedLinkType, lt, supportedLinkTypeNames())
	}
	if r.opt.Filter != "" && s.parser != nil {
		f, err := compileFilter(r.opt.FilterCompiler, lt, r.opt.Filter)
		if err != nil {
			return nil, fmt.Errorf("%w %q for link type %s: %v", ErrFilter, r.opt.Filter, lt, err)
		}
		s.filter = f
	}
	r.links[lt] = s
	return s, nil
}

// singleLinkType reports whether the source has one link type for good,
// fixed by its header or by the interface, as opposed to pcapng, where each
// interface block brings its own.
func (r *Reader) singleLinkType() bool {
	switch r.src.(type) {
	case *pcapFile, *liveSource:
		return true
	}
	return false
}

// Next fills p with the next TCP segment (or ICMP error, with
// Options.ICMPErrors). It returns io.EOF at the clean
// end of the file. Any other error ends the reading too: a *PacketError
// wrapping ErrTruncated or ErrCorrupt (the file is cut or broken at that
// record; every packet before it was delivered), ErrFilter, or a read
// error. Non-TCP and malformed packets are skipped and counted in Stats.
// p is written only when Next returns nil; nothing in it aliases the
// Reader's buffers.
//
// A live capture has no end: Next returns ErrTimeout when no packet came
// within LiveOptions.Timeout, and that one error does not end the reading.
// A live capture fails for good only if libpcap reports a read error or
// writing LiveOptions.Save fails.
func (r *Reader) Next(p *Packet) error {
	if r.err != nil {
		return r.err
	}
	for {
		if err := r.src.next(&r.rec); err != nil {
			if err == errNoPacket {
				return ErrTimeout // not sticky: the next call may find a packet
			}
			return r.fail(err)
		}
		r.stats.Packets++
		index := r.stats.Packets
		rec := &r.rec
		if rec.bad != nil {
			r.stats.Packets += rec.more
			r.stats.Malformed += 1 + rec.more
			r.warn(index, rec.bad)
			continue
		}

		ls := r.current
		if ls == nil || ls.link != rec.link {
			var err error
			if ls, err = r.link(rec.link); err != nil {
				r.stats.Packets-- // not read after all: reported as this record's error
				return r.fail(err)
			}
			r.current = ls
		}
		if ls.parser == nil {
			r.stats.NonTCP++
			if !ls.warned {
				ls.warned = true
				r.warn(index, fmt.Errorf("pcapng interface %d: %w %s; its packets are counted as non-TCP (supported: %s)",
					rec.iface, ErrUnsupportedLinkType, rec.link, supportedLinkTypeNames()))
			}
			continue
		}
		if ls.filter != nil && !ls.filter.Matches(rec.data, rec.origLen) {
			r.stats.Filtered++
			continue
		}

		r.dec.now = rec.ts // the reassembler's clock
		verdict, err := r.dec.decode(ls.link, ls.parser, rec.data, max(0, rec.origLen-len(rec.data)), p)
		switch verdict {
		case verdictNonTCP:
			r.stats.NonTCP++
			continue
		case verdictFragment:
			r.stats.Fragments++
			continue
		case verdictMalformed:
			r.stats.Malformed++
			r.warn(index, err)
			continue
		case verdictBadIPChecksum:
			r.stats.BadIPChecksum++
			continue
		case verdictICMPError:
			r.stats.NonTCP++
			if !r.opt.ICMPErrors {
				continue
			}
			p.Index = index
			p.Timestamp = rec.ts
			return nil
		}

		r.stats.TCP++
		p.Index = index
		p.Timestamp = rec.ts
		if p.Truncated {
			r.stats.Truncated++
		}
		if p.BadChecksum {
			r.stats.BadChecksum++
		}
		r.checkTime(index, rec.ts)
		return nil
	}
}

// checkTime counts and reports a packet stamped earlier than the previous
// delivered one.
func (r *Reader) checkTime(index uint64, ts time.Time) {
	if !r.lastTime.IsZero() && ts.Before(r.lastTime) {
		r.stats.TimeWentBack++
		if r.opt.Warn != nil {
			r.warn(index, fmt.Errorf("%w by %v", ErrTimeWentBack, r.lastTime.Sub(ts)))
		}
	}
	r.lastTime = ts
}

func (r *Reader) warn(index uint64, err error) {
	if r.opt.Warn != nil {
		r.opt.Warn(&PacketError{File: r.name, Index: index, Err: err})
	}
}

// fail makes err the Reader's final answer: io.EOF as it is, anything else
// as a *PacketError for the record that could not be read.
func (r *Reader) fail(err error) error {
	r.warnUntimed()
	// No more fragments will come: what is still incomplete is dropped,
	// whether the capture ended cleanly or not.
	if !r.fragsShared {
		r.dec.frags.endOfCapture()
	}
	if err != io.EOF {
		err = &PacketError{File: r.name, Index: r.stats.Packets + 1, Err: err}
	}
	r.err = err
	return err
}

// warnUntimed says, once the reading ends, how many records had no
// timestamp and were given the time of the one before them.
func (r *Reader) warnUntimed() {
	src, ok := r.src.(interface{ untimedPackets() (n, first uint64) })
	if !ok {
		return
	}
	n, first := src.untimedPackets()
	switch {
	case n == 1:
		r.warn(first, fmt.Errorf("%w (a pcapng simple packet block): given the time of the packet before it", ErrNoTimestamp))
	case n > 1:
		r.warn(first, fmt.Errorf("%w (a pcapng simple packet block), nor in %d more packets: each was given the time of the packet before it", ErrNoTimestamp, n-1))
	}
}

// Stats returns the counts so far.
func (r *Reader) Stats() Stats {
	st := r.stats
	if !r.fragsShared {
		st.ReassembledDatagrams = r.dec.frags.stats.reassembled
		st.DroppedDatagrams = r.dec.frags.stats.dropped()
	}
	return st
}

// shareReassembler has r reassemble into frags, a Set's, which outlives
// r: fragments r leaves incomplete at its end wait there for the next
// file.
func (r *Reader) shareReassembler(frags *reassembler) {
	r.dec.frags, r.fragsShared = frags, true
}

// Now is the capture's clock, against which the caller can age what it
// holds when no packet arrives. For a live capture it is time.Now(), the
// clock the kernel stamps packets with. For a file it is the timestamp of
// the latest delivered packet (zero before the first): a file's time
// moves only with its packets.
func (r *Reader) Now() time.Time {
	if r.live != nil {
		return time.Now()
	}
	return r.lastTime
}

// LiveStats returns libpcap's counters for a live capture, and false for
// a file. After Close it returns the counters as they were at Close.
func (r *Reader) LiveStats() (LiveStats, bool) {
	if r.live == nil {
		return LiveStats{}, false
	}
	return r.live.stats(), true
}

// Flush writes out the records buffered for LiveOptions.Save, so that a
// crash loses only what came after; the caller calls it now and then (on
// ErrTimeout, say). Without Save, and for a file, it does nothing. Close
// flushes too.
func (r *Reader) Flush() error {
	if r.live == nil {
		return nil
	}
	return r.live.flush()
}

// LinkType names the capture's link type the way tcpdump does
// ("EN10MB (Ethernet)"). For a pcapng file with several, it lists those
// seen so far, comma-separated; "" before the first interface.
func (r *Reader) LinkType() string {
	var names []string
	for _, lt := range r.src.linkTypes() {
		names = append(names, lt.String())
	}
	return strings.Join(names, ", ")
}

// Close releases the filters and closes the file Open opened, or the live
// capture (after flushing LiveOptions.Save, which it does not close). It
// does not close the io.Reader given to NewReader.
func (r *Reader) Close() error {
	for _, s := range r.links {
		if s.filter != nil {
			s.filter.Close()
		}
	}
	var errs []error
	for _, c := range r.closers {
		errs = append(errs, c.Close())
	}
	r.closers = nil
	if r.err == nil || r.err == io.EOF {
		r.err = ErrClosed
	}
	return errors.Join(errs...)
}
