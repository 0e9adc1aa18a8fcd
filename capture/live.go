package capture

// A live capture's Reader, over a LiveHandle: the part of live capture
// that is pure Go (the Reader, Save, the counters). Opening the interface
// is capture/libpcap's OpenLive.

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// LiveOptions configure a live capture (capture/libpcap's OpenLive).
type LiveOptions struct {
	// Snaplen is how many bytes of each packet are kept; 0 (or less) means
	// DefaultLiveSnaplen. libpcap caps it at 262144.
	Snaplen int
	// BufferSize is the kernel capture buffer in bytes; 0 (or less) keeps
	// libpcap's default (2 MiB). A bigger buffer rides out longer bursts
	// before packets are dropped.
	BufferSize int
	// Promiscuous also captures frames addressed to other hosts.
	Promiscuous bool
	// Timeout is how long Next waits for a packet before returning
	// ErrTimeout; 0 (or less) means DefaultLiveTimeout. It bounds how late the caller
	// notices that time passed, or that it was asked to stop.
	Timeout time.Duration
	// Save, if set, receives every record captured (TCP or not, but only
	// those the filter passed) as a classic pcap file with nanosecond
	// timestamps (magic 0xa1b23c4d), like tcpdump -w. Writes are buffered:
	// Reader.Flush and Close write them out. Close does not close Save.
	// Nothing is written to it before the interface and the filter are
	// open, so a caller may create the file at the first write and leave
	// an existing one untouched when OpenLive fails.
	Save io.Writer
	// SaveFiles, if set (and Save not), receives the same records, in a
	// file or a rotation of files as its Rotation says: OpenLive starts it
	// (creates its first file) once the interface and the filter are open.
	// Reader.Flush and Close flush it; Close does not close it. When it
	// reports its rotation complete (ErrFileLimit), the capture ends there
	// as a file does, with io.EOF.
	SaveFiles *RotatingWriter
}

// DefaultLiveSnaplen keeps headers only: link layer with VLAN tags or a
// tunnel, IPv6 with extension headers, and TCP with 40 bytes of options.
// Payload is not needed, and smaller copies mean fewer drops.
const DefaultLiveSnaplen = 256

// DefaultLiveTimeout is LiveOptions.Timeout's default: short enough that a
// report or a stop request is not kept waiting on a quiet interface, long
// enough that waking up costs nothing.
const DefaultLiveTimeout = 250 * time.Millisecond

// LiveStats are libpcap's counters for a live capture (pcap_stats(3PCAP):
// ps_recv, ps_drop, ps_ifdrop), since it was opened. What they count
// depends on the platform; on Linux, Received counts the packets that
// passed the filter, Dropped those among them the buffer had no room for,
// and IfDropped those the interface itself dropped.
type LiveStats struct {
	Received, Dropped, IfDropped uint64
}

// A LiveHandle is an interface capturing live: capture/libpcap's, which
// OpenLive there opens and hands to NewLiveReader. It is here as an
// interface because capturing is cgo (libpcap) and this package is pure
// Go.
type LiveHandle interface {
	// ReadPacket returns the next packet captured: its bytes (valid until
	// the next call), its timestamp and its length on the wire. It returns
	// ErrTimeout when none came within LiveOptions.Timeout and io.EOF once
	// the handle is closed; any other error ends the capture.
	ReadPacket() (data []byte, ts time.Time, origLen int, err error)
	// LinkType is the interface's link type as a file stores it (the
	// LINKTYPE_ value).
	LinkType() uint32
	// SnapLen is the snapshot length in force, which libpcap may have
	// capped.
	SnapLen() int
	// SetFilter compiles expr for the interface and runs it in the kernel.
	// The error is libpcap's own message.
	SetFilter(expr string) error
	// Stats returns libpcap's counters as it keeps them: 32 bits that
	// wrap.
	Stats() (received, dropped, ifDropped uint32, err error)
	// Close ends the capture.
	Close()
}

// NewLiveReader returns a Reader that delivers the TCP segments h
// captures, as they arrive; name (the interface) is what its errors name.
// It checks h's link type, sets opt.Filter on h (the kernel runs it, so
// Stats.Filtered stays 0), then starts lo.Save or lo.SaveFiles, in that
// order, so that nothing is written unless the interface and the filter
// are usable. On failure it closes h. Only lo's Save and SaveFiles are
// read here: the rest configured h.
func NewLiveReader(name string, h LiveHandle, lo LiveOptions, opt Options) (*Reader, error) {
	src := &liveSource{name: name, handle: h, link: linkType(h.LinkType())}
	src.links = []linkType{src.link}
	// The kernel runs the filter (below); the Reader must not compile and
	// run it a second time in user space.
	filter := opt.Filter
	opt.Filter = ""
	rd, err := newReader(name, src, opt, src)
	if err != nil {
		return nil, err // "nflog: unsupported link type NFLOG (239) (supported: ...)"; src is closed
	}
	rd.live = src

	if filter != "" {
		if err := h.SetFilter(filter); err != nil {
			rd.Close()
			return nil, fmt.Errorf("%s: %w %q: %v", name, ErrFilter, filter, err)
		}
	}
	if lo.Save != nil {
		// The snaplen libpcap actually applied, which it may have capped.
		w, err := NewPcapWriter(lo.Save, uint32(src.link), h.SnapLen())
		if err != nil {
			rd.Close()
			return nil, fmt.Errorf("%s: writing the capture file header: %w", name, err)
		}
		src.save = w
	} else if lo.SaveFiles != nil {
		if err := lo.SaveFiles.Start(uint32(src.link), h.SnapLen()); err != nil {
			rd.Close()
			return nil, fmt.Errorf("%s: writing the capture file header: %w", name, err)
		}
		src.save = lo.SaveFiles
	}
	return rd, nil
}

// recordSaver is where a live capture saves its records: a PcapWriter on
// LiveOptions.Save, or LiveOptions.SaveFiles.
type recordSaver interface {
	WritePacket(ts time.Time, data []byte, origLen int) error
	Flush() error
}

// errNoPacket is what liveSource.next returns when the timeout passed with
// no packet. Reader.Next turns it into ErrTimeout without ending the
// reading, which it does for every other error from a source.
var errNoPacket = errors.New("no packet yet")

// liveSource is a live handle as a recordSource.
type liveSource struct {
	name   string
	handle LiveHandle // nil once closed
	link   linkType
	links  []linkType  // {link}: linkTypes returns it without allocating
	save   recordSaver // nil without LiveOptions.Save or SaveFiles

	// libpcap's counters are 32 bits (u_int) and wrap after 4 G packets,
	// an hour at a million packets a second; these widen them to 64.
	recv, drop, ifdrop counter32
	last               LiveStats // the latest counters, kept past Close
}

func (s *liveSource) linkTypes() []linkType { return s.links }

// next reads the next packet. The handle hands over its own buffer, which
// stays valid until the next call, as record.data must: no copy, no
// allocation.
func (s *liveSource) next(rec *record) error {
	if s.handle == nil {
		return io.EOF
	}
	data, ts, origLen, err := s.handle.ReadPacket()
	switch {
	case err == ErrTimeout:
		return errNoPacket
	case err != nil:
		return err
	}
	if s.save != nil {
		switch err := s.save.WritePacket(ts, data, origLen); {
		case err == ErrFileLimit:
			return io.EOF
		case err != nil:
			return fmt.Errorf("%w: %w", ErrSave, err)
		}
	}
	*rec = record{
		data:    data,
		origLen: origLen,
		// UTC, as the file readers give it: a Packet from a live capture
		// and the same one read back from Save are then identical.
		ts:   ts.UTC(),
		link: s.link,
	}
	return nil
}

// stats reads libpcap's counters, or returns the last ones read when the
// handle is closed or pcap_stats fails.
func (s *liveSource) stats() LiveStats {
	if s.handle == nil {
		return s.last
	}
	recv, drop, ifdrop, err := s.handle.Stats()
	if err != nil {
		return s.last
	}
	s.last = LiveStats{
		Received:  s.recv.update(recv),
		Dropped:   s.drop.update(drop),
		IfDropped: s.ifdrop.update(ifdrop),
	}
	return s.last
}

func (s *liveSource) flush() error {
	if s.save == nil {
		return nil
	}
	if err := s.save.Flush(); err != nil {
		return fmt.Errorf("%s: %w: %w", s.name, ErrSave, err)
	}
	return nil
}

// Close flushes Save, keeps the final counters for LiveStats and closes
// the handle.
func (s *liveSource) Close() error {
	if s.handle == nil {
		return nil
	}
	err := s.flush()
	s.stats()
	s.handle.Close()
	s.handle = nil
	return err
}

// counter32 widens a 32-bit counter that wraps to 64 bits. It is exact as
// long as it is updated at least once per 2^32 increments.
type counter32 struct {
	last  uint32
	total uint64
}

func (c *counter32) update(now uint32) uint64 {
	c.total += uint64(now - c.last)
	c.last = now
	return c.total
}
